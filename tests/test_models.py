"""Tests for gruae.models: shapes, ranges, gradients, randomness, parameter counts, dtypes, layouts."""

from __future__ import annotations

import dataclasses
import importlib.util
import sys

import pytest
import torch

from gruae import models
from gruae.models import (
    ARTICLE,
    MODEL_KINDS,
    PREDICTOR_KINDS,
    GRUAE,
    Conv3dAE,
    ConvGRUPredictor,
    ModelConfig,
    SingleLatentAE,
    build_model,
    clip_channels_last,
    count_parameters,
    expected_parameters,
    fold_batch_norm,
    model_channels_last,
)

TINY = dict(size=16, channels=1, widths=(4, 8, 16), latent=8, hidden=12, clip_frames=4)


def tiny(kind: str, **changes) -> ModelConfig:
    """A model config small enough to train a step in milliseconds."""
    return ModelConfig(kind=kind, **{**TINY, **changes})


def clip(cfg: ModelConfig, batch: int = 2, frames: int | None = None, seed: int = 0) -> torch.Tensor:
    """A random clip in [-1, 1] matching cfg."""
    g = torch.Generator().manual_seed(seed)
    T = cfg.clip_frames if frames is None else frames
    return torch.rand(batch, T, cfg.channels, cfg.size, cfg.size, generator=g) * 2 - 1


@pytest.fixture(autouse=True)
def _seed():
    torch.manual_seed(0)


@pytest.mark.parametrize("kind", MODEL_KINDS)
def test_shape_range_and_gradients(kind):
    cfg = tiny(kind)
    model = build_model(cfg)
    x = clip(cfg)
    y = model(x)
    assert y.shape == x.shape
    assert y.dtype == torch.float32
    assert y.min() >= -1 and y.max() <= 1
    torch.nn.functional.mse_loss(y, x).backward()
    grads = [(name, p.grad) for name, p in model.named_parameters()]
    missing = [name for name, g in grads if g is None]
    assert not missing, f"no gradient for {missing}"
    assert all(torch.isfinite(g).all() for _, g in grads)
    assert sum(int((g != 0).any()) for _, g in grads) > len(grads) // 2


@pytest.mark.parametrize("kind", MODEL_KINDS)
def test_parameter_count_matches_formula(kind):
    for cfg in (tiny(kind), tiny(kind, last_encoder_bn=False, clip_latent=32, channels=3),
                ARTICLE.replace(kind=kind)):
        assert count_parameters(build_model(cfg)) == expected_parameters(cfg)


def test_article_parameter_count():
    n = count_parameters(build_model(ARTICLE))
    assert n == expected_parameters(ARTICLE) == 4_537_480
    assert 4_000_000 <= n <= 5_000_000


def test_article_layers():
    model = build_model(ARTICLE)
    assert isinstance(model, GRUAE)
    assert model.encoder.fc.in_features == 512 * 4 * 4 and model.encoder.fc.out_features == 64
    assert (model.gru.input_size, model.gru.hidden_size) == (64, 100)
    assert model.decoder.fc.in_features == 100 and model.decoder.fc.out_features == 512 * 4 * 4
    assert model.decoder.head.in_channels == 32 and model.decoder.head.out_channels == 1
    assert sum(isinstance(m, torch.nn.BatchNorm2d) for m in model.encoder.modules()) == 4


def test_gruae_stages_expose_shapes():
    cfg = tiny("gruae")
    model = build_model(cfg).eval()
    x = clip(cfg, batch=3)
    z = model.encode(x)
    h = model.temporal(z)
    x_hat = model.decode(h)
    assert z.shape == (3, cfg.clip_frames, cfg.latent)
    assert h.shape == (3, cfg.clip_frames, cfg.hidden)
    assert x_hat.shape == x.shape
    torch.testing.assert_close(x_hat, model(x))


def test_convgru_predictor_keeps_a_map():
    cfg = tiny("convgru_predict", horizon=1)
    model = build_model(cfg).eval()
    assert isinstance(model, ConvGRUPredictor) and cfg.bottom == 4  # 16 px, two stride-2 convs
    x = clip(cfg, batch=3)
    z = model.encode(x)
    h = model.temporal(z)
    assert z.shape == (3, cfg.clip_frames, cfg.latent, 4, 4)
    assert h.shape == (3, cfg.clip_frames, cfg.hidden, 4, 4)
    assert torch.equal(h[:, 0], torch.zeros_like(h[:, 0]))  # output 0 has no past
    torch.testing.assert_close(model.decode(h), model(x))
    # a change in one corner of a frame reaches the next state only near that corner
    big = build_model(tiny("convgru_predict", size=32, horizon=1)).eval()  # an 8x8 map
    x = clip(big.cfg)
    x2 = x.clone()
    x2[:, -2, :, :4, :4] = 1.0  # frame T-2 feeds h_{T-2}, which output T-1 reads (horizon 1)
    with torch.no_grad():
        before, after = (big.temporal(big.encode(v))[:, -1] for v in (x, x2))
    d = (after - before).abs().amax((0, 1))  # (8, 8): per cell
    assert d[0, 0] > 0 and d[4:, 4:].max() == 0, "what happens in one place stays in its place"


