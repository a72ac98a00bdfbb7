"""UCSD-style anomaly benchmarks: their two folder layouts, their clips and per-frame labels.

A benchmark root holds a ``training`` and a ``testing`` split, in one of two layouts:

- the common frames layout (UCSD Ped1/Ped2, CUHK Avenue as re-packaged by public repositories):
  ``root/<split>/frames/<clip>/000.jpg``; labels per clip in ``root/<split>/labels/<clip>.npy``
  (one 0/1 per frame), else, for the testing split, in a MATLAB ``.mat`` in ``root`` with key
  ``gt`` (``ped2.mat``);
- the official UCSD layout of ``UCSD_Anomaly_Dataset.tar.gz``, ``root`` being ``UCSDped2``:
  ``root/Train/Train001/001.tif``, ``root/Test/Test001/...``; testing labels from the MATLAB
  script ``root/Test/UCSDped2.m``.

Both label files list, per clip, anomalous frame ranges ``[first, last]`` (1-based, inclusive).
One parser per file turns it into entries; :func:`_match` gives each clip its entry (by the
number in the clip's name) and :func:`_ranges_to_labels` turns ranges into a 0/1 array.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import numpy as np

from gruae.errors import DataError
from gruae.readers.decode import read_frames
from gruae.readers.files import existing, frame_files, natural_key, reason, visible

SPLITS = ("training", "testing")
"""The split names of every benchmark (the official layout calls them ``Train`` and ``Test``)."""

_OFFICIAL_SPLITS = {"training": "Train", "testing": "Test"}


@dataclass
class Benchmark:
    """One split of a UCSD-style anomaly benchmark, read by :func:`read_benchmark`."""

    videos: list[np.ndarray]  # one uint8 array per clip: (T, H, W) gray or (T, H, W, C) colour
    names: list[str]  # clip folder names, e.g. "01" or "Test001"
    labels: list[np.ndarray] | None  # per-frame labels, (T,) uint8, 1 = anomalous; None if the split has none
    root: Path  # the benchmark root (holding training/ and testing/, or the official Train/ and Test/)
    split: str  # "training" or "testing"


@dataclass(frozen=True)
class Clip:
    """One clip folder of a split and its frame files, in natural order."""

    name: str
    folder: Path
    files: list[Path]


def read_benchmark(root: str | os.PathLike, split: str = "testing", *, gray: bool = True,
                   size: int | Sequence[int] | None = None) -> Benchmark:
    """Read one split of a UCSD-style anomaly benchmark (UCSD Ped1/Ped2, CUHK Avenue...).

    Clips and frames are taken in natural order; in the official layout, folders ending in
    ``_gt`` (pixel masks, e.g. ``Test003_gt``) are not clips. Per-frame labels (1 = anomalous):

    - frames layout: ``root/<split>/labels/<clip>.npy``, one ``(T,)`` 0/1 array per clip; else,
      for the testing split, a MATLAB v5 ``.mat`` in ``root`` (``ped2.mat``, ``ped1.mat``...)
      whose key ``gt`` is a cell array holding, per clip, its ``[first; last]`` frame ranges
      (a 2xK matrix for K ranges);
    - official layout: the MATLAB script ``root/Test/UCSDped2.m`` (``UCSDped1.m``; any ``.m``
      there with ``gt_frame`` lines if renamed), read as text: one
      ``TestVideoFile{end+1}.gt_frame = [61:180];`` line per clip (``[5:90, 140:200]`` for
      several ranges; ``%`` comments ignored).

    Clip ``03`` (or ``Test003``) takes the 3rd entry, so a copy holding fewer clips than the
    file has entries (test clips 01-06 with the official 12-entry ``ped2.mat``) uses only the
    entries it needs; clips with other names are matched to entries in order. Without a label
    file the labels are None (always, for the training split of either layout).

    Args:
        root: the benchmark folder (holding ``training/`` and ``testing/``, or ``Train/`` and
            ``Test/``).
        split: ``"testing"`` or ``"training"`` (any folder name under ``root`` works).
        gray: read frames as grayscale (the benchmarks are gray; their JPEGs are often RGB).
        size: resize frames to ``S x S`` or ``(H, W)``.

    Returns:
        A :class:`Benchmark`.

    Raises:
        DataError: missing split or clip folders; unreadable or mixed-size frames; a folder
            holding benchmark folders (``UCSD_Anomaly_Dataset.v1p2``) rather than being one; a
            label file that cannot be read or parsed (v7.3/HDF5 ``.mat`` files are not
            supported: save with ``-v7``), with values other than 0/1, a length that does not
            match its clip, no entry for a clip, or a range outside its clip (each naming the
            label file and the clip).
    """
    root = existing(root, folder=True)
    if not is_benchmark_root(root, strict=False):
        nested = nested_benchmarks(root)
        if nested:
            raise DataError(root, f"holds the benchmark folder(s) {', '.join(nested)}, not a benchmark's "
                                  "splits: point at one of them")
    found = clips(root, split)
    videos = [read_frames(c.folder, c.files, gray=gray, size=size) for c in found]
    return Benchmark(videos=videos, names=[c.name for c in found], labels=labels(root, split, found),
                     root=root, split=split)


# --------------------------------------------------------------------------------------------
# Layouts and clips


def is_benchmark_root(path: Path, *, strict: bool = True) -> bool:
    """Whether a folder has the frames layout (``training/frames`` or ``testing/frames``) or the
    official UCSD layout.

    Args:
        path: the folder.
        strict: for the official layout, ask for a clip folder (``Train/Train001``), not just
            ``Train/`` or ``Test/``. ``load_videos`` guesses strictly (a folder of ``Train/``
            videos stays videos); :func:`read_benchmark`, told it is a benchmark, does not.
    """
    return _is_frames_root(path) or _is_official_root(path, strict=strict)


def benchmark_splits(path: str | os.PathLike) -> list[str]:
    """The splits a benchmark root holds, in :data:`SPLITS` order; ``[]`` for any other path.

    Args:
        path: any path.
    """
    path = Path(path)
    if not (path.is_dir() and is_benchmark_root(path)):
        return []
    return [s for s in SPLITS if _split_folder(path, s).is_dir()]


def default_split(root: Path) -> str:
    """``"testing"`` when a benchmark root has a testing split, else ``"training"``."""
    return "testing" if _split_folder(root, "testing").is_dir() else "training"


def nested_benchmarks(folder: Path) -> list[str]:
    """Names of the benchmark roots a folder holds (``UCSDped1``, ``UCSDped2`` of the archive)."""
    try:
        return [p.name for p in visible(folder) if p.is_dir() and is_benchmark_root(p)]
    except DataError:
        return []


def clips(root: Path, split: str) -> list[Clip]:
    """Every clip of a split, in natural order.

    Raises:
        DataError: no such split folder, no clip folders, or a clip without frame images.
    """
    folder = _split_folder(root, split)
    if not folder.is_dir():
        expected = (f"{folder.name}/{folder.name}001/001.tif ..., the official UCSD layout" if _is_official(root)
                    else f"{split}/frames/<clip>/000.jpg ...")
        raise DataError(root, f"no {folder.relative_to(root).as_posix()} folder (expected {expected})")
    found = []
    for sub in (p for p in visible(folder) if p.is_dir() and not p.name.lower().endswith("_gt")):
        files = frame_files(sub)
        if not files:
            raise DataError(sub, "empty folder: no frame images found")
        found.append(Clip(sub.name, sub, files))
    if not found:
        raise DataError(folder, "empty folder: no clip folders found")
    return found


def _is_frames_root(path: Path) -> bool:
    """Whether a folder has the ``training/frames`` or ``testing/frames`` layout."""
    return any((path / s / "frames").is_dir() for s in SPLITS)


def _is_official_root(path: Path, *, strict: bool) -> bool:
    """Whether a folder has ``Train/`` or ``Test/`` (holding a ``Train<n>``/``Test<n>`` clip if ``strict``)."""
    for name in _OFFICIAL_SPLITS.values():
        folder = path / name
        if folder.is_dir() and (not strict or any(re.fullmatch(rf"{name}\d+", p.name) and p.is_dir()
                                                  for p in visible(folder))):
            return True
    return False


def _is_official(root: Path) -> bool:
    """Whether :func:`read_benchmark` reads ``root`` with the official UCSD layout."""
    return not _is_frames_root(root) and _is_official_root(root, strict=False)


def _split_folder(root: Path, split: str) -> Path:
    """The folder of a split's clips: ``root/<split>/frames`` or ``root/Train`` / ``root/Test``."""
    if _is_official(root):
        return root / _OFFICIAL_SPLITS.get(split, split)
    return root / split / "frames"


