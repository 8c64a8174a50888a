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

Replay (dry run only): a sub-trace whose shape depends only on a few inputs (a layer of a
network at a given level, a bootstrap) can be recorded once and replayed wherever it occurs
again (:class:`Replayer`): the recorder stores a reference to the recorded events and the
current stage labels, and expands them only when ``rec.events`` is read. The result is the
same trace as recording every call (same events, stages, ids, kernel calls).

Files: ``rec.to_json()`` writes format ``fhesim-trace-1`` (nested events); ``rec.to_json(
version=2)`` / :meth:`Recorder.to_doc` write ``fhesim-trace-2``, the compact form (each
distinct event shape once, then one ``[shape, stage]`` pair per top-level event);
:func:`load` reads either (``.gz`` too) and :func:`events_v1` expands a document into the
nested events of version 1. Format: ``docs/trace-format.md``.

Recording is process-global and not thread-safe (one recorder active at a time; nested
``recording`` blocks stack, the innermost receives the events).
"""
from __future__ import annotations

import gzip
import json
from collections import Counter
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Hashable, Iterator

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


@dataclass(slots=True)
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


@dataclass(slots=True)
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


class Template:
    """Top-level events recorded by one call, replayable elsewhere (see :class:`Replayer`).

    ``events``: the recorded top-level events (the originals, which stay in the recorder);
    ``prefix``: the stage (labels joined with '/') active when they were recorded (replays
    substitute their own); ``first_id`` / ``n_ids``: the contiguous range of event ids they use (preorder);
    ``orphans``: kernel calls made outside any operation during the call.
    """

    __slots__ = ("events", "prefix", "first_id", "n_ids", "orphans", "_sig", "_suffix", "_counts")

    def __init__(self, events, prefix, first_id, n_ids, orphans):
        self.events: tuple[OpEvent, ...] = tuple(events)
        self.prefix: str | None = prefix or None
        self.first_id = int(first_id)
        self.n_ids = int(n_ids)
        self.orphans: tuple[KernelCall, ...] = tuple(orphans)
        self._sig = None
        self._suffix: dict | None = None
        self._counts = None

    def suffix(self, stage: str | None) -> str | None:
        """The part of ``stage`` below the template's prefix (None: the prefix itself)."""
        if self._suffix is None:
            self._suffix = {}
        if stage in self._suffix:
            return self._suffix[stage]
        pre = self.prefix
        if pre is None:
            s = stage or None
        elif stage == pre:
            s = None
        elif stage is not None and stage.startswith(pre + "/"):
            s = stage[len(pre) + 1:]
        else:
            raise ValueError(f"trace: stage {stage!r} is not below the template prefix {pre!r}")
        self._suffix[stage] = s
        return s

    def signature(self) -> tuple:
        """Hashable shape of the events (kinds, sizes, levels, info, kernels, relative stages)."""
        if self._sig is None:
            def sig(ev):
                return (ev.kind, self.suffix(ev.stage), ev.n, ev.primes_in, ev.primes_out, ev.level_in,
                        ev.level_out, repr(sorted(ev.info.items())),
                        tuple((k.kind, k.primes, k.n, k.count, k.src_primes, k.dst_primes) for k in ev.kernels),
                        tuple(sig(c) for c in ev.children))
            self._sig = (tuple(sig(e) for e in self.events),
                         tuple((k.kind, k.primes, k.n, k.count, k.src_primes, k.dst_primes) for k in self.orphans))
        return self._sig

    def stats(self) -> tuple[Counter, int, dict[str, int]]:
        """``(top-level kinds, events, kernel counts)`` of one occurrence."""
        if self._counts is None:
            kinds = Counter(e.kind for e in self.events)
            kc = {k: 0 for k in KERNEL_KINDS}
            for e in self.events:
                for k, v in e.kernel_counts(True).items():
                    kc[k] += v
            self._counts = (kinds, self.n_ids, kc)
        return self._counts


