"""Tests for gruae.readers: every format written for real into tmp_path, bad inputs, real data."""

from __future__ import annotations

import hashlib
import io
import os
import shutil
import tarfile
import tempfile
import time
import zipfile
from pathlib import Path

import numpy as np
import pytest
from conftest import moving_square, write_frames, write_gt_mat
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image

from gruae import readers
from gruae.errors import DataError, DownloadError
from gruae.readers import (
    Benchmark, Videos, describe, load_videos, read_benchmark, read_frame_folder, read_strip,
    read_video, resize, to_gray, ucsd, weizmann,
)

UCSD_DEV = Path(os.environ.get("GRUAE_UCSD_PED2_DEV",
                               Path(__file__).resolve().parents[2] / "shared" / "data" / "ucsd_ped2_dev"))


def mean_abs(a, b):
    return float(np.abs(a.astype(np.int16) - b.astype(np.int16)).mean())


# -------------------------------------------------------------------------------------------- preprocessing


def test_to_gray_matches_pillow_and_handles_channels():
    rgb = np.random.default_rng(0).integers(0, 256, (3, 5, 7, 3), dtype=np.uint8)
    pil = np.stack([np.asarray(Image.fromarray(f).convert("L")) for f in rgb])
    assert np.array_equal(to_gray(rgb), pil)  # exactly Pillow's ITU-R 601 luma
    assert to_gray(rgb[..., :1]).shape == (3, 5, 7)
    rgba = np.concatenate([rgb, np.zeros_like(rgb[..., :1])], -1)  # fully transparent -> black
    assert to_gray(rgba).max() == 0
    g = rgb[..., 0]
    assert to_gray(g) is g
    with pytest.raises(DataError, match="uint8"):
        to_gray(rgb.astype(np.float32))
    with pytest.raises(DataError, match="shape"):
        to_gray(rgb[0, 0])


def test_resize_antialiases_and_keeps_dtype():
    stripes = np.zeros((2, 64, 64), np.uint8)
    stripes[:, :, ::2] = 255  # 1-pixel stripes: a box/area filter gives flat grey
    small = resize(stripes, 8)
    assert small.shape == (2, 8, 8) and small.dtype == np.uint8
    assert abs(int(small.mean()) - 128) <= 2 and small.std() < 3
    colour = moving_square(3, 48, 64)
    assert resize(colour, (24, 32)).shape == (3, 24, 32, 3)
    assert resize(colour, (48, 64)) is colour
    with pytest.raises(DataError, match="size"):
        resize(colour, (0, 4))
    with pytest.raises(DataError, match="size"):
        resize(colour, "64")


@settings(max_examples=40, deadline=None)
@given(t=st.integers(1, 5), h=st.integers(1, 40), w=st.integers(1, 40), c=st.sampled_from([None, 1, 3, 4]),
       out_h=st.integers(1, 40), out_w=st.integers(1, 40), seed=st.integers(0, 2**16))
def test_resize_and_to_gray_shapes(t, h, w, c, out_h, out_w, seed):
    shape = (t, h, w) if c is None else (t, h, w, c)
    frames = np.random.default_rng(seed).integers(0, 256, shape, dtype=np.uint8)
    r = resize(frames, (out_h, out_w))
    assert r.dtype == np.uint8 and r.shape == (t, out_h, out_w) + shape[3:]
    g = to_gray(frames)
    assert g.dtype == np.uint8 and g.shape == (t, h, w)
    if c in (None, 1):
        assert np.array_equal(g, frames.reshape(t, h, w))


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(t=st.integers(1, 4), h=st.integers(1, 20), w=st.integers(1, 20), colour=st.booleans(),
       seed=st.integers(0, 2**16))
def test_frame_folder_png_round_trip(t, h, w, colour, seed):
    shape = (t, h, w, 3) if colour else (t, h, w)
    frames = np.random.default_rng(seed).integers(0, 256, shape, dtype=np.uint8)
    with tempfile.TemporaryDirectory() as tmp:
        folder = write_frames(Path(tmp) / "f", frames, ".png")
        assert np.array_equal(read_frame_folder(folder), frames)


# -------------------------------------------------------------------------------------------- video files


