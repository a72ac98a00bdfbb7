"""Training: one loop for the notebooks and the command line.

:func:`train` runs Adam on the mean squared error between input clips and their
reconstructions, and takes care of what a reader should not have to write twice:

- a progress bar with the loss, and the loss history (recorded every ``log_every`` steps, the
  only moments the loop waits for the device);
- snapshot grids at chosen steps (input row above, output row below, as in the article's
  figures), saved as PNG;
- checkpoints holding the model, the optimiser, the step, the configuration and every random
  state, written atomically (write, then rename), so a run killed at any moment resumes from its
  last checkpoint and an interrupted write never corrupts the previous one;
- a NaN or infinite loss stops with :class:`~gruae.errors.TrainingError` and keeps the last
  good checkpoint;
- the fastest precision the hardware runs natively (:mod:`gruae.devices`: bf16 where it is native,
  float16 with a gradient scaler on older GPUs, else float32), printed and recorded;
- on CUDA: frames resident on the GPU as uint8, channels-last, a fused optimiser, cuDNN's
  autotuner, no host synchronisation inside a step, and optionally a compiled or CUDA-graphed step.

Checkpoints are portable: one saved on a GPU loads and resumes on a CPU and the reverse.

:func:`fit` adds "load it if it exists, else train": the package's pretrained weights for this
model and data (:mod:`gruae.shipped`), else the checkpoint of an earlier run of this exact
configuration (the run folder is named after a hash of the model, training and data
configuration), else a new run.

Nothing here changes global state: random numbers come from generators owned by the run, and
:func:`torch.random.fork_rng` isolates the model's own draws.
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import json
import math
import os
import pickle
import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from . import shipped
from .data import VideoFrames, to_uint8
from .devices import autocast, channels_last_helps, choose_precision, describe_device, resolve_device
from .download import data_dir
from .errors import CheckpointError, TrainingError
from .models import ModelConfig, build_model, clip_channels_last, clip_frames_of, model_channels_last

__all__ = ["TrainConfig", "TrainResult", "train", "fit", "fit_all", "load_checkpoint", "load_model",
           "resolve_device", "run_dir_for", "snapshot_grid", "learning_rate", "IDENTITY_VERSION", "fit_early", "train_early",
           "COMPILE_CHOICES"]

CHECKPOINT = "checkpoint.pt"

IDENTITY_VERSION = 2
"""Salt of every run identity and checkpoint: raised whenever the meaning of a saved configuration
changes, so runs of an older gruae are never mistaken for today's (1: until configs were frozen and
the clip length moved into ``ModelConfig.clip_frames``)."""

COMPILE_CHOICES = ("off", "compile", "graph")
"""``TrainConfig.compile``: eager; ``torch.compile``; ``torch.compile(mode="reduce-overhead")``,
which on CUDA replays the model's forward and backward as CUDA graphs."""


@dataclass(frozen=True)
class TrainConfig:
    """How to train. Every field changes the run folder's hash, except the presentation ones.

    The clip length T is the model's (``ModelConfig.clip_frames``): it is not repeated here.
    """

    steps: int = 1000  # optimiser steps (the article's "iterations")
    batch: int = 8  # clips per step, B
    lr: float = 1e-3  # Adam learning rate (peak, when a schedule is used)
    weight_decay: float = 1e-5  # Adam weight decay (the article's 1e-5)
    schedule: str = "cosine"  # "constant", or "cosine": linear warm-up then cosine decay to lr/20
    warmup: int = 50  # warm-up steps of the cosine schedule
    cooldown: int = 0  # constant schedule: the last k of `steps` decay the rate linearly to 0
    seed: int = 0  # seeds the model's initial weights and the clip sampler
    amp: str = "auto"  # "auto" (fastest native: gruae.devices.choose_precision), "bf16", "fp16" (CUDA), "off" (float32)
    channels_last: bool | None = None  # channels-last memory format; None: where it helps (gruae.devices)
    compile: str = "off"  # "off", "compile" (torch.compile) or "graph" (CUDA graphs); falls back to eager
    log_every: int = 25  # record the mean loss every k steps (the loop syncs only then)
    checkpoint_every: int = 250  # write a checkpoint every k steps (and at the end); 0 = end only
    snapshot_at: tuple[int, ...] = ()  # steps at which to save an input/output grid (0 = untrained)
    snapshot_clips: int = 4  # clips shown in a snapshot grid
    device: str = "auto"  # "auto" (cuda, then mps, then cpu), or a torch device string

    def identity(self) -> dict:
        """The fields that decide the trained weights (presentation fields left out).

        Under the constant schedule without a cool-down the weights after k steps do not depend
        on ``steps`` (nor on ``warmup``, which it ignores), so those are left out too: a finished
        constant-rate run can be continued for more steps (what ``python -m gruae pretrain`` does
        at each doubling). ``cooldown`` is left out when 0, so older run identities stay valid.
        """
        d = dataclasses.asdict(self)
        drop = ["log_every", "checkpoint_every", "snapshot_at", "snapshot_clips", "device", "compile", "channels_last"]
        if self.schedule == "constant":
            drop += ["warmup"] if self.cooldown else ["warmup", "steps"]
        if not self.cooldown:
            drop.append("cooldown")
        for k in drop:
            d.pop(k)
        return d


