"""Tests for gruae.scoring: per-frame metrics against scikit-image, reconstruction over windows."""

import numpy as np
import pytest
import torch
from skimage.metrics import peak_signal_noise_ratio, structural_similarity

from gruae.data import VideoFrames
from gruae.scoring import (evaluate, frame_mse, frame_psnr, frame_ssim, motion_correlation, motion_energy,
                           per_video, reconstruct)


@pytest.fixture
def pair():
    rng = np.random.default_rng(0)
    a = rng.integers(0, 256, (5, 24, 20), dtype=np.uint8)
    b = np.clip(a.astype(int) + rng.integers(-30, 30, a.shape), 0, 255).astype(np.uint8)
    b[0] = a[0]
    return a, b


def test_psnr_matches_skimage(pair):
    a, b = pair
    ours = frame_psnr(torch.from_numpy(a), torch.from_numpy(b))
    assert ours[0] == pytest.approx(100.0)
    for i in range(1, 5):
        ref = peak_signal_noise_ratio(a[i] / 255.0, b[i] / 255.0, data_range=1.0)
        assert ours[i].item() == pytest.approx(ref, abs=1e-3)


def test_ssim_matches_skimage(pair):
    a, b = pair
    ours = frame_ssim(torch.from_numpy(a), torch.from_numpy(b))
    for i in range(5):
        ref = structural_similarity(a[i] / 255.0, b[i] / 255.0, data_range=1.0, gaussian_weights=True,
                                    sigma=1.5, use_sample_covariance=False)
        assert ours[i].item() == pytest.approx(ref, abs=1e-4)


def test_float_and_uint8_agree(pair):
    a, b = (torch.from_numpy(v) for v in pair)
    fa, fb = a.float() / 127.5 - 1, b.float() / 127.5 - 1
    assert torch.allclose(frame_mse(a, b), frame_mse(fa, fb), atol=1e-6)


def test_motion_energy():
    v = torch.zeros(4, 1, 8, 8, dtype=torch.uint8)
    v[2:] = 255
    assert motion_energy(v).tolist() == [0.0, 1.0, 0.0]
    v[3, 0, :4] = 0  # half the pixels go back to black: (0.5 on [0, 1])^2 ... averaged: half of them changed by 1
    assert motion_energy(v)[2].item() == 0.5


class Shift(torch.nn.Module):
    """A fake clip model that returns its input, to check the stitching."""

    def __init__(self):
        super().__init__()
        self.p = torch.nn.Parameter(torch.zeros(()))

    def forward(self, x):
        return x + self.p


Shift.clip_frames = 4  # a model of one's own declares its clip length


def test_reconstruct_covers_every_frame_in_order():
    rng = np.random.default_rng(0)
    vids = [rng.integers(0, 256, (n, 8, 8), dtype=np.uint8) for n in (7, 4, 10)]
    f = VideoFrames.from_videos(vids)
    out = reconstruct(Shift(), f, batch=2)
    assert out.shape == (21, 1, 8, 8)
    assert torch.allclose(out, f.pixels.float() / 127.5 - 1)
    parts = per_video(frame_mse(out, f.pixels), f)
    assert [len(p) for p in parts] == [7, 4, 10]


def test_motion_correlation():
    rng = np.random.default_rng(0)
    x = torch.from_numpy(rng.integers(0, 256, (6, 8, 8), dtype=np.uint8))
    assert motion_correlation(x, x) == pytest.approx(1.0)
    frozen = x[:1].expand(6, 8, 8).contiguous()
    assert motion_correlation(x, frozen) == 0.0
    other = torch.from_numpy(rng.integers(0, 256, (6, 8, 8), dtype=np.uint8))
    assert abs(motion_correlation(x, other)) < 0.2


def test_evaluate_summary_of_a_perfect_model():
    rng = np.random.default_rng(1)
    f = VideoFrames.from_videos([rng.integers(0, 256, (9, 16, 16), dtype=np.uint8) for _ in range(2)])
    s = evaluate(Shift(), f).summary()
    assert s["psnr_db"] > 60 and s["ssim"] == pytest.approx(1.0, abs=1e-4)
    assert s["motion_corr"] == pytest.approx(1.0, abs=1e-4) and s["motion_ratio"] == pytest.approx(1.0, abs=1e-3)


