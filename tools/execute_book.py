"""Execute the book's chapters side by side, into the execution cache `jupyter-book build` reads.

    python tools/execute_book.py --config _build/_config.book.yml   # what `make book` runs first

jupyter-book executes one notebook at a time, with every core in one kernel. Much of a chapter
is single-threaded Python (plotting, animations) and small convolutions that two threads do not
run twice as fast, so on a 2-core machine two kernels of one thread each finish the book sooner.
This runs every chapter of ``_toc.yml`` whose code has no cached outputs yet, a few at a time,
exactly as jupyter-book's ``cache`` mode would (the same cache folder, working directory,
timeout and error rule; myst-nb's ``execute/cache.py``), and stores the outputs in that cache:
the build that follows finds them there and executes nothing. The longest chapters start first
when an earlier build recorded how long they took. A chapter that fails is reported and left
uncached, so the build runs it again and shows the error in its usual report.

The cache is keyed by each chapter's code only, but the outputs also depend on the package the
chapters import, its shipped weights and which datasets are here: when their fingerprint
(:func:`fingerprint`) differs from the one the cache was filled with, the cache is emptied and
every chapter runs again (new weights would otherwise leave the website showing the old ones). The website test
(``tests/test_site.py``) fills its own cache the same way.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import shutil
import sys
import time
from concurrent.futures import ProcessPoolExecutor, as_completed
from pathlib import Path

import nbformat
import yaml
from jupyter_cache import get_cache
from jupyter_cache.base import CacheBundleIn
from jupyter_cache.executors.utils import single_nb_execution

ROOT = Path(__file__).resolve().parent.parent


def chapters(root: Path = ROOT) -> list[Path]:
    """The notebooks of ``_toc.yml``, in reading order."""
    toc = yaml.safe_load((root / "_toc.yml").read_text())
    files = [toc["root"]] + [c["file"] for c in toc.get("chapters", [])]
    return [root / f"{f}.ipynb" for f in files if (root / f"{f}.ipynb").is_file()]


STAMP = "gruae-fingerprint"
"""The file, in the cache folder, holding the fingerprint its outputs were made with."""

def fingerprint(root: Path = ROOT) -> str:
    """What every chapter's outputs depend on besides its own code.

    The package's files (code, shipped weights and manifest), the profile and data folder
    (``GRUAE_PROFILE``, ``GRUAE_DATA``), and which data sets the package finds here.
    """
    h = hashlib.sha256()
    for p in sorted((root / "gruae").rglob("*")):
        if p.is_file() and "__pycache__" not in p.parts:
            h.update(f"{p.relative_to(root)}\n".encode())
            h.update(p.read_bytes())
    for key in ("GRUAE_PROFILE", "GRUAE_DATA"):
        h.update(f"{key}={os.environ.get(key, '')}\n".encode())
    from gruae import hub  # no torch: this process forks the chapters' workers

    for name, entry in hub.DATA_HUB.items():  # where each real data set is found, if anywhere
        if entry.kind != "synthetic":
            h.update(f"{name}={hub.available(name)}\n".encode())
    return h.hexdigest()[:16]


def _stamp(folder: Path, now: str) -> bool:
    """Empty ``folder`` unless it was made under the fingerprint ``now``; mark it as made under
    ``now``. Returns True when it held something made under another."""
    stamp, stale = folder / STAMP, False
    if stamp.exists() and stamp.read_text() == now:
        return False
    if folder.exists():
        stale = any(folder.iterdir())
        shutil.rmtree(folder)
    folder.mkdir(parents=True)
    stamp.write_text(now)
    return stale


def open_cache(folder: Path, now: str, doctrees: Path | None = None):
    """The execution cache in ``folder``, emptied first when it was filled under another
    fingerprint than ``now`` (:func:`fingerprint`), or under none.

    ``doctrees``, the build's saved pages (``_build/.doctrees``), is emptied likewise (it is
    shared by the profiles): Sphinx re-reads only the pages whose source changed, and a
    chapter's source has not.
    """
    if _stamp(folder, now):
        print("execute_book: the package, its weights or the data here changed since the cached "
              "outputs were made: every chapter runs again", flush=True)
    if doctrees is not None:
        _stamp(doctrees, now)
    return get_cache(str(folder))


def _execute(path: str, timeout: int, allow_errors: bool) -> tuple[str, object, float, str | None]:
    """Run one notebook in its own folder (in a worker process); return what the cache needs."""
    nb = nbformat.read(path, as_version=4)
    t = time.perf_counter()
    # the kernel is killed once the last cell has run (its outputs are in `nb`): a graceful exit
    # spent 2.4 s of CPU per chapter tearing down the interpreter (torch, matplotlib, dynamo)
    result = single_nb_execution(nb, cwd=str(Path(path).parent), allow_errors=allow_errors, timeout=timeout,
                                 meta_override=True, shutdown_kernel="immediate")
    return path, nb, time.perf_counter() - t, result.exc_string if result.err is not None else None


def main(argv: list[str] | None = None) -> int:
    """Execute the uncached chapters; return 1 when one failed, else 0."""
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--config", type=Path, default=ROOT / "_config.yml", help="the jupyter-book configuration")
    ap.add_argument("--jobs", type=int, default=min(4, os.cpu_count() or 1),
                    help="chapters at a time (default: the cores, at most 4)")
    ap.add_argument("--doctrees", type=Path, help="the build's saved pages, emptied with the cache "
                    "(`make book`: _build/.doctrees)")
    args = ap.parse_args(argv)
    execute = yaml.safe_load(args.config.read_text()).get("execute", {})
    if execute.get("execute_notebooks", "cache") != "cache":
        print("execute_book: the configuration does not use the cache; nothing to do")
        return 0
    cache = open_cache(ROOT / execute.get("cache", "_build/.jupyter_cache"), fingerprint(), args.doctrees)
    took = {r.uri: r.data.get("execution_seconds", 0) for r in cache.list_cache_records()}
    todo = []
    for path in chapters():
        try:
            cache.match_cache_notebook(nbformat.read(path, as_version=4))
        except KeyError:
            todo.append(path)
    if not todo:
        print("execute_book: every chapter's outputs are cached")
        return 0
    todo.sort(key=lambda p: -took.get(str(p), 0))  # longest first, where an earlier build timed it
    jobs = max(1, min(args.jobs, len(todo)))
    threads = str(max(1, (os.cpu_count() or 1) // jobs))
    os.environ.update(OMP_NUM_THREADS=threads, MKL_NUM_THREADS=threads)  # the kernels inherit it
    print(f"execute_book: {len(todo)} chapters, {jobs} at a time, {threads} thread(s) each", flush=True)
    failed, t0 = 0, time.perf_counter()
    with ProcessPoolExecutor(jobs) as pool:
        runs = [pool.submit(_execute, str(p), int(execute.get("timeout", 30)), bool(execute.get("allow_errors")))
                for p in todo]
        for run in as_completed(runs):
            path, nb, seconds, error = run.result()
            name = Path(path).relative_to(ROOT)
            if error:
                failed += 1
                print(f"  {name}: FAILED after {seconds:.0f} s (the build runs it again and reports it)\n"
                      f"{error[-2000:]}", flush=True)
                continue
            record = cache.add_nb_to_project(path)
            cache.cache_notebook_bundle(CacheBundleIn(nb, record.uri, data={"execution_seconds": seconds}),
                                        check_validity=False, overwrite=True)
            print(f"  {name}: {seconds:.0f} s", flush=True)
    print(f"execute_book: done in {time.perf_counter() - t0:.0f} s", flush=True)
    return int(failed > 0)


if __name__ == "__main__":
    sys.exit(main())
