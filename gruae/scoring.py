"""Measuring reconstructions, frame by frame.

- :func:`reconstruct` runs a model over every frame of every video (sequential windows, see
  :meth:`gruae.data.VideoFrames.windows`) and returns one reconstructed frame per input frame.
- :func:`frame_mse`, :func:`frame_psnr` and :func:`frame_ssim` give one number per frame, on the
  ``[0, 1]`` intensity scale (PSNR in dB with peak 1). :func:`frame_ssim` follows Wang et al.
  (2004) with an 11x11 Gaussian window (sigma 1.5), as ``skimage.metrics.structural_similarity``
  with ``gaussian_weights=True``; the tests check it against scikit-image.
- :func:`motion_energy` measures how much a video moves: the energy (mean square) of the
  differences between consecutive frames. A reconstruction that loses motion has less of it than
  its input; the motion ratio of :class:`Evaluation` compares the two. :func:`motion_correlation`
  asks whether the output moves *like* the input: the cosine between their frame differences.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from .data import VideoFrames
from .devices import autocast, channels_last_helps, choose_precision
from .errors import DataError
from .models import clip_frames_of, fold_batch_norm, model_channels_last

__all__ = ["INFERENCE_BATCH", "reconstruct", "pixel_errors", "frame_mse", "frame_psnr", "frame_ssim", "motion_energy", "motion_correlation", "per_video",
           "Evaluation", "evaluate"]


INFERENCE_BATCH = {"cpu": 2, "cuda": 32}
"""Windows of T frames per forward pass when scoring, by device type (others: as CUDA). On a CPU
small batches are faster: their feature maps stay in cache, where a batch of 32 windows (512
frames of 64x64, 134 MB per 16-channel map) makes the allocator map and fault in fresh pages at
every layer. Measured on the book's scene models (2,400 frames, a 2-core AVX-512 Xeon): 2 windows
against 32, 1.3-1.6x faster on one thread and 1.5x on two."""


@torch.no_grad()
def reconstruct(model: nn.Module, frames: VideoFrames, *, batch: int | None = None,
                device: str | torch.device | None = None, amp: str = "off") -> torch.Tensor:
    """Reconstruct every frame of every video with a clip model.

    Videos are cut into consecutive windows of the model's clip length ``T``
    (:func:`~gruae.models.clip_frames_of`; the last window aligned with the video's
    end); a frame covered by two windows keeps its reconstruction from the earlier window.
    A predictor (a model with ``context = c > 0``, e.g. :class:`~gruae.models.GRUPredictor`) gets
    windows that overlap by ``c`` frames, and each frame's output comes from a window where at
    least ``c`` frames precede it, except the first frames of a video, which have no past.

    The model runs with its batch norms folded into its convolutions
    (:func:`gruae.models.fold_batch_norm`, a copy: the model itself is not changed) and in the
    channels-last layout where that is faster (:func:`gruae.devices.channels_last_helps`).

    Args:
        model: maps ``(B, T, C, H, W)`` to the same shape in ``[-1, 1]``; put in eval mode here.
        frames: the videos.
        batch: windows per forward pass (default: :data:`INFERENCE_BATCH` for the device).
        device: where to run (default: the model's device).
        amp: precision, as in training (:func:`gruae.devices.choose_precision`): ``"off"``
            (float32, the default: exact figures), ``"auto"``, ``"bf16"`` or ``"fp16"``.

    Returns:
        float32 ``(F, C, H, W)`` in ``[-1, 1]`` on the CPU, aligned with ``frames.pixels``.
    """
    model.eval()
    device = torch.device(device) if device is not None else next(model.parameters()).device
    T = clip_frames_of(model)
    c = int(getattr(model, "context", 0))
    if not 0 <= c < T:
        raise DataError(type(model).__name__, f"the model needs {c} frames of context, more than clips of T={T} hold")
    model = fold_batch_norm(model)  # the same outputs, faster; the caller's model is untouched
    batch = batch or INFERENCE_BATCH.get(device.type, INFERENCE_BATCH["cuda"])
    windows = frames.windows(T, T - c)  # (W, 3): video, offset, first frame
    out = torch.empty(frames.pixels.shape, dtype=torch.float32)  # (F, C, H, W)
    precision = choose_precision(device, amp)
    if channels_last_helps(device, precision):
        model_channels_last(model)  # the same values, a faster layout
    for i in range(len(windows) - 1, -1, -batch):  # last windows first: earlier windows overwrite overlaps
        w = windows[max(0, i - batch + 1): i + 1]
        x = frames.window_clips(w, T).to(device)  # (b, T, C, H, W)
        with autocast(device, precision):
            y = model(x).float().cpu()
        for j in range(len(w) - 1, -1, -1):
            first, lo = int(w[j, 2]), (c if int(w[j, 1]) > 0 else 0)  # skip outputs without past, except at the video's start
            out[first + lo: first + T] = y[j, lo:]
    return out


def _unit(x: torch.Tensor) -> torch.Tensor:
    """Frames to float ``[0, 1]``: uint8 grey levels or floats in ``[-1, 1]``."""
    if x.dtype == torch.uint8:
        return x.float() / 255.0
    return (x.float().clamp(-1, 1) + 1) / 2


def pixel_errors(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """Squared error of every pixel on the ``[0, 1]`` scale, averaged over colour channels.

    Args:
        x, y: frames ``(F, C, H, W)``, uint8 or float in ``[-1, 1]``.

    Returns:
        float ``(F, H, W)``: the error maps (chapter 6 compares them with anomaly masks).
    """
    return (_unit(x) - _unit(y)).pow(2).mean(1)  # (F, C, H, W) -> (F, H, W)


def frame_mse(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """Mean squared error per frame on the ``[0, 1]`` scale.

    Args:
        x, y: frames ``(F, C, H, W)`` (or ``(F, H, W)``), uint8 or float in ``[-1, 1]``.

    Returns:
        float ``(F,)``.
    """
    return (_unit(x) - _unit(y)).pow(2).flatten(1).mean(1)


def frame_psnr(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """Peak signal-to-noise ratio per frame, in dB, with peak 1 on the ``[0, 1]`` scale.

    Args:
        x, y: frames as in :func:`frame_mse`.

    Returns:
        float ``(F,)`` (capped at 100 dB for identical frames).
    """
    return -10 * torch.log10(frame_mse(x, y).clamp_min(1e-10))


def _gaussian_window(size: int = 11, sigma: float = 1.5) -> torch.Tensor:
    """Normalised 1-D Gaussian of ``size`` taps."""
    t = torch.arange(size, dtype=torch.float32) - (size - 1) / 2
    g = torch.exp(-t**2 / (2 * sigma**2))
    return g / g.sum()


def _valid_blur_matrix(n: int, g: torch.Tensor) -> torch.Tensor:
    """``(n, n - k + 1)`` matrix whose column j holds the ``k`` taps of ``g`` at rows j..j+k-1:
    ``z @ M`` is the valid convolution of ``z``'s last axis with ``g``: the same sums as a
    one-channel ``conv2d`` with a 1-D kernel, about 20x faster on a CPU (measured on 64x64
    frames, one thread; :func:`frame_ssim` as a whole became 7x faster)."""
    k = len(g)
    m = torch.zeros(n, n - k + 1)
    for j in range(n - k + 1):
        m[j:j + k, j] = g
    return m


def frame_ssim(x: torch.Tensor, y: torch.Tensor, *, chunk: int = 256) -> torch.Tensor:
    """Structural similarity per frame (Wang et al. 2004), Gaussian window 11x11, sigma 1.5.

    Matches ``skimage.metrics.structural_similarity(a, b, data_range=1, gaussian_weights=True,
    sigma=1.5, use_sample_covariance=False)`` per frame and channel (averaged over channels):
    the mean of the SSIM map over the pixels at least 5 from the border.

    Args:
        x, y: frames as in :func:`frame_mse`, at least 11x11.
        chunk: frames processed at a time (bounds memory).

    Returns:
        float ``(F,)``.
    """
    x, y = _unit(x), _unit(y)
    if x.dim() == 3:
        x, y = x[:, None], y[:, None]  # (F, H, W) -> (F, 1, H, W)
    g = _gaussian_window()
    gh, gw = _valid_blur_matrix(x.shape[-2], g), _valid_blur_matrix(x.shape[-1], g)  # (H, H-10), (W, W-10)
    c1, c2 = 0.01**2, 0.03**2
    res = []
    for a, b in zip(x.split(chunk), y.split(chunk)):
        z = torch.stack([a, b, a * a, b * b, a * b])  # (5, n, c, h, w)
        # the valid Gaussian blur, separable: along W, then along H -> (5, n, c, h - 10, w - 10)
        mu_a, mu_b, aa, bb, ab = gh.T @ (z @ gw)
        saa, sbb, sab = aa - mu_a**2, bb - mu_b**2, ab - mu_a * mu_b
        s = ((2 * mu_a * mu_b + c1) * (2 * sab + c2)) / ((mu_a**2 + mu_b**2 + c1) * (saa + sbb + c2))
        res.append(s.mean((2, 3)).mean(1))  # (n, c, h', w') -> (n,): over pixels, then channels
    return torch.cat(res)


def motion_energy(frames: torch.Tensor) -> torch.Tensor:
    """Energy of the frame-to-frame differences: mean squared difference between consecutive
    frames, per transition, on the ``[0, 1]`` scale.

    Squared differences weigh the large changes of moving objects over the small ones of sensor
    noise, so the energy of an input is mostly its real motion; an output that freezes has little.

    Args:
        frames: one video's frames ``(T, C, H, W)`` or ``(T, H, W)``, uint8 or float in ``[-1, 1]``.

    Returns:
        float ``(T-1,)``.
    """
    u = _unit(frames)
    return (u[1:] - u[:-1]).pow(2).flatten(1).mean(1)


def motion_correlation(x: torch.Tensor, y: torch.Tensor) -> float:
    """Cosine similarity between the frame-to-frame differences of an input and its output.

    1 when the output changes exactly as the input does (up to scale), 0 when its changes are
    unrelated to the input's (a frozen or flickering output), negative when opposite.

    Args:
        x: input frames of one video ``(T, ...)``, uint8 or float in ``[-1, 1]``.
        y: output frames, same shape.

    Returns:
        The correlation, a float in ``[-1, 1]`` (0 when either does not change at all).
    """
    ux, uy = _unit(x), _unit(y)
    dx, dy = (ux[1:] - ux[:-1]).flatten(), (uy[1:] - uy[:-1]).flatten()
    den = dx.norm() * dy.norm()
    return 0.0 if den == 0 else float((dx @ dy) / den)


def per_video(values: torch.Tensor, frames: VideoFrames) -> list[torch.Tensor]:
    """Split a per-frame tensor ``(F, ...)`` into one tensor per video."""
    return list(values.split(frames.lengths.tolist()))


@dataclass
class Evaluation:
    """Reconstruction quality of a model on a set of videos (see :func:`evaluate`)."""

    recon: torch.Tensor  # float (F, C, H, W) in [-1, 1]: the reconstruction of every frame
    psnr: torch.Tensor  # float (F,): PSNR of each frame, dB
    ssim: torch.Tensor  # float (F,): SSIM of each frame
    motion_in: torch.Tensor  # float (V,): mean motion energy of each input video
    motion_out: torch.Tensor  # float (V,): mean motion energy of each reconstruction
    motion_corr: torch.Tensor  # float (V,): motion correlation of each video (see motion_correlation)

    def summary(self) -> dict[str, float]:
        """Means over frames or videos: PSNR (dB), SSIM, the motion correlation (1 = the output
        moves as the input does, 0 = its motion is unrelated to the input's, or absent) and the
        motion ratio (output motion energy / input motion energy: 0 frozen, 1 as much, >1 flicker)."""
        return {"psnr_db": self.psnr.mean().item(), "ssim": self.ssim.mean().item(),
                "motion_corr": self.motion_corr.mean().item(),
                "motion_ratio": (self.motion_out / self.motion_in.clamp_min(1e-12)).mean().item()}


def evaluate(model: nn.Module, frames: VideoFrames, **kw) -> Evaluation:
    """Reconstruct every frame of ``frames`` and measure it.

    Args:
        model: a clip model (see :func:`reconstruct`).
        frames: the videos (held out from training, for an honest figure).
        **kw: passed to :func:`reconstruct` (``batch``, ``device``, ``amp``).

    Returns:
        An :class:`Evaluation`.
    """
    recon = reconstruct(model, frames, **kw)
    orig = frames.pixels
    m_in = torch.stack([motion_energy(v).mean() for v in per_video(orig, frames)])
    m_out = torch.stack([motion_energy(v).mean() for v in per_video(recon, frames)])
    corr = torch.tensor([motion_correlation(a, b) for a, b in zip(per_video(orig, frames), per_video(recon, frames))])
    return Evaluation(recon, frame_psnr(recon, orig), frame_ssim(recon, orig), m_in, m_out, corr)
