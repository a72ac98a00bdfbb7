"""Tests for gruae.training: the loop, checkpoints, resume, the NaN guard, loading."""


import numpy as np
import pytest
import torch

from gruae.data import VideoFrames
from gruae.errors import CheckpointError, TrainingError
from gruae.models import ModelConfig
from gruae.training import TrainConfig, fit, load_checkpoint, load_model, run_dir_for, train

MODEL = ModelConfig(size=16, widths=(4, 8), latent=8, hidden=8, frames=4)
CFG = TrainConfig(steps=12, batch=2, frames=4, lr=3e-3, warmup=2, log_every=2, checkpoint_every=4,
                  snapshot_at=(0, 12), snapshot_clips=2, amp="off")


@pytest.fixture(scope="module")
def frames():
    rng = np.random.default_rng(0)
    return VideoFrames.from_videos([rng.integers(0, 256, (10, 16, 16), dtype=np.uint8) for _ in range(4)])


def weights(model):
    return {k: v.detach().clone() for k, v in model.state_dict().items()}


def same(a, b):
    return a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


def test_train_records_loss_snapshots_and_checkpoint(frames, tmp_path):
    state = torch.get_rng_state()
    r = train(MODEL, frames, CFG, run_dir=tmp_path, progress=False)
    assert torch.equal(torch.get_rng_state(), state), "training must not touch the global RNG"
    assert r.steps == list(range(2, 13, 2)) and len(r.losses) == 6 and all(np.isfinite(r.losses))
    assert set(r.snapshots) == {0, 12}
    grid = r.snapshots[12]
    assert grid.dtype == np.uint8 and grid.shape == (2 * 2 * 16 + 1, 4 * 16)
    assert (tmp_path / "snapshot_000000.png").exists() and (tmp_path / "snapshot_000012.png").exists()
    ckpt = load_checkpoint(tmp_path)
    assert ckpt["step"] == 12 and ckpt["model_config"]["kind"] == "gruae"
    assert {"optimizer", "sampler_rng", "torch_rng", "history_losses"} <= set(ckpt)
    assert not r.model.training


def test_finished_run_is_loaded_not_retrained(frames, tmp_path):
    a = train(MODEL, frames, CFG, run_dir=tmp_path, progress=False)
    b = train(MODEL, frames, CFG, run_dir=tmp_path, progress=False)
    assert b.seconds == 0 and b.resumed_from == 12 and b.losses == a.losses
    assert a.total_seconds == pytest.approx(a.seconds, rel=0.2) and b.total_seconds > 0, "training time survives loading"
    assert same(weights(a.model), weights(b.model))
    c = load_model(tmp_path)
    assert same(weights(a.model), weights(c))


def test_resume_after_interruption_matches_uninterrupted_run(frames, tmp_path):
    full = train(MODEL, frames, CFG, run_dir=tmp_path / "full", progress=False)

    def stop(step, loss):
        if step == 8:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        train(MODEL, frames, CFG, run_dir=tmp_path / "cut", progress=False, callback=stop)
    assert load_checkpoint(tmp_path / "cut")["step"] == 8, "the interrupt saves the work done so far"
    resumed = train(MODEL, frames, CFG, run_dir=tmp_path / "cut", progress=False)
    assert resumed.resumed_from == 8
    assert same(weights(full.model), weights(resumed.model))
    assert resumed.losses == pytest.approx(full.losses)


def test_nan_loss_stops_and_keeps_last_good_checkpoint(frames, tmp_path):
    model = MODEL

    def poison(step, loss):
        if step == 6:  # after the checkpoint at step 4
            p = next(iter(poisoned["model"].parameters()))
            with torch.no_grad():
                p.fill_(float("nan"))

    from gruae.models import build_model

    poisoned = {"model": build_model(model)}
    with pytest.raises(TrainingError, match="NaN|nan"):
        train(poisoned["model"], frames, CFG, run_dir=tmp_path, progress=False, callback=poison)
    ckpt = load_checkpoint(tmp_path)
    assert ckpt["step"] == 4
    assert all(torch.isfinite(v).all() for v in ckpt["model"].values() if v.is_floating_point())


def test_checkpoint_of_another_config_is_refused(frames, tmp_path):
    train(MODEL, frames, CFG, run_dir=tmp_path, progress=False)
    other = TrainConfig(**{**CFG.__dict__, "lr": 1e-2})
    with pytest.raises(CheckpointError, match="another model or configuration"):
        train(MODEL, frames, other, run_dir=tmp_path, progress=False)
    with pytest.raises(CheckpointError, match="another model or configuration"):
        train(MODEL.replace(hidden=9), frames, CFG, run_dir=tmp_path, progress=False)


