"""Anomaly scores from reconstruction errors, and how the literature measures them.

The anomaly score of a frame is how badly it is reconstructed: its mean squared error
:math:`e(t)`. The measures, as in the video anomaly detection literature:

- the **regularity score** of Hasan et al. (2016), per video:
  :math:`s(t) = 1 - (e(t) - \\min_t e) / (\\max_t e - \\min_t e)` (1 = regular);
  :func:`normalize_per_video` gives the matching anomaly score :math:`1 - s(t)`. Note that it
  uses each test video's own minimum and maximum: statistics of the test data;
- frame-level **ROC AUC**, *micro* (all videos' frames concatenated: the usual protocol) and
  *macro* (the mean of per-video AUCs, over videos that hold both classes), and the **equal error
  rate**, with scikit-learn's ROC;
- optional temporal smoothing (:func:`smooth`), to be reported whenever used: it raises AUC;
- AUC per anomaly type: normal frames against the frames of one type.

A frame's score is the mean of its error map by default; :func:`frame_scores` with ``patch``
takes instead the largest mean over ``patch x patch`` windows: an anomaly that covers a small
part of the frame (a cyclist among walkers) is then not diluted by the rest of the frame.
"""

from __future__ import annotations

import csv
import os
from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple, Sequence

import numpy as np
import torch
from torch import nn

from .data import VideoFrames
from .errors import DataError
from .models import MODEL_NAMES, clip_frames_of
from .scoring import _unit, frame_mse, pixel_errors, reconstruct

__all__ = ["frame_errors", "error_maps", "frame_scores", "error_ratio", "PED2_PATCH", "relative_errors", "pixel_gaussian", "frame_difference",
           "pixel_auc", "regularity", "normalize_per_video", "smooth", "roc_auc", "micro_auc", "macro_auc", "equal_error_rate",
           "auc_by_type", "auc_table", "AnomalyReport", "report", "Rates", "threshold_rates", "BASELINES",
           "benchmark_frames", "BenchmarkScores", "score_benchmark", "score_video", "write_scores_csv"]


def frame_errors(model: nn.Module, frames: VideoFrames, **kw) -> torch.Tensor:
    """Per-frame reconstruction error (MSE on the ``[0, 1]`` scale) of every frame.

    Args:
        model: a clip model.
        frames: the videos to score.
        **kw: passed to :func:`gruae.scoring.reconstruct`.

    Returns:
        float ``(F,)`` aligned with ``frames.pixels``.
    """
    return error_maps(model, frames, **kw).flatten(1).mean(1)  # (F, H, W) -> (F,)


def error_maps(model: nn.Module, frames: VideoFrames, **kw) -> torch.Tensor:
    """Per-pixel reconstruction error of every frame: float ``(F, H, W)``; its frame mean is
    :func:`frame_errors`. ``**kw`` goes to :func:`gruae.scoring.reconstruct`."""
    return pixel_errors(reconstruct(model, frames, **kw), frames.pixels)


PED2_PATCH = 8
"""The window of chapter 9's local frame score on UCSD Ped2 (:func:`frame_scores`): 8x8 pixels of
a 64x64 frame, about the size of one person or one bicycle there (scaled with other frame sizes)."""


