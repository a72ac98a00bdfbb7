"""Training throughput: the article's data path against gruae's trainer, same model, same batch.

    python benchmarks/throughput.py                      # article model, B=16, T=16, 64x64
    python benchmarks/throughput.py --iters 10           # CI-friendly
    python benchmarks/throughput.py --model book         # the book profile's small model (B=8)
    python benchmarks/throughput.py --device cuda --check-loss   # the GPU session's run
    python benchmarks/throughput.py --model book --profile       # where one step's time goes

Two ways to train the same model (``--model article``: :data:`gruae.models.ARTICLE`, 4.5 M
parameters; ``book``: ``gruae.profile("book").model``) for ``--iters`` iterations:

(a) **the article's path**, re-implemented from the author's public code (satolab12/GRU-Autoencoder,
    ``gru_ae.py``; torchvision is not used, its transforms are written out with PIL and numpy).
    Every iteration, for each of the B samples: a random video, a random T-frame window, the window
    as a float tensor in [0, 1], then every frame through ToPILImage (``mul(255).byte()``,
    ``Image.fromarray``), Grayscale (``convert("L")``), Resize (``resize((64, 64), BILINEAR)``),
    ToTensor (float in [0, 1], CHW) and Normalize (``(x - 0.5) / 0.5``), stacked in Python, then
    copied to the device; float32 eager training, the model in the default memory format, Adam
    (lr 1e-4, weight decay 1e-5), MSE, and ``loss.item()`` every iteration (the article prints the
    loss every iteration; it also redraws a loss plot every iteration, which is left out here).
(b) **gruae's trainer**, :func:`gruae.training.train` with the same model, B, T, optimiser and
    constant learning rate: all frames in one uint8 tensor on the device, clips gathered by index,
    a fused Adam on CUDA; timed twice: in float32 eager with the contiguous layout, and with its
    defaults (``amp="auto"``: the precision and layout :mod:`gruae.devices` picks for this machine,
    so the ratio ``auto_vs_fp32`` shows that the choice is never slower than float32); on CUDA (or
    with ``--compile compile|graph``) a fourth time compiled, ``graph`` replaying CUDA graphs.

The data is the same for both: ``gruae.synthetic.make_actions`` rendered at ``--source-size``
(default 128x128, so the article's path really resizes, as it did on its camera-sized videos).
The article's path keeps the videos in colour layout (grey values in three equal RGB channels,
as its colour videos were), so its Grayscale step does real work; it stores them as uint8 and
converts each window to float (the author stored float64 arrays, which is the same work per
iteration but eight times the memory). gruae gets the same videos made grey and resized once, up
front, with :func:`gruae.readers.resize`, which is the package's way. With ``--source-size 64``
the PIL resize is a no-op copy.

Timing. Both paths first run ``--warmup`` iterations that are not timed (allocator, oneDNN or
cuDNN kernel choice, ``torch.compile``). (a) is timed over the next ``--iters`` iterations, with
one device synchronisation at the end. (b) is ONE ``train`` call of ``warmup + iters`` steps with
``log_every = warmup``: the loop synchronises with the device only when it records the loss, and
the callback stamps the time there, so the rate is ``iters / (t[warmup + iters] - t[warmup])``.
(``TrainResult.seconds``, which includes the warm-up steps, is shown too.)

``--check-loss`` trains ``--check-steps`` (default 2,000) steps with the fast path and with
float32 eager from the same seed, and float32 eager once more from another seed to measure the
run-to-run noise; it passes when the fast path's final loss (mean of the last tenth of the
run) lies within ``max(2 x noise, 5 %)`` of float32 eager's.

``--profile`` prints a ``torch.profiler`` table of one step of the default path.

Output: a table, then as the last line ``seed_its=A fp32_its=B gruae_its=C ratio=C/A
auto_vs_fp32=C/B precision=P device=NAME`` (more keys when the compiled row or the loss check ran).
"""

from __future__ import annotations

import argparse
import dataclasses
import math
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import gruae  # noqa: E402
from gruae.data import VideoFrames  # noqa: E402
from gruae.models import ModelConfig, build_model, count_parameters  # noqa: E402
from gruae.readers import resize  # noqa: E402
from gruae.synthetic import make_actions  # noqa: E402
from gruae.devices import channels_last_helps, choose_precision, describe_device, resolve_device  # noqa: E402
from gruae.training import TrainConfig, train  # noqa: E402

MODELS = {"article": "article", "book": "book", "ci": "ci"}  # --model -> the profile it comes from
LR, WEIGHT_DECAY = 1e-4, 1e-5  # the article's Adam