# --------------------------------------------------------------------------------------------
# Labels


@dataclass
class _Entry:
    """One clip's anomalous frames in a label file."""

    where: str  # the entry in messages: "gt entry 3" or "line 6: gt_frame entry 2"
    ranges: np.ndarray  # (2, K) int64: row 0 first frames, row 1 last frames, 1-based inclusive


def labels(root: Path, split: str, found: Sequence[Clip]) -> list[np.ndarray] | None:
    """Per-frame (T,) uint8 labels of a split's clips from its label file, or None without one.

    Raises:
        DataError: as :func:`read_benchmark`.
    """
    if _is_official(root):
        script = _find_gt_script(root / "Test", root.name) if _split_folder(root, split).name == "Test" else None
        if script is None:
            return None
        return _match(script, "gt_frame", "Test", _parse_gt_script(script), found)
    per_clip = root / split / "labels"
    if per_clip.is_dir():
        return [_npy_labels(per_clip / f"{c.name}.npy", c) for c in found]
    mat = _find_gt_mat(root) if split == "testing" else None
    return None if mat is None else _match(mat, "gt", "", _load_gt(mat), found)


def _match(source: Path, kind: str, prefix: str, entries: list[_Entry], found: Sequence[Clip]) -> list[np.ndarray]:
    """Give each clip its entry and turn the ranges into labels.

    Clip ``<prefix><n>`` takes entry n; if some clip name is not of that form, the clips take the
    entries in order, provided there are as many.
    """
    numbers = [re.fullmatch(rf"{prefix}(\d+)", c.name) for c in found]
    if all(numbers):
        index = [int(m.group(1)) - 1 for m in numbers]
        for c, i in zip(found, index):
            if not 0 <= i < len(entries):
                raise DataError(source, f"no {kind} entry for {c.name}: the file has {len(entries)} "
                                        f"(clip {prefix}<n> takes the n-th entry)")
    elif len(entries) == len(found):
        index = list(range(len(found)))
    else:
        raise DataError(source, f"{len(entries)} {kind} entries for {len(found)} clips whose names are not "
                                f"{prefix + '<number>' if prefix else 'numbers'}: cannot tell which entry "
                                "belongs to which clip")
    return [_ranges_to_labels(source, entries[i], c) for c, i in zip(found, index)]


