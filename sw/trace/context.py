"""Where the active recorders live: a context variable, so that recording is per thread.

The stack of active recorders (innermost last) and the depth of nested dry-run blocks are
held in :class:`contextvars.ContextVar` s: a recorder opened in one thread (or asyncio task
context) sees no operation of another. A new thread starts with no recorder.
The readers here are on the hot path of every kernel call: one ``ContextVar.get`` each.
"""
from __future__ import annotations

from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any, Iterator

#: Active recorders, innermost last (a tuple: each change sets a new one).
_RECORDERS: ContextVar[tuple] = ContextVar("sw.trace.recorders", default=())
#: Number of enclosing ``recording(dry_run=True)`` blocks.
_DRY_DEPTH: ContextVar[int] = ContextVar("sw.trace.dry_depth", default=0)


def active() -> Any:
    """The innermost active :class:`sw.trace.Recorder` of this context, or None."""
    recs = _RECORDERS.get()
    return recs[-1] if recs else None


def is_dry_run() -> bool:
    """True inside a ``recording(dry_run=True)`` block (of this context)."""
    return _DRY_DEPTH.get() > 0


def push(rec, dry_run: bool) -> None:
    """Make ``rec`` the innermost active recorder."""
    _RECORDERS.set(_RECORDERS.get() + (rec,))
    if dry_run:
        _DRY_DEPTH.set(_DRY_DEPTH.get() + 1)


def pop(rec, dry_run: bool) -> None:
    """Deactivate ``rec`` (wherever it is in the stack: blocks may close out of order)."""
    _RECORDERS.set(tuple(r for r in _RECORDERS.get() if r is not rec))
    if dry_run:
        _DRY_DEPTH.set(_DRY_DEPTH.get() - 1)


@contextmanager
def paused() -> Iterator[None]:
    """No recorder of this context sees the calls inside the block (work that is not the
    recorded program's: key material derived once, on first use). A dry run stays one."""
    token = _RECORDERS.set(())
    try:
        yield
    finally:
        _RECORDERS.reset(token)
