"""Tests for gruae.pretrained: doubling until converged, shipping, the manifest, fit's use, --check."""

import dataclasses
import json

import pytest
import torch

from gruae import config, datasets, pretrained, shipped
from gruae.errors import CheckpointError, DataError
from gruae.models import MODEL_KINDS
from gruae.training import fit, fit_all, fit_early


@pytest.fixture
def shelf(tmp_path, monkeypatch):
    """An empty weights folder in place of the package's."""
    monkeypatch.setattr(shipped, "WEIGHTS", tmp_path / "weights")
    monkeypatch.setattr(shipped, "MANIFEST", tmp_path / "weights" / "manifest.json")
    return tmp_path


def test_pretrain_doubles_ships_and_fit_uses_it(shelf, capsys, monkeypatch):
    flushed = []
    monkeypatch.setattr(pretrained, "flush_denormals", lambda: flushed.append(True))
    r = pretrained.pretrain(["actions-gruae"], root=shelf / "data", cap=40, progress=False, profile_name="ci")
    assert flushed  # denormals flushed: long runs breed them
    curve = r["actions-gruae"]["curve"]
    assert [p["step"] for p in curve] == [20, 40]  # the live run's length, doubled, then the cap
    entry = shipped.manifest()["actions-gruae"]
    for key in ("model_config", "train_config", "data", "data_fingerprint", "steps", "seconds", "machine",
                "torch", "git_commit", "curve", "metrics", "sha256", "history"):
        assert key in entry, key
    # then a cool-down of 10 % more steps (the rate falling to 0), whose weights ship
    assert entry["steps"] == 44 and entry["cooldown"]["from"] == 40 and entry["train_config"]["cooldown"] == 4
    assert entry["finished"] and abs(entry["cooldown"]["val_psnr_db"] - entry["metrics"]["val_psnr_db"]) < 0.05
    assert entry["bytes"] < pretrained.MAX_BYTES
    assert (shelf / "weights" / "actions-gruae.pt").exists()
    assert all(v.dtype in (torch.float16, torch.int64) for v in torch.load(shelf / "weights" / "actions-gruae.pt").values())
    # resumable: a second call trains nothing more and ships the same file
    again = pretrained.pretrain(["actions-gruae"], root=shelf / "data", cap=40, progress=False, profile_name="ci")
    assert again["actions-gruae"]["curve"] == curve
    assert pretrained.check(profile_name="ci") == []

    P = config.profile("ci")
    frames = datasets.actions(P, "train")
    loaded = fit(P.model, frames, P.train, root=shelf / "data")
    assert loaded.pretrained == "actions-gruae" and loaded.seconds == 0 and loaded.resumed_from == 44
    assert "pretrained weights 'actions-gruae'" in capsys.readouterr().out
    assert set(loaded.snapshots) == {0, 20, 40, 44}
    live = fit(P.model, frames, P.train, root=shelf / "data", pretrained=False, progress=False)
    assert live.pretrained is None and live.seconds > 0
    other = datasets.actions(P, "test")  # other data: never the shipped model
    assert shipped.find(P.model, other.source) is None
    # the curve's validation figures, for chapters that compare early training with a live run
    first = dataclasses.replace(P.pretrain, steps=20)
    want = {k[4:]: v for k, v in curve[0].items() if k.startswith("val_")}
    assert shipped.recorded(P.model, frames.source, first) == want
    assert set(want) == {"psnr_db", "ssim", "motion_corr", "motion_ratio"}
    assert shipped.recorded(P.model, frames.source, dataclasses.replace(first, steps=30)) is None
    assert shipped.recorded(P.model, other.source, first) is None
    assert shipped.recorded(P.model, frames.source, dataclasses.replace(first, lr=1e-4)) is None, "another recipe"
    big = P.model_for("single_latent", clip_latent=64)  # never shipped: trains, measured on val
    early = fit_early({"gru": P.model, "big": big}, frames, datasets.actions(P, "val"), first,
                      root=shelf / "data", progress=False)
    assert early["gru"] == (want, "recorded by its pretraining")
    assert early["big"][1].startswith("trained here") and set(early["big"][0]) == set(want)

