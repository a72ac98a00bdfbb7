"""The book's notebooks: structure a reader relies on (nbval runs them; this checks their shape)."""

import ast
import json
import os
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


SOLUTION_TITLE = '#@title Solution (double-click to show) { display-mode: "form" }'


def top_level(source):
    """The top-level statements of a code cell (IPython magics would not parse: the book has none)."""
    return ast.parse(source).body


@pytest.mark.parametrize("nb", NOTEBOOKS, ids=lambda p: p.name)
def test_chapter_structure(nb):
    cs = cells(nb)
    text = "".join("".join(c["source"]) for c in cs if c["cell_type"] == "markdown")
    code = [c for c in cs if c["cell_type"] == "code"]
    assert "**Learning goals**" in text, "learning goals at the top"
    assert "## Summary" in text, "a summary at the end"
    assert text.count("## Exercise") >= 2, "two or three coursework exercises"
    tags = [set(c.get("metadata", {}).get("tags", [])) for c in code]
    assert any("hide-cell" in t for t in tags), "the exercise's solution sits in a collapsed cell"
    assert "colab-setup" in tags[0], "first code cell installs gruae on Colab"
    assert any("gruae.profile()" in "".join(c["source"]) for c in code[:3]), "the profile is named in the first cells"
    assert all(not c["outputs"] for c in code), "notebooks are committed without outputs"
    assert all(c.get("id") for c in cs), "every cell has an id (nbformat 4.5; a cell added by hand lacks one)"


WIDTH = 88
"""The longest code line a chapter may have: what the website shows without a scroll bar."""


@pytest.mark.parametrize("nb", NOTEBOOKS, ids=lambda p: p.name)
def test_code_fits_the_page(nb):
    long = [f"cell {i}: {line}" for i, c in enumerate(cells(nb)) if c["cell_type"] == "code"
            for line in "".join(c["source"]).splitlines() if len(line) > WIDTH]
    assert not long, f"code lines over {WIDTH} columns:\n" + "\n".join(long)


@pytest.mark.parametrize("nb", NOTEBOOKS, ids=lambda p: p.name)
def test_imports_sit_in_the_set_up_cell(nb):
    """A reader sees every dependency of a chapter in one place (and a cell run on its own after the
    set-up works). Only an exercise solution imports for itself: students copy it whole."""
    code = [c for c in cells(nb) if c["cell_type"] == "code"][2:]  # after Colab's and the set-up
    stray = [f"{type(n).__name__} line {n.lineno}: {ast.get_source_segment(src, n)}"
             for c in code if "hide-cell" not in set(c.get("metadata", {}).get("tags", []))
             for src in ["".join(c["source"])]
             for n in ast.walk(ast.parse(src)) if isinstance(n, (ast.Import, ast.ImportFrom))]
    assert not stray, "imports outside the set-up cell:\n" + "\n".join(stray)


@pytest.mark.parametrize("nb", NOTEBOOKS, ids=lambda p: p.name)
def test_run_all_never_raises_and_notebooks_define_no_helpers(nb):
    """Colab's Run all honours no tag: no cell may be meant to raise. Exercise stubs only define
    (they raise NotImplementedError when called, and every call is guarded); solutions are hidden
    on the website and folded on Colab; no other cell defines a function (the package has them)."""
    code = [c for c in cells(nb) if c["cell_type"] == "code"]
    stubs = set()
    for c in code:
        src, tags = "".join(c["source"]), set(c.get("metadata", {}).get("tags", []))
        assert "raises-exception" not in tags, "no cell is meant to raise (Run all stops at the first error)"
        assert "myst_nb" not in src, "notebooks run without the book extra: use gruae.plotting.glue"
        defs = [s for s in top_level(src) if isinstance(s, ast.FunctionDef)]
        if "hide-cell" in tags:
            assert src.startswith(SOLUTION_TITLE), "a solution starts with the Colab form title"
        elif "raise NotImplementedError" in src:
            assert all(isinstance(s, (ast.FunctionDef, ast.Import, ast.ImportFrom, ast.Expr)) for s in top_level(src)), \
                "a student cell only defines its stub: calling it is the guarded check's job"
            stubs |= {d.name for d in defs}
        else:
            assert not defs, f"a notebook cell defines {[d.name for d in defs]}: put helpers in the package"
    assert stubs, "at least one exercise stub"
    for c in code:
        src, tags = "".join(c["source"]), set(c.get("metadata", {}).get("tags", []))
        called = {n.func.id for n in ast.walk(ast.parse(src)) if isinstance(n, ast.Call) and isinstance(n.func, ast.Name)}
        if called & stubs and "hide-cell" not in tags and "raise NotImplementedError" not in src:
            assert "except NotImplementedError" in src, f"{called & stubs}: a check catches the stub's error"


