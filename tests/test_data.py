"""Tests for gruae.data: frames in one tensor, exact window sampling, evaluation windows."""

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from gruae.data import VideoFrames, to_float, to_uint8
from gruae.errors import DataError


def videos(lengths, h=8, w=8, seed=0):
    rng = np.random.default_rng(seed)
    return [rng.integers(0, 256, (n, h, w), dtype=np.uint8) for n in lengths]


def test_from_videos_concatenates_and_records_offsets():
    vs = videos([5, 3, 7])
    d = VideoFrames.from_videos(vs)
    assert d.pixels.shape == (15, 1, 8, 8) and d.pixels.dtype == torch.uint8
    assert d.starts.tolist() == [0, 5, 8] and d.lengths.tolist() == [5, 3, 7]
    for i, v in enumerate(vs):
        assert np.array_equal(d.video(i)[:, 0].numpy(), v)


def test_colour_videos_become_channels_first():
    v = np.zeros((4, 6, 5, 3), np.uint8)
    v[..., 2] = 9
    d = VideoFrames.from_videos([v])
    assert d.frame_shape == (3, 6, 5)
    assert (d.pixels[:, 2] == 9).all() and (d.pixels[:, 0] == 0).all()


def test_short_video_is_named():
    with pytest.raises(DataError, match="walk_03: video has 3 frames, fewer than the clip length T=4"):
        VideoFrames.from_videos(videos([5, 3]), ["ok", "walk_03"], min_frames=4)
    d = VideoFrames.from_videos(videos([5, 3]), ["ok", "walk_03"])
    with pytest.raises(DataError, match="walk_03"):
        d.sample(2, 4)


@pytest.mark.parametrize("bad, msg", [
    (np.zeros((4, 8), np.uint8), "expected a video of shape"),
    (np.full((4, 8, 8), np.nan), "NaN"),
    (np.full((4, 8, 8), 300.0), "0..255"),
    (np.full((4, 2, 2), "a"), "dtype"),
])
def test_bad_videos_are_rejected(bad, msg):
    with pytest.raises(DataError, match=msg):
        VideoFrames.from_videos([bad], ["clip.avi"])


def test_mismatched_sizes_and_labels_are_rejected():
    with pytest.raises(DataError, match="b: frame shape"):
        VideoFrames.from_videos([np.zeros((4, 8, 8), np.uint8), np.zeros((4, 8, 9), np.uint8)], ["a", "b"])
    with pytest.raises(DataError, match="a: 3 frame labels for 4 frames"):
        VideoFrames.from_videos([np.zeros((4, 8, 8), np.uint8)], ["a"], frame_labels=[[0, 1, 0]])
    with pytest.raises(DataError, match="no videos"):
        VideoFrames.from_videos([])


def test_sample_never_crosses_boundaries_and_reaches_every_window():
    lengths = [5, 3, 7]
    d = VideoFrames.from_videos(videos(lengths))
    T = 3
    idx = d.sample(4000, T, torch.Generator().manual_seed(0))
    assert idx.shape == (4000, T)
    video_of = torch.repeat_interleave(torch.arange(3), d.lengths)
    assert (video_of[idx] == video_of[idx[:, :1]]).all(), "a window crosses a video boundary"
    assert (idx[:, 1:] - idx[:, :-1] == 1).all()
    starts = set(idx[:, 0].tolist())
    expected = {s + o for s, n in zip([0, 5, 8], lengths) for o in range(n - T + 1)}
    assert starts == expected, "every window, the last one of each video included, can be drawn"
    # videos are drawn uniformly (the article's sampler): about a third each
    counts = torch.bincount(video_of[idx[:, 0]], minlength=3).float() / 4000
    assert torch.allclose(counts, torch.full((3,), 1 / 3), atol=0.04)


def test_sample_is_reproducible():
    d = VideoFrames.from_videos(videos([20, 30]))
    a = d.sample(8, 4, torch.Generator().manual_seed(1))
    b = d.sample(8, 4, torch.Generator().manual_seed(1))
    assert torch.equal(a, b)


@settings(max_examples=40, deadline=None)
@given(lengths=st.lists(st.integers(1, 40), min_size=1, max_size=6), T=st.integers(1, 12),
       stride=st.integers(1, 12))
