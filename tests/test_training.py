"""Tests for gruae.training: the loop, checkpoints, resume, the NaN guard, loading."""


import subprocess
import sys

import numpy as np
import pytest
import torch

from gruae.data import VideoFrames
from gruae.errors import CheckpointError, TrainingError
from gruae.models import ModelConfig
from gruae.training import (TrainConfig, fit, join_machines, load_checkpoint, load_model, run_dir_for,
                            train)

MODEL = ModelConfig(size=16, widths=(4, 8), latent=8, hidden=8, clip_frames=4)
CFG = TrainConfig(steps=12, batch=2, lr=3e-3, warmup=2, log_every=2, checkpoint_every=4,
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


def test_a_loaded_run_reports_the_precision_it_trained_in(frames, tmp_path):
    a = train(MODEL, frames, CFG, run_dir=tmp_path, progress=False)
    assert a.precision == "fp32"
    ckpt = load_checkpoint(tmp_path)
    torch.save({**ckpt, "precision": "bf16"}, tmp_path / "checkpoint.pt")  # as if trained on a bf16 CPU
    b = train(MODEL, frames, CFG, run_dir=tmp_path, progress=False)  # loaded here, in float32
    assert b.seconds == 0 and b.precision == "bf16", "a loaded run says what it trained in, not this machine"


def interrupted(frames, run_dir, at=8):
    """Train CFG into ``run_dir``, interrupted (as by Ctrl-C) at step ``at``."""
    def stop(step, loss):
        if step == at:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        train(MODEL, frames, CFG, run_dir=run_dir, progress=False, callback=stop)


def test_a_run_resumed_on_another_machine_names_both(frames, tmp_path):
    from gruae.devices import describe_device

    interrupted(frames, tmp_path)
    here, ckpt = describe_device("cpu"), load_checkpoint(tmp_path)
    assert ckpt["device"] == here
    torch.save({**ckpt, "device": "Other CPU"}, tmp_path / "checkpoint.pt")  # as if trained there
    train(MODEL, frames, CFG, run_dir=tmp_path, progress=False)
    assert load_checkpoint(tmp_path)["device"] == f"Other CPU; {here}", "its minutes were spent on both"


def test_join_machines_keeps_the_order_and_each_machine_once():
    assert join_machines(None, "B") == "B" and join_machines("", "B") == "B"
    assert join_machines("A", "B") == "A; B" and join_machines("A; B", "B") == "A; B"
    assert join_machines("A; B", "A") == "A; B" and join_machines("A", "B; C") == "A; B; C"


def test_resume_after_interruption_matches_uninterrupted_run(frames, tmp_path):
    full = train(MODEL, frames, CFG, run_dir=tmp_path / "full", progress=False)
    interrupted(frames, tmp_path / "cut")
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


def test_run_identity_is_salted_and_old_checkpoints_fail_clearly(frames, tmp_path):
    import dataclasses
    import hashlib
    import json

    from gruae.training import IDENTITY_VERSION

    key = json.dumps([IDENTITY_VERSION, dataclasses.asdict(MODEL), CFG.identity(), "x"], sort_keys=True, default=str)
    assert run_dir_for("t", MODEL, CFG, "x", tmp_path).name == f"t-{hashlib.sha256(key.encode()).hexdigest()[:10]}"
    train(MODEL, frames, CFG, run_dir=tmp_path / "r", progress=False)
    ckpt = load_checkpoint(tmp_path / "r")
    assert ckpt["identity_version"] == IDENTITY_VERSION and ckpt["precision"] == "fp32"
    del ckpt["identity_version"]  # as an older gruae wrote it
    torch.save(ckpt, tmp_path / "r" / "checkpoint.pt")
    with pytest.raises(CheckpointError, match="checkpoint.pt: saved by an older gruae .*retrain"):
        load_model(tmp_path / "r")


def test_checkpoint_from_another_device_type_resumes(frames, tmp_path):
    """A run saved on a GPU carries a CUDA generator state (16 bytes, not a CPU generator's 5056):
    it resumes here with a freshly seeded sampler instead of failing."""
    full = train(MODEL, frames, CFG, run_dir=tmp_path / "full", progress=False)
    interrupted(frames, tmp_path / "gpu")
    ckpt = load_checkpoint(tmp_path / "gpu")
    ckpt["sampler_rng"] = torch.zeros(16, dtype=torch.uint8)  # the shape of a CUDA generator's state
    ckpt["cuda_rng"] = torch.zeros(16, dtype=torch.uint8)
    torch.save(ckpt, tmp_path / "gpu" / "checkpoint.pt")
    resumed = train(MODEL, frames, CFG, run_dir=tmp_path / "gpu", progress=False)
    assert resumed.resumed_from == 8 and len(resumed.losses) == len(full.losses)
    assert all(np.isfinite(resumed.losses))
    # a finished run restores nothing but its weights, whatever states it holds
    ckpt = load_checkpoint(tmp_path / "full")
    ckpt["sampler_rng"], ckpt["optimizer"] = torch.zeros(16, dtype=torch.uint8), {"corrupt": True}
    torch.save(ckpt, tmp_path / "full" / "checkpoint.pt")
    again = train(MODEL, frames, CFG, run_dir=tmp_path / "full", progress=False)
    assert again.seconds == 0 and same(weights(again.model), weights(full.model))


def test_resumed_optimizer_keeps_this_device_s_implementation():
    from gruae.training import _load_optimizer

    w = [torch.nn.Parameter(torch.zeros(3))]
    saved = torch.optim.Adam(w, lr=1e-3, foreach=False).state_dict()  # as another device wrote it
    here = torch.optim.Adam(w, lr=1e-3, foreach=True)
    _load_optimizer(here, saved)
    assert here.param_groups[0]["foreach"] is True


def test_sampling_needs_no_host_synchronisation(frames):
    """What would stall a GPU (a tensor read back by Python: item, nonzero...) never happens in a
    training step's data path; on CUDA the same is asserted with torch.cuda.set_sync_debug_mode."""
    from torch.utils._python_dispatch import TorchDispatchMode

    class Syncs(TorchDispatchMode):
        def __init__(self):
            super().__init__()
            self.ops = []

        def __torch_dispatch__(self, func, types, args=(), kwargs=None):
            if func in (torch.ops.aten._local_scalar_dense.default, torch.ops.aten.nonzero.default,
                        torch.ops.aten.is_nonzero.default):
                self.ops.append(str(func))
            return func(*args, **(kwargs or {}))

    gen = torch.Generator().manual_seed(0)
    with Syncs() as mode:
        frames.clips(frames.sample(4, 4, gen))
    assert mode.ops == []
    if torch.cuda.is_available():
        on_gpu = frames.to("cuda")
        g = torch.Generator(device="cuda").manual_seed(0)
        torch.cuda.set_sync_debug_mode("error")
        try:
            on_gpu.clips(on_gpu.sample(4, 4, g))
        finally:
            torch.cuda.set_sync_debug_mode(0)


def test_precision_choice_follows_the_hardware(monkeypatch):
    from gruae import devices

    monkeypatch.setattr(devices, "cpu_has_native_bf16", lambda: False)
    monkeypatch.setattr(devices, "cpu_has_avx512", lambda: False)
    assert devices.choose_precision("cpu", "auto") == "fp32"  # emulated bf16 is ~5x slower: never chosen
    assert not devices.channels_last_helps("cpu", "fp32")  # an AVX2 CPU
    monkeypatch.setattr(devices, "cpu_has_avx512", lambda: True)
    assert devices.channels_last_helps("cpu", "fp32")  # oneDNN's AVX-512 float32 kernels prefer it
    assert devices.channels_last_helps("cuda", "fp32") and not devices.channels_last_helps("mps", "fp32")
    monkeypatch.setattr(devices, "cpu_has_native_bf16", lambda: True)
    assert devices.choose_precision("cpu", "auto") == "bf16" and devices.channels_last_helps("cpu", "bf16")
    monkeypatch.setattr(devices, "cuda_capability", lambda device="cuda": (7, 5))  # a T4
    assert devices.choose_precision("cuda", "auto") == "fp16"
    monkeypatch.setattr(devices, "cuda_capability", lambda device="cuda": (9, 0))  # an H100
    assert devices.choose_precision("cuda", "auto") == "bf16"
    assert devices.choose_precision("cuda", "off") == "fp32" and devices.choose_precision("mps", "auto") == "fp32"
    with pytest.raises(ValueError, match="needs a CUDA device"):
        devices.choose_precision("cpu", "fp16")
    with pytest.raises(ValueError, match="amp must be one of"):
        devices.choose_precision("cpu", "half")


DENORMAL_PROBE = """
import sys, torch
torch.set_num_threads(2)
if sys.argv[1] == "flush":
    from gruae.devices import flush_denormals
    flush_denormals()
n = 1 << 22  # enough elements for both threads of the pool to take a share
x = torch.full((n,), 0x00100000, dtype=torch.int32).view(torch.float32)  # denormals, ~1.5e-39
print(int((x * 1.0).count_nonzero()))
"""


def test_flush_denormals_reaches_every_thread_when_made_first():
    def nonzero(how):
        out = subprocess.run([sys.executable, "-c", DENORMAL_PROBE, how], capture_output=True, text=True, check=True)
        return int(out.stdout)

    assert nonzero("keep") == 1 << 22  # by default denormals survive arithmetic (slowly)
    assert nonzero("flush") == 0  # in every thread: each one's share is zero


def test_progress_bar_kind_follows_the_environment(frames, monkeypatch, capsys):
    cfg = TrainConfig(**{**CFG.__dict__, "steps": 2, "snapshot_at": ()})
    monkeypatch.setenv("GRUAE_PROGRESS", "text")
    train(MODEL, frames, cfg, progress=True)
    out = capsys.readouterr()
    assert "training on cpu" in out.out and "2/2" in out.err  # the summary line, then a text bar
    monkeypatch.setenv("GRUAE_PROGRESS", "off")
    train(MODEL, frames, cfg, progress=True)
    out = capsys.readouterr()
    assert "training on cpu" in out.out and "2/2" not in out.err
    monkeypatch.setenv("GRUAE_PROGRESS", "widget")
    with pytest.raises(ValueError, match="GRUAE_PROGRESS='widget': choose one of auto, text, off"):
        train(MODEL, frames, cfg, progress=True)


def test_auto_precision_is_recorded_and_printed(frames, tmp_path, monkeypatch, capsys):
    from gruae import devices

    monkeypatch.setattr(devices, "cpu_has_native_bf16", lambda: False)
    monkeypatch.setattr(devices, "cpu_has_avx512", lambda: False)
    auto = TrainConfig(**{**CFG.__dict__, "amp": "auto", "steps": 2, "snapshot_at": ()})
    r = train(MODEL, frames, auto, run_dir=tmp_path, progress=True)
    assert r.precision == "fp32" and load_checkpoint(tmp_path)["precision"] == "fp32"
    assert "precision fp32, channels-last off" in capsys.readouterr().out


def test_compile_falls_back_to_eager_with_a_warning(frames, monkeypatch):
    class Broken(torch.nn.Module):
        def forward(self, x):
            raise RuntimeError("no C++ compiler")

    monkeypatch.setattr(torch, "compile", lambda model, **kw: Broken())
    eager = train(MODEL, frames, CFG, progress=False)
    with pytest.warns(RuntimeWarning, match="compile='graph' failed, training eagerly"):
        fell = train(MODEL, frames, TrainConfig(**{**CFG.__dict__, "compile": "graph"}), progress=False)
    assert same(weights(eager.model), weights(fell.model))


def test_compiled_step_matches_eager(frames, monkeypatch):
    real = torch.compile
    monkeypatch.setattr(torch, "compile", lambda model, **kw: real(model, backend="aot_eager"))  # no C++ needed
    eager = train(MODEL, frames, CFG, progress=False)
    compiled = train(MODEL, frames, TrainConfig(**{**CFG.__dict__, "compile": "compile"}), progress=False)
    assert compiled.losses == pytest.approx(eager.losses, rel=1e-4)


def test_short_videos_are_named(tmp_path):
    f = VideoFrames.from_videos([np.zeros((3, 16, 16), np.uint8)], ["tiny.avi"])
    from gruae.errors import DataError

    with pytest.raises(DataError, match="tiny.avi: video has 3 frames"):
        train(MODEL, f, CFG, progress=False)


def test_bf16_autocast_trains(frames):
    r = train(MODEL, frames, TrainConfig(**{**CFG.__dict__, "amp": "bf16", "steps": 4, "snapshot_at": ()}), progress=False)
    assert all(np.isfinite(r.losses))


def test_constant_rate_run_continues_for_more_steps(frames, tmp_path):
    const = TrainConfig(**{**CFG.__dict__, "schedule": "constant", "snapshot_at": ()})
    short = train(MODEL, frames, TrainConfig(**{**const.__dict__, "steps": 8}), run_dir=tmp_path / "c", progress=False)
    longer = train(MODEL, frames, const, run_dir=tmp_path / "c", progress=False)
    full = train(MODEL, frames, const, run_dir=tmp_path / "f", progress=False)
    assert short.resumed_from == 0 and longer.resumed_from == 8
    assert same(weights(longer.model), weights(full.model)), "8 + 4 steps equal 12 steps"
    assert const.identity() == TrainConfig(**{**const.__dict__, "steps": 99}).identity()
    assert CFG.identity() != TrainConfig(**{**CFG.__dict__, "steps": 99}).identity(), "cosine: steps matter"


def test_a_cool_down_ends_a_constant_rate_at_zero():
    from gruae.training import learning_rate

    cfg = TrainConfig(steps=100, lr=1e-3, schedule="constant", cooldown=10)
    rates = [learning_rate(cfg, s) for s in range(100)]
    assert rates[:91] == [1e-3] * 91 and rates[91:] == pytest.approx([1e-3 * k / 10 for k in range(9, 0, -1)])
    assert "cooldown" not in TrainConfig(schedule="constant").identity(), "runs without one keep their identity"
    assert cfg.identity() != TrainConfig(steps=99, lr=1e-3, schedule="constant", cooldown=10).identity()
    with pytest.raises(ValueError, match="constant schedule only"):
        learning_rate(TrainConfig(cooldown=10), 0)


def test_float16_path_scales_gradients_and_resumes(frames, tmp_path, monkeypatch):
    """Pre-Ampere GPUs (Colab's T4) train in float16 with a gradient scaler: the same code path,
    run here on the CPU (whose autocast and GradScaler accept float16 too)."""
    import gruae.training as training

    monkeypatch.setattr(training, "choose_precision", lambda device, amp: "fp16")
    r = train(MODEL, frames, CFG, run_dir=tmp_path, progress=False)
    assert r.precision == "fp16" and all(np.isfinite(r.losses))
    ckpt = load_checkpoint(tmp_path)
    assert ckpt["precision"] == "fp16" and ckpt["scaler"]["scale"] > 0


def test_training_leaves_cudnn_settings_as_it_found_them(frames):
    before = torch.backends.cudnn.benchmark
    train(MODEL, frames, TrainConfig(**{**CFG.__dict__, "steps": 2, "snapshot_at": ()}), progress=False)
    assert torch.backends.cudnn.benchmark == before


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_training_steps_never_wait_for_the_gpu(frames):
    """The number of host synchronisations does not grow with the number of steps: none per step."""
    import warnings

    def syncs(steps):
        cfg = TrainConfig(**{**CFG.__dict__, "steps": steps, "log_every": steps, "snapshot_at": (), "device": "cuda",
                             "checkpoint_every": 0})
        torch.cuda.set_sync_debug_mode("warn")
        try:
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")
                train(MODEL, frames, cfg, progress=False)
        finally:
            torch.cuda.set_sync_debug_mode(0)
        return sum("synchroniz" in str(w.message) for w in caught)

    assert syncs(8) == syncs(4)