class _Replay:
    """A replayed template in a recorder's top-level sequence (expanded lazily)."""

    __slots__ = ("template", "stages", "id_base")

    def __init__(self, template: Template, stages: str | None, id_base: int):
        self.template, self.stages, self.id_base = template, stages, id_base

    def stage_map(self) -> dict:
        t, new = self.template, self.stages
        out = {}
        for e in self.template.events:
            for ev in e.walk():
                if ev.stage not in out:
                    out[ev.stage] = _join(new, t.suffix(ev.stage))
        return out

    def expand(self) -> list[OpEvent]:
        smap = self.stage_map()
        delta = self.id_base - self.template.first_id

        def clone(ev: OpEvent, parent: int | None) -> OpEvent:
            nid = ev.id + delta
            new = OpEvent(id=nid, kind=ev.kind, parent=parent, depth=ev.depth, stage=smap[ev.stage], n=ev.n,
                          primes_in=ev.primes_in, primes_out=ev.primes_out, level_in=ev.level_in,
                          level_out=ev.level_out, info=dict(ev.info))
            new.kernels = [KernelCall(k.kind, k.primes, k.n, k.src_primes, k.dst_primes, k.count, nid)
                           for k in ev.kernels]
            new.children = [clone(c, nid) for c in ev.children]
            return new

        return [clone(e, None) for e in self.template.events]


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
        shapes: list[dict] = []
        shape_ix: dict[str, int] = {}
        stages: list[str | None] = []
        stage_ix: dict = {}
        seq: list[list[int]] = []

        def intern_shape(ev: OpEvent) -> int:
            d = _shape_dict(ev, ev.stage)
            key = json.dumps(d, separators=(",", ":"))
            i = shape_ix.get(key)
            if i is None:
                i = shape_ix[key] = len(shapes)
                shapes.append(d)
            return i

        def intern_stage(s: str | None) -> int:
            i = stage_ix.get(s)
            if i is None:
                i = stage_ix[s] = len(stages)
                stages.append(s)
            return i

        per_template: dict[int, list] = {}
        for item in self._items:
            if type(item) is _Replay:
                t = item.template
                lst = per_template.get(id(t))
                if lst is None:
                    lst = per_template[id(t)] = [(intern_shape(e), t.suffix(e.stage)) for e in t.events]
                for shape, suf in lst:
                    seq.append([shape, intern_stage(_join(item.stages, suf))])
            else:
                seq.append([intern_shape(item), intern_stage(item.stage)])
        doc = {"format": FORMAT_V2, "dry_run": self.dry_run, "kernel_fields": list(_KFIELDS),
               "shapes": shapes, "stages": stages, "events": seq}
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
            doc = self.to_doc()
            text = json.dumps(doc, separators=(",", ":"))
        elif version == 1:
            doc = {"format": FORMAT_V1, "dry_run": self.dry_run,
                   "events": [e.as_dict(with_data) for e in self.events]}
            text = json.dumps(doc)
        else:
            raise ValueError(f"trace.to_json: unknown version {version} (1 or 2)")
        if path is not None:
            if str(path).endswith(".gz"):
                with gzip.open(path, "wt", compresslevel=6) as f:
                    f.write(text)
            else:
                with open(path, "w") as f:
                    f.write(text)
        return text

    def kept(self) -> list[KernelCall]:
        """Kernel calls that carry kept data."""
        return [kc for e in self.all_events() for kc in e.kernels if kc.data is not None]


FORMAT_V1 = "fhesim-trace-1"
FORMAT_V2 = "fhesim-trace-2"
#: Field order of a kernel call in a version-2 shape.
_KFIELDS = ("kind", "primes", "n", "count", "src_primes", "dst_primes")


def _join(a: str | None, b: str | None) -> str | None:
    return f"{a}/{b}" if a and b else (a or b or None)


def _shape_dict(ev: OpEvent, top_stage: str | None, is_top: bool = True) -> dict:
    """Version-2 shape of ``ev`` (ids, parents, depths implicit; stages relative to the
    top-level event's own stage ``top_stage``)."""
    d: dict = {"kind": ev.kind}
    for k in ("n", "primes_in", "primes_out", "level_in", "level_out"):
        v = getattr(ev, k)
        if v is not None:
            d[k] = v
    if ev.info:
        d["info"] = ev.info
    if not is_top and ev.stage != top_stage:
        pre = (top_stage + "/") if top_stage else ""
        if ev.stage and ev.stage.startswith(pre):
            d["stage"] = ev.stage[len(pre):]
        else:
            d["stage_abs"] = ev.stage
    if ev.kernels:
        d["kernels"] = [[k.kind, k.primes, k.n, k.count, k.src_primes, k.dst_primes] for k in ev.kernels]
    if ev.children:
        d["children"] = [_shape_dict(c, top_stage, False) for c in ev.children]
    return d


def load(source) -> dict:
    """A trace document from a path (``.json`` or ``.json.gz``), JSON text, or a parsed
    document; checks ``format`` (``fhesim-trace-1`` or ``fhesim-trace-2``)."""
    doc = source
    if isinstance(doc, Path) or (isinstance(doc, str) and not doc.lstrip().startswith(("[", "{"))):
        p = Path(doc)
        with (gzip.open(p, "rt") if p.suffix == ".gz" else open(p)) as f:
            doc = json.load(f)
    elif isinstance(doc, (str, bytes)):
        doc = json.loads(doc)
    if isinstance(doc, list):      # a bare list of version-1 events
        return {"format": FORMAT_V1, "events": doc}
    if not isinstance(doc, dict):
        raise ValueError(f"op trace: expected a JSON object, got {type(doc).__name__}")
    fmt = doc.get("format", FORMAT_V1 if "events" in doc else None)
    if fmt not in (FORMAT_V1, FORMAT_V2):
        raise ValueError(f"op trace: unknown format {fmt!r} (expected {FORMAT_V1} or {FORMAT_V2})")
    return doc


