"""Tests for gruae.readers.frames and .decode: video files, frame folders and strips written for
real into tmp_path, bad inputs, real videos."""

from __future__ import annotations

import tempfile
from pathlib import Path

import numpy as np
import pytest
from conftest import moving_square, strip_of, write_frames
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image

from gruae.errors import DataError
from gruae.readers import describe, load_videos, read_frame_folder, read_strip, read_video, resize, to_gray


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
    # fixed garbage: random bytes now and then parse as a container with no video stream (flaky)
    (tmp_path / "junk.avi").write_bytes(bytes(range(256)) * 12)
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

def test_read_strip(tmp_path):
    frames = moving_square(5, 64, 64)
    Image.fromarray(strip_of(frames)).save(tmp_path / "person01_walk.png")
    v = read_strip(tmp_path / "person01_walk.png")
    assert v.shape == (5, 64, 64, 3) and np.array_equal(v, frames)
    assert read_strip(tmp_path / "person01_walk.png", gray=True, size=32).shape == (5, 32, 32)
    small = moving_square(3, 32, 32, colour=False)
    Image.fromarray(strip_of(small)).save(tmp_path / "s32.png")
    assert np.array_equal(read_strip(tmp_path / "s32.png"), small)  # the frame size is the height


@pytest.mark.parametrize("shape", [(60, 320), (64, 300)])
def test_strip_with_wrong_shape(tmp_path, shape):
    Image.fromarray(np.zeros(shape, np.uint8)).save(tmp_path / "bad_strip.png")
    with pytest.raises(DataError) as e:
        read_strip(tmp_path / "bad_strip.png")
    h, w = shape
    assert str(e.value) == (f"{tmp_path / 'bad_strip.png'}: not a strip of square frames: image is {h}x{w} "
                            f"(the width must be a multiple of the height, {h})")
    with pytest.raises(DataError, match=f"bad_strip.png: a single {h}x{w} image is not a video: .* MoCoGAN strip's "
                                        "width is a multiple of its height"):
        describe(tmp_path / "bad_strip.png")


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