class Evil:
    def __reduce__(self):
        return (print, ("pwned",))


def test_crafted_pickle_checkpoint_is_refused(tmp_path, capsys):
    path = tmp_path / "checkpoint.pt"
    torch.save({"model": {}, "step": 1, "payload": Evil()}, path)
    with pytest.raises(CheckpointError, match="refused to load"):
        load_checkpoint(path)
    assert "pwned" not in capsys.readouterr().out
    (tmp_path / "junk.pt").write_bytes(b"not a checkpoint")
    with pytest.raises(CheckpointError, match="junk.pt: cannot read checkpoint"):
        load_checkpoint(tmp_path / "junk.pt")
    with pytest.raises(CheckpointError, match="no such checkpoint"):
        load_checkpoint(tmp_path / "missing.pt")


def test_checkpoint_write_is_atomic(frames, tmp_path, monkeypatch):
    train(MODEL, frames, CFG, run_dir=tmp_path, progress=False)
    before = (tmp_path / "checkpoint.pt").read_bytes()

    def boom(obj, f, *a, **k):
        f.write(b"half a checkpoint")
        raise OSError("disk full")

    monkeypatch.setattr(torch, "save", boom)
    longer = TrainConfig(**{**CFG.__dict__, "steps": 16})
    with pytest.raises(CheckpointError):  # other config: refused before anything is written
        train(MODEL, frames, longer, run_dir=tmp_path, progress=False)
    from gruae.training import _save_atomic

    with pytest.raises(OSError):
        _save_atomic({"x": 1}, tmp_path / "checkpoint.pt")
    assert (tmp_path / "checkpoint.pt").read_bytes() == before


def test_fit_names_run_by_config_and_reuses_it(frames, tmp_path):
    a = fit(MODEL, frames, CFG, name="t", root=tmp_path, progress=False)
    assert a.run_dir.parent == tmp_path / "checkpoints" and a.run_dir.name.startswith("t-")
    b = fit(MODEL, frames, CFG, name="t", root=tmp_path, progress=False)
    assert b.seconds == 0 and b.run_dir == a.run_dir
    other = run_dir_for("t", MODEL.replace(latent=4), CFG, "x", tmp_path)
    assert other != run_dir_for("t", MODEL, CFG, "x", tmp_path)
    # presentation fields do not change the run
    assert run_dir_for("t", MODEL, CFG, "x", tmp_path) == run_dir_for(
        "t", MODEL, TrainConfig(**{**CFG.__dict__, "log_every": 3}), "x", tmp_path)


def test_late_config_fields_keep_older_runs_valid(frames, tmp_path):
    """`horizon` came after run folders existed: models it does not apply to keep their folders and
    checkpoints, and a predictor saved before it loads as what it was (next-frame, horizon 1)."""
    import dataclasses
    import hashlib
    import json

    older = {k: v for k, v in dataclasses.asdict(MODEL).items() if k != "horizon"}
    key = json.dumps([older, CFG.identity(), "x"], sort_keys=True, default=str)
    assert run_dir_for("t", MODEL, CFG, "x", tmp_path).name == f"t-{hashlib.sha256(key.encode()).hexdigest()[:10]}"
    pred = MODEL.replace(kind="gru_predict")
    assert run_dir_for("t", pred, CFG, "x", tmp_path) != run_dir_for("t", pred.replace(horizon=1), CFG, "x", tmp_path)

    r = train(pred.replace(horizon=1), frames, CFG, run_dir=tmp_path / "p", progress=False)
    ckpt = load_checkpoint(tmp_path / "p")
    del ckpt["model_config"]["horizon"]  # as written before the field existed
    torch.save(ckpt, tmp_path / "p" / "checkpoint.pt")
    old = load_model(tmp_path / "p")
    assert old.horizon == 1 and same(weights(old), weights(r.model))
    assert train(pred.replace(horizon=1), frames, CFG, run_dir=tmp_path / "p", progress=False).seconds == 0
    with pytest.raises(CheckpointError):  # the default horizon (2 here) is another model
        train(pred, frames, CFG, run_dir=tmp_path / "p", progress=False)


def test_short_videos_are_named(tmp_path):
    f = VideoFrames.from_videos([np.zeros((3, 16, 16), np.uint8)], ["tiny.avi"])
    from gruae.errors import DataError

    with pytest.raises(DataError, match="tiny.avi: video has 3 frames"):
        train(MODEL, f, CFG, progress=False)


def test_bf16_autocast_trains(frames):
    r = train(MODEL, frames, TrainConfig(**{**CFG.__dict__, "amp": "bf16", "steps": 4, "snapshot_at": ()}), progress=False)
    assert all(np.isfinite(r.losses))
