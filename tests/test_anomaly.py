"""Tests for gruae.anomaly: regularity, AUCs, EER, smoothing, per-type AUC, scoring a video."""

import numpy as np
import pytest
from sklearn.metrics import roc_auc_score
import torch

from gruae.anomaly import (auc_by_type, equal_error_rate, macro_auc, micro_auc, normalize_per_video, regularity,
                           report, score_video, smooth, write_scores_csv)
from gruae.data import VideoFrames
from gruae.errors import DataError
from gruae.models import ModelConfig, build_model


def test_regularity_is_hasans_formula():
    e = np.array([1.0, 3.0, 2.0, 5.0, 5.0, 5.0])
    s = regularity(e, [3, 3])
    assert np.allclose(s[:3], [1.0, 0.0, 0.5]) and np.allclose(s[3:], 1.0)
    assert np.allclose(normalize_per_video(e, [3, 3]), 1 - s)
    with pytest.raises(DataError, match="6 scores for 7 frames"):
        regularity(e, [3, 4])


def test_aucs_and_eer():
    labels = np.array([0, 0, 1, 1, 0, 1, 0, 0])
    perfect = labels * 2.0 + 0.1
    assert micro_auc(perfect, labels) == 1.0 and equal_error_rate(perfect, labels) == 0.0
    rng = np.random.default_rng(0)
    s = rng.random(8)
    assert micro_auc(s, labels) == pytest.approx(roc_auc_score(labels, s))
    # macro: per-video AUCs, videos with one class skipped
    m = macro_auc(s, labels, [4, 4])
    assert m == pytest.approx(np.mean([roc_auc_score(labels[:4], s[:4]), roc_auc_score(labels[4:], s[4:])]))
    assert np.isnan(micro_auc(s, np.zeros(8)))


def test_micro_and_macro_differ_when_video_offsets_differ():
    # each video separates its anomalies perfectly, but video 2's scores are all higher
    s = np.array([0.1, 0.2, 0.9, 1.1, 1.2, 1.9])
    y = np.array([0, 0, 1, 0, 0, 1])
    assert macro_auc(s, y, [3, 3]) == 1.0
    assert micro_auc(s, y) < 1.0
    assert report(s, y, [3, 3], per_video=True).micro_auc == 1.0  # per-video min-max fixes it


def test_smoothing_stays_within_videos():
    s = np.array([0, 0, 0, 10, 10, 10.0])
    out = smooth(s, [3, 3], sigma=2)
    assert np.allclose(out[:3], 0) and np.allclose(out[3:], 10)
    assert np.allclose(smooth(s, [3, 3], 0), s)
    r = report(np.arange(6.0), [0, 1, 0, 1, 0, 1], [6], sigma=1.5)
    assert r.smoothing_sigma == 1.5 and r.normalization == "per-video min-max"


def test_auc_by_type():
    labels = np.array([0, 0, 0, 1, 1, 1, 1])
    types = np.array([0, 0, 0, 1, 1, 2, 2])
    scores = np.array([0.1, 0.2, 0.3, 0.9, 0.8, 0.15, 0.05])
    out = auc_by_type(scores, labels, types, ["normal", "runner", "cart", "rider"])
    assert out["runner"] == 1.0 and out["cart"] < 0.5 and np.isnan(out["rider"])


def test_score_video_and_csv(tmp_path):
    model = build_model(ModelConfig(size=16, widths=(4, 8), latent=4, hidden=4, clip_frames=4)).eval()
    video = np.random.default_rng(0).integers(0, 256, (10, 16, 16), dtype=np.uint8)
    s = score_video(model, video)
    assert set(s) == {"mse", "psnr", "regularity"} and all(len(v) == 10 for v in s.values())
    path = write_scores_csv(s, tmp_path / "v.csv")
    lines = path.read_text().splitlines()
    assert lines[0] == "frame,mse,psnr,regularity" and len(lines) == 11
    with pytest.raises(DataError, match="clip.avi: video has 3 frames"):
        score_video(model, video[:3], name="clip.avi")
    with pytest.raises(DataError, match="the model expects"):
        score_video(model, np.zeros((8, 32, 32), np.uint8), name="big.avi")


def test_baselines_and_pixel_auc():
    from gruae.anomaly import frame_difference, pixel_auc, pixel_gaussian

    rng = np.random.default_rng(0)
    bg = rng.integers(80, 120, (8, 8), dtype=np.uint8)
    normal = [np.repeat(bg[None], 6, 0) + rng.integers(0, 3, (6, 8, 8), dtype=np.uint8) for _ in range(3)]
    test = np.repeat(bg[None], 6, 0).copy()
    test[4:, 2:4, 2:4] = 250  # an object appears in frames 4 and 5
    tr, te = VideoFrames.from_videos(normal), VideoFrames.from_videos([test, test])
    g = pixel_gaussian(tr, te)
    assert g.shape == (12, 8, 8)
    frame = g.mean((1, 2))
    assert frame[4] > 10 * frame[3]
    d = frame_difference(te)
    assert d[0].max() == 0 and d[6].max() == 0, "no difference across the start of a video"
    assert d[4].max() > 0 and d[5].max() == 0
    masks = np.zeros((12, 8, 8), bool)
    masks[[4, 5, 10, 11], 2:4, 2:4] = True
    labels = masks.any((1, 2))
    assert pixel_auc(g, masks, labels) == 1.0
    assert np.isnan(pixel_auc(g, masks, np.zeros(12)))


