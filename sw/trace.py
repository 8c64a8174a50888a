"""Operation trace: the seam between the software path and the cycle model.

One :class:`OpEvent` per homomorphic operation (``add``, ``pmult``, ``cmult``, ``relin``,
``rescale``, ``rotate``, ``conjugate``, ``keyswitch``, ...), nested as the operations nest
(a ``rotate`` contains a ``keyswitch``, which contains a ``modup`` and a ``moddown``). Each
event lists the kernel calls made directly inside it (:class:`KernelCall`: ``ntt``,
``intt``, ``bconv``, ``modmul``, ``modadd``, ``automorphism``) with their sizes in rows
(primes) of ``n`` coefficients. Kernel calls are reported by the ring layer's kernel funnel
(:mod:`sw.ring.kernels`) as they happen, so counts are measured, not estimated.

Usage::

    from sw import trace
    with trace.recording() as rec:
        with trace.stage("bootstrap/cts"):
            ...
    rec.to_dataframe(); rec.kernels_dataframe(); rec.to_json()

Dry run: ``trace.recording(dry_run=True)`` makes every kernel funnel skip its arithmetic
(shape-only polynomials, ``data is None``) while still recording, so that large programs
at ``N = 2^16`` can be traced in seconds.

Data capture: ``keep=Keep(op="rotate", kernels=("ntt",), first=1)`` keeps copies of the
integer inputs and outputs of the selected kernels (``KernelCall.data``) for replay on the
RTL.

Recording is process-global and not thread-safe (one recorder active at a time; nested
``recording`` blocks stack, the innermost receives the events).
"""
from __future__ import annotations

import json
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, Iterator

import numpy as np

KERNEL_KINDS = ("ntt", "intt", "bconv", "modmul", "modadd", "automorphism")


class DryRunError(ValueError):
    """A shape-only placeholder (dry run) was used where integer data is needed."""


@dataclass(frozen=True)
class Keep:
    """Selects kernel calls whose integer data is kept.

    Parameters
    ----------
    op : str or None
        Operation kind (``OpEvent.kind``) whose kernels are kept, at any nesting depth
        below it; ``None`` matches any outermost operation.
    kernels : tuple of str
        Kernel kinds to keep (subset of :data:`KERNEL_KINDS`).
    first : int
        Keep data only inside the first ``first`` events matching ``op`` (>= 1).
    """

    op: str | None = None
    kernels: tuple[str, ...] = ("ntt", "intt")
    first: int = 1

    def __post_init__(self):
        bad = [k for k in self.kernels if k not in KERNEL_KINDS]
        if bad:
            raise ValueError(f"trace.Keep: unknown kernel kinds {bad}; expected a subset of {KERNEL_KINDS}")
        if self.first < 1:
            raise ValueError(f"trace.Keep: first={self.first} must be >= 1")


@dataclass
class KernelCall:
    """One call of a ring-layer kernel.

    Attributes
    ----------
    kind : one of :data:`KERNEL_KINDS`.
    primes : number of rows (RNS primes) processed; for ``bconv`` the target count.
    n : ring degree (coefficients per row).
    src_primes, dst_primes : for ``bconv``: source and target prime counts (else None).
    count : how many elementwise operations of this kind the call stands for, in rows
        (``modmul`` of a fused inner product over ``d`` digits reports ``primes * d``).
    op_id : id of the innermost enclosing :class:`OpEvent` (None outside any op).
    data : kept data (``{"primes": tuple, "input": ndarray, "output": ndarray}``) or None.
        ``modmul`` data also carry ``"form"`` (``"mul"``, ``"mulconst"`` or ``"submulconst"``)
        and the further operands: ``"input_b"`` (ndarray; ``mul``: the second factor,
        ``submulconst``: the subtrahend of ``(input - input_b) * consts``) and/or
        ``"consts"`` (tuple, one constant per prime, reduced mod q). The fused key-switching
        inner product (count ``2 * digits``) keeps its per-digit products as one ``"mul"`` of
        ``2 * digits * primes`` data rows (``"primes"`` repeats the basis per product) plus
        ``"ks_sum"`` (its fused result, shape (2, primes, n)) and ``"ks_digits"``; the call's
        ``primes`` and ``count`` (what the op trace counts) are unchanged.
    """

    kind: str
    primes: int
    n: int
    src_primes: int | None = None
    dst_primes: int | None = None
    count: int = 1
    op_id: int | None = None
    data: dict | None = None

    @property
    def rows(self) -> int:
        """Rows of ``n`` elements processed (``primes * count``)."""
        return self.primes * self.count

    def as_dict(self, with_data: bool = False) -> dict:
        d = {"kind": self.kind, "primes": self.primes, "n": self.n, "count": self.count,
             "src_primes": self.src_primes, "dst_primes": self.dst_primes, "op_id": self.op_id}
        if with_data and self.data is not None:
            d["data"] = {k: (v.tolist() if isinstance(v, np.ndarray) else list(v) if isinstance(v, tuple) else v)
                         for k, v in self.data.items()}
        return d


