"""benchmarks/throughput.py runs: its functions and its command line, on a tiny config, in seconds."""

import importlib.util
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from gruae.models import ModelConfig

PATH = Path(__file__).resolve().parent.parent / "benchmarks" / "throughput.py"
MODEL = ModelConfig(size=16, widths=(4, 8), latent=8, hidden=8, clip_frames=4)


@pytest.fixture(scope="module")
def bench():
    spec = importlib.util.spec_from_file_location("throughput_bench", PATH)
    mod = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = mod  # its dataclasses look their module up there
    spec.loader.exec_module(mod)
    yield mod
    sys.modules.pop(spec.name, None)


@pytest.fixture(scope="module")
def sources(bench):
    return bench.make_sources(3, 8, 24, 16)


def test_sources_hold_the_same_videos_for_both_paths(bench, sources):
    assert len(sources.article) == 3 and sources.article[0].shape == (3, 8, 24, 24)
    assert sources.article[0].dtype == np.uint8
    assert np.array_equal(sources.article[0][0], sources.article[0][2])  # grey values in RGB layout
    assert sources.frames.pixels.shape == (24, 1, 16, 16) and sources.frames.num_videos == 3


def test_article_frame_matches_the_torchvision_chain(bench):
    grey = torch.randint(0, 256, (16, 16), dtype=torch.uint8)
    rgb = grey.expand(3, 16, 16).float() / 255  # a float frame in [0, 1], as the article's window
    out = bench.article_frame(rgb, 16)  # same size: Resize is a copy
    assert out.shape == (1, 16, 16) and out.dtype == torch.float32
    torch.testing.assert_close(out[0], grey.float() / 255 * 2 - 1)
    small = bench.article_frame(rgb, 8)  # a real resize
    assert small.shape == (1, 8, 8) and -1 <= small.min() and small.max() <= 1


def test_article_batch_keeps_the_article_sampler(bench, sources):
    x = bench.article_batch(sources.article, 5, 4, 16, np.random.default_rng(0))
    assert x.shape == (5, 4, 1, 16, 16) and x.dtype == torch.float32
    assert -1 <= float(x.min()) and float(x.max()) <= 1


def test_rates_and_loss_check_run(bench, sources):
    dev = torch.device("cpu")
    seed = bench.article_rate(MODEL, sources.article, 2, 4, iters=2, warmup=1, device=dev)
    assert seed.iters == 2 and seed.its > 0 and np.isfinite(seed.loss) and 0 < seed.data_s <= seed.seconds
    cfg = bench.train_config(2, "cpu", amp="off")
    fast = bench.gruae_rate(MODEL, sources.frames, cfg, iters=2, warmup=1)
    assert fast.iters == 2 and fast.its > 0 and np.isfinite(fast.loss) and fast.total_s >= fast.seconds
    assert bench.data_rate(sources.article, 2, 4, 16, 2) > 0
    c = bench.check_loss(MODEL, sources.frames, bench.train_config(2, "cpu"), steps=3)
    assert set(c) == {"fast", "fp32", "fp32_other_seed", "noise", "tolerance", "ok"}
    assert all(np.isfinite(c[k]) for k in ("fast", "fp32", "fp32_other_seed"))


def test_command_line_ends_with_the_key_value_line(bench, capsys):
    out = bench.main(["--model", "ci", "--iters", "2", "--warmup", "1", "--device", "cpu", "--videos", "3",
                      "--video-frames", "10", "--source-size", "40", "--check-loss", "--check-steps", "3",
                      "--profile"])
    printed = capsys.readouterr().out
    last = printed.strip().splitlines()[-1]
    kv = dict(item.split("=") for item in last.split())
    assert list(kv)[:7] == ["seed_its", "fp32_its", "gruae_its", "ratio", "auto_vs_fp32", "precision", "device"]
    assert kv["device"] == "cpu" and kv["precision"] in ("bf16", "fp32")
    assert float(kv["ratio"]) == pytest.approx(float(kv["gruae_its"]) / float(kv["seed_its"]), rel=0.02)
    assert float(kv["auto_vs_fp32"]) == pytest.approx(float(kv["gruae_its"]) / float(kv["fp32_its"]), rel=0.02)
    assert kv["loss_check"] in ("pass", "fail") and "Self CPU" in printed  # the profiler table
    assert out["device"] == "cpu" and out["seed_its"] > 0 and out["gruae_its"] > 0
