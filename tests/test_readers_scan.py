"""Tests for gruae.readers.scan: load_videos and describe recognise every kind of path."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import moving_square, strip_of, write_frames
from PIL import Image

from gruae.errors import DataError
from gruae.readers import Videos, describe, load_videos


# -------------------------------------------------------------------------------------------- load_videos / describe


def test_load_videos_dispatch(tmp_path, video_file, ucsd_root):
    mp4 = video_file("one/clip.mp4")
    v = load_videos(mp4)
    assert isinstance(v, Videos) and v.kind == "video" and v.names == ["clip"] and v.videos[0].shape == (8, 48, 64)

    video_file("many/b.avi")
    video_file("many/a.mp4")
    v = load_videos(tmp_path / "many", gray=False, size=32)
    assert v.kind == "videos" and v.names == ["a", "b"] and v.videos[1].shape == (8, 32, 32, 3)

    write_frames(tmp_path / "frames", moving_square(5, 48, 64))
    v = load_videos(tmp_path / "frames", gray=False, size=(32, 64))
    assert v.kind == "frames" and v.names == ["frames"] and v.videos[0].shape == (5, 32, 64, 3)

    for i in range(2):
        Image.fromarray(strip_of(moving_square(3 + i, 64, 64))).save(tmp_path / f"strip{i}.png")
    (tmp_path / "strips").mkdir()
    for i in range(2):
        (tmp_path / f"strip{i}.png").rename(tmp_path / "strips" / f"strip{i}.png")
    v = load_videos(tmp_path / "strips")
    assert v.kind == "strips" and [x.shape for x in v.videos] == [(3, 64, 64), (4, 64, 64)]
    assert load_videos(tmp_path / "strips" / "strip1.png").kind == "strips"

    v = load_videos(ucsd_root)
    assert v.kind == "benchmark" and v.labels is not None and len(v.labels) == 2
    v = load_videos(ucsd_root, split="training")
    assert v.labels is None and [len(x) for x in v.videos] == [6, 5]
    v = load_videos(ucsd_root / "testing" / "frames")
    assert v.kind == "frame-folders" and v.names == ["01", "02"]


def test_load_videos_arrays(tmp_path):
    rng = np.random.default_rng(0)
    arr = rng.integers(0, 256, (3, 5, 8, 8), dtype=np.uint8)  # (N, T, H, W)
    np.save(tmp_path / "a.npy", arr)
    v = load_videos(tmp_path / "a.npy")
    assert v.kind == "array" and len(v.videos) == 3 and np.array_equal(v.videos[2], arr[2])
    np.save(tmp_path / "one.npy", arr[0])  # (T, H, W)
    assert len(load_videos(tmp_path / "one.npy").videos) == 1
    labels = rng.integers(0, 2, (3, 5)).astype(np.uint8)
    np.savez(tmp_path / "b.npz", videos=arr, labels=labels)
    v = load_videos(tmp_path / "b.npz", size=4)
    assert v.videos[0].shape == (5, 4, 4) and np.array_equal(v.labels[1], labels[1])
    np.savez(tmp_path / "c.npz", walk=arr[0], run=rng.integers(0, 256, (7, 8, 8, 3), dtype=np.uint8))
    v = load_videos(tmp_path / "c.npz")
    assert v.names == ["walk", "run"] and v.videos[1].shape == (7, 8, 8)
    colour = rng.integers(0, 256, (6, 8, 10, 3), dtype=np.uint8)  # (T, H, W, 3): one colour video
    np.save(tmp_path / "colour.npy", colour)
    v = load_videos(tmp_path / "colour.npy", gray=False)
    assert len(v.videos) == 1 and np.array_equal(v.videos[0], colour)
    np.save(tmp_path / "f.npy", arr.astype(np.float32))
    with pytest.raises(DataError, match="f.npy: f: expected uint8 frames, got float32"):
        load_videos(tmp_path / "f.npy")


def test_load_videos_bad_paths(tmp_path, video_file):
    with pytest.raises(DataError, match="nowhere: no such file or folder"):
        load_videos(tmp_path / "nowhere")
    video_file("mixed/a.mp4")
    Image.fromarray(np.zeros((8, 8), np.uint8)).save(tmp_path / "mixed" / "x.png")
    with pytest.raises(DataError, match="mixed: holds both video files"):
        load_videos(tmp_path / "mixed")
    Image.fromarray(np.zeros((30, 40), np.uint8)).save(tmp_path / "photo.jpg")
    with pytest.raises(DataError, match="photo.jpg: a single 30x40 image is not a video"):
        load_videos(tmp_path / "photo.jpg")
    (tmp_path / "data.csv").write_text("1,2")
    with pytest.raises(DataError, match="data.csv: unsupported video extension"):
        load_videos(tmp_path / "data.csv")


def test_describe(tmp_path, ucsd_root, video_file):
    d = describe(ucsd_root)
    assert d["kind"] == "benchmark" and d["split"] == "testing" and d["videos"] == 2 and d["frames"] == 14
    assert d["frames_per_video"] == "6..8" and d["frame_size"] == "24x32, 3 channel(s)"
    assert d["labels"] == "per-frame: 14 frames, 7 anomalous (50.0%)"
    assert describe(ucsd_root, split="training")["labels"] == "none"
    d = describe(video_file("v/clip.avi"))
    assert (d["kind"], d["frames"], d["frame_size"]) == ("video", 8, "48x64, 3 channel(s)")
    np.save(tmp_path / "a.npy", np.zeros((3, 5, 8, 9), np.uint8))
    assert describe(tmp_path / "a.npy")["frame_size"] == "8x9, 1 channel(s)"
    video_file("v/other.gif", moving_square(4, 16, 16))
    assert describe(tmp_path / "v")["frame_size"].startswith("mixed: 16x16")
