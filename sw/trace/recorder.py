"""Recording: the :class:`Recorder`, and the scopes the CKKS and ring layers record through.

Usage::

    from sw import trace
    with trace.recording() as rec:
        with trace.stage("bootstrap/cts"):
            ...
    rec.to_dataframe(); rec.kernels_dataframe(); rec.to_json()

The CKKS layer opens one :func:`op` scope per homomorphic operation (of a declared kind,
:mod:`sw.trace.kinds`); the ring layer's kernel funnel (:mod:`sw.ring.kernels`) reports
each kernel call with :func:`report_kernel`, so counts are measured, not estimated.

Dry run: ``recording(dry_run=True)`` makes every kernel funnel skip its arithmetic
(shape-only polynomials, ``data is None``) while still recording, so that large programs at
``N = 2^16`` can be traced in seconds.

Data capture: ``keep=Keep(op="rotate", kernels=("ntt",), first=1)`` keeps copies of the
integer inputs and outputs of the selected kernels (``KernelCall.data``) for replay on the
RTL.

Recorders are per context (:mod:`sw.trace.context`): nested ``recording`` blocks stack and
the innermost receives the events; a recorder sees no operation of another thread.
"""
from __future__ import annotations

import json
from collections import Counter
from contextlib import contextmanager
from typing import Any, Iterator

from . import context
from .context import _RECORDERS, active
from .events import KernelCall, Keep, OpEvent
from .formats import compact_doc, nested_doc, write_text
from .kinds import KERNEL_KINDS, OP_KINDS, check_op_kind
from .replay import Template, _Replay


class DryRunError(ValueError):
    """A shape-only placeholder (dry run) was used where integer data is needed."""


