"""Errors a reader can act on.

Every problem caused by input (a bad file, a short video, a wrong shape, a NaN loss) raises a
subclass of :class:`GruaeError` whose message names the file or object and the problem in one
line. The command line prints that line and exits non-zero, without a traceback.
"""

from __future__ import annotations

import os


class GruaeError(Exception):
    """Base class for errors caused by input the user can fix."""


class DataError(GruaeError, ValueError):
    """A data source is missing, unreadable, corrupt, too short or of the wrong shape.

    Args:
        path: the file, folder or object at fault (shown first in the message).
        problem: what is wrong with it, as one short sentence.
    """

    def __init__(self, path: str | os.PathLike | None, problem: str):
        self.path = None if path is None else os.fspath(path)
        self.problem = problem
        super().__init__(problem if path is None else f"{self.path}: {problem}")


class DownloadError(DataError):
    """A download failed, timed out, or did not match its SHA-256."""


class CheckpointError(DataError):
    """A checkpoint is unreadable, unsafe, or belongs to another model or config."""


class TrainingError(GruaeError, RuntimeError):
    """Training cannot go on (for example the loss became NaN or infinite)."""
