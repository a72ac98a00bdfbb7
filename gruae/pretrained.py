"""Pretrained weights: the converged models the book shows, shipped inside the package.

A model that reconstructs motion well needs tens of thousands of steps: hours on a laptop CPU,
minutes on a GPU. So, as the tutorial books readers trust do (the UvA deep-learning notebooks,
Neuromatch), the package ships the weights of every model its chapters show, and a chapter's
training cell is a short live demonstration. Everything here is generated, nothing typed in:

- :func:`recipes` (built from the ``book`` profile) names what is pretrained:
  each model kind on the synthetic actions (chapters 2-5) and on the synthetic scenes
  (chapters 6-7); the GRU-AE and the single latent on the real waving videos (chapter 8), and
  the GRU-AE on UCSD Ped2's frames and frame differences and the GRU and ConvGRU predictors of the next
  difference (chapter 9), when their data is here;
- :func:`pretrain` (``python -m gruae pretrain [NAME ...]``, ``make pretrained``) trains a recipe
  at a constant learning rate in doubling segments (``first``, 2x, 4x... steps), measuring the
  held-out validation videos after each; it stops when a doubling gains less than
  ``min_gain_db`` of PSNR (after ``min_steps``: models often stall early, then improve again), or
  at ``cap`` steps, and keeps the curve; then it cools down: ``cooldown`` (10 %) more steps with the
  rate falling linearly to 0, which settles the weights that a constant rate keeps moving (the
  checkpoints of a constant-rate run differ by tenths of a dB from one to the next). It resumes where it stopped
  (each segment continues the previous checkpoint), so it is safe to stop and start again; it
  is deterministic for its seed on one device type. Then :func:`export` writes the weights as a
  float16 state dict (at most :data:`MAX_BYTES`) into ``gruae/weights/`` with the snapshot rows
  of the run, and records in ``gruae/weights/manifest.json``: the configurations, the run
  identity, the data's identity and fingerprint, steps, wall time, machine, precision, torch
  version, git commit, the curve, the held-out figures of the shipped (float16) weights, the
  loss history and the file's SHA-256 (:mod:`gruae.shipped` reads them back: what
  :func:`gruae.training.fit` loads);
- :func:`check` (``python -m gruae pretrain --check``) reloads every shipped model, measures it
  again and fails when a figure differs from the manifest beyond float noise;
- :func:`record_early` (part of ``python -m gruae pretrain``) trains the models that chapters
  compare only early in training but that are too big to ship (:func:`early_recipes`: chapter
  2's single latent of T·d numbers) for the recipe's first segment, and records their
  validation figures in ``gruae/weights/early.json``, so that the build does not train them.

The ``ci`` profile never uses shipped weights: its models are other configurations, so
:func:`gruae.shipped.find` never matches them.
"""

from __future__ import annotations

import dataclasses
import datetime
import hashlib
import io
import json
import math
import os
import shutil
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch import nn

from . import shipped
from .devices import flush_denormals
from .download import data_dir
from .errors import CheckpointError, DataError
from .models import ModelConfig
from .shipped import load, manifest, same, snapshots
from .training import TrainConfig, _retrain_asked

__all__ = ["MAX_BYTES", "MAX_TOTAL_BYTES", "Recipe", "recipes", "CAPS", "available", "goes_on", "pretrain",
           "export", "check", "early_recipes", "record_early"]

MAX_BYTES = 2_000_000
"""Largest weight file shipped (float16 state dict)."""

MAX_TOTAL_BYTES = 30_000_000
"""Most the shipped folder may hold in all (weights, snapshot rows, manifest): a test keeps it."""


@dataclass(frozen=True)
class Recipe:
    """How one shipped model is trained."""

    name: str  # the weight file's name (gruae/weights/<name>.pt) and the manifest key
    model: ModelConfig  # the model to train
    data: str  # "actions" or "scenes": the profile's synthetic training videos
    train: TrainConfig  # a constant-rate run, continued at each doubling
    first: int = 1200  # steps before the first evaluation (the profile's `pretrain.steps`); each later one doubles them
    cap: int = 40_000  # never train beyond this many steps
    min_gain_db: float = 0.2  # converged when a doubling gains less held-out PSNR than this...
    min_steps: int = 4_800  # ...and has trained this long (16x `first`): early plateaus are not convergence
    cooldown: float = 0.1  # then this fraction more steps, the rate falling linearly to 0 (what ships)
    profile: str = "book"  # the profile whose data sizes (and model) the recipe uses


