"""Tests of gruae.synthetic: procedural actions and anomaly scenes."""

from __future__ import annotations

import numpy as np
import pytest

from gruae.errors import DataError
from gruae.synthetic import (
    ACTIONS, ANOMALY_TYPES, ActionConfig, SceneConfig, Scenes, make_actions, make_scenes,
)

# A flat, noiseless background: every pixel that differs from it belongs to the figure.
FLAT = dict(noise=0.0, texture=0.0, gradient=0.0, horizon_step=0.0)
TRAVELLING = {"jump", "run", "side", "skip", "walk"}


def figure_masks(videos: np.ndarray) -> np.ndarray:
    """(N, T, H, W) bool figure pixels of videos rendered with FLAT (background = the median)."""
    bg = np.median(videos.reshape(len(videos), -1), axis=1)  # (N,)
    return np.abs(videos.astype(np.int16) - bg[:, None, None, None]) > 12


@pytest.fixture(scope="module")
def flat_actions():
    """Three videos of every action on a flat background, with their figure masks."""
    videos, labels = make_actions(30, seed=3, **FLAT)
    return videos, labels, figure_masks(videos)


def test_shapes_dtypes_and_balance():
    videos, labels = make_actions(25, seed=0, video_frames=8, actions=("walk", "run", "wave2"))
    assert videos.shape == (25, 8, 64, 64) and videos.dtype == np.uint8
    assert labels.shape == (25,) and labels.dtype == np.int64
    counts = {ACTIONS[c]: n for c, n in zip(*np.unique(labels, return_counts=True))}
    assert counts == {"walk": 9, "run": 8, "wave2": 8}
    round_robin = np.resize([ACTIONS.index(a) for a in ("walk", "run", "wave2")], 25)
    assert not np.array_equal(labels, round_robin)  # shuffled


def test_deterministic_for_a_seed():
    a, la = make_actions(4, seed=7, video_frames=6)
    b, lb = make_actions(4, seed=7, video_frames=6)
    c, _ = make_actions(4, seed=8, video_frames=6)
    assert np.array_equal(a, b) and np.array_equal(la, lb)
    assert not np.array_equal(a, c)
    s1 = make_scenes(2, anomalous=True, seed=5, video_frames=40)
    s2 = make_scenes(2, anomalous=True, seed=5, video_frames=40)
    s3 = make_scenes(2, anomalous=True, seed=6, video_frames=40)
    for f in ("videos", "labels", "masks", "types"):
        assert np.array_equal(getattr(s1, f), getattr(s2, f))
    assert not np.array_equal(s1.videos, s3.videos)


def test_config_object_and_overrides_agree():
    a, _ = make_actions(2, seed=1, config=ActionConfig(size=32, video_frames=4, noise=0.0))
    b, _ = make_actions(2, seed=1, size=32, video_frames=4, noise=0.0)
    assert np.array_equal(a, b)


def test_no_global_random_state_change():
    before = np.random.get_state()
    make_actions(2, seed=0, video_frames=4)
    make_scenes(1, anomalous=True, seed=0, video_frames=30)
    after = np.random.get_state()
    assert before[0] == after[0] and np.array_equal(before[1], after[1]) and before[2:] == after[2:]


@pytest.mark.parametrize("size", [32, 64, 128])
def test_any_frame_size_looks_alike(size):
    videos, labels = make_actions(10, seed=2, size=size, video_frames=4, **FLAT)
    assert videos.shape == (10, 4, size, size)
    ref, ref_labels = make_actions(10, seed=2, size=64, video_frames=4, **FLAT)
    assert np.array_equal(labels, ref_labels)
    # The same figures cover the same fraction of the frame at every size.
    frac, ref_frac = figure_masks(videos).mean(axis=(1, 2, 3)), figure_masks(ref).mean(axis=(1, 2, 3))
    assert np.all(frac > 0.02)
    assert np.allclose(frac, ref_frac, rtol=0.3)


def test_figure_size_and_default_background():
    videos, _ = make_actions(20, seed=4, video_frames=2)
    assert videos.std(axis=(1, 2, 3)).min() > 8  # a figure and some texture, not a blank frame
    masks = figure_masks(make_actions(20, seed=4, video_frames=2, **FLAT)[0])
    rows = masks[:, 0].any(axis=2)  # (N, H)
    height = np.array([np.ptp(np.flatnonzero(r)) + 1 for r in rows]) / 64
    assert 0.45 <= height.min() and height.max() <= 0.9  # about 60-80% of the frame height, as Weizmann's crops