def frame_scores(maps, patch: int | None = None) -> torch.Tensor:
    """One score per frame from its error (or score) map.

    Args:
        maps: float ``(F, H, W)`` maps.
        patch: None: the mean of the map. An integer ``k``: the largest mean of any ``k x k``
            window, windows every ``max(1, k // 2)`` pixels: a local score, for anomalies that
            cover a small part of the frame.

    Returns:
        float ``(F,)``.
    """
    maps = torch.as_tensor(maps).float()
    if patch is None:
        return maps.mean((1, 2))  # (F, H, W) -> (F,)
    if not 1 <= patch <= min(maps.shape[1:]):
        raise DataError(None, f"patch must lie in 1..{min(maps.shape[1:])} for maps of shape "
                              f"{tuple(maps.shape[1:])}, got {patch}")
    pooled = torch.nn.functional.avg_pool2d(maps[:, None], patch, stride=max(1, patch // 2))  # (F, 1, h, w)
    return pooled.flatten(1).amax(1)


def error_ratio(model: nn.Module, frames: VideoFrames, patch: int | None = None) -> float:
    """How much of the motion a model of frame differences leaves unpredicted: its error over
    the error of predicting no change at all.

    For a model of :meth:`VideoFrames.motion` (a predictor of the next difference, say), an
    output of zeros means "nothing moves", and its error is the frame difference itself
    (:func:`frame_difference`, on another scale). The ratio says what the model adds to its own
    input: 1, nothing; 0, every change predicted. Computed on normal videos it needs no label.

    Args:
        model: a model of frame differences (see :func:`error_maps`).
        frames: frame differences (:meth:`VideoFrames.motion`).
        patch: None: the whole-frame errors; ``k``: the local frame scores (:func:`frame_scores`).

    Returns:
        The mean frame score of the model's errors over the mean frame score of no change's.
    """
    err = error_maps(model, frames)  # (F, H, W)
    still = pixel_errors(torch.zeros(frames.pixels.shape), frames.pixels)  # (F, H, W): "no change"
    return (frame_scores(err, patch).mean() / frame_scores(still, patch).mean().clamp_min(1e-12)).item()


def relative_errors(maps, normal_maps, *, eps: float = 1e-3) -> torch.Tensor:
    """Error maps divided, pixel by pixel, by the model's usual error there on normal frames.

    A reconstruction model is never perfect, and where it errs depends on the place: textured
    background, the edges of a walkway, the lanes where people walk. Dividing by the mean error
    each pixel has on *normal* videos (held out from training, or the training videos
    themselves: never the test videos) turns "large error" into "larger than usual here".

    Args:
        maps: float ``(F, H, W)`` error maps to score (e.g. :func:`error_maps` of the test videos).
        normal_maps: float ``(F_n, H, W)`` error maps of normal frames, same model.
        eps: added to the usual error (on the ``[0, 1]`` squared scale), so that pixels the model
            always gets right do not explode.

    Returns:
        float ``(F, H, W)``: ``maps / (mean(normal_maps) + eps)``.
    """
    maps, normal_maps = torch.as_tensor(maps), torch.as_tensor(normal_maps)
    if maps.shape[1:] != normal_maps.shape[1:]:
        raise DataError(None, f"error maps of shape {tuple(maps.shape[1:])} and normal maps of shape "
                              f"{tuple(normal_maps.shape[1:])} differ")
    return maps / (normal_maps.float().mean(0) + eps)


def pixel_gaussian(train: VideoFrames, test: VideoFrames, *, eps: float = 1e-3) -> torch.Tensor:
    """A non-learned baseline: how unlikely each test pixel is under a per-pixel Gaussian.

    The mean and variance of every pixel position over all training frames (normal videos, fixed
    camera) define the model; a test pixel's score is its squared z-score
    ``(x - mean)^2 / (var + eps)`` on the ``[0, 1]`` scale. Its frame mean is the frame's score.

    Args:
        train: normal training videos.
        test: the videos to score (same frame shape).
        eps: added to the variance (pixels that never change would divide by zero).

    Returns:
        float ``(F_test, H, W)`` score maps.
    """
    if train.frame_shape != test.frame_shape:
        raise DataError(None, f"train frames {train.frame_shape} and test frames {test.frame_shape} differ in shape")
    x = _unit(train.pixels).mean(1)  # (F, H, W) on [0, 1], channels averaged
    mean, var = x.mean(0), x.var(0)  # (H, W) each
    y = _unit(test.pixels).mean(1)  # (F_test, H, W)
    return (y - mean).pow(2) / (var + eps)


def frame_difference(frames: VideoFrames) -> torch.Tensor:
    """A non-learned baseline: squared difference of each pixel with the previous frame.

    Large where something moves fast. The first frame of each video scores 0.

    Returns:
        float ``(F, H, W)`` on the ``[0, 1]`` scale.
    """
    x = _unit(frames.pixels).mean(1)  # (F, H, W) on [0, 1]
    d = torch.zeros_like(x)
    d[1:] = (x[1:] - x[:-1]).pow(2)
    d[frames.starts] = 0  # never across two videos
    return d


def pixel_auc(maps, masks, labels) -> float:
    """Pixel-level AUC: do the error maps point at the anomalous pixels?

    Pixels of the anomalous frames only (the question is *where*, not *when*): each pixel's
    score against its ground-truth mask.

    Args:
        maps: float ``(F, H, W)`` score maps.
        masks: bool ``(F, H, W)`` anomaly pixels.
        labels: per-frame 0/1 labels ``(F,)``.

    Returns:
        The AUC (NaN without anomalous frames).
    """
    sel = np.asarray(labels).astype(bool)
    if not sel.any():
        return float("nan")
    m = _numpy(maps)[sel]
    return roc_auc(m.reshape(-1), np.asarray(masks)[sel].reshape(-1))


def _split(values: np.ndarray, lengths: Sequence[int]) -> list[np.ndarray]:
    """Split a per-frame array into per-video arrays."""
    if sum(lengths) != len(values):
        raise DataError(None, f"{len(values)} scores for {sum(lengths)} frames")
    return np.split(np.asarray(values, dtype=np.float64), np.cumsum(lengths)[:-1])


def regularity(errors, lengths: Sequence[int]) -> np.ndarray:
    """Hasan et al.'s regularity score per video: ``1 - (e - min e) / (max e - min e)``.

    Args:
        errors: per-frame errors ``(F,)`` of all videos, one after another.
        lengths: frames per video.

    Returns:
        float64 ``(F,)`` in ``[0, 1]`` (1 where a video's error is constant).
    """
    return 1.0 - normalize_per_video(errors, lengths)


def normalize_per_video(scores, lengths: Sequence[int]) -> np.ndarray:
    """Min-max normalise scores within each video to ``[0, 1]`` (0 where a video is constant).

    Args:
        scores: per-frame scores ``(F,)``.
        lengths: frames per video.

    Returns:
        float64 ``(F,)``.
    """
    out = []
    for s in _split(_numpy(scores), lengths):
        span = s.max() - s.min()
        out.append((s - s.min()) / span if span > 0 else np.zeros_like(s))
    return np.concatenate(out)


def smooth(scores, lengths: Sequence[int], sigma: float) -> np.ndarray:
    """Gaussian temporal smoothing of scores within each video (never across videos).

    Args:
        scores: per-frame scores ``(F,)``.
        lengths: frames per video.
        sigma: standard deviation in frames (0: no smoothing).

    Returns:
        float64 ``(F,)``.
    """
    from scipy.ndimage import gaussian_filter1d

    parts = _split(_numpy(scores), lengths)
    if sigma <= 0:
        return np.concatenate(parts)
    return np.concatenate([gaussian_filter1d(p, sigma, mode="nearest") for p in parts])


def _numpy(x) -> np.ndarray:
    """A float64 numpy copy of a tensor or array."""
    if isinstance(x, torch.Tensor):
        x = x.detach().cpu().numpy()
    return np.asarray(x, dtype=np.float64)


def roc_auc(scores, labels) -> float:
    """Area under the ROC curve; NaN when the labels hold a single class.

    Computed as the Mann-Whitney statistic from average ranks (ties count one half), which is
    exactly scikit-learn's ``roc_auc_score`` and about twice as fast on the millions of pixels
    of a pixel-level AUC.
    """
    from scipy.stats import rankdata

    labels = np.asarray(labels).astype(bool).reshape(-1)
    n_pos = int(labels.sum())
    n_neg = labels.size - n_pos
    if n_pos == 0 or n_neg == 0:
        return float("nan")
    ranks = rankdata(_numpy(scores).reshape(-1))  # 1..n, ties share their mean rank
    return float((ranks[labels].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg))


def micro_auc(scores, labels) -> float:
    """Frame-level AUC over all videos' frames concatenated (the usual protocol)."""
    return roc_auc(scores, labels)


def macro_auc(scores, labels, lengths: Sequence[int]) -> float:
    """Mean of per-video AUCs, over the videos that hold both normal and anomalous frames."""
    aucs = [roc_auc(s, l) for s, l in zip(_split(_numpy(scores), lengths), _split(np.asarray(labels), lengths))]
    aucs = [a for a in aucs if not np.isnan(a)]
    return float(np.mean(aucs)) if aucs else float("nan")


def equal_error_rate(scores, labels) -> float:
    """The error rate where the false positive rate equals the false negative rate (ROC-based)."""
    from sklearn.metrics import roc_curve

    labels = np.asarray(labels).astype(int)
    if labels.min() == labels.max():
        return float("nan")
    fpr, tpr, _ = roc_curve(labels, _numpy(scores))
    fnr = 1 - tpr
    i = int(np.nanargmin(np.abs(fnr - fpr)))
    return float((fpr[i] + fnr[i]) / 2)


def auc_by_type(scores, labels, types, names: Sequence[str]) -> dict[str, float]:
    """AUC of normal frames against the frames of each anomaly type.

    Args:
        scores: per-frame scores ``(F,)``.
        labels: per-frame 0/1 labels ``(F,)``.
        types: per-frame type index ``(F,)`` into ``names`` (0 = normal).
        names: the type names, ``names[0]`` being normal.

    Returns:
        type name -> AUC (NaN for a type absent from the frames).
    """
    scores, labels, types = _numpy(scores), np.asarray(labels).astype(int), np.asarray(types)
    normal = labels == 0
    out = {}
    for k, name in enumerate(names):
        if k == 0:
            continue
        sel = normal | (types == k)
        out[name] = roc_auc(scores[sel], labels[sel]) if (types == k).any() else float("nan")
    return out


def auc_table(scores: dict, labels, lengths: Sequence[int], *, types=None, type_names: Sequence[str] | None = None,
              per_video: bool = True, sigma: float = 0.0) -> list[dict]:
    """One row of detection measures per scoring method: the book's and the benchmark's table.

    Args:
        scores: method name -> per-frame scores ``(F,)`` (higher = more anomalous).
        labels: per-frame 0/1 labels ``(F,)``.
        lengths: frames per video.
        types: per-frame anomaly type index ``(F,)`` (optional): adds an AUC column per type.
        type_names: the type names, ``type_names[0]`` being normal.
        per_video: min-max normalise each video's scores (see :func:`report`).
        sigma: temporal smoothing in frames (0 = none).

    Returns:
        Rows ``{"method", "micro AUC", "macro AUC", "EER", <type>...}``.
    """
    rows = []
    for name, e in scores.items():
        r = report(e, labels, lengths, per_video=per_video, sigma=sigma)
        row = {"method": name, "micro AUC": r.micro_auc, "macro AUC": r.macro_auc, "EER": r.eer}
        if types is not None:
            row.update(auc_by_type(_prepare(e, lengths, per_video, sigma), labels, types, type_names))
        rows.append(row)
    return rows


def _prepare(errors, lengths: Sequence[int], per_video: bool, sigma: float) -> np.ndarray:
    """Scores as measured: smoothed (``sigma`` frames, 0 = not), then min-max normalised per video if asked."""
    s = smooth(errors, lengths, sigma)
    return normalize_per_video(s, lengths) if per_video else s


@dataclass
class AnomalyReport:
    """Frame-level detection measures of one set of scores (see :func:`report`)."""

    micro_auc: float  # AUC over all frames of all videos
    macro_auc: float  # mean per-video AUC
    eer: float  # equal error rate (micro)
    normalization: str  # "per-video min-max" or "none"
    smoothing_sigma: float  # Gaussian smoothing in frames (0 = none): always reported

    def as_dict(self) -> dict[str, float | str]:
        """The fields as a dict, for tables."""
        return dict(self.__dict__)


def report(errors, labels, lengths: Sequence[int], *, per_video: bool = True, sigma: float = 0.0) -> AnomalyReport:
    """Score frames the literature's way and measure them.

    Args:
        errors: per-frame reconstruction errors ``(F,)`` (higher = more anomalous).
        labels: per-frame 0/1 labels ``(F,)``.
        lengths: frames per video.
        per_video: min-max normalise each video's scores first (uses test statistics: say so).
        sigma: Gaussian temporal smoothing in frames, applied before normalisation (0 = none).

    Returns:
        An :class:`AnomalyReport`.
    """
    s = _prepare(errors, lengths, per_video, sigma)
    return AnomalyReport(micro_auc(s, labels), macro_auc(s, labels, lengths), equal_error_rate(s, labels),
                         "per-video min-max" if per_video else "none", float(sigma))


class Rates(NamedTuple):
    """What a fixed threshold does on labelled frames (see :func:`threshold_rates`)."""

    detection: float  # fraction of anomalous frames flagged (true positive rate, recall)
    false_alarm: float  # fraction of normal frames flagged (false positive rate)
    precision: float  # fraction of flagged frames that are anomalous (0 when nothing is flagged)


def threshold_rates(scores, labels, threshold: float) -> Rates:
    """Detection rate, false alarm rate and precision of flagging the frames scoring above a threshold.

    Args:
        scores: per-frame scores ``(F,)`` (raw: a deployed threshold cannot normalise per video).
        labels: per-frame 0/1 labels ``(F,)``.
        threshold: frames with a score strictly above it are flagged.

    Returns:
        :class:`Rates` ``(detection, false_alarm, precision)``; a rate is NaN when the frames
        hold no frame of its class.
    """
    flag, labels = _numpy(scores) > threshold, np.asarray(labels).astype(bool)
    rate = lambda sel: float(flag[sel].mean()) if sel.any() else float("nan")  # noqa: E731
    return Rates(rate(labels), rate(~labels), float((flag & labels).sum() / max(flag.sum(), 1)))


BASELINES = ("pixel Gaussian", "frame difference")
"""The non-learned baselines :func:`score_benchmark` scores (:func:`pixel_gaussian`, :func:`frame_difference`)."""


def benchmark_frames(root: str | os.PathLike, size: int) -> tuple[VideoFrames, VideoFrames]:
    """The training and testing videos of a UCSD-style benchmark root, grey, resized to ``size``.

    Args:
        root: a folder :func:`gruae.readers.read_benchmark` reads (``training/frames`` and
            ``testing/frames`` with labels, or the official ``UCSDped2`` folder).
        size: frame height = width in pixels.

    Returns:
        ``(train, test)``; ``test.frame_labels`` holds the per-frame labels.

    Raises:
        DataError: the folder is unreadable, or its testing split has no frame labels.
    """
    from .readers import read_benchmark

    tr = read_benchmark(root, "training", size=size)
    te = read_benchmark(root, "testing", size=size)
    if te.labels is None:
        raise DataError(root, "no frame labels for the testing split (ped2.mat, UCSDped2.m or labels/*.npy)")
    return (VideoFrames.from_videos(tr.videos, tr.names),
            VideoFrames.from_videos(te.videos, te.names, frame_labels=te.labels))


@dataclass
class BenchmarkScores:
    """Every method's scores of the test frames (see :func:`score_benchmark`).

    Methods are named as in the book's tables: :data:`~gruae.models.MODEL_NAMES` for the
    models, :data:`BASELINES` for the baselines, and ``"<model>, relative"`` for the
    relative-error variants.
    """

    runs: dict  # kind -> TrainResult: the trained (or loaded) models
    maps: dict[str, torch.Tensor]  # method -> float (F, H, W) score maps of the test frames
    scores: dict[str, np.ndarray]  # method -> (F,) frame scores (see frame_scores): models, then baselines
    relative: dict[str, np.ndarray]  # model name -> (F,) relative-error frame scores (empty without normal videos)

    def all_scores(self) -> dict[str, np.ndarray]:
        """Method -> frame scores, the relative variants (``"<model>, relative"``) after each model's own."""
        out = {}
        for name, s in self.scores.items():
            out[name] = s
            if name in self.relative:
                out[f"{name}, relative"] = self.relative[name]
        return out


def score_benchmark(profile, kinds: Sequence[str], train: VideoFrames, test: VideoFrames,
                    normal: VideoFrames | None = None, *, name: str, root: str | os.PathLike | None = None,
                    progress: bool = True, pretrained: bool = True, patch: int | None = None,
                    **model_changes) -> BenchmarkScores:
    """Train (or load) models on normal videos and score every test frame, with the baselines.

    The pipeline of the book's anomaly chapters and of ``benchmarks/anomaly.py``: each model
    kind is trained on ``train`` by :func:`gruae.training.fit` (a finished run is loaded), its
    error maps of ``test`` are the scores (mean per frame), and so are those of the two
    non-learned baselines. With ``normal`` videos (held out from training, or the training
    videos themselves: never the test videos), each model is also scored by its relative
    error (:func:`relative_errors`). Measure the result with :func:`auc_table`.

    Args:
        profile: the :class:`~gruae.config.Profile` (its model and training configurations).
        kinds: model kinds to train and score (see :data:`~gruae.models.MODEL_NAMES`).
        train: normal training videos.
        test: the videos to score.
        normal: normal videos calibrating the relative errors (None: no relative variants).
        name: prefix of the run folders (``f"{name}-{kind}"``): the same name loads the same runs.
        root: the data folder of the runs (default ``$GRUAE_DATA`` or ``data``).
        progress: show training progress.
        pretrained: load the package's weights when every model has finished ones
            (:func:`~gruae.training.fit_all`; ``False``: always train).
        patch: how maps become frame scores (:func:`frame_scores`): None, the frame mean; ``k``,
            the largest mean of a ``k x k`` window. The same for every method.
        **model_changes: changes to every model configuration (``size=...``, ``horizon=...``).

    Returns:
        A :class:`BenchmarkScores`.
    """
    from .training import fit_all

    runs = fit_all({kind: profile.model_for(kind, **model_changes) for kind in kinds}, train, profile.train,
                   prefix=f"{name}-", root=root, progress=progress, pretrained=pretrained)
    maps, relative = {}, {}
    for kind in kinds:
        label = MODEL_NAMES[kind]
        maps[label] = error_maps(runs[kind].model, test)  # (F, H, W)
        if normal is not None:
            usual = error_maps(runs[kind].model, normal)  # the model's usual error per pixel
            relative[label] = frame_scores(relative_errors(maps[label], usual), patch).numpy()
    maps[BASELINES[0]] = pixel_gaussian(train, test)
    maps[BASELINES[1]] = frame_difference(test)
    scores = {label: frame_scores(m, patch).numpy() for label, m in maps.items()}  # (F,) each
    return BenchmarkScores(runs, maps, scores, relative)


@torch.no_grad()
def score_video(model: nn.Module, video, *, name: str = "video", batch: int | None = None) -> dict[str, np.ndarray]:
    """Per-frame anomaly scores of one video with a trained model.

    Args:
        model: a trained clip model (its ``cfg`` gives frame size, channels and T).
        video: uint8 ``(T_v, H, W)`` (or with channels) at the model's frame size, e.g. from
            ``gruae.readers.read_video(path, gray=True, size=model.cfg.size)``.
        name: the video's name, for error messages.
        batch: windows per forward pass (default: :data:`gruae.scoring.INFERENCE_BATCH`).

    Returns:
        ``{"mse": (T_v,), "psnr": (T_v,), "regularity": (T_v,)}`` float arrays.

    Raises:
        DataError: the video is shorter than T or its frames do not match the model.
    """
    cfg = getattr(model, "cfg", None)
    frames = VideoFrames.from_videos([video], [name], min_frames=clip_frames_of(model))
    if cfg is not None and frames.frame_shape != (cfg.channels, cfg.size, cfg.size):
        raise DataError(name, f"frames of (C, H, W) = {frames.frame_shape}, but the model expects "
                              f"{(cfg.channels, cfg.size, cfg.size)}: read it with gray=True, size={cfg.size}")
    recon = reconstruct(model, frames, batch=batch)
    mse = frame_mse(recon, frames.pixels).numpy()
    psnr = -10 * np.log10(np.maximum(mse, 1e-10))  # as frame_psnr, from the MSE already computed
    return {"mse": mse, "psnr": psnr, "regularity": regularity(mse, [len(mse)])}


def write_scores_csv(scores: dict[str, np.ndarray], path: str | os.PathLike) -> Path:
    """Write per-frame scores as CSV (``frame,mse,psnr,regularity``), atomically.

    Args:
        scores: the output of :func:`score_video`.
        path: the CSV file to write.

    Returns:
        The path written.
    """
    path = Path(path)
    tmp = path.with_name(path.name + ".tmp")
    keys = list(scores)
    with open(tmp, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["frame", *keys])
        for i in range(len(scores[keys[0]])):
            w.writerow([i, *(f"{scores[k][i]:.6g}" for k in keys)])
    os.replace(tmp, path)
    return path
