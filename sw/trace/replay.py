"""Dry-run replay: a sub-trace recorded once and replayed wherever its call recurs.

A call whose events depend only on a few inputs (a layer of a network at a given level, a
bootstrap) is recorded once as a :class:`Template`; :class:`Replayer` replays it where the
call recurs. The recorder stores a reference to the template with the current stage labels
(:class:`_Replay`) and expands it only when ``rec.events`` is read: the result is the same
trace as recording every call (same events, stages, ids, kernel calls).
"""
from __future__ import annotations

from collections import Counter
from typing import Any, Callable, Hashable

from .context import active, is_dry_run
from .events import KernelCall, OpEvent, join_stages
from .kinds import KERNEL_KINDS

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
                    out[ev.stage] = join_stages(new, t.suffix(ev.stage))
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
