"""benchmarks/anomaly.py runs end to end on the ci profile, on the synthetic scenes and on a UCSD-style root."""

from __future__ import annotations

from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
BENCH = ROOT / "benchmarks" / "anomaly.py"


def run(run_script, monkeypatch, tmp_path, *args):
    """The script on the ci profile (4 steps), data in ``tmp_path/data``; its key=value line and output."""
    monkeypatch.setenv("GRUAE_DATA", str(tmp_path / "data"))
    out = run_script(BENCH, "--profile", "ci", "--steps", "4", *args)
    return dict(kv.split("=") for kv in out.strip().splitlines()[-1].split()), out


def test_synthetic_scenes(run_script, monkeypatch, tmp_path):
    kv, out = run(run_script, monkeypatch, tmp_path, "--models", "gruae")
    assert kv["data"] == "scenes"
    for k in ("gruae_micro_auc", "baseline_micro_auc", "frame_diff_micro_auc", "gruae_rel_micro_auc"):
        assert 0.0 <= float(kv[k]) <= 1.0
    assert "runner" in out and "macro AUC" in out
    assert not (tmp_path / "data").exists(), "runs train in a temporary folder unless --reuse"


def test_ucsd_style_root(run_script, monkeypatch, tmp_path):
    from PIL import Image
    from scipy.io import savemat

    rng = np.random.default_rng(0)
    root = tmp_path / "ped"
    for split, clips in (("training", (1, 2, 15, 16)), ("testing", (1, 2))):  # 15, 16: held out (val)
        for c in clips:
            d = root / split / "frames" / f"{c:02d}"
            d.mkdir(parents=True)
            for t in range(20):
                Image.fromarray(rng.integers(0, 256, (24, 36), dtype=np.uint8)).save(d / f"{t:03d}.jpg")
    gt = np.empty((1, 2), dtype=object)
    gt[0, 0], gt[0, 1] = np.array([[5], [12]]), np.array([[1], [8]])
    savemat(root / "ped2.mat", {"gt": gt})
    kv, out = run(run_script, monkeypatch, tmp_path, "--ucsd", root, "--models", "per_frame,gru_predict",
                  "--horizon", "2")
    assert kv["data"] == "ped2" and 0.0 <= float(kv["per_frame_micro_auc"]) <= 1.0
    assert 0.0 <= float(kv["gru_predict_micro_auc"]) <= 1.0 and "horizon=2" in out
    assert "2 test videos (40 frames" in out
    for k in ("gruae_motion", "gru_predict_motion_local", "convgru_predict_motion_local", "frame_diff_local",
              "per_frame_local"):  # chapter 9
        assert 0.0 <= float(kv[f"{k}_micro_auc"]) <= 1.0, k
