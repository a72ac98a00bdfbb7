"""Safe downloads and archive extraction.

Four tools, all standard library:

- :func:`fetch` streams a URL to ``dest.part``, resumes a partial download with an HTTP
  ``Range`` request, checks the SHA-256 and only then renames the file into place, so a
  file at ``dest`` is always complete.
- :func:`safe_extract` unpacks a zip or tar archive, refusing members that would escape the
  destination (absolute paths, ``..``), links and device files, and leaves nothing behind
  when it fails.
- :func:`sha256sum` hashes a file;
- :func:`verify_or_record` checks a file against its known SHA-256, or, where none is known,
  against the one recorded in the ``SHA256SUMS`` file next to it, recording it there on first
  use (trust on first use).

Every failure raises :class:`gruae.errors.DownloadError` with a one-line message naming the
URL or archive. Nothing here runs at import time.
"""

from __future__ import annotations

import hashlib
import http.client
import os
import re
import shutil
import socket
import stat
import tarfile
import tempfile
import time
import urllib.error
import urllib.request
import zipfile
from pathlib import Path, PurePosixPath

from gruae.errors import DownloadError

__all__ = ["data_dir", "fetch", "safe_extract", "sha256sum", "verify_or_record", "recorded_sha256", "SUMS_NAME"]

_CHUNK = 1 << 16  # bytes read per socket read and per hash update
_USER_AGENT = "gruae (Python urllib)"

SUMS_NAME = "SHA256SUMS"
"""The file, next to downloaded archives, recording their SHA-256 (``sha256sum`` format)."""


def data_dir() -> Path:
    """The folder where downloads, checkpoints and exported videos land.

    Returns:
        ``Path(os.environ["GRUAE_DATA"])`` when that variable is set; else the ``data/`` folder
        of the book's repository when the working directory is inside it (so notebooks running
        in ``book/`` and commands run at the top share one folder); else ``./data``. The folder
        is not created.
    """
    env = os.environ.get("GRUAE_DATA")
    if env:
        return Path(env)
    here = Path.cwd()
    for folder in (here, *here.parents):
        if (folder / "_toc.yml").is_file() and (folder / "gruae").is_dir():
            return folder / "data"
    return here / "data"


def sha256sum(path: str | os.PathLike) -> str:
    """SHA-256 of a file, as 64 lowercase hex digits.

    Args:
        path: the file to hash (read in 64 KiB chunks, so any size is fine).

    Returns:
        The hex digest.

    Raises:
        DownloadError: the file cannot be read.
    """
    digest = hashlib.sha256()
    try:
        with open(path, "rb") as f:
            for block in iter(lambda: f.read(_CHUNK), b""):
                digest.update(block)
    except OSError as e:
        raise DownloadError(path, f"cannot read file to hash it ({e.strerror or e})") from e
    return digest.hexdigest()


def recorded_sha256(path: str | os.PathLike) -> str | None:
    """The SHA-256 recorded for a file in the :data:`SUMS_NAME` file of its folder, or None.

    Args:
        path: the file (it need not exist yet).
    """
    path = Path(path)
    return _read_sums(path.parent).get(path.name)


def verify_or_record(path: str | os.PathLike, sha256: str | None = None) -> str:
    """Check a file's SHA-256, or record it on first use.

    The file is checked against ``sha256``, else against the digest recorded for it in the
    :data:`SUMS_NAME` file of its folder; with neither, its digest is recorded there (trust on
    first use), so every later call checks the file against its first download.

    Args:
        path: the file.
        sha256: the known digest (hex), or None.

    Returns:
        The file's digest.

    Raises:
        DownloadError: the digest does not match (the message says to delete the file to
            download it again), or the file cannot be read.
    """
    path = Path(path)
    known = (sha256 or recorded_sha256(path) or "").lower() or None
    digest = sha256sum(path)
    if known is None:
        sums = _read_sums(path.parent)
        sums[path.name] = digest
        lock = path.parent / SUMS_NAME
        tmp = lock.with_name(lock.name + ".tmp")
        tmp.write_text("".join(f"{h}  {n}\n" for n, h in sorted(sums.items())))
        os.replace(tmp, lock)
    elif digest != known:
        where = "known digest" if sha256 else f"digest recorded in {SUMS_NAME}"
        raise DownloadError(path, f"SHA-256 {digest} does not match {known}, the {where}; "
                                  f"delete {path.name} to download it again")
    return digest