class Recorder:
    """Collects :class:`OpEvent` trees; created by :func:`recording`."""

    def __init__(self, dry_run: bool = False, keep: Keep | None = None):
        self.dry_run = bool(dry_run)
        self.keep = None if dry_run else keep
        self._items: list = []                   # outermost events and replays, in order
        self._events: list[OpEvent] = []         # _items expanded (up to _done)
        self._done = 0
        self.orphan_kernels: list[KernelCall] = []  # kernels outside any op (key generation...)
        self._stack: list[OpEvent] = []
        self._stages: list[str] = []
        self._next_id = 0
        self._keep_matched = 0
        self._doc_cache: tuple | None = None

    @property
    def events(self) -> list[OpEvent]:
        """Outermost events, in order (replays are expanded here, on first access)."""
        if self._done < len(self._items):
            for item in self._items[self._done:]:
                if type(item) is _Replay:
                    self._events.extend(item.expand())
                else:
                    self._events.append(item)
            self._done = len(self._items)
        return self._events

    # -- recording ---------------------------------------------------------------------
    def _open(self, kind: str, info: dict) -> OpEvent:
        stack = self._stack
        parent = stack[-1] if stack else None
        ev = OpEvent(self._next_id, kind, None if parent is None else parent.id, len(stack),
                     "/".join(self._stages) or None, info.pop("n", None), info.pop("primes_in", None),
                     info.pop("primes_out", None), info.pop("level_in", None), info.pop("level_out", None),
                     info)
        self._next_id += 1
        if parent is not None and parent.keep_data:
            ev.keep_data = True
        elif self.keep is not None and self._keep_matched < self.keep.first and (
                (self.keep.op is None and parent is None) or self.keep.op == kind):
            ev.keep_data = True
            self._keep_matched += 1
        (parent.children if parent is not None else self._items).append(ev)
        stack.append(ev)
        return ev

    def _close(self, ev: OpEvent) -> None:
        top = self._stack.pop()
        assert top is ev, "trace: operation scopes closed out of order"

    def wants_data(self, kind: str) -> bool:
        """True when the next kernel call of ``kind`` must keep its data."""
        return (self.keep is not None and bool(self._stack) and self._stack[-1].keep_data
                and kind in self.keep.kernels)

    def add_kernel(self, kc: KernelCall) -> None:
        if self._stack:
            top = self._stack[-1]
            kc.op_id = top.id
            top.kernels.append(kc)
        else:
            self.orphan_kernels.append(kc)

    # -- replay (dry run) --------------------------------------------------------------
    def mark(self) -> tuple:
        """Position before a call that :meth:`capture` may turn into a template."""
        return (len(self._items), self._next_id, len(self.orphan_kernels), tuple(self._stages),
                len(self._stack))

    def capture(self, mark: tuple) -> Template | None:
        """The top-level events recorded since ``mark`` as a :class:`Template`; None when
        they cannot be replayed (recorded inside an open operation, stages changed, or
        containing replays themselves)."""
        i0, id0, o0, stages, depth = mark
        if depth or self._stack or tuple(self._stages) != stages:
            return None
        items = self._items[i0:]
        if any(type(x) is not OpEvent for x in items):
            return None
        return Template(items, "/".join(stages), id0, self._next_id - id0, self.orphan_kernels[o0:])

    def replay(self, template: Template) -> None:
        """Append ``template``'s events as if recorded again here, under the current stages
        (with their own ids). Only at the top level (no operation open)."""
        if self._stack:
            raise RuntimeError("trace.replay: an operation is open; replays are top-level only")
        self._items.append(_Replay(template, "/".join(self._stages) or None, self._next_id))
        self._next_id += template.n_ids
        for k in template.orphans:
            self.orphan_kernels.append(KernelCall(k.kind, k.primes, k.n, k.src_primes, k.dst_primes, k.count))

    def summary(self) -> dict:
        """Top-level operation kinds, event count and kernel counts, without expanding replays."""
        kinds: Counter = Counter()
        n = 0
        kc = {k: 0 for k in KERNEL_KINDS}
        for item in self._items:
            if type(item) is _Replay:
                tk, tn, tc = item.template.stats()
                kinds.update(tk)
                n += tn
                for k, v in tc.items():
                    kc[k] += v
            else:
                kinds[item.kind] += 1
                for e in item.walk():
                    n += 1
                    for k in e.kernels:
                        kc[k.kind] += k.count
        return {"top_level_ops": dict(kinds), "events": n, "kernels": kc}

    # -- queries -----------------------------------------------------------------------
    def all_events(self) -> list[OpEvent]:
        """Every event, depth-first (parents before children)."""
        return [e for top in self.events for e in top.walk()]

    def kernel_counts(self, op: str | None = None, *, include_orphans: bool = False) -> dict[str, int]:
        """Kernel calls per kind, summed over outermost events (``op``: only events of that kind,
        counted inclusively of their children)."""
        if op is None:
            out = self.summary()["kernels"]
        else:
            out = {k: 0 for k in KERNEL_KINDS}
            for e in self.all_events():
                if e.kind == op:
                    for k, v in e.kernel_counts(True).items():
                        out[k] += v
        if include_orphans:
            for kc in self.orphan_kernels:
                out[kc.kind] += kc.count
        return out

    def kernel_rows(self, op: str | None = None) -> dict[str, int]:
        """Rows of ``n`` elements processed per kernel kind (sum of ``primes * count``)."""
        out = {k: 0 for k in KERNEL_KINDS}
        evs = self.events if op is None else [e for e in self.all_events() if e.kind == op]
        for e in evs:
            for kc in e.iter_kernels(True):
                out[kc.kind] += kc.rows
        return out

    def to_dataframe(self):
        """One row per event (nested included): own (``ntt``...) and inclusive
        (``ntt_total``...) kernel call counts and rows (``ntt_rows``...)."""
        import pandas as pd
        rows = []
        for e in self.all_events():
            own = e.kernel_counts(False)
            tot = e.kernel_counts(True)
            r = {"id": e.id, "parent": e.parent, "depth": e.depth, "kind": e.kind, "stage": e.stage,
                 "n": e.n, "primes_in": e.primes_in, "primes_out": e.primes_out,
                 "level_in": e.level_in, "level_out": e.level_out}
            for k in KERNEL_KINDS:
                r[k] = own[k]
            for k in KERNEL_KINDS:
                r[k + "_total"] = tot[k]
            for k in KERNEL_KINDS:
                r[k + "_rows"] = sum(kc.rows for kc in e.iter_kernels(True) if kc.kind == k)
            rows.append(r)
        return pd.DataFrame(rows, columns=None if rows else ["id", "parent", "depth", "kind", "stage"])

    def kernels_dataframe(self):
        """One row per kernel call: ``op_id, op_kind, stage, kind, primes, n, count,
        src_primes, dst_primes, has_data``."""
        import pandas as pd
        rows = []
        for e in self.all_events():
            for kc in e.kernels:
                d = kc.as_dict()
                d.update(op_kind=e.kind, stage=e.stage, has_data=kc.data is not None)
                rows.append(d)
        return pd.DataFrame(rows)

    def to_doc(self) -> dict:
        """The compact document (format ``fhesim-trace-2``, docs/trace-format.md): each
        distinct event shape once, then ``[shape, stage]`` per top-level event, in order.
        Replays are not expanded (their shapes are computed once per template). The document
        is cached while nothing new is recorded: treat it as read-only."""
        key = (len(self._items), self._next_id)
        if self._doc_cache is not None and self._doc_cache[0] == key and not self._stack:
            return self._doc_cache[1]
        doc = compact_doc(self._items, self.dry_run)
        if not self._stack:
            self._doc_cache = (key, doc)
        return doc

    def to_json(self, path: str | None = None, *, with_data: bool = False, version: int = 1) -> str:
        """JSON text of the trace, written to ``path`` if given (gzip-compressed when ``path``
        ends in ``.gz``). ``version=1``: nested events (``fhesim-trace-1``); ``version=2``:
        the compact form of :meth:`to_doc` (no kept data)."""
        if version == 2:
            if with_data:
                raise ValueError("trace.to_json: version 2 holds no kept data (use version=1)")
            text = json.dumps(self.to_doc(), separators=(",", ":"))
        elif version == 1:
            text = json.dumps(nested_doc(self.events, self.dry_run, with_data))
        else:
            raise ValueError(f"trace.to_json: unknown version {version} (1 or 2)")
        if path is not None:
            write_text(text, path)
        return text

    def kept(self) -> list[KernelCall]:
        """Kernel calls that carry kept data."""
        return [kc for e in self.all_events() for kc in e.kernels if kc.data is not None]


