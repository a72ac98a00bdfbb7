"""gruae: video reconstruction and video anomaly detection with a GRU autoencoder.

The package behind the GRU-AE book. Its modules, in the order data flows through them::

    sources    hub        the named datasets: where each comes from, where it lands, how to get it
               download   SHA-256-verified, resumable downloads; safe archive extraction
               readers    video files, frame folders, MoCoGAN strips, benchmark roots and labels
               synthetic  procedural human actions and anomaly scenes (the offline default)
    clips      data       every frame in one uint8 tensor; exact clip sampling; (B, T, C, H, W)
               datasets   the book's datasets at a profile's sizes: synthetic; real when present
    models     models     frame encoder/decoder, GRUAE, SingleLatentAE, PerFrameAE, Conv3dAE...
               config     the named profiles (ci / book / article): data, model and training sizes
    training   devices    device, precision (bf16/fp16/fp32) and memory layout, chosen by capability
               training   the loop: progress, checkpoints, snapshots, resume, load-or-train
               shipped    the pretrained weights on the package's shelf: manifest, find, load
               pretrained the command that makes them: train until converged, export, check
    scores     scoring    whole-video reconstruction; MSE, PSNR, SSIM, motion measures
               anomaly    error maps, baselines, regularity, ROC AUC, EER, thresholds
    pictures   plotting   strips, animations, error maps, score curves, tables
               export     reconstructions to GIF / MP4
    (all)      errors     the errors a reader can act on: each names the file and the problem

Importing it is cheap and changes no global state (no seeding, no matplotlib settings): the
names below load their module, and torch, on first use; every random draw comes from a seed you
pass, and plotting functions take their own axes.
"""

from __future__ import annotations

import importlib

__version__ = "0.1.0"

_EXPORTS = {
    "config": ("PROFILES", "Profile", "profile"),
    "data": ("VideoFrames", "to_float", "to_uint8"),
    "download": ("data_dir",),
    "errors": ("GruaeError", "DataError", "DownloadError", "CheckpointError", "TrainingError"),
    "models": ("ARTICLE", "MODEL_NAMES", "ModelConfig", "build_model", "count_parameters"),
    "training": ("TrainConfig", "TrainResult", "fit", "fit_all", "train", "load_checkpoint", "load_model"),
}
_MODULES = ("anomaly", "config", "data", "datasets", "devices", "download", "errors", "export", "hub",
            "models", "plotting", "pretrained", "readers", "scoring", "shipped", "synthetic", "training")
_WHERE = {name: module for module, names in _EXPORTS.items() for name in names}

__all__ = [*_MODULES, *_WHERE]


def __getattr__(name: str):
    """Load a submodule, or the module of an exported name, on first use (PEP 562)."""
    if name in _MODULES:
        return importlib.import_module(f".{name}", __name__)
    if name in _WHERE:
        value = getattr(importlib.import_module(f".{_WHERE[name]}", __name__), name)
        globals()[name] = value  # later lookups skip this function
        return value
    raise AttributeError(f"module 'gruae' has no attribute {name!r}")


def __dir__() -> list[str]:
    """Every public name, loaded or not."""
    return sorted(set(globals()) | set(__all__))
