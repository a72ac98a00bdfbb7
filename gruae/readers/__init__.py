"""Reading videos and datasets into uint8 arrays: ``(T, H, W)`` grey or ``(T, H, W, C)`` colour.

The modules, in the order data flows through them:

1. :mod:`~gruae.readers.files`: which files of a folder count (hidden ones never), in natural
   order (``2.png`` before ``10.png``), and the one-line errors about them;
2. :mod:`~gruae.readers.frames`: :func:`to_gray` (ITU-R 601 luma, as Pillow's
   ``convert("L")``) and :func:`resize` (antialiased bilinear), applied chunk by chunk;
3. :mod:`~gruae.readers.decode`: video files (:func:`read_video`: mp4, avi, webm, gif... with
   PyAV or Pillow), folders of frame images (:func:`read_frame_folder`) and MoCoGAN strips
   (:func:`read_strip`: one image per video, square frames side by side);
4. :mod:`~gruae.readers.benchmarks`: UCSD-style anomaly benchmarks (:func:`read_benchmark`),
   in the common frames layout or the official UCSD layout, with per-frame labels;
5. :mod:`~gruae.readers.arrays`: videos stored as ``.npy`` / ``.npz`` arrays;
6. :mod:`~gruae.readers.scan`: any of the above recognised from the path alone
   (:func:`load_videos`, :func:`describe`).

The named datasets (Weizmann, MoCoGAN actions, UCSD Ped1/Ped2) are found, downloaded and
linked by :mod:`gruae.hub`, which stands above these modules and uses them.

Every problem with the input raises :class:`gruae.errors.DataError` whose one-line message
names the file and the problem, for example ``clips/03.avi: cannot decode video (truncated or
corrupt: Invalid data found when processing input)``. PyAV, Pillow, SciPy and PyTorch are
imported inside the functions that need them, so ``import gruae.readers`` is cheap.
"""

from __future__ import annotations

from gruae.readers.benchmarks import Benchmark, benchmark_splits, read_benchmark
from gruae.readers.decode import read_frame_folder, read_strip, read_video
from gruae.readers.files import IMAGE_EXTENSIONS, VIDEO_EXTENSIONS
from gruae.readers.frames import resize, to_gray
from gruae.readers.scan import Videos, describe, load_videos

__all__ = [
    "VIDEO_EXTENSIONS", "IMAGE_EXTENSIONS",
    "Benchmark", "Videos",
    "to_gray", "resize",
    "read_video", "read_frame_folder", "read_strip", "read_benchmark", "benchmark_splits",
    "load_videos", "describe",
]
