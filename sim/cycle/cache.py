"""On-disk caches of the cycle model's slow, deterministic inputs, keyed by the code.

Two things are costly to recompute on every ``fhesim estimate`` and pure functions of the
project's source: the dry-run traces of the workload registry (an encrypted ResNet-110 is
~120,000 operations from a few seconds of ``sw`` code) and the properties of the RTL units
(``sim.cycle.hwprops``: constructing ``hw`` components, finding primes). Both are cached
under ``build/cache/`` (``FHESIM_CACHE_DIR`` overrides; ``FHESIM_CACHE=0`` turns the caches
off), each entry keyed by

* the request (workload name, parameter set, geometry, ...; a unit and its arguments), and
* a digest of the source files the result depends on (:func:`code_digest`), plus the
  Python and NumPy versions.

Changing any of those files selects a new entry; stale entries are never read (and can be
deleted at will: ``rm -r build/cache``). A cache entry that cannot be read (truncated,
another format) is treated as a miss and rewritten. Writes are atomic
(:mod:`sw.atomicio`), so concurrent runs at worst compute the same entry twice.

:func:`paused_gc` is the other half of the speed: building or loading ~10^5 small objects
with the cyclic garbage collector running costs more than the work itself (each collection
walks every live object); the collector is paused for the duration and run once after.
"""
from __future__ import annotations

import contextlib
import gc
import hashlib
import json
import os
import pickle
import sys
from pathlib import Path
from typing import Any, Callable, Iterable

ROOT = Path(__file__).resolve().parents[2]
#: Bump when the layout of the cached objects changes without a source change
#: (e.g. a pickled class moved).
CACHE_FORMAT = 1


def enabled() -> bool:
    """False when ``FHESIM_CACHE`` is ``0``, ``off``, ``no`` or ``false``."""
    return os.environ.get("FHESIM_CACHE", "1").strip().lower() not in ("0", "off", "no", "false")


def cache_dir() -> Path:
    """``FHESIM_CACHE_DIR`` if set, else ``build/cache`` of the project."""
    env = os.environ.get("FHESIM_CACHE_DIR")
    return Path(env) if env else ROOT / "build" / "cache"


_DIGESTS: dict[tuple[str, ...], str] = {}


def code_digest(parts: Iterable[str]) -> str:
    """SHA-256 of the ``.py`` files of ``parts`` (package directories or files, relative to
    the project root), their relative paths and contents in sorted order, with the Python
    and NumPy versions and :data:`CACHE_FORMAT`. Computed once per process."""
    key = tuple(parts)
    if key in _DIGESTS:
        return _DIGESTS[key]
    import numpy

    h = hashlib.sha256()
    h.update(f"fmt={CACHE_FORMAT};py={sys.version_info[:3]};np={numpy.__version__}".encode())
    files: list[Path] = []
    for part in key:
        p = ROOT / part
        if p.is_dir():
            files.extend(sorted(p.rglob("*.py")))
        elif p.is_file():
            files.append(p)
        else:
            raise ValueError(f"code_digest: {part} is neither a file nor a directory of the project")
    for f in sorted(set(files)):
        h.update(f.relative_to(ROOT).as_posix().encode() + b"\0")
        h.update(f.read_bytes() + b"\0")
    _DIGESTS[key] = h.hexdigest()
    return _DIGESTS[key]


def request_key(**request: Any) -> str:
    """A short digest of a JSON-serialisable request (sorted keys)."""
    text = json.dumps(request, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:24]


@contextlib.contextmanager
def paused_gc():
    """Pause the cyclic garbage collector inside the block (nesting-safe), collect the
    young generation once after it. Reference counting still frees everything acyclic."""
    was = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was:
            gc.enable()
            gc.collect(0)


def cached_pickle(kind: str, request: dict, code: Iterable[str], compute: Callable[[], Any]) -> Any:
    """``compute()``, or its pickled result from an earlier run with the same ``request``
    and the same digest of the ``code`` files. ``kind`` names the entry's folder."""
    if not enabled():
        return compute()
    path = cache_dir() / kind / f"{request_key(**request)}-{code_digest(code)[:24]}.pickle"
    if path.is_file():
        try:
            with paused_gc():
                return pickle.loads(path.read_bytes())
        except Exception:         # noqa: BLE001 - an unreadable entry is a miss
            pass
    value = compute()
    try:
        from sw.atomicio import atomic_write_bytes

        path.parent.mkdir(parents=True, exist_ok=True)
        atomic_write_bytes(path, pickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL))
    except OSError:               # a read-only tree: run uncached
        pass
    return value


class PersistentMemo:
    """A small JSON memo of a pure function's results, one file per code digest.

    ``memo.get(name, args, compute)`` returns the stored value of ``name(*args)`` or computes,
    stores and returns it. Values must be JSON numbers or lists of them (returned as tuples).
    The file is read once per process and rewritten (atomically) after each new entry.
    """

    def __init__(self, kind: str, code: Iterable[str]):
        self.kind = kind
        self.code = tuple(code)
        self._data: dict[str, Any] | None = None
        self._path: Path | None = None

    def _load(self) -> dict:
        if self._data is None:
            self._path = cache_dir() / self.kind / f"{code_digest(self.code)[:24]}.json"
            try:
                self._data = json.loads(self._path.read_text())
                if not isinstance(self._data, dict):
                    self._data = {}
            except (OSError, ValueError):
                self._data = {}
        return self._data

    def get(self, name: str, args: tuple, compute: Callable[[], Any]) -> Any:
        if not enabled():
            return compute()
        data = self._load()
        key = f"{name}{json.dumps(list(args))}"
        if key in data:
            v = data[key]
            return tuple(tuple(x) if isinstance(x, list) else x for x in v) if isinstance(v, list) else v
        value = compute()
        data[key] = value
        try:
            from sw.atomicio import atomic_write_text

            self._path.parent.mkdir(parents=True, exist_ok=True)
            atomic_write_text(self._path, json.dumps(data, sort_keys=True))
        except (OSError, TypeError):
            pass
        return value