def _read_sums(folder: Path) -> dict[str, str]:
    """{file name: sha256} from ``folder/SHA256SUMS`` (empty when absent)."""
    lock = folder / SUMS_NAME
    if not lock.is_file():
        return {}
    sums = {}
    for line in lock.read_text().splitlines():
        parts = line.split()
        if len(parts) == 2 and re.fullmatch(r"[0-9a-fA-F]{64}", parts[0]):
            sums[parts[1].lstrip("*")] = parts[0].lower()
    return sums


# --------------------------------------------------------------------------------------------
# fetch


def fetch(
    url: str,
    dest: str | os.PathLike,
    *,
    sha256: str | None = None,
    timeout: float = 30,
    retries: int = 2,
) -> Path:
    """Download ``url`` to ``dest``, resumably and atomically, checking its SHA-256.

    The bytes go to ``dest.part`` first. If a ``.part`` file is already there (an earlier
    download was interrupted), only the missing tail is requested with an HTTP ``Range``
    header; a server that ignores ``Range`` makes the download start over. Once complete, the
    file is hashed and renamed to ``dest`` with :func:`os.replace`, so ``dest`` never holds a
    partial file. If ``dest`` already exists and matches ``sha256`` (or no hash is given), it is
    returned without any network access; if it does not match, it is downloaded again.

    Args:
        url: an ``http://`` or ``https://`` URL.
        dest: the file to write; its parent folders are created.
        sha256: the expected SHA-256 (hex, any case), or None to skip the check.
        timeout: seconds to wait for the connection and for each read; a silent server
            raises instead of hanging.
        retries: how many more attempts after a network failure (each resumes from the
            ``.part`` file). HTTP 4xx errors and hash mismatches are not retried.

    Returns:
        ``dest`` as a :class:`~pathlib.Path`.

    Raises:
        DownloadError: the URL is not http(s); the host cannot be reached (offline, DNS
            failure, connection refused), the server timed out or answered with an HTTP error
            after all retries; or the file's SHA-256 does not match (the ``.part`` file is
            then removed).
    """
    dest = Path(dest)
    expected = None if sha256 is None else sha256.strip().lower()
    if not url.lower().startswith(("http://", "https://")):
        raise DownloadError(url, "only http:// and https:// URLs can be downloaded")
    if dest.is_file():
        if expected is None or sha256sum(dest) == expected:
            return dest
        dest.unlink()  # a stale or corrupt copy: fetch it again
    dest.parent.mkdir(parents=True, exist_ok=True)
    part = dest.with_name(dest.name + ".part")

    for attempt in range(retries + 1):
        try:
            _download_to_part(url, part, timeout)
            break
        except _Retryable as e:
            if attempt == retries:
                tries = f" (after {retries + 1} attempts)" if retries else ""
                raise DownloadError(url, f"{e}{tries}") from e.__cause__
            time.sleep(min(0.5 * 2**attempt, 4.0))

    _verify_part(url, part, expected)
    os.replace(part, dest)
    return dest


class _Retryable(Exception):
    """A network failure worth another attempt (its message is the user-facing reason)."""