def test_colab_cell_does_nothing_outside_colab(monkeypatch):
    sys.path.insert(0, str(ROOT / "tools"))
    from colab_cells import colab_source

    source = colab_source()
    assert '#@param ["book", "ci", "article"]' in source and 'KEEP_DATA_ON_DRIVE = False  #@param' in source
    config = yaml.safe_load((ROOT / "_config.yml").read_text())
    assert f"@{config['repository']['package_ref']}\"" in source, "installs the ref named in _config.yml"
    monkeypatch.setenv("GRUAE_PROFILE", "ci")
    monkeypatch.delitem(sys.modules, "google.colab", raising=False)
    scope = {}
    exec(compile(source, "colab-setup", "exec"), scope)
    assert scope["PROFILE"] == "book" and os.environ["GRUAE_PROFILE"] == "ci", "outside Colab the environment decides"


def test_publishing_workflow_builds_and_deploys_the_book():
    wf = yaml.safe_load((ROOT / ".github" / "workflows" / "book.yml").read_text())
    build = wf["jobs"]["build"]["steps"]
    assert any("make book" in s.get("run", "") for s in build), "the workflow builds with the README's command"
    runs = "\n".join(s.get("run", "") for s in build)
    for name in ("mocogan_actions", "ucsd_ped2"):  # the published site shows the real-data chapters
        assert f"gruae data get {name}" in runs and runs.index(f"data get {name}") < runs.index("make book")
    assert any(s.get("uses", "").startswith("actions/upload-pages-artifact") and s["with"]["path"] == "_build/html"
               for s in build)
    deploy = wf["jobs"]["deploy"]
    assert deploy["needs"] == "build" and any(s.get("uses", "").startswith("actions/deploy-pages") for s in deploy["steps"])
    assert wf["permissions"]["pages"] == "write" and wf["permissions"]["id-token"] == "write"


def test_the_execution_cache_is_emptied_when_the_package_or_its_weights_change(tmp_path, monkeypatch):
    monkeypatch.syspath_prepend(str(ROOT / "tools"))
    import execute_book

    pkg = tmp_path / "gruae" / "weights"
    pkg.mkdir(parents=True)
    (pkg / "manifest.json").write_text("{}")
    one = execute_book.fingerprint(tmp_path)
    assert execute_book.fingerprint(tmp_path) == one, "the same files, the same fingerprint"
    (pkg / "manifest.json").write_text('{"actions-gruae": {}}')  # new weights shipped
    two = execute_book.fingerprint(tmp_path)
    monkeypatch.setenv("GRUAE_PROFILE", "other")
    assert len({one, two, execute_book.fingerprint(tmp_path)}) == 3
    cache = tmp_path / "cache"
    execute_book.open_cache(cache, one)
    (cache / "outputs").write_text("made with the first package")
    execute_book.open_cache(cache, one)
    assert (cache / "outputs").exists(), "an unchanged package keeps the cached outputs"
    pages = tmp_path / "doctrees"
    execute_book.open_cache(cache, one, pages)
    (pages / "environment.pickle").write_text("pages read with the first package")
    execute_book.open_cache(cache, two, pages)
    assert not (cache / "outputs").exists() and (cache / execute_book.STAMP).read_text() == two
    assert not (pages / "environment.pickle").exists(), "the build reads every page again"
