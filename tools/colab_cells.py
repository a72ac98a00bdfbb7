"""Write the Colab badge and set-up cell of every notebook from `_config.yml` (the one place the
repository URL and branch are written).

    python tools/colab_cells.py          # rewrite the cells
    python tools/colab_cells.py --check  # exit 1 if a notebook disagrees (tests/test_book.py)

The set-up cell is each notebook's first code cell, tagged ``colab-setup``. It holds a Colab form:
``PROFILE`` (``book``, ``ci`` or ``article``, with what each costs) and ``KEEP_DATA_ON_DRIVE``. On
Colab it sets ``GRUAE_PROFILE`` from the form, optionally mounts Google Drive and points
``GRUAE_DATA`` there (so checkpoints survive the runtime and chapters share them), and installs the
``gruae`` package at the git ref ``repository.package_ref`` of ``_config.yml`` (a tag or commit;
never upgrading Colab's torch). Elsewhere it only defines the form's variables: ``GRUAE_PROFILE`` or
the default decides, so CI's ``GRUAE_PROFILE=ci`` wins. The badge is a markdown cell (id ``colab-badge``) right after the title cell, linking to
the notebook on Colab.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
TAG = "colab-setup"
BADGE_ID = "colab-badge"


def _repo(config: Path) -> tuple[str, str]:
    """(url, branch) of the repository in ``config``."""
    repo = yaml.safe_load(config.read_text())["repository"]
    return repo["url"].rstrip("/"), repo.get("branch", "main")


def _package_ref(config: Path) -> str:
    """The git ref (tag, commit or branch) Colab installs the package from: ``repository.package_ref``,
    else the branch."""
    repo = yaml.safe_load(config.read_text())["repository"]
    return str(repo.get("package_ref") or repo.get("branch", "main"))


def colab_url(notebook: Path, config: Path = ROOT / "_config.yml") -> str:
    """The Colab address of a notebook of the book (GitHub-hosted)."""
    url, branch = _repo(config)
    slug = url.split("github.com/", 1)[-1]
    return f"https://colab.research.google.com/github/{slug}/blob/{branch}/{notebook.relative_to(ROOT).as_posix()}"


def badge_source(notebook: Path) -> str:
    """The markdown of the Colab badge of a notebook."""
    return f"[![Open in Colab](_static/colab-badge.svg)]({colab_url(notebook)})"


def colab_source(config: Path = ROOT / "_config.yml") -> str:
    """The source of the Colab set-up cell for the repository in ``config``."""
    url, _ = _repo(config)
    ref = _package_ref(config)
    return f'''# Colab set-up, generated from _config.yml by tools/colab_cells.py. Outside Colab it
# only defines the two form fields below: there GRUAE_PROFILE (or "book") decides.
#
# PROFILE: how big the data, the models and the training runs are (chapter 1):
#   "book"    what the website shows: the converged models shipped with the package
#             load in seconds; a model without finished shipped weights trains 150
#             steps in the first chapter that needs it (under a minute on a 2-core
#             CPU with native bf16, about 2.5 without; later chapters load it).
#             Chapter 4 always shows one such live run
#   "ci"      tiny: each chapter runs in seconds; its numbers only prove the code runs
#   "article" the article's model, 10,000 training steps: about 2 minutes on an
#             H100/H200 (80-100 it/s); an estimated 15-25 minutes on Colab's free T4
#             (not measured). GPU only
# KEEP_DATA_ON_DRIVE: keep data and checkpoints in Google Drive (MyDrive/gruae-data),
#   so that chapters load the models trained by earlier chapters, even in a later
#   Colab session.
PROFILE = "book"  #@param ["book", "ci", "article"]
KEEP_DATA_ON_DRIVE = False  #@param {{type:"boolean"}}

import sys
if "google.colab" in sys.modules:
    import os
    import subprocess
    os.environ["GRUAE_PROFILE"] = PROFILE
    if KEEP_DATA_ON_DRIVE:
        from google.colab import drive
        drive.mount("/content/drive")
        os.environ["GRUAE_DATA"] = "/content/drive/MyDrive/gruae-data"
    # the book's package at {ref}; pip keeps Colab's torch (gruae asks for torch>=2.1)
    package = "gruae @ git+{url}@{ref}"
    subprocess.run([sys.executable, "-m", "pip", "install", "-q", package], check=True)'''


def notebooks() -> list[Path]:
    """The book's notebooks."""
    return sorted((ROOT / "book").glob("*.ipynb"))


def sync(check: bool = False) -> list[Path]:
    """Rewrite (or, with ``check``, list) the notebooks whose Colab cell differs."""
    want = colab_source()
    stale = []
    for path in notebooks():
        nb = json.loads(path.read_text())
        cells = [c for c in nb["cells"] if c["cell_type"] == "code"]
        first = cells[0] if cells else None
        badge = badge_source(path)
        badges = [c for c in nb["cells"] if c.get("id") == BADGE_ID]
        badge_ok = len(badges) == 1 and "".join(badges[0]["source"]) == badge and nb["cells"].index(badges[0]) == 1
        if badge_ok and first is not None and TAG in first.get("metadata", {}).get("tags", []) and "".join(first["source"]) == want:
            continue
        stale.append(path)
        if check:
            continue
        nb["cells"] = [c for c in nb["cells"] if c.get("id") != BADGE_ID]
        nb["cells"].insert(1, {"cell_type": "markdown", "id": BADGE_ID, "metadata": {}, "source": [badge]})
        cell = {"cell_type": "code", "execution_count": None, "id": "colab-setup",
                "metadata": {"tags": [TAG]}, "outputs": [], "source": want.splitlines(keepends=True)}
        if first is not None and TAG in first.get("metadata", {}).get("tags", []):
            nb["cells"][nb["cells"].index(first)] = cell
        else:
            nb["cells"].insert(2, cell)
        path.write_text(json.dumps(nb, indent=1, ensure_ascii=False) + "\n")
    return stale


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--check", action="store_true", help="only check; exit 1 if a notebook is stale")
    check = ap.parse_args().check
    stale = sync(check=check)
    for p in stale:
        print(f"{'stale' if check else 'updated'}: {p.relative_to(ROOT)}")
    sys.exit(1 if stale and check else 0)
