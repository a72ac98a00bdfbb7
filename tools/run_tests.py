"""``make test``: every check of the repository, arranged to keep a 2-core machine busy.

    python tools/run_tests.py        # what `make test` (and CI, through .ci/run) runs

1. the real video fixtures (``tests/fetch_fixtures.py``);
2. two runs side by side, one thread each:

   - ``tools/colab_check.py``: every chapter under nbval, in a fresh Colab-like environment
     (``ci`` profile), in the data folder ``_build/ci-data`` without any real dataset, so the
     real-data cells must skip cleanly (its output: ``_build/colab-check.log``);
   - the package tests (``pytest tests`` but the website's), in an empty data folder;

3. the website test (``tests/test_site.py``): small real-format datasets are written into
   ``_build/ci-data`` first, so the site build runs the real-data cells of chapters 8-9, and the
   ``ci`` models the Colab run trained there are loaded, not trained again.

Each part prints how long it took. Exit status: 0 when every part passed.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CI_DATA = ROOT / "_build" / "ci-data"
UNIT_DATA = ROOT / "_build" / "unit-data"  # the package tests' $GRUAE_DATA: empty, never the repository's data/
LOG = ROOT / "_build" / "colab-check.log"


def _env(single_thread: bool, **extra: str) -> dict[str, str]:
    """This environment plus ``extra``; one thread per process when two processes share the cores."""
    threads = {"OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"} if single_thread else {}
    return {**os.environ, **threads, **extra}


def _pytest(*args: str, single_thread: bool = False, **env: str) -> int:
    """Run pytest on ``args`` under the ``ci`` profile; return its exit status."""
    cmd = [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", *args]
    return subprocess.run(cmd, cwd=ROOT, env=_env(single_thread, GRUAE_PROFILE="ci", **env)).returncode


def main() -> int:
    """Run the parts in order; return 0 when all passed."""
    t0 = time.perf_counter()
    if subprocess.run([sys.executable, str(ROOT / "tests" / "fetch_fixtures.py")], cwd=ROOT).returncode:
        return 1
    for folder in (CI_DATA, UNIT_DATA):
        shutil.rmtree(folder, ignore_errors=True)
        folder.mkdir(parents=True)
    LOG.parent.mkdir(exist_ok=True)
    with LOG.open("w") as log:
        colab = subprocess.Popen([sys.executable, str(ROOT / "tools" / "colab_check.py")], cwd=ROOT,
                                 stdout=log, stderr=subprocess.STDOUT, env=_env(True, GRUAE_DATA=str(CI_DATA)))
        print(f"chapters under nbval in the Colab-like environment: started (output: {LOG})", flush=True)
        t = time.perf_counter()
        unit = _pytest("tests", "--ignore", str(ROOT / "tests" / "test_site.py"), single_thread=True,
                       GRUAE_DATA=str(UNIT_DATA))
        print(f"package tests: {'passed' if unit == 0 else 'FAILED'} in {time.perf_counter() - t:.0f} s", flush=True)
        nbval = colab.wait()
    tail = LOG.read_text().splitlines()
    print("\n".join(tail if nbval else tail[-3:]))
    print(f"chapters under nbval: {'passed' if nbval == 0 else 'FAILED'} "
          f"({time.perf_counter() - t:.0f} s since both started)", flush=True)
    t = time.perf_counter()
    written = subprocess.run([sys.executable, str(ROOT / "tests" / "fixture_data.py"), str(CI_DATA)], cwd=ROOT)
    site = written.returncode or _pytest(str(ROOT / "tests" / "test_site.py"), GRUAE_DATA=str(CI_DATA))
    print(f"website test: {'passed' if site == 0 else 'FAILED'} in {time.perf_counter() - t:.0f} s; "
          f"make test: {time.perf_counter() - t0:.0f} s in all", flush=True)
    return int(bool(unit or nbval or site))


if __name__ == "__main__":
    sys.exit(main())
