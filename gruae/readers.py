"""Reading videos and datasets into uint8 arrays, and the two preprocessing steps they share.

Every reader returns NumPy ``uint8`` arrays, one per video: ``(T, H, W)`` for grayscale or
``(T, H, W, C)`` for colour (``C = 3``). Formats:

- video files (:func:`read_video`): mp4, avi (including the msmpeg4v3 AVIs of the Weizmann
  actions set), mov, mkv, webm, gif..., decoded with PyAV (FFmpeg) or, for GIFs, Pillow;
- folders of frame images (:func:`read_frame_folder`): jpg, jpeg, png, tif, tiff, bmp, in
  natural order (``2.png`` before ``10.png``);
- MoCoGAN strips (:func:`read_strip`): one image per video, frames side by side;
- UCSD-style anomaly benchmarks (:func:`read_benchmark`): ``training/frames/<clip>/000.jpg``,
  ``testing/frames/<clip>/...`` and per-frame labels from a ``.mat`` file or ``.npy`` files;
  or the official UCSD layout ``UCSDped2/Train/Train001/001.tif``, ``Test/Test001/...`` with
  labels from the ``Test/UCSDped2.m`` script;
- the Weizmann actions zips and the official UCSD Ped1/Ped2 archive, downloaded on request and
  verified (:func:`weizmann`, :func:`ucsd`);
- anything of the above, recognised from the path alone (:func:`load_videos`, :func:`describe`).

Preprocessing: :func:`to_gray` (ITU-R 601 luma, the same integer formula as Pillow's
``convert("L")``) and :func:`resize` (antialiased bilinear, vectorised with PyTorch).

Every problem with the input raises :class:`gruae.errors.DataError` whose one-line message
names the file and the problem, for example
``clips/03.avi: cannot decode video (truncated or corrupt: Invalid data found when processing
input)``. Importing this module is cheap: PyAV, Pillow, SciPy and PyTorch are imported inside
the functions that need them.
"""

from __future__ import annotations

import os
import re
import warnings
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Iterator, Sequence

import numpy as np

from gruae.download import data_dir, fetch, safe_extract, sha256sum
from gruae.errors import DataError, DownloadError

__all__ = [
    "VIDEO_EXTENSIONS", "IMAGE_EXTENSIONS", "WEIZMANN_ACTIONS", "WEIZMANN_URL", "WEIZMANN_SHA256",
    "UCSD_URL", "UCSD_SHA256",
    "Benchmark", "Videos",
    "to_gray", "resize",
    "read_video", "read_frame_folder", "read_strip", "read_benchmark",
    "load_videos", "describe", "weizmann", "ucsd", "data_dir",
]

VIDEO_EXTENSIONS = frozenset({
    ".mp4", ".m4v", ".mov", ".avi", ".mkv", ".webm", ".mpg", ".mpeg", ".wmv", ".flv", ".ogv",
    ".3gp", ".gif",
})
"""File extensions read as videos (lower case)."""

IMAGE_EXTENSIONS = frozenset({".jpg", ".jpeg", ".png", ".tif", ".tiff", ".bmp"})
"""File extensions read as frame images (lower case)."""

_ARRAY_EXTENSIONS = frozenset({".npy", ".npz"})
_GRAY_MODES = frozenset({"1", "L", "LA", "La", "I;16", "I;16L", "I;16B", "I;16N"})
_CHANNELS = {"1": 1, "L": 1, "LA": 2, "La": 2, "P": 3, "PA": 4, "RGB": 3, "RGBA": 4, "RGBa": 4,
             "RGBX": 3, "CMYK": 3, "YCbCr": 3, "I;16": 1, "I;16L": 1, "I;16B": 1, "I;16N": 1}
_CHUNK_FRAMES = 64  # frames decoded before they are converted/resized together


# --------------------------------------------------------------------------------------------
# Results


@dataclass
class Videos:
    """Videos loaded by :func:`load_videos`, with their names and optional labels."""

    videos: list[np.ndarray]  # one uint8 array per video: (T, H, W) gray or (T, H, W, C) colour
    names: list[str]  # one name per video: file stem, folder name or clip name
    kind: str  # what the path held: "video", "frames", "videos", "strips", "frame-folders", "benchmark" or "array"
    labels: list[np.ndarray] | None  # per-frame anomaly labels, (T,) uint8 0/1 per video, or None
    path: Path  # the path that was read


@dataclass
class Benchmark:
    """One split of a UCSD-style anomaly benchmark, read by :func:`read_benchmark`."""

    videos: list[np.ndarray]  # one uint8 array per clip: (T, H, W) gray or (T, H, W, C) colour
    names: list[str]  # clip folder names, e.g. "01" or "Test001"
    labels: list[np.ndarray] | None  # per-frame labels, (T,) uint8, 1 = anomalous; None if the split has none
    root: Path  # the benchmark root (holding training/ and testing/, or the official Train/ and Test/)
    split: str  # "training" or "testing"


# --------------------------------------------------------------------------------------------
# Preprocessing


def to_gray(frames: np.ndarray) -> np.ndarray:
    """Convert colour frames to grayscale with the ITU-R 601 luma.

    ``Y = (19595 R + 38470 G + 7471 B + 32768) >> 16``, the integer form of
    ``0.299 R + 0.587 G + 0.114 B`` that Pillow's ``convert("L")`` uses, so the two agree
    exactly. An alpha channel (``C`` = 2 or 4) is first composited onto black.

    Args:
        frames: uint8 ``(T, H, W)`` (returned unchanged) or ``(T, H, W, C)`` with ``C`` in 1..4.

    Returns:
        uint8 ``(T, H, W)``.

    Raises:
        DataError: not uint8, or not one of those shapes.
    """
    frames = _check_frames(frames, "to_gray")
    if frames.ndim == 3:
        return frames
    if frames.shape[-1] in (2, 4):
        frames = _composite_on_black(frames)
    if frames.shape[-1] == 1:
        return np.ascontiguousarray(frames[..., 0])
    y = frames[..., 0].astype(np.uint32) * 19595  # (T, H, W)
    y += frames[..., 1].astype(np.uint32) * 38470
    y += frames[..., 2].astype(np.uint32) * 7471
    y += 32768
    y >>= 16
    return y.astype(np.uint8)