@dataclass
class OpEvent:
    """One homomorphic operation (see module docstring)."""

    id: int
    kind: str
    parent: int | None = None
    depth: int = 0
    stage: str | None = None
    n: int | None = None
    primes_in: int | None = None
    primes_out: int | None = None
    level_in: int | None = None
    level_out: int | None = None
    info: dict = field(default_factory=dict)
    kernels: list[KernelCall] = field(default_factory=list)
    children: list["OpEvent"] = field(default_factory=list)
    keep_data: bool = False

    def set_out(self, *, primes: int | None = None, level: int | None = None) -> None:
        """Record the output size of the operation."""
        if primes is not None:
            self.primes_out = primes
        if level is not None:
            self.level_out = level

    def kernel_counts(self, inclusive: bool = True) -> dict[str, int]:
        """Number of kernel calls per kind (``inclusive``: including nested operations)."""
        out = {k: 0 for k in KERNEL_KINDS}
        for kc in self.iter_kernels(inclusive):
            out[kc.kind] += kc.count
        return out

    def iter_kernels(self, inclusive: bool = True) -> Iterator[KernelCall]:
        yield from self.kernels
        if inclusive:
            for c in self.children:
                yield from c.iter_kernels(True)

    def walk(self) -> Iterator["OpEvent"]:
        yield self
        for c in self.children:
            yield from c.walk()

    def as_dict(self, with_data: bool = False) -> dict:
        return {"id": self.id, "kind": self.kind, "parent": self.parent, "depth": self.depth,
                "stage": self.stage, "n": self.n, "primes_in": self.primes_in,
                "primes_out": self.primes_out, "level_in": self.level_in,
                "level_out": self.level_out, "info": self.info,
                "kernels": [k.as_dict(with_data) for k in self.kernels],
                "children": [c.as_dict(with_data) for c in self.children]}