# --------------------------------------------------------------------------- data
@dataclass
class Sources:
    """The same videos for both paths."""

    article: list[np.ndarray]  # per video uint8 (3, F, S, S): the article's (C, T, H, W) layout, RGB, full size
    frames: VideoFrames  # gruae's: grey, resized once to the model's size


def make_sources(n_videos: int, video_frames: int, source_size: int, size: int, seed: int = 0) -> Sources:
    """Render synthetic actions at ``source_size`` and lay them out for both paths.

    Args:
        n_videos: number of videos (>= 2: the article's sampler never picks the last one).
        video_frames: frames per video (>= T + 2: the article's window sampler needs it).
        source_size: rendered frame size S (the article's path resizes S -> ``size`` every time).
        size: the model's frame size.
        seed: seed of the renderer.

    Returns:
        :class:`Sources`.
    """
    grey, _ = make_actions(n_videos, seed=seed, size=source_size, video_frames=video_frames)  # (N, F, S, S) uint8
    article = [np.ascontiguousarray(np.broadcast_to(v[None], (3,) + v.shape)) for v in grey]  # (3, F, S, S)
    small = resize(grey.reshape(-1, source_size, source_size), size)  # (N*F, size, size), once
    frames = VideoFrames.from_videos(small.reshape(n_videos, video_frames, size, size))
    return Sources(article, frames)


# --------------------------------------------------------------------------- (a) the article's path
def article_frame(img: torch.Tensor, size: int) -> torch.Tensor:
    """One frame through the article's transforms, written out without torchvision.

    ToPILImage -> Grayscale(1) -> Resize((size, size)) -> ToTensor -> Normalize((0.5,), (0.5,)).

    Args:
        img: float ``(3, H, W)`` in [0, 1] (a frame of the float window).
        size: output size.

    Returns:
        float32 ``(1, size, size)`` in [-1, 1].
    """
    from PIL import Image

    pic = img.mul(255).byte()  # ToPILImage on a float tensor
    pil = Image.fromarray(np.transpose(pic.numpy(), (1, 2, 0)))  # (H, W, 3) -> RGB image
    pil = pil.convert("L")  # Grayscale(num_output_channels=1)
    pil = pil.resize((size, size), Image.BILINEAR)  # Resize((size, size)) (a copy when already that size)
    t = torch.from_numpy(np.array(pil, np.uint8, copy=True))  # ToTensor
    t = t.view(size, size, 1).permute(2, 0, 1).contiguous().to(torch.float32).div(255)  # (1, size, size) in [0, 1]
    return (t - 0.5) / 0.5  # Normalize((0.5,), (0.5,))


def article_batch(videos: list[np.ndarray], batch: int, T: int, size: int, rng: np.random.Generator) -> torch.Tensor:
    """One batch the article's way: per sample a random video, a random window, every frame transformed.

    Keeps the author's bounds: ``randint(0, n_videos - 1)`` (never the last video) and
    ``randint(0, length - (T + 1))`` (never the last two windows).

    Args:
        videos: per video uint8 ``(3, F, S, S)``.
        batch: B.
        T: frames per clip.
        size: frame size after Resize.
        rng: the sampler's generator.

    Returns:
        float32 ``(B, T, 1, size, size)`` in [-1, 1], on the CPU.
    """
    X = []
    for _ in range(batch):
        video = videos[rng.integers(0, len(videos) - 1)]
        start = rng.integers(0, video.shape[1] - (T + 1))
        window = torch.from_numpy(video[:, start:start + T]).float().div_(255)  # (3, T, S, S), torch.Tensor(video / 255.0)
        clip = torch.empty(1, T, size, size)  # (C, T, H, W)
        for i in range(T):
            clip[:, i] = article_frame(window[:, i], size)
        X.append(clip)
    return torch.stack(X).reshape(batch, T, 1, size, size)  # (B, C, T, H, W) -> (B, T, C, H, W): the same memory for C = 1


