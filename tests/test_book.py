"""The book's notebooks: structure a reader relies on (nbval runs them; this checks their shape)."""

import json
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = sorted((ROOT / "book").glob("*.ipynb"))


def cells(nb_path):
    return json.loads(nb_path.read_text())["cells"]


def test_every_notebook_is_in_the_table_of_contents():
    toc = yaml.safe_load((ROOT / "_toc.yml").read_text())
    files = {c["file"] for c in toc["chapters"]}
    for nb in NOTEBOOKS:
        assert f"book/{nb.stem}" in files, f"{nb.name} is not in _toc.yml"


def test_colab_cells_match_config():
    r = subprocess.run([sys.executable, str(ROOT / "tools" / "colab_cells.py"), "--check"], capture_output=True, text=True)
    assert r.returncode == 0, "run `python tools/colab_cells.py`: " + r.stdout


@pytest.mark.parametrize("nb", NOTEBOOKS, ids=lambda p: p.name)
def test_chapter_structure(nb):
    cs = cells(nb)
    text = "".join("".join(c["source"]) for c in cs if c["cell_type"] == "markdown")
    code = [c for c in cs if c["cell_type"] == "code"]
    assert "**Learning goals**" in text, "learning goals at the top"
    assert "## Summary" in text, "a summary at the end"
    assert "## Exercise" in text, "at least one coursework exercise"
    tags = [set(c.get("metadata", {}).get("tags", [])) for c in code]
    assert any("hide-cell" in t for t in tags), "the exercise's solution sits in a collapsed cell"
    assert "colab-setup" in tags[0], "first code cell installs gruae on Colab"
    assert any("gruae.profile()" in "".join(c["source"]) for c in code[:3]), "the profile is named in the first cells"
    assert all(not c["outputs"] for c in code), "notebooks are committed without outputs"
    for c, t in zip(code, tags):
        if "raise NotImplementedError" in "".join(c["source"]):
            assert "raises-exception" in t, "a student cell that raises is tagged raises-exception"


def test_publishing_workflow_builds_and_deploys_the_book():
    wf = yaml.safe_load((ROOT / ".github" / "workflows" / "book.yml").read_text())
    build = wf["jobs"]["build"]["steps"]
    assert any("make book" in s.get("run", "") for s in build), "the workflow builds with the README's command"
    assert any(s.get("uses", "").startswith("actions/upload-pages-artifact") and s["with"]["path"] == "_build/html"
               for s in build)
    deploy = wf["jobs"]["deploy"]
    assert deploy["needs"] == "build" and any(s.get("uses", "").startswith("actions/deploy-pages") for s in deploy["steps"])
    assert wf["permissions"]["pages"] == "write" and wf["permissions"]["id-token"] == "write"
