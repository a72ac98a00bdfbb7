"""Tests for gruae.readers.benchmarks: both UCSD layouts and their label files, written for real
into tmp_path; the real UCSD Ped2 development copy when present."""

from __future__ import annotations

import shutil

import numpy as np
import pytest
from conftest import PED2_M, UCSD_COPY, moving_square, write_frames, write_gt_mat, write_tif_clip

from gruae.errors import DataError
from gruae.readers import Benchmark, describe, load_videos, read_benchmark, read_frame_folder


# -------------------------------------------------------------------------------------------- benchmarks


def test_mat_round_trips_like_ped2(tmp_path):
    import scipy.io

    m = scipy.io.loadmat(write_gt_mat(tmp_path / "ped2.mat", [[(61, 180)], [(1, 5), (9, 12)]]))["gt"]
    assert m.shape == (1, 2) and m.dtype == object
    assert m[0, 0].shape == (2, 1) and m[0, 0].ravel().tolist() == [61, 180]
    assert m[0, 1].tolist() == [[1, 9], [5, 12]]  # 2 x K: one column per range
    if (UCSD_COPY / "ped2.mat").is_file():  # the same structure as the real file
        real = scipy.io.loadmat(UCSD_COPY / "ped2.mat")["gt"]
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
    with pytest.raises(DataError) as e:
        read_benchmark(ucsd_root)
    assert str(e.value) == (f"{ucsd_root / 'ped2.mat'}: no gt entry for 05: the file has 3 "
                            "(clip <n> takes the n-th entry)")


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
    with pytest.raises(DataError) as e:
        read_benchmark(ucsd_root)
    assert str(e.value) == (f"{ucsd_root / 'ped2.mat'}: gt entry 2 marks frames 5-9 anomalous but 02 has 8 frames "
                            "(1-based, inclusive)")


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


def test_benchmark_missing_split(tmp_path):
    write_frames(tmp_path / "root" / "training" / "frames" / "01", moving_square(3, 8, 8))
    with pytest.raises(DataError, match="root: no testing/frames folder"):
        read_benchmark(tmp_path / "root")


# -------------------------------------------------------------------------------------------- official UCSD layout


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

@pytest.mark.skipif(not UCSD_COPY.is_dir(), reason=f"no copy of UCSD Ped2 at {UCSD_COPY}")
def test_real_ucsd_ped2_dev():
    train = describe(UCSD_COPY, split="training")
    assert (train["videos"], train["frames"], train["labels"]) == (16, 2550, "none")
    assert train["frame_size"] == "240x360, 3 channel(s)"
    clip = read_frame_folder(UCSD_COPY / "training" / "frames" / "01", gray=True)
    assert clip.shape[1:] == (240, 360) and clip.dtype == np.uint8
    b = read_benchmark(UCSD_COPY, size=(60, 90))
    assert b.names == ["01", "02", "03", "04", "05", "06"]
    assert [len(v) for v in b.videos] == [180, 180, 150, 180, 150, 180]
    assert sum(len(v) for v in b.videos) == 1020 and b.videos[0].shape[1:] == (60, 90)
    assert [len(lab) for lab in b.labels] == [180, 180, 150, 180, 150, 180]
    assert b.labels[0][59] == 0 and b.labels[0][60:].all()  # gt{1} = [61; 180], 1-based
    assert 0 < np.concatenate(b.labels).mean() < 1
