"""From videos to training clips.

A model sees clips: ``T`` consecutive frames of one video, as a float tensor of shape
``(B, T, C, H, W)`` scaled to ``[-1, 1]``. :class:`VideoFrames` holds every frame of a set of
videos as **one uint8 tensor** (four times smaller than float32, and movable to the GPU in one
copy), plus where each video starts. Clips are then just index arithmetic:

- :meth:`VideoFrames.sample` draws random ``T``-frame windows that never cross a video boundary
  (the article's sampler: a random video, then a random window in it, made exact: every window
  of every video can be drawn, including the last one, and a video shorter than ``T`` is a clear
  error instead of a crash).
- :meth:`VideoFrames.windows` lists sequential windows that cover every frame of every video once
  (for evaluation and scoring).
- :meth:`VideoFrames.clips` gathers windows into a float batch on the frames' device.
- :meth:`VideoFrames.span` is where video ``i`` lies in any per-frame array aligned with
  :attr:`~VideoFrames.pixels` (reconstructions, error maps, scores): ``recon[frames.span(i)]``.

Sampling and gathering run on the device the frames live on, with no host synchronisation
(the clip length is checked against a Python integer kept on the host), so a training loop on a
GPU never waits for Python.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np
import torch

from .errors import DataError

__all__ = ["VideoFrames", "to_float", "to_uint8"]


def to_float(frames: torch.Tensor) -> torch.Tensor:
    """Scale uint8 frames to float32 in ``[-1, 1]`` (0 -> -1, 255 -> 1).

    Args:
        frames: uint8 tensor of any shape.

    Returns:
        A float32 tensor of the same shape and device.
    """
    return frames.float().div_(127.5).sub_(1.0)


def to_uint8(x: torch.Tensor) -> torch.Tensor:
    """Map a float tensor in ``[-1, 1]`` back to uint8 grey levels (clamped and rounded).

    Args:
        x: float tensor of any shape, nominally in ``[-1, 1]``.

    Returns:
        A uint8 tensor of the same shape and device.
    """
    return ((x.detach().float().clamp(-1, 1) + 1.0) * 127.5).round_().to(torch.uint8)


def _as_uint8_video(video, name: str) -> np.ndarray:
    """Check one video and return it as uint8 ``(T, C, H, W)``."""
    if isinstance(video, torch.Tensor):
        video = video.detach().cpu().numpy()
    video = np.asarray(video)
    if video.ndim not in (3, 4):
        raise DataError(name, f"expected a video of shape (T, H, W) or (T, H, W, C), got shape {tuple(video.shape)}")
    if video.dtype != np.uint8:
        if not np.issubdtype(video.dtype, np.number):
            raise DataError(name, f"expected uint8 frames, got dtype {video.dtype}")
        if np.issubdtype(video.dtype, np.floating) and not np.isfinite(video).all():
            raise DataError(name, "frames contain NaN or infinite values")
        if video.min() < 0 or video.max() > 255:
            raise DataError(name, f"frame values must lie in 0..255, got {video.min()}..{video.max()} ({video.dtype})")
        video = video.astype(np.uint8)
    if video.ndim == 3:
        video = video[:, None]  # (T, H, W) -> (T, 1, H, W)
    else:
        video = video.transpose(0, 3, 1, 2)  # (T, H, W, C) -> (T, C, H, W)
    return video


@dataclass
class VideoFrames:
    """Every frame of a set of videos in one uint8 tensor, with per-video offsets.

    Build it with :meth:`from_videos`; move it with :meth:`to`.
    """

    pixels: torch.Tensor  # uint8 (F, C, H, W): the F frames of all videos, one video after another
    starts: torch.Tensor  # int64 (V,): index in `frames` of each video's first frame
    lengths: torch.Tensor  # int64 (V,): number of frames of each video
    names: list[str]  # (V,) a name per video, used in error messages and plots
    frame_labels: torch.Tensor | None = None  # uint8 (F,): 1 = anomalous frame, or None
    classes: torch.Tensor | None = None  # int64 (V,): class index per video (actions), or None
    source: str | None = None  # what these videos are, e.g. "synthetic:actions/train/...": models trained on them are known by it
    shortest: int = 0  # frames of the shortest video, kept on the host (0: computed at creation)

    def __post_init__(self) -> None:
        """Record the shortest video's length on the host, so sampling needs no device sync."""
        if not self.shortest:
            self.shortest = int(self.lengths.min()) if len(self.lengths) else 0

    @classmethod
    def from_videos(
        cls,
        videos: Sequence,
        names: Sequence[str] | None = None,
        *,
        frame_labels: Sequence | None = None,
        classes: Sequence[int] | None = None,
        min_frames: int = 1,
        source: str | None = None,
    ) -> "VideoFrames":
        """Concatenate videos into one frame tensor.

        Args:
            videos: a sequence of uint8 arrays or tensors ``(T_i, H, W)`` or ``(T_i, H, W, C)``
                (an ``(N, T, H, W)`` array works too: one video per first index). All must share
                ``H``, ``W`` and ``C``; lengths may differ.
            names: one name per video (default ``video_000``...), used in error messages.
            frame_labels: optional per-frame 0/1 labels, one ``(T_i,)`` array per video.
            classes: optional class index per video.
            min_frames: every video needs at least this many frames (the clip length ``T``).
            source: what these videos are (see :attr:`source`), or None.

        Returns:
            A :class:`VideoFrames` on the CPU.

        Raises:
            DataError: no videos, a wrong shape or dtype, NaN values, mismatched frame sizes,
                labels whose length does not match, or a video shorter than ``min_frames``.
        """
        if len(videos) == 0:
            raise DataError(None, "no videos given")
        names = [f"video_{i:03d}" for i in range(len(videos))] if names is None else [str(n) for n in names]
        if len(names) != len(videos):
            raise DataError(None, f"{len(names)} names for {len(videos)} videos")
        arrays = [_as_uint8_video(v, n) for v, n in zip(videos, names)]
        shape = arrays[0].shape[1:]
        for a, n in zip(arrays, names):
            if a.shape[1:] != shape:
                raise DataError(n, f"frame shape (C, H, W)={a.shape[1:]} differs from {names[0]}'s {shape}")
            if a.shape[0] < min_frames:
                raise DataError(n, f"video has {a.shape[0]} frames, fewer than the clip length T={min_frames}")
        lengths = torch.tensor([a.shape[0] for a in arrays], dtype=torch.int64)
        starts = torch.cumsum(lengths, 0) - lengths
        labels = None
        if frame_labels is not None:
            if len(frame_labels) != len(arrays):
                raise DataError(None, f"{len(frame_labels)} label arrays for {len(arrays)} videos")
            for lab, a, n in zip(frame_labels, arrays, names):
                if len(lab) != a.shape[0]:
                    raise DataError(n, f"{len(lab)} frame labels for {a.shape[0]} frames")
            labels = torch.from_numpy(np.concatenate([np.asarray(l, dtype=np.uint8).reshape(-1) for l in frame_labels]))
        cls_t = None
        if classes is not None:
            if len(classes) != len(arrays):
                raise DataError(None, f"{len(classes)} classes for {len(arrays)} videos")
            cls_t = torch.as_tensor(np.asarray(classes), dtype=torch.int64)
        pixels = torch.from_numpy(np.ascontiguousarray(np.concatenate(arrays)))  # (F, C, H, W)
        return cls(pixels, starts, lengths, names, labels, cls_t, source)

    # ----------------------------------------------------------------- properties
    @property
    def device(self) -> torch.device:
        """The device the frames live on."""
        return self.pixels.device

    @property
    def num_videos(self) -> int:
        """Number of videos V."""
        return len(self.names)

    @property
    def frame_shape(self) -> tuple[int, int, int]:
        """``(C, H, W)`` of one frame."""
        return tuple(self.pixels.shape[1:])

    def __len__(self) -> int:
        """Total number of frames F."""
        return self.pixels.shape[0]

    def to(self, device: str | torch.device) -> "VideoFrames":
        """Return a copy whose tensors live on ``device`` (frames stay uint8)."""
        mv = lambda t: None if t is None else t.to(device)  # noqa: E731
        return VideoFrames(mv(self.pixels), mv(self.starts), mv(self.lengths), list(self.names),
                           mv(self.frame_labels), mv(self.classes), self.source, self.shortest)

    def span(self, i: int) -> slice:
        """Where video ``i`` lies along the first axis of :attr:`pixels`, and of every per-frame
        array aligned with it: ``recon[frames.span(i)]`` is video ``i``'s reconstruction."""
        s = int(self.starts[i])
        return slice(s, s + int(self.lengths[i]))

    def video(self, i: int) -> torch.Tensor:
        """The uint8 frames ``(T_i, C, H, W)`` of video ``i``."""
        return self.pixels[self.span(i)]

    def labels_of(self, i: int) -> torch.Tensor | None:
        """The per-frame labels ``(T_i,)`` of video ``i``, or None."""
        return None if self.frame_labels is None else self.frame_labels[self.span(i)]

    def subset(self, indices: Sequence[int]) -> "VideoFrames":
        """A new :class:`VideoFrames` holding only the videos at ``indices`` (in that order)."""
        indices = [int(i) for i in indices]
        videos = [self.video(i) for i in indices]
        lengths = torch.tensor([v.shape[0] for v in videos], dtype=torch.int64, device=self.device)
        labels = None if self.frame_labels is None else torch.cat([self.labels_of(i) for i in indices])
        classes = None if self.classes is None else self.classes[indices]
        return VideoFrames(torch.cat(videos), torch.cumsum(lengths, 0) - lengths, lengths,
                           [self.names[i] for i in indices], labels, classes)

    def every(self, k: int) -> "VideoFrames":
        """Every ``k``-th frame of each video, from its first: the same videos, moving ``k`` times faster.

        Labels follow their frames; ``source`` gains ``"/every<k>"``.

        Raises:
            DataError: ``k < 1``.
        """
        if k < 1:
            raise DataError(None, f"every k-th frame needs k >= 1, got {k}")
        if k == 1:
            return self
        keep = torch.cat([torch.arange(s, s + n, k) for s, n in zip(self.starts.tolist(), self.lengths.tolist())])
        keep = keep.to(self.device)  # (F',) frame indices
        lengths = torch.div(self.lengths + k - 1, k, rounding_mode="floor")  # (V,)
        labels = None if self.frame_labels is None else self.frame_labels[keep]
        return VideoFrames(self.pixels[keep], torch.cumsum(lengths, 0) - lengths, lengths, list(self.names), labels,
                           self.classes, None if self.source is None else f"{self.source}/every{k}")

    def motion(self) -> "VideoFrames":
        """The same videos as frame differences: what moved, and nothing of what stands still.

        Frame t becomes ``x_t - x_{t-1}`` (0 for each video's first frame), stored as uint8
        ``(d + 255) // 2``: grey level 127 means "no change", 0 and 255 the largest darkening and
        brightening; halving loses changes of one grey level (mostly compression noise).
        Videos, lengths, names and labels stay aligned with the original frames, so a model
        trained on motion scores every frame as a model trained on frames does.

        Returns:
            A :class:`VideoFrames` on the same device; ``source`` gains ``"/motion"``.
        """
        x = self.pixels.to(torch.int16)  # (F, C, H, W)
        d = torch.zeros_like(x)
        d[1:] = x[1:] - x[:-1]
        d[self.starts] = 0  # never across two videos
        pixels = torch.div(d + 255, 2, rounding_mode="floor").to(torch.uint8)
        return VideoFrames(pixels, self.starts, self.lengths, list(self.names), self.frame_labels, self.classes,
                           None if self.source is None else f"{self.source}/motion", self.shortest)

    # ----------------------------------------------------------------- clip indices
    def check_clip_length(self, T: int) -> None:
        """Raise :class:`DataError` naming the first video shorter than ``T`` frames.

        Costs one comparison of host integers when every video is long enough."""
        if T < 1:
            raise DataError(None, f"clip length T must be >= 1, got {T}")
        if T > self.shortest:
            i = int((self.lengths.cpu() < T).nonzero()[0])
            raise DataError(self.names[i], f"video has {int(self.lengths[i])} frames, fewer than the clip length T={T}")

    def sample(self, batch: int, T: int, generator: torch.Generator | None = None) -> torch.Tensor:
        """Draw ``batch`` random windows of ``T`` frames; none crosses a video boundary.

        Each window picks a video uniformly at random, then a start uniformly among its
        ``T_i - T + 1`` possible starts (the article's sampler, with the off-by-one and the short
        video crash fixed). Runs on the frames' device without synchronising with the host.

        Args:
            batch: number of windows B.
            T: frames per window.
            generator: a ``torch.Generator`` on the frames' device, for reproducible draws.

        Returns:
            int64 frame indices ``(B, T)`` into :attr:`pixels`.
        """
        self.check_clip_length(T)
        dev = self.device
        v = torch.randint(self.num_videos, (batch,), device=dev, generator=generator)  # (B,)
        room = (self.lengths[v] - T + 1).to(torch.float32)  # (B,) number of valid starts
        u = torch.rand(batch, device=dev, generator=generator)  # (B,) in [0, 1)
        offset = torch.minimum((u * room).long(), self.lengths[v] - T)  # guard float rounding at u -> 1
        first = self.starts[v] + offset  # (B,)
        return first[:, None] + torch.arange(T, device=dev)  # (B, T)

    def windows(self, T: int, stride: int | None = None) -> torch.Tensor:
        """Sequential windows covering every frame of every video.

        Windows start every ``stride`` frames (default ``T``: no overlap); the last window of a
        video is aligned to the video's end, so every frame is covered even when ``T_i`` is not a
        multiple of ``stride``.

        Args:
            T: frames per window.
            stride: frames between window starts (default ``T``).

        Returns:
            int64 tensor ``(W, 3)``: per window, ``(video index, first frame within the video,
            first frame index into pixels)``.
        """
        self.check_clip_length(T)
        stride = T if stride is None else stride
        if not 1 <= stride <= T:
            raise DataError(None, f"stride must lie in 1..T={T} so that windows cover every frame, got {stride}")
        rows = []
        for v, (s, n) in enumerate(zip(self.starts.tolist(), self.lengths.tolist())):
            offs = list(range(0, n - T + 1, stride))
            if offs[-1] != n - T:
                offs.append(n - T)
            rows += [(v, o, s + o) for o in offs]
        return torch.tensor(rows, dtype=torch.int64)

    # ----------------------------------------------------------------- tensors
    def clips(self, index: torch.Tensor, dtype: torch.dtype = torch.float32) -> torch.Tensor:
        """Gather frames into a batch of clips in ``[-1, 1]``.

        Args:
            index: int64 frame indices ``(B, T)`` (from :meth:`sample`), on any device.
            dtype: floating dtype of the result.

        Returns:
            Float tensor ``(B, T, C, H, W)`` on the frames' device.
        """
        x = self.pixels[index.to(self.device)]  # (B, T, C, H, W) uint8
        return x.to(dtype).div_(127.5).sub_(1.0)

    def window_clips(self, windows: torch.Tensor, T: int, dtype: torch.dtype = torch.float32) -> torch.Tensor:
        """The clips of rows of :meth:`windows`: float ``(W, T, C, H, W)`` in ``[-1, 1]``."""
        index = windows[:, 2:3] + torch.arange(T)  # (W, T)
        return self.clips(index, dtype)