@dataclass
class Rate:
    """A throughput measurement."""

    its: float  # timed iterations per second
    iters: int  # timed iterations
    seconds: float  # seconds of the timed iterations
    loss: float  # last loss
    data_s: float = 0.0  # seconds spent building batches (the article's path)
    total_s: float = 0.0  # seconds including warm-up (gruae: TrainResult.seconds)


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def article_rate(model_cfg: ModelConfig, videos: list[np.ndarray], batch: int, T: int, iters: int,
                 warmup: int, device: torch.device, seed: int = 0) -> Rate:
    """Train the article's way: per-frame PIL transforms, float32 eager.

    Args:
        model_cfg: the model.
        videos: the article's layout from :func:`make_sources`.
        batch: B.
        T: frames per clip.
        iters: timed iterations.
        warmup: untimed iterations first.
        device: where the model trains.
        seed: seeds the weights (in a forked RNG) and the sampler.

    Returns:
        :class:`Rate` (``data_s``: seconds spent in :func:`article_batch` and the copy to the device).
    """
    if len(videos) < 2 or min(v.shape[1] for v in videos) < T + 2:
        raise ValueError(f"the article's sampler needs >= 2 videos of >= T + 2 = {T + 2} frames")
    rng = np.random.default_rng(seed)
    with torch.random.fork_rng(devices=[device] if device.type == "cuda" else []):
        torch.manual_seed(seed)
        model = build_model(model_cfg).to(device).train()
        opt = torch.optim.Adam(model.parameters(), lr=LR, weight_decay=WEIGHT_DECAY)
        data_s = 0.0
        loss = math.nan

        def step() -> float:
            nonlocal data_s
            t = time.perf_counter()
            x = article_batch(videos, batch, T, model_cfg.size, rng).to(device)
            data_s += time.perf_counter() - t
            y = model(x)
            loss = F.mse_loss(y, x)
            opt.zero_grad()
            loss.backward()
            opt.step()
            return loss.item()  # the article prints the loss every iteration (one host sync)

        for _ in range(warmup):
            step()
        _sync(device)
        data_s = 0.0
        t0 = time.perf_counter()
        for _ in range(iters):
            loss = step()
        _sync(device)
        sec = time.perf_counter() - t0
    return Rate(iters / sec, iters, sec, loss, data_s, sec)


def data_rate(videos: list[np.ndarray], batch: int, T: int, size: int, iters: int, seed: int = 0) -> float:
    """Batches per second of the article's data path alone (an upper bound on its training rate)."""
    rng = np.random.default_rng(seed)
    article_batch(videos, batch, T, size, rng)
    t0 = time.perf_counter()
    for _ in range(iters):
        article_batch(videos, batch, T, size, rng)
    return iters / (time.perf_counter() - t0)


# --------------------------------------------------------------------------- (b) gruae's trainer
def train_config(batch: int, device: str, **changes) -> TrainConfig:
    """gruae's TrainConfig for the article's settings (constant lr 1e-4, weight decay 1e-5)."""
    base = TrainConfig(steps=1, batch=batch, lr=LR, weight_decay=WEIGHT_DECAY, schedule="constant",
                       warmup=0, checkpoint_every=0, device=device)
    return dataclasses.replace(base, **changes)


def gruae_rate(model_cfg: ModelConfig, frames: VideoFrames, cfg: TrainConfig, iters: int, warmup: int) -> Rate:
    """Iterations per second of :func:`gruae.training.train`, warm-up excluded.

    One call of ``warmup + iters`` steps with ``log_every = warmup``; the callback stamps the
    time at each recorded loss, where the loop synchronises with the device.

    Args:
        model_cfg: the model.
        frames: the training videos.
        cfg: the training configuration (``steps`` and ``log_every`` are replaced).
        iters: timed steps.
        warmup: untimed steps first (>= 1).

    Returns:
        :class:`Rate` (``total_s``: ``TrainResult.seconds``, warm-up included).
    """
    warmup = max(1, warmup)
    stamps: dict[int, float] = {}
    cfg = dataclasses.replace(cfg, steps=warmup + iters, log_every=warmup)
    r = train(model_cfg, frames, cfg, progress=False, callback=lambda step, loss: stamps.__setitem__(step, time.perf_counter()))
    sec = stamps[warmup + iters] - stamps[warmup]
    return Rate(iters / sec, iters, sec, r.losses[-1], 0.0, r.seconds)


