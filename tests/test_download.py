"""Tests for gruae.download: fetch (served from 127.0.0.1), sha256sum and safe_extract."""

from __future__ import annotations

import hashlib
import io
import os
import socket
import stat
import tarfile
import time
import zipfile

import pytest

from gruae.download import data_dir, fetch, recorded_sha256, safe_extract, sha256sum, verify_or_record
from gruae.errors import DataError, DownloadError

PAYLOAD = bytes(range(256)) * 400  # 102,400 bytes
PAYLOAD_SHA = hashlib.sha256(PAYLOAD).hexdigest()


def leftovers(folder):
    """Everything in a folder (to check nothing was left behind)."""
    return sorted(p.name for p in folder.iterdir())


# -------------------------------------------------------------------------------------------- fetch


def test_fetch_downloads_and_verifies(http_server, tmp_path):
    http_server.files["/a.zip"] = PAYLOAD
    dest = fetch(http_server.url("/a.zip"), tmp_path / "sub" / "a.zip", sha256=PAYLOAD_SHA.upper())
    assert dest.read_bytes() == PAYLOAD
    assert leftovers(dest.parent) == ["a.zip"]  # no .part left


def test_fetch_returns_existing_file_without_network(http_server, tmp_path):
    dest = tmp_path / "a.zip"
    dest.write_bytes(PAYLOAD)
    assert fetch(http_server.url("/a.zip"), dest, sha256=PAYLOAD_SHA) == dest
    assert http_server.requests == []


def test_fetch_replaces_existing_file_with_wrong_hash(http_server, tmp_path):
    http_server.files["/a.zip"] = PAYLOAD
    dest = tmp_path / "a.zip"
    dest.write_bytes(b"stale")
    fetch(http_server.url("/a.zip"), dest, sha256=PAYLOAD_SHA)
    assert dest.read_bytes() == PAYLOAD


def test_fetch_sha_mismatch_removes_part(http_server, tmp_path):
    http_server.files["/a.zip"] = PAYLOAD
    url = http_server.url("/a.zip")
    with pytest.raises(DownloadError, match="SHA-256 mismatch") as e:
        fetch(url, tmp_path / "a.zip", sha256="0" * 64, retries=0)
    assert url in str(e.value) and "a.zip.part" in str(e.value)
    assert leftovers(tmp_path) == []


def test_fetch_resumes_from_part_with_range(http_server, tmp_path):
    http_server.files["/a.zip"] = PAYLOAD
    (tmp_path / "a.zip.part").write_bytes(PAYLOAD[:40000])
    dest = fetch(http_server.url("/a.zip"), tmp_path / "a.zip", sha256=PAYLOAD_SHA)
    assert dest.read_bytes() == PAYLOAD
    assert http_server.requests == [("/a.zip", "bytes=40000-")]
    assert leftovers(tmp_path) == ["a.zip"]


def test_fetch_restarts_when_server_ignores_range(http_server, tmp_path):
    http_server.files["/a.zip"] = PAYLOAD
    http_server.ignore_range = True
    (tmp_path / "a.zip.part").write_bytes(b"x" * 5000)  # garbage that must not be kept
    dest = fetch(http_server.url("/a.zip"), tmp_path / "a.zip", sha256=PAYLOAD_SHA)
    assert dest.read_bytes() == PAYLOAD


def test_fetch_complete_part_gets_416_and_finishes(http_server, tmp_path):
    http_server.files["/a.zip"] = PAYLOAD
    (tmp_path / "a.zip.part").write_bytes(PAYLOAD)
    dest = fetch(http_server.url("/a.zip"), tmp_path / "a.zip", sha256=PAYLOAD_SHA)
    assert dest.read_bytes() == PAYLOAD


def test_fetch_http_404_is_not_retried(http_server, tmp_path):
    url = http_server.url("/missing.zip")
    with pytest.raises(DownloadError, match="HTTP 404") as e:
        fetch(url, tmp_path / "m.zip", retries=3)
    assert str(e.value).startswith(url)
    assert len(http_server.requests) == 1


def test_fetch_timeout_does_not_hang(tmp_path):
    silent = socket.socket()  # accepts connections (backlog) but never answers
    silent.bind(("127.0.0.1", 0))
    silent.listen(4)
    url = f"http://127.0.0.1:{silent.getsockname()[1]}/a.zip"
    t0 = time.monotonic()
    try:
        with pytest.raises(DownloadError, match="timed out") as e:
            fetch(url, tmp_path / "a.zip", timeout=1, retries=0)
    finally:
        silent.close()
    assert time.monotonic() - t0 < 10
    assert url in str(e.value)
    assert not (tmp_path / "a.zip").exists()


