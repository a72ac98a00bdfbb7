"""Decoding pixels: video files (PyAV, or Pillow for GIFs), folders of frame images, and
MoCoGAN strips (one image per video, its square frames side by side).

Each reader returns a uint8 ``(T, H, W)`` (grey) or ``(T, H, W, C)`` (colour) array and has a
``probe_*`` partner that reads only headers, for :func:`gruae.readers.describe`.
"""

from __future__ import annotations

import os
import warnings
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Iterable, Iterator, Sequence

import numpy as np

from gruae.errors import DataError
from gruae.readers.files import (
    VIDEO_EXTENSIONS, existing, frame_files, reason, undecodable, video_files, visible,
)
from gruae.readers.frames import CHUNK_FRAMES, collect, composite_on_black, hw_text, preprocess

CHANNELS = {"1": 1, "L": 1, "LA": 2, "La": 2, "P": 3, "PA": 4, "RGB": 3, "RGBA": 4, "RGBa": 4,
            "RGBX": 3, "CMYK": 3, "YCbCr": 3, "I;16": 1, "I;16L": 1, "I;16B": 1, "I;16N": 1}
"""Channels of each Pillow mode the readers accept."""

_GRAY_MODES = frozenset({"1", "L", "LA", "La", "I;16", "I;16L", "I;16B", "I;16N"})

Shape = tuple[int, int, int]  # (H, W, C) of a video's frames, as stored


# --------------------------------------------------------------------------------------------
# Video files


def read_video(path: str | os.PathLike, *, gray: bool = False,
               size: int | Sequence[int] | None = None) -> np.ndarray:
    """Read a video file into a uint8 array.

    Containers and codecs are whatever FFmpeg (through PyAV) decodes: mp4/H.264, avi with
    msmpeg4v3 or mpeg4 (the Weizmann files), mov, mkv, webm/VP9... GIFs are read with Pillow,
    palette and alpha composited onto black, as RGB. If the decoder delivers fewer frames than
    the container header declares (a truncated file whose index survived), the frames decoded
    are returned and a :class:`UserWarning` says how many were missing.

    Args:
        path: the video file.
        gray: convert to grayscale with :func:`~gruae.readers.to_gray`.
        size: resize frames to ``S x S`` or ``(H, W)`` with :func:`~gruae.readers.resize`.

    Returns:
        uint8 ``(T, H, W, 3)``, or ``(T, H, W)`` when ``gray``; ``H, W`` are ``size`` if given.

    Raises:
        DataError: missing or zero-byte file, unsupported extension, no video stream, a file
            that cannot be decoded (truncated or corrupt), zero frames, or frames that change
            size mid-stream.
    """
    path = check_video_file(path)
    frames = _decode_gif(path) if path.suffix.lower() == ".gif" else _decode_av(path)
    return collect(path, frames, gray, size)


def check_video_file(path: str | os.PathLike) -> Path:
    """An existing, non-empty file with a video extension.

    Raises:
        DataError: missing, a folder, an extension not in :data:`VIDEO_EXTENSIONS`, or 0 bytes.
    """
    path = existing(path, folder=False)
    ext = path.suffix.lower()
    if ext not in VIDEO_EXTENSIONS:
        raise DataError(path, f"unsupported video extension {ext or '(none)'!r} "
                              f"(expected one of {', '.join(sorted(VIDEO_EXTENSIONS))})")
    if path.stat().st_size == 0:
        raise DataError(path, "empty file (0 bytes)")
    return path


def _open_av(path: Path):
    """Open a container with PyAV; return (container, first video stream)."""
    import av

    try:
        container = av.open(str(path))
    except Exception as e:  # FFmpegError, OSError, ...: all mean "cannot decode"
        raise undecodable(path, e) from e
    if not container.streams.video:
        container.close()
        raise DataError(path, "no video stream (an audio-only file?)")
    return container, container.streams.video[0]


def _decode_av(path: Path) -> Iterator[np.ndarray]:
    """Yield (H, W, 3) RGB frames decoded by PyAV."""
    container, stream = _open_av(path)
    declared, n = stream.frames, 0
    with container:
        stream.thread_type = "AUTO"
        try:
            for frame in container.decode(stream):
                yield frame.to_ndarray(format="rgb24")  # (H, W, 3)
                n += 1
        except DataError:
            raise
        except Exception as e:
            raise undecodable(path, e, after=n) from e
    if 0 < n < declared:
        warnings.warn(f"{path}: decoded {n} of the {declared} frames its header declares; "
                      "the file may be truncated", UserWarning, stacklevel=3)