def test_early_record_gives_the_figures_of_a_live_run_without_training(shelf, monkeypatch):
    P = config.profile("ci")
    ((name, r),) = pretrained.early_recipes("ci").items()
    assert r.model.kind == "single_latent" and r.model.clip_size == P.clip_frames * P.model.latent
    rec = pretrained.record_early(root=shelf / "a", progress=False, profile_name="ci")[name]
    assert shipped.early() == {name: rec} and rec["steps"] == P.pretrain.steps
    for key in ("model_config", "train_config", "data", "data_fingerprint", "seconds", "machine",
                "precision", "torch", "figures"):
        assert rec[key] is not None, key
    assert "git_commit" in rec  # None here: the test's weights folder is outside the repository
    frames, val, first = datasets.actions(P, "train"), datasets.actions(P, "val"), P.pretrain
    monkeypatch.setenv("GRUAE_RETRAIN", "1")  # the live run, in another data folder
    live, how = fit_early({"big": r.model}, frames, val, first, root=shelf / "b", progress=False)["big"]
    assert how.startswith("trained here") and live == pytest.approx(rec["figures"], abs=1e-4)
    monkeypatch.delenv("GRUAE_RETRAIN")
    got = fit_early({"big": r.model}, frames, val, first, root=shelf / "c", progress=False)["big"]
    assert got == (rec["figures"], "recorded by its pretraining") and not (shelf / "c").exists()
    twice = dataclasses.replace(first, steps=2 * first.steps)  # another point, or another recipe
    assert shipped.recorded(r.model, frames.source, twice) is None
    assert shipped.recorded(r.model, frames.source, dataclasses.replace(first, lr=1e-4)) is None
    assert shipped.recorded(r.model, datasets.actions(P, "test").source, first) is None
    # kept when asked again; --check passes, and catches a record of another recipe
    assert pretrained.record_early([name], root=shelf / "d", progress=False, profile_name="ci")[name] == rec
    assert not (shelf / "d").exists() and pretrained.check(profile_name="ci") == []
    path = shelf / "weights" / "early.json"
    table = json.loads(path.read_text())
    table[name]["model_config"]["latent"] += 1
    path.write_text(json.dumps(table))
    assert pretrained.check([name], profile_name="ci") == [
        f"{name}: the early record is not today's recipe (pretrain it again)"]
    with pytest.raises(DataError, match="unknown early record"):
        pretrained.record_early(["nope"], profile_name="ci")


def test_fit_all_loads_shipped_weights_only_when_every_model_has_them(shelf, capsys):
    pretrained.pretrain(["actions-gruae", "actions-per_frame"], root=shelf / "data", cap=20, progress=False,
                        profile_name="ci")
    P = config.profile("ci")
    frames = datasets.actions(P, "train")
    pair = {k: P.model_for(k) for k in ("gruae", "per_frame")}
    loaded = fit_all(pair, frames, P.train, root=shelf / "data", progress=False)
    assert [r.pretrained for r in loaded.values()] == ["actions-gruae", "actions-per_frame"]
    capsys.readouterr()
    three = {**pair, "single": P.model_for("single_latent")}  # no shipped weights: all three train
    live = fit_all(three, frames, P.train, root=shelf / "data", progress=False)
    assert all(r.pretrained is None and r.seconds > 0 for r in live.values())
    assert "no finished pretrained weights for single: so that they compare fairly, all 3 models train" \
        in capsys.readouterr().out
    # a higher cap shipped for one model only: not equally long, so both train (or load their runs)
    table = json.loads(shipped.MANIFEST.read_text())
    table["actions-gruae"]["cap"] = 40
    shipped.MANIFEST.write_text(json.dumps(table))
    assert all(r.pretrained is None for r in fit_all(pair, frames, P.train, root=shelf / "data", progress=False).values())
    assert "stopped at different step caps (gruae 40, per_frame 20)" in capsys.readouterr().out
    table["actions-per_frame"]["converged"] = True  # converged earlier: its cap does not matter
    shipped.MANIFEST.write_text(json.dumps(table))
    assert all(r.pretrained for r in fit_all(pair, frames, P.train, root=shelf / "data", progress=False).values())
    assert fit_all(pair, frames, P.train, root=shelf / "data", pretrained=False)["gruae"].pretrained is None


def test_check_and_load_catch_changes(shelf):
    pretrained.pretrain(["actions-per_frame"], root=shelf / "data", cap=20, progress=False, profile_name="ci")
    table = json.loads(shipped.MANIFEST.read_text())
    table["actions-per_frame"]["metrics"]["val_psnr_db"] += 0.5
    shipped.MANIFEST.write_text(json.dumps(table))
    assert any("val_psnr_db" in line for line in pretrained.check(profile_name="ci"))
    path = shelf / "weights" / "actions-per_frame.pt"
    path.write_bytes(path.read_bytes()[:-10] + b"0123456789")
    with pytest.raises(CheckpointError, match="SHA-256 differs"):
        shipped.load("actions-per_frame")
    with pytest.raises(CheckpointError, match="no shipped weights named 'nope'"):
        shipped.load("nope")