def test_relative_errors_divide_by_the_usual_error():
    import torch

    from gruae.anomaly import relative_errors

    normal = torch.zeros(4, 2, 2)
    normal[:, 0, 0] = 0.1  # the model always errs at this pixel
    test = torch.full((1, 2, 2), 0.1)
    r = relative_errors(test, normal, eps=0.0 + 1e-3)
    assert torch.allclose(r[0, 0, 0], torch.tensor(0.1 / 0.101))
    assert torch.allclose(r[0, 1, 1], torch.tensor(100.0))
    with pytest.raises(DataError, match="differ"):
        relative_errors(test, torch.zeros(3, 3, 3))


def test_threshold_rates():
    from gruae.anomaly import threshold_rates

    r = threshold_rates(np.array([0.1, 0.9, 0.2, 0.8, 0.7]), np.array([0, 1, 0, 0, 1]), 0.5)
    assert r.detection == 1.0 and r.false_alarm == pytest.approx(1 / 3) and r.precision == pytest.approx(2 / 3)
    none = threshold_rates(np.array([0.1, 0.2]), np.array([0, 1]), 1.0)
    assert none == (0.0, 0.0, 0.0)
    assert np.isnan(threshold_rates(np.array([0.1]), np.array([0]), 0.0).detection)


def test_benchmark_frames_and_score_benchmark(ucsd_root, tmp_path):
    import gruae
    from gruae.anomaly import BASELINES, auc_table, benchmark_frames, score_benchmark

    train, test = benchmark_frames(ucsd_root, 16)
    assert (train.num_videos, test.num_videos, len(test)) == (2, 2, 14) and test.frame_shape == (1, 16, 16)
    assert test.frame_labels.tolist()[2:4] == [1, 1]
    P = gruae.profile("ci", steps=2, log_every=1, checkpoint_every=0, snapshot_at=())
    bench = score_benchmark(P, ("gruae", "per_frame"), train, test, train, name="tiny", root=tmp_path,
                            progress=False, size=16, clip_frames=4)
    assert list(bench.scores) == ["GRU-AE", "per-frame AE", *BASELINES]
    assert list(bench.all_scores()) == ["GRU-AE", "GRU-AE, relative", "per-frame AE", "per-frame AE, relative",
                                        *BASELINES]
    assert all(s.shape == (14,) for s in bench.all_scores().values())
    assert bench.maps["GRU-AE"].shape == (14, 16, 16) and set(bench.runs) == {"gruae", "per_frame"}
    rows = auc_table(bench.all_scores(), test.frame_labels.numpy(), test.lengths.tolist())
    assert len(rows) == 6
    again = score_benchmark(P, ("gruae",), train, test, name="tiny", root=tmp_path, progress=False, size=16,
                            clip_frames=4)
    assert again.runs["gruae"].seconds == 0 and not again.relative, "the same name loads the same run"
    np.testing.assert_allclose(again.scores["GRU-AE"], bench.scores["GRU-AE"])
    with pytest.raises(DataError, match="no frame labels"):
        _no_labels(ucsd_root)


def _no_labels(root):
    """benchmark_frames on a copy of root without its label file."""
    import shutil

    from gruae.anomaly import benchmark_frames

    copy = root.parent / "no-labels"
    shutil.copytree(root, copy)
    (copy / "ped2.mat").unlink()
    return benchmark_frames(copy, 16)


def test_frame_scores_patch_finds_a_small_anomaly():
    from gruae.anomaly import frame_scores

    maps = torch.zeros(2, 16, 16)
    maps[1, 4:8, 8:12] = 1.0  # one 4x4 blob
    assert torch.allclose(frame_scores(maps), torch.tensor([0.0, 16 / 256]))
    assert torch.allclose(frame_scores(maps, 4), torch.tensor([0.0, 1.0]))  # a window lands on the blob
    assert frame_scores(maps, 1).tolist() == [0.0, 1.0]
    with pytest.raises(DataError, match="patch must lie in 1..16"):
        frame_scores(maps, 17)


def test_error_ratio_is_one_for_a_model_that_predicts_no_change():
    from gruae.anomaly import error_ratio

    class Constant(torch.nn.Module):  # outputs "no change" (0), or its input (every change predicted)
        cfg = ModelConfig(size=16, widths=(4, 8), latent=4, hidden=4, clip_frames=4)

        def __init__(self, copy):
            super().__init__()
            self.copy, self.w = copy, torch.nn.Parameter(torch.zeros(()))

        def forward(self, x):
            return x + self.w if self.copy else torch.zeros_like(x) + self.w

    rng = np.random.default_rng(0)
    motion = VideoFrames.from_videos([rng.integers(0, 256, (8, 16, 16), dtype=np.uint8)]).motion()
    assert error_ratio(Constant(False), motion) == pytest.approx(1.0)
    assert error_ratio(Constant(False), motion, 4) == pytest.approx(1.0)
    assert error_ratio(Constant(True), motion, 4) == pytest.approx(0.0, abs=1e-9)


def test_roc_auc_is_scikit_learns_with_ties():
    rng = np.random.default_rng(0)
    s = rng.integers(0, 20, 5000).astype(np.float32)  # many ties
    y = rng.random(5000) < 0.1 + s / 40
    assert micro_auc(s, y) == pytest.approx(roc_auc_score(y, s), abs=1e-12)
    assert np.isnan(micro_auc(s, np.zeros(5000)))