CAPS = {"actions": 96_000, "scenes": 9_600, "waving": 4_800, "ped2": 2_400, "ped2_motion": 2_400}
"""Step caps below the default, by data: CPU budgets, the same for every model of one data set so
that a chapter compares models trained equally long; the manifest records each.

- actions: first 12,000 (the article's 10,000 iterations, rounded up past the 11,050 steps the
  GRU-AE had when the caps were set), then doubled, because the GRU-AE and the 3D-conv AE were
  still gaining (0.86 and 0.67 dB of validation PSNR in their last doubling); from 12,000 to
  24,000 they gained 0.93 and 0.36 dB: still not converged. Then half a doubling more, to
  36,000 (the three action models with their cool-downs train in about 1 h 30 min on a 2-core
  CPU with native bf16; a whole doubling took twice that): the GRU-AE gained 0.37 dB (0.12 is
  this segment's share of the 0.2 dB rule), the 3D-conv AE -0.01 and the single latent 0.06:
  both converged, the GRU-AE still gaining. Then to 48,000, the doubling of 24,000 (only the
  GRU-AE goes on: a converged model stops, whatever the cap): +0.15 dB (0.08 is this
  segment's share): still not converged. Then a whole doubling, to 96,000 (the GRU-AE alone,
  1 h 45 min with its cool-down): its constant-rate weights measured 1.83 dB *below* 48,000,
  in a loss spike (see :func:`_converged`), so the run ends at the cap, not converged by the
  rule; cooled down, they measure 32.20 dB, 0.11 dB above the weights cooled from 48,000
  (32.09): less than the 0.2 dB a doubling must gain. A cool-down twice as long (20 %, 19,200
  steps from the same 96,000) measured the same on the test videos: 32.32 dB and a motion
  correlation of 0.775, against 32.27 and 0.776 for the shipped 10 %. The per-frame AE had
  stopped at 9,600 on such a fall (0.74 dB); taken on from there, it gained 2.58, 0.22, 0.37
  and (a third of a doubling, to the cap) 0.16 dB at 19,200, 38,400, 76,800 and 96,000: it
  ends at the cap, cooled down to 33.32 dB, a dB above the GRU-AE (214 min of training in all);
- scenes: 32x the first segment. At 2,400 every scene model was still gaining (0.3-0.8 dB of
  validation PSNR per doubling), at 4,800 all but the two converged GRU models (GRU-AE, GRU
  predictor) still were (per-frame 0.54, 3D-conv 0.96, single latent 2.09, ConvGRU predictor
  0.86 dB); they went on from their shipped weights (``rewarmed_from_cooled`` in the manifest;
  the ConvGRU predictor from its own run) and gained 0.29, 0.63, 0.49 and 0.62 dB to 9,600;
- waving, ped2, ped2_motion: 16x and 8x, to fit the real-data models into one CPU session."""


def recipes(profile_name: str = "book") -> dict[str, Recipe]:
    """Every model the book loads, trained on a profile's data: name -> :class:`Recipe`.

    Synthetic actions for the four models of chapters 2-5, synthetic scenes for those and the two
    predictors of chapter 6; the real waving videos (the article's experiment) for the GRU-AE and
    the single latent; the GRU-AE on UCSD Ped2's frames and on their differences, and the GRU and
    ConvGRU predictors of the next difference (chapter 9). The shipped weights are the ``book``
    profile's; other profiles serve tests and experiments.
    """
    from .config import profile

    P = profile(profile_name)
    first = P.pretrain.steps  # the first segment: the first point of every curve
    out = {}
    for data, kinds in (("actions", ("gruae", "single_latent", "per_frame", "conv3d")),
                        ("scenes", ("gruae", "per_frame", "conv3d", "single_latent", "gru_predict", "convgru_predict")),
                        ("waving", ("gruae", "single_latent")),
                        ("ped2", ("gruae",)), ("ped2_motion", ("gruae", "gru_predict", "convgru_predict"))):
        for kind in kinds:
            name = f"{data}-{kind}"
            # on Ped2's motion, the GRU predictor predicts the next frame too
            model = P.model_for(kind, **({"horizon": 1} if data == "ped2_motion" and kind == "gru_predict" else {}))
            out[name] = Recipe(name, model, data, P.pretrain, first=first,
                               cap=CAPS.get(data, Recipe.cap), min_steps=16 * first, profile=profile_name)
    return out