def test_the_shipped_folder_stays_small():
    files = [f for f in shipped.WEIGHTS.iterdir() if f.is_file()]
    assert sum(f.stat().st_size for f in files) <= pretrained.MAX_TOTAL_BYTES
    for f in files:
        if f.suffix == ".pt":
            assert f.stat().st_size <= pretrained.MAX_BYTES, f.name


def test_every_shipped_file_is_package_data():
    """What a plain (non-editable) install, as on Colab, copies into site-packages."""
    import fnmatch
    import tomllib
    from pathlib import Path

    pyproject = tomllib.loads((Path(__file__).parent.parent / "pyproject.toml").read_text())
    globs = pyproject["tool"]["setuptools"]["package-data"]["gruae"]
    for f in shipped.WEIGHTS.iterdir():
        if f.is_file():
            assert any(fnmatch.fnmatch(f"weights/{f.name}", g) for g in globs), f.name


def test_ci_profile_never_matches_shipped_weights():
    P = config.profile("ci")
    for kind in MODEL_KINDS:
        assert shipped.find(P.model_for(kind), datasets.actions(P, "train").source) is None


@pytest.mark.skipif(not shipped.manifest(), reason="no weights shipped yet (python -m gruae pretrain)")
def test_shipped_gruae_measures_as_its_manifest_says():
    name = "actions-gruae" if "actions-gruae" in shipped.manifest() else next(iter(shipped.manifest()))
    assert pretrained.check([name]) == []


def test_time_budget_ships_partial_weights_and_another_machine_goes_on(shelf):
    r = pretrained.pretrain(["actions-gruae"], root=shelf / "a", cap=20, hours=0, progress=False, profile_name="ci")
    assert r["actions-gruae"]["out_of_time"] and r["actions-gruae"]["steps"] == 5  # saved at the first logged step
    entry = shipped.manifest()["actions-gruae"]
    assert entry["steps"] == 5 and not entry["converged"] and not entry["finished"]
    P = config.profile("ci")
    assert shipped.find(P.model, datasets.actions(P, "train").source) is None, "the book shows finished models only"
    # a fresh machine: no run folder, only the package's weights
    r = pretrained.pretrain(["actions-gruae"], root=shelf / "b", cap=20, progress=False, profile_name="ci")
    entry = shipped.manifest()["actions-gruae"]
    assert [p["step"] for p in entry["curve"]] == [20] and entry["resumed_from_shipped"] == 5
    assert entry["steps"] == 22 and entry["history"]["steps"][0] == 5 and entry["finished"]  # cap, cooled down
    # a third machine has nothing to do: the shipped weights are complete
    r = pretrained.pretrain(["actions-gruae"], root=shelf / "c", cap=20, progress=False, profile_name="ci")
    assert r["actions-gruae"]["steps"] == 22 and not (shelf / "c" / "pretrain").exists()


def test_a_higher_cap_goes_on_from_the_run_or_from_the_cooled_shipped_weights(shelf, capsys):
    go = dict(progress=False, profile_name="ci")
    pretrained.pretrain(["actions-gruae"], root=shelf / "a", cap=20, **go)
    done = shipped.manifest()["actions-gruae"]
    assert done["steps"] == 22 and done["finished"] and not done["converged"]
    # out of time while going on to a higher cap: the finished weights stay shipped
    r = pretrained.pretrain(["actions-gruae"], root=shelf / "c", cap=40, hours=0, **go)
    assert r["actions-gruae"]["out_of_time"] and shipped.manifest()["actions-gruae"] == done
    # a machine without the run: the cooled weights stand in for the constant-rate ones at step 20
    capsys.readouterr()
    pretrained.pretrain(["actions-gruae"], root=shelf / "b", cap=40, **{**go, "progress": True})
    assert ("going on from the shipped weights (22 steps, cooled down: at step 20, where their constant "
            "rate ended)") in capsys.readouterr().out
    e = shipped.manifest()["actions-gruae"]
    assert [p["step"] for p in e["curve"]] == [20, 40] and e["steps"] == 44 and e["cooldown"]["from"] == 40
    assert e["finished"] and e["resumed_from_shipped"] == 20 and e["rewarmed_from_cooled"] == 22
    assert e["snapshots"] == [0, 20, 40, 44]  # the old cool-down's snapshot left out
    assert e["history"]["steps"] == sorted(e["history"]["steps"])
    # the machine that has the run goes on from its own constant-rate end, and cools down again
    pretrained.pretrain(["actions-gruae"], root=shelf / "a", cap=40, **go)
    e = shipped.manifest()["actions-gruae"]
    assert [p["step"] for p in e["curve"]] == [20, 40] and e["steps"] == 44 and e["cooldown"]["from"] == 40
    assert e["resumed_from_shipped"] is None and e["rewarmed_from_cooled"] is None and e["snapshots"] == [0, 20, 40, 44]
    assert pretrained.check(profile_name="ci") == []
    # and at that cap there is nothing more to do
    assert pretrained.pretrain(["actions-gruae"], root=shelf / "d", cap=40, **go)["actions-gruae"]["steps"] == 44
    assert not (shelf / "d" / "pretrain").exists()


