"""Named profiles: how big the data, the model and the training run are.

Every notebook names its profile in its first configuration cell::

    P = gruae.profile()          # GRUAE_PROFILE from the environment, default "book"
    T = P.clip_frames            # the clip length: the model's, the one place it is set

===========  ====================================================================================
``ci``       every notebook finishes in seconds on a CPU (tiny model, a few dozen steps); the
             numbers it prints are real but meaningless: it only proves the code runs
``book``     the default: the book's models, loaded from the weights shipped with the package
             (:mod:`gruae.pretrained`, trained until converged) where they exist, and a short live
             training run where a chapter shows training
``article``  the article's settings (its model, batch 16, T=16, 64x64, Adam 1e-4 with weight
             decay 1e-5, 10,000 iterations): meant for a GPU. Its old name ``seed`` still works
             for one release, with a deprecation warning
===========  ====================================================================================
"""

from __future__ import annotations

import os
import warnings
from dataclasses import dataclass, replace

from .errors import DataError
from .models import ARTICLE, ModelConfig
from .training import TrainConfig

__all__ = ["Profile", "PROFILES", "profile"]


@dataclass(frozen=True)
class Profile:
    """Sizes of data, model and training for one way of running the book."""

    name: str  # "ci", "book" or "article"
    video_frames: int  # frames per synthetic action video
    train_videos: int  # synthetic action videos to train on
    test_videos: int  # held-out synthetic action videos (evaluation only)
    scene_frames: int  # frames per synthetic anomaly-scene video
    scene_train_videos: int  # normal scenes to train the anomaly detectors on
    scene_test_videos: int  # test scenes (normal, then anomalies enter)
    model: ModelConfig  # the GRU-AE (frame size, clip length T...); the other models are `model_for(kind)`
    train: TrainConfig  # a chapter's live training run (steps, batch, learning rate...)
    # how `python -m gruae pretrain` trains this profile's shipped models (constant rate); its
    # `steps` is the first segment, whose end is the first point of every recorded curve
    pretrain: TrainConfig

    @property
    def size(self) -> int:
        """Frame height = width in pixels (the model's)."""
        return self.model.size

    @property
    def clip_frames(self) -> int:
        """The clip length T (the model's ``clip_frames``)."""
        return self.model.clip_frames

    def model_for(self, kind: str, **changes) -> ModelConfig:
        """This profile's model configuration of another ``kind`` (and other changes).

        Every kind shares the GRU-AE's sizes, except the ConvGRU predictor of the next frame
        (``"convgru_predict"``): the GRU-AE's first three convolutions, so the GRU's state is a
        map of a quarter of the frame's side (16x16 at 64x64: a cell per 4x4 pixels, a walker
        there covers one or two), with half the GRU-AE's latent size as channels for z_t and for
        the state, and ``horizon`` 1.
        """
        if kind == "convgru_predict":
            d = self.model.latent // 2
            changes = {"widths": self.model.widths[:3], "latent": d, "hidden": d, "horizon": 1, **changes}
        return self.model.replace(kind=kind, **changes)


PROFILES: dict[str, Profile] = {
    "ci": Profile(
        name="ci", video_frames=16, train_videos=20, test_videos=10,
        scene_frames=48, scene_train_videos=6, scene_test_videos=6,
        model=ModelConfig(size=32, widths=(4, 8, 16, 32), latent=16, hidden=24, clip_frames=8),
        train=TrainConfig(steps=20, batch=4, lr=2e-3, warmup=5, log_every=5,
                          checkpoint_every=10, snapshot_at=(0, 10, 20)),
        pretrain=TrainConfig(steps=20, batch=4, lr=2e-3, schedule="constant", log_every=5,
                             checkpoint_every=10),
    ),
    "book": Profile(
        name="book", video_frames=32, train_videos=200, test_videos=40,
        scene_frames=120, scene_train_videos=40, scene_test_videos=20,
        # the shipped models (gruae.pretrained): five convs to a 4x4 map, T = 16 as in the article,
        # every kind under 1 M parameters (2 MB in float16); trained at a constant rate until converged
        model=ModelConfig(size=64, widths=(16, 32, 64, 96, 128), latent=64, hidden=128, clip_frames=16),
        # the chapters' live run: a demonstration of 50 s on a 2-core CPU with native bf16
        # (3.0 it/s), 140 s in float32 on one without (1.1 it/s, benchmarks/throughput.py)
        train=TrainConfig(steps=150, batch=8, lr=3e-3, warmup=15, log_every=10,
                          checkpoint_every=50, snapshot_at=(0, 50, 150)),
        pretrain=TrainConfig(steps=300, batch=8, lr=1e-3, schedule="constant", log_every=50,
                             checkpoint_every=500),
    ),
    "article": Profile(
        name="article", video_frames=64, train_videos=500, test_videos=100,
        scene_frames=180, scene_train_videos=80, scene_test_videos=40,
        model=ARTICLE,
        train=TrainConfig(steps=10_000, batch=16, lr=1e-4, weight_decay=1e-5,
                          schedule="constant", log_every=100, checkpoint_every=1000,
                          snapshot_at=(0, 1000, 5000, 9000, 10_000)),
        pretrain=TrainConfig(steps=10_000, batch=16, lr=1e-4, weight_decay=1e-5, schedule="constant",
                             log_every=100, checkpoint_every=1000),
    ),
}
"""The named profiles."""

_RENAMED = {"seed": "article"}
"""Old profile names still accepted for one release (with a DeprecationWarning)."""


def profile(name: str | None = None, **train_changes) -> Profile:
    """Return a named profile.

    Args:
        name: ``"ci"``, ``"book"`` or ``"article"``; default: the ``GRUAE_PROFILE`` environment
            variable, else ``"book"``.
        **train_changes: fields of :class:`~gruae.training.TrainConfig` to override
            (for example ``steps=200``).

    Returns:
        The :class:`Profile`.

    Raises:
        DataError: unknown profile name.
    """
    name = name or os.environ.get("GRUAE_PROFILE") or "book"
    if name in _RENAMED:
        warnings.warn(f"profile {name!r} is now called {_RENAMED[name]!r}; the old name goes in the next release",
                      DeprecationWarning, stacklevel=2)
        name = _RENAMED[name]
    if name not in PROFILES:
        raise DataError(None, f"unknown profile {name!r}; choose one of {', '.join(PROFILES)} "
                              "(argument, or the GRUAE_PROFILE environment variable)")
    p = PROFILES[name]
    return replace(p, train=replace(p.train, **train_changes)) if train_changes else p