@dataclass
class TrainResult:
    """What :func:`train` returns."""

    model: nn.Module  # the trained model, in eval mode, on the training device
    steps: list[int]  # steps at which the loss was recorded
    losses: list[float]  # mean training loss over the `log_every` steps ending at each recorded step
    snapshots: dict[int, np.ndarray] = field(default_factory=dict)  # step -> uint8 grid (H, W)
    run_dir: Path | None = None  # where checkpoints and snapshots live (None: not saved)
    seconds: float = 0.0  # wall-clock seconds spent training in this call (0 when loaded)
    total_seconds: float = 0.0  # wall-clock seconds of training over all calls (kept in the checkpoint)
    resumed_from: int = 0  # step the run started from (0 = fresh start)
    device: str = "cpu"  # device the model trained on
    precision: str = "fp32"  # "bf16", "fp16" or "fp32": what the steps ran in (a loaded run's: its checkpoint's)
    pretrained: str | None = None  # the shipped weights it was loaded from (gruae.shipped), or None


def learning_rate(cfg: TrainConfig, step: int) -> float:
    """Learning rate at ``step`` (stateless, so resuming needs no scheduler state).

    The constant schedule with a ``cooldown`` of k steps is warm-up-stable-decay without the
    warm-up (Hägele et al., 2024, "Scaling laws and compute-optimal training beyond fixed training
    durations"): ``lr`` until the last k steps, then a straight line down to 0. It lets a
    constant-rate run be continued as long as it gains, and still end where a decayed schedule does,
    instead of at whichever noisy point the constant rate left the weights.

    Args:
        cfg: the training configuration (``lr``, ``schedule``, ``warmup``, ``steps``, ``cooldown``).
        step: the optimiser step, from 0.

    Returns:
        The learning rate.
    """
    if cfg.cooldown and cfg.schedule != "constant":
        raise ValueError(f"cooldown applies to the constant schedule only, not {cfg.schedule!r}")
    if cfg.schedule == "constant":
        left = cfg.steps - step  # steps still to take, this one included
        return cfg.lr * min(1.0, left / cfg.cooldown) if cfg.cooldown else cfg.lr
    if cfg.schedule != "cosine":
        raise ValueError(f"schedule must be 'constant' or 'cosine', got {cfg.schedule!r}")
    if step < cfg.warmup:
        return cfg.lr * (step + 1) / cfg.warmup
    t = (step - cfg.warmup) / max(1, cfg.steps - cfg.warmup)
    return cfg.lr * (0.05 + 0.95 * 0.5 * (1 + math.cos(math.pi * min(t, 1.0))))


# --------------------------------------------------------------------------- checkpoints
def _config_of(model: nn.Module) -> dict | None:
    """The model's ModelConfig as a plain dict, if it has one."""
    cfg = getattr(model, "cfg", None)
    return dataclasses.asdict(cfg) if isinstance(cfg, ModelConfig) else None


def _fingerprint(frames: VideoFrames) -> str:
    """A short hash of the training frames, so a checkpoint is tied to its data."""
    h = hashlib.blake2b(digest_size=8)
    h.update(str((tuple(frames.pixels.shape), frames.lengths.tolist())).encode())
    h.update(frames.pixels.cpu().numpy().tobytes())
    return h.hexdigest()