def test_every_action_is_visible_and_moves(flat_actions):
    videos, labels, masks = flat_actions
    N, T, H, W = videos.shape
    for name in ACTIONS:
        for i in np.flatnonzero(labels == ACTIONS.index(name)):
            m = masks[i]  # (T, H, W)
            area = m.sum(axis=(1, 2))
            assert area[T // 2] > 0.015 * H * W, f"{name}: no figure mid-video"
            assert (area > 0).mean() > 0.7, f"{name}: figure missing in most frames"
            changing = (m.any(0) & ~m.all(0)).sum() / m.any(0).sum()
            assert changing > 0.25, f"{name}: barely moves ({changing:.2f})"
            seen = np.flatnonzero(area > 0.5 * area.max())  # mostly inside the frame
            cx = np.array([np.nonzero(m[t])[1].mean() for t in seen])
            shift = abs(cx[-1] - cx[0]) / W
            if name in TRAVELLING:
                assert shift > 0.2, f"{name}: does not travel ({shift:.2f})"
            else:
                assert shift < 0.1, f"{name}: drifts ({shift:.2f})"


def test_wave1_moves_one_arm_wave2_both(flat_actions):
    _, labels, masks = flat_actions
    for name, one_sided in (("wave1", True), ("wave2", False)):
        for i in np.flatnonzero(labels == ACTIONS.index(name)):
            m = masks[i]
            axis = np.nonzero(m.all(0))[1].mean()  # the body's axis: pixels that never change
            moving = m.any(0) & ~m.all(0)
            cols = np.nonzero(moving)[1]
            left, right = (cols < axis - 1).sum(), (cols > axis + 1).sum()
            ratio = min(left, right) / max(left, right)
            assert (ratio < 0.2) if one_sided else (ratio > 0.5), f"{name}: left/right motion {left}/{right}"


def test_training_scenes_are_normal():
    s = make_scenes(3, anomalous=False, seed=0, video_frames=60)
    assert isinstance(s, Scenes) and len(s) == 3
    assert s.videos.shape == (3, 60, 64, 64) and s.videos.dtype == np.uint8
    assert s.labels.shape == (3, 60) and s.labels.dtype == np.uint8
    assert s.masks.shape == (3, 60, 64, 64) and s.masks.dtype == bool
    assert s.types.shape == (3, 60) and s.types.dtype == np.int8
    assert not s.labels.any() and not s.masks.any() and not s.types.any()
    # pedestrians walk by: frames differ from the static view
    assert np.abs(s.videos.astype(np.int16) - np.median(s.videos, axis=1, keepdims=True)).max() > 40


@pytest.fixture(scope="module")
def test_scenes():
    return make_scenes(12, anomalous=True, seed=1)


def test_test_scenes_labels_masks_types(test_scenes):
    s = test_scenes
    frac = s.labels.mean()
    assert 0.35 <= frac <= 0.65, f"anomalous fraction {frac:.2f}"
    assert np.array_equal(s.labels.astype(bool), s.masks.any(axis=(2, 3)))
    assert np.array_equal(s.labels.astype(bool), s.types > 0)
    assert not s.labels[:, :10].any()  # every video starts normal
    assert s.labels.any(axis=1).all()  # and every test video has an anomaly
    assert set(np.unique(s.types)) == set(range(len(ANOMALY_TYPES)))  # each type appears
    area = s.masks.sum(axis=(2, 3))[s.labels.astype(bool)]
    assert np.median(area) > 20  # masks cover whole objects, not slivers


def test_train_and_test_scenes_share_the_camera_view(test_scenes):
    train = make_scenes(2, anomalous=False, seed=0, video_frames=120)
    view_train = np.median(train.videos[0], axis=0)
    view_test = np.median(test_scenes.videos[0], axis=0)
    assert np.abs(view_train - view_test).mean() < 4
    other = make_scenes(1, anomalous=False, seed=0, video_frames=120, scene_seed=1)
    assert np.abs(np.median(other.videos[0], axis=0) - view_train).mean() > 4


def test_scene_sizes():
    for size in (32, 128):
        s = make_scenes(1, anomalous=True, seed=0, size=size, video_frames=48)
        assert s.videos.shape == (1, 48, size, size) and s.masks.shape == (1, 48, size, size)
    s = make_scenes(2, anomalous=True, seed=0, config=SceneConfig(video_frames=50, anomaly_types=("cart",)))
    assert set(np.unique(s.types)) <= {0, ANOMALY_TYPES.index("cart")} and s.labels.any()


@pytest.mark.parametrize("call", [
    lambda: make_actions(0),
    lambda: make_actions(-2),
    lambda: make_actions(2.5),
    lambda: make_actions(1, size=8),
    lambda: make_actions(1, video_frames=0),
    lambda: make_actions(1, noise=-1.0),
    lambda: make_actions(1, actions=("walk", "dance")),
    lambda: make_actions(1, actions=()),
    lambda: make_actions(1, actions="walk"),
    lambda: make_actions(1, colour=3),
    lambda: make_scenes(0, anomalous=True),
    lambda: make_scenes(1, anomalous=True, size=12),
    lambda: make_scenes(1, anomalous=False, video_frames=0),
    lambda: make_scenes(1, anomalous=True, anomaly_types=("ufo",)),
    lambda: make_scenes(1, anomalous=True, lanes=(0, 2)),
    lambda: make_scenes(1, anomalous=True, crowd=3),
])
def test_bad_arguments_raise_data_error(call):
    with pytest.raises(DataError):
        call()


def test_actions_share_a_few_fixed_places():
    """Like the Weizmann videos (a few walls, a static camera), every split films the same places."""
    a, _ = make_actions(12, seed=0, video_frames=24, noise=0.0)
    b, _ = make_actions(12, seed=1, video_frames=24, noise=0.0)
    views = np.median(np.concatenate([a, b]), axis=1)  # (24, H, W): each video's static background
    rows = views[:, :4].reshape(len(views), -1)  # the top rows: above every figure
    distinct = {tuple(np.round(r[::16] / 8)) for r in rows}
    assert 1 < len(distinct) <= 3, "three places by default, shared by both seeds"
    one, _ = make_actions(4, seed=0, video_frames=24, noise=0.0, places=1)
    assert np.ptp(np.median(one, axis=1)[:, :4].mean((1, 2))) < 1
