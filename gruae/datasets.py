"""The book's datasets, by profile: synthetic actions and synthetic anomaly scenes.

Each function renders the procedural videos of :mod:`gruae.synthetic` at the profile's sizes and
wraps them in a :class:`~gruae.data.VideoFrames`. Training and held-out splits use different
seeds, so no held-out video is ever seen in training.
"""

from __future__ import annotations

from .config import Profile
from .data import VideoFrames
from .synthetic import ACTIONS, VERSION, Scenes, make_actions, make_scenes

__all__ = ["actions", "scenes", "source", "SPLIT_SEEDS"]

SPLIT_SEEDS = {"train": 0, "test": 1, "val": 2}
"""Seed of each split: the same profile always gives the same videos."""


def _split_seed(split: str) -> int:
    """The seed of a split name."""
    if split not in SPLIT_SEEDS:
        raise ValueError(f"split must be one of {', '.join(SPLIT_SEEDS)}, got {split!r}")
    return SPLIT_SEEDS[split]


def _count(p: Profile, data: str, split: str) -> tuple[int, int]:
    """(videos, frames per video) of a profile's synthetic ``data`` ("actions" or "scenes") split."""
    _split_seed(split)  # checks the split name
    if data == "actions":
        return (p.train_videos if split == "train" else p.test_videos), p.video_frames
    if data == "scenes":
        n = {"train": p.scene_train_videos, "test": p.scene_test_videos, "val": max(2, p.scene_test_videos // 2)}
        return n[split], p.scene_frames
    raise ValueError(f"data must be 'actions' or 'scenes', got {data!r}")


def source(p: Profile, data: str, split: str) -> str:
    """The identity of a synthetic dataset (its :attr:`VideoFrames.source`), without rendering it.

    It names the renderer's version and every size, so a model trained on it is found again
    (:func:`gruae.training.fit`) only for the very same videos.
    """
    n, frames = _count(p, data, split)
    return f"synthetic:{data}/{split}/v{VERSION}/size{p.size}/videos{n}x{frames}"


def actions(p: Profile, split: str = "train") -> VideoFrames:
    """The synthetic human actions of a profile.

    Args:
        p: the profile (sizes and numbers of videos).
        split: ``"train"``, ``"test"`` (held out: other people, other seeds) or ``"val"`` (held
            out too, as many as test: for choosing how long to train without looking at test).

    Returns:
        :class:`VideoFrames` with ``classes`` indexing :data:`gruae.synthetic.ACTIONS`; names
        like ``walk_007``.
    """
    n, _ = _count(p, "actions", split)
    videos, labels = make_actions(n, seed=_split_seed(split), size=p.size, video_frames=p.video_frames)  # (N, T, H, W)
    names = [f"{ACTIONS[c]}_{i:03d}" for i, c in enumerate(labels)]
    return VideoFrames.from_videos(videos, names, classes=labels, min_frames=p.clip_frames,
                                   source=source(p, "actions", split))


def scenes(p: Profile, split: str = "train") -> tuple[VideoFrames, Scenes]:
    """The synthetic anomaly scenes of a profile.

    Args:
        p: the profile.
        split: ``"train"`` (normal scenes only), ``"test"`` (anomalies enter at random times) or
            ``"val"`` (held-out normal scenes, half as many as test: for choosing a threshold
            or a recipe without looking at test data).

    Returns:
        ``(frames, scenes)``: the videos with their per-frame labels as :class:`VideoFrames`, and
        the :class:`~gruae.synthetic.Scenes` with pixel masks and anomaly types.
    """
    n, _ = _count(p, "scenes", split)
    s = make_scenes(n, anomalous=split == "test", seed=10 + _split_seed(split), size=p.size,
                    video_frames=p.scene_frames)  # (N, T, H, W)
    names = [f"{split}_{i:02d}" for i in range(n)]
    frames = VideoFrames.from_videos(s.videos, names, frame_labels=list(s.labels), min_frames=p.clip_frames,
                                     source=source(p, "scenes", split))
    return frames, s

