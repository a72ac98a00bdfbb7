"""The book's datasets, by profile: synthetic actions and scenes, and the real videos.

:func:`actions` and :func:`scenes` render the procedural videos of :mod:`gruae.synthetic` at the
profile's sizes; training and held-out splits use different seeds, so no held-out video is ever
seen in training. :func:`waving` (the article's real actions, split by person),
:func:`unseen_actions` and :func:`ped2` read real datasets found by :mod:`gruae.hub`; they raise
a :class:`~gruae.errors.DataError` saying how to get the data when it is not there. Each returns
a :class:`~gruae.data.VideoFrames` whose ``source`` names the data (for real videos, with their
numbers of videos and frames), which is how trained and shipped models are matched to their data.
"""

from __future__ import annotations

from pathlib import Path
from typing import Sequence

import numpy as np

from .config import Profile
from .data import VideoFrames
from .errors import DataError
from .synthetic import ACTIONS, VERSION, Scenes, make_actions, make_scenes

__all__ = ["actions", "scenes", "source", "SPLIT_SEEDS", "WAVING", "PERFORMERS", "performer", "waving",
           "unseen_actions", "PED2_VAL", "ped2", "REAL", "load", "identity"]

SPLIT_SEEDS = {"train": 0, "test": 1, "val": 2}
"""Seed of each split: the same profile always gives the same videos."""


def _split_name(split: str) -> str:
    """A checked split name: ``"train"``, ``"test"`` or ``"val"``."""
    if split not in SPLIT_SEEDS:
        raise ValueError(f"split must be one of {', '.join(SPLIT_SEEDS)}, got {split!r}")
    return split


def _split_seed(split: str) -> int:
    """The seed of a split name."""
    return SPLIT_SEEDS[_split_name(split)]


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


def actions(p: Profile, split: str = "train", clean: bool = False) -> VideoFrames:
    """The synthetic human actions of a profile.

    Args:
        p: the profile (sizes and numbers of videos).
        split: ``"train"``, ``"test"`` (held out: other people, other seeds) or ``"val"`` (held
            out too, as many as test: for choosing how long to train without looking at test).
        clean: the very same videos without their sensor noise: what a perfect reconstruction
            that removes the noise would output (its ``source`` ends in ``/clean``).

    Returns:
        :class:`VideoFrames` with ``classes`` indexing :data:`gruae.synthetic.ACTIONS`; names
        like ``walk_007``.
    """
    n, _ = _count(p, "actions", split)
    # (N, T, H, W); the noise is drawn after every other draw, so leaving it out changes nothing else
    videos, labels = make_actions(n, seed=_split_seed(split), size=p.size, video_frames=p.video_frames,
                                  **({"noise": 0.0} if clean else {}))
    names = [f"{ACTIONS[c]}_{i:03d}" for i, c in enumerate(labels)]
    return VideoFrames.from_videos(videos, names, classes=labels, min_frames=p.clip_frames,
                                   source=source(p, "actions", split) + ("/clean" if clean else ""))


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



# --------------------------------------------------------------------------- real videos
WAVING = ("0", "1")
"""The folders of MoCoGAN's ``data/actions`` the book trains on: one-hand (0) and two-hand (1)
waving, the two of the four that every copy of this book has."""

PERFORMERS = {"train": (0, 1, 2, 3, 4, 5), "val": (6,), "test": (7, 8)}
"""The performers of each split of the real actions: nine people, none in two splits."""


def performer(name: str) -> int:
    """The performer of a MoCoGAN action file, from its number: ``00000019`` -> 2.

    MoCoGAN numbers the Weizmann crops person by person, eight files each: four actions, each
    also mirrored left-right (``n`` and ``n + 1``). So ``number // 8`` is the person, and a
    video and its mirror image always land in the same split.
    """
    stem = Path(name).stem
    if not stem.isdigit():
        raise DataError(name, "expected a MoCoGAN action file named by its number, e.g. 00000019.jpg")
    return int(stem) // 8


def _shape_id(videos: Sequence[np.ndarray]) -> str:
    """What identifies a real split besides its name: how many videos and frames it holds.

    Not a hash of the pixels: the same dataset comes as re-encoded copies (UCSD's official TIFF
    frames, the JPEG re-packaging of the anomaly-detection repositories), which differ in the
    last bits of their pixels but are the same videos for a model.
    """
    return f"videos{len(videos)}/frames{sum(len(v) for v in videos)}"


def waving(p: Profile, split: str = "train", *, folders: Sequence[str] = WAVING) -> VideoFrames:
    """Real human actions: the Weizmann waving videos as packed by MoCoGAN, split by person.

    The article's data. Found with :func:`gruae.hub.find` (``mocogan_actions``: run
    ``python -m gruae data get mocogan_actions``, or link a copy). Frames are grey, at the
    profile's size (the crops are 64x64 already).

    Args:
        p: the profile (frame size and clip length).
        split: ``"train"``, ``"val"`` or ``"test"``: the performers of :data:`PERFORMERS`; a
            video and its mirror image are always in the same split.
        folders: the action folders to read (default :data:`WAVING`; the other folders of a
            full copy are actions the shipped models never saw).

    Returns:
        :class:`VideoFrames` named ``<folder>/<number>``, ``classes`` = index in ``folders``.

    Raises:
        DataError: the dataset is not there (the message says how to get it), a folder is
            missing, or no video of the split is in it.
    """
    from .hub import find
    from .readers import load_videos

    people = PERFORMERS[_split_name(split)]
    root = find("mocogan_actions")
    videos, names, classes = [], [], []
    for c, folder in enumerate(folders):
        got = load_videos(root / folder, gray=True, size=p.size)  # strips of (T_i, 64, 64)
        for video, name in zip(got.videos, got.names):
            if performer(name) in people:
                videos.append(video)
                names.append(f"{folder}/{name}")
                classes.append(c)
    if not videos:
        raise DataError(root, f"no video of performers {people} in folders {', '.join(folders)}")
    source = f"mocogan_actions:{'+'.join(folders)}/{split}/size{p.size}/{_shape_id(videos)}"
    return VideoFrames.from_videos(videos, names, classes=classes, min_frames=p.clip_frames, source=source)