def test_fetch_connection_refused_after_retries(tmp_path):
    # Bound but not listening: the kernel refuses connections to the port, and holding it keeps
    # another process (a Jupyter kernel started by the tests beside these) from listening there.
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    url = f"http://127.0.0.1:{s.getsockname()[1]}/a.zip"
    try:
        with pytest.raises(DownloadError, match="connection refused") as e:
            fetch(url, tmp_path / "a.zip", timeout=2, retries=1)
    finally:
        s.close()
    assert url in str(e.value) and "after 2 attempts" in str(e.value)
    assert isinstance(e.value, DataError)  # callers can catch DataError for all input problems


def test_fetch_refuses_non_http_url(tmp_path):
    with pytest.raises(DownloadError, match="http"):
        fetch("file:///etc/passwd", tmp_path / "x")


def test_sha256sum_and_data_dir(tmp_path, monkeypatch):
    f = tmp_path / "f.bin"
    f.write_bytes(PAYLOAD)
    assert sha256sum(f) == PAYLOAD_SHA
    with pytest.raises(DownloadError, match="nope"):
        sha256sum(tmp_path / "nope")
    monkeypatch.delenv("GRUAE_DATA", raising=False)
    monkeypatch.chdir(tmp_path)
    assert data_dir() == tmp_path / "data"
    repo = tmp_path / "repo"  # inside the book's repository, from any sub-folder: its data/
    (repo / "gruae").mkdir(parents=True)
    (repo / "_toc.yml").write_text("root: intro")
    (repo / "book").mkdir()
    monkeypatch.chdir(repo / "book")
    assert data_dir() == repo / "data"
    monkeypatch.setenv("GRUAE_DATA", str(tmp_path))
    assert data_dir() == tmp_path


def test_verify_or_record_trusts_on_first_use(tmp_path):
    a, b = tmp_path / "a.zip", tmp_path / "b.zip"
    a.write_bytes(PAYLOAD)
    b.write_bytes(b"other")
    assert recorded_sha256(a) is None
    assert verify_or_record(a) == PAYLOAD_SHA  # first use: recorded
    verify_or_record(b)
    assert (tmp_path / "SHA256SUMS").read_text() == "".join(
        f"{h}  {n}\n" for n, h in (("a.zip", PAYLOAD_SHA), ("b.zip", hashlib.sha256(b"other").hexdigest())))
    assert recorded_sha256(a) == PAYLOAD_SHA and verify_or_record(a) == PAYLOAD_SHA  # later: checked
    a.write_bytes(PAYLOAD + b"!")
    with pytest.raises(DownloadError, match=f"a.zip: SHA-256 [0-9a-f]{{64}} does not match {PAYLOAD_SHA}, the "
                                            "digest recorded in SHA256SUMS; delete a.zip to download it again"):
        verify_or_record(a)
    with pytest.raises(DownloadError, match=f"does not match {'0' * 64}, the known digest"):
        verify_or_record(b, "0" * 64)  # a known digest wins over the recorded one


# -------------------------------------------------------------------------------------------- safe_extract


def make_zip(path, members):
    """members: list of (name, bytes) or (ZipInfo, bytes)."""
    with zipfile.ZipFile(path, "w") as zf:
        for name, data in members:
            zf.writestr(name, data)
    return path


def make_tar(path, members, mode="w:gz"):
    """members: TarInfo objects, or (TarInfo, bytes) pairs for regular files."""
    with tarfile.open(path, mode) as tf:
        for member in members:
            info, data = member if isinstance(member, tuple) else (member, None)
            if data is not None:
                info.size = len(data)
            tf.addfile(info, io.BytesIO(data) if data is not None else None)
    return path


def tar_file(name, data=b"data"):
    """A (TarInfo, bytes) pair for a regular file."""
    return tarfile.TarInfo(name), data


def test_extract_zip(tmp_path):
    archive = make_zip(tmp_path / "walk.zip", [("daria_walk.avi", b"a"), ("sub/lena_walk1.avi", b"bb")])
    files = safe_extract(archive, tmp_path / "walk")
    assert files == [tmp_path / "walk" / "daria_walk.avi", tmp_path / "walk" / "sub" / "lena_walk1.avi"]
    assert files[1].read_bytes() == b"bb"
    assert leftovers(tmp_path) == ["walk", "walk.zip"]