def early_recipes(profile_name: str = "book") -> dict[str, Recipe]:
    """Models compared only after the first segment, too big to ship: name -> :class:`Recipe`.

    Chapter 2's single latent of T·d numbers (as many as the GRU-AE keeps per clip): its two
    linear layers hold 2 (T·d)² weights, more than :data:`MAX_BYTES` in float16. Each is trained
    for ``first`` steps of the pretraining's recipe, as the shipped models' first curve point.
    """
    from .config import profile

    P = profile(profile_name)
    model = P.model_for("single_latent", clip_latent=P.clip_frames * P.model.latent)
    name = "actions-single_latent_Td"
    return {name: Recipe(name, model, "actions", P.pretrain, first=P.pretrain.steps, cap=P.pretrain.steps,
                         cooldown=0.0, profile=profile_name)}


def record_early(names: list[str] | None = None, *, root: str | os.PathLike | None = None,
                 progress: bool = True, profile_name: str = "book") -> dict[str, dict]:
    """Train the early recipes (:func:`early_recipes`) and record their validation figures.

    Each trains for its first segment with :func:`gruae.training.train_early`, the very code
    path of a live :func:`gruae.training.fit_early` (or loads that run), and is measured on the
    validation videos. The record, in ``gruae/weights/early.json`` (:func:`gruae.shipped.early`),
    holds the figures, the configurations, the data's identity and fingerprint, the training
    time, machine, precision, torch version and git commit. A record of today's recipe is kept
    (``GRUAE_RETRAIN=1`` trains it again).

    Returns:
        name -> record.
    """
    from .devices import describe_device
    from .training import load_checkpoint, train_early

    table = early_recipes(profile_name)
    unknown = sorted(set(names or []) - set(table))
    if unknown:
        raise DataError(None, f"unknown early record(s) {', '.join(unknown)}; known: {', '.join(table)}")
    records, done = shipped.early(), []
    for name in table if names is None else names:
        r = table[name]
        have = records.get(name)
        if have and not _retrain_asked() and _matches(have, r) and have["steps"] == r.first:
            if progress:
                print(f"{name}: its figures after {r.first:,} steps are recorded; nothing to do", flush=True)
            done.append(name)
            continue
        frames = _frames(r.data, "train", r.profile)
        cfg = dataclasses.replace(r.train, steps=r.first)
        figures, res = train_early(r.model, frames, _frames(r.data, "val", r.profile), cfg,
                                   root=root, progress=progress)
        ckpt = load_checkpoint(res.run_dir)  # where, and in which precision, it trained
        done.append(name)
        records[name] = {
            "name": name, "kind": r.model.kind, "data": frames.source, "data_fingerprint": _fingerprint(frames),
            "model_config": dataclasses.asdict(r.model), "train_config": cfg.identity(), "steps": cfg.steps,
            "seconds": round(res.total_seconds, 1),
            "machine": ckpt.get("device") or describe_device("cpu"), "precision": ckpt.get("precision"),
            "torch": ckpt.get("torch_version"),
            "git_commit": _git_commit(),
            "created": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
            "figures": {k: round(v, 4) for k, v in figures.items()},
        }
        shipped.WEIGHTS.mkdir(exist_ok=True)
        _write_json(records, shipped.MANIFEST.with_name("early.json"))
        if progress:
            print(f"{name}: recorded after {cfg.steps:,} steps ({res.total_seconds:.0f} s): "
                  f"val PSNR {figures['psnr_db']:.2f} dB", flush=True)
    records = shipped.early()  # as written (JSON: lists for tuples)
    return {name: records[name] for name in done}


def available(name: str, profile_name: str = "book") -> bool:
    """Whether a recipe's training data is here (always, for the synthetic sets)."""
    from . import hub
    from .datasets import REAL

    data = recipes(profile_name)[name].data
    return data not in REAL or hub.available(REAL[data]) is not None


# --------------------------------------------------------------------------- data
def _frames(data: str, split: str, profile_name: str = "book"):
    """A profile's videos of ``data`` (see :func:`gruae.datasets.load`) and ``split``."""
    from . import datasets
    from .config import profile

    return datasets.load(profile(profile_name), data, split)


def _fingerprint(frames) -> str:
    """A hash of the pixels themselves (recorded; the data is matched by its ``source``)."""
    return hashlib.blake2b(frames.pixels.numpy().tobytes(), digest_size=8).hexdigest()