def run_dir_for(name: str, model_cfg: ModelConfig, train_cfg: TrainConfig, data_id: str,
                root: str | os.PathLike | None = None) -> Path:
    """The run folder of a configuration: ``<root>/checkpoints/<name>-<hash>``.

    Args:
        name: a readable prefix (for example ``"gruae-actions"``).
        model_cfg: the model configuration.
        train_cfg: the training configuration.
        data_id: a string identifying the training data (see :func:`fit`).
        root: the data folder (default: ``$GRUAE_DATA`` or ``data``).

    Returns:
        The folder path (not created).
    """
    root = data_dir() if root is None else Path(root)
    key = json.dumps([IDENTITY_VERSION, dataclasses.asdict(model_cfg), train_cfg.identity(), data_id],
                     sort_keys=True, default=str)
    return root / "checkpoints" / f"{name}-{hashlib.sha256(key.encode()).hexdigest()[:10]}"


def _save_atomic(obj: Any, path: Path) -> None:
    """torch.save to ``path.tmp``, fsync, then rename over ``path``."""
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "wb") as f:
        torch.save(obj, f)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


def load_checkpoint(path: str | os.PathLike) -> dict:
    """Load a checkpoint without running any code from it (``weights_only=True``).

    Args:
        path: a ``checkpoint.pt`` file, or a run folder holding one.

    Returns:
        The checkpoint dictionary (tensors on the CPU).

    Raises:
        CheckpointError: missing, truncated, not a gruae checkpoint, or holding objects other
            than tensors and plain Python values (a pickle that could run code is refused).
    """
    path = Path(path)
    if path.is_dir():
        path = path / CHECKPOINT
    if not path.is_file():
        raise CheckpointError(path, "no such checkpoint file")
    try:
        ckpt = torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as e:
        why = next((ln.strip() for ln in str(e).splitlines() if "Unsupported global" in ln), None)
        if why is None:
            raise CheckpointError(path, "cannot read checkpoint (truncated, or not a torch checkpoint)") from e
        raise CheckpointError(path, f"refused to load: it holds objects other than tensors and plain values, "
                                    f"which could run code ({why[:160]})") from e
    except Exception as e:  # truncated zip, not a torch file...
        raise CheckpointError(path, f"cannot read checkpoint ({type(e).__name__}: {str(e).splitlines()[0][:160] if str(e) else ''})") from e
    if not isinstance(ckpt, dict) or "model" not in ckpt or "step" not in ckpt:
        raise CheckpointError(path, "not a gruae checkpoint (no 'model' and 'step' entries)")
    version = ckpt.get("identity_version", 1)
    if version != IDENTITY_VERSION:
        raise CheckpointError(path, f"saved by a{'n older' if version < IDENTITY_VERSION else ' newer'} gruae "
                                    f"(checkpoint format {version}, this gruae reads {IDENTITY_VERSION}); "
                                    "retrain it with this version, or load it with the gruae that wrote it")
    return ckpt


def load_model(path: str | os.PathLike, device: str | torch.device = "cpu") -> nn.Module:
    """Rebuild a model from a checkpoint's saved configuration and load its weights.

    Args:
        path: a ``checkpoint.pt`` or a run folder.
        device: where to put the model.

    Returns:
        The model in eval mode.
    """
    ckpt = load_checkpoint(path)
    mcfg = ckpt.get("model_config")
    if mcfg is None:
        raise CheckpointError(path, "checkpoint has no model configuration; build the model yourself and load_state_dict")
    model = build_model(_model_config_from(mcfg))
    try:
        model.load_state_dict(ckpt["model"])
    except RuntimeError as e:
        raise CheckpointError(path, f"weights do not fit the saved configuration ({str(e).splitlines()[0][:160]})") from e
    return model.to(device).eval()


def _model_config_from(d: dict) -> ModelConfig:
    """ModelConfig from a saved dict (lists back to tuples)."""
    return ModelConfig(**{k: tuple(v) if isinstance(v, list) else v for k, v in d.items()})


# --------------------------------------------------------------------------- snapshots
def snapshot_grid(inputs: torch.Tensor, outputs: torch.Tensor) -> np.ndarray:
    """Tile clips into one image: for each clip, the input frames in a row, the output below.

    Args:
        inputs: float ``(N, T, C, H, W)`` in ``[-1, 1]``.
        outputs: float ``(N, T, C, H, W)`` in ``[-1, 1]``.

    Returns:
        uint8 ``(2*N*H + N - 1, T*W)`` grid (a 1-pixel white line between clips; first channel).
    """
    rows = []
    for x, y in zip(to_uint8(inputs)[:, :, 0], to_uint8(outputs)[:, :, 0]):  # (T, H, W) each
        pair = torch.cat([torch.cat(list(x), 1), torch.cat(list(y), 1)], 0)  # (2H, T*W)
        if rows:
            rows.append(torch.full((1, pair.shape[1]), 255, dtype=torch.uint8))
        rows.append(pair.cpu())
    return torch.cat(rows, 0).numpy()


