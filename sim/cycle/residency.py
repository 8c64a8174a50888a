"""On-chip residency of keys and plaintexts over a whole workload, under a stated policy.

The accelerator's data memory holds items (evaluation keys, plaintexts) across operations,
so that an item read from off-chip memory once is reused by later operations while it stays
resident. :func:`simulate` replays the sequence of item accesses of a workload (every key
use and plaintext use, in trace order) against a capacity that may change from one
operation to the next (the bytes the operation's ciphertexts leave free) and returns the
bytes each access loads from off-chip memory.

Policies (``AcceleratorConfig.policy``):

* ``"lru"``: least recently used out. A missed item is loaded and kept if it fits the
  capacity at all, evicting least recently used items until it fits.
* ``"min"``: Belady's offline rule (MIN): evict the resident item whose next use is
  farthest in the future; a missed item whose own next use is farther than that of every
  item that would have to make room for it is not kept (bypass). With items of one size
  this is the optimum (fewest misses); with items of different sizes it is Belady's rule
  applied to bytes, a bound that a real controller does not beat in practice. It needs
  the future, so it is a bound beside the design's policy, not a policy a design runs.

Rules common to both:

* an access whose item has no identity (``None``) cannot be reused: it is streamed (loaded
  in full, never kept);
* a resident item smaller than the access (a key at a higher level has more limbs) is a
  miss: the item is loaded again at the new size;
* an item larger than the capacity is streamed through the memory, which it flushes;
* when the capacity shrinks below what is held (an operation with larger ciphertexts,
  whether or not it accesses items itself), items are evicted in the policy's order down
  to the smallest capacity met since the previous access.

The loops are plain Python over integers (about 0.3 s per 100k accesses); the next-use
indices of MIN are computed once per sequence.
"""
from __future__ import annotations

import heapq
from collections import OrderedDict
from typing import Hashable, Sequence

import numpy as np

#: The policies :func:`simulate` runs (``"min"`` is the offline bound).
POLICIES = ("lru", "min")
_NEVER = 1 << 62


def next_uses(names: Sequence[Hashable | None]) -> list[int]:
    """For each access, the index of the next access of the same item (a large number if
    none, or if the item has no identity)."""
    out = [_NEVER] * len(names)
    seen: dict = {}
    for j in range(len(names) - 1, -1, -1):
        name = names[j]
        if name is None:
            continue
        out[j] = seen.get(name, _NEVER)
        seen[name] = j
    return out


def simulate(names: Sequence[Hashable | None], sizes: Sequence[int], op_of: Sequence[int],
             capacity: Sequence[int], policy: str) -> np.ndarray:
    """Bytes loaded from off-chip memory by each access.

    Parameters
    ----------
    names : sequence of hashable or None
        The item of each access, in execution order (``None``: no identity, streamed).
    sizes : sequence of int
        Bytes of each access's item.
    op_of : sequence of int
        The operation of each access (non-decreasing).
    capacity : sequence of int
        Bytes available to items during each operation (indexed by operation).
    policy : {"lru", "min"}
        See the module docstring.

    Returns
    -------
    numpy.ndarray of int64
        Loaded bytes per access (0 for a hit).
    """
    if policy not in POLICIES:
        raise ValueError(f"residency policy must be one of {POLICIES}, got {policy!r}")
    names, sizes, op_of = list(names), [int(s) for s in sizes], [int(o) for o in op_of]
    cap = [int(c) for c in capacity]
    floor = _floors(op_of, capacity)
    if policy == "lru":
        return np.asarray(_lru(names, sizes, op_of, cap, floor), dtype=np.int64)
    return np.asarray(_min(names, sizes, op_of, cap, floor, next_uses(names)), dtype=np.int64)


def _floors(op_of: list[int], capacity) -> dict[int, int]:
    """For each operation with accesses, the smallest capacity since the previous such
    operation (inclusive of itself): operations without accesses shrink the memory too."""
    if not op_of:
        return {}
    cap = np.maximum(np.asarray(capacity, dtype=np.int64), 0)
    uops = np.unique(np.asarray(op_of, dtype=np.int64))
    starts = np.concatenate([[0], uops[:-1] + 1])
    mins = np.minimum.reduceat(cap[: uops[-1] + 1], starts)
    return dict(zip(uops.tolist(), mins.tolist()))


def _lru(names, sizes, op_of, cap, floor) -> list[int]:
    entries: OrderedDict = OrderedDict()
    used = 0
    out = [0] * len(names)
    last_op = -1
    for j, name in enumerate(names):
        size, op = sizes[j], op_of[j]
        c = cap[op] if cap[op] > 0 else 0
        if op != last_op:
            last_op = op
            while entries and used > floor[op]:
                used -= entries.popitem(last=False)[1]
        if name is None:
            out[j] = size
            continue
        have = entries.get(name)
        if have is not None and have >= size:
            entries.move_to_end(name)
            continue
        if have is not None:
            used -= entries.pop(name)
        out[j] = size
        if size > c:                    # passes through the whole memory: flushes it
            entries.clear()
            used = 0
            continue
        while entries and used + size > c:
            used -= entries.popitem(last=False)[1]
        entries[name] = size
        used += size
    return out


class _Farthest:
    """Resident items keyed by next use, farthest first (a heap with lazy deletion)."""

    def __init__(self):
        self.items: dict = {}          # name -> (size, next use)
        self.heap: list = []
        self.used = 0

    def put(self, name, size: int, nxt: int) -> None:
        old = self.items.get(name)
        if old is not None:
            self.used -= old[0]
        self.items[name] = (size, nxt)
        self.used += size
        heapq.heappush(self.heap, (-nxt, id(name), name))

    def drop(self, name) -> None:
        size, _ = self.items.pop(name)
        self.used -= size

    def pop_farthest(self):
        """``(name, size, next use)`` of the farthest valid entry, removed from the heap only."""
        while self.heap:
            neg, _, name = heapq.heappop(self.heap)
            ent = self.items.get(name)
            if ent is not None and ent[1] == -neg:
                return name, ent[0], ent[1]
        return None

    def shrink(self, limit: int) -> None:
        while self.items and self.used > limit:
            name, _, _ = self.pop_farthest()
            self.drop(name)


def _min(names, sizes, op_of, cap, floor, nxt) -> list[int]:
    res = _Farthest()
    out = [0] * len(names)
    last_op = -1
    for j, name in enumerate(names):
        size, op = sizes[j], op_of[j]
        c = cap[op] if cap[op] > 0 else 0
        if op != last_op:
            last_op = op
            res.shrink(floor[op])
        if name is None:
            out[j] = size
            continue
        ent = res.items.get(name)
        if ent is not None and ent[0] >= size:
            res.put(name, ent[0], nxt[j])
            continue
        if ent is not None:
            res.drop(name)
        out[j] = size
        if size > c:
            res.shrink(0)
            continue
        _admit(res, name, size, nxt[j], c)
    return out


def _admit(res: _Farthest, name, size: int, nxt: int, c: int) -> None:
    """Keep ``name`` if the items that must make room are all used later than it (MIN)."""
    victims = []
    freed = 0
    need = res.used + size - c
    while freed < need:
        top = res.pop_farthest()
        if top is None or top[2] < nxt:
            if top is not None:
                victims.append(top)
            for v_name, _, v_next in victims:          # bypass: put the candidates back
                heapq.heappush(res.heap, (-v_next, id(v_name), v_name))
            return
        victims.append(top)
        freed += top[1]
    for v_name, _, _ in victims:
        res.drop(v_name)
    res.put(name, size, nxt)
