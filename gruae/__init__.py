"""gruae: video reconstruction and video anomaly detection with a GRU autoencoder.

The package behind the GRU-AE book. Data flows one way::

    synthetic / readers  ->  data  ->  models  ->  training  ->  scoring / plotting

Importing it changes no global state (no seeding, no matplotlib settings): every random draw
comes from a seed you pass, and plotting functions take their own axes.
"""

from . import datasets
from .config import PROFILES, Profile, profile
from .data import VideoFrames, to_float, to_uint8
from .download import data_dir
from .errors import CheckpointError, DataError, DownloadError, GruaeError, TrainingError
from .models import ARTICLE, ModelConfig, build_model, count_parameters
from .training import TrainConfig, TrainResult, fit, load_checkpoint, load_model, train

__version__ = "0.1.0"

__all__ = [
    "datasets", "PROFILES", "Profile", "profile", "VideoFrames", "to_float", "to_uint8", "data_dir",
    "GruaeError", "DataError", "DownloadError", "CheckpointError", "TrainingError",
    "ARTICLE", "ModelConfig", "build_model", "count_parameters",
    "TrainConfig", "TrainResult", "fit", "train", "load_checkpoint", "load_model",
]