def test_single_latent_clip_code():
    cfg = tiny("single_latent", clip_latent=5)
    model = build_model(cfg)
    assert isinstance(model, SingleLatentAE)
    c = model.clip_code(model.encode(clip(cfg)))
    assert c.shape == (2, 5)
    assert ModelConfig(kind="single_latent").clip_size == 64


@pytest.mark.parametrize("kind", MODEL_KINDS)
def test_eval_deterministic_with_zero_state(kind):
    cfg = tiny(kind)
    model = build_model(cfg).eval()
    x = clip(cfg)
    with torch.no_grad():
        torch.testing.assert_close(model(x), model(x), rtol=0, atol=0)


def test_random_initial_state_only_while_training():
    cfg = tiny("gruae", init_state="random")
    model = build_model(cfg)
    z = torch.randn(2, cfg.clip_frames, cfg.latent)
    with torch.no_grad():
        a, b = model.temporal(z), model.temporal(z)  # training mode: a fresh h_0 each call
        assert not torch.equal(a, b)
        model.eval()
        c, d = model.temporal(z), model.temporal(z)  # eval mode: h_0 = 0, scores repeat
        torch.testing.assert_close(c, d, rtol=0, atol=0)
        zero = build_model(cfg.replace(init_state="zero")).eval()
        zero.load_state_dict(model.state_dict())
        torch.testing.assert_close(c, zero.temporal(z), rtol=0, atol=0)
    assert model.initial_state(2, "cpu").shape == (1, 2, cfg.hidden)


def test_model_config_is_frozen():
    cfg = tiny("gruae")
    with pytest.raises(dataclasses.FrozenInstanceError):
        cfg.clip_frames = 8
    assert cfg.replace(clip_frames=8).clip_frames == 8 and cfg.clip_frames == 4


def test_gruae_size_128():
    cfg = ModelConfig(size=128, widths=(4, 8, 8, 8, 8), latent=8, hidden=8, clip_frames=2)
    model = build_model(cfg)
    assert model.encoder.fc.in_features == 8 * 8 * 8  # 128 / 2**4 = 8
    x = clip(cfg, batch=1)
    with torch.no_grad():
        assert model(x).shape == x.shape


def test_single_latent_rejects_wrong_length():
    cfg = tiny("single_latent")
    model = build_model(cfg)
    with pytest.raises(ValueError, match=r"expected clips of cfg.clip_frames = 4 frames, got 3"):
        model(clip(cfg, frames=3))
    with pytest.raises(ValueError, match="expected 4 frames"):
        model.clip_code(torch.zeros(2, 5, cfg.latent))


