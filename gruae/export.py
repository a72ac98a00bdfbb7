"""Write videos to disk: reconstructions as GIF or MP4 (the article's ``generated_videos``).

::

    from gruae.export import save_video, side_by_side
    save_video(data_dir() / "generated_videos" / "walk.gif", side_by_side(x, x_hat), fps=8)

Files are written to a temporary name and renamed, so an interrupted write never leaves half a
video under the final name. Read them back with :func:`gruae.readers.read_video`.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from .errors import DataError
from .plotting import as_frames

__all__ = ["FORMATS", "side_by_side", "save_video"]

FORMATS = (".gif", ".mp4")
"""The file types :func:`save_video` writes."""


def side_by_side(*videos, gap: int = 2, fill: int = 255) -> np.ndarray:
    """Put videos of equal length next to each other, left to right.

    Args:
        *videos: videos in any form :func:`gruae.plotting.as_frames` accepts (uint8, or float
            in [-1, 1]; grey or colour; all grey or all colour), the same length and height.
        gap: pixels of ``fill`` between neighbours.
        fill: grey level of the gaps.

    Returns:
        uint8 ``(T, H, W_total)`` (or ``(T, H, W_total, 3)``).

    Raises:
        DataError: no videos, or lengths or heights that differ.
    """
    vids = [as_frames(v) for v in videos]  # each (T, H, W) or (T, H, W, 3)
    if not vids:
        raise DataError(None, "side_by_side needs at least one video")
    shapes = {(v.shape[0], v.shape[1], v.shape[3:]) for v in vids}
    if len(shapes) != 1:
        raise DataError(None, "videos must share length, height and channels, got shapes "
                              + ", ".join(str(v.shape) for v in vids))
    T, H = vids[0].shape[:2]
    spacer = np.full((T, H, gap) + vids[0].shape[3:], fill, np.uint8)  # (T, H, gap[, 3])
    parts = [p for v in vids for p in (v, spacer)][:-1]
    return np.concatenate(parts, axis=2)  # (T, H, W_total[, 3])


def save_video(path: str | os.PathLike, video, *, fps: float = 8, scale: int = 1) -> Path:
    """Save a video as an animated GIF (looping) or an H.264 MP4, by the file's extension.

    Args:
        path: the file to write (``.gif`` or ``.mp4``); missing folders are created.
        video: the frames (see :func:`gruae.plotting.as_frames`).
        fps: frames per second.
        scale: enlarge each pixel to ``scale x scale`` (64x64 frames are tiny in a viewer).

    Returns:
        The path written.

    Raises:
        DataError: an extension other than ``.gif`` or ``.mp4``, an empty video, or a failed write.
    """
    import imageio.v3 as iio

    path = Path(path)
    ext = path.suffix.lower()
    if ext not in FORMATS:
        raise DataError(path, f"cannot write {ext or 'a file without extension'}: use one of {', '.join(FORMATS)}")
    v = as_frames(video)  # (T, H, W) or (T, H, W, 3), uint8
    if len(v) == 0:
        raise DataError(path, "the video has no frames")
    if scale > 1:
        v = v.repeat(scale, axis=1).repeat(scale, axis=2)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.stem}.partial{ext}")
    try:
        if ext == ".gif":
            iio.imwrite(tmp, v, extension=".gif", duration=1000 / fps, loop=0)
        else:
            if v.ndim == 3:
                v = np.repeat(v[..., None], 3, axis=-1)  # (T, H, W) -> (T, H, W, 3): H.264 wants colour
            pad = ((0, 0), (0, v.shape[1] % 2), (0, v.shape[2] % 2), (0, 0))  # yuv420p needs even sides
            v = np.pad(v, pad, mode="edge")
            iio.imwrite(tmp, v, plugin="pyav", codec="libx264", fps=fps, out_pixel_format="yuv420p")
        os.replace(tmp, path)
    except DataError:
        raise
    except Exception as exc:  # imageio/PyAV raise many types; name the file either way
        tmp.unlink(missing_ok=True)
        raise DataError(path, f"could not write the video: {exc}") from exc
    return path
