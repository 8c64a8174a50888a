"""Atomic file writes: a temporary file in the target's directory, then ``os.replace``.

A reader (another job sharing a cache, a user opening a report) sees either the old file or
the new one whole, never a half-written file; a failure while writing leaves the old file
as it was and removes the temporary file.

* :func:`atomic_open`        -- context manager yielding the temporary file object;
* :func:`atomic_write_bytes` -- write ``bytes`` in one call;
* :func:`atomic_write_text`  -- write ``str`` in one call.

The temporary file is named ``.<name>.<pid>.<token>.tmp`` beside the target (same file
system, so the rename is atomic) and is created with the permissions an ordinary ``open``
would give (``0o666`` minus the umask). ``fsync=True`` flushes the data to disk before the
rename (durability across a power cut; not needed against concurrent readers).

This module lives in ``sw`` so that both the software library and the simulator can use
it (``sw`` imports nothing from ``sim``).
"""
from __future__ import annotations

import os
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO

__all__ = ["atomic_open", "atomic_write_bytes", "atomic_write_text"]


def _temp_path(path: Path) -> Path:
    return path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}.tmp")


@contextmanager
def atomic_open(path: str | os.PathLike, mode: str = "w", *, encoding: str | None = None,
                newline: str | None = None, fsync: bool = False) -> Iterator[IO]:
    """Open a temporary file for writing that replaces ``path`` when the block exits cleanly.

    Parameters
    ----------
    path : path-like
        The file to create or replace; its directory must exist.
    mode : {"w", "wb"}
        Text or binary mode.
    encoding, newline : str, optional
        As for :func:`open` (text mode only).
    fsync : bool
        Flush the data to disk before the rename.

    Yields
    ------
    file object
        The open temporary file. On an exception inside the block it is closed and deleted
        and ``path`` is left untouched.
    """
    if mode not in ("w", "wb"):
        raise ValueError(f"atomic_open: mode={mode!r} must be 'w' or 'wb'")
    path = Path(path)
    tmp = _temp_path(path)
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
    try:
        with os.fdopen(fd, mode, encoding=encoding, newline=newline) as f:
            yield f
            if fsync:
                f.flush()
                os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise


def atomic_write_bytes(path: str | os.PathLike, data: bytes, *, fsync: bool = False) -> int:
    """Write ``data`` to ``path`` atomically; returns the number of bytes written."""
    with atomic_open(path, "wb", fsync=fsync) as f:
        f.write(data)
    return len(data)


def atomic_write_text(path: str | os.PathLike, text: str, *, encoding: str | None = None,
                      fsync: bool = False) -> None:
    """Write ``text`` to ``path`` atomically (text mode, like :meth:`pathlib.Path.write_text`)."""
    with atomic_open(path, "w", encoding=encoding, fsync=fsync) as f:
        f.write(text)