class Echo(torch.nn.Module):
    """A fake predictor: output t is frame t-1 (frame 0 for t=0); needs 2 frames of context."""

    context = 2
    clip_frames = 4

    def __init__(self):
        super().__init__()
        self.p = torch.nn.Parameter(torch.zeros(()))

    def forward(self, x):
        return torch.cat([x[:, :1], x[:, :-1]], 1) + self.p


def test_reconstruct_gives_a_predictor_past_frames():
    rng = np.random.default_rng(1)
    vids = [rng.integers(0, 256, (n, 4, 4), dtype=np.uint8) for n in (9, 5, 12)]
    f = VideoFrames.from_videos(vids)
    out = reconstruct(Echo(), f, batch=3)
    x = f.pixels.float() / 127.5 - 1
    for s, n in zip(f.starts.tolist(), f.lengths.tolist()):
        assert torch.equal(out[s], x[s])  # no past at a video's start
        assert torch.equal(out[s + 1: s + n], x[s: s + n - 1])  # every later frame: the previous frame


def test_pixel_errors_average_to_the_frame_mse():
    from gruae.scoring import pixel_errors

    g = torch.Generator().manual_seed(0)
    x = torch.randint(0, 256, (5, 3, 8, 8), generator=g, dtype=torch.uint8)
    y = torch.rand(5, 3, 8, 8, generator=g) * 2 - 1
    m = pixel_errors(x, y)
    assert m.shape == (5, 8, 8)
    assert torch.allclose(m.mean((1, 2)), frame_mse(x, y), atol=1e-6)


@pytest.mark.parametrize("kind", ["gruae", "conv3d"])
def test_reconstruct_is_the_same_in_either_memory_layout(kind, monkeypatch):
    import gruae.scoring as scoring
    from gruae.models import ModelConfig, build_model

    torch.manual_seed(0)
    cfg = ModelConfig(kind=kind, size=16, channels=3, widths=(4, 8), latent=8, hidden=8, clip_frames=4)
    rng = np.random.default_rng(0)
    f = VideoFrames.from_videos([rng.integers(0, 256, (n, 16, 16, 3), dtype=np.uint8) for n in (6, 9)])
    monkeypatch.setattr(scoring, "channels_last_helps", lambda device, precision: False)
    model = build_model(cfg)
    conv = next(p for p in model.parameters() if p.dim() >= 4)  # the first convolution's weight
    plain = reconstruct(model, f)
    assert conv.is_contiguous()
    monkeypatch.setattr(scoring, "channels_last_helps", lambda device, precision: True)
    before = {k: v.clone() for k, v in model.state_dict().items()}
    fast = reconstruct(model, f)
    assert conv.is_contiguous()  # the layout (and the folded norms) are a copy's: the model is untouched
    assert all(torch.equal(v, before[k]) for k, v in model.state_dict().items())
    torch.testing.assert_close(fast, plain, rtol=0, atol=1e-5)


def test_the_default_batch_is_the_devices_and_changes_nothing(monkeypatch):
    import gruae.scoring as scoring
    from gruae.models import ModelConfig, build_model

    torch.manual_seed(0)
    model = build_model(ModelConfig(kind="gru_predict", size=16, channels=1, widths=(4, 8), latent=8, hidden=8,
                                    clip_frames=4))
    rng = np.random.default_rng(0)
    f = VideoFrames.from_videos([rng.integers(0, 256, (n, 16, 16), dtype=np.uint8) for n in (30, 9)])
    seen = []
    real = scoring.VideoFrames.window_clips
    monkeypatch.setattr(scoring.VideoFrames, "window_clips", lambda self, w, T: seen.append(len(w)) or real(self, w, T))
    default = reconstruct(model, f)
    assert max(seen) == scoring.INFERENCE_BATCH["cpu"]
    torch.testing.assert_close(default, reconstruct(model, f, batch=32), rtol=0, atol=1e-5)