def _measure(model: nn.Module, recipe: Recipe) -> dict:
    """Held-out figures: validation PSNR/SSIM/motion (the stopping rule), and test figures
    (reconstruction figures for actions, frame-level AUC for anomaly data)."""
    from . import anomaly
    from .scoring import evaluate

    val = evaluate(model, _frames(recipe.data, "val", recipe.profile)).summary()
    out = {f"val_{k}": round(v, 4) for k, v in val.items()}
    test = _frames(recipe.data, "test", recipe.profile)
    if recipe.data in ("actions", "waving"):
        out.update({f"test_{k}": round(v, 4) for k, v in evaluate(model, test).summary().items()})
    else:
        maps = anomaly.error_maps(model, test)  # (F, H, W)
        labels, lengths = test.frame_labels.numpy(), test.lengths.tolist()
        rep = anomaly.report(anomaly.frame_scores(maps).numpy(), labels, lengths)
        out.update(test_micro_auc=round(rep.micro_auc, 4), test_macro_auc=round(rep.macro_auc, 4))
        if recipe.data.startswith("ped2"):  # chapter 9's local score
            k = max(1, anomaly.PED2_PATCH * recipe.model.size // 64)
            rep = anomaly.report(anomaly.frame_scores(maps, k).numpy(), labels, lengths)
            out.update(test_patch_micro_auc=round(rep.micro_auc, 4), test_patch_macro_auc=round(rep.macro_auc, 4))
    return out


# --------------------------------------------------------------------------- training
def _run_dir(recipe: Recipe, root: Path | None) -> Path:
    """Where a recipe's run lives: ``<data>/pretrain/<name>-<hash>``."""
    from . import datasets
    from .config import profile
    from .training import run_dir_for

    data = datasets.identity(profile(recipe.profile), recipe.data, "train")
    d = run_dir_for(recipe.name, recipe.model, recipe.train, data, data_dir() if root is None else root)
    return d.parent.parent / "pretrain" / d.name


def _write_json(obj, path: Path) -> None:
    """Write JSON atomically (write, then rename)."""
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(obj, indent=1, sort_keys=True) + "\n")
    os.replace(tmp, path)


class _OutOfTime(KeyboardInterrupt):
    """Raised from the training callback when ``pretrain``'s time budget is spent (train saves first)."""


def _matches(entry: dict, r: Recipe) -> bool:
    """Whether a manifest entry was trained by today's recipe ``r`` (model, data, constant rate)."""
    from . import datasets
    from .config import profile

    data = datasets.identity(profile(r.profile), r.data, "train")  # synthetic: without rendering it
    return (same(entry["model_config"], dataclasses.asdict(r.model)) and entry["data"] == data
            and shipped.same_recipe(entry["train_config"], r.train.identity()))


def _stable_end(entry: dict) -> int:
    """Where a shipped run's constant rate ended: its curve's last step (its steps, if no curve)."""
    return int(entry["curve"][-1]["step"]) if entry.get("curve") else int(entry["steps"])


def _complete(entry: dict | None, r: Recipe, cap: int) -> bool:
    """Whether shipped weights are all that ``r`` makes up to ``cap`` steps: finished, cooled down
    if it cools down, and converged or trained at the constant rate to ``cap``."""
    return bool(entry and entry.get("finished") and (entry.get("cooldown") or not r.cooldown) and _matches(entry, r)
                and (_converged(entry.get("curve", []), r) or _stable_end(entry) >= cap))


def goes_on(name: str, profile_name: str = "book") -> bool:
    """Whether :func:`pretrain` would train the finished shipped weights of ``name`` further:
    finished under an older rule or cap, not converged by today's and below today's cap, and
    their data is here (``pretrain --list`` says so)."""
    r, entry = recipes(profile_name)[name], manifest().get(name)
    return bool(entry and entry.get("finished") and available(name, profile_name)
                and not _complete(entry, r, r.cap))


def _finished_shipped(r: Recipe) -> bool:
    """Whether finished weights of today's recipe ``r`` are shipped (the book shows them)."""
    entry = manifest().get(r.name)
    return bool(entry and entry.get("finished") and _matches(entry, r))