def test_windows_cover_every_frame(lengths, T, stride):
    d = VideoFrames.from_videos(videos(lengths, 2, 2))
    if min(lengths) < T or stride > T:
        with pytest.raises(DataError):
            d.windows(T, stride)
        return
    w = d.windows(T, stride)
    covered = torch.zeros(len(d), dtype=torch.bool)
    for v, off, first in w.tolist():
        assert first == d.starts[v] + off and off + T <= lengths[v]
        covered[first:first + T] = True
    assert covered.all()


@settings(max_examples=30, deadline=None)
@given(lengths=st.lists(st.integers(1, 30), min_size=1, max_size=5), T=st.integers(1, 10),
       B=st.integers(1, 16), seed=st.integers(0, 2**31))
def test_sample_property(lengths, T, B, seed):
    d = VideoFrames.from_videos(videos(lengths, 2, 2))
    if min(lengths) < T:
        with pytest.raises(DataError):
            d.sample(B, T)
        return
    idx = d.sample(B, T, torch.Generator().manual_seed(seed))
    video_of = torch.repeat_interleave(torch.arange(len(lengths)), d.lengths)
    assert idx.min() >= 0 and idx.max() < len(d)
    assert (video_of[idx] == video_of[idx[:, :1]]).all()


def test_clips_are_float_in_range_and_invert():
    d = VideoFrames.from_videos(videos([6, 6]))
    x = d.clips(d.sample(3, 4))
    assert x.shape == (3, 4, 1, 8, 8) and x.dtype == torch.float32
    assert x.min() >= -1 and x.max() <= 1
    idx = d.sample(3, 4, torch.Generator().manual_seed(0))
    assert torch.equal(to_uint8(d.clips(idx)), d.pixels[idx])
    u = torch.arange(256, dtype=torch.uint8)
    assert torch.equal(to_uint8(to_float(u)), u)
    assert to_float(u)[0] == -1 and to_float(u)[-1] == 1


def test_window_clips_and_subset():
    d = VideoFrames.from_videos(videos([6, 9]), frame_labels=[np.zeros(6), np.arange(9) % 2], classes=[3, 4])
    w = d.windows(4)
    x = d.window_clips(w, 4)
    assert x.shape == (len(w), 4, 1, 8, 8)
    assert torch.equal(to_uint8(x[0]), d.pixels[0:4])
    s = d.subset([1])
    assert s.names == ["video_001"] and s.classes.tolist() == [4]
    assert torch.equal(s.frame_labels, torch.arange(9, dtype=torch.uint8) % 2)
    assert torch.equal(s.video(0), d.video(1))


def test_every_kth_frame_keeps_videos_and_labels_apart():
    a = np.arange(5, dtype=np.uint8).reshape(5, 1, 1)
    b = np.arange(10, 14, dtype=np.uint8).reshape(4, 1, 1)
    f = VideoFrames.from_videos([a, b], ["a", "b"], frame_labels=[np.array([0, 1, 0, 1, 0]), np.array([1, 1, 0, 0])],
                                source="x")
    g = f.every(2)
    assert g.pixels.flatten().tolist() == [0, 2, 4, 10, 12] and g.lengths.tolist() == [3, 2]
    assert g.starts.tolist() == [0, 3] and g.frame_labels.tolist() == [0, 0, 0, 1, 0] and g.source == "x/every2"
    assert g.video(1).flatten().tolist() == [10, 12] and g.shortest == 2 and g.names == ["a", "b"]
    assert f.every(1) is f
    with pytest.raises(DataError, match="k >= 1"):
        f.every(0)


def test_motion_is_the_frame_difference_aligned_with_the_frames():
    a = np.array([[10, 10], [12, 10], [12, 255]], np.uint8).reshape(3, 1, 2)  # (T, H, W)
    b = np.full((2, 1, 2), 200, np.uint8)
    f = VideoFrames.from_videos([a, b], ["a", "b"], frame_labels=[np.array([0, 1, 1]), np.array([0, 0])],
                                source="x")
    m = f.motion()
    got = m.pixels.reshape(5, 2).tolist()
    assert got == [[127, 127], [128, 127], [127, 250], [127, 127], [127, 127]]  # (d + 255) // 2
    assert m.lengths.tolist() == [3, 2] and m.frame_labels.tolist() == [0, 1, 1, 0, 0] and m.source == "x/motion"
    assert m.pixels.dtype == torch.uint8
