"""Reliability end to end: a training process killed with SIGKILL resumes and loses at most one
checkpoint interval, and ends with the same weights as a run that was never killed."""

import os
import signal
import subprocess
import sys
import time

import torch

from gruae.__main__ import main
from gruae.training import load_checkpoint


def train_cmd(out, name, steps=30):
    return [sys.executable, "-m", "gruae", "train", "--profile", "ci", "--steps", str(steps), "--quiet",
            "--out", str(out), "--name", name]


def test_sigkill_mid_run_resumes_exactly(tmp_path, capsys):
    # the ci profile writes a checkpoint every 10 steps
    proc = subprocess.Popen(train_cmd(tmp_path, "killed"), stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    deadline = time.time() + 240
    ckpt_path = None
    while time.time() < deadline and proc.poll() is None:
        found = list(tmp_path.glob("checkpoints/gruae-killed-*/checkpoint.pt"))
        if found:
            ckpt_path = found[0]
            break
        time.sleep(0.02)
    assert ckpt_path is not None and proc.poll() is None, "the run finished before it could be killed"
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    killed_at = load_checkpoint(ckpt_path)["step"]  # the checkpoint on disk is whole and readable
    assert killed_at % 10 == 0 and 0 < killed_at < 30

    # the resumed run and the whole one in this process (the same code; no second start-up of torch)
    capsys.readouterr()
    assert main(train_cmd(tmp_path, "killed")[3:]) == 0
    out = capsys.readouterr().out
    assert f"trained {30 - killed_at} steps" in out, out  # only the lost steps are trained again
    resumed = load_checkpoint(ckpt_path)
    assert resumed["step"] == 30

    assert main(train_cmd(tmp_path, "whole")[3:]) == 0
    whole = load_checkpoint(next(tmp_path.glob("checkpoints/gruae-whole-*/checkpoint.pt")))
    for k, v in whole["model"].items():
        assert torch.equal(v, resumed["model"][k]), f"{k} differs after the resume"
    assert whole["history_losses"] == resumed["history_losses"]


def test_two_processes_fitting_one_run_train_it_once(tmp_path):
    # two `train` commands for the same model and data at once (two notebooks, say): the second
    # waits for the first (a lock in the run folder) and loads the run it finished
    procs = [subprocess.Popen(train_cmd(tmp_path, "same", steps=20), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              text=True) for _ in range(2)]
    outs = [p.communicate(timeout=300) for p in procs]
    assert [p.returncode for p in procs] == [0, 0], [err for _, err in outs]
    trained = sorted("trained 20 steps" in out for out, _ in outs)
    assert trained == [False, True], [out for out, _ in outs]  # one trained, the other loaded
    assert load_checkpoint(next(tmp_path.glob("checkpoints/gruae-same-*/checkpoint.pt")))["step"] == 20