def _save_png(img: np.ndarray, path: Path) -> None:
    """Write a uint8 grey image as PNG, atomically."""
    from PIL import Image

    tmp = path.with_name(path.name + ".tmp")
    Image.fromarray(img).save(tmp, format="PNG")
    os.replace(tmp, path)


# --------------------------------------------------------------------------- the loop
def train(
    model: nn.Module | ModelConfig,
    frames: VideoFrames,
    cfg: TrainConfig = TrainConfig(),
    *,
    run_dir: str | os.PathLike | None = None,
    resume: bool = True,
    progress: bool = True,
    callback: Callable[[int, float], None] | None = None,
) -> TrainResult:
    """Train a model to reconstruct clips of ``frames``.

    Args:
        model: a model mapping ``(B, T, C, H, W)`` to the same shape, or a
            :class:`~gruae.models.ModelConfig` to build one (seeded by ``cfg.seed``). Clips have
            the model's length T (:func:`~gruae.models.clip_frames_of`).
        frames: the training videos (uint8, on any device; moved to the training device).
        cfg: the training configuration.
        run_dir: folder for checkpoints and snapshot PNGs; ``None`` keeps everything in memory.
        resume: continue from ``run_dir``'s checkpoint when there is one (a finished run is
            just loaded). A checkpoint written on another device type resumes too.
        progress: show a progress bar with the loss (its kind: ``$GRUAE_PROGRESS``, ``auto``,
            ``text`` or ``off``), and one line saying where and in what precision the model trains.
        callback: called as ``callback(step, loss)`` at every recorded loss.

    Returns:
        A :class:`TrainResult` with the trained model in eval mode.

    Raises:
        TrainingError: the loss became NaN or infinite (the last good checkpoint is kept).
        CheckpointError: ``run_dir`` holds a checkpoint of another model or configuration.
        DataError: a video is shorter than the clip length T.
    """
    device = resolve_device(cfg.device)
    if cfg.compile not in COMPILE_CHOICES:
        raise ValueError(f"compile must be one of {', '.join(COMPILE_CHOICES)}, got {cfg.compile!r}")
    precision = choose_precision(device, cfg.amp)
    with torch.random.fork_rng(devices=[device] if device.type == "cuda" else []):
        torch.manual_seed(cfg.seed)
        if isinstance(model, ModelConfig):
            model = build_model(model)
        frames.check_clip_length(clip_frames_of(model))
        with _cudnn_benchmark(device.type == "cuda"):
            return _train(model, frames, cfg, device, precision, run_dir, resume, progress, callback)


@contextlib.contextmanager
def _cudnn_benchmark(on: bool):
    """Let cuDNN pick the fastest convolution algorithms (clip shapes never change), then restore."""
    before = torch.backends.cudnn.benchmark
    torch.backends.cudnn.benchmark = on or before
    try:
        yield
    finally:
        torch.backends.cudnn.benchmark = before


def _restore_generator(gen: torch.Generator, state: torch.Tensor | None, reseed: int) -> bool:
    """Set ``gen`` to a saved state when it fits this generator's device type, else reseed it.

    A CPU generator's state and a CUDA one's differ in size, so a run saved on one device type
    continues on the other with a fresh, deterministic stream. Returns True when restored.
    """
    if state is not None and state.numel() == gen.get_state().numel():
        gen.set_state(state)
        return True
    gen.manual_seed(reseed)
    return False


def join_machines(earlier: str | None, now: str) -> str:
    """The machines a run trained on, in order, each once: ``"A; B"`` when it went on from A on B.

    A checkpoint's ``device`` says where its training time was spent; a run resumed on another
    machine keeps the earlier one in front (its minutes are the sum of both).
    """
    names = [m for m in (earlier or "").split("; ") if m]
    return "; ".join(names + [m for m in now.split("; ") if m and m not in names])


def _load_optimizer(opt: torch.optim.Optimizer, state: dict) -> None:
    """Load an optimiser state, keeping this device's implementation flags (fused Adam on CUDA)."""
    flags = [{k: g.get(k) for k in ("fused", "foreach", "capturable")} for g in opt.param_groups]
    opt.load_state_dict(state)
    for g, f in zip(opt.param_groups, flags):
        g.update(f)


def _compiled(model: nn.Module, how: str) -> nn.Module:
    """The model as ``TrainConfig.compile`` asks (``"off"``: the model itself)."""
    if how == "off":
        return model
    return torch.compile(model, mode="reduce-overhead" if how == "graph" else None)