def _ranges_to_labels(source: Path, entry: _Entry, clip: Clip) -> np.ndarray:
    """(2, K) 1-based inclusive ranges -> (T,) uint8 labels of a clip."""
    n = len(clip.files)
    out = np.zeros(n, dtype=np.uint8)  # (T,)
    for first, last in entry.ranges.T:
        if not 1 <= first <= last <= n:
            raise DataError(source, f"{entry.where} marks frames {first}-{last} anomalous but {clip.name} has "
                                    f"{n} frames (1-based, inclusive)")
        out[first - 1:last] = 1
    return out


def _npy_labels(path: Path, clip: Clip) -> np.ndarray:
    """One clip's (T,) labels from its own .npy file."""
    if not path.is_file():
        raise DataError(clip.folder, f"no label file {path.parent.name}/{path.name} for this clip")
    labels = check_01(path, load_npy(path).ravel())  # (T,)
    if len(labels) != len(clip.files):
        raise DataError(clip.folder, f"{len(labels)} labels in {path.name} for {len(clip.files)} frames")
    return labels


def check_01(path: Path, arr: np.ndarray) -> np.ndarray:
    """A label array checked to hold only 0 and 1, as uint8.

    Raises:
        DataError: another value.
    """
    arr = np.asarray(arr)
    if arr.dtype == object or not np.isin(arr, (0, 1)).all():
        raise DataError(path, "labels must be 0 (normal) or 1 (anomalous)")
    return arr.astype(np.uint8)


def load_npy(path: Path, *, mmap: bool = False) -> np.ndarray:
    """np.load without pickles (memory-mapped if ``mmap``).

    Raises:
        DataError: any failure to read it.
    """
    try:
        return np.load(path, allow_pickle=False, mmap_mode="r" if mmap else None)
    except Exception as e:
        raise DataError(path, f"cannot read array ({reason(e)})") from e


# ``.mat`` (frames layout): key ``gt``, a cell array of [first; last] ranges per clip


def _find_gt_mat(root: Path) -> Path | None:
    """The .mat file in root holding key ``gt`` (ped2.mat, ped1.mat first), or None."""
    import scipy.io

    for mat in sorted(root.glob("*.mat"), key=lambda p: (p.name not in ("ped2.mat", "ped1.mat"), p.name)):
        try:
            keys = [name for name, _, _ in scipy.io.whosmat(str(mat))]
        except NotImplementedError as e:
            raise DataError(mat, "MATLAB v7.3 (HDF5) file, which SciPy cannot read: resave it with "
                                 "save(..., '-v7') or write per-clip .npy labels") from e
        except Exception as e:
            raise DataError(mat, f"cannot read MATLAB file ({reason(e)})") from e
        if "gt" in keys:
            return mat
    return None


