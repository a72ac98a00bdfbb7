"""``make test``: every check of the repository, arranged to keep a 2-core machine busy.

    python tools/run_tests.py        # what `make test` (and CI, through .ci/run) runs

1. the real video fixtures (``tests/fetch_fixtures.py``), and small real-format datasets written
   into ``_build/site-data`` (``tests/fixture_data.py``) for the website;
2. three runs side by side, one thread each (the website build leaves a core idle much of the
   time: started after the others, it added about 150 s to a 2-core run):

   - ``tools/colab_check.py``: every chapter under nbval, in a fresh Colab-like environment
     (``ci`` profile), in the data folder ``_build/ci-data`` without any real dataset, so the
     real-data cells must skip cleanly (its output: ``_build/colab-check.log``);
   - the package tests (``pytest tests`` but the website's), in an empty data folder;
   - the website test (``tests/test_site.py``) in ``_build/site-data``, so the site build runs the
     real-data cells of chapters 8-9 (its output: ``_build/site-check.log``).

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
SITE_DATA = ROOT / "_build" / "site-data"  # the website's: small datasets in the real formats
LOG = ROOT / "_build" / "colab-check.log"
SITE_LOG = ROOT / "_build" / "site-check.log"


def _env(single_thread: bool, **extra: str) -> dict[str, str]:
    """This environment plus ``extra``; one thread per process when two processes share the cores."""
    threads = {"OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"} if single_thread else {}
    return {**os.environ, **threads, **extra}


def _pytest_cmd(*args: str) -> list[str]:
    """The command line of pytest on ``args``."""
    return [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", *args]


def _show(name: str, log: Path, status: int, since: float) -> None:
    """Print a background part's result: its whole log when it failed, else its last lines."""
    tail = log.read_text().splitlines()
    print("\n".join(tail if status else tail[-3:]))
    print(f"{name}: {'passed' if status == 0 else 'FAILED'} ({time.perf_counter() - since:.0f} s since the start)",
          flush=True)


def main() -> int:
    """Run the parts; return 0 when all passed."""
    t0 = time.perf_counter()
    if subprocess.run([sys.executable, str(ROOT / "tests" / "fetch_fixtures.py")], cwd=ROOT).returncode:
        return 1
    for folder in (CI_DATA, UNIT_DATA, SITE_DATA):
        shutil.rmtree(folder, ignore_errors=True)
        folder.mkdir(parents=True)
    if subprocess.run([sys.executable, str(ROOT / "tests" / "fixture_data.py"), str(SITE_DATA)], cwd=ROOT).returncode:
        return 1
    t = time.perf_counter()
    with LOG.open("w") as log, SITE_LOG.open("w") as site_log:
        colab = subprocess.Popen([sys.executable, str(ROOT / "tools" / "colab_check.py")], cwd=ROOT,
                                 stdout=log, stderr=subprocess.STDOUT, env=_env(True, GRUAE_DATA=str(CI_DATA)))
        print(f"chapters under nbval in the Colab-like environment: started (output: {LOG})", flush=True)
        site = subprocess.Popen(_pytest_cmd(str(ROOT / "tests" / "test_site.py")), cwd=ROOT, stdout=site_log,
                                stderr=subprocess.STDOUT,
                                env=_env(True, GRUAE_PROFILE="ci", GRUAE_DATA=str(SITE_DATA)))
        print(f"website test: started (output: {SITE_LOG})", flush=True)
        unit = subprocess.run(_pytest_cmd("tests", "--ignore", str(ROOT / "tests" / "test_site.py")), cwd=ROOT,
                              env=_env(True, GRUAE_PROFILE="ci", GRUAE_DATA=str(UNIT_DATA))).returncode
        print(f"package tests: {'passed' if unit == 0 else 'FAILED'} in {time.perf_counter() - t:.0f} s", flush=True)
        nbval = colab.wait()
        _show("chapters under nbval", LOG, nbval, t)
        web = site.wait()
        _show("website test", SITE_LOG, web, t)
    print(f"make test: {time.perf_counter() - t0:.0f} s in all", flush=True)
    return int(bool(unit or nbval or web))


if __name__ == "__main__":
    sys.exit(main())