def _seed_from_shipped(r: Recipe, run: Path, cap: int) -> bool:
    """Start an empty run folder from the shipped weights of the same recipe, if any.

    A new machine (or session) has no run folder, only the package: a recipe stopped before it
    converged, not yet cooled down, or asked to go on to a higher ``cap`` than it was trained to,
    goes on from its shipped weights and curve, with a fresh optimiser (Adam's moments
    re-estimate within a few hundred steps; the manifest keeps the history). Cooled-down weights
    stand in for the constant-rate weights they were cooled from: the run goes on at the step
    where its constant rate ended (``seeded.json`` and the manifest say ``rewarmed_from_cooled``).
    Returns True when seeded.
    """
    from .training import CHECKPOINT, IDENTITY_VERSION, _save_atomic

    entry = manifest().get(r.name)
    if (run / CHECKPOINT).exists() or entry is None or not _matches(entry, r) or _complete(entry, r, cap):
        return False
    cooled = bool(entry.get("cooldown"))
    step = _stable_end(entry) if cooled else int(entry["steps"])
    history = [(s, x) for s, x in zip(entry["history"]["steps"], entry["history"]["losses"]) if s <= step]
    model = load(r.name, entry=entry)
    opt = torch.optim.Adam(model.parameters(), lr=r.train.lr, weight_decay=r.train.weight_decay)
    _save_atomic({
        "model_config": dataclasses.asdict(r.model), "train_config": r.train.identity(),
        "model_class": type(model).__name__, "identity_version": IDENTITY_VERSION, "step": step,
        "model": model.state_dict(), "optimizer": opt.state_dict(), "scaler": None, "sampler_rng": None,
        "torch_rng": torch.get_rng_state(), "cuda_rng": None, "history_steps": [s for s, _ in history],
        "history_losses": [x for _, x in history], "torch_version": str(torch.__version__),
        "train_seconds": float(entry["seconds"]), "device": entry["machine"], "precision": entry.get("precision"),
    }, run / CHECKPOINT)
    _write_json(entry["curve"], run / "curve.json")
    _write_json({"resumed_from_shipped": step, "rewarmed_from_cooled": int(entry["steps"]) if cooled else None,
                 "machine": entry["machine"]}, run / "seeded.json")
    from PIL import Image

    for at, rows in snapshots(r.name, entry).items():
        if at <= step:
            Image.fromarray(rows).save(run / f"snapshot_{at:06d}.png")
    return True


COOLDOWN = "cooldown"
"""The cool-down's run folder, inside the recipe's (its checkpoint has its own identity)."""


def _cool_down(r: Recipe, run: Path, frames, progress: bool, callback) -> dict:
    """Cool a finished constant-rate run down, measure it, and return the measured point.

    ``r.cooldown`` times the run's steps more, with the rate falling linearly from ``lr`` to 0
    (:func:`gruae.training.learning_rate`), continuing the run's optimiser and sampler. Resumable
    like the rest: the cool-down keeps its own checkpoint in ``run/cooldown/``.
    """
    from .training import CHECKPOINT, _save_atomic, load_checkpoint, train

    done, cool = run / "cooldown.json", run / COOLDOWN
    base = load_checkpoint(run)  # the stable run's end, saved under the cool-down's identity
    n = int(base["step"])
    if done.exists():
        point = json.loads(done.read_text())
        if point["from"] == n:
            return point
        done.unlink()  # the cool-down of an earlier end: the run went on since
    if (cool / CHECKPOINT).exists():  # resuming: its identity says where its constant rate ended
        ident = load_checkpoint(cool)["train_config"]
        if int(ident["steps"]) - int(ident["cooldown"]) != n:
            shutil.rmtree(cool)
    cool.mkdir(exist_ok=True)
    k = max(1, round(r.cooldown * n))
    cfg = dataclasses.replace(r.train, steps=n + k, cooldown=k, snapshot_at=(n + k,))
    if not (cool / CHECKPOINT).exists():
        _save_atomic({**base, "train_config": cfg.identity()}, cool / CHECKPOINT)
    res = train(r.model, frames, cfg, run_dir=cool, progress=progress, callback=callback)
    point = {"step": n + k, "from": n, "seconds": round(res.total_seconds, 1), **_measure(res.model, r)}
    _write_json(point, done)
    return point


