"""``sw.atomicio``: the file appears whole, a failed write leaves the old file and no temp file."""
from __future__ import annotations

import os

import pytest

from sw.atomicio import atomic_open, atomic_write_bytes, atomic_write_text


def _leftovers(d):
    return sorted(p.name for p in d.iterdir() if p.name.endswith(".tmp"))


def test_write_text_and_bytes(tmp_path):
    p = tmp_path / "a.txt"
    atomic_write_text(p, "hello\n")
    assert p.read_text() == "hello\n"
    assert atomic_write_bytes(p, b"\x00\x01\x02") == 3
    assert p.read_bytes() == b"\x00\x01\x02"
    atomic_write_text(p, "again", fsync=True)
    assert p.read_text() == "again"
    assert _leftovers(tmp_path) == []


def test_file_appears_only_when_complete(tmp_path):
    p = tmp_path / "big.bin"
    with atomic_open(p, "wb") as f:
        f.write(b"x" * 1000)
        f.flush()
        assert not p.exists()             # nothing visible under the target name yet
        assert len(_leftovers(tmp_path)) == 1
    assert p.read_bytes() == b"x" * 1000
    assert _leftovers(tmp_path) == []


def test_exception_mid_write_keeps_old_file(tmp_path):
    p = tmp_path / "keep.json"
    p.write_text("old contents")
    with pytest.raises(RuntimeError, match="boom"):
        with atomic_open(p) as f:
            f.write("new, half")
            f.flush()
            raise RuntimeError("boom")
    assert p.read_text() == "old contents"
    assert _leftovers(tmp_path) == []


def test_exception_mid_write_creates_nothing(tmp_path):
    p = tmp_path / "new.csv"
    with pytest.raises(KeyError):
        with atomic_open(p, "w", newline="") as f:
            f.write("a,b\r\n")
            raise KeyError("x")
    assert not p.exists() and _leftovers(tmp_path) == []


def test_permissions_follow_umask(tmp_path):
    old = os.umask(0o022)
    try:
        atomic_write_text(tmp_path / "m.txt", "x")
    finally:
        os.umask(old)
    assert (tmp_path / "m.txt").stat().st_mode & 0o777 == 0o644


def test_bad_mode_refused(tmp_path):
    with pytest.raises(ValueError, match="mode"):
        with atomic_open(tmp_path / "x", "a"):
            pass
