"""Command line: ``python -m gruae info|train|score ...`` (also installed as ``gruae``).

Errors caused by input print one line naming the file and the problem, and exit with status 2;
no traceback.
"""

from __future__ import annotations

import argparse
import sys

from .errors import GruaeError

SYNTHETIC = ("synthetic:actions", "synthetic:scenes")


def _cmd_info(args: argparse.Namespace) -> None:
    """Print what a path holds."""
    from .readers import describe

    if args.path in SYNTHETIC:
        from . import datasets
        from .config import profile

        p = profile(args.profile)
        v = datasets.actions(p, "train") if args.path == SYNTHETIC[0] else datasets.scenes(p, "test")[0]
        info = {"kind": args.path, "videos": v.num_videos, "frames": len(v),
                "frames_per_video": f"{int(v.lengths.min())}..{int(v.lengths.max())}",
                "frame_size": "x".join(map(str, v.frame_shape[1:])) + f", {v.frame_shape[0]} channel(s)",
                "labels": "per-frame anomaly labels" if v.frame_labels is not None else "action classes"}
    else:
        info = describe(args.path, frame_size=args.frame_size)
    width = max(len(k) for k in info)
    for k, val in info.items():
        print(f"{k:<{width}}  {val}")


def _load_training_frames(args: argparse.Namespace, p):
    """The training videos named on the command line, as VideoFrames."""
    from . import datasets
    from .data import VideoFrames

    if args.data == "synthetic:actions":
        return datasets.actions(p, "train")
    if args.data == "synthetic:scenes":
        return datasets.scenes(p, "train")[0]
    from .readers import load_videos

    v = load_videos(args.data, gray=True, size=p.size, frame_size=args.frame_size, split="training")
    return VideoFrames.from_videos(v.videos, v.names, min_frames=p.clip_frames)


def _cmd_train(args: argparse.Namespace) -> None:
    """Train a model (or load it if this exact run already finished) and print where it is."""
    from .config import profile
    from .training import fit

    changes = {k: v for k, v in (("steps", args.steps), ("batch", args.batch), ("lr", args.lr),
                                 ("device", args.device), ("seed", args.seed)) if v is not None}
    p = profile(args.profile, **changes)
    frames = _load_training_frames(args, p)
    mcfg = p.model_for(args.model)
    res = fit(mcfg, frames, p.train, name=f"{args.model}-{args.name}", root=args.out, progress=not args.quiet)
    what = "loaded finished run" if res.seconds == 0 else f"trained {p.train.steps - res.resumed_from} steps in {res.seconds:.1f} s on {res.device}"
    print(f"{what}; final loss {res.losses[-1]:.5f}" if res.losses else what)
    print(f"checkpoint: {res.run_dir}/checkpoint.pt")


def _cmd_score(args: argparse.Namespace) -> None:
    """Score every frame of a video with a trained checkpoint; write CSV."""
    from pathlib import Path

    from .anomaly import score_video, write_scores_csv
    from .errors import DataError
    from .readers import read_video
    from .training import load_model

    model = load_model(args.checkpoint)
    video = read_video(args.video, gray=model.cfg.channels == 1, size=model.cfg.size)
    out = Path(args.out) if args.out else Path(args.video).with_suffix(".scores.csv")
    if not out.parent.is_dir():
        raise DataError(out.parent, "output folder does not exist")
    scores = score_video(model, video, name=str(args.video))
    write_scores_csv(scores, out)
    worst = int(scores["mse"].argmax())
    print(f"{len(scores['mse'])} frames scored; highest error at frame {worst} "
          f"(PSNR {scores['psnr'][worst]:.1f} dB); scores: {out}")


MODEL_CHOICES = ("gruae", "per_frame", "single_latent", "conv3d", "gru_predict")
"""``gruae.models.MODEL_KINDS``, spelled out so that ``--help`` does not import torch (a test keeps them equal)."""


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of ``python -m gruae``."""
    ap = argparse.ArgumentParser(prog="python -m gruae", description="GRU autoencoder for video reconstruction and anomaly detection.")
    sub = ap.add_subparsers(dest="command", required=True)

    info = sub.add_parser("info", help="print what a path holds (videos, frames, frame size, labels)")
    info.add_argument("path", help="a video file, a folder of frames, of videos or of MoCoGAN strips, a UCSD-style root, "
                                   "a .npy/.npz array, or synthetic:actions / synthetic:scenes")
    info.add_argument("--frame-size", type=int, default=64, help="frame width of MoCoGAN strip images (default 64)")
    info.add_argument("--profile", default=None, help="profile for synthetic data (ci, book, seed)")
    info.set_defaults(run=_cmd_info)

    tr = sub.add_parser("train", help="train a model; resumes from, or loads, the checkpoint of the same run")
    tr.add_argument("--data", default="synthetic:actions", help="synthetic:actions (default), synthetic:scenes, or any path `info` accepts")
    tr.add_argument("--model", default="gruae", choices=MODEL_CHOICES)
    tr.add_argument("--profile", default=None, help="ci, book or seed (default: $GRUAE_PROFILE, else book)")
    tr.add_argument("--steps", type=int, help="override the profile's number of steps")
    tr.add_argument("--batch", type=int, help="override the profile's batch size")
    tr.add_argument("--lr", type=float, help="override the profile's learning rate")
    tr.add_argument("--seed", type=int, help="override the profile's seed")
    tr.add_argument("--device", help="cuda, mps or cpu (default: the best available)")
    tr.add_argument("--frame-size", type=int, default=64, help="frame width of MoCoGAN strip images")
    tr.add_argument("--name", default="cli", help="name of the run folder (default: cli)")
    tr.add_argument("--out", default=None, help="data folder for checkpoints (default: $GRUAE_DATA or data/)")
    tr.add_argument("--quiet", action="store_true", help="no progress bar")
    tr.set_defaults(run=_cmd_train)

    sc = sub.add_parser("score", help="per-frame anomaly scores of a video with a trained checkpoint (CSV)")
    sc.add_argument("checkpoint", help="a checkpoint.pt or its run folder (from `train`)")
    sc.add_argument("video", help="a video file that `info` accepts")
    sc.add_argument("--out", help="CSV file to write (default: VIDEO with .scores.csv)")
    sc.set_defaults(run=_cmd_score)
    return ap


def main(argv: list[str] | None = None) -> int:
    """Run the command line; returns the exit status."""
    args = build_parser().parse_args(argv)
    try:
        args.run(args)
    except GruaeError as e:
        print(f"gruae {args.command}: error: {e}", file=sys.stderr)
        return 2
    except OSError as e:
        print(f"gruae {args.command}: error: {e.filename or ''}: {e.strerror or e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"gruae {args.command}: interrupted (the last checkpoint is kept; run again to resume)", file=sys.stderr)
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())