def pretrain(names: list[str] | None = None, *, root: str | os.PathLike | None = None, cap: int | None = None,
             hours: float | None = None, progress: bool = True, ship: bool = True,
             profile_name: str = "book") -> dict[str, dict]:
    """Train recipes until converged (or ``cap``) and ship their weights.

    Safe to stop at any moment and to run again: each recipe goes on from its run folder, or, on
    a machine without one, from its shipped weights when they are not finished and cooled down yet,
    or not converged and trained to less than ``cap`` (otherwise there is nothing to do). Finished
    weights stay shipped until the run that goes on from them has finished in turn. ``GRUAE_RETRAIN=1`` ignores the shipped weights: a
    recipe without a run folder then trains from scratch. Denormal floats are flushed to zero from
    here on in this process (:func:`gruae.devices.flush_denormals`: long runs breed them).

    Args:
        names: recipe names (default: every recipe whose data is here, see :func:`available`).
        root: the data folder holding the runs (default ``$GRUAE_DATA`` or ``data/``).
        cap: override every recipe's step cap.
        hours: a time budget: when it is spent, the running recipe saves, is shipped as it is
            (its manifest entry says ``"converged": false``) and no further recipe starts.
        progress: progress bars and one line per evaluation.
        ship: export the weights into the package when a run ends.
        profile_name: whose recipes (the shipped weights are ``"book"``'s).

    Returns:
        name -> ``{"curve": [...], "converged": bool, "steps": int}``.
    """
    from .training import train

    flush_denormals()  # before any parallel work, so that every thread has it
    table = recipes(profile_name)
    unknown = sorted(set(names or []) - set(table))
    if unknown:
        raise DataError(None, f"unknown pretrained model(s) {', '.join(unknown)}; known: {', '.join(table)}")
    root = None if root is None else Path(root)
    deadline = None if hours is None else time.monotonic() + 3600 * hours

    def out_of_time(step: int, loss: float) -> None:
        if deadline is not None and time.monotonic() > deadline:
            raise _OutOfTime

    if names is None:  # every recipe whose data is here
        names = [n for n in table if available(n, profile_name)]
        absent = [n for n in table if n not in names]
        if absent and progress:
            print(f"skipped, their data is not here: {', '.join(absent)} (see `python -m gruae data list`)")
    out = {}
    for name in names:
        r = table[name]
        limit = cap or r.cap
        run = _run_dir(r, root)
        entry = None if _retrain_asked() else manifest().get(name)
        if not (run / "curve.json").exists() and _complete(entry, r, limit):
            if progress:
                print(f"{name}: finished weights are shipped ({entry['steps']:,} steps); nothing to do", flush=True)
            out[name] = {"curve": entry["curve"], "converged": entry["converged"], "steps": entry["steps"],
                         "cooldown": entry.get("cooldown")}
            continue
        run.mkdir(parents=True, exist_ok=True)
        if not (run / "started.json").exists():  # the code a run started from (a later export may be other code)
            _write_json({"git_commit": _git_commit()}, run / "started.json")
        if not _retrain_asked() and _seed_from_shipped(r, run, limit) and progress:
            seeded = json.loads((run / "seeded.json").read_text())
            how = (f", cooled down: at step {seeded['resumed_from_shipped']:,}, where their constant rate ended"
                   if seeded["rewarmed_from_cooled"] else "")
            print(f"{name}: going on from the shipped weights ({manifest()[name]['steps']:,} steps{how})", flush=True)
        curve_file = run / "curve.json"
        curve = json.loads(curve_file.read_text()) if curve_file.exists() else []
        frames = _frames(r.data, "train", r.profile)
        steps = curve[-1]["step"] * 2 if curve else r.first
        converged = _converged(curve, r)
        while not converged and (not curve or curve[-1]["step"] < limit):
            steps = min(steps, limit)
            cfg = dataclasses.replace(r.train, steps=steps, snapshot_at=(0, steps))
            try:
                res = train(r.model, frames, cfg, run_dir=run, progress=progress, callback=out_of_time)
            except _OutOfTime:  # finished weights shipped before stay until the run finishes again
                if ship and not _finished_shipped(r):
                    export(name, root=root, profile_name=profile_name, cap=limit)
                out[name] = {"curve": curve, "converged": False, "steps": _steps_done(run), "out_of_time": True}
                return out
            point = {"step": steps, "seconds": round(res.total_seconds, 1), **_measure(res.model, r)}
            curve.append(point)
            _write_json(curve, curve_file)
            converged = _converged(curve, r)
            if progress:
                print(f"{name}: step {steps:,}: val PSNR {point['val_psnr_db']:.2f} dB "
                      f"({res.total_seconds / 60:.1f} min in all){'; converged' if converged else ''}", flush=True)
            steps *= 2
        out[name] = {"curve": curve, "converged": converged, "steps": curve[-1]["step"] if curve else 0}
        if r.cooldown and curve:
            try:
                point = _cool_down(r, run, frames, progress, out_of_time)
            except _OutOfTime:  # the finished weights shipped before (if any) stay until the cool-down ends
                if ship and not _finished_shipped(r):
                    export(name, root=root, profile_name=profile_name, cap=limit)
                out[name].update(steps=_steps_done(run / COOLDOWN), out_of_time=True)
                return out
            out[name].update(steps=point["step"], cooldown=point)
            if progress:
                print(f"{name}: cooled down to step {point['step']:,}: val PSNR {point['val_psnr_db']:.2f} dB "
                      f"({point['seconds'] / 60:.1f} min in all)", flush=True)
        if ship and curve:
            export(name, root=root, profile_name=profile_name, cap=limit)
    return out


def _steps_done(run: Path) -> int:
    """The step of a run folder's checkpoint."""
    from .training import load_checkpoint

    return int(load_checkpoint(run)["step"])