def _load_gt(path: Path) -> list[_Entry]:
    """The entries of a .mat ``gt`` cell array."""
    import scipy.io

    try:
        gt = scipy.io.loadmat(str(path), variable_names=["gt"])["gt"]
    except Exception as e:
        raise DataError(path, f"cannot read MATLAB file ({reason(e)})") from e
    if gt.dtype != object:
        raise DataError(path, f"gt is a {gt.dtype} array: expected a cell array of [first; last] ranges")
    entries = []
    for i, cell in enumerate(gt.ravel(), 1):
        try:
            arr = np.atleast_2d(np.asarray(cell, dtype=np.int64))
        except (TypeError, ValueError) as e:
            raise DataError(path, f"gt entry {i} is not numeric") from e
        if arr.size == 0:
            arr = np.zeros((2, 0), dtype=np.int64)  # no anomaly in this clip
        elif arr.shape[0] != 2 and arr.shape[1] == 2:
            arr = arr.T  # K x 2 -> 2 x K
        if arr.shape[0] != 2:
            raise DataError(path, f"gt entry {i} has shape {arr.shape}: expected [first; last] ranges (2xK)")
        entries.append(_Entry(f"gt entry {i}", arr))
    return entries


# ``.m`` (official layout): ``TestVideoFile{end+1}.gt_frame = [61:180];`` per clip

_GT_FRAME = re.compile(r"\.\s*gt_frame\s*=(?!=)\s*([^;]*)")  # `.gt_frame = <rhs>` up to `;`
_FRAME_RANGE = re.compile(r"(\d+)(?::(\d+))?")  # `61:180` or a single frame `61`


def _find_gt_script(test_dir: Path, dataset: str) -> Path | None:
    """The ground-truth ``.m`` script of a Test folder: ``<dataset>.m`` or ``UCSDped*.m`` first,
    else the first ``.m`` holding ``gt_frame``; None when there is none."""
    scripts = sorted((p for p in visible(test_dir) if p.suffix == ".m" and p.is_file()),
                     key=lambda p: (p.stem != dataset, not p.stem.startswith("UCSDped"), natural_key(p.name)))
    for script in scripts:
        if script.stem == dataset or script.stem.startswith("UCSDped"):
            return script
        try:
            if "gt_frame" in script.read_text(errors="replace"):
                return script
        except OSError:
            continue
    return None


def _parse_gt_script(path: Path) -> list[_Entry]:
    """The ``.gt_frame =`` assignments of a script, in order.

    ``%`` comments and ``%{ ... %}`` comment blocks are skipped; the right-hand side is
    ``[a:b]``, ``[a:b, c:d]`` (commas or spaces), a single frame ``[a]``, or ``[]``.
    """
    try:
        text = path.read_text(errors="replace")
    except OSError as e:
        raise DataError(path, f"cannot read file ({e.strerror or e})") from e
    entries, in_block = [], False
    for number, line in enumerate(text.splitlines(), 1):
        if line.strip() in ("%{", "%}"):
            in_block = line.strip() == "%{"
            continue
        if in_block:
            continue
        for match in _GT_FRAME.finditer(line.split("%", 1)[0]):
            ranges = _parse_frame_ranges(path, number, match.group(1).strip())
            entries.append(_Entry(f"line {number}: gt_frame entry {len(entries) + 1}", ranges))
    if not entries:
        raise DataError(path, "no gt_frame entries (expected lines like TestVideoFile{end+1}.gt_frame = [61:180];)")
    return entries


def _parse_frame_ranges(path: Path, line: int, rhs: str) -> np.ndarray:
    """``[61:180]`` / ``[5:90, 140:200]`` / ``[]`` -> (2, K) int64 [first; last] ranges."""
    bracketed = rhs.startswith("[") and rhs.endswith("]")
    inner = rhs[1:-1] if bracketed else rhs
    tokens = [t for t in re.split(r"[,\s]+", re.sub(r"\s*:\s*", ":", inner)) if t]
    matches = [_FRAME_RANGE.fullmatch(t) for t in tokens]
    if not all(matches) or "[" in inner or "]" in inner or not (tokens or bracketed):
        raise DataError(path, f"line {line}: cannot parse gt_frame = {rhs!r}: expected 1-based frame ranges "
                              "like [61:180] or [5:90, 140:200]")
    ranges = np.array([[int(m.group(1)), int(m.group(2) or m.group(1))] for m in matches],
                      dtype=np.int64).reshape(-1, 2).T  # (2, K)
    for first, last in ranges.T:
        if first > last:
            raise DataError(path, f"line {line}: empty range {first}:{last} in gt_frame (first frame after last)")
    return ranges
