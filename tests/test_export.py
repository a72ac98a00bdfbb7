"""Tests for gruae.export: GIF and MP4 round trips, side-by-side layout, errors that name the file."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from gruae.errors import DataError
from gruae.export import save_video, side_by_side
from gruae.readers import read_video


def video(T=6, H=16, W=20, seed=0):
    return np.random.default_rng(seed).integers(0, 256, (T, H, W), dtype=np.uint8)


def test_side_by_side_layout():
    a, b = video(seed=1), video(seed=2)
    s = side_by_side(a, torch.from_numpy(b).float() / 127.5 - 1, gap=3)  # uint8 and float in [-1, 1]
    assert s.shape == (6, 16, 43) and s.dtype == np.uint8
    assert np.array_equal(s[..., :20], a) and (s[..., 20:23] == 255).all()
    assert np.abs(s[..., 23:].astype(int) - b).max() <= 1


def test_side_by_side_rejects_mismatch():
    with pytest.raises(DataError, match="share length"):
        side_by_side(video(T=6), video(T=5))
    with pytest.raises(DataError):
        side_by_side()


def test_gif_round_trip_is_exact(tmp_path):
    v = video()
    p = save_video(tmp_path / "sub" / "a.gif", v, fps=10, scale=2)
    back = read_video(p, gray=True)
    assert back.shape == (6, 32, 40)
    assert np.array_equal(back, v.repeat(2, 1).repeat(2, 2))
    assert [f.name for f in (tmp_path / "sub").iterdir()] == ["a.gif"], "no temporary file left behind"


def test_mp4_round_trip_is_close(tmp_path):
    v = np.repeat(np.linspace(0, 255, 20, dtype=np.uint8)[None, None], 16, axis=1).repeat(8, axis=0)  # smooth ramp
    p = save_video(tmp_path / "a.mp4", v[:, :15, :19], fps=8)  # odd sides are padded for H.264
    back = read_video(p, gray=True)
    assert back.shape == (8, 16, 20)
    assert np.abs(back[:, :15, :19].astype(int) - v[:, :15, :19]).mean() < 6


def test_errors_name_the_file(tmp_path):
    with pytest.raises(DataError, match=r"a\.avi: cannot write \.avi"):
        save_video(tmp_path / "a.avi", video())
    with pytest.raises(DataError, match="no frames"):
        save_video(tmp_path / "a.gif", np.zeros((0, 4, 4), np.uint8))