def _decode_gif(path: Path) -> Iterator[np.ndarray]:
    """Yield (H, W, 3) RGB frames of an animated GIF."""
    from PIL import Image, ImageSequence

    try:
        with Image.open(path) as im:
            for frame in ImageSequence.Iterator(im):
                yield _pil_array(frame, "RGB")
    except DataError:
        raise
    except Exception as e:
        raise undecodable(path, e) from e


def probe_video(path: Path) -> tuple[int, Shape]:
    """(frames, (H, W, C)) of a video from its header, without decoding pixels.

    The frame count is the container's declared count, else the number of video packets.

    Raises:
        DataError: as :func:`read_video`.
    """
    path = check_video_file(path)
    if path.suffix.lower() == ".gif":
        from PIL import Image

        try:
            with Image.open(path) as im:
                return int(getattr(im, "n_frames", 1)), (im.height, im.width, 3)
        except Exception as e:
            raise undecodable(path, e) from e
    container, stream = _open_av(path)
    with container:
        try:
            n = stream.frames or sum(1 for p in container.demux(stream) if p.size)
        except Exception as e:
            raise undecodable(path, e) from e
        h, w = stream.codec_context.height, stream.codec_context.width
    if n == 0:
        raise DataError(path, "no frames: the video is empty")
    return n, (h, w, 3)


# --------------------------------------------------------------------------------------------
# Images


def _pil_array(im, mode: str) -> np.ndarray:
    """A Pillow image as uint8 (H, W) for mode "L" or (H, W, 3) for "RGB", alpha on black."""
    if im.mode.startswith("I;16"):
        a = (np.asarray(im).astype(np.uint16) >> 8).astype(np.uint8)  # (H, W), top 8 bits
        return a if mode == "L" else np.repeat(a[..., None], 3, axis=-1)
    if im.mode in ("RGBA", "RGBa", "LA", "La", "PA") or "transparency" in im.info:
        a = np.asarray(im.convert("LA" if mode == "L" else "RGBA"))  # (H, W, 2 or 4)
        out = composite_on_black(a)
        return out[..., 0] if mode == "L" else out
    return np.asarray(im if im.mode == mode else im.convert(mode))


def probe_image(path: Path) -> tuple[tuple[int, int], str]:
    """((H, W), Pillow mode) from an image header, without decoding pixels.

    Raises:
        DataError: not an image, a cut header, or a pixel mode the readers do not take.
    """
    from PIL import Image

    try:
        with Image.open(path) as im:
            size, mode = (im.height, im.width), im.mode
    except Exception as e:
        raise DataError(path, f"cannot read image (not an image, truncated or corrupt: {reason(e)})") from e
    if mode not in CHANNELS:
        raise DataError(path, f"unsupported pixel mode {mode!r} (32-bit or float image?): save frames as 8-bit")
    return size, mode


def _load_image(path: Path, mode: str) -> np.ndarray:
    """Decode one image to uint8 (H, W) for mode "L" or (H, W, 3) for "RGB"."""
    from PIL import Image

    try:
        with Image.open(path) as im:
            im.load()
            return _pil_array(im, mode)
    except Exception as e:
        raise undecodable(path, e, "image") from e


def _frame_mode(modes: Iterable[str], gray: bool) -> str:
    """The one Pillow mode a set of frames is read in: "L" if gray or all gray, else "RGB"."""
    return "L" if gray or all(m in _GRAY_MODES for m in modes) else "RGB"


def _decode_images(files: Sequence[Path], mode: str) -> Iterator[np.ndarray]:
    """Decode images on a few threads (Pillow releases the GIL), yielding them in order."""
    workers = min(8, os.cpu_count() or 1)
    with ThreadPoolExecutor(max_workers=workers) as pool:
        for start in range(0, len(files), CHUNK_FRAMES):
            part = files[start:start + CHUNK_FRAMES]
            yield from pool.map(_load_image, part, [mode] * len(part))


# --------------------------------------------------------------------------------------------
# Frame folders