@pytest.mark.parametrize("name", ["clip.mp4", "clip.avi", "clip.webm", "clip.gif"])
def test_read_video_formats(video_file, name):
    src = moving_square(8, 48, 64)  # (T, H, W, 3)
    path = video_file(name, src)
    v = read_video(path)
    assert v.shape == (8, 48, 64, 3) and v.dtype == np.uint8
    assert mean_abs(v, src) < 8  # lossy codecs, but the same picture
    g = read_video(path, gray=True, size=16)
    assert g.shape == (8, 16, 16) and g.dtype == np.uint8
    assert read_video(path, size=(24, 20)).shape == (8, 24, 20, 3)


def test_read_gif_with_transparency_and_palette_is_rgb(tmp_path):
    frames = []
    for i in range(3):
        im = Image.new("P", (20, 10), 0)
        im.putpalette([0, 0, 0, 255, 0, 0, 0, 255, 0] + [0] * 759)
        im.paste(1, (i * 5, 2, i * 5 + 4, 6))
        frames.append(im)
    path = tmp_path / "t.gif"
    frames[0].save(path, save_all=True, append_images=frames[1:], transparency=0, duration=50, disposal=2)
    v = read_video(path)
    assert v.shape == (3, 10, 20, 3)
    assert v[0, 3, 1].tolist() == [255, 0, 0] and v[0, 0, 0].tolist() == [0, 0, 0]


def test_truncated_mp4(video_file):
    path = video_file("cut.mp4")
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(DataError, match="cut.mp4: cannot decode video \\(truncated or corrupt"):
        read_video(path)


def test_truncated_avi_warns_and_returns_what_decodes(video_file):
    noise = np.random.default_rng(0).integers(0, 256, (20, 48, 64, 3), dtype=np.uint8)
    path = video_file("cut.avi", noise)  # noise: frames big enough that the header is a small part
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    with pytest.warns(UserWarning, match="cut.avi: decoded .* of the 20 frames"):
        v = read_video(path)
    assert 0 < len(v) < 20


def test_zero_byte_video(tmp_path):
    (tmp_path / "empty.mp4").touch()
    with pytest.raises(DataError, match="empty.mp4: empty file"):
        read_video(tmp_path / "empty.mp4")


def test_unsupported_extension(tmp_path):
    (tmp_path / "notes.txt").write_text("hello")
    with pytest.raises(DataError, match="notes.txt: unsupported video extension '.txt'"):
        read_video(tmp_path / "notes.txt")


def test_garbage_with_video_extension_and_missing_file(tmp_path):
    (tmp_path / "junk.avi").write_bytes(os.urandom(3000))
    with pytest.raises(DataError, match="junk.avi: cannot decode video"):
        read_video(tmp_path / "junk.avi")
    with pytest.raises(DataError, match="nothere.mp4: no such file"):
        read_video(tmp_path / "nothere.mp4")


# -------------------------------------------------------------------------------------------- frame folders


def test_frame_folder_natural_order_and_formats(tmp_path):
    folder = tmp_path / "frames"
    folder.mkdir()
    exts = {1: ".png", 2: ".tif", 10: ".png", 3: ".bmp", 11: ".tiff"}
    for i, ext in exts.items():  # the pixel value encodes the frame number
        Image.fromarray(np.full((6, 8), i * 10, np.uint8)).save(folder / f"f{i}{ext}")
    Image.fromarray(np.full((6, 8, 3), 200, np.uint8)).save(folder / "f20.jpg", quality=95)
    (folder / "notes.txt").write_text("ignored")
    (folder / ".hidden.png").write_bytes(b"ignored")
    v = read_frame_folder(folder)
    assert v.shape == (6, 6, 8, 3)  # one colour JPEG makes the video RGB
    assert [int(f[0, 0, 0]) for f in v[:5]] == [10, 20, 30, 100, 110]
    assert abs(int(v[5].mean()) - 200) <= 2


def test_frame_folder_mixed_modes_are_normalised(tmp_path):
    folder = tmp_path / "mixed"
    folder.mkdir()
    Image.fromarray(np.full((4, 5), 100, np.uint8), "L").save(folder / "0.png")
    Image.fromarray(np.full((4, 5, 3), (200, 100, 50), np.uint8), "RGB").save(folder / "1.png")
    rgba = np.zeros((4, 5, 4), np.uint8)
    rgba[..., 0], rgba[..., 3] = 255, 255
    rgba[0, 0, 3] = 0  # one transparent pixel: composited onto black
    Image.fromarray(rgba, "RGBA").save(folder / "2.png")
    v = read_frame_folder(folder)
    assert v.shape == (3, 4, 5, 3) and v.dtype == np.uint8
    assert v[0, 0, 0].tolist() == [100, 100, 100] and v[2, 1, 1].tolist() == [255, 0, 0]
    assert v[2, 0, 0].tolist() == [0, 0, 0]
    g = read_frame_folder(folder, gray=True)
    assert g.shape == (3, 4, 5) and np.array_equal(g, to_gray(v))
    for f in folder.iterdir():  # all gray -> (T, H, W) without asking
        Image.open(f).convert("L").save(f)
    assert read_frame_folder(folder).shape == (3, 4, 5)