def unseen_actions(p: Profile) -> VideoFrames:
    """The actions of a full MoCoGAN copy that the waving models never saw, by unseen people.

    Every folder of ``data/actions`` besides :data:`WAVING` (jumping jacks and bending in the
    MoCoGAN repository), performers of the ``test`` split only.

    Raises:
        DataError: the dataset is not there, or it holds no other action folder.
    """
    from .hub import find

    root = find("mocogan_actions")
    others = tuple(sorted(d.name for d in root.iterdir() if d.is_dir() and d.name not in WAVING
                          and not d.name.startswith(".")))
    if not others:
        raise DataError(root, f"holds only the waving folders {', '.join(WAVING)}: the other actions are "
                              "in the full download (`python -m gruae data get mocogan_actions`)")
    return waving(p, "test", folders=others)


PED2_VAL = (15, 16)
"""UCSD Ped2 training clips held out of training (``15``, ``16``; ``Train015``, ``Train016`` in
the official layout): normal videos for choosing how long to train and for calibrating scores."""


def _clip_number(name: str) -> int:
    """A benchmark clip's number: ``"07"`` and ``"Test007"`` -> 7 (0 when it has none)."""
    digits = "".join(ch for ch in name if ch.isdigit())
    return int(digits) if digits else 0


def ped2(p: Profile, split: str = "train", *, size: int | None = None, root=None) -> VideoFrames:
    """UCSD Ped2, grey, resized to ``size`` x ``size`` (default the profile's).

    Args:
        p: the profile.
        split: ``"train"`` (the training clips but :data:`PED2_VAL`), ``"val"`` (those two:
            normal, held out) or ``"test"`` (every testing clip present, with frame labels).
        size: frame height = width.
        root: a UCSD Ped2 folder (either layout; default: :func:`gruae.hub.find`'s).

    Raises:
        DataError: the dataset is not there (the message says how to get it), or unreadable.
    """
    from .hub import find
    from .readers import read_benchmark

    _split_name(split)
    size = size or p.size
    b = read_benchmark(root or find("ucsd_ped2"), "testing" if split == "test" else "training", size=size)
    numbers = [_clip_number(n) for n in b.names]
    keep = [i for i, n in enumerate(numbers) if split == "test" or ((n in PED2_VAL) == (split == "val"))]
    if not keep:
        held = ", ".join(f"{n:02d}" for n in PED2_VAL)
        raise DataError(b.root, f"no training clip for the {split!r} split: it holds the training clips but "
                                f"{held} (as `train`) and {held} (as `val`); found {', '.join(b.names) or 'none'}")
    videos, names = [b.videos[i] for i in keep], [b.names[i] for i in keep]
    if split == "test" and b.labels is None:
        raise DataError(b.root, "no frame labels for the testing clips (ped2.mat, UCSDped2.m or labels/*.npy)")
    labels = [b.labels[i] for i in keep] if split == "test" else None
    clips = f"{numbers[keep[0]]:02d}-{numbers[keep[-1]]:02d}" if keep else "none"  # the same in either layout
    source = f"ucsd_ped2/{split}/clips{clips}/size{size}/{_shape_id(videos)}"
    return VideoFrames.from_videos(videos, names, frame_labels=labels, min_frames=p.clip_frames, source=source)


REAL = {"waving": "mocogan_actions", "ped2": "ucsd_ped2", "ped2_motion": "ucsd_ped2"}
"""The real datasets :func:`load` knows: its name -> the :data:`gruae.hub.DATA_HUB` entry it needs."""


def load(p: Profile, data: str, split: str = "train") -> VideoFrames:
    """Any of the book's datasets by name: ``"actions"``, ``"scenes"`` (synthetic), ``"waving"``,
    ``"ped2"`` or ``"ped2_motion"`` (real, see :data:`REAL`; the last is Ped2's frame
    differences, :meth:`~gruae.data.VideoFrames.motion`), one split of it, at the profile's sizes.

    Raises:
        DataError: an unknown name, or real data that is not there (saying how to get it).
    """
    loaders = {"actions": actions, "scenes": lambda p, s: scenes(p, s)[0], "waving": waving, "ped2": ped2,
               "ped2_motion": lambda p, s: ped2(p, s).motion()}
    if data not in loaders:
        raise DataError(None, f"unknown dataset {data!r}; known: {', '.join(loaders)}")
    return loaders[data](p, split)


def identity(p: Profile, data: str, split: str = "train") -> str:
    """The ``source`` of :func:`load`'s videos: computed without rendering for the synthetic
    sets; the real ones are read (their identity counts their videos and frames)."""
    return source(p, data, split) if data in ("actions", "scenes") else load(p, data, split).source