def read_frame_folder(path: str | os.PathLike, *, gray: bool = False,
                      size: int | Sequence[int] | None = None) -> np.ndarray:
    """Read a folder of frame images as one video.

    Files with the extensions in :data:`IMAGE_EXTENSIONS` are taken in natural order
    (``frame2.png`` before ``frame10.png``); other files and hidden files are ignored. Mixed
    pixel modes are normalised: the video is grayscale if every frame is (``L``, ``1``,
    ``LA``, 16-bit gray), else RGB; alpha is composited onto black; 16-bit frames keep their
    top 8 bits. Frames are decoded on a few threads.

    Args:
        path: the folder.
        gray: convert to grayscale (Pillow's ITU-R 601 luma, identical to ``to_gray``).
        size: resize frames to ``S x S`` or ``(H, W)`` with ``resize``.

    Returns:
        uint8 ``(T, H, W)`` if ``gray`` or all frames are gray, else ``(T, H, W, 3)``.

    Raises:
        DataError: no such folder; no frame images in it; frames of mixed sizes (naming both
            files); an unreadable, truncated or corrupt image (naming it).
    """
    folder = existing(path, folder=True)
    files = frame_files(folder)
    if not files:
        raise DataError(folder, _empty_folder_problem(folder))
    return read_frames(folder, files, gray=gray, size=size)


def read_frames(folder: Path, files: Sequence[Path], *, gray: bool, size) -> np.ndarray:
    """Read a listed sequence of frame files (a clip of ``folder``) as one video.

    Raises:
        DataError: as :func:`read_frame_folder`.
    """
    headers = [probe_image(f) for f in files]
    for f, (hw, _) in zip(files, headers):
        if hw != headers[0][0]:
            raise DataError(folder, f"frames of mixed sizes ({hw_text(headers[0][0])} in {files[0].name}, "
                                    f"{hw_text(hw)} in {f.name})")
    mode = _frame_mode((m for _, m in headers), gray)
    return collect(folder, _decode_images(files, mode), False, size)


def probe_frames(files: Sequence[Path]) -> tuple[int, Shape]:
    """(frames, (H, W, C)) of a listed frame sequence, from the first file's header."""
    (h, w), mode = probe_image(files[0])
    return len(files), (h, w, CHANNELS[mode])


def _empty_folder_problem(folder: Path) -> str:
    """Why a folder holds no frames, with a hint when it holds videos instead."""
    videos = video_files(folder)
    if videos:
        return f"no frame images found, but {len(videos)} video file(s): use read_video or load_videos"
    subfolders = [p for p in visible(folder) if p.is_dir()]
    if subfolders:
        return f"no frame images found, but {len(subfolders)} sub-folder(s): use load_videos"
    return "empty folder: no video files or frame images found"


# --------------------------------------------------------------------------------------------
# MoCoGAN strips


def read_strip(path: str | os.PathLike, *, gray: bool = False,
               size: int | Sequence[int] | None = None) -> np.ndarray:
    """Read a MoCoGAN strip image: one video, its square frames side by side from left to right.

    The frames are square, so their side is the image height ``S`` and the video has
    ``width / S`` frames.

    Args:
        path: the image (png, jpg...).
        gray: convert to grayscale.
        size: resize frames to ``S' x S'`` or ``(H, W)``.

    Returns:
        uint8 ``(T, S, S)`` if gray (or a gray image), else ``(T, S, S, 3)``.

    Raises:
        DataError: missing or unreadable image, or a width that is not a multiple of the height.
    """
    path = existing(path, folder=False)
    (s, w), mode = probe_image(path)
    t = _strip_length(path, s, w)
    img = _load_image(path, _frame_mode([mode], gray))  # (S, T*S[, 3])
    frames = img.reshape(s, t, s, *img.shape[2:]).swapaxes(0, 1)  # (T, S, S[, 3])
    return preprocess(np.ascontiguousarray(frames), False, size)


def probe_strip(path: Path) -> tuple[int, Shape]:
    """(frames, (S, S, C)) of a strip from its header.

    Raises:
        DataError: unreadable, or a width that is not a multiple of the height.
    """
    (s, w), mode = probe_image(path)
    return _strip_length(path, s, w), (s, s, CHANNELS[mode])


def _strip_length(path: Path, h: int, w: int) -> int:
    """The number of h x h frames in an h x w strip; DataError unless w is a multiple of h."""
    if w % h:
        raise DataError(path, f"not a strip of square frames: image is {h}x{w} "
                              f"(the width must be a multiple of the height, {h})")
    return w // h


def looks_like_strip(hw: tuple[int, int]) -> bool:
    """The strip rule of ``load_videos``: a width that is a multiple of the height, at least twice it."""
    h, w = hw
    return w % h == 0 and w >= 2 * h
