"""Tests for the command line: `python -m gruae info|train`."""

import subprocess
import sys

import numpy as np
import pytest

from gruae.__main__ import main


def run_cli(*args):
    """Run the CLI in a real subprocess; return (status, stdout, stderr)."""
    r = subprocess.run([sys.executable, "-m", "gruae", *map(str, args)], capture_output=True, text=True, timeout=300)
    return r.returncode, r.stdout, r.stderr


def test_info_on_video_file(video_file, capsys):
    path = video_file("clip.mp4")
    assert main(["info", str(path)]) == 0
    out = capsys.readouterr().out
    assert "video" in out and "frames" in out


def test_info_on_synthetic(capsys):
    assert main(["info", "synthetic:actions", "--profile", "ci"]) == 0
    out = capsys.readouterr().out
    assert "videos" in out and "action classes" in out


def test_info_on_ucsd_root(ucsd_root, capsys):
    assert main(["info", str(ucsd_root)]) == 0
    assert "anomalous" in capsys.readouterr().out


def test_info_on_real_third_party_video(real_video_dir, capsys):
    assert main(["info", str(real_video_dir / "bikes.mp4")]) == 0
    assert "bikes.mp4" in capsys.readouterr().out


def _write(path, data=b""):
    path.write_bytes(data)
    return path


@pytest.mark.parametrize("make, problem", [
    (lambda p: p / "missing.avi", "missing.avi"),
    (lambda p: (p / "empty").mkdir() or p / "empty", "empty"),
    (lambda p: _write(p / "zero.mp4"), "zero.mp4"),
    (lambda p: _write(p / "notes.xyz", b"hello"), "notes.xyz"),
    (lambda p: _write(p / "cut.mp4", b"\x00\x00\x00\x18ftypmp42" + b"\x00" * 200), "cut.mp4"),
])
def test_bad_paths_give_one_line_and_status_2(tmp_path, make, problem):
    status, out, err = run_cli("info", make(tmp_path))
    assert status == 2
    lines = err.strip().splitlines()
    assert len(lines) == 1 and problem in lines[0] and "Traceback" not in err, err


def test_train_then_load(tmp_path):
    args = ["train", "--profile", "ci", "--steps", "4", "--quiet", "--out", str(tmp_path), "--name", "t"]
    status, out, err = run_cli(*args)
    assert status == 0, err
    assert "trained 4 steps" in out and "checkpoint:" in out
    ckpts = list(tmp_path.glob("checkpoints/gruae-t-*/checkpoint.pt"))
    assert len(ckpts) == 1
    status, out, err = run_cli(*args)
    assert status == 0 and "loaded finished run" in out


def test_train_on_short_videos_names_them(tmp_path):
    np.save(tmp_path / "short.npy", np.zeros((2, 5, 32, 32), np.uint8))  # 2 videos of 5 frames < T=8
    status, out, err = run_cli("train", "--profile", "ci", "--data", tmp_path / "short.npy", "--quiet", "--out", tmp_path)
    assert status == 2 and "fewer than the clip length" in err and "Traceback" not in err, err


def test_help():
    status, out, _ = run_cli("train", "--help")
    assert status == 0 and "--profile" in out and "--steps" in out


def test_score_writes_csv_and_rejects_bad_inputs(tmp_path, video_file):
    status, out, err = run_cli("train", "--profile", "ci", "--steps", "2", "--quiet", "--out", tmp_path, "--name", "s")
    assert status == 0, err
    ckpt = next(tmp_path.glob("checkpoints/*/checkpoint.pt"))
    video = video_file("walk.mp4", frames=np.stack([np.full((48, 64, 3), i * 20, np.uint8) for i in range(12)]))
    csv = tmp_path / "walk.csv"
    status, out, err = run_cli("score", ckpt, video, "--out", csv)
    assert status == 0, err
    assert "12 frames scored" in out and csv.read_text().startswith("frame,mse,psnr,regularity")
    # a file that is not a checkpoint, and a video that is too short: one line each, nothing written
    bad = tmp_path / "bad.pt"
    bad.write_bytes(b"nope")
    status, _, err = run_cli("score", bad, video, "--out", tmp_path / "x.csv")
    assert status == 2 and "bad.pt" in err and len(err.strip().splitlines()) == 1
    short = video_file("short.mp4", frames=np.zeros((3, 48, 64, 3), np.uint8))
    status, _, err = run_cli("score", ckpt, short, "--out", tmp_path / "y.csv")
    assert status == 2 and "short.mp4" in err and "fewer than the clip length" in err
    assert not (tmp_path / "x.csv").exists() and not (tmp_path / "y.csv").exists()


def test_model_choices_are_the_model_kinds():
    from gruae.__main__ import MODEL_CHOICES
    from gruae.models import MODEL_KINDS

    assert set(MODEL_CHOICES) == set(MODEL_KINDS)
