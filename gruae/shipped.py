"""The pretrained weights shipped with the package: what is on the shelf, and how to take it.

``gruae/weights/`` holds float16 state dicts, the snapshot rows of their runs, and the generated
``manifest.json``, and ``early.json``, the validation figures of models too big to ship after
the first segment of their recipe (both written by :mod:`gruae.pretrained`, never by hand). This
module only reads them: :func:`manifest` lists what is shipped, :func:`find` answers
:func:`gruae.training.fit`'s question (shipped weights for this model configuration trained on
this data?), :func:`load` rebuilds a model after checking its file's SHA-256, :func:`snapshots`
gives the snapshot rows, :func:`early` the early records, :func:`recorded` the held-out figures
the pretraining measured along the way.
"""

from __future__ import annotations

import dataclasses
import hashlib
import io
import json
from pathlib import Path

import numpy as np
import torch
from torch import nn

from .errors import CheckpointError
from .models import ModelConfig, build_model

__all__ = ["WEIGHTS", "MANIFEST", "manifest", "early", "same", "same_recipe", "find", "load", "snapshots",
           "recorded"]

WEIGHTS = Path(__file__).resolve().parent / "weights"
"""The folder of the shipped weights (package data)."""

MANIFEST = WEIGHTS / "manifest.json"
"""The generated record of every shipped model."""

def manifest() -> dict[str, dict]:
    """The shipped models: name -> manifest entry (empty when none is shipped)."""
    return json.loads(MANIFEST.read_text()) if MANIFEST.exists() else {}


def early() -> dict[str, dict]:
    """The early records (``early.json`` beside the manifest): name -> record (empty when none)."""
    path = MANIFEST.with_name("early.json")
    return json.loads(path.read_text()) if path.exists() else {}


def same(a, b) -> bool:
    """Equal once both went through JSON (tuples and lists alike)."""
    return json.loads(json.dumps(a, default=str)) == json.loads(json.dumps(b, default=str))


def same_recipe(a: dict, b: dict) -> bool:
    """Whether two training identities are one recipe, however long each ran and cooled down."""
    drop = {"steps": None, "cooldown": None}
    return same({**a, **drop}, {**b, **drop})


def find(model_cfg: ModelConfig, data: str | None) -> dict | None:
    """The manifest entry of finished shipped weights for this model configuration and ``data``.

    Only weights whose pretraining finished (converged, or reached its step cap) count: a
    comparison between models is only fair when each trained as long as it needed. Unfinished
    weights are shipped too, as the point where ``python -m gruae pretrain`` goes on.

    Args:
        model_cfg: the model configuration (every field must match).
        data: the training data's identity (:attr:`gruae.data.VideoFrames.source`).

    Returns:
        The entry, or None.
    """
    if data is None:
        return None
    cfg = dataclasses.asdict(model_cfg)
    for entry in manifest().values():
        if entry.get("finished") and entry["data"] == data and same(entry["model_config"], cfg):
            return entry
    return None


def load(name: str, *, entry: dict | None = None, device: str | torch.device = "cpu") -> nn.Module:
    """Rebuild a shipped model in float32, in eval mode.

    Raises:
        CheckpointError: unknown name, missing file, or a file whose SHA-256 differs from the manifest.
    """
    entry = entry or manifest().get(name)
    path = WEIGHTS / f"{name}.pt"
    if entry is None or not path.exists():
        raise CheckpointError(path, f"no shipped weights named {name!r} (run `python -m gruae pretrain {name}`)")
    data = path.read_bytes()
    if hashlib.sha256(data).hexdigest() != entry["sha256"]:
        raise CheckpointError(path, "SHA-256 differs from gruae/weights/manifest.json: the file is damaged or "
                                    "was not written by `python -m gruae pretrain`")
    cfg = ModelConfig(**{k: tuple(v) if isinstance(v, list) else v for k, v in entry["model_config"].items()})
    model = build_model(cfg)
    state = torch.load(io.BytesIO(data), map_location="cpu", weights_only=True)
    model.load_state_dict({k: v.float() if v.is_floating_point() else v for k, v in state.items()})
    return model.to(device).eval()


def snapshots(name: str, entry: dict) -> dict[int, np.ndarray]:
    """The snapshot rows shipped with a model: step -> uint8 grid (input row above output row)."""
    from PIL import Image

    path = WEIGHTS / f"{name}.snapshots.png"
    if not path.exists() or not entry.get("snapshots"):
        return {}
    rows = np.asarray(Image.open(path).convert("L"))
    return dict(zip(entry["snapshots"], np.split(rows, len(entry["snapshots"]))))


def recorded(model_cfg: ModelConfig, data: str | None, train_cfg) -> dict | None:
    """The validation figures that the pretraining of shipped weights measured after ``train_cfg``.

    Every pretraining run evaluates its model on the validation videos at each doubling of its
    steps (:func:`gruae.pretrained.pretrain`); the manifest keeps that curve. A model too big to
    ship has its figures after the first segment recorded instead (:func:`early`, written by
    :func:`gruae.pretrained.record_early`). A chapter can then compare models at the same point
    of their training without training them, and without keeping their early weights.

    Args:
        model_cfg: the model configuration (every field must match), as in :func:`find`.
        data: the training data's identity (:attr:`gruae.data.VideoFrames.source`).
        train_cfg: a :class:`gruae.training.TrainConfig`: the pretraining's own (constant-rate)
            configuration, whose ``steps`` is a point of the curve.

    Returns:
        ``{"psnr_db": ..., "ssim": ..., "motion_corr": ..., "motion_ratio": ...}`` (the keys of
        :meth:`gruae.scoring.Evaluation.summary`), or None when nothing shipped or recorded
        matches, it was trained otherwise, or its curve has no point at ``train_cfg.steps``.
    """
    entry = find(model_cfg, data)
    if entry is not None and same_recipe(entry["train_config"], train_cfg.identity()):
        point = next((p for p in entry.get("curve", []) if p["step"] == train_cfg.steps), None)
        if point is not None:
            return {k[4:]: v for k, v in point.items() if k.startswith("val_")}
    cfg = dataclasses.asdict(model_cfg)
    for rec in early().values():
        if (data is not None and rec["data"] == data and rec["steps"] == train_cfg.steps
                and same(rec["model_config"], cfg) and same(rec["train_config"], train_cfg.identity())):
            return dict(rec["figures"])
    return None
