"""Files and folders: which entries count, in which order, and the one-line errors about them.

Every reader lists folders through :func:`visible` (hidden entries left out, natural order) and
reports a file it cannot decode through :func:`undecodable`, so the rules and the wording live
here once.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

from gruae.errors import DataError

VIDEO_EXTENSIONS = frozenset({
    ".mp4", ".m4v", ".mov", ".avi", ".mkv", ".webm", ".mpg", ".mpeg", ".wmv", ".flv", ".ogv",
    ".3gp", ".gif",
})
"""File extensions read as videos (lower case)."""

IMAGE_EXTENSIONS = frozenset({".jpg", ".jpeg", ".png", ".tif", ".tiff", ".bmp"})
"""File extensions read as frame images (lower case)."""


def is_hidden(name: str) -> bool:
    """Whether a file or folder name is hidden: ``.x`` (``.DS_Store``, AppleDouble ``._x``) or
    ``__MACOSX``."""
    return name.startswith((".", "__MACOSX"))


def natural_key(name: str) -> list:
    """Sort key putting ``2.png`` before ``10.png``."""
    return [int(t) if t.isdigit() else t.lower() for t in re.split(r"(\d+)", name)]


def visible(folder: Path) -> list[Path]:
    """The entries of a folder, hidden ones left out, in natural order.

    Raises:
        DataError: the folder cannot be listed.
    """
    try:
        entries = [p for p in folder.iterdir() if not is_hidden(p.name)]
    except OSError as e:
        raise DataError(folder, f"cannot list folder ({e.strerror or e})") from e
    return sorted(entries, key=lambda p: natural_key(p.name))


def frame_files(folder: Path) -> list[Path]:
    """Image files of a folder (:data:`IMAGE_EXTENSIONS`), in natural order."""
    return [p for p in visible(folder) if p.suffix.lower() in IMAGE_EXTENSIONS and p.is_file()]


def video_files(folder: Path) -> list[Path]:
    """Video files of a folder (:data:`VIDEO_EXTENSIONS`), in natural order."""
    return [p for p in visible(folder) if p.suffix.lower() in VIDEO_EXTENSIONS and p.is_file()]


def existing(path: str | os.PathLike, *, folder: bool) -> Path:
    """``path`` as a Path, checked to be an existing folder (``folder``) or file.

    Raises:
        DataError: it does not exist, or is of the other kind.
    """
    path = Path(path)
    if not path.exists():
        raise DataError(path, "no such file or folder")
    if folder and not path.is_dir():
        raise DataError(path, "not a folder")
    if not folder and not path.is_file():
        raise DataError(path, "not a file (a folder? use read_frame_folder or load_videos)")
    return path


def reason(e: BaseException) -> str:
    """A short, path-free reason from a decoder exception."""
    text = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
    text = re.sub(r"^\[Errno -?\d+\]\s*", "", text)
    text = re.sub(r"""[:;]\s*['"][^'"]*['"]\s*$""", "", text)  # a trailing ": '/the/path'"
    return text[:160] or type(e).__name__


def undecodable(path: Path, e: BaseException, what: str = "video", *, after: int | None = None) -> DataError:
    """The error for a file the decoder gave up on, e.g.
    ``clips/03.avi: cannot decode video (truncated or corrupt: Invalid data ...) after 12 frames``.

    Args:
        path: the file.
        e: the decoder's exception (its first line becomes the reason).
        what: ``"video"`` or ``"image"``.
        after: frames decoded before the failure, when some were.
    """
    tail = "" if after is None else f" after {after} frames"
    return DataError(path, f"cannot decode {what} (truncated or corrupt: {reason(e)}){tail}")
