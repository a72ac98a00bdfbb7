"""Frame-level anomaly detection: the book's models against a non-learned baseline.

    python benchmarks/anomaly.py [--profile book] [--steps N] [--models gruae,...] [--horizon K] [--reuse | --pretrained]
    python benchmarks/anomaly.py --ucsd ROOT [--profile book] [--size 64]

Synthetic (default): trains each model (the book's five, and the ConvGRU predictor of the next
frame, whose GRU state is a 16x16 map at 64x64: chapter 6) on the normal anomaly scenes of the
profile, scores the test scenes by each frame's reconstruction (or prediction) error, and
measures frame-level ROC AUC, micro (all frames concatenated) and macro (mean per video), the
EER, and the AUC per anomaly type; scores are min-max normalised per video and not smoothed (the protocol of the
literature, e.g. Liu et al. 2018 and Park et al. 2020). Baselines: a per-pixel Gaussian of the training frames
("baseline", the non-learned reference) and the energy of frame differences. Each model is
scored twice: by its mean error, and by its relative error (``<kind>_rel``: each pixel's error
divided by the model's mean error there on normal videos, see ``gruae.anomaly.relative_errors``).

With --ucsd ROOT: the same pipeline on a UCSD Ped2 folder (``training/frames``,
``testing/frames`` and ``ped2.mat``, or the official ``UCSDped2`` folder), frames resized to
--size, the book's split (training clips 15 and 16 held out as normal validation videos, which
calibrate the relative errors), plus the models of frame differences of chapter 9: the GRU-AE
(``gruae_motion``), the GRU predictor of the next difference (``gru_predict_motion``, horizon 1)
and the recipe, the ConvGRU predictor of the next difference (``convgru_predict_motion``, its GRU
state a 16x16 map at 64x64); every method is also scored locally (``*_local``: the largest mean error over 8x8
windows of a 64x64 frame). The recipe was reasoned from what Ped2's anomalies are and checked on
the development test clips 01-06; other clips, when present, are scored the same way without any
change.

Targets (book profile, pretrained weights): the best GRU model >= 0.90 micro AUC on the synthetic
scenes and >= 0.05 above the per-pixel Gaussian; on Ped2 >= 0.92 and >= 0.03 above frame
differencing. Runs train in a temporary folder unless --reuse (the book's checkpoints under data/)
or --pretrained (the weights shipped with the package, where they exist for these models).
The last line is one line of key=value pairs.
"""

from __future__ import annotations

import argparse
import tempfile
import time

import gruae
from gruae import anomaly, datasets
from gruae.errors import DataError
from gruae.models import MODEL_NAMES
from gruae.synthetic import ANOMALY_TYPES
from gruae.training import fit

KINDS = ("gruae", "per_frame", "conv3d", "single_latent", "gru_predict", "convgru_predict")
KEYS = {**{name: kind for kind, name in MODEL_NAMES.items()}, **{f"{name}, relative": f"{kind}_rel" for kind, name in
        MODEL_NAMES.items()}, anomaly.BASELINES[0]: "baseline", anomaly.BASELINES[1]: "frame_diff"}
"""The key of each method (the book's table names) in this script's output."""


