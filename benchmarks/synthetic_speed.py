"""How fast the procedural videos render, on one CPU core.

Measures frames per second of :func:`gruae.synthetic.make_actions` and
:func:`gruae.synthetic.make_scenes` at 64x64 with numpy limited to one thread, and prints a
table, then one last line of ``key=value`` pairs::

    python benchmarks/synthetic_speed.py            # full run (a few seconds)
    python benchmarks/synthetic_speed.py --quick    # smaller run, for CI

Target: at least 2,000 frames/s for ``make_actions`` (so the book's 200 training videos of 32
frames render in about 3 s).
"""

from __future__ import annotations

import os

# One thread, set before numpy is imported (its BLAS pools read these at load time).
for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "NUMEXPR_NUM_THREADS",
             "VECLIB_MAXIMUM_THREADS"):
    os.environ[_var] = "1"

import argparse  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from gruae.synthetic import make_actions, make_scenes  # noqa: E402

TARGET_ACTIONS = 2000.0  # frames per second


def _pin_one_core() -> None:
    """Run on a single CPU core where the OS allows it (Linux)."""
    if hasattr(os, "sched_setaffinity"):
        try:
            os.sched_setaffinity(0, {sorted(os.sched_getaffinity(0))[0]})
        except OSError:
            pass


def _best_rate(fn, frames: int, repeats: int) -> tuple[float, float]:
    """Best-of-``repeats`` frames per second of ``fn()``, and its best time in seconds."""
    best = float("inf")
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    return frames / best, best


def main(argv: list[str] | None = None) -> dict[str, float]:
    """Run the benchmark and print the table and the key=value line.

    Args:
        argv: command-line arguments (default: ``sys.argv[1:]``).

    Returns:
        ``{"frames_per_s": ..., "scenes_frames_per_s": ...}``.
    """
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="fewer videos and repeats (about a second)")
    ap.add_argument("--size", type=int, default=64, help="frame size in pixels (default 64)")
    args = ap.parse_args(argv)
    _pin_one_core()
    try:  # also cap pools that ignore the environment variables
        from threadpoolctl import threadpool_limits
        threadpool_limits(1)
    except ImportError:
        pass

    n_actions, n_scenes, repeats = (40, 4, 2) if args.quick else (200, 20, 3)
    T_actions, T_scenes = 32, 120
    make_actions(4, seed=123, size=args.size)  # warm up (imports, caches)
    make_scenes(1, anomalous=True, seed=123, size=args.size)

    rows = []
    rate, sec = _best_rate(lambda: make_actions(n_actions, seed=0, size=args.size, frames=T_actions),
                           n_actions * T_actions, repeats)
    rows.append(("make_actions", n_actions, T_actions, sec, rate))
    actions_rate = rate
    for anomalous in (False, True):
        rate, sec = _best_rate(lambda: make_scenes(n_scenes, anomalous=anomalous, seed=0, size=args.size,
                                                   frames=T_scenes), n_scenes * T_scenes, repeats)
        rows.append((f"make_scenes(anomalous={anomalous})", n_scenes, T_scenes, sec, rate))
    scenes_rate = min(r[-1] for r in rows[1:])

    print(f"synthetic video rendering, {args.size}x{args.size}, one core")
    print(f"{'function':<30} {'videos':>6} {'T':>4} {'seconds':>8} {'frames/s':>9}")
    for name, n, T, sec, rate in rows:
        print(f"{name:<30} {n:>6} {T:>4} {sec:>8.3f} {rate:>9.0f}")
    verdict = "meets" if actions_rate >= TARGET_ACTIONS else "MISSES"
    print(f"make_actions {verdict} the target of {TARGET_ACTIONS:.0f} frames/s")
    print(f"frames_per_s={actions_rate:.0f} scenes_frames_per_s={scenes_rate:.0f}")
    return {"frames_per_s": actions_rate, "scenes_frames_per_s": scenes_rate}


if __name__ == "__main__":
    main()