@contextmanager
def recording(dry_run: bool = False, keep: Keep | None = None) -> Iterator[Recorder]:
    """Record operations and kernel calls inside the block (see module docstring)."""
    rec = Recorder(dry_run=dry_run, keep=keep)
    context.push(rec, rec.dry_run)
    try:
        yield rec
    finally:
        context.pop(rec, rec.dry_run)


class _StageScope:
    __slots__ = ("label", "rec")

    def __init__(self, label: str):
        self.label = str(label)
        self.rec = None

    def __enter__(self) -> None:
        rec = self.rec = active()
        if rec is not None:
            rec._stages.append(self.label)

    def __exit__(self, *exc) -> bool:
        if self.rec is not None:
            self.rec._stages.pop()
        return False


def stage(label: str) -> _StageScope:
    """Label every event opened inside the block with ``label`` (nested labels join with '/');
    use as ``with trace.stage("conv1"):``."""
    return _StageScope(label)


class _NullScope:
    __slots__ = ()

    def set_out(self, **kw):  # noqa: D401 - same interface as OpEvent
        pass


_NULL = _NullScope()


class _OpScope:
    __slots__ = ("kind", "info", "rec", "ev")

    def __init__(self, kind: str, info: dict):
        self.kind, self.info, self.rec, self.ev = kind, info, None, None

    def __enter__(self) -> "OpEvent | _NullScope":
        rec = self.rec = active()
        if rec is None:
            return _NULL
        self.ev = rec._open(self.kind, self.info)
        return self.ev

    def __exit__(self, *exc) -> bool:
        if self.rec is not None:
            self.rec._close(self.ev)
        return False


def op(kind: str, **info: Any) -> _OpScope:
    """Open an operation scope (used by the CKKS layer): ``with trace.op("rotate", n=...) as ev``
    gives the event (or a no-op object when nothing is recording); call
    ``ev.set_out(primes=..., level=...)`` before leaving. ``kind`` must be declared
    (:data:`sw.trace.kinds.OP_KINDS`), else ``ValueError``, recording or not."""
    if kind not in OP_KINDS:
        check_op_kind(kind)
    return _OpScope(kind, info)


def report_kernel(kind: str, primes: int, n: int, *, count: int = 1, src_primes: int | None = None,
                  dst_primes: int | None = None, data: dict | None = None) -> None:
    """Report one kernel call to the active recorder (no-op when none). Used by the funnel."""
    recs = _RECORDERS.get()
    if not recs:
        return
    rec = recs[-1]
    kc = KernelCall(kind, int(primes), int(n), src_primes, dst_primes, int(count), None, data)
    stack = rec._stack
    if stack:
        top = stack[-1]
        kc.op_id = top.id
        top.kernels.append(kc)
    else:
        rec.orphan_kernels.append(kc)


def wants_data(kind: str) -> bool:
    """True when the active recorder wants the data of the next ``kind`` kernel call."""
    recs = _RECORDERS.get()
    if not recs:
        return False
    rec = recs[-1]
    return rec.keep is not None and rec.wants_data(kind)
