"""Reconstruction quality of the four models on held-out synthetic actions.

    python benchmarks/reconstruction.py [--profile book] [--steps N] [--reuse | --pretrained]

Trains GRU-AE, the single-latent AE (same per-frame latent size), the per-frame AE and the
3D-conv AE with the same profile (same steps, batch, clip length, learning rate), then measures
each on the held-out split: mean per-frame PSNR (dB, peak 1) and SSIM, the motion correlation and
the motion ratio. Runs train in a temporary folder unless --reuse (then the book's checkpoints
under data/ are loaded when they exist, and the training time shows 0), or --pretrained (the
weights shipped with the package when all four models have finished ones, as in the book's
chapters: `gruae.training.fit_all`; otherwise all four train, equally long).

Targets (book profile, pretrained weights): GRU-AE >= 30 dB and motion correlation >= 0.8; the
single-latent AE at least 5 dB below and motion correlation <= 0.3; the GRU-AE level with the
per-frame and 3D-conv AEs on PSNR and ahead of the per-frame AE on motion correlation.
``motion_corr_ceiling`` is what a perfect reconstruction would score: the motion correlation of
each test video with the same video rendered without its sensor noise, which no model can predict.
The last line is one line of key=value pairs.
"""

from __future__ import annotations

import argparse
import tempfile
import time

import gruae
from gruae import datasets
from gruae.models import count_parameters
from gruae.scoring import evaluate, motion_correlation
from gruae.training import fit_all


def main() -> None:
    """Train, measure, print the table and the key=value line."""
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--profile", default=None, help="ci, book (default) or article")
    ap.add_argument("--steps", type=int, default=None, help="override the profile's steps")
    ap.add_argument("--reuse", action="store_true", help="load the book's checkpoints under data/ when they exist")
    ap.add_argument("--pretrained", action="store_true", help="use the weights shipped with the package where they exist")
    args = ap.parse_args()
    P = gruae.profile(args.profile, **({"steps": args.steps} if args.steps else {}))
    tr, te = datasets.actions(P, "train"), datasets.actions(P, "test")
    T = P.clip_frames
    kinds = {"gruae": P.model, "single_latent": P.model_for("single_latent"),
             "per_frame": P.model_for("per_frame"), "conv3d": P.model_for("conv3d")}
    tmp = None if args.reuse or args.pretrained else tempfile.TemporaryDirectory(prefix="gruae-bench-")
    rows = {}
    t_all = time.perf_counter()
    runs = fit_all(kinds, tr, P.train, root=None if tmp is None else tmp.name, progress=False,
                   pretrained=args.pretrained)
    for kind, r in runs.items():
        s = evaluate(r.model, te).summary()
        rows[kind] = {"params": count_parameters(r.model), "train_s": r.seconds, **s}
        how = f"shipped, {r.resumed_from:,} steps" if r.pretrained else f"{r.seconds:7.1f} s"
        print(f"  {kind:<14} {rows[kind]['params']:>10,} params  {how}  "
              f"PSNR {s['psnr_db']:6.2f} dB  SSIM {s['ssim']:.3f}  motion corr {s['motion_corr']:.2f}  motion ratio {s['motion_ratio']:.2f}", flush=True)
    print(f"profile={P.name} steps={P.train.steps} batch={P.train.batch} T={T} train_videos={tr.num_videos} "
          f"test_videos={te.num_videos} total {time.perf_counter() - t_all:.0f} s")
    gap = rows["gruae"]["psnr_db"] - rows["single_latent"]["psnr_db"]
    clean = datasets.actions(P, "test", clean=True)  # the test videos without their noise
    ceiling = sum(motion_correlation(te.video(i), clean.video(i)) for i in range(te.num_videos)) / te.num_videos
    print(" ".join([f"{k}_psnr_db={v['psnr_db']:.2f}" for k, v in rows.items()]
                   + [f"gruae_ssim={rows['gruae']['ssim']:.3f}", f"gruae_minus_single_latent_db={gap:.2f}",
                      f"gruae_motion_corr={rows['gruae']['motion_corr']:.3f}",
                      f"single_latent_motion_corr={rows['single_latent']['motion_corr']:.3f}",
                      f"motion_corr_ceiling={ceiling:.3f}"]))


if __name__ == "__main__":
    main()
