"""benchmarks/reconstruction.py runs end to end and ends with its key=value line."""

from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_reconstruction_benchmark_prints_every_key(tmp_path, monkeypatch, run_script):
    monkeypatch.chdir(tmp_path)
    out = run_script(ROOT / "benchmarks" / "reconstruction.py", "--profile", "ci", "--steps", "2")
    kv = dict(item.split("=") for item in out.strip().splitlines()[-1].split())
    for key in ("gruae_psnr_db", "single_latent_psnr_db", "per_frame_psnr_db", "conv3d_psnr_db",
                "gruae_minus_single_latent_db", "gruae_motion_corr", "single_latent_motion_corr",
                "motion_corr_ceiling"):
        assert key in kv, key
    gap = float(kv["gruae_psnr_db"]) - float(kv["single_latent_psnr_db"])
    assert abs(gap - float(kv["gruae_minus_single_latent_db"])) < 0.011
    assert 0.5 < float(kv["motion_corr_ceiling"]) < 1  # noise is a part, not all, of the motion