def test_retrain_ignores_complete_shipped_weights(shelf, monkeypatch):
    pretrained.pretrain(["actions-gruae"], root=shelf / "a", cap=20, progress=False, profile_name="ci")
    monkeypatch.setenv("GRUAE_RETRAIN", "1")
    r = pretrained.pretrain(["actions-gruae"], root=shelf / "b", cap=20, progress=False, profile_name="ci")
    assert r["actions-gruae"]["steps"] == 22 and shipped.manifest()["actions-gruae"]["resumed_from_shipped"] is None


def test_finished_weights_without_a_cool_down_are_cooled_where_they_stopped(shelf):
    r = pretrained.pretrain(["actions-per_frame"], root=shelf / "a", cap=20, progress=False, profile_name="ci")
    table = json.loads(shipped.MANIFEST.read_text())  # as shipped before cool-downs existed
    e = table["actions-per_frame"]
    e.update(cooldown=None, steps=20, train_config={**e["train_config"], "steps": 20, "cooldown": None})
    shipped.MANIFEST.write_text(json.dumps(table))
    # out of time during the cool-down: the finished weights stay shipped as they were
    r = pretrained.pretrain(["actions-per_frame"], root=shelf / "b", cap=20, hours=0, progress=False,
                            profile_name="ci")
    assert r["actions-per_frame"]["out_of_time"] and shipped.manifest()["actions-per_frame"] == e
    r = pretrained.pretrain(["actions-per_frame"], root=shelf / "b", cap=20, progress=False, profile_name="ci")
    assert r["actions-per_frame"]["steps"] == 22 and r["actions-per_frame"]["cooldown"]["from"] == 20
    assert shipped.manifest()["actions-per_frame"]["resumed_from_shipped"] == 20


def test_dataset_source_names_the_rendered_videos_without_rendering():
    P = config.profile("ci")
    for split in ("train", "test", "val"):
        assert datasets.actions(P, split).source == datasets.source(P, "actions", split)
        assert datasets.scenes(P, split)[0].source == datasets.source(P, "scenes", split)
    assert datasets.source(P, "actions", "train") != datasets.source(config.profile("book"), "actions", "train")


def test_an_early_plateau_is_not_convergence():
    r = pretrained.recipes("ci")["actions-gruae"]
    assert r.min_steps == 16 * r.first
    flat = [{"step": r.first * 2 ** i, "val_psnr_db": 20.0 + 0.05 * i} for i in range(6)]  # gains 0.05 dB
    assert not pretrained._converged(flat[:2], r)  # too early to tell
    assert pretrained._converged(flat[:5], r)  # at 16x the first evaluation: converged
    # a last segment cut short by a cap (16x -> 20x, a third of a doubling) gains less, not less per doubling
    end = flat[4]["step"]
    short = [*flat[:4], {"step": end, "val_psnr_db": 20.0}, {"step": end * 5 // 4, "val_psnr_db": 20.15}]
    assert not pretrained._converged(short, r)  # 0.15 dB in a third of a doubling: still gaining
    assert pretrained._converged([*short[:-1], {**short[-1], "val_psnr_db": 20.05}], r) is True  # JSON's bool
    rising = [{"step": r.first * 2 ** i, "val_psnr_db": 20.0 + i} for i in range(6)]
    assert not pretrained._converged(rising, r)
    # a fall (a measurement in a loss spike) is not convergence either; a small one is
    assert not pretrained._converged([*flat[:4], {**flat[4], "val_psnr_db": 18.0}], r)
    assert pretrained._converged([*flat[:4], {**flat[4], "val_psnr_db": flat[3]["val_psnr_db"] - 0.1}], r)


def test_the_shipped_loss_history_ends_where_training_ended():
    steps = list(range(50, 26_401, 50))  # 528 logged points, thinned to about 200
    h = pretrained._thin(steps, [1.0 / s for s in steps])
    assert h["steps"][0] == 50 and h["steps"][-1] == 26_400  # "steps trained" reads the last one
    assert len(h["steps"]) == len(h["losses"]) <= 202 and h["steps"] == sorted(set(h["steps"]))
    assert h["losses"][-1] == round(1.0 / 26_400, 6)
    assert pretrained._thin([10, 20], [0.5, 0.25]) == {"steps": [10, 20], "losses": [0.5, 0.25]}