PROGRESS_STYLES = ("auto", "text", "off")
"""Values of ``$GRUAE_PROGRESS``, the kind of progress bar training shows (see :func:`train`)."""


def _progress_bar(**kw):
    """A tqdm bar of the kind ``$GRUAE_PROGRESS`` names, or None for ``off``.

    ``auto`` (the default) is a widget in Jupyter and Colab and text elsewhere; ``text`` is always
    text; ``off`` shows none. The book's builds use ``off``: executing a notebook
    whose cells update widgets has been seen to stall nbclient (jupyter/nbclient#312), and a bar
    saved into a web page tells nothing.
    """
    style = os.environ.get("GRUAE_PROGRESS", "auto")
    if style not in PROGRESS_STYLES:
        raise ValueError(f"GRUAE_PROGRESS={style!r}: choose one of {', '.join(PROGRESS_STYLES)}")
    if style == "off":
        return None
    if style == "auto":
        from tqdm.auto import tqdm
    else:
        from tqdm.std import tqdm
    return tqdm(unit="it", leave=True, **kw)


def _train(model, frames, cfg, device, precision, run_dir, resume, progress, callback) -> TrainResult:
    """The body of :func:`train`, run inside a forked RNG state."""
    run_dir = None if run_dir is None else Path(run_dir)
    T = clip_frames_of(model)
    ident = {"model_config": _config_of(model), "train_config": cfg.identity(), "model_class": type(model).__name__}
    channels_last = channels_last_helps(device, precision) if cfg.channels_last is None else cfg.channels_last
    model = model.to(device)
    if channels_last:
        model = model_channels_last(model)
    opt_kw = {"fused": True} if device.type == "cuda" else {}
    opt = torch.optim.Adam(model.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay, **opt_kw)
    scaler = torch.amp.GradScaler(device.type, enabled=precision == "fp16")  # float16 gradients underflow
    gen = torch.Generator(device=device).manual_seed(cfg.seed)  # the clip sampler's own generator
    data = frames.to(device)
    # fixed clips for snapshots, drawn from their own generator so they never shift training
    snap_gen = torch.Generator(device=device).manual_seed(cfg.seed + 1)
    snap_index = data.sample(cfg.snapshot_clips, T, snap_gen)
    steps_log: list[int] = []
    losses: list[float] = []
    snapshots: dict[int, np.ndarray] = {}
    start = 0
    seconds_before = 0.0  # training time of earlier calls, from the checkpoint
    machines = describe_device(device)  # every machine the run has trained on, in order
    reported = precision  # the precision the result reports

    if run_dir is not None and resume and (run_dir / CHECKPOINT).exists():
        ckpt = load_checkpoint(run_dir / CHECKPOINT)
        saved = {k: ckpt.get(k) for k in ident}
        if json.loads(json.dumps(saved, default=str)) != json.loads(json.dumps(ident, default=str)):
            raise CheckpointError(run_dir / CHECKPOINT, "checkpoint belongs to another model or configuration; "
                                  "use another run folder or delete it")
        model.load_state_dict(ckpt["model"])
        start = int(ckpt["step"])
        if start < cfg.steps:  # an unfinished run: restore everything that fits this device
            _load_optimizer(opt, ckpt["optimizer"])
            if ckpt.get("scaler"):
                scaler.load_state_dict(ckpt["scaler"])
            _restore_generator(gen, ckpt["sampler_rng"], reseed=cfg.seed + start)
            torch.set_rng_state(ckpt["torch_rng"])
            if device.type == "cuda" and ckpt.get("cuda_rng") is not None:
                torch.cuda.set_rng_state(ckpt["cuda_rng"])
        seconds_before = float(ckpt.get("train_seconds", 0.0))
        if start >= cfg.steps:  # nothing left to train: say what the run trained in, not this machine
            reported = ckpt.get("precision") or reported
        machines = join_machines(ckpt.get("device"), machines)
        steps_log, losses = list(ckpt["history_steps"]), list(ckpt["history_losses"])
        for p in sorted(run_dir.glob("snapshot_*.png")):
            snapshots[int(p.stem.split("_")[1])] = np.asarray(_read_png(p))

    def save(step: int) -> None:
        if run_dir is None:
            return
        for p in model.parameters():
            if not torch.isfinite(p).all():
                raise TrainingError(f"weights became NaN or infinite before step {step}; kept the last good "
                                    f"checkpoint in {run_dir}; try a lower learning rate")
        run_dir.mkdir(parents=True, exist_ok=True)
        _save_atomic({
            **ident, "identity_version": IDENTITY_VERSION, "step": step, "model": model.state_dict(),
            "optimizer": opt.state_dict(), "scaler": scaler.state_dict() if scaler.is_enabled() else None,
            "sampler_rng": gen.get_state().cpu(), "torch_rng": torch.get_rng_state(),
            "cuda_rng": torch.cuda.get_rng_state() if device.type == "cuda" else None,
            "history_steps": steps_log, "history_losses": losses, "torch_version": str(torch.__version__),
            "train_seconds": seconds_before + time.perf_counter() - t0,
            "device": machines, "precision": precision, "channels_last": channels_last,
        }, run_dir / CHECKPOINT)

    def snapshot(step: int) -> None:
        was = model.training
        model.eval()
        with torch.no_grad(), autocast(device, precision):
            x = data.clips(snap_index)
            y = model(x).float()
        model.train(was)
        snapshots[step] = snapshot_grid(x, y)
        if run_dir is not None:
            run_dir.mkdir(parents=True, exist_ok=True)
            _save_png(snapshots[step], run_dir / f"snapshot_{step:06d}.png")

    def forward_loss(net: nn.Module, x: torch.Tensor) -> torch.Tensor:
        with autocast(device, precision):
            y = net(x)
        return F.mse_loss(y.float(), x)

    net = _compiled(model, cfg.compile)
    bar = None
    if progress and start < cfg.steps:
        print(f"{type(model).__name__}: training on {device} ({describe_device(device)}), precision {precision}, "
              f"channels-last {'on' if channels_last else 'off'}"
              + (f", {cfg.compile}" if cfg.compile != "off" else ""))
        bar = _progress_bar(total=cfg.steps, initial=start, desc=type(model).__name__)
    t0 = time.perf_counter()
    running = torch.zeros((), device=device)
    n_running = 0
    step = start
    in_update = False
    model.train()
    try:
        while step < cfg.steps:
            if step in cfg.snapshot_at and step not in snapshots:
                snapshot(step)
            for g in opt.param_groups:
                g["lr"] = learning_rate(cfg, step)
            x = data.clips(data.sample(cfg.batch, T, gen))  # (B, T, C, H, W) in [-1, 1]
            if channels_last and x.shape[2] > 1:
                x = clip_channels_last(x)
            in_update = True
            if net is not model and step == start:  # the first compiled call compiles: fall back if it fails
                try:
                    loss = forward_loss(net, x)
                except Exception as e:  # noqa: BLE001 (any compiler or capture failure)
                    warnings.warn(f"compile={cfg.compile!r} failed, training eagerly instead "
                                  f"({type(e).__name__}: {str(e).splitlines()[0][:200] if str(e) else ''})",
                                  RuntimeWarning, stacklevel=3)
                    net = model
                    loss = forward_loss(net, x)
            else:
                loss = forward_loss(net, x)
            opt.zero_grad(set_to_none=True)
            scaler.scale(loss).backward()
            scaler.step(opt)
            scaler.update()
            in_update = False
            running += loss.detach()
            n_running += 1
            step += 1
            if step % cfg.log_every == 0 or step == cfg.steps:
                mean = float(running) / n_running  # the one host sync
                if not math.isfinite(mean):
                    raise TrainingError(f"loss became {mean} between steps {step - n_running} and {step}; "
                                        + (f"kept the last good checkpoint in {run_dir}; " if run_dir else "")
                                        + "try a lower learning rate or check the input for NaN")
                steps_log.append(step)
                losses.append(mean)
                running.zero_()
                n_running = 0
                if bar is not None:
                    bar.update(step - bar.n)
                    bar.set_postfix(loss=f"{mean:.4f}")
                if callback is not None:
                    callback(step, mean)
            if cfg.checkpoint_every and step % cfg.checkpoint_every == 0 and step < cfg.steps and n_running == 0:
                save(step)
        if step in cfg.snapshot_at and step not in snapshots:
            snapshot(step)
        if start < cfg.steps or not (run_dir and (run_dir / CHECKPOINT).exists()):
            save(step)
    except KeyboardInterrupt:
        if not in_update and n_running == 0 and step > start:
            save(step)  # keep the work done so far; the next call resumes here
        raise
    finally:
        if bar is not None:
            bar.close()
    model.eval()
    seconds = time.perf_counter() - t0 if step > start else 0.0
    return TrainResult(model, steps_log, losses, snapshots, run_dir, seconds, seconds_before + seconds, start,
                       str(device), reported)


