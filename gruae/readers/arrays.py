"""Videos stored as NumPy arrays: ``.npy`` and ``.npz`` files of uint8 frames."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from gruae.errors import DataError
from gruae.readers.benchmarks import check_01, load_npy
from gruae.readers.files import reason

ARRAY_EXTENSIONS = frozenset({".npy", ".npz"})
"""File extensions read as arrays of videos (lower case)."""


def read_array_file(path: Path, *, mmap: bool = False) -> tuple[list[np.ndarray], list[str], list[np.ndarray] | None]:
    """Videos, names and per-frame labels (or None) of a ``.npy`` or ``.npz`` file.

    - ``.npy``: uint8 ``(T, H, W)`` or ``(T, H, W, C)`` is one video, ``(N, T, H, W)`` or
      ``(N, T, H, W, C)`` is N videos (a 4-D array is one colour video when its last axis is
      1, 3 or 4, else N gray videos);
    - ``.npz``: key ``videos`` as for ``.npy`` plus optional ``labels`` ``(N, T)``; without
      ``videos``, every array is one video named by its key.

    Args:
        path: the file.
        mmap: memory-map a ``.npy`` file instead of reading it.

    Raises:
        DataError: unreadable, empty, not uint8, of another shape, or labels that do not fit.
    """
    if path.suffix.lower() == ".npy":
        videos, names = _split_array(path, load_npy(path, mmap=mmap), path.stem)
        return videos, names, None
    try:
        with np.load(path, allow_pickle=False) as z:
            data = {k: z[k] for k in z.files}
    except Exception as e:
        raise DataError(path, f"cannot read array ({reason(e)})") from e
    if not data:
        raise DataError(path, "empty .npz: no arrays")
    if "videos" not in data:
        videos = [_split_array(path, arr, key, single=True)[0][0] for key, arr in data.items()]
        return videos, list(data), None
    videos, names = _split_array(path, data["videos"], "video")
    labels = None
    if "labels" in data:
        lab = check_01(path, data["labels"])  # (N, T)
        if lab.shape != (len(videos), len(videos[0])):
            raise DataError(path, f"labels have shape {lab.shape}, expected (N, T) = "
                                  f"{(len(videos), len(videos[0]))}")
        labels = list(lab)
    return videos, names, labels


def _split_array(path: Path, arr: np.ndarray, name: str, *,
                 single: bool = False) -> tuple[list[np.ndarray], list[str]]:
    """(T, H, W) / (T, H, W, C) -> one video; (N, T, H, W) / (N, T, H, W, C) -> N videos.

    A 4-D array whose last axis is 1, 3 or 4 is one colour video (T, H, W, C); any other 4-D
    array is N gray videos (N, T, H, W).
    """
    if arr.dtype != np.uint8:
        raise DataError(path, f"{name}: expected uint8 frames, got {arr.dtype} (scale to 0..255 and cast)")
    colour = arr.ndim == 4 and arr.shape[-1] in (1, 3, 4)  # (T, H, W, C), not N videos W <= 4 px wide
    one = arr.ndim == 3 or (arr.ndim == 4 and (single or colour))
    many = not one and not single and arr.ndim in (4, 5)
    if not (one or many) or 0 in arr.shape or (arr.ndim == 5 and arr.shape[-1] not in (1, 3, 4)):
        expected = "(T, H, W) or (T, H, W, C)" if single else "(T, H, W), (N, T, H, W) or (N, T, H, W, C)"
        raise DataError(path, f"{name}: array of shape {arr.shape}, expected {expected}")
    if one:
        return [arr], [name]
    return list(arr), [f"{name}_{i:03d}" for i in range(len(arr))]