def test_extract_tar_gz_into_empty_existing_folder(tmp_path):
    archive = make_tar(tmp_path / "x.tar.gz", [tar_file("a/b.txt", b"hello")])
    (tmp_path / "out").mkdir()
    files = safe_extract(archive, tmp_path / "out")
    assert files == [tmp_path / "out" / "a" / "b.txt"] and files[0].read_text() == "hello"


@pytest.mark.parametrize("member", ["../evil", "ok/../../evil", "/abs/evil", "..\\evil"])
def test_extract_zip_refuses_escaping_members(tmp_path, member):
    archive = make_zip(tmp_path / "bad.zip", [("fine.txt", b"1"), (zipfile.ZipInfo(member), b"2")])
    with pytest.raises(DownloadError) as e:
        safe_extract(archive, tmp_path / "out" / "dest")
    msg = str(e.value)
    assert "bad.zip" in msg and repr(member) in msg
    assert not (tmp_path / "out" / "dest").exists() and leftovers(tmp_path / "out") == []
    assert not (tmp_path / "evil").exists() and not (tmp_path / "out" / "evil").exists()


def test_extract_zip_refuses_symlink_member(tmp_path):
    info = zipfile.ZipInfo("link")
    info.external_attr = (stat.S_IFLNK | 0o777) << 16
    archive = make_zip(tmp_path / "ln.zip", [(info, b"/etc/passwd")])
    with pytest.raises(DownloadError, match="symbolic link"):
        safe_extract(archive, tmp_path / "dest")
    assert leftovers(tmp_path) == ["ln.zip"]


def test_extract_tar_refuses_symlink_member(tmp_path):
    link = tarfile.TarInfo("innocent.avi")
    link.type, link.linkname = tarfile.SYMTYPE, "/etc/passwd"
    archive = make_tar(tmp_path / "ln.tar.gz", [tar_file("ok.txt"), link])
    with pytest.raises(DownloadError) as e:
        safe_extract(archive, tmp_path / "dest")
    assert "ln.tar.gz" in str(e.value) and "innocent.avi" in str(e.value) and "symbolic link" in str(e.value)
    assert leftovers(tmp_path) == ["ln.tar.gz"]


@pytest.mark.parametrize("kind,word", [(tarfile.LNKTYPE, "hard link"), (tarfile.CHRTYPE, "device"),
                                       (tarfile.FIFOTYPE, "FIFO")])
def test_extract_tar_refuses_links_and_devices(tmp_path, kind, word):
    m = tarfile.TarInfo("thing")
    m.type = kind
    m.linkname = "ok.txt" if kind == tarfile.LNKTYPE else ""
    archive = make_tar(tmp_path / "t.tar", [tar_file("ok.txt"), m], mode="w")
    with pytest.raises(DownloadError, match=word):
        safe_extract(archive, tmp_path / "dest")
    assert leftovers(tmp_path) == ["t.tar"]


def test_extract_tar_refuses_absolute_member(tmp_path):
    archive = make_tar(tmp_path / "abs.tar.gz", [tar_file("/tmp/evil")])
    with pytest.raises(DownloadError, match="absolute path"):
        safe_extract(archive, tmp_path / "dest")


def test_extract_refuses_non_archive_corrupt_and_busy_destination(tmp_path):
    junk = tmp_path / "junk.zip"
    junk.write_bytes(b"not an archive at all" * 10)
    with pytest.raises(DownloadError, match="junk.zip: not a zip or tar"):
        safe_extract(junk, tmp_path / "d1")
    good = make_zip(tmp_path / "good.zip", [("a.txt", b"x" * 5000)])
    cut = tmp_path / "cut.zip"
    data = good.read_bytes()
    cut.write_bytes(data[:40] + data[-200:])  # header and central directory, no file data
    with pytest.raises(DownloadError, match="cut.zip"):
        safe_extract(cut, tmp_path / "d2")
    busy = tmp_path / "busy"
    busy.mkdir()
    (busy / "x").write_text("x")
    with pytest.raises(DownloadError, match="not empty"):
        safe_extract(good, busy)
    with pytest.raises(DownloadError, match="archive not found"):
        safe_extract(tmp_path / "nope.zip", tmp_path / "d3")
    assert sorted(p for p in leftovers(tmp_path) if p.startswith(".")) == []  # no temp folders left
    assert not any((tmp_path / d).exists() for d in ("d1", "d2", "d3"))
    assert os.listdir(busy) == ["x"]
