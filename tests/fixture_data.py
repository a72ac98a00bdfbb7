"""Small copies of the real datasets, in their real formats, for tests and for `make test`.

    python tests/fixture_data.py DIR   # writes DIR/mocogan_actions and DIR/ucsd_ped2

``make test`` writes them into its data folder, so that the notebooks of chapters 8 and 9 run
their real-data cells (under the ``ci`` profile) in the Colab-like check and the site build.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parent))
from conftest import moving_square, strip_of, write_frames, write_gt_mat  # noqa: E402

SLOT = {"1": 0, "0": 1, "2": 2, "3": 3}
"""The position of each MoCoGAN action folder in a person's eight files."""


def write_mocogan(root: Path, folders=("0", "1"), frames: int = 9) -> Path:
    """MoCoGAN's ``data/actions`` layout: per folder, 9 people x (video, mirror) as RGBA PNG strips
    named ``.jpg``, numbered ``person * 8 + 2 * slot + mirror`` as in the MoCoGAN repository."""
    for folder in folders:
        (root / folder).mkdir(parents=True, exist_ok=True)
        for person in range(9):
            video = moving_square(frames + person, 64, 64, seed=person)  # (T, 64, 64, 3)
            for mirror in (0, 1):
                v = video[:, :, ::-1] if mirror else video
                rgba = np.concatenate([strip_of(v), np.full((64, 64 * len(v), 1), 255, np.uint8)], -1)
                Image.fromarray(rgba).save(root / folder / f"{person * 8 + 2 * SLOT[folder] + mirror:08d}.jpg",
                                           format="PNG")
    return root


def write_ped2(root: Path, train=(1, 2, 15, 16), test=(1, 2), frames: int = 30) -> Path:
    """A UCSD Ped2 copy in the frames layout: gray-as-RGB JPEG clips of 24x36 and ``ped2.mat``
    marking frames 6-28 of every test clip anomalous."""
    for split, clips in (("training", train), ("testing", test)):
        for i, c in enumerate(clips):
            g = moving_square(frames, 24, 36, colour=False, seed=c + 10 * (split == "testing"))
            write_frames(root / split / "frames" / f"{c:02d}", np.repeat(g[..., None], 3, -1))
    write_gt_mat(root / "ped2.mat", [[(6, 28)] for _ in test])
    return root


if __name__ == "__main__":
    out = Path(sys.argv[1])
    write_mocogan(out / "mocogan_actions", folders=("0", "1", "2"))  # 2: an action the models never see
    write_ped2(out / "ucsd_ped2")
    print(f"fixture datasets written to {out}: mocogan_actions, ucsd_ped2")