def _converged(curve: list[dict], r: Recipe) -> bool:
    """True when the last segment gained less validation PSNR than ``r.min_gain_db`` per doubling
    of the steps, at ``r.min_steps`` or later.

    Segments double the steps, except the last one before a cap (9,600 -> 12,000 is a third of
    a doubling): its gain is held to that fraction of the threshold (``log2`` of the step ratio),
    so a short segment's small gain is not taken for convergence. A model often stalls early (it
    has learnt the background, not yet the moving figure) and then improves again: a plateau
    before ``min_steps`` is not taken for convergence either, nor is a fall of more than the
    threshold: at a constant rate, a measurement can land in a loss spike (the actions' GRU-AE
    measured 1.8 dB below its previous point at 96,000 steps, where its training loss over
    the last 50 steps was 3.9x the segment's median), and the run goes on to its cap.
    """
    if len(curve) < 2 or curve[-1]["step"] < r.min_steps:
        return False
    doublings = math.log2(curve[-1]["step"] / curve[-2]["step"])
    gain = curve[-1]["val_psnr_db"] - curve[-2]["val_psnr_db"]
    return bool(-r.min_gain_db * doublings <= gain < r.min_gain_db * doublings)


# --------------------------------------------------------------------------- shipping
def _half(state: dict) -> dict:
    """A state dict with floating tensors stored as float16 (integers kept)."""
    return {k: v.half() if v.is_floating_point() else v for k, v in state.items()}


def _git_commit() -> str | None:
    """The commit of the repository this package lives in, if any; ``+dirty`` when a tracked file
    differs from it, the shipped weights themselves left aside (an export is rewriting them)."""
    try:
        r = subprocess.run(["git", "rev-parse", "HEAD"], cwd=shipped.WEIGHTS.parent, capture_output=True, text=True, timeout=10)
        weights = f"{shipped.WEIGHTS.parent.name}/{shipped.WEIGHTS.name}"  # gruae/weights, from the top
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no", "--", ":/",
                                f":(top,exclude){weights}"], cwd=shipped.WEIGHTS.parent,
                               capture_output=True, text=True, timeout=10).stdout.strip()
        return (r.stdout.strip() + ("+dirty" if dirty else "")) if r.returncode == 0 else None
    except (OSError, subprocess.SubprocessError):
        return None


def _snapshot_rows(run: Path, size: int) -> tuple[np.ndarray | None, list[int]]:
    """The first clip (input row, output row) of every snapshot of a run and its cool-down,
    stacked: (2*size*K, W)."""
    from PIL import Image

    files = sorted([*run.glob("snapshot_*.png"), *(run / COOLDOWN).glob("snapshot_*.png")], key=lambda p: p.name)
    if not files:
        return None, []
    rows = [np.asarray(Image.open(p).convert("L"))[: 2 * size] for p in files]
    return np.concatenate(rows), [int(p.stem.split("_")[1]) for p in files]