@pytest.mark.parametrize("frames", [8, 16])
def test_conv3d_lengths(frames):
    cfg = tiny("conv3d", widths=(4, 8, 8, 8), clip_frames=frames)
    model = build_model(cfg)
    assert isinstance(model, Conv3dAE) and model.time_stride == 4
    x = clip(cfg, batch=1)
    code = model.encode(x)
    assert code.shape[2:] == (frames // 4, 1, 1)
    assert model.decode(code).shape == x.shape


def test_conv3d_rejects_bad_length():
    cfg = tiny("conv3d")
    with pytest.raises(ValueError, match="multiple of 4"):
        build_model(cfg)(clip(cfg, frames=6))


def test_wrong_frame_shape_rejected():
    cfg = tiny("gruae")
    model = build_model(cfg)
    with pytest.raises(ValueError, match="shape"):
        model(torch.zeros(2, 4, 3, 16, 16))
    with pytest.raises(ValueError, match="shape"):
        model(torch.zeros(4, 1, 16, 16))


def test_unknown_kind_rejected():
    with pytest.raises(ValueError, match="gruae, single_latent, per_frame, conv3d"):
        ModelConfig(kind="vae")
    cfg = tiny("gruae")
    object.__setattr__(cfg, "kind", "vae")  # forced past the frozen dataclass: build_model checks again
    with pytest.raises(ValueError, match="known kinds"):
        build_model(cfg)


@pytest.mark.parametrize("changes", [dict(size=48), dict(size=8), dict(init_state="noise"),
                                     dict(widths=()), dict(size=16, widths=(1, 2, 3, 4, 5, 6)),
                                     dict(latent=0), dict(clip_latent=0)])
def test_invalid_config_rejected(changes):
    with pytest.raises(ValueError):
        ModelConfig(**changes)


def test_config_round_trips_through_dict():
    d = dataclasses.asdict(ARTICLE)
    d["widths"] = list(d["widths"])  # as JSON would give it back
    assert ModelConfig(**d) == ARTICLE


@pytest.mark.parametrize("kind", MODEL_KINDS)
def test_bf16_autocast(kind):
    cfg = tiny(kind)
    model = build_model(cfg)
    x = clip(cfg)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        y = model(x)
        loss = torch.nn.functional.mse_loss(y.float(), x)
    loss.backward()
    assert y.shape == x.shape and torch.isfinite(y).all()
    assert all(p.grad is not None and torch.isfinite(p.grad).all() for p in model.parameters())


@pytest.mark.parametrize("kind", MODEL_KINDS)
def test_channels_last(kind):
    cfg = tiny(kind, channels=3)  # with one channel, channels-last is plain contiguous
    model = build_model(cfg).eval()
    x = clip(cfg)
    with torch.no_grad():
        ref = model(x)
        model_channels_last(model)
        xc = clip_channels_last(x)
        assert not xc.is_contiguous() and torch.equal(xc, x)
        assert xc.reshape(-1, 3, 16, 16).is_contiguous(memory_format=torch.channels_last)
        y = model(xc)
    torch.testing.assert_close(y, ref, rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("kind", MODEL_KINDS)
def test_fold_batch_norm_keeps_outputs_and_the_model(kind):
    model = build_model(tiny(kind))
    x = clip(tiny(kind))
    for _ in range(3):  # train-mode passes move the running statistics away from 0 and 1
        model(x * 0.5 + 0.2)
    model.eval()
    before = {k: v.clone() for k, v in model.state_dict().items()}
    folded = fold_batch_norm(model)
    norms = (torch.nn.BatchNorm2d, torch.nn.BatchNorm3d)
    assert any(isinstance(m, norms) for m in model.modules())
    assert not any(isinstance(m, norms) for m in folded.modules()), "every norm follows a conv"
    assert not folded.training
    with torch.no_grad():
        torch.testing.assert_close(folded(x), model(x), rtol=1e-4, atol=1e-5)
    assert all(torch.equal(v, before[k]) for k, v in model.state_dict().items()), "the model itself changed"


def test_import_changes_no_global_state():
    # execute a fresh copy of the module under another name, leaving gruae.models untouched
    spec = importlib.util.spec_from_file_location("gruae._models_import_check", models.__file__)
    copy = importlib.util.module_from_spec(spec)
    torch.manual_seed(123)
    before = (torch.get_rng_state(), torch.get_default_dtype(), torch.get_num_threads())
    sys.modules[spec.name] = copy
    try:
        spec.loader.exec_module(copy)
    finally:
        del sys.modules[spec.name]
    after = (torch.get_rng_state(), torch.get_default_dtype(), torch.get_num_threads())
    assert torch.equal(after[0], before[0]) and after[1:] == before[1:]


@pytest.mark.parametrize("kind", PREDICTOR_KINDS)
@pytest.mark.parametrize("horizon", [1, None, 5])
def test_predictor_never_sees_the_frame_it_outputs(kind, horizon):
    cfg = tiny(kind, clip_frames=6, horizon=horizon)
    k = cfg.horizon
    assert k == (3 if horizon is None else horizon)  # None -> frames // 2
    m = build_model(cfg).eval()
    x = clip(cfg)
    y = m(x)
    j = 6 - k - 1  # change frames j.. only: outputs 0..j+k-1 must not move, the last one must
    x2 = x.clone()
    x2[:, j:] = torch.rand_like(x2[:, j:])
    y2 = m(x2)
    assert torch.equal(y[:, :j + k], y2[:, :j + k]), f"outputs 0..{j + k - 1} depend on frames 0..{j - 1} only"
    assert not torch.equal(y[:, j + k:], y2[:, j + k:])
    assert m.context == max(k, 3) and build_model(tiny("gruae")).context == 0


def test_horizon_is_checked_and_has_one_spelling():
    for bad in (0, 6, 7):
        with pytest.raises(ValueError, match="horizon"):
            tiny("gru_predict", clip_frames=6, horizon=bad)
    assert tiny("gruae", horizon=3).horizon is None  # no effect on other models: one spelling
    assert tiny("gruae", horizon=3) == tiny("gruae")
    assert tiny("gruae").replace(kind="gru_predict").horizon == 2  # frames 4 // 2
    m = build_model(tiny("gru_predict", horizon=2))
    with pytest.raises(ValueError, match="too short for horizon 2"):
        m(clip(m.cfg, frames=2))