def main() -> None:
    """Train, score, print the tables and the key=value line."""
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--profile", default=None, help="ci, book (default) or article")
    ap.add_argument("--steps", type=int, default=None, help="override the profile's training steps")
    ap.add_argument("--models", default=None,
                    help=f"comma-separated kinds (default {','.join(KINDS)}; with --ucsd: gruae)")
    ap.add_argument("--ucsd", default=None, metavar="ROOT", help="a UCSD-style benchmark folder instead of the synthetic scenes")
    ap.add_argument("--size", type=int, default=None, help="frame size for --ucsd (default: the profile's)")
    ap.add_argument("--horizon", type=int, default=None,
                    help="the predictors' horizon k: output t decoded from h_{t-k} (default: T // 2 for "
                         "gru_predict, 1 = the next frame for convgru_predict)")
    ap.add_argument("--sigma", type=float, default=0.0, help="temporal smoothing in frames (default 0: none)")
    ap.add_argument("--reuse", action="store_true", help="load the book's checkpoints under data/ when they exist")
    ap.add_argument("--pretrained", action="store_true", help="use the weights shipped with the package where they exist")
    args = ap.parse_args()
    P = gruae.profile(args.profile, **({"steps": args.steps} if args.steps else {}))
    T = P.clip_frames
    kinds = [k for k in (args.models or ("gruae" if args.ucsd else ",".join(KINDS))).split(",") if k]
    t0 = time.perf_counter()
    if args.ucsd:
        size = args.size or P.size
        try:  # the book's split: training clips 15-16 held out as normal validation videos
            tr, normal, te = (datasets.ped2(P, split, size=size, root=args.ucsd) for split in ("train", "val", "test"))
        except DataError as e:
            raise SystemExit(str(e)) from None
        types, prefix, data = None, "ped2", f"{args.ucsd} at {size}x{size}"
    else:
        size = P.size
        tr, _ = datasets.scenes(P, "train")
        te, scenes = datasets.scenes(P, "test")
        normal, _ = datasets.scenes(P, "val")  # held-out normal scenes calibrate the relative error
        types, prefix, data = scenes.types.reshape(-1), "scenes", f"synthetic scenes at {size}x{size}"
    labels, lengths = te.frame_labels.numpy(), te.lengths.tolist()
    print(f"{data}: {tr.num_videos} training videos ({len(tr)} frames), {te.num_videos} test videos "
          f"({len(te)} frames, {labels.mean():.0%} anomalous); profile={P.name} steps={P.train.steps} "
          f"batch={P.train.batch} T={T} horizon={P.model_for('gru_predict', horizon=args.horizon).horizon}", flush=True)

    with tempfile.TemporaryDirectory(prefix="gruae-bench-") as tmp:
        root = None if args.reuse or args.pretrained else tmp
        bench = anomaly.score_benchmark(P, kinds, tr, te, normal, name=prefix, root=root, progress=False,
                                        pretrained=args.pretrained, size=size,
                                        **({"horizon": args.horizon} if args.horizon else {}))
        if args.ucsd:  # chapter 9: models of the frame differences; the recipe is the ConvGRU predictor
            for key, cfg in (("gruae_motion", P.model_for("gruae", size=size)),
                             ("gru_predict_motion", P.model_for("gru_predict", size=size, horizon=1)),
                             ("convgru_predict_motion", P.model_for("convgru_predict", size=size))):
                run = fit(cfg, tr.motion(), P.train, name=f"ped2_motion-{cfg.kind}", root=root, progress=False,
                          pretrained=args.pretrained)
                bench.runs[key] = run
                bench.maps[key] = anomaly.error_maps(run.model, te.motion())
    for kind, r in bench.runs.items():
        how = f"shipped weights, {r.resumed_from:,} steps" if r.pretrained else f"trained {r.seconds:6.1f} s"
        print(f"  {kind:<16} {how}", flush=True)
    # the baselines first, then each model and its relative variant (this script's historic order)
    all_scores = bench.all_scores()
    scores = {KEYS[k]: all_scores[k] for k in [*anomaly.BASELINES, *all_scores] if k in all_scores}
    if args.ucsd:  # every map also scored locally (chapter 9): the largest mean over K x K windows
        k = max(1, anomaly.PED2_PATCH * size // 64)
        for name, m in bench.maps.items():
            key = KEYS.get(name, name)
            if name not in KEYS:  # the motion models: scored by the frame mean too
                scores[key] = anomaly.frame_scores(m).numpy()
            scores[f"{key}_local"] = anomaly.frame_scores(m, k).numpy()
        print(f"*_local: the largest mean over {k}x{k} windows (chapter 9); the recipe: convgru_predict_motion_local")

    rows = anomaly.auc_table(scores, labels, lengths, types=types, type_names=ANOMALY_TYPES, sigma=args.sigma)
    cols = list(rows[0])
    print("scores min-max normalised per video; smoothing sigma =", args.sigma)
    print("  ".join(f"{c:>12}" for c in cols))
    for row in rows:
        print("  ".join(f"{row[c]:>12.3f}" if isinstance(row[c], float) else f"{row[c]:>12}" for c in cols))
    raw = anomaly.auc_table(scores, labels, lengths, per_video=False)
    print("without per-video normalisation, micro AUC:", ", ".join(f"{r['method']} {r['micro AUC']:.3f}" for r in raw))
    print(f"total {time.perf_counter() - t0:.0f} s")
    micro = {r["method"]: r["micro AUC"] for r in rows}
    keys = [k for k in ("gruae", "per_frame", "conv3d", "baseline") if k in micro]
    keys += [k for k in micro if k not in keys]
    print(" ".join(f"{k}_micro_auc={micro[k]:.3f}" for k in keys) + f" data={prefix}")


if __name__ == "__main__":
    main()