def _tail_loss(losses: list[float]) -> float:
    """Mean of the last tenth of the recorded losses."""
    k = max(1, len(losses) // 10)
    return float(np.mean(losses[-k:]))


def check_loss(model_cfg: ModelConfig, frames: VideoFrames, cfg: TrainConfig, steps: int = 2000) -> dict:
    """Does the fast path reach float32 eager's loss, within run-to-run noise?

    Trains ``steps`` steps with ``cfg`` (the fast path), with float32 eager (``amp="off"``,
    ``channels_last=False``, no compile) from the same seed, and with float32 eager from
    ``seed + 1``; compares the mean loss over the last tenth of each run.

    Returns:
        ``{"fast", "fp32", "fp32_other_seed", "noise", "tolerance", "ok"}``.
    """
    log = max(1, steps // 100)
    base = dataclasses.replace(cfg, steps=steps, log_every=log)
    eager = dataclasses.replace(base, amp="off", channels_last=False, compile="off")
    fast = _tail_loss(train(model_cfg, frames, base, progress=False).losses)
    ref = _tail_loss(train(model_cfg, frames, eager, progress=False).losses)
    other = _tail_loss(train(model_cfg, frames, dataclasses.replace(eager, seed=eager.seed + 1), progress=False).losses)
    noise = abs(ref - other)
    tol = max(2 * noise, 0.05 * abs(ref))
    return {"fast": fast, "fp32": ref, "fp32_other_seed": other, "noise": noise, "tolerance": tol,
            "ok": bool(abs(fast - ref) <= tol)}


# --------------------------------------------------------------------------- main
def device_name(device: torch.device) -> str:
    """A name without spaces: the GPU's name, or ``cpu``."""
    if device.type == "cuda":
        return torch.cuda.get_device_name(device).replace(" ", "_")
    return device.type


def profile_step(model_cfg: ModelConfig, frames: VideoFrames, cfg: TrainConfig, rows: int = 15) -> str:
    """A ``torch.profiler`` table of one training step (after two warm-up steps), by self time."""
    from torch.profiler import ProfilerActivity, profile

    activities = [ProfilerActivity.CPU] + ([ProfilerActivity.CUDA] if cfg.device.startswith("cuda") else [])
    schedule = torch.profiler.schedule(wait=1, warmup=1, active=1, repeat=1)  # the third step is recorded
    with profile(activities=activities, schedule=schedule) as prof:
        train(model_cfg, frames, dataclasses.replace(cfg, steps=4, log_every=1), progress=False,
              callback=lambda step, loss: prof.step())
    key = "self_cuda_time_total" if ProfilerActivity.CUDA in activities else "self_cpu_time_total"
    return prof.key_averages().table(sort_by=key, row_limit=rows)


def main(argv: list[str] | None = None) -> dict:
    """Run the benchmark; print the table and the key=value line.

    Returns:
        ``{"seed_its", "fp32_its", "gruae_its", "ratio", "auto_vs_fp32", "precision", "device"}``
        (plus ``"compiled_its"`` and ``"loss_check"`` when they ran).
    """
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--iters", type=int, default=None, help="timed iterations (default 50 on CPU, 2000 on CUDA)")
    ap.add_argument("--seed-iters", type=int, default=None,
                    help="timed iterations of the article's path (default: --iters on CPU, min(--iters, 500) on CUDA)")
    ap.add_argument("--warmup", type=int, default=None, help="untimed iterations first (default 3 on CPU, 50 on CUDA)")
    ap.add_argument("--device", default="auto", help="cpu, cuda or auto (default)")
    ap.add_argument("--model", choices=list(MODELS), default="article",
                    help="article (the article's model, B=16, T=16), book (the book profile's), ci (tiny)")
    ap.add_argument("--batch", type=int, default=None, help="B (default: 16 for article, the profile's for book and ci)")
    ap.add_argument("--frames", type=int, default=None, help="T (default: the model's clip length)")
    ap.add_argument("--videos", type=int, default=40, help="synthetic videos (default 40)")
    ap.add_argument("--video-frames", type=int, default=48, help="frames per video (default 48)")
    ap.add_argument("--source-size", type=int, default=128, help="rendered frame size (default 128: the article path resizes)")
    ap.add_argument("--threads", type=int, default=None, help="torch.set_num_threads (default: torch's choice)")
    ap.add_argument("--compile", choices=("compile", "graph"), default=None,
                    help="also time gruae's loop compiled (torch.compile) or graphed (CUDA graphs; default on CUDA)")
    ap.add_argument("--profile", action="store_true", help="print a torch.profiler summary of one step of the auto path")
    ap.add_argument("--check-loss", action="store_true", help="fast path vs float32 eager loss after --check-steps")
    ap.add_argument("--check-steps", type=int, default=2000, help="steps of the loss check (default 2000)")
    args = ap.parse_args(argv)

    device = resolve_device(args.device)
    if args.threads:
        torch.set_num_threads(args.threads)
    cuda = device.type == "cuda"
    iters = args.iters or (2000 if cuda else 50)
    seed_iters = args.seed_iters or (min(iters, 500) if cuda else iters)
    warmup = args.warmup if args.warmup is not None else (50 if cuda else 3)
    P = gruae.profile(MODELS[args.model])
    model_cfg = P.model if args.frames is None else P.model.replace(clip_frames=args.frames)
    batch = args.batch or (16 if args.model == "article" else P.train.batch)
    T, size = model_cfg.clip_frames, model_cfg.size

    t = time.perf_counter()
    src = make_sources(args.videos, args.video_frames, args.source_size, size)
    render_s = time.perf_counter() - t
    auto = train_config(batch, str(device))  # amp="auto", channels_last=None: gruae's defaults
    precision = choose_precision(device, auto.amp)
    layout = "channels-last" if channels_last_helps(device, precision) else "contiguous"

    seed = article_rate(model_cfg, src.article, batch, T, seed_iters, warmup, device)
    data_its = data_rate(src.article, batch, T, size, max(2, min(seed_iters, 20)))
    fp32 = gruae_rate(model_cfg, src.frames, dataclasses.replace(auto, amp="off", channels_last=False), iters, warmup)
    fast = gruae_rate(model_cfg, src.frames, auto, iters, warmup)
    rows = [("article: PIL per frame, fp32 eager", seed, f"data path alone {data_its:.1f} batches/s, "
                                                          f"{seed.data_s / seed.seconds:.0%} of the time in data"),
            ("gruae.train fp32 eager", fp32, "device-resident uint8 frames, float32, contiguous"),
            (f"gruae.train auto: {precision}, {layout}", fast, "the default (gruae.devices.choose_precision)")]
    how = args.compile or ("graph" if cuda else None)
    compiled = None
    if how:
        compiled = gruae_rate(model_cfg, src.frames, dataclasses.replace(auto, compile=how), iters, warmup)
        rows.append((f"gruae.train auto + {how}", compiled, "torch.compile" + (
            ' mode="reduce-overhead" (CUDA graphs)' if how == "graph" else "")))

    name = device_name(device)
    threads = f", {torch.get_num_threads()} threads" if device.type == "cpu" else ""
    print(f"training throughput on {describe_device(device)}{threads}, torch {torch.__version__}")
    print(f"model {args.model} ({count_parameters(build_model(model_cfg)):,} parameters, widths {model_cfg.widths}), "
          f"B={batch}, T={T}, {size}x{size}")
    print(f"data: {args.videos} synthetic action videos x {args.video_frames} frames rendered at "
          f"{args.source_size}x{args.source_size} in {render_s:.1f} s (the article's path resizes every frame to "
          f"{size}x{size} with PIL; gruae's resized once with gruae.readers.resize)")
    print(f"{'path':<48} {'iters':>6} {'seconds':>8} {'it/s':>8} {'loss':>8}  notes")
    for label, r, note in rows:
        print(f"{label:<48} {r.iters:>6} {r.seconds:>8.2f} {r.its:>8.2f} {r.loss:>8.4f}  {note}")
    ratio = fast.its / seed.its
    print(f"gruae auto / article: {ratio:.2f}x; auto / fp32 eager: {fast.its / fp32.its:.2f}x"
          + (f"; {how} / article: {compiled.its / seed.its:.2f}x" if compiled else ""))
    out = {"seed_its": seed.its, "fp32_its": fp32.its, "gruae_its": fast.its, "ratio": ratio,
           "auto_vs_fp32": fast.its / fp32.its, "precision": precision, "device": name}
    extra = ""
    if compiled is not None:
        out["compiled_its"] = compiled.its
        extra += f" {how}_its={compiled.its:.2f}"
    if args.check_loss:
        c = check_loss(model_cfg, src.frames, dataclasses.replace(auto, compile=how or "off"), args.check_steps)
        print(f"loss after {args.check_steps} steps (mean of the last tenth): fast path {c['fast']:.5f}, "
              f"fp32 eager {c['fp32']:.5f}, fp32 eager other seed {c['fp32_other_seed']:.5f}; "
              f"|fast - fp32| = {abs(c['fast'] - c['fp32']):.5f}, tolerance {c['tolerance']:.5f}: "
              f"{'within noise' if c['ok'] else 'OUTSIDE noise'}")
        out["loss_check"] = "pass" if c["ok"] else "fail"
        extra += f" loss_check={out['loss_check']}"
    if args.profile:
        print(profile_step(model_cfg, src.frames, auto))
    print(f"seed_its={seed.its:.2f} fp32_its={fp32.its:.2f} gruae_its={fast.its:.2f} ratio={ratio:.2f} "
          f"auto_vs_fp32={fast.its / fp32.its:.2f} precision={precision} device={name}{extra}")
    return out


if __name__ == "__main__":
    main()
