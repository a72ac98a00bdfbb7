"""Tests for gruae.config: named profiles."""

import dataclasses

import pytest

from gruae.config import PROFILES, profile
from gruae.errors import DataError
from gruae.models import ARTICLE


def test_profile_from_environment(monkeypatch):
    monkeypatch.setenv("GRUAE_PROFILE", "ci")
    assert profile().name == "ci"
    monkeypatch.delenv("GRUAE_PROFILE")
    assert profile().name == "book"
    assert profile("article").name == "article"


def test_old_profile_name_still_works_with_a_warning():
    with pytest.warns(DeprecationWarning, match="'seed' is now called 'article'"):
        assert profile("seed").name == "article"


def test_unknown_profile_is_a_clear_error():
    with pytest.raises(DataError, match="unknown profile 'fast'.*ci, book, article"):
        profile("fast")


def test_overrides_change_only_training():
    p = profile("ci", steps=3, lr=1e-2)
    assert p.train.steps == 3 and p.train.lr == 1e-2
    assert PROFILES["ci"].train.steps != 3, "the registry itself is not changed"


@pytest.mark.parametrize("name", list(PROFILES))
def test_profiles_are_consistent(name):
    p = PROFILES[name]
    assert p.model.size == p.size and p.model.clip_frames == p.clip_frames
    assert p.video_frames >= p.clip_frames and p.scene_frames >= p.clip_frames
    assert p.model_for("per_frame").kind == "per_frame" and p.model.kind == "gruae"
    for s in p.train.snapshot_at:
        assert 0 <= s <= p.train.steps
    m = p.model_for("convgru_predict")  # a state map of a quarter of the frame's side
    assert m.kind == "convgru_predict" and m.horizon == 1 and m.bottom == p.size // 4
    changed = p.model_for("convgru_predict", size=2 * p.size, horizon=2)  # changes win over its defaults
    assert (changed.bottom, changed.horizon, changed.widths) == (p.size // 2, 2, m.widths)
    assert p.pretrain.schedule == "constant"  # what lets `pretrain` continue a run at each doubling


def test_live_run_and_pretraining_segment_are_separate_settings():
    p = PROFILES["book"]  # the live run is short; the pretraining's first segment is the curve's first point
    assert (p.train.steps, p.pretrain.steps) == (150, 300)
    from gruae.pretrained import recipes

    assert {r.first for r in recipes().values()} == {p.pretrain.steps}


def test_article_profile_is_the_article():
    p = PROFILES["article"]
    assert p.model == ARTICLE
    t = p.train
    assert (t.batch, p.clip_frames, t.lr, t.weight_decay, t.steps, t.schedule) == (16, 16, 1e-4, 1e-5, 10_000, "constant")
    assert {0, 1000, 5000, 9000} <= set(t.snapshot_at)
    assert dataclasses.is_dataclass(p)