def _read_png(path: Path):
    """Read a PNG as a uint8 array."""
    from PIL import Image

    with Image.open(path) as im:
        return np.asarray(im.convert("L"))


def fit(
    model_cfg: ModelConfig,
    frames: VideoFrames,
    cfg: TrainConfig = TrainConfig(),
    *,
    name: str = "gruae",
    data_id: str | None = None,
    root: str | os.PathLike | None = None,
    progress: bool = True,
    pretrained: bool = True,
) -> TrainResult:
    """The trained model for this configuration: shipped weights, a finished run, or a new run.

    In that order: the package's pretrained weights when they were trained with this model
    configuration on this data (:func:`gruae.shipped.find`; one line says so); else the
    checkpoint of an earlier run of this exact configuration in the run folder
    :func:`run_dir_for` ``(name, model_cfg, cfg, data_id)``, so chapters that ask for the same
    model on the same data share one training run and an interrupted run resumes; else it trains.

    Args:
        model_cfg: the model to build.
        frames: the training videos.
        cfg: the training configuration (not used when shipped weights are loaded).
        name: readable prefix of the run folder.
        data_id: identifies the training data (default: ``frames.source``, which the book's datasets
            set, else a hash of the frames themselves).
        root: the data folder (default ``$GRUAE_DATA`` or ``data``).
        progress: show a progress bar while training.
        pretrained: use shipped weights when they match; ``False`` (or the environment variable
            ``GRUAE_RETRAIN=1``) always trains with ``cfg``.

    Returns:
        The :class:`TrainResult` (``seconds == 0`` when the model was loaded; ``pretrained`` names
        the shipped weights when those were used).
    """
    data_id = data_id or _data_id(frames)
    if pretrained and not _retrain_asked():
        entry = shipped.find(model_cfg, data_id)
        if entry is not None:
            print(f"{name}: pretrained weights '{entry['name']}' ({entry['steps']:,} steps, "
                  f"{entry['seconds'] / 60:.0f} min on {entry['machine']}); to train it here instead: "
                  "fit(..., pretrained=False) or GRUAE_RETRAIN=1")
            h = entry["history"]
            return TrainResult(shipped.load(entry["name"], entry=entry), list(h["steps"]), list(h["losses"]),
                               shipped.snapshots(entry["name"], entry), None, 0.0, float(entry["seconds"]),
                               int(entry["steps"]), "cpu", entry.get("precision") or "fp32", entry["name"])
    run = run_dir_for(name, model_cfg, cfg, data_id, root)
    with _run_lock(run):  # another process training this run: wait, then load what it finished
        return train(model_cfg, frames, cfg, run_dir=run, resume=True, progress=progress)


