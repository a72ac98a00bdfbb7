"""Tests for gruae.datasets: the real datasets (on fixtures in their real formats) and the dispatch."""

import pytest
import torch

from fixture_data import write_mocogan, write_ped2
from gruae import config, datasets, pretrained
from gruae.errors import DataError

P = config.profile("ci")  # 32x32 frames, T = 8


def test_performer_from_the_file_number():
    assert [datasets.performer(n) for n in ("00000000", "00000001", "0/00000019.jpg", "00000071")] == [0, 0, 2, 8]
    with pytest.raises(DataError, match="walk.jpg: expected a MoCoGAN action file named by its number"):
        datasets.performer("walk.jpg")


def test_clean_actions_are_the_same_videos_without_their_noise():
    noisy, clean = datasets.actions(P, "test"), datasets.actions(P, "test", clean=True)
    assert torch.equal(noisy.classes, clean.classes) and noisy.names == clean.names
    diff = noisy.pixels.float() - clean.pixels.float()  # sensor noise, 2 grey levels, and rounding
    assert abs(diff.mean()) < 0.05 and 1.9 < diff.std() < 2.2
    assert clean.source == noisy.source + "/clean"


def test_waving_splits_by_person_and_keeps_mirrors_together(data):
    write_mocogan(data / "mocogan_actions")
    splits = {s: datasets.waving(P, s) for s in ("train", "val", "test")}
    people = {s: {datasets.performer(n) for n in f.names} for s, f in splits.items()}
    assert people == {s: set(p) for s, p in datasets.PERFORMERS.items()}
    for s, f in splits.items():
        assert f.num_videos == 4 * len(datasets.PERFORMERS[s])  # 2 actions x (video, mirror) per person
        assert f.frame_shape == (1, 32, 32)
        assert sorted(set(f.classes.tolist())) == [0, 1]
        numbers = {int(n.split("/")[1]) for n in f.names}
        assert all(n ^ 1 in numbers for n in numbers)  # each video's mirror is in the same split
    sources = {f.source for f in splits.values()}
    assert len(sources) == 3 and all(s.startswith("mocogan_actions:0+1/") for s in sources)
    assert datasets.identity(P, "waving", "val") == splits["val"].source


def test_real_data_that_is_absent_says_how_to_get_it(data):
    with pytest.raises(DataError, match="mocogan_actions is not here: run `python -m gruae data get mocogan_actions`"):
        datasets.waving(P)
    with pytest.raises(DataError, match="ucsd_ped2 is not here"):
        datasets.ped2(P, "test")
    assert not pretrained.available("waving-gruae", "ci") and not pretrained.available("ped2-gruae", "ci")
    assert pretrained.available("actions-gruae", "ci")
    with pytest.raises(DataError, match="unknown dataset 'nope'"):
        datasets.load(P, "nope")


def test_unseen_actions_are_the_other_folders(data):
    write_mocogan(data / "mocogan_actions")
    with pytest.raises(DataError, match="holds only the waving folders 0, 1"):
        datasets.unseen_actions(P)
    write_mocogan(data / "mocogan_actions", folders=("2",))
    unseen = datasets.unseen_actions(P)
    assert {n.split("/")[0] for n in unseen.names} == {"2"}
    assert {datasets.performer(n) for n in unseen.names} == set(datasets.PERFORMERS["test"])


def test_ped2_holds_out_two_training_clips(data):
    write_ped2(data / "ucsd_ped2")
    train, val, test = (datasets.ped2(P, s) for s in ("train", "val", "test"))
    assert train.names == ["01", "02"] and val.names == ["15", "16"] and test.names == ["01", "02"]
    assert train.frame_labels is None and test.frame_labels.sum() == 2 * 23
    assert test.frame_shape == (1, 32, 32)
    assert "clips01-02" in test.source and datasets.load(P, "ped2", "val").source == val.source
    motion = datasets.load(P, "ped2_motion", "test")
    assert motion.source == test.source + "/motion" and torch.equal(motion.frame_labels, test.frame_labels)


def test_ped2_clip_numbers_are_the_same_in_either_layout():
    assert [datasets._clip_number(n) for n in ("07", "Test007", "Train015", "x")] == [7, 7, 15, 0]


def test_ped2_without_the_held_out_clips_says_so(data, ucsd_root):
    with pytest.raises(DataError, match="no training clip for the 'val' split: .* found 01, 02"):
        datasets.ped2(P, "val", root=ucsd_root)