def _download_to_part(url: str, part: Path, timeout: float) -> None:
    """One attempt: append the rest of ``url`` to ``part`` (or restart it)."""
    offset = part.stat().st_size if part.is_file() else 0
    request = urllib.request.Request(url, headers={"User-Agent": _USER_AGENT})
    if offset:
        request.add_header("Range", f"bytes={offset}-")
    try:
        response = urllib.request.urlopen(request, timeout=timeout)  # noqa: S310 (scheme checked)
    except urllib.error.HTTPError as e:
        if e.code == 416 and offset:
            _check_complete_part(part, offset, e.headers.get("Content-Range"))
            return
        reason = f"HTTP {e.code} {e.reason}"
        if e.code >= 500 or e.code in (408, 429):
            raise _Retryable(f"server error: {reason}") from e
        raise DownloadError(url, f"server refused the download: {reason}") from e
    except (OSError, http.client.HTTPException) as e:  # URLError is an OSError
        raise _Retryable(_network_reason(e, timeout)) from e

    with response:
        resumed = bool(offset) and response.status == 206
        if resumed and _range_start(response.headers.get("Content-Range")) != offset:
            part.unlink(missing_ok=True)
            raise _Retryable("server sent the wrong byte range; restarting the download")
        expected_len = _content_length(response)
        received = 0
        with open(part, "ab" if resumed else "wb") as f:
            while True:
                try:
                    block = response.read(_CHUNK)
                except (OSError, http.client.HTTPException) as e:
                    raise _Retryable(_network_reason(e, timeout)) from e
                if not block:
                    break
                try:
                    f.write(block)
                except OSError as e:
                    raise DownloadError(part, f"cannot write download ({e.strerror or e})") from e
                received += len(block)
    if expected_len is not None and received < expected_len:
        raise _Retryable(f"connection closed after {received} of {expected_len} bytes")


def _range_start(content_range: str | None) -> int | None:
    """The first byte of a ``Content-Range: bytes START-END/TOTAL`` header, or None."""
    try:
        return int(content_range.split()[1].split("-")[0])  # type: ignore[union-attr]
    except (AttributeError, IndexError, ValueError):
        return None


def _check_complete_part(part: Path, offset: int, content_range: str | None) -> None:
    """After HTTP 416, keep ``part`` only if the server says it has exactly ``offset`` bytes."""
    try:
        total = int(content_range.rsplit("/", 1)[1])  # type: ignore[union-attr]
    except (AttributeError, IndexError, ValueError):
        total = None
    if total is not None and total != offset:
        part.unlink(missing_ok=True)
        raise _Retryable(f"partial file is {offset} bytes but the server has {total}; restarting")


def _content_length(response) -> int | None:
    """The Content-Length header as an int, or None when absent or malformed."""
    value = response.headers.get("Content-Length")
    try:
        return int(value) if value is not None else None
    except ValueError:
        return None


def _network_reason(error: BaseException, timeout: float) -> str:
    """A short human reason for a urllib/socket failure."""
    reason = getattr(error, "reason", error)
    if isinstance(reason, (socket.timeout, TimeoutError)):
        return f"timed out after {timeout:g} s waiting for the server"
    if isinstance(reason, socket.gaierror):
        return f"cannot resolve host (DNS lookup failed: {reason.strerror or reason}); are you offline?"
    if isinstance(reason, ConnectionRefusedError):
        return "connection refused (is the server up? are you offline?)"
    if isinstance(reason, OSError) and reason.strerror:
        return f"network error: {reason.strerror}"
    return f"network error: {reason}"


def _verify_part(url: str, part: Path, expected: str | None) -> None:
    """Check the finished ``.part`` file's hash, removing it on mismatch."""
    if expected is None:
        return
    actual = sha256sum(part)
    if actual != expected:
        part.unlink(missing_ok=True)
        raise DownloadError(
            url,
            f"SHA-256 mismatch: expected {expected}, got {actual} "
            f"(removed {part.name}; the file changed on the server or was corrupted)",
        )


# --------------------------------------------------------------------------------------------
# safe_extract