def shape_events(shape: dict, top_stage: str | None, id_base: int, kernel_fields=_KFIELDS) -> tuple[dict, int]:
    """Version-1 event dict of a version-2 ``shape`` placed at stage ``top_stage`` with first
    id ``id_base``; returns ``(event, number of events)``."""
    counter = [id_base]
    kf = tuple(kernel_fields)

    def build(s: dict, parent, depth) -> dict:
        eid = counter[0]
        counter[0] += 1
        if depth == 0:
            stage = top_stage
        elif "stage_abs" in s:
            stage = s["stage_abs"]
        elif "stage" in s:
            stage = _join(top_stage, s["stage"])
        else:
            stage = top_stage
        ev = {"id": eid, "kind": s["kind"], "parent": parent, "depth": depth, "stage": stage,
              "n": s.get("n"), "primes_in": s.get("primes_in"), "primes_out": s.get("primes_out"),
              "level_in": s.get("level_in"), "level_out": s.get("level_out"), "info": s.get("info", {})}
        ev["kernels"] = [dict(zip(kf, k), op_id=eid) for k in s.get("kernels", ())]
        ev["children"] = [build(c, eid, depth + 1) for c in s.get("children", ())]
        return ev

    ev = build(shape, None, 0)
    return ev, counter[0] - id_base


def shape_size(shape: dict) -> int:
    """Number of events in a version-2 shape (itself and all nested children)."""
    return 1 + sum(shape_size(c) for c in shape.get("children", ()))


def events_v1(source) -> list[dict]:
    """The nested version-1 events of any trace document (see :func:`load`); a malformed
    document raises ``ValueError``."""
    doc = load(source)
    if doc["format"] == FORMAT_V1:
        return doc["events"]
    try:
        shapes, stages = doc["shapes"], doc["stages"]
        kf = doc.get("kernel_fields", _KFIELDS)
        out, nid = [], 0
        for s, st in doc["events"]:
            ev, k = shape_events(shapes[s], stages[st], nid, kf)
            out.append(ev)
            nid += k
    except (KeyError, TypeError, IndexError, AttributeError, RecursionError) as e:
        raise ValueError(f"op trace: malformed {FORMAT_V2} document ({type(e).__name__}: {e})") from None
    return out


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
    ``ev.set_out(primes=..., level=...)`` before leaving."""
    return _OpScope(kind, info)


def report_kernel(kind: str, primes: int, n: int, *, count: int = 1, src_primes: int | None = None,
                  dst_primes: int | None = None, data: dict | None = None) -> None:
    """Report one kernel call to the active recorder (no-op when none). Used by the funnel."""
    if not _RECORDERS:
        return
    rec = _RECORDERS[-1]
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
    if not _RECORDERS:
        return False
    rec = _RECORDERS[-1]
    return rec.keep is not None and rec.wants_data(kind)


class Replayer:
    """Records a dry-run call once per key and replays its events wherever the key recurs.

    ``call(key, fn, *args)`` runs ``fn(*args)`` normally unless a dry-run recorder is active,
    no operation is open and ``key`` is not None. Then the events ``fn`` records are kept as
    a :class:`Template` with its result; once ``confirm`` consecutive recordings of the same
    key gave the same events (:meth:`Template.signature`) and the same result signature
    (``result_sig``), later calls with that key do not run ``fn``: the recorder replays the
    template under the current stage labels and ``copy_result(result)`` is returned.

    The key must determine everything the call records and returns (the caller's contract);
    ``confirm = 2`` guards against calls whose first run differs (warm-up caches). Counters:
    ``hits``, ``misses``.
    """

    def __init__(self, *, confirm: int = 2, result_sig: Callable[[Any], Hashable] | None = None,
                 copy_result: Callable[[Any], Any] | None = None):
        self.confirm = max(1, int(confirm))
        self.result_sig = result_sig or (lambda r: None)
        self.copy_result = copy_result or (lambda r: r)
        self._memo: dict = {}
        self.hits = self.misses = 0

    def call(self, key: Hashable | None, fn: Callable, *args, **kwargs):
        rec = active()
        if key is None or rec is None or not is_dry_run() or rec._stack:
            return fn(*args, **kwargs)
        ent = self._memo.get(key)
        if ent is not None and ent[2] >= self.confirm:
            self.hits += 1
            rec.replay(ent[0])
            return self.copy_result(ent[1])
        self.misses += 1
        m = rec.mark()
        out = fn(*args, **kwargs)
        tpl = rec.capture(m)
        if tpl is None:
            return out
        rsig = self.result_sig(out)
        if ent is not None and ent[3] == rsig and ent[0].signature() == tpl.signature():
            self._memo[key] = (ent[0], ent[1], ent[2] + 1, rsig)
        else:
            self._memo[key] = (tpl, out, 1, rsig)
        return out
