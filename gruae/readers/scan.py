"""Recognising what a path holds, from the path alone: :func:`load_videos` reads it,
:func:`describe` summarises it from headers.

Both start from the same plan (:func:`_scan`): a list of videos, each with its name, where it
comes from and which reader of :mod:`gruae.readers.decode` takes it.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Sequence

import numpy as np

from gruae.errors import DataError
from gruae.readers import benchmarks
from gruae.readers.arrays import ARRAY_EXTENSIONS, read_array_file
from gruae.readers.decode import (
    check_video_file, looks_like_strip, probe_frames, probe_image, probe_strip, probe_video,
    read_frames, read_strip, read_video,
)
from gruae.readers.files import IMAGE_EXTENSIONS, frame_files, video_files, visible
from gruae.readers.frames import hw_text, preprocess


@dataclass
class Videos:
    """Videos loaded by :func:`load_videos`, with their names and optional labels."""

    videos: list[np.ndarray]  # one uint8 array per video: (T, H, W) gray or (T, H, W, C) colour
    names: list[str]  # one name per video: file stem, folder name or clip name
    kind: str  # what the path held: "video", "frames", "videos", "strips", "frame-folders", "benchmark" or "array"
    labels: list[np.ndarray] | None  # per-frame anomaly labels, (T,) uint8 0/1 per video, or None
    path: Path  # the path that was read
    sources: list[str]  # where each video comes from, for messages: its file or folder ("FILE (key)" in arrays)


@dataclass(frozen=True)
class _Item:
    """One video of a plan."""

    name: str
    path: Path  # the video file, strip image or frame folder
    reader: str  # "video", "strip" or "frames"
    files: tuple[Path, ...] = ()  # the frame files, for "frames"


@dataclass
class _Plan:
    """What a path holds, found without decoding pixels."""

    kind: str  # one of the Videos.kind values
    items: list[_Item]  # empty for "array" (the file is read whole)
    split: str | None = None  # benchmark split
    root: Path | None = None  # benchmark root


def load_videos(path: str | os.PathLike, *, gray: bool = True, size: int | Sequence[int] | None = None,
                split: str | None = None) -> Videos:
    """Load every video a path holds, recognising the format from the path alone.

    Rules, in order:

    - a ``.npy`` or ``.npz`` file: see :func:`gruae.readers.arrays.read_array_file` (kind
      ``"array"``);
    - a video file (:data:`VIDEO_EXTENSIONS`): one video (kind ``"video"``);
    - a single image: a MoCoGAN strip if it passes the strip rule below, else an error;
    - a folder with ``training/frames`` or ``testing/frames``, or the official UCSD
      ``Train/Train001`` or ``Test/Test001`` (a ``UCSDped2`` folder): a UCSD-style benchmark,
      its ``split`` (default ``"testing"`` when present, with labels) (kind ``"benchmark"``,
      see :func:`read_benchmark`);
    - a folder of video files: each file a video (kind ``"videos"``);
    - a folder of images: if **every** image is a strip (a width that is a multiple of the
      height, at least twice it), each image is a MoCoGAN strip (kind ``"strips"``); otherwise
      the images are the frames of one video (kind ``"frames"``). Use
      :func:`read_frame_folder` for frames that happen to look like strips;
    - a folder of folders: each video file in the sub-folders is a video (kind ``"videos"``,
      named ``sub/stem``, e.g. the Weizmann folder); or, if every image in them is a strip,
      each image is a video (kind ``"strips"``, named ``sub/stem``, e.g. MoCoGAN's
      ``data/actions``); else each sub-folder of images is a video (kind ``"frame-folders"``,
      e.g. ``testing/frames``).

    Args:
        path: the file or folder.
        gray: convert frames to grayscale (default, as the book's models use).
        size: resize frames to ``S x S`` or ``(H, W)``.
        split: the benchmark split (``"testing"`` or ``"training"``); ignored for other paths.

    Returns:
        :class:`Videos`; ``labels`` are set for benchmarks and ``.npz`` files with labels.

    Raises:
        DataError: the path does not exist, holds nothing readable, mixes kinds, or any reader
            raises (see :func:`read_video`, :func:`read_frame_folder`, :func:`read_strip`,
            :func:`read_benchmark`).
    """
    path = Path(path)
    plan = _scan(path, split)
    labels = None
    if plan.kind == "array":
        videos, names, labels = read_array_file(path)
        videos = [preprocess(v, gray, size) for v in videos]
        sources = [f"{path} ({n})" for n in names]
    else:
        videos = [_read(item, gray, size) for item in plan.items]
        names, sources = [i.name for i in plan.items], [str(i.path) for i in plan.items]
        if plan.kind == "benchmark":
            labels = benchmarks.labels(plan.root, plan.split, _clips(plan))
    return Videos(videos=videos, names=names, kind=plan.kind, labels=labels, path=path, sources=sources)


def describe(path: str | os.PathLike, *, split: str | None = None) -> dict:
    """Summarise what a path holds, cheaply, for ``python -m gruae info``.

    No pixels are decoded: frame counts come from file counts (frame folders, benchmarks),
    image widths (strips), container headers (videos; the number of packets when the header
    has no count) or array shapes (``.npy`` memory-mapped; ``.npz`` is loaded); the frame size
    and channels come from the first frame of each video, as stored, before the gray
    conversion and resizing :func:`load_videos` may apply. Benchmark labels are read in full
    (they are small).

    Args:
        path: anything :func:`load_videos` accepts.
        split: the benchmark split (default ``"testing"`` when present).

    Returns:
        A dict, in display order, with values ready to print: ``path``, ``kind``, ``split``
        (benchmarks only), ``videos`` (int), ``frames`` (int, total), ``frames_per_video``
        (``"min..max"``), ``frame_size`` (``"HxW, C channel(s)"``, or ``"mixed: ..."`` listing
        the distinct sizes) and ``labels`` (``"none"`` or e.g.
        ``"per-frame: 1020 frames, 578 anomalous (56.7%)"``).

    Raises:
        DataError: as :func:`load_videos`.
    """
    path = Path(path)
    plan = _scan(path, split)
    labels = None
    if plan.kind == "array":
        videos, _, labels = read_array_file(path, mmap=True)
        counts = [len(v) for v in videos]
        shapes = [(v.shape[1], v.shape[2], v.shape[3] if v.ndim == 4 else 1) for v in videos]
    else:
        counts, shapes = zip(*(_probe(item) for item in plan.items))
        if plan.kind == "benchmark":
            labels = benchmarks.labels(plan.root, plan.split, _clips(plan))
    info = {"path": str(path), "kind": plan.kind}
    if plan.split:
        info["split"] = plan.split
    info.update(videos=len(counts), frames=int(sum(counts)), frames_per_video=f"{min(counts)}..{max(counts)}",
                frame_size=_shapes_text(shapes), labels=_labels_text(labels))
    return info


def kind_of(path: str | os.PathLike) -> str:
    """What :func:`load_videos` would read a path as (its ``Videos.kind``), from headers only.

    Raises:
        DataError: as :func:`load_videos`.
    """
    return _scan(Path(path), None).kind


def _read(item: _Item, gray: bool, size) -> np.ndarray:
    """Decode one planned video."""
    if item.reader == "video":
        return read_video(item.path, gray=gray, size=size)
    if item.reader == "strip":
        return read_strip(item.path, gray=gray, size=size)
    return read_frames(item.path, item.files, gray=gray, size=size)


def _probe(item: _Item) -> tuple[int, tuple[int, int, int]]:
    """(frames, (H, W, C)) of one planned video, from headers only."""
    if item.reader == "video":
        return probe_video(item.path)
    if item.reader == "strip":
        return probe_strip(item.path)
    return probe_frames(item.files)


def _clips(plan: _Plan) -> list[benchmarks.Clip]:
    """The clips of a benchmark plan."""
    return [benchmarks.Clip(i.name, i.path, list(i.files)) for i in plan.items]


# --------------------------------------------------------------------------------------------
# The plan


def _scan(path: Path, split: str | None) -> _Plan:
    """Recognise what ``path`` holds (the rules of :func:`load_videos`)."""
    if not path.exists():
        raise DataError(path, "no such file or folder")
    if path.is_file():
        return _scan_file(path)
    if benchmarks.is_benchmark_root(path):
        split = split or benchmarks.default_split(path)
        items = [_Item(c.name, c.folder, "frames", tuple(c.files)) for c in benchmarks.clips(path, split)]
        return _Plan("benchmark", items, split, path)
    return _scan_folder(path)


def _scan_file(path: Path) -> _Plan:
    """A single file: video, strip image or array."""
    ext = path.suffix.lower()
    if ext in ARRAY_EXTENSIONS:
        return _Plan("array", [])
    if ext in IMAGE_EXTENSIONS:
        hw, _ = probe_image(path)
        if not looks_like_strip(hw):
            raise DataError(path, f"a single {hw_text(hw)} image is not a video: point at its folder for a "
                                  "folder of frames; a MoCoGAN strip's width is a multiple of its height, "
                                  "at least twice it")
        return _Plan("strips", [_Item(path.stem, path, "strip")])
    check_video_file(path)
    return _Plan("video", [_Item(path.stem, path, "video")])


def _scan_folder(folder: Path) -> _Plan:
    """A folder of videos, of frames, of strips, or of sub-folders."""
    videos, images = video_files(folder), frame_files(folder)
    if videos and images:
        raise DataError(folder, f"holds both video files ({len(videos)}) and images ({len(images)}): "
                                "point at one kind")
    if videos:
        return _Plan("videos", [_Item(v.stem, v, "video") for v in videos])
    if images:
        if _all_strips(images):
            return _Plan("strips", [_Item(f.stem, f, "strip") for f in images])
        return _Plan("frames", [_Item(folder.name, folder, "frames", tuple(images))])
    return _scan_subfolders(folder)


def _scan_subfolders(folder: Path) -> _Plan:
    """A folder of video folders, of strip folders, or of frame folders."""
    subs = [(sub, frame_files(sub), video_files(sub)) for sub in visible(folder) if sub.is_dir()]
    has_images, has_videos = any(images for _, images, _ in subs), any(videos for _, _, videos in subs)
    if has_images and has_videos:
        raise DataError(folder, "sub-folders hold both frame images and video files: point at one kind")
    if has_videos:
        return _Plan("videos", [_Item(f"{sub.name}/{v.stem}", v, "video")
                                for sub, _, videos in subs for v in videos])
    if has_images and _all_strips(f for _, images, _ in subs for f in images):
        return _Plan("strips", [_Item(f"{sub.name}/{f.stem}", f, "strip")
                                for sub, images, _ in subs for f in images])
    if has_images:
        return _Plan("frame-folders", [_Item(sub.name, sub, "frames", tuple(images)) for sub, images, _ in subs
                                       if images])
    nested = benchmarks.nested_benchmarks(folder)
    if nested:
        raise DataError(folder, f"holds the benchmark folder(s) {', '.join(nested)}: point at one of them")
    raise DataError(folder, "empty folder: no video files or frame images found")


def _all_strips(images: Iterable[Path]) -> bool:
    """Whether every image passes the strip rule (headers read until one does not)."""
    return all(looks_like_strip(probe_image(f)[0]) for f in images)


def _shapes_text(shapes: Iterable[tuple[int, int, int]]) -> str:
    """``"HxW, C channel(s)"``, or the distinct sizes joined when they differ."""
    distinct = sorted(set(shapes))
    text = "; ".join(f"{h}x{w}, {c} channel(s)" for h, w, c in distinct[:4])
    return text if len(distinct) == 1 else f"mixed: {text}{'; ...' if len(distinct) > 4 else ''}"


def _labels_text(labels: list[np.ndarray] | None) -> str:
    """A one-line summary of per-frame labels."""
    if labels is None:
        return "none"
    n = sum(len(a) for a in labels)
    k = int(sum(int(a.sum()) for a in labels))
    return f"per-frame: {n} frames, {k} anomalous ({100 * k / max(n, 1):.1f}%)"
