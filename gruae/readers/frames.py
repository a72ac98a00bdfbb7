"""The two preprocessing steps every reader shares, and stacking decoded frames into one array.

:func:`to_gray` is the ITU-R 601 luma (the same integer formula as Pillow's ``convert("L")``);
:func:`resize` is antialiased bilinear, vectorised with PyTorch (imported when first called).
"""

from __future__ import annotations

from typing import Iterable, Sequence

import numpy as np

from gruae.errors import DataError

CHUNK_FRAMES = 64  # frames decoded before they are converted/resized together


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
        frames = composite_on_black(frames)
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
    h, w = size_hw(size)
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
        raise DataError(None, f"{what} expects (T, H, W) or (T, H, W, C) with C in 1..4, "
                              f"got shape {frames.shape}")
    return frames


def size_hw(size: int | Sequence[int]) -> tuple[int, int]:
    """``S`` or ``(H, W)`` as a checked ``(H, W)`` pair.

    Raises:
        DataError: not a positive int or a pair of them.
    """
    hw = (size, size) if isinstance(size, (int, np.integer)) else tuple(size)
    if len(hw) != 2 or not all(isinstance(v, (int, np.integer)) and v > 0 for v in hw):
        raise DataError(None, f"size must be a positive int or an (H, W) pair, got {size!r}")
    return int(hw[0]), int(hw[1])


def composite_on_black(frames: np.ndarray) -> np.ndarray:
    """(..., C+1) colour + alpha -> (..., C) colour composited onto black."""
    alpha = frames[..., -1:].astype(np.uint16)
    return ((frames[..., :-1].astype(np.uint16) * alpha + 127) // 255).astype(np.uint8)


def preprocess(frames: np.ndarray, gray: bool, size: int | Sequence[int] | None) -> np.ndarray:
    """Apply the optional gray conversion, then the optional resize, to (T, H, W[, C]) frames."""
    if gray:
        frames = to_gray(frames)
    if size is not None:
        frames = resize(frames, size)
    return frames


def collect(path, frames: Iterable[np.ndarray], gray: bool, size: int | Sequence[int] | None) -> np.ndarray:
    """Stack decoded (H, W[, C]) frames chunk by chunk, preprocessing each chunk.

    Args:
        path: the file or folder the frames come from (named in errors).
        frames: the decoded frames, in order.
        gray, size: as :func:`preprocess`.

    Returns:
        uint8 ``(T, H, W[, C])``.

    Raises:
        DataError: no frames, or frames of mixed sizes.
    """
    if size is not None:
        size_hw(size)  # fail before decoding anything
    chunks, buf, first = [], [], None
    for i, frame in enumerate(frames):
        if first is None:
            first = (frame.shape, i)
        elif frame.shape != first[0]:
            raise DataError(path, f"frames of mixed sizes ({hw_text(first[0])} in frame {first[1]}, "
                                  f"{hw_text(frame.shape)} in frame {i})")
        buf.append(frame)
        if len(buf) == CHUNK_FRAMES:
            chunks.append(preprocess(np.stack(buf), gray, size))
            buf = []
    if buf:
        chunks.append(preprocess(np.stack(buf), gray, size))
    if not chunks:
        raise DataError(path, "no frames: the video is empty")
    return chunks[0] if len(chunks) == 1 else np.concatenate(chunks)  # (T, H, W[, C])


def hw_text(shape: Sequence[int]) -> str:
    """``(H, W, ...)`` as ``"HxW"``."""
    return f"{shape[0]}x{shape[1]}"