@contextlib.contextmanager
def _run_lock(run: Path):
    """Hold ``run/.lock`` exclusively (POSIX ``flock``) while a run trains or loads.

    Two notebooks (or a notebook and the command line) asking for the same model on the same
    data share one run folder; without the lock both would train it and overwrite each other's
    checkpoints. The second waits, says so, then finds the finished run. Where ``fcntl`` does not
    exist (Windows) there is no lock. The operating system releases it if the process dies.
    """
    try:
        import fcntl
    except ImportError:  # pragma: no cover - not POSIX
        yield
        return
    run.mkdir(parents=True, exist_ok=True)
    with open(run / ".lock", "a") as f:
        try:
            fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            print(f"{run.name}: another process is training this run; waiting for it", flush=True)
            fcntl.flock(f, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(f, fcntl.LOCK_UN)


def _data_id(frames: VideoFrames) -> str:
    """What identifies training videos for run folders and shipped weights: their source, else their pixels."""
    return frames.source or _fingerprint(frames)


def _retrain_asked() -> bool:
    """Whether the environment variable ``GRUAE_RETRAIN`` asks to train instead of loading weights."""
    return os.environ.get("GRUAE_RETRAIN", "0") not in ("", "0")


def fit_all(
    cfgs: dict[str, ModelConfig],
    frames: VideoFrames,
    cfg: TrainConfig = TrainConfig(),
    *,
    prefix: str = "",
    root: str | os.PathLike | None = None,
    progress: bool = True,
    pretrained: bool = True,
) -> dict[str, TrainResult]:
    """Models that are compared with each other, trained equally long: :func:`fit` for each.

    Shipped weights are used only when **every** model has finished shipped weights for these
    frames, each converged or stopped at the same step cap: a model loaded after 12,000 steps
    beside one trained for 300 here, or beside one stopped at half its cap, would compare training
    budgets, not models. (Caps differ while a higher cap is shipped one model at a time.)
    Otherwise each model is trained with ``cfg`` (or loads its finished run), and one line says
    why.

    Args:
        cfgs: label -> model configuration (the labels key the result).
        frames: the training videos.
        cfg: the training configuration when they train.
        prefix: each run is named ``prefix + kind`` (see :func:`fit`).
        root, progress: as in :func:`fit`.
        pretrained: ``False`` always trains (as ``GRUAE_RETRAIN=1``).

    Returns:
        label -> :class:`TrainResult`, in the order of ``cfgs``.
    """
    data_id = _data_id(frames)
    if pretrained and not _retrain_asked():
        entries = {label: shipped.find(c, data_id) for label, c in cfgs.items()}
        missing = [label for label, e in entries.items() if e is None]
        capped = {label: e.get("cap") for label, e in entries.items() if e and not e.get("converged")}
        fair = f"so that they compare fairly, all {len(cfgs)} models train here with the same {cfg.steps:,} steps"
        if missing and len(missing) < len(cfgs):
            print(f"no finished pretrained weights for {', '.join(missing)}: {fair}")
        unequal = len(set(capped.values())) > 1
        if not missing and unequal:
            caps = ", ".join(f"{label} {cap:,}" for label, cap in capped.items())
            print(f"the pretrained weights stopped at different step caps ({caps}): {fair}")
        pretrained = not missing and not unequal
    return {label: fit(c, frames, cfg, name=prefix + c.kind, data_id=data_id, root=root, progress=progress,
                       pretrained=pretrained) for label, c in cfgs.items()}


def fit_early(
    cfgs: dict[str, ModelConfig],
    frames: VideoFrames,
    val: VideoFrames,
    cfg: TrainConfig,
    *,
    root: str | os.PathLike | None = None,
    progress: bool = True,
) -> dict[str, tuple[dict, str]]:
    """Models compared early in their training: validation figures after ``cfg.steps`` steps.

    ``cfg`` is meant to be the first segment of the pretraining recipe (the profile's
    ``pretrain`` configuration with the live run's steps). Where the pretraining recorded a
    model's figures on the validation videos at that step, they are used
    (:func:`gruae.shipped.recorded`): the curve of finished shipped weights, or the record of a
    model too big to ship (:func:`gruae.pretrained.record_early`). Any other model trains here
    with ``cfg`` (or loads that run) and is measured on ``val`` (:func:`train_early`). So models
    are compared at equal training. ``GRUAE_RETRAIN=1`` trains every one.

    Args:
        cfgs: label -> model configuration.
        frames: the training videos.
        val: the validation videos the pretraining measured (the profile's ``"val"`` split).
        cfg: the training configuration, its ``steps`` a point of the pretraining's curve.
        root, progress: as in :func:`fit`.

    Returns:
        label -> (figures, as :meth:`gruae.scoring.Evaluation.summary`; where they come from).
    """
    data_id = _data_id(frames)
    out = {}
    for label, c in cfgs.items():
        seen = None if _retrain_asked() else shipped.recorded(c, data_id, cfg)
        if seen is not None:
            out[label] = (seen, "recorded by its pretraining")
            continue
        figures, r = train_early(c, frames, val, cfg, root=root, progress=progress)
        out[label] = (figures, f"trained here, {r.total_seconds:.0f} s")
    return out


def train_early(
    model_cfg: ModelConfig,
    frames: VideoFrames,
    val: VideoFrames,
    cfg: TrainConfig,
    *,
    root: str | os.PathLike | None = None,
    progress: bool = True,
) -> tuple[dict, TrainResult]:
    """Train a model for ``cfg.steps`` steps (or load that run) and measure it on ``val``.

    What :func:`fit_early` does for a model without recorded figures, and what the pretraining
    records for a model too big to ship (:func:`gruae.pretrained.record_early`): one code path,
    one run folder (``<kind>-early``), so the recorded figures are the ones a live run gives.

    Returns:
        (the figures of :meth:`gruae.scoring.Evaluation.summary`, the :func:`fit` result).
    """
    from .scoring import evaluate

    r = fit(model_cfg, frames, cfg, name=f"{model_cfg.kind}-early", data_id=_data_id(frames), root=root,
            progress=progress, pretrained=False)
    return evaluate(r.model, val).summary(), r