def test_frame_folder_mixed_sizes(tmp_path):
    folder = write_frames(tmp_path / "07", np.zeros((6, 24, 36), np.uint8))
    Image.fromarray(np.zeros((12, 18), np.uint8)).save(folder / "005.jpg")
    with pytest.raises(DataError) as e:
        read_frame_folder(folder)
    assert str(e.value) == f"{folder}: frames of mixed sizes (24x36 in 000.jpg, 12x18 in 005.jpg)"


def test_empty_folder(tmp_path):
    (tmp_path / "frames").mkdir()
    (tmp_path / "frames" / "readme.md").write_text("nothing to see")
    with pytest.raises(DataError, match="frames: empty folder: no video files or frame images found"):
        read_frame_folder(tmp_path / "frames")
    with pytest.raises(DataError, match="frames: empty folder"):
        load_videos(tmp_path / "frames")
    (tmp_path / "frames" / "01").mkdir()
    with pytest.raises(DataError, match="frames: no frame images found, but 1 sub-folder"):
        read_frame_folder(tmp_path / "frames")


def test_corrupt_frame_is_named(tmp_path):
    noise = np.random.default_rng(0).integers(0, 256, (3, 64, 64), dtype=np.uint8)
    folder = write_frames(tmp_path / "f", noise)
    data = (folder / "001.jpg").read_bytes()
    (folder / "001.jpg").write_bytes(data[: len(data) * 2 // 3])  # header intact, pixels cut
    with pytest.raises(DataError, match="001.jpg: cannot decode image \\(truncated or corrupt"):
        read_frame_folder(folder)
    (folder / "002.jpg").write_bytes(data[:20])  # header cut
    with pytest.raises(DataError, match="002.jpg: cannot read image"):
        read_frame_folder(folder)


# -------------------------------------------------------------------------------------------- strips


def strip_of(frames):
    """(T, S, S[, C]) -> (S, T*S[, C]) side by side."""
    return np.concatenate(list(frames), axis=1)


def test_read_strip(tmp_path):
    frames = moving_square(5, 64, 64)
    Image.fromarray(strip_of(frames)).save(tmp_path / "person01_walk.png")
    v = read_strip(tmp_path / "person01_walk.png")
    assert v.shape == (5, 64, 64, 3) and np.array_equal(v, frames)
    assert read_strip(tmp_path / "person01_walk.png", gray=True, size=32).shape == (5, 32, 32)
    small = moving_square(3, 32, 32, colour=False)
    Image.fromarray(strip_of(small)).save(tmp_path / "s32.png")
    assert np.array_equal(read_strip(tmp_path / "s32.png", frame_size=32), small)


@pytest.mark.parametrize("shape", [(60, 320), (64, 300)])
def test_strip_with_wrong_shape(tmp_path, shape):
    Image.fromarray(np.zeros(shape, np.uint8)).save(tmp_path / "bad_strip.png")
    with pytest.raises(DataError, match=f"bad_strip.png: not a strip of 64x64 frames: image is {shape[0]}x{shape[1]}"):
        read_strip(tmp_path / "bad_strip.png")


# -------------------------------------------------------------------------------------------- benchmarks


def test_mat_round_trips_like_ped2(tmp_path):
    import scipy.io

    m = scipy.io.loadmat(write_gt_mat(tmp_path / "ped2.mat", [[(61, 180)], [(1, 5), (9, 12)]]))["gt"]
    assert m.shape == (1, 2) and m.dtype == object
    assert m[0, 0].shape == (2, 1) and m[0, 0].ravel().tolist() == [61, 180]
    assert m[0, 1].tolist() == [[1, 9], [5, 12]]  # 2 x K: one column per range
    if (UCSD_DEV / "ped2.mat").is_file():  # the same structure as the real file
        real = scipy.io.loadmat(UCSD_DEV / "ped2.mat")["gt"]
        assert real.dtype == object and real.shape[0] == 1 and real[0, 0].shape == (2, 1)


def test_read_benchmark_with_mat_labels(ucsd_root):
    b = read_benchmark(ucsd_root)
    assert isinstance(b, Benchmark) and b.split == "testing" and b.names == ["01", "02"]
    assert [v.shape for v in b.videos] == [(6, 24, 32), (8, 24, 32)]
    assert b.labels[0].tolist() == [0, 0, 1, 1, 0, 0]
    assert b.labels[1].tolist() == [0, 1, 1, 0, 0, 1, 1, 1]
    assert b.labels[0].dtype == np.uint8
    t = read_benchmark(ucsd_root, "training", gray=False, size=12)
    assert t.labels is None and [v.shape for v in t.videos] == [(6, 12, 12, 3), (5, 12, 12, 3)]


def test_gt_with_more_entries_than_clips_matches_by_number(ucsd_root):
    import shutil

    shutil.rmtree(ucsd_root / "testing" / "frames" / "01")  # keep clip 02 only
    write_gt_mat(ucsd_root / "ped2.mat", [[(1, 1)], [(8, 8)], [(1, 2)]] + [[(1, 1)]] * 9)  # 12 entries
    b = read_benchmark(ucsd_root)
    assert b.names == ["02"] and b.labels[0].tolist() == [0] * 7 + [1]


def test_clip_without_gt_entry(ucsd_root):
    (ucsd_root / "testing" / "frames" / "02").rename(ucsd_root / "testing" / "frames" / "05")
    write_gt_mat(ucsd_root / "ped2.mat", [[(3, 4)], [(1, 1)], [(1, 1)]])
    with pytest.raises(DataError, match="05: no gt entry for this clip in ped2.mat"):
        read_benchmark(ucsd_root)


def test_gt_count_mismatch_with_named_clips(ucsd_root):
    frames = ucsd_root / "testing" / "frames"
    (frames / "01").rename(frames / "Test001")
    (frames / "02").rename(frames / "Test002")
    assert read_benchmark(ucsd_root).labels[1].sum() == 5  # 2 entries, 2 clips: matched in order
    write_gt_mat(ucsd_root / "ped2.mat", [[(1, 1)]] * 3)
    with pytest.raises(DataError, match="ped2.mat: 3 gt entries for 2 clips whose names are not numbers"):
        read_benchmark(ucsd_root)


def test_gt_range_outside_clip(ucsd_root):
    write_gt_mat(ucsd_root / "ped2.mat", [[(3, 4)], [(5, 9)]])
    with pytest.raises(DataError, match="02: ped2.mat marks frames 5-9 anomalous but the clip has 8 frames"):
        read_benchmark(ucsd_root)


def test_per_clip_npy_labels(ucsd_root):
    labels = ucsd_root / "testing" / "labels"
    labels.mkdir()
    np.save(labels / "01.npy", np.array([1, 1, 0, 0, 0, 0], np.uint8))
    np.save(labels / "02.npy", np.ones(8, bool))
    b = read_benchmark(ucsd_root)  # per-clip files win over ped2.mat
    assert b.labels[0].tolist() == [1, 1, 0, 0, 0, 0] and b.labels[1].sum() == 8


def test_npy_labels_with_wrong_length(ucsd_root):
    labels = ucsd_root / "testing" / "labels"
    labels.mkdir()
    np.save(labels / "01.npy", np.zeros(6, np.uint8))
    np.save(labels / "02.npy", np.zeros(7, np.uint8))
    with pytest.raises(DataError) as e:
        read_benchmark(ucsd_root)
    assert str(e.value) == f"{ucsd_root / 'testing' / 'frames' / '02'}: 7 labels in 02.npy for 8 frames"


def test_npy_labels_must_be_binary(ucsd_root):
    labels = ucsd_root / "testing" / "labels"
    labels.mkdir()
    np.save(labels / "01.npy", np.full(6, 2, np.uint8))
    np.save(labels / "02.npy", np.zeros(8, np.uint8))
    with pytest.raises(DataError, match="01.npy: labels must be 0 .* or 1"):
        read_benchmark(ucsd_root)


def test_concatenated_frame_labels(ucsd_root):
    lab = np.zeros((1, 14), np.uint8)
    lab[0, [0, 13]] = 1
    np.save(ucsd_root / "frame_labels_ped2.npy", lab)
    b = read_benchmark(ucsd_root)
    assert b.labels[0].tolist() == [1, 0, 0, 0, 0, 0] and b.labels[1].tolist() == [0] * 7 + [1]
    np.save(ucsd_root / "frame_labels_ped2.npy", np.zeros(13, np.uint8))
    with pytest.raises(DataError, match="frame_labels_ped2.npy: 13 frame labels for 14 frames in 2 clips"):
        read_benchmark(ucsd_root)


def test_benchmark_missing_split(tmp_path):
    write_frames(tmp_path / "root" / "training" / "frames" / "01", moving_square(3, 8, 8))
    with pytest.raises(DataError, match="root: no testing/frames folder"):
        read_benchmark(tmp_path / "root")


# -------------------------------------------------------------------------------------------- official UCSD layout

PED2_M = """\
% ground truth of the test clips (fixture in the format of UCSDped2.m)
TestVideoFile = {};

TestVideoFile{end+1}.gt_frame = [3:5];
% TestVideoFile{end+1}.gt_frame = [1:2];
TestVideoFile{end+1}.gt_frame = [1:2, 4:4];   % two ranges, as in UCSDped1.m
TestVideoFile{end+1}.gt_frame = [2:3];
"""


def write_tif_clip(clip: Path, n: int, number: int) -> Path:
    """``clip/001.tif``... : n 8x12 grayscale TIFFs whose top-left pixel is 10 * number + frame,
    plus an AppleDouble ``._001.tif`` (a macOS resource fork, not an image)."""
    clip.mkdir(parents=True)
    for i in range(1, n + 1):
        frame = np.full((8, 12), 40, np.uint8)  # (H, W)
        frame[0, 0] = 10 * number + i
        Image.fromarray(frame, "L").save(clip / f"{i:03d}.tif")
    (clip / "._001.tif").write_bytes(b"\x00\x05\x16\x07AppleDouble")
    return clip


def write_official_ucsd(folder: Path, train=(4, 3), test=(6, 5), m_text: str = PED2_M) -> Path:
    """Write a tiny ``UCSDped2`` in the official layout: ``Train/Train001/001.tif``...,
    ``Test/Test001/...`` (see :func:`write_tif_clip`), a ``Test002_gt`` mask folder, .DS_Store
    and AppleDouble strays, and ``Test/UCSDped2.m``."""
    for split, lengths in (("Train", train), ("Test", test)):
        for c, n in enumerate(lengths, 1):
            write_tif_clip(folder / split / f"{split}{c:03d}", n, c)
        if lengths:
            (folder / split / ".DS_Store").write_bytes(b"\x00\x00\x00\x01Bud1")
    if test:
        gt = folder / "Test" / "Test002_gt"  # per-frame pixel masks: not a clip
        gt.mkdir()
        for i in range(1, 6):
            Image.fromarray(np.zeros((8, 12), np.uint8)).save(gt / f"{i:03d}.bmp")
        (folder / "Test" / "._Test001").write_bytes(b"\x00\x05\x16\x07")
        (folder / "Test" / f"{folder.name}.m").write_text(m_text)
    return folder


@pytest.fixture
def ped2_official(tmp_path) -> Path:
    return write_official_ucsd(tmp_path / "UCSD_Anomaly_Dataset.v1p2" / "UCSDped2")


def test_official_ucsd_layout(ped2_official):
    b = read_benchmark(ped2_official)
    assert b.split == "testing" and b.root == ped2_official
    assert b.names == ["Test001", "Test002"]  # Test002_gt, ._Test001 and .DS_Store skipped
    assert [v.shape for v in b.videos] == [(6, 8, 12), (5, 8, 12)]
    assert [v[:, 0, 0].tolist() for v in b.videos] == [[11, 12, 13, 14, 15, 16], [21, 22, 23, 24, 25]]
    assert b.labels[0].tolist() == [0, 0, 1, 1, 1, 0]  # [3:5]
    assert b.labels[1].tolist() == [1, 1, 0, 1, 0]  # [1:2, 4:4]; the commented line does not count
    assert all(lab.dtype == np.uint8 for lab in b.labels)
    t = read_benchmark(ped2_official, "training", size=4)
    assert t.names == ["Train001", "Train002"] and t.labels is None
    assert [v.shape for v in t.videos] == [(4, 4, 4), (3, 4, 4)]


def test_official_ucsd_fewer_clips_use_their_own_entries(ped2_official):
    shutil.rmtree(ped2_official / "Test" / "Test001")
    shutil.rmtree(ped2_official / "Test" / "Test002")
    write_tif_clip(ped2_official / "Test" / "Test003", 4, 3)  # a copy holding test clip 3 only
    b = read_benchmark(ped2_official)
    assert b.names == ["Test003"] and b.labels[0].tolist() == [0, 1, 1, 0]  # the 3rd entry, [2:3]
    (ped2_official / "Test" / "UCSDped2.m").unlink()
    assert read_benchmark(ped2_official).labels is None  # no .m: no labels


def test_official_ucsd_gt_frame_variants(ped2_official):
    (ped2_official / "Test" / "UCSDped2.m").write_text(
        "%{\nTestVideoFile{end+1}.gt_frame = [1:6];\n%}\n"  # a block comment
        "TestVideoFile{end+1}.gt_frame = [ 2 : 3  5 ];\n"  # spaces, a single frame
        "TestVideoFile{end+1}.gt_frame = [];  x = TestVideoFile{1}.gt_frame;\n")  # no anomaly; a read
    b = read_benchmark(ped2_official)
    assert b.labels[0].tolist() == [0, 1, 1, 0, 1, 0] and b.labels[1].tolist() == [0] * 5


@pytest.mark.parametrize("line, problem", [
    ("TestVideoFile{end+1}.gt_frame = [1-2];", "line 6: cannot parse gt_frame = '\\[1-2\\]'"),
    ("TestVideoFile{end+1}.gt_frame = [1:2, 4:9];",
     "line 6: gt_frame entry 2 marks frames 4-9 anomalous but Test002 has 5 frames"),
    ("TestVideoFile{end+1}.gt_frame = [4:2];", "line 6: empty range 4:2"),
])
def test_official_ucsd_bad_gt_frame(ped2_official, line, problem):
    m = ped2_official / "Test" / "UCSDped2.m"
    m.write_text(PED2_M.replace("TestVideoFile{end+1}.gt_frame = [1:2, 4:4];", line))
    with pytest.raises(DataError, match=f"^{m}: {problem}"):
        read_benchmark(ped2_official)


def test_official_ucsd_more_clips_than_entries_and_no_entries(ped2_official):
    m = ped2_official / "Test" / "UCSDped2.m"
    m.write_text("TestVideoFile = {};\nTestVideoFile{end+1}.gt_frame = [3:5];\n")
    with pytest.raises(DataError) as e:
        read_benchmark(ped2_official)
    assert str(e.value) == f"{m}: no gt_frame entry for Test002: the file has 1 (clip Test<n> takes the n-th entry)"
    m.write_text("% TestVideoFile{end+1}.gt_frame = [3:5];\n")
    with pytest.raises(DataError, match="UCSDped2.m: no gt_frame entries"):
        describe(ped2_official)


def test_official_ucsd_missing_train_and_nested_root(ped2_official):
    shutil.rmtree(ped2_official / "Train")
    with pytest.raises(DataError) as e:
        read_benchmark(ped2_official, "training")
    assert str(e.value) == (f"{ped2_official}: no Train folder (expected Train/Train001/001.tif ..., "
                            "the official UCSD layout)")
    assert describe(ped2_official)["split"] == "testing"  # the testing split still reads
    top = ped2_official.parent  # UCSD_Anomaly_Dataset.v1p2, holding UCSDped2
    with pytest.raises(DataError, match="v1p2: holds the benchmark folder\\(s\\) UCSDped2, not"):
        read_benchmark(top)
    with pytest.raises(DataError, match="v1p2: holds the benchmark folder\\(s\\) UCSDped2: point at one"):
        load_videos(top)


def test_official_ucsd_describe_load_videos_and_info(ped2_official, capsys):
    from gruae.__main__ import main

    d = describe(ped2_official)
    assert (d["kind"], d["split"], d["videos"], d["frames"]) == ("benchmark", "testing", 2, 11)
    assert d["frames_per_video"] == "5..6" and d["frame_size"] == "8x12, 1 channel(s)"
    assert d["labels"] == "per-frame: 11 frames, 6 anomalous (54.5%)"
    assert describe(ped2_official, split="training")["labels"] == "none"
    v = load_videos(ped2_official)
    assert v.kind == "benchmark" and v.names == ["Test001", "Test002"] and v.labels[1].tolist() == [1, 1, 0, 1, 0]
    v = load_videos(ped2_official, split="training", size=4)
    assert v.names == ["Train001", "Train002"] and v.labels is None and v.videos[0].shape == (4, 4, 4)
    v = load_videos(ped2_official / "Test")  # one level down: a folder of frame folders, masks included
    assert v.kind == "frame-folders" and v.names == ["Test001", "Test002", "Test002_gt"]
    assert main(["info", str(ped2_official)]) == 0
    assert "benchmark" in capsys.readouterr().out


def test_train_folder_of_videos_is_not_a_benchmark(tmp_path, video_file):
    video_file("mine/Train/a.gif", moving_square(3, 16, 16))
    v = load_videos(tmp_path / "mine")  # no Train001/ clip folders: not the official layout
    assert v.kind == "videos" and v.names == ["Train/a"]


def ucsd_tar_gz(tmp_path) -> bytes:
    """A small tar.gz shaped like UCSD_Anomaly_Dataset.tar.gz: UCSD_Anomaly_Dataset.v1p2/UCSDped2/..."""
    top = write_official_ucsd(tmp_path / "src" / "UCSD_Anomaly_Dataset.v1p2" / "UCSDped2", train=(3,), test=(6, 5))
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tf:
        tf.add(top.parent, arcname="UCSD_Anomaly_Dataset.v1p2")
    return buf.getvalue()


def test_ucsd_download_verify_and_reuse(tmp_path, http_server, monkeypatch):
    data = ucsd_tar_gz(tmp_path)
    http_server.files["/anomaly/UCSD_Anomaly_Dataset.tar.gz"] = data
    monkeypatch.setattr(readers, "UCSD_URL", http_server.url("/anomaly/UCSD_Anomaly_Dataset.tar.gz"))
    root = tmp_path / "cache" / "ucsd"
    with pytest.raises(DataError) as e:
        ucsd(root=root)
    assert str(e.value).startswith(f"{root / 'UCSDped2'}: UCSD UCSDped2 is not downloaded: call "
                                   "ucsd('ped2', download=True) to fetch the official archive (about 1 GB")
    assert http_server.url("/anomaly/UCSD_Anomaly_Dataset.tar.gz") in str(e.value)
    assert http_server.requests == []

    folder = ucsd("ped2", root, download=True)
    assert folder == root / "UCSD_Anomaly_Dataset" / "UCSD_Anomaly_Dataset.v1p2" / "UCSDped2"
    digest = hashlib.sha256(data).hexdigest()
    assert (root / "SHA256SUMS").read_text() == f"{digest}  UCSD_Anomaly_Dataset.tar.gz\n"  # trust on first use
    assert ucsd("UCSDped2", root) == folder and len(http_server.requests) == 1
    b = read_benchmark(folder)
    assert b.names == ["Test001", "Test002"] and b.labels[0].tolist() == [0, 0, 1, 1, 1, 0]
    with pytest.raises(DataError, match="UCSD_Anomaly_Dataset: no UCSDped1 folder .* in the extracted"):
        ucsd("ped1", root)  # the archive holds Ped2 only

    shutil.rmtree(root / "UCSD_Anomaly_Dataset")
    (root / "UCSD_Anomaly_Dataset.tar.gz").write_bytes(data + b"tampered")
    with pytest.raises(DownloadError, match="UCSD_Anomaly_Dataset.tar.gz: SHA-256 .* does not match the recorded"):
        ucsd(root=root)
    assert len(http_server.requests) == 1


def test_ucsd_finds_a_copy_extracted_by_hand_and_defaults(tmp_path, monkeypatch):
    write_official_ucsd(tmp_path / "UCSD_Anomaly_Dataset.v1p2" / "UCSDped1", train=(2,), test=())
    assert ucsd("ped1", tmp_path) == tmp_path / "UCSD_Anomaly_Dataset.v1p2" / "UCSDped1"
    monkeypatch.setenv("GRUAE_DATA", str(tmp_path / "data"))
    with pytest.raises(DataError) as e:
        ucsd()
    assert str(tmp_path / "data" / "ucsd" / "UCSDped2") in str(e.value) and "download=True" in str(e.value)
    with pytest.raises(DataError, match="unknown UCSD dataset 'ped3'"):
        ucsd("ped3")


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


# -------------------------------------------------------------------------------------------- Weizmann


def weizmann_zip(video_file, tmp_path) -> bytes:
    """A small zip shaped like walk.zip: msmpeg4v3 AVIs at the top level."""
    a = video_file("w/daria_walk.avi", moving_square(6, 48, 64))
    b = video_file("w/lena_walk1.avi", moving_square(5, 48, 64, seed=1))
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.write(a, "daria_walk.avi")
        zf.write(b, "lena_walk1.avi")
    return buf.getvalue()


def test_weizmann_download_verify_and_reuse(tmp_path, video_file, http_server, monkeypatch):
    data = weizmann_zip(video_file, tmp_path)
    http_server.files["/DB/walk.zip"] = data
    monkeypatch.setattr(readers, "WEIZMANN_URL", http_server.url("/DB/{action}.zip"))
    root = tmp_path / "cache" / "weizmann"
    with pytest.raises(DataError, match="walk.zip: Weizmann action 'walk' is not downloaded: call weizmann\\(download=True\\)"):
        weizmann(root, actions=["walk"])
    assert http_server.requests == []

    files = weizmann(root, actions=["walk"], download=True)
    assert [f.name for f in files] == ["daria_walk.avi", "lena_walk1.avi"]
    digest = hashlib.sha256(data).hexdigest()
    assert (root / "SHA256SUMS").read_text() == f"{digest}  walk.zip\n"  # trust on first use
    assert weizmann(root, actions="walk") == files and len(http_server.requests) == 1

    v = load_videos(root)  # the cache folder reads as a folder of video folders
    assert v.kind == "videos" and v.names == ["walk/daria_walk", "walk/lena_walk1"]
    assert [x.shape for x in v.videos] == [(6, 48, 64), (5, 48, 64)]

    (root / "walk.zip").write_bytes(data + b"tampered")
    with pytest.raises(DownloadError, match="walk.zip: SHA-256 .* does not match the recorded"):
        weizmann(root, actions=["walk"])


def test_weizmann_defaults_and_unknown_action(tmp_path, monkeypatch):
    monkeypatch.setenv("GRUAE_DATA", str(tmp_path))
    with pytest.raises(DataError) as e:
        weizmann(actions=["bend"])
    assert str(tmp_path / "weizmann" / "bend.zip") in str(e.value)
    with pytest.raises(DataError, match="unknown Weizmann action"):
        weizmann(actions=["dance"])


# -------------------------------------------------------------------------------------------- real data


def test_real_video_bikes(real_video_dir):
    v = read_video(real_video_dir / "bikes.mp4", gray=True)
    assert v.dtype == np.uint8 and v.ndim == 3
    t, h, w = v.shape
    assert t > 50 and 100 <= h <= 1080 and 100 <= w <= 1920
    assert 20 < v.mean() < 235 and v.std() > 10  # real footage, not a blank frame
    assert describe(real_video_dir / "bikes.mp4")["frames"] == t
    c = read_video(real_video_dir / "carphone_pristine.mp4", size=64)
    assert c.shape[1:] == (64, 64, 3) and len(c) > 10


@pytest.mark.skipif(not UCSD_DEV.is_dir(), reason=f"UCSD Ped2 dev copy not found at {UCSD_DEV}")
def test_real_ucsd_ped2_dev():
    t0 = time.monotonic()
    train = describe(UCSD_DEV, split="training")
    assert (train["videos"], train["frames"], train["labels"]) == (16, 2550, "none")
    assert train["frame_size"] == "240x360, 3 channel(s)"
    clip = read_frame_folder(UCSD_DEV / "training" / "frames" / "01", gray=True)
    assert clip.shape[1:] == (240, 360) and clip.dtype == np.uint8
    b = read_benchmark(UCSD_DEV, size=(60, 90))
    assert b.names == ["01", "02", "03", "04", "05", "06"]
    assert [len(v) for v in b.videos] == [180, 180, 150, 180, 150, 180]
    assert sum(len(v) for v in b.videos) == 1020 and b.videos[0].shape[1:] == (60, 90)
    assert [len(lab) for lab in b.labels] == [180, 180, 150, 180, 150, 180]
    assert b.labels[0][59] == 0 and b.labels[0][60:].all()  # gt{1} = [61; 180], 1-based
    assert 0 < np.concatenate(b.labels).mean() < 1
    assert time.monotonic() - t0 < 20