def _thin(steps: list[int], losses: list[float], most: int = 200) -> dict[str, list]:
    """At most ``most`` + 1 evenly spaced points of a loss history, always ending at its last step.

    The manifest keeps this much of each run's history: enough for a loss curve, small in git.
    """
    keep = max(1, -(-len(steps) // most))  # ceil
    idx = list(range(0, len(steps), keep))
    if idx and idx[-1] != len(steps) - 1:
        idx.append(len(steps) - 1)  # the curve (and "steps trained") ends where training ended
    return {"steps": [int(steps[i]) for i in idx], "losses": [round(float(losses[i]), 6) for i in idx]}


def export(name: str, *, root: str | os.PathLike | None = None, profile_name: str = "book",
           cap: int | None = None) -> dict:
    """Ship a recipe's run: float16 weights, snapshot rows and its manifest entry.

    The entry is ``"finished"`` when the run converged or reached its step cap (``cap``, default
    the recipe's) and, if the recipe cools down, has cooled down (then the cooled weights ship):
    only finished weights are what the book shows (:func:`gruae.shipped.find`); unfinished ones
    are where the next ``pretrain`` goes on from.

    Returns:
        The manifest entry.

    Raises:
        CheckpointError: no run, or a weight file over :data:`MAX_BYTES`.
    """
    from PIL import Image

    from .devices import describe_device
    from .training import join_machines, load_checkpoint

    r = recipes(profile_name)[name]
    run = _run_dir(r, None if root is None else Path(root))
    cooled = json.loads((run / "cooldown.json").read_text()) if (run / "cooldown.json").exists() else None
    ckpt = load_checkpoint(run)
    if cooled and cooled["from"] != int(ckpt["step"]):
        cooled = None  # the cool-down of an earlier end: the run went on since
    ckpt = load_checkpoint(run / COOLDOWN) if cooled else ckpt
    curve = json.loads((run / "curve.json").read_text()) if (run / "curve.json").exists() else []
    stable = curve[-1]["step"] if curve else 0  # where the constant rate ended
    buf = io.BytesIO()
    torch.save(_half(ckpt["model"]), buf)
    data = buf.getvalue()
    if len(data) > MAX_BYTES:
        raise CheckpointError(run, f"{name}: {len(data):,} bytes in float16, over the {MAX_BYTES:,} shipped per file")
    shipped.WEIGHTS.mkdir(exist_ok=True)
    path = shipped.WEIGHTS / f"{name}.pt"
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_bytes(data)
    os.replace(tmp, path)
    seeded = json.loads((run / "seeded.json").read_text()) if (run / "seeded.json").exists() else {}
    rows, snap_steps = _snapshot_rows(run, r.model.size)
    if rows is not None:
        Image.fromarray(rows).save(shipped.WEIGHTS / f"{name}.snapshots.png", optimize=True)
    model16 = load(name, entry={"sha256": hashlib.sha256(data).hexdigest(), "model_config": dataclasses.asdict(r.model)})
    frames = _frames(r.data, "train", r.profile)
    entry = {
        "name": name, "kind": r.model.kind, "data": frames.source, "data_fingerprint": _fingerprint(frames),
        "model_config": dataclasses.asdict(r.model),
        "train_config": {**r.train.identity(), "steps": int(ckpt["step"]), "cooldown": cooled and cooled["step"] - cooled["from"]},
        "run": run.name, "steps": int(ckpt["step"]), "seconds": round(float(ckpt.get("train_seconds", 0.0)), 1),
        # the seeded run's machine: checkpoints saved before training kept every machine lack it
        "machine": join_machines(seeded.get("machine"), ckpt.get("device") or describe_device("cpu")),
        "precision": ckpt.get("precision"),
        "torch": ckpt.get("torch_version"), "git_commit": _git_commit(),
        "started_at_commit": (json.loads((run / "started.json").read_text())["git_commit"]
                              if (run / "started.json").exists() else None),
        "created": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "converged": _converged(curve, r), "min_gain_db": r.min_gain_db,
        "min_steps": r.min_steps, "cap": cap or r.cap, "cooldown": cooled,
        "finished": (_converged(curve, r) or stable >= (cap or r.cap)) and (cooled is not None or not r.cooldown),
        **{key: seeded.get(key) for key in ("resumed_from_shipped", "rewarmed_from_cooled")},
        "curve": curve, "metrics": _measure(model16, r),
        "history": _thin(ckpt["history_steps"], ckpt["history_losses"]),
        "snapshots": snap_steps, "file": path.name, "bytes": len(data), "sha256": hashlib.sha256(data).hexdigest(),
    }
    table = manifest()
    table[name] = entry
    _write_json(table, shipped.MANIFEST)
    return entry


def check(names: list[str] | None = None, *, rtol: float = 1e-3, profile_name: str = "book") -> list[str]:
    """Reload shipped models, measure them again, and list every figure that moved.

    Args:
        names: models to check (default: every shipped one whose data is here, and every early
            record of :func:`record_early`, which has no weights to measure: it is checked to be
            today's recipe).
        rtol: relative tolerance (float noise between machines; the figures are means over
            thousands of frames).
        profile_name: whose recipes the shipped models are compared with.

    Returns:
        One line per difference (empty when everything matches).
    """
    table, known, early = manifest(), recipes(profile_name), early_recipes(profile_name)
    problems = []
    records = shipped.early()
    for name in [n for n in names if n in early] if names else records:  # no weights: today's recipe, at least
        rec, r = records.get(name), early.get(name)
        if rec is None:
            problems.append(f"{name}: not recorded")
        elif r is None or not _matches(rec, r) or rec["steps"] != r.first:
            problems.append(f"{name}: the early record is not today's recipe (pretrain it again)")
    everything = [n for n in table if n not in known or available(n, profile_name)]
    for name in [n for n in names if n not in early] if names else everything:
        entry = table.get(name)
        if entry is None:
            problems.append(f"{name}: not shipped")
            continue
        recipe = known.get(name)
        if recipe is None or not same(entry["model_config"], dataclasses.asdict(recipe.model)):
            problems.append(f"{name}: the shipped configuration is not today's recipe (pretrain it again)")
            continue
        got = _measure(load(name, entry=entry), recipe)
        for key, want in entry["metrics"].items():
            if not np.isclose(got.get(key, np.nan), want, rtol=rtol, atol=1e-3):
                problems.append(f"{name}: {key} = {got.get(key)} now, {want} in the manifest")
    return problems