def resize(frames: np.ndarray, size: int | Sequence[int]) -> np.ndarray:
    """Resize every frame with antialiased bilinear interpolation.

    Uses ``torch.nn.functional.interpolate(mode="bilinear", antialias=True)`` on float32 in
    chunks (a triangle filter as wide as the scale factor when shrinking, plain bilinear when
    enlarging), then rounds back to uint8.

    Args:
        frames: uint8 ``(T, H, W)`` or ``(T, H, W, C)``.
        size: ``S`` for ``S x S`` frames, or ``(H, W)``.

    Returns:
        uint8 ``(T, H', W')`` or ``(T, H', W', C)``; the input itself when it already has that
        size.

    Raises:
        DataError: ``frames`` is not a uint8 video array, or ``size`` is not positive.
    """
    frames = _check_frames(frames, "resize")
    h, w = _size_hw(size)
    if frames.shape[1:3] == (h, w):
        return frames
    import torch
    import torch.nn.functional as F

    t = frames.shape[0]
    per_frame = max(frames[0].size, h * w * (frames.shape[3] if frames.ndim == 4 else 1))
    chunk = max(1, (1 << 24) // per_frame)  # about 64 MB of float32 per chunk
    out = np.empty((t, h, w) + frames.shape[3:], dtype=np.uint8)  # (T, H', W'[, C])
    for start in range(0, t, chunk):
        part = frames[start:start + chunk]
        if not (part.flags.writeable and part.flags.c_contiguous):
            part = np.array(part)  # torch.from_numpy wants a writeable contiguous array
        x = torch.from_numpy(part)
        x = x[:, None] if frames.ndim == 3 else x.permute(0, 3, 1, 2)  # (t, C, H, W)
        y = F.interpolate(x.float(), size=(h, w), mode="bilinear", antialias=True, align_corners=False)
        y = y.round_().clamp_(0, 255).to(torch.uint8)  # (t, C, H', W')
        y = y[:, 0] if frames.ndim == 3 else y.permute(0, 2, 3, 1)
        out[start:start + chunk] = y.numpy()
    return out


def _check_frames(frames: np.ndarray, what: str) -> np.ndarray:
    """Check a uint8 (T, H, W) or (T, H, W, C<=4) array."""
    frames = np.asarray(frames)
    if frames.dtype != np.uint8:
        raise DataError(None, f"{what} expects uint8 frames, got {frames.dtype}")
    if frames.ndim not in (3, 4) or (frames.ndim == 4 and not 1 <= frames.shape[-1] <= 4) or 0 in frames.shape:
        raise DataError(None, f"{what} expects (T, H, W) or (T, H, W, C) with C in 1..4, got shape {frames.shape}")
    return frames


def _size_hw(size: int | Sequence[int]) -> tuple[int, int]:
    """``S`` or ``(H, W)`` as a checked ``(H, W)`` pair."""
    hw = (size, size) if isinstance(size, (int, np.integer)) else tuple(size)
    if len(hw) != 2 or not all(isinstance(v, (int, np.integer)) and v > 0 for v in hw):
        raise DataError(None, f"size must be a positive int or an (H, W) pair, got {size!r}")
    return int(hw[0]), int(hw[1])


def _composite_on_black(frames: np.ndarray) -> np.ndarray:
    """(..., C+1) colour + alpha -> (..., C) colour composited onto black."""
    alpha = frames[..., -1:].astype(np.uint16)
    return ((frames[..., :-1].astype(np.uint16) * alpha + 127) // 255).astype(np.uint8)


def _preprocess(frames: np.ndarray, gray: bool, size) -> np.ndarray:
    """Apply the optional gray conversion and resize to a (T, H, W[, C]) chunk."""
    if gray:
        frames = to_gray(frames)
    if size is not None:
        frames = resize(frames, size)
    return frames


def _collect(path: Path, frames: Iterable[np.ndarray], gray: bool, size) -> np.ndarray:
    """Stack decoded (H, W[, C]) frames chunk by chunk, preprocessing each chunk."""
    if size is not None:
        _size_hw(size)  # fail before decoding anything
    chunks, buf, first = [], [], None
    for i, frame in enumerate(frames):
        if first is None:
            first = (frame.shape, i)
        elif frame.shape != first[0]:
            raise DataError(path, f"frames of mixed sizes ({_hw(first[0])} in frame {first[1]}, "
                                  f"{_hw(frame.shape)} in frame {i})")
        buf.append(frame)
        if len(buf) == _CHUNK_FRAMES:
            chunks.append(_preprocess(np.stack(buf), gray, size))
            buf = []
    if buf:
        chunks.append(_preprocess(np.stack(buf), gray, size))
    if not chunks:
        raise DataError(path, "no frames: the video is empty")
    return chunks[0] if len(chunks) == 1 else np.concatenate(chunks)  # (T, H, W[, C])


def _hw(shape: Sequence[int]) -> str:
    """``(H, W, ...)`` as ``"HxW"``."""
    return f"{shape[0]}x{shape[1]}"


# --------------------------------------------------------------------------------------------
# Files and names


def _natural_key(name: str) -> list:
    """Sort key putting ``2.png`` before ``10.png``."""
    return [int(t) if t.isdigit() else t.lower() for t in re.split(r"(\d+)", name)]


def _visible(folder: Path) -> list[Path]:
    """The entries of a folder, hidden ones (``.x``, ``__MACOSX``) left out, naturally sorted."""
    try:
        entries = [p for p in folder.iterdir() if not p.name.startswith((".", "__MACOSX"))]
    except OSError as e:
        raise DataError(folder, f"cannot list folder ({e.strerror or e})") from e
    return sorted(entries, key=lambda p: _natural_key(p.name))


def _frame_files(folder: Path) -> list[Path]:
    """Image files of a folder, naturally sorted."""
    return [p for p in _visible(folder) if p.suffix.lower() in IMAGE_EXTENSIONS and p.is_file()]


def _video_files(folder: Path) -> list[Path]:
    """Video files of a folder, naturally sorted."""
    return [p for p in _visible(folder) if p.suffix.lower() in VIDEO_EXTENSIONS and p.is_file()]


def _existing(path: str | os.PathLike, *, folder: bool) -> Path:
    """``path`` as a Path, checked to be an existing file (or folder)."""
    path = Path(path)
    if not path.exists():
        raise DataError(path, "no such file or folder")
    if folder and not path.is_dir():
        raise DataError(path, "not a folder")
    if not folder and not path.is_file():
        raise DataError(path, "not a file (a folder? use read_frame_folder or load_videos)")
    return path


def _reason(e: BaseException) -> str:
    """A short, path-free reason from a decoder exception."""
    text = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
    text = re.sub(r"^\[Errno -?\d+\]\s*", "", text)
    text = re.sub(r"""[:;]\s*['"][^'"]*['"]\s*$""", "", text)  # a trailing ": '/the/path'"
    return text[:160] or type(e).__name__


# --------------------------------------------------------------------------------------------
# Video files


def read_video(path: str | os.PathLike, *, gray: bool = False, size: int | Sequence[int] | None = None) -> np.ndarray:
    """Read a video file into a uint8 array.

    Containers and codecs are whatever FFmpeg (through PyAV) decodes: mp4/H.264, avi with
    msmpeg4v3 or mpeg4 (the Weizmann files), mov, mkv, webm/VP9... GIFs are read with Pillow,
    palette and alpha composited onto black, as RGB. If the decoder delivers fewer frames than
    the container header declares (a truncated file whose index survived), the frames decoded
    are returned and a :class:`UserWarning` says how many were missing.

    Args:
        path: the video file.
        gray: convert to grayscale with :func:`to_gray`.
        size: resize frames to ``S x S`` or ``(H, W)`` with :func:`resize`.

    Returns:
        uint8 ``(T, H, W, 3)``, or ``(T, H, W)`` when ``gray``; ``H, W`` are ``size`` if given.

    Raises:
        DataError: missing or zero-byte file, unsupported extension, no video stream, a file
            that cannot be decoded (truncated or corrupt), zero frames, or frames that change
            size mid-stream.
    """
    path = _check_video_file(path)
    frames = _decode_gif(path) if path.suffix.lower() == ".gif" else _decode_av(path)
    return _collect(path, frames, gray, size)


def _check_video_file(path: str | os.PathLike) -> Path:
    """An existing, non-empty file with a video extension."""
    path = _existing(path, folder=False)
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
        raise DataError(path, f"cannot decode video (truncated or corrupt: {_reason(e)})") from e
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
            raise DataError(path, f"cannot decode video (truncated or corrupt: {_reason(e)}) "
                                  f"after {n} frames") from e
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
        raise DataError(path, f"cannot decode video (truncated or corrupt: {_reason(e)})") from e


def _probe_video(path: Path) -> tuple[int, tuple[int, int, int]]:
    """(frames, (H, W, C)) of a video from its header, without decoding pixels.

    The frame count is the container's declared count, else the number of video packets.
    """
    if path.suffix.lower() == ".gif":
        from PIL import Image

        try:
            with Image.open(path) as im:
                return int(getattr(im, "n_frames", 1)), (im.height, im.width, 3)
        except Exception as e:
            raise DataError(path, f"cannot decode video (truncated or corrupt: {_reason(e)})") from e
    container, stream = _open_av(path)
    with container:
        try:
            n = stream.frames or sum(1 for p in container.demux(stream) if p.size)
        except Exception as e:
            raise DataError(path, f"cannot decode video (truncated or corrupt: {_reason(e)})") from e
        h, w = stream.codec_context.height, stream.codec_context.width
    if n == 0:
        raise DataError(path, "no frames: the video is empty")
    return n, (h, w, 3)


# --------------------------------------------------------------------------------------------
# Images: frame folders and strips


def _pil_array(im, mode: str) -> np.ndarray:
    """A Pillow image as uint8 (H, W) for mode "L" or (H, W, 3) for "RGB", alpha on black."""
    if im.mode.startswith("I;16"):
        a = (np.asarray(im).astype(np.uint16) >> 8).astype(np.uint8)  # (H, W), top 8 bits
        return a if mode == "L" else np.repeat(a[..., None], 3, axis=-1)
    has_alpha = im.mode in ("RGBA", "RGBa", "LA", "La", "PA") or "transparency" in im.info
    if has_alpha:
        a = np.asarray(im.convert("LA" if mode == "L" else "RGBA"))  # (H, W, 2 or 4)
        out = _composite_on_black(a)
        return out[..., 0] if mode == "L" else out
    return np.asarray(im if im.mode == mode else im.convert(mode))


def _probe_image(path: Path) -> tuple[tuple[int, int], str]:
    """((H, W), mode) from an image header, without decoding pixels."""
    from PIL import Image

    try:
        with Image.open(path) as im:
            size, mode = (im.height, im.width), im.mode
    except Exception as e:
        raise DataError(path, f"cannot read image (not an image, truncated or corrupt: {_reason(e)})") from e
    if mode not in _CHANNELS:
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
        raise DataError(path, f"cannot decode image (truncated or corrupt: {_reason(e)})") from e


def _frame_mode(modes: Iterable[str], gray: bool) -> str:
    """The one Pillow mode a set of frames is read in: "L" if gray or all gray, else "RGB"."""
    return "L" if gray or all(m in _GRAY_MODES for m in modes) else "RGB"


def _check_same_size(folder: Path, files: Sequence[Path], sizes: Sequence[tuple[int, int]]) -> None:
    """DataError naming the first two files whose sizes differ."""
    for f, s in zip(files, sizes):
        if s != sizes[0]:
            raise DataError(folder, f"frames of mixed sizes ({_hw(sizes[0])} in {files[0].name}, "
                                    f"{_hw(s)} in {f.name})")


def _decode_images(files: Sequence[Path], mode: str) -> Iterator[np.ndarray]:
    """Decode images on a few threads (Pillow releases the GIL), yielding them in order."""
    workers = min(8, os.cpu_count() or 1)
    with ThreadPoolExecutor(max_workers=workers) as pool:
        for start in range(0, len(files), _CHUNK_FRAMES):
            yield from pool.map(_load_image, files[start:start + _CHUNK_FRAMES],
                                [mode] * len(files[start:start + _CHUNK_FRAMES]))


def _read_frames(folder: Path, files: Sequence[Path], gray: bool, size) -> np.ndarray:
    """Read a checked list of frame files as one video."""
    headers = [_probe_image(f) for f in files]
    _check_same_size(folder, files, [h[0] for h in headers])
    mode = _frame_mode((h[1] for h in headers), gray)
    return _collect(folder, _decode_images(files, mode), False, size)


def read_frame_folder(path: str | os.PathLike, *, gray: bool = False, size: int | Sequence[int] | None = None) -> np.ndarray:
    """Read a folder of frame images as one video.

    Files with the extensions in :data:`IMAGE_EXTENSIONS` are taken in natural order
    (``frame2.png`` before ``frame10.png``); other files and hidden files are ignored. Mixed
    pixel modes are normalised: the video is grayscale if every frame is (``L``, ``1``,
    ``LA``, 16-bit gray), else RGB; alpha is composited onto black; 16-bit frames keep their
    top 8 bits. Frames are decoded on a few threads.

    Args:
        path: the folder.
        gray: convert to grayscale (Pillow's ITU-R 601 luma, identical to :func:`to_gray`).
        size: resize frames to ``S x S`` or ``(H, W)`` with :func:`resize`.

    Returns:
        uint8 ``(T, H, W)`` if ``gray`` or all frames are gray, else ``(T, H, W, 3)``.

    Raises:
        DataError: no such folder; no frame images in it; frames of mixed sizes (naming both
            files); an unreadable, truncated or corrupt image (naming it).
    """
    folder = _existing(path, folder=True)
    files = _frame_files(folder)
    if not files:
        raise DataError(folder, _empty_folder_problem(folder))
    return _read_frames(folder, files, gray, size)


def _empty_folder_problem(folder: Path) -> str:
    """Why a folder holds no frames, with a hint when it holds videos instead."""
    videos = _video_files(folder)
    if videos:
        return f"no frame images found, but {len(videos)} video file(s): use read_video or load_videos"
    subfolders = [p for p in _visible(folder) if p.is_dir()]
    if subfolders:
        return f"no frame images found, but {len(subfolders)} sub-folder(s): use load_videos"
    return "empty folder: no video files or frame images found"


def read_strip(path: str | os.PathLike, *, frame_size: int = 64, gray: bool = False,
               size: int | Sequence[int] | None = None) -> np.ndarray:
    """Read a MoCoGAN strip image: one video, its square frames side by side from left to right.

    Args:
        path: the image (png, jpg...).
        frame_size: the side of each square frame; the image height must equal it and its
            width must be a multiple of it.
        gray: convert to grayscale.
        size: resize frames to ``S x S`` or ``(H, W)``.

    Returns:
        uint8 ``(T, frame_size, frame_size)`` if gray (or a gray image), else ``(T, fs, fs, 3)``;
        ``T = width // frame_size``.

    Raises:
        DataError: missing or unreadable image, or a height/width that does not fit
            ``frame_size``.
    """
    path = _existing(path, folder=False)
    (h, w), mode = _probe_image(path)
    _check_strip_shape(path, h, w, frame_size)
    img = _load_image(path, _frame_mode([mode], gray))  # (fs, T*fs[, 3])
    t = w // frame_size
    frames = img.reshape(frame_size, t, frame_size, *img.shape[2:]).swapaxes(0, 1)  # (T, fs, fs[, 3])
    return _preprocess(np.ascontiguousarray(frames), False, size)


def _check_strip_shape(path: Path, h: int, w: int, frame_size: int) -> None:
    """DataError unless an h x w image is a strip of frame_size x frame_size frames."""
    if not isinstance(frame_size, (int, np.integer)) or frame_size <= 0:
        raise DataError(None, f"frame_size must be a positive int, got {frame_size!r}")
    if h != frame_size or w % frame_size:
        raise DataError(path, f"not a strip of {frame_size}x{frame_size} frames: image is {h}x{w} "
                              f"(height must be {frame_size}, width a multiple of it; pass frame_size=)")


def _is_strip(hw: tuple[int, int], frame_size: int) -> bool:
    """The strip rule: height == frame_size, width a multiple of it, at least two frames."""
    h, w = hw
    return h == frame_size and w % frame_size == 0 and w >= 2 * frame_size


# --------------------------------------------------------------------------------------------
# UCSD-style benchmarks


def read_benchmark(root: str | os.PathLike, split: str = "testing", *, gray: bool = True,
                   size: int | Sequence[int] | None = None) -> Benchmark:
    """Read one split of a UCSD-style anomaly benchmark (UCSD Ped1/Ped2, CUHK Avenue...).

    Two layouts are read (clips and frames in natural order):

    - the frames layout: ``root/<split>/frames/<clip>/<frame>.jpg``;
    - the official UCSD layout of ``UCSD_Anomaly_Dataset.tar.gz`` (see :func:`ucsd`), where
      ``root`` is the ``UCSDped1`` or ``UCSDped2`` folder: ``root/Train/Train001/001.tif`` and
      ``root/Test/Test001/001.tif``; ``split`` ``"training"`` and ``"testing"`` name ``Train``
      and ``Test``. Folders ending in ``_gt`` (pixel masks, e.g. ``Test003_gt``) are not clips.
      The testing labels come from the MATLAB script ``root/Test/UCSDped2.m`` (``UCSDped1.m``;
      any ``.m`` there with ``gt_frame`` lines if renamed), read as text: the n-th
      ``TestVideoFile{end+1}.gt_frame = [61:180];`` line (``[5:90, 140:200]`` for several
      ranges; 1-based, inclusive; ``%`` comments ignored) is clip ``Test<n>``, so a copy
      holding fewer test clips uses only the entries it needs. Without a ``.m`` file, or for
      the training split, the labels are None. The rest of this list is for the frames layout.

    Per-frame labels (1 = anomalous) are looked for, first found wins:

    1. ``root/<split>/labels/<clip>.npy``: one ``(T,)`` 0/1 array per clip (any split);
    2. ``root/<split>/frame_labels*.npy``, or for the testing split ``root/frame_labels*.npy``:
       one 0/1 array concatenated over the clips in order (shape ``(N,)`` or ``(1, N)``, as
       in the MNAD repository). If it is longer than the clips here and they are numbered
       1..k, the first frames are used (a copy with the last clips withheld);
    3. testing split only: a MATLAB v5 ``.mat`` in ``root`` (``ped2.mat``, ``ped1.mat``...)
       with key ``gt``: a cell array with, per clip, ``[first; last]`` 1-based inclusive
       frame ranges (a 2xK matrix for K ranges). Clips named by number take entry
       ``int(name) - 1`` (clip ``03`` -> ``gt{3}``), so a folder holding fewer clips than
       ``gt`` has entries (e.g. test clips 01-06 with a 12-entry official ``ped2.mat``) uses
       only the entries it needs; otherwise clips and entries are matched in order.

    With none of these the labels are None.

    Args:
        root: the benchmark folder (holding ``training/`` and ``testing/``, or ``Train/`` and
            ``Test/``).
        split: ``"testing"`` or ``"training"`` (any folder name under ``root`` works).
        gray: read frames as grayscale (the benchmarks are gray; their JPEGs are often RGB).
        size: resize frames to ``S x S`` or ``(H, W)``.

    Returns:
        A :class:`Benchmark`.

    Raises:
        DataError: missing split or clip folders, unreadable or mixed-size frames, labels whose
            length does not match a clip, values other than 0/1, a clip without a ``gt`` entry,
            ``gt`` ranges outside the clip, or a ``.mat`` file that cannot be read (v7.3/HDF5
            files are not supported: save with ``-v7``); for the official layout, a ``.m`` file
            with a ``gt_frame`` line that does not parse, a range outside its clip, or a test
            clip without a ``gt_frame`` entry (each naming the ``.m`` file); a folder holding
            benchmark folders (``UCSD_Anomaly_Dataset.v1p2``) rather than being one.
    """
    root = _existing(root, folder=True)
    if not _is_frames_root(root) and not _is_official_root(root, strict=False):
        nested = _nested_benchmarks(root)
        if nested:
            raise DataError(root, f"holds the benchmark folder(s) {', '.join(nested)}, not a benchmark's "
                                  "splits: point at one of them")
    clips = _benchmark_clips(root, split)
    videos = [_read_frames(folder, files, gray, size) for _, folder, files in clips]
    names = [name for name, _, _ in clips]
    labels = _benchmark_labels(root, split, clips)
    return Benchmark(videos=videos, names=names, labels=labels, root=root, split=split)


_OFFICIAL_SPLITS = {"training": "Train", "testing": "Test"}  # split -> official UCSD folder


def _is_benchmark_root(path: Path) -> bool:
    """Whether a folder has the ``training/frames`` or ``testing/frames`` layout, or the official
    UCSD layout (``Train/Train001/`` or ``Test/Test001/``)."""
    return _is_frames_root(path) or _is_official_root(path)


def _is_frames_root(path: Path) -> bool:
    """Whether a folder has the ``training/frames`` or ``testing/frames`` layout."""
    return (path / "training" / "frames").is_dir() or (path / "testing" / "frames").is_dir()


def _is_official_root(path: Path, *, strict: bool = True) -> bool:
    """Whether a folder has the official UCSD layout: ``Train/`` or ``Test/`` holding a clip
    folder named ``Train<n>`` / ``Test<n>`` (``strict``), or just ``Train/`` or ``Test/``.

    :func:`load_videos` guesses with ``strict`` (a folder of ``Train/`` videos stays videos);
    :func:`read_benchmark`, told the path is a benchmark, only needs the split folders.
    """
    for name in ("Train", "Test"):
        folder = path / name
        if folder.is_dir() and (not strict or _has_clip_folder(folder, name)):
            return True
    return False


def _has_clip_folder(folder: Path, prefix: str) -> bool:
    """Whether ``folder`` holds a sub-folder named ``<prefix><digits>`` (e.g. ``Train001``)."""
    try:
        return any(re.fullmatch(rf"{prefix}\d+", p.name) and p.is_dir() for p in folder.iterdir())
    except OSError:
        return False


def _is_official_layout(root: Path) -> bool:
    """Whether :func:`read_benchmark` reads ``root`` with the official UCSD layout."""
    return not _is_frames_root(root) and _is_official_root(root, strict=False)


def _default_split(root: Path) -> str:
    """``"testing"`` when a benchmark root has a testing split, else ``"training"``."""
    testing = root / "Test" if _is_official_layout(root) else root / "testing" / "frames"
    return "testing" if testing.is_dir() else "training"


def _nested_benchmarks(folder: Path) -> list[str]:
    """Names of the benchmark roots a folder holds (``UCSDped1``, ``UCSDped2`` of the archive)."""
    try:
        return [p.name for p in _visible(folder) if p.is_dir() and _is_benchmark_root(p)]
    except DataError:
        return []


def _benchmark_clips(root: Path, split: str) -> list[tuple[str, Path, list[Path]]]:
    """(name, folder, frame files) of every clip of a split."""
    if _is_official_layout(root):
        return _official_clips(root, split)
    frames_dir = root / split / "frames"
    if not frames_dir.is_dir():
        raise DataError(root, f"no {split}/frames folder (expected {split}/frames/<clip>/000.jpg ...)")
    return _clip_folders(frames_dir)


def _clip_folders(parent: Path, *, skip_gt: bool = False) -> list[tuple[str, Path, list[Path]]]:
    """(name, folder, frame files) of every clip folder in ``parent`` (``*_gt`` skipped if asked)."""
    clips = []
    for folder in (p for p in _visible(parent) if p.is_dir() and not (skip_gt and p.name.lower().endswith("_gt"))):
        files = _frame_files(folder)
        if not files:
            raise DataError(folder, "empty folder: no frame images found")
        clips.append((folder.name, folder, files))
    if not clips:
        raise DataError(parent, "empty folder: no clip folders found")
    return clips


def _benchmark_labels(root: Path, split: str, clips: Sequence[tuple[str, Path, list[Path]]]) -> list[np.ndarray] | None:
    """Per-frame labels of a split's clips, from the first label source found (or None)."""
    if _is_official_layout(root):
        return _official_labels(root, split, clips)
    lengths = [len(files) for _, _, files in clips]
    per_clip = root / split / "labels"
    if per_clip.is_dir():
        return [_npy_labels(per_clip / f"{name}.npy", folder, n) for (name, folder, _), n in zip(clips, lengths)]
    concatenated = sorted((root / split).glob("frame_labels*.npy"))
    if split == "testing":
        concatenated += sorted(root.glob("frame_labels*.npy"))
    if concatenated:
        return _split_concatenated(concatenated[0], clips, lengths)
    if split == "testing":
        mat = _find_gt_mat(root)
        if mat is not None:
            return _mat_labels(mat, clips, lengths)
    return None


def _check_01(path: Path, arr: np.ndarray) -> np.ndarray:
    """A label array checked to hold only 0 and 1, as uint8."""
    arr = np.asarray(arr)
    if arr.dtype == object or not np.isin(arr, (0, 1)).all():
        raise DataError(path, "labels must be 0 (normal) or 1 (anomalous)")
    return arr.astype(np.uint8)


def _load_npy(path: Path, *, mmap: bool = False) -> np.ndarray:
    """np.load without pickles (memory-mapped if ``mmap``), any failure as DataError."""
    try:
        return np.load(path, allow_pickle=False, mmap_mode="r" if mmap else None)
    except Exception as e:
        raise DataError(path, f"cannot read array ({_reason(e)})") from e


def _npy_labels(path: Path, clip: Path, n: int) -> np.ndarray:
    """One clip's (T,) labels from its own .npy file."""
    if not path.is_file():
        raise DataError(clip, f"no label file {path.parent.name}/{path.name} for this clip")
    labels = _check_01(path, _load_npy(path).ravel())  # (T,)
    if len(labels) != n:
        raise DataError(clip, f"{len(labels)} labels in {path.name} for {n} frames")
    return labels


def _numbered(names: Sequence[str]) -> list[int] | None:
    """Clip numbers if every name is a number, else None."""
    return [int(n) for n in names] if all(n.isdigit() for n in names) else None


def _split_concatenated(path: Path, clips, lengths: Sequence[int]) -> list[np.ndarray]:
    """Split one concatenated label array into per-clip (T,) arrays."""
    labels = _check_01(path, _load_npy(path).ravel())  # (N,)
    total = sum(lengths)
    numbers = _numbered([name for name, _, _ in clips])
    prefix_ok = numbers == list(range(1, len(clips) + 1))
    if len(labels) != total and not (len(labels) > total and prefix_ok):
        raise DataError(path, f"{len(labels)} frame labels for {total} frames in {len(clips)} clips")
    bounds = np.cumsum([0, *lengths])
    return [labels[a:b].copy() for a, b in zip(bounds[:-1], bounds[1:])]


def _find_gt_mat(root: Path) -> Path | None:
    """The .mat file in root holding key ``gt`` (ped2.mat, ped1.mat first), or None."""
    mats = sorted(root.glob("*.mat"), key=lambda p: (p.name not in ("ped2.mat", "ped1.mat"), p.name))
    for mat in mats:
        if "gt" in _mat_keys(mat):
            return mat
    return None


def _mat_keys(path: Path) -> list[str]:
    """Variable names in a MATLAB v5 .mat file."""
    import scipy.io

    try:
        return [name for name, _, _ in scipy.io.whosmat(str(path))]
    except NotImplementedError as e:
        raise DataError(path, "MATLAB v7.3 (HDF5) file, which SciPy cannot read: resave it with "
                              "save(..., '-v7') or write per-clip .npy labels") from e
    except Exception as e:
        raise DataError(path, f"cannot read MATLAB file ({_reason(e)})") from e


def _load_gt(path: Path) -> list[np.ndarray]:
    """The ``gt`` entries of a .mat file, each a (2, K) int64 array of [first; last] ranges."""
    import scipy.io

    try:
        gt = scipy.io.loadmat(str(path), variable_names=["gt"])["gt"]
    except Exception as e:
        raise DataError(path, f"cannot read MATLAB file ({_reason(e)})") from e
    if gt.dtype == object:
        entries = list(gt.ravel())  # cell array: one entry per clip
    elif gt.ndim == 2 and gt.shape[0] == 2:
        entries = [gt[:, i:i + 1] for i in range(gt.shape[1])]  # numeric 2xN: one range per clip
    else:
        raise DataError(path, f"gt has shape {gt.shape}: expected a cell array of [first; last] ranges")
    return [_gt_ranges(path, i, e) for i, e in enumerate(entries)]


def _gt_ranges(path: Path, index: int, entry) -> np.ndarray:
    """One gt entry as a (2, K) int64 array: row 0 first frames, row 1 last frames."""
    try:
        arr = np.atleast_2d(np.asarray(entry, dtype=np.int64))
    except (TypeError, ValueError) as e:
        raise DataError(path, f"gt entry {index + 1} is not numeric") from e
    if arr.size == 0:
        return np.zeros((2, 0), dtype=np.int64)  # no anomaly in this clip
    if arr.shape[0] != 2 and arr.shape[1] == 2:
        arr = arr.T  # K x 2 -> 2 x K
    if arr.ndim != 2 or arr.shape[0] != 2:
        raise DataError(path, f"gt entry {index + 1} has shape {arr.shape}: expected [first; last] ranges (2xK)")
    return arr


def _mat_labels(path: Path, clips, lengths: Sequence[int]) -> list[np.ndarray]:
    """Per-clip (T,) labels from the [first, last] ranges of a .mat ``gt``."""
    entries = _load_gt(path)
    names = [name for name, _, _ in clips]
    numbers = _numbered(names)
    if numbers is not None and all(1 <= k <= len(entries) for k in numbers):
        index = [k - 1 for k in numbers]  # clip "03" -> gt{3}
    elif len(entries) == len(names):
        index = list(range(len(names)))
    elif numbers is None:
        raise DataError(path, f"{len(entries)} gt entries for {len(names)} clips whose names are not "
                              "numbers: cannot tell which entry belongs to which clip")
    else:
        missing = next(c for c, k in zip(clips, numbers) if not 1 <= k <= len(entries))
        raise DataError(missing[1], f"no gt entry for this clip in {path.name} ({len(entries)} entries "
                                    f"for {len(names)} clips)")
    return [_ranges_to_labels(path, folder, entries[i], n) for (_, folder, _), i, n in zip(clips, index, lengths)]


def _ranges_to_labels(mat: Path, clip: Path, ranges: np.ndarray, n: int) -> np.ndarray:
    """(2, K) 1-based inclusive ranges -> (n,) uint8 labels."""
    labels = np.zeros(n, dtype=np.uint8)  # (T,)
    for first, last in ranges.T:
        if not 1 <= first <= last <= n:
            raise DataError(clip, f"{mat.name} marks frames {first}-{last} anomalous but the clip has "
                                  f"{n} frames (1-based, inclusive)")
        labels[first - 1:last] = 1
    return labels


# --------------------------------------------------------------------------------------------
# The official UCSD layout: UCSDped2/Train/Train001/001.tif, Test/Test001/..., Test/UCSDped2.m


_GT_FRAME = re.compile(r"\.\s*gt_frame\s*=(?!=)\s*([^;]*)")  # `.gt_frame = <rhs>` up to `;`
_FRAME_RANGE = re.compile(r"(\d+)(?::(\d+))?")  # `61:180` or a single frame `61`


def _official_clips(root: Path, split: str) -> list[tuple[str, Path, list[Path]]]:
    """(name, folder, frame files) of every clip of ``root/Train`` or ``root/Test``."""
    name = _OFFICIAL_SPLITS.get(split, split)
    split_dir = root / name
    if not split_dir.is_dir():
        raise DataError(root, f"no {name} folder (expected {name}/{name}001/001.tif ..., the official "
                              "UCSD layout)")
    return _clip_folders(split_dir, skip_gt=True)  # TestXXX_gt folders hold pixel masks, not clips


def _official_labels(root: Path, split: str, clips: Sequence[tuple[str, Path, list[Path]]]) -> list[np.ndarray] | None:
    """Per-clip (T,) labels of the official Test split from its ``.m`` file, or None."""
    if _OFFICIAL_SPLITS.get(split, split) != "Test":
        return None
    script = _find_gt_script(root / "Test", root.name)
    if script is None:
        return None
    entries = _parse_gt_script(script)  # [(line number, (2, K) ranges)] in file order
    names = [name for name, _, _ in clips]
    numbers = [re.fullmatch(r"Test(\d+)", n) for n in names]
    if all(numbers):
        index = [int(m.group(1)) - 1 for m in numbers]  # Test003 -> the 3rd gt_frame line
        for name, i in zip(names, index):
            if not 0 <= i < len(entries):
                raise DataError(script, f"no gt_frame entry for {name}: the file has {len(entries)} "
                                        f"(clip Test<n> takes the n-th entry)")
    elif len(entries) == len(names):
        index = list(range(len(names)))
    else:
        raise DataError(script, f"{len(entries)} gt_frame entries for {len(names)} clips whose names are not "
                                "Test<number>: cannot tell which entry belongs to which clip")
    labels = []
    for (name, _, files), i in zip(clips, index):
        line, ranges = entries[i]
        lab = np.zeros(len(files), dtype=np.uint8)  # (T,)
        for first, last in ranges.T:
            if not 1 <= first <= last <= len(files):
                raise DataError(script, f"line {line}: gt_frame entry {i + 1} marks frames {first}-{last} "
                                        f"anomalous but {name} has {len(files)} frames (1-based, inclusive)")
            lab[first - 1:last] = 1
        labels.append(lab)
    return labels


def _find_gt_script(test_dir: Path, dataset: str) -> Path | None:
    """The ground-truth ``.m`` script of a Test folder: ``<dataset>.m`` or ``UCSDped*.m`` first,
    else the first ``.m`` holding ``gt_frame``; None when there is none."""
    try:
        scripts = sorted((p for p in test_dir.glob("*.m") if not p.name.startswith(".") and p.is_file()),
                         key=lambda p: (p.stem != dataset, not p.stem.startswith("UCSDped"), _natural_key(p.name)))
    except OSError:
        return None
    for script in scripts:
        if script.stem == dataset or script.stem.startswith("UCSDped"):
            return script
        try:
            if "gt_frame" in script.read_text(errors="replace"):
                return script
        except OSError:
            continue
    return None


def _parse_gt_script(path: Path) -> list[tuple[int, np.ndarray]]:
    """(line number, (2, K) int64 [first; last] ranges) of each ``.gt_frame =`` assignment, in order.

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
        code = line.split("%", 1)[0]
        for match in _GT_FRAME.finditer(code):
            entries.append((number, _parse_frame_ranges(path, number, match.group(1).strip())))
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


# --------------------------------------------------------------------------------------------
# Arrays


def _read_array_file(path: Path, *, mmap: bool = False) -> tuple[list[np.ndarray], list[str], list[np.ndarray] | None]:
    """Videos, names and labels of a .npy or .npz file (see load_videos); mmap: map .npy lazily."""
    if path.suffix.lower() == ".npy":
        videos, names = _split_array(path, _load_npy(path, mmap=mmap), path.stem)
        return videos, names, None
    try:
        with np.load(path, allow_pickle=False) as z:
            data = {k: z[k] for k in z.files}
    except Exception as e:
        raise DataError(path, f"cannot read array ({_reason(e)})") from e
    if not data:
        raise DataError(path, "empty .npz: no arrays")
    if "videos" in data:
        videos, names = _split_array(path, data["videos"], "video")
        labels = None
        if "labels" in data:
            lab = _check_01(path, data["labels"])
            if lab.shape != (len(videos), len(videos[0])):
                raise DataError(path, f"labels have shape {lab.shape}, expected (N, T) = "
                                      f"{(len(videos), len(videos[0]))}")
            labels = list(lab)
        return videos, names, labels
    videos, names = [], []
    for key, arr in data.items():
        v, _ = _split_array(path, arr, key, single=True)
        videos += v
        names.append(key)
    return videos, names, None


def _split_array(path: Path, arr: np.ndarray, name: str, *, single: bool = False) -> tuple[list[np.ndarray], list[str]]:
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


# --------------------------------------------------------------------------------------------
# Recognising a path: load_videos and describe


@dataclass
class _Plan:
    """What a path holds, found without decoding pixels."""

    kind: str  # one of the Videos.kind values
    items: list[tuple[str, str, Path, list[Path]]]  # (name, reader, path, frame files) per video; reader: video/frames/strip
    split: str | None = None  # benchmark split
    root: Path | None = None  # benchmark root


def _scan(path: Path, frame_size: int, split: str | None) -> _Plan:
    """Recognise what ``path`` holds (the rules of :func:`load_videos`)."""
    if not path.exists():
        raise DataError(path, "no such file or folder")
    if path.is_file():
        return _scan_file(path, frame_size)
    if _is_benchmark_root(path):
        split = split or _default_split(path)
        clips = _benchmark_clips(path, split)
        return _Plan("benchmark", [(n, "frames", f, files) for n, f, files in clips], split, path)
    return _scan_folder(path, frame_size)


def _scan_file(path: Path, frame_size: int) -> _Plan:
    """A single file: video, strip image or array."""
    ext = path.suffix.lower()
    if ext in _ARRAY_EXTENSIONS:
        return _Plan("array", [])
    if ext in IMAGE_EXTENSIONS:
        hw, _ = _probe_image(path)
        if not _is_strip(hw, frame_size):
            raise DataError(path, f"a single {_hw(hw)} image is not a video: point at its folder for a "
                                  f"folder of frames, or pass frame_size= for a MoCoGAN strip")
        return _Plan("strips", [(path.stem, "strip", path, [])])
    _check_video_file(path)
    return _Plan("video", [(path.stem, "video", path, [])])


def _scan_folder(folder: Path, frame_size: int) -> _Plan:
    """A folder of videos, of frames, of strips, or of frame folders / video folders."""
    videos, images = _video_files(folder), _frame_files(folder)
    if videos and images:
        raise DataError(folder, f"holds both video files ({len(videos)}) and images ({len(images)}): "
                                "point at one kind")
    if videos:
        return _Plan("videos", [(v.stem, "video", v, []) for v in videos])
    if images:
        if all(_is_strip(_probe_image(f)[0], frame_size) for f in images):
            return _Plan("strips", [(f.stem, "strip", f, []) for f in images])
        return _Plan("frames", [(folder.name, "frames", folder, images)])
    return _scan_subfolders(folder)


def _scan_subfolders(folder: Path) -> _Plan:
    """A folder of frame folders (each a video) or of video folders (each video a video)."""
    frame_items, video_items = [], []
    for sub in (p for p in _visible(folder) if p.is_dir()):
        images, videos = _frame_files(sub), _video_files(sub)
        if images:
            frame_items.append((sub.name, "frames", sub, images))
        video_items += [(f"{sub.name}/{v.stem}", "video", v, []) for v in videos]
    if frame_items and video_items:
        raise DataError(folder, "sub-folders hold both frame images and video files: point at one kind")
    if frame_items:
        return _Plan("frame-folders", frame_items)
    if video_items:
        return _Plan("videos", video_items)
    nested = _nested_benchmarks(folder)
    if nested:
        raise DataError(folder, f"holds the benchmark folder(s) {', '.join(nested)}: point at one of them")
    raise DataError(folder, "empty folder: no video files or frame images found")


def load_videos(path: str | os.PathLike, *, gray: bool = True, size: int | Sequence[int] | None = None,
                frame_size: int = 64, split: str | None = None) -> Videos:
    """Load every video a path holds, recognising the format from the path alone.

    Rules, in order:

    - a ``.npy`` file: uint8 ``(T, H, W)`` or ``(T, H, W, C)`` is one video, ``(N, T, H, W)``
      or ``(N, T, H, W, C)`` is N videos (a 4-D array is one colour video when its last axis
      is 1, 3 or 4, else N gray videos);
    - a ``.npz`` file: key ``videos`` as for ``.npy`` plus optional ``labels`` ``(N, T)``;
      without ``videos``, every array is one video named by its key;
    - a video file (:data:`VIDEO_EXTENSIONS`): one video (kind ``"video"``);
    - a single image: a MoCoGAN strip if it passes the strip rule below, else an error;
    - a folder with ``training/frames`` or ``testing/frames``, or the official UCSD
      ``Train/Train001`` or ``Test/Test001`` (a ``UCSDped2`` folder): a UCSD-style benchmark,
      its ``split`` (default ``"testing"`` when present, with labels) (kind ``"benchmark"``,
      see :func:`read_benchmark`);
    - a folder of video files: each file a video (kind ``"videos"``);
    - a folder of images: if **every** image is ``frame_size`` pixels tall and a multiple of
      ``frame_size`` at least twice as wide, each image is a MoCoGAN strip (kind ``"strips"``);
      otherwise the images are the frames of one video (kind ``"frames"``). Use
      :func:`read_frame_folder` for frames that happen to look like strips;
    - a folder of folders: each sub-folder of images is a video (kind ``"frame-folders"``,
      e.g. ``testing/frames``), or each video file in the sub-folders is a video (kind
      ``"videos"``, named ``sub/stem``, e.g. the Weizmann cache folder).

    Args:
        path: the file or folder.
        gray: convert frames to grayscale (default, as the book's models use).
        size: resize frames to ``S x S`` or ``(H, W)``.
        frame_size: the frame side of MoCoGAN strips.
        split: the benchmark split (``"testing"`` or ``"training"``); ignored for other paths.

    Returns:
        :class:`Videos`; ``labels`` are set for benchmarks and ``.npz`` files with labels.

    Raises:
        DataError: the path does not exist, holds nothing readable, mixes kinds, or any reader
            raises (see :func:`read_video`, :func:`read_frame_folder`, :func:`read_strip`,
            :func:`read_benchmark`).
    """
    path = Path(path)
    plan = _scan(path, frame_size, split)
    if plan.kind == "array":
        videos, names, labels = _read_array_file(path)
        videos = [_preprocess(v, gray, size) for v in videos]
        return Videos(videos=videos, names=names, kind="array", labels=labels, path=path)
    if plan.kind == "benchmark":
        b = read_benchmark(plan.root, plan.split, gray=gray, size=size)
        return Videos(videos=b.videos, names=b.names, kind="benchmark", labels=b.labels, path=path)
    videos = [_read_item(reader, p, files, gray, size, frame_size) for _, reader, p, files in plan.items]
    return Videos(videos=videos, names=[n for n, _, _, _ in plan.items], kind=plan.kind, labels=None, path=path)


def _read_item(reader: str, path: Path, files: list[Path], gray: bool, size, frame_size: int) -> np.ndarray:
    """Read one planned video."""
    if reader == "video":
        return read_video(path, gray=gray, size=size)
    if reader == "strip":
        return read_strip(path, frame_size=frame_size, gray=gray, size=size)
    return _read_frames(path, files, gray, size)


def describe(path: str | os.PathLike, *, frame_size: int = 64, split: str | None = None) -> dict:
    """Summarise what a path holds, cheaply, for ``python -m gruae info``.

    No pixels are decoded: frame counts come from file counts (frame folders, benchmarks),
    image widths (strips), container headers (videos; the number of packets when the header
    has no count) or array shapes (``.npy`` memory-mapped; ``.npz`` is loaded); the frame size
    and channels come from the first frame of each video, as stored, before the gray
    conversion and resizing :func:`load_videos` may apply. Benchmark labels are read in full
    (they are small).

    Args:
        path: anything :func:`load_videos` accepts.
        frame_size: the frame side of MoCoGAN strips.
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
    plan = _scan(path, frame_size, split)
    if plan.kind == "array":
        videos, _, labels = _read_array_file(path, mmap=True)
        counts = [len(v) for v in videos]
        shapes = [(v.shape[1], v.shape[2], v.shape[3] if v.ndim == 4 else 1) for v in videos]
    else:
        counts, shapes = zip(*(_probe_item(reader, p, files, frame_size) for _, reader, p, files in plan.items))
        labels = None
        if plan.kind == "benchmark":
            labels = _benchmark_labels(plan.root, plan.split, [(n, p, f) for n, _, p, f in plan.items])
    info = {"path": str(path), "kind": plan.kind}
    if plan.split:
        info["split"] = plan.split
    info.update(videos=len(counts), frames=int(sum(counts)),
                frames_per_video=f"{min(counts)}..{max(counts)}", frame_size=_shapes_text(shapes),
                labels=_labels_text(labels))
    return info


def _probe_item(reader: str, path: Path, files: list[Path], frame_size: int) -> tuple[int, tuple[int, int, int]]:
    """(frames, (H, W, C)) of one planned video, from headers only."""
    if reader == "video":
        return _probe_video(path)
    if reader == "strip":
        (h, w), mode = _probe_image(path)
        _check_strip_shape(path, h, w, frame_size)
        return w // frame_size, (h, frame_size, _CHANNELS[mode])
    (h, w), mode = _probe_image(files[0])
    return len(files), (h, w, _CHANNELS[mode])


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


# --------------------------------------------------------------------------------------------
# Weizmann actions


WEIZMANN_ACTIONS = ("bend", "jack", "jump", "pjump", "run", "side", "skip", "walk", "wave1", "wave2")
"""The ten actions of the Weizmann "Actions as Space-Time Shapes" set (one zip each)."""

WEIZMANN_URL = "https://www.wisdom.weizmann.ac.il/~vision/VideoAnalysis/Demos/SpaceTimeActions/DB/{action}.zip"
"""Where each action's zip is published."""

WEIZMANN_SHA256: dict[str, str | None] = dict.fromkeys(WEIZMANN_ACTIONS)
"""Known SHA-256 of each zip. None: no published hash was found, so the first download is
trusted and its hash recorded in ``SHA256SUMS`` next to the zips (trust on first use)."""

_LOCK_NAME = "SHA256SUMS"


def _check_or_record(root: Path, archive: Path, known: str | None, table: str) -> None:
    """Trust on first use: record the archive's SHA-256 in ``root``'s lock file, or check it against ``known``."""
    digest = sha256sum(archive)
    if known is None:
        _record_lock(root, archive.name, digest)
    elif digest != known:
        raise DownloadError(archive, f"SHA-256 {digest} does not match the recorded {known} "
                                     f"({_LOCK_NAME} or {table}); delete {archive.name} to download it again")


def weizmann(root: str | os.PathLike | None = None, *, actions: Sequence[str] | None = None,
             download: bool = False) -> list[Path]:
    """The Weizmann action videos (180x144 AVI, 9 people), downloaded once on request.

    Each action's zip is kept as ``<root>/<action>.zip`` and extracted to ``<root>/<action>/``.
    Integrity: the zip's SHA-256 is checked against :data:`WEIZMANN_SHA256`; where that has
    no hash (no published hash exists), the hash of the first download is written to
    ``<root>/SHA256SUMS`` (``sha256sum`` format) and every later call verifies the zip
    against it (trust on first use). If a zip has been deleted but its extracted folder
    remains, the folder is used unverified.

    Args:
        root: the cache folder (default ``data_dir() / "weizmann"``).
        actions: the actions to get (default all of :data:`WEIZMANN_ACTIONS`).
        download: fetch missing zips from :data:`WEIZMANN_URL`; without it
            a missing action raises instead of touching the network.

    Returns:
        The ``.avi`` files, action by action, each in natural order.

    Raises:
        DataError: an unknown action, or an action missing with ``download=False`` (the
            message says how to opt in).
        DownloadError: the download fails, or a zip does not match its known or recorded hash.
    """
    root = Path(root) if root is not None else data_dir() / "weizmann"
    actions = list(WEIZMANN_ACTIONS if actions is None else [actions] if isinstance(actions, str) else actions)
    unknown = [a for a in actions if a not in WEIZMANN_ACTIONS]
    if unknown:
        raise DataError(None, f"unknown Weizmann action(s) {', '.join(map(repr, unknown))}: "
                              f"choose from {', '.join(WEIZMANN_ACTIONS)}")
    files: list[Path] = []
    for action in actions:
        files += _weizmann_action(root, action, download)
    return files


def _avi_files(folder: Path) -> list[Path]:
    """The .avi files under a folder (recursively), naturally sorted, hidden ones left out."""
    if not folder.is_dir():
        return []
    found = [p for p in folder.rglob("*") if p.suffix.lower() == ".avi" and p.is_file()
             and not any(part.startswith((".", "__MACOSX")) for part in p.relative_to(folder).parts)]
    return sorted(found, key=lambda p: _natural_key(str(p.relative_to(folder))))


def _weizmann_action(root: Path, action: str, download: bool) -> list[Path]:
    """Download (if asked), verify and extract one action; return its AVI files."""
    archive, folder = root / f"{action}.zip", root / action
    url = WEIZMANN_URL.format(action=action)
    known = WEIZMANN_SHA256.get(action) or _read_lock(root).get(archive.name)
    if not archive.is_file() and not _avi_files(folder):
        if not download:
            raise DataError(archive, f"Weizmann action {action!r} is not downloaded: call "
                                     f"weizmann(download=True) to fetch it from {url}, or copy {archive.name} here")
        fetch(url, archive, sha256=known)
    if archive.is_file():
        _check_or_record(root, archive, known, "WEIZMANN_SHA256")
        if not _avi_files(folder):
            if folder.is_dir() and not any(folder.iterdir()):
                folder.rmdir()
            safe_extract(archive, folder)
    avis = _avi_files(folder)
    if not avis:
        raise DataError(folder, f"no .avi files in the extracted {archive.name}")
    return avis


def _read_lock(root: Path) -> dict[str, str]:
    """{file name: sha256} from ``<root>/SHA256SUMS`` (empty when absent)."""
    lock = root / _LOCK_NAME
    if not lock.is_file():
        return {}
    hashes = {}
    for line in lock.read_text().splitlines():
        parts = line.split()
        if len(parts) == 2 and re.fullmatch(r"[0-9a-fA-F]{64}", parts[0]):
            hashes[parts[1].lstrip("*")] = parts[0].lower()
    return hashes


def _record_lock(root: Path, name: str, digest: str) -> None:
    """Add ``digest  name`` to ``<root>/SHA256SUMS``, atomically."""
    hashes = _read_lock(root)
    hashes[name] = digest
    lock = root / _LOCK_NAME
    tmp = lock.with_name(lock.name + ".tmp")
    tmp.write_text("".join(f"{h}  {n}\n" for n, h in sorted(hashes.items())))
    os.replace(tmp, lock)


# --------------------------------------------------------------------------------------------
# UCSD Anomaly Dataset (official archive)


UCSD_URL = "http://www.svcl.ucsd.edu/projects/anomaly/UCSD_Anomaly_Dataset.tar.gz"
"""Where the official UCSD Anomaly Dataset archive (Ped1 and Ped2, about 1 GB) is published."""

UCSD_SHA256: str | None = None
"""Known SHA-256 of the archive. None: no published hash was found, so the first download is
trusted and its hash recorded in ``SHA256SUMS`` next to it (trust on first use)."""

_UCSD_ARCHIVE = "UCSD_Anomaly_Dataset.tar.gz"
_UCSD_NAMES = {"ped1": "UCSDped1", "ped2": "UCSDped2"}


def ucsd(name: str = "ped2", root: str | os.PathLike | None = None, *, download: bool = False) -> Path:
    """The folder of UCSD Ped1 or Ped2 in the official layout, downloaded once on request.

    The official archive (:data:`UCSD_URL`, about 1 GB, both datasets) is kept as
    ``<root>/UCSD_Anomaly_Dataset.tar.gz`` and extracted to ``<root>/UCSD_Anomaly_Dataset/``,
    which gives ``<root>/UCSD_Anomaly_Dataset/UCSD_Anomaly_Dataset.v1p2/UCSDped2``. A copy
    extracted by hand is found too: ``UCSDped2`` directly under ``root`` or one or two folders
    below it (e.g. ``<root>/UCSD_Anomaly_Dataset.v1p2/UCSDped2``). Pass the result to
    :func:`read_benchmark` or :func:`load_videos`.

    Integrity, as :func:`weizmann`: the archive's SHA-256 is checked against
    :data:`UCSD_SHA256`; as that has no hash (none is published), the hash of the first
    download is written to ``<root>/SHA256SUMS`` and the archive is verified against it
    before any later extraction (trust on first use). Once the folder exists it is returned
    without hashing the archive again (1 GB), nor when the archive has been deleted.

    Args:
        name: ``"ped2"`` (16 training, 12 test clips of 240x360) or ``"ped1"`` (34 training,
            36 test clips of 158x238); ``"UCSDped2"`` works too.
        root: the cache folder (default ``data_dir() / "ucsd"``).
        download: fetch the archive from :data:`UCSD_URL` when the dataset is missing; without
            it a missing dataset raises instead of touching the network.

    Returns:
        The ``UCSDped2`` (or ``UCSDped1``) folder, holding ``Train/`` and ``Test/``.

    Raises:
        DataError: an unknown name; the dataset missing with ``download=False`` (the message
            says how to opt in); the extracted archive has no such folder.
        DownloadError: the download or extraction fails, or the archive does not match its
            known or recorded hash.
    """
    key = str(name).lower().removeprefix("ucsd")
    if key not in _UCSD_NAMES:
        raise DataError(None, f"unknown UCSD dataset {name!r}: choose 'ped1' or 'ped2'")
    dataset = _UCSD_NAMES[key]
    root = Path(root) if root is not None else data_dir() / "ucsd"
    folder = _find_ucsd(root, dataset)
    if folder is not None:
        return folder
    archive, extracted = root / _UCSD_ARCHIVE, root / "UCSD_Anomaly_Dataset"
    known = UCSD_SHA256 or _read_lock(root).get(archive.name)
    if not archive.is_file():
        if not download:
            raise DataError(root / dataset, f"UCSD {dataset} is not downloaded: call ucsd({key!r}, download=True) "
                                            f"to fetch the official archive (about 1 GB, Ped1 and Ped2) from "
                                            f"{UCSD_URL}, or extract {archive.name} under {root}")
        fetch(UCSD_URL, archive, sha256=known)
    _check_or_record(root, archive, known, "UCSD_SHA256")
    if not (extracted.is_dir() and any(extracted.iterdir())):
        if extracted.is_dir():
            extracted.rmdir()
        safe_extract(archive, extracted)
    folder = _find_ucsd(root, dataset)
    if folder is None:
        raise DataError(extracted, f"no {dataset} folder (holding Train/ and Test/) in the extracted {archive.name}")
    return folder


def _find_ucsd(root: Path, dataset: str) -> Path | None:
    """``root/<dataset>``, else ``root/*/<dataset>``, else ``root/*/*/<dataset>`` holding Train/ or
    Test/ (hidden folders left out); None when absent."""
    if not root.is_dir():
        return None
    for pattern in (dataset, f"*/{dataset}", f"*/*/{dataset}"):
        found = sorted(p for p in root.glob(pattern)
                       if not any(part.startswith((".", "__MACOSX")) for part in p.relative_to(root).parts))
        for folder in found:
            if folder.is_dir() and _is_official_root(folder, strict=False):
                return folder
    return None