def safe_extract(archive: str | os.PathLike, dest: str | os.PathLike) -> list[Path]:
    """Extract a zip or tar (``.tar``, ``.tar.gz``, ``.tgz``, ``.tar.bz2``, ``.tar.xz``) archive.

    Every member is checked before anything is written: absolute paths, ``..`` components,
    symbolic and hard links, and device files or FIFOs are refused. The archive is unpacked
    into a temporary folder next to ``dest`` which is then renamed to ``dest``, so a failed
    extraction leaves nothing behind and ``dest`` appears complete or not at all.

    Args:
        archive: the zip or tar file.
        dest: the folder to create; it must not exist, or be empty.

    Returns:
        The extracted regular files (not folders), as paths under ``dest``, in archive order.

    Raises:
        DownloadError: the archive is missing, not a zip or tar, corrupt, or has an unsafe
            member (the message names the archive and the member); or ``dest`` exists and is
            not an empty folder.
    """
    archive, dest = Path(archive), Path(dest)
    if not archive.is_file():
        raise DownloadError(archive, "archive not found")
    if dest.exists() and not (dest.is_dir() and not any(dest.iterdir())):
        raise DownloadError(dest, "destination already exists and is not empty; remove it first")
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{dest.name}.", suffix=".extracting", dir=dest.parent))
    try:
        names = _extract_into(archive, tmp)
        if dest.exists():
            dest.rmdir()  # empty, checked above
        os.replace(tmp, dest)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return [dest.joinpath(*PurePosixPath(n).parts) for n in names]


def _extract_into(archive: Path, target: Path) -> list[str]:
    """Validate and extract every member of ``archive`` into ``target``; return file names."""
    try:
        if zipfile.is_zipfile(archive):
            return _extract_zip(archive, target)
        if tarfile.is_tarfile(archive):
            return _extract_tar(archive, target)
    except (zipfile.BadZipFile, tarfile.TarError, EOFError, OSError) as e:
        raise DownloadError(archive, f"corrupt archive ({e})") from e
    raise DownloadError(archive, "not a zip or tar archive")


def _check_member_name(archive: Path, name: str) -> str:
    """Refuse absolute or escaping member names; return the normalised relative name."""
    clean = name.replace("\\", "/")
    if clean.startswith("/") or (len(clean) > 1 and clean[1] == ":"):
        raise DownloadError(archive, f"unsafe member {name!r}: absolute path")
    if ".." in PurePosixPath(clean).parts:
        raise DownloadError(archive, f"unsafe member {name!r}: '..' escapes the destination")
    return str(PurePosixPath(*[p for p in PurePosixPath(clean).parts if p not in ("", ".")]))


def _extract_zip(archive: Path, target: Path) -> list[str]:
    """Extract a zip after checking every member."""
    with zipfile.ZipFile(archive) as zf:
        members = zf.infolist()
        for info in members:
            _check_member_name(archive, info.filename)
            mode = info.external_attr >> 16
            if stat.S_ISLNK(mode):
                raise DownloadError(archive, f"unsafe member {info.filename!r}: symbolic link")
            if stat.S_ISCHR(mode) or stat.S_ISBLK(mode) or stat.S_ISFIFO(mode):
                raise DownloadError(archive, f"unsafe member {info.filename!r}: device or FIFO")
        files = []
        for info in members:
            zf.extract(info, target)
            if not info.is_dir():
                files.append(_check_member_name(archive, info.filename))
    return files


def _extract_tar(archive: Path, target: Path) -> list[str]:
    """Extract a tar after checking every member."""
    with tarfile.open(archive) as tf:
        members = tf.getmembers()
        for m in members:
            _check_member_name(archive, m.name)
            if m.issym() or m.islnk():
                kind = "symbolic link" if m.issym() else "hard link"
                raise DownloadError(archive, f"unsafe member {m.name!r}: {kind} to {m.linkname!r}")
            if m.ischr() or m.isblk() or m.isfifo() or not (m.isfile() or m.isdir()):
                raise DownloadError(archive, f"unsafe member {m.name!r}: device, FIFO or special file")
        if hasattr(tarfile, "data_filter"):  # Python >= 3.11.4: a second line of defence
            tf.extractall(target, members=members, filter="data")
        else:  # pragma: no cover - older Pythons; members were checked above
            tf.extractall(target, members=members)  # noqa: S202
        return [_check_member_name(archive, m.name) for m in members if m.isfile()]