class Recorder:
    """Collects :class:`OpEvent` trees; created by :func:`recording`."""

    def __init__(self, dry_run: bool = False, keep: Keep | None = None):
        self.dry_run = bool(dry_run)
        self.keep = None if dry_run else keep
        self.events: list[OpEvent] = []          # outermost events, in order
        self.orphan_kernels: list[KernelCall] = []  # kernels outside any op (key generation...)
        self._stack: list[OpEvent] = []
        self._stages: list[str] = []
        self._next_id = 0
        self._keep_matched = 0

    # -- recording ---------------------------------------------------------------------
    def _open(self, kind: str, info: dict) -> OpEvent:
        parent = self._stack[-1] if self._stack else None
        ev = OpEvent(id=self._next_id, kind=kind, parent=None if parent is None else parent.id,
                     depth=len(self._stack), stage="/".join(self._stages) or None,
                     n=info.pop("n", None), primes_in=info.pop("primes_in", None),
                     primes_out=info.pop("primes_out", None), level_in=info.pop("level_in", None),
                     level_out=info.pop("level_out", None), info=info)
        self._next_id += 1
        if parent is not None and parent.keep_data:
            ev.keep_data = True
        elif self.keep is not None and self._keep_matched < self.keep.first and (
                (self.keep.op is None and parent is None) or self.keep.op == kind):
            ev.keep_data = True
            self._keep_matched += 1
        (parent.children if parent is not None else self.events).append(ev)
        self._stack.append(ev)
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
            kc.op_id = self._stack[-1].id
            self._stack[-1].kernels.append(kc)
        else:
            self.orphan_kernels.append(kc)

    # -- queries -----------------------------------------------------------------------
    def all_events(self) -> list[OpEvent]:
        """Every event, depth-first (parents before children)."""
        return [e for top in self.events for e in top.walk()]

    def kernel_counts(self, op: str | None = None, *, include_orphans: bool = False) -> dict[str, int]:
        """Kernel calls per kind, summed over outermost events (``op``: only events of that kind,
        counted inclusively of their children)."""
        out = {k: 0 for k in KERNEL_KINDS}
        evs = self.events if op is None else [e for e in self.all_events() if e.kind == op]
        for e in evs:
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

    def to_json(self, path: str | None = None, *, with_data: bool = False) -> str:
        """JSON text of the trace (events with nested children); written to ``path`` if given."""
        doc = {"format": "fhesim-trace-1", "dry_run": self.dry_run,
               "events": [e.as_dict(with_data) for e in self.events]}
        text = json.dumps(doc)
        if path is not None:
            with open(path, "w") as f:
                f.write(text)
        return text

    def kept(self) -> list[KernelCall]:
        """Kernel calls that carry kept data."""
        return [kc for e in self.all_events() for kc in e.kernels if kc.data is not None]


_RECORDERS: list[Recorder] = []
_DRY_DEPTH = [0]


def active() -> Recorder | None:
    """The innermost active recorder, or None."""
    return _RECORDERS[-1] if _RECORDERS else None


def is_dry_run() -> bool:
    """True inside a ``recording(dry_run=True)`` block."""
    return _DRY_DEPTH[0] > 0


@contextmanager
def recording(dry_run: bool = False, keep: Keep | None = None) -> Iterator[Recorder]:
    """Record operations and kernel calls inside the block (see module docstring)."""
    rec = Recorder(dry_run=dry_run, keep=keep)
    _RECORDERS.append(rec)
    if dry_run:
        _DRY_DEPTH[0] += 1
    try:
        yield rec
    finally:
        if dry_run:
            _DRY_DEPTH[0] -= 1
        _RECORDERS.remove(rec)


@contextmanager
def stage(label: str) -> Iterator[None]:
    """Label every event opened inside the block with ``label`` (nested labels join with '/')."""
    rec = active()
    if rec is None:
        yield
        return
    rec._stages.append(str(label))
    try:
        yield
    finally:
        rec._stages.pop()


class _NullScope:
    __slots__ = ()

    def set_out(self, **kw):  # noqa: D401 - same interface as OpEvent
        pass


_NULL = _NullScope()


@contextmanager
def op(kind: str, **info: Any) -> Iterator[OpEvent | _NullScope]:
    """Open an operation scope (used by the CKKS layer). Yields the event (or a no-op object
    when nothing is recording); call ``.set_out(primes=..., level=...)`` before leaving."""
    rec = active()
    if rec is None:
        yield _NULL
        return
    ev = rec._open(kind, dict(info))
    try:
        yield ev
    finally:
        rec._close(ev)


def report_kernel(kind: str, primes: int, n: int, *, count: int = 1, src_primes: int | None = None,
                  dst_primes: int | None = None, data: dict | None = None) -> None:
    """Report one kernel call to the active recorder (no-op when none). Used by the funnel."""
    rec = active()
    if rec is None:
        return
    rec.add_kernel(KernelCall(kind=kind, primes=int(primes), n=int(n), count=int(count),
                              src_primes=src_primes, dst_primes=dst_primes, data=data))


def wants_data(kind: str) -> bool:
    """True when the active recorder wants the data of the next ``kind`` kernel call."""
    rec = active()
    return rec is not None and rec.wants_data(kind)
