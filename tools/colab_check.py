"""Run every chapter as a Colab reader would: a fresh environment with ``pip install .``, Run all.

    python tools/colab_check.py            # what `make test` runs (the ci profile)
    python tools/colab_check.py --fresh    # rebuild the environment even if pyproject.toml is unchanged

Colab gives a reader Python with its own stack (torch, jupyter, matplotlib, ipywidgets,
scikit-learn, imageio, pytest...) and the book's set-up cell adds ``pip install`` of this
package without extras. This script builds that situation here and runs the chapters in it:

1. a new virtual environment ``_build/colab-venv`` holding only ``pip install .`` (done by uv,
   which installs what pip would, about 3x faster), the packages Colab ships (:data:`COLAB_SHIPS`)
   and nbval; the torch of the environment running this script
   is shared with it through a ``.pth`` file (Colab brings its own torch, and a second copy here
   would cost a gigabyte and minutes);
2. every chapter of ``_toc.yml`` executed top to bottom by nbval (``pytest --nbval-lax``) in that
   environment, under the ``ci`` profile, in the data folder ``$GRUAE_DATA`` (default
   ``_build/ci-data``). The chapters use no ``raises-exception`` tag (``tests/test_book.py``
   checks it), so nbval fails on any error, as *Run all* on Colab stops at one.

A notebook that imports something only the ``book`` or ``test`` extras install, or a cell that
raises, fails here, named with its cell. (``make test`` then builds the website from the same
chapters, loading the ``ci`` models this run trained: ``tools/run_tests.py``.) Exit status: pytest's.
"""

from __future__ import annotations

import argparse
import importlib.metadata
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
VENV = ROOT / "_build" / "colab-venv"

COLAB_SHIPS = ("nbclient", "ipykernel<7", "matplotlib", "ipywidgets", "scikit-learn", "imageio", "pytest")
"""What a Colab runtime already holds that the notebooks may use without installing it: the kernel
and the libraries. (Colab also runs a notebook server, which no chapter imports: leaving out the
``jupyter`` metapackage, 55 packages, saves about 20 s of pip in every clean clone.)"""

RUNNER = ("nbval>=0.11",)
"""The test runner, which no notebook imports."""


def _site_packages(python: Path) -> Path:
    """The site-packages folder of an environment's interpreter."""
    out = subprocess.run([str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                         capture_output=True, text=True, check=True).stdout.strip()
    return Path(out)


def _share_torch(venv_site: Path) -> None:
    """Make this interpreter's torch (and what it imports) visible in the new environment."""
    shared = VENV / "shared-torch"
    shared.mkdir(exist_ok=True)
    names = {"torch"} | {r.split(";")[0].split(">")[0].split("=")[0].split("<")[0].strip()
                         for r in importlib.metadata.requires("torch") or [] if "extra ==" not in r}
    names |= {"mpmath", "markupsafe"}  # what sympy and jinja2 import
    for name in sorted(names):
        try:
            dist = importlib.metadata.distribution(name)
        except importlib.metadata.PackageNotFoundError:
            continue
        base = Path(dist.locate_file(""))
        tops = {Path(str(f)).parts[0] for f in dist.files or [] if not str(f).startswith("..")}
        for top in tops:
            src, dst = base / top, shared / top
            if src.exists() and not dst.exists() and not top.endswith(".pth") and top != "bin":
                dst.symlink_to(src)
    (venv_site / "gruae-shared-torch.pth").write_text(str(shared) + "\n")


def build_env(fresh: bool) -> Path:
    """Create the Colab-like environment; return its python.

    An environment built from the same ``pyproject.toml`` is reused, with only the package
    itself reinstalled (``--no-deps``), unless ``fresh``. The installer is uv (a test extra):
    the whole build took 58 s with pip, 18 s with uv (2-core CPU, one after the other, warm
    download caches; 21 s with uv's cache empty). torch is excluded from uv's resolution, so the
    shared torch is the only one (uv does not look into ``.pth`` folders).
    """
    python, stamp = VENV / "bin" / "python", VENV / ".pyproject.toml"
    pyproject = (ROOT / "pyproject.toml").read_text()
    excludes = VENV / "excludes.txt"
    uv = [sys.executable, "-m", "uv", "pip", "install", "-q", "--python", str(python),
          "--excludes", str(excludes)]
    shutil.rmtree(ROOT / "build", ignore_errors=True)  # setuptools' build folder: stale files would enter the wheel
    if not fresh and python.exists() and stamp.exists() and stamp.read_text() == pyproject:
        subprocess.run([*uv, "--no-deps", "--reinstall", str(ROOT)], check=True)
        return python
    shutil.rmtree(VENV, ignore_errors=True)
    subprocess.run([sys.executable, "-m", "venv", str(VENV)], check=True)
    _share_torch(_site_packages(python))
    excludes.write_text("torch\n")
    # uv writes no bytecode (pip did, for hundreds of modules never imported here): what the
    # chapters import is compiled when first imported (see main)
    subprocess.run([*uv, str(ROOT), *COLAB_SHIPS, *RUNNER], check=True)
    stamp.write_text(pyproject)
    return python


def chapters() -> list[Path]:
    """The notebooks of ``_toc.yml``, in reading order."""
    import yaml

    toc = yaml.safe_load((ROOT / "_toc.yml").read_text())
    files = [c["file"] for c in toc.get("chapters", [])]
    return [ROOT / f"{f}.ipynb" for f in files if (ROOT / f"{f}.ipynb").exists()]


def main(argv: list[str] | None = None) -> int:
    """Build the environment, run every chapter under nbval; return pytest's exit status."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--fresh", action="store_true", help="rebuild _build/colab-venv from scratch")
    args = ap.parse_args(argv)
    t = time.perf_counter()
    python = build_env(args.fresh)
    print(f"Colab-like environment ready in {time.perf_counter() - t:.0f} s: {VENV}", flush=True)
    # as on Colab, Python writes bytecode: the first chapter's imports compile what the others
    # reuse (with PYTHONDONTWRITEBYTECODE set, every kernel compiled matplotlib, scipy and
    # scikit-learn again: about 5 s per chapter)
    env = {k: v for k, v in os.environ.items()
           if k not in ("PYTHONPATH", "VIRTUAL_ENV", "PYTHONDONTWRITEBYTECODE")}
    env.update(GRUAE_PROFILE="ci", GRUAE_DATA=env.get("GRUAE_DATA") or str(ROOT / "_build" / "ci-data"),
               PATH=f"{python.parent}{os.pathsep}{env.get('PATH', '')}")
    r = subprocess.run([str(python), "-m", "pytest", "--nbval-lax", "-p", "no:cacheprovider", "-q",
                        *map(str, chapters())], env=env, cwd=ROOT)
    return r.returncode


if __name__ == "__main__":
    sys.exit(main())
