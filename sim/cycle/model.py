"""The cycle model: kernel costs -> operations -> labels (layers) -> total, with data movement.

Rules (documented in ``docs/accelerator-config.md``, "Cycle model"):

Compute (``cfg.execution``; costs from :mod:`sim.cycle.units`).

* ``"serial"`` (default): the kernel calls of one operation run one after the other (each
  depends on the previous one's result). ``compute = sum(occupancy)``.
* ``"pipelined"``: the unit kinds of the accelerator work concurrently on different limbs
  of the same operation (units chained or fused, as in the published ASICs), so the
  operation's compute is bounded by its busiest unit::

      compute = max over units u of sum(occupancy of the calls that run on u)

  The calls on that unit (the first in ``UNIT_KINDS`` order on a tie) are the operation's
  exposed compute; the other calls are hidden behind them (``exposed = 0``).

Either way ``fill = sum(fill)`` (a chain of units pays every unit's pipeline latency once)
and every kernel row has ``exposed`` occupancy, with ``sum(exposed) = compute`` per
operation; a kernel row's ``cycles`` is ``exposed + fill``, so kernel rows and memory stall
add up to the total exactly.

Data movement. Residues are packed: ``w`` words are ``ceil(w * word_bits / 8)`` bytes.

* ciphertexts: ``(ct_in_polys * primes_in + ct_out_polys * primes_out) * n`` words. They
  stay on chip when that working set fits in the data capacity
  (:attr:`AcceleratorConfig.data_capacity_bytes`: ``on_chip_bytes``, less the NTT units'
  RAM on an FPGA); otherwise the op reads its
  inputs from and writes its outputs to off-chip memory;
* plaintext operands (``cfg.plaintexts``): ``"offchip"``: ``pt_polys * primes_in * n``
  words, always read from off-chip memory (weights are used once). ``"generated"``
  (runtime data generation, ARK): one limb per plaintext polynomial is read
  (``pt_polys * n`` words) and the other limbs are produced on chip, one NTT per limb of
  the level: an extra ``ptgen`` kernel of ``pt_polys * primes_in`` rows on the NTT units;
* evaluation keys: ``digits * 2 * (primes + special) * n`` words per key switch, or half of
  that when ``cfg.evk_a_generated`` (the ``a`` halves come from an on-chip PRNG seed; only
  the ``b`` halves are read and held on chip). Keys are cached on chip, least recently
  used first out, in the capacity left after the ciphertexts that stay on chip; a key that
  is not resident (or whose identity is unknown) is read in full.

Overlap (``cfg.overlap``). ``transfer = ceil(bytes / bytes_per_cycle)``.

* ``"op"`` (default): transfers are double-buffered against compute within an operation,
  operations run one after another::

      cycles = max(compute, transfer) + fill

* ``"prefetch"``: in addition, an operation's transfers (keys, plaintexts, spilled
  ciphertexts) may start while the previous operation computes: one memory channel and one
  compute pipeline, two operand buffers (double buffering across operations). With
  ``Tend``/``Cend`` the end of operation ``i``'s transfer/compute (``-inf`` before the first)::

      Tstart[i] = max(Tend[i-1], Cend[i-2])      # channel free, and a buffer free
      Tend[i]   = Tstart[i] + transfer[i]
      Cstart[i] = max(Cend[i-1], Tstart[i])      # streams in as data arrives
      Cend[i]   = max(Cstart[i] + compute[i], Tend[i]) + fill[i]
      cycles[i] = Cend[i] - Cend[i-1]

  When nothing is prefetched (``Tstart[i] = Cend[i-1]``) this is the ``"op"`` rule.

Either way ``cycles >= compute + fill``; ``stall_cycles = cycles - compute - fill`` is the
exposed memory time and ``bound = "memory"`` when it is positive. The total is the sum of
``cycles`` (the end of the last operation).

Ring degree: an operation with ``n > cfg.max_ring_degree`` raises :class:`ValueError`.

Limbs (``cfg.limbs``): every row count of the trace (ciphertexts, plaintexts, kernels, key
primes and special primes) is the trace's own with ``"trace"``; with ``"word"`` it is the
limbs its level groups need at ``word_bits`` (:class:`sim.cycle.chain.Chain`: each group
keeps words of its own, the special primes are packed), which needs the trace's modulus
chain (``Op.chain``, set by the workload registry); with ``"packed"``, or ``"word"`` for
ops that carry no chain (an op trace file: a note says so), ``ceil(p * 30 / word_bits)``.
Key digits are kept.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Iterable

from collections import OrderedDict

import numpy as np
import pandas as pd

from .cache import paused_gc
from .chain import packed_limbs
from .config import UNIT_KINDS, AcceleratorConfig
from .events import KERNEL_KINDS, Kernel, Op
from .residency import simulate
from .units import RTL_BACKED, UnitCosts

NOT_RTL_BACKED = tuple(k for k, v in RTL_BACKED.items() if not v)


class KeyCache:
    """Least-recently-used cache of evaluation keys (whole keys, sized in bytes)."""

    def __init__(self):
        self._entries: OrderedDict[str, int] = OrderedDict()

    @property
    def used(self) -> int:
        return sum(self._entries.values())

    def access(self, key: str | None, size: int, capacity: int) -> int:
        """Use ``key`` of ``size`` bytes with ``capacity`` bytes available; return bytes loaded."""
        if key is not None and self._entries.get(key, -1) >= size:
            self._entries.move_to_end(key)
            return 0
        if key is None:
            return size
        self._entries.pop(key, None)
        self.shrink(capacity - size)
        if size <= capacity:
            self._entries[key] = size
        return size

    def shrink(self, capacity: int) -> None:
        """Evict least recently used keys until at most ``capacity`` bytes are held."""
        while self._entries and self.used > max(capacity, 0):
            self._entries.popitem(last=False)


@dataclass
class Estimate:
    """The result of :func:`estimate`: DataFrames per kernel call and per operation."""

    config: AcceleratorConfig
    kernels: pd.DataFrame
    ops: pd.DataFrame
    notes: list[str] = field(default_factory=list)
    #: Totals of the same workload with the offline-optimal residency (Belady's MIN), the
    #: bound beside ``config.policy``: ``{"cycles", "seconds", "offchip_bytes", per class}``.
    min_bound: dict | None = None

    def energy(self) -> dict:
        """Energy of the workload: ``power_w x seconds`` (the design's stated average power;
        :mod:`sim.cycle.energy`). Raises :class:`ValueError` naming ``power_w`` when the
        configuration states no power."""
        from .energy import energy_of

        return energy_of(self.config, self.total_seconds)

    @property
    def total_cycles(self) -> int:
        return int(self.ops["cycles"].sum()) if len(self.ops) else 0

    @property
    def total_seconds(self) -> float:
        return self.total_cycles / self.config.clock_hz

    def by_label(self) -> pd.DataFrame:
        """Cycles, seconds, bytes and bound per label (stage / layer), in first-seen order."""
        return _group(self.ops, "label", self.config)

    def by_op(self) -> pd.DataFrame:
        """Totals per operation kind."""
        return _group(self.ops, "op", self.config)

    def by_kernel(self) -> pd.DataFrame:
        """Compute cycles per kernel kind, with its RTL backing: ``occupancy`` (busy cycles of
        its units), ``exposed`` (the part on the operations' critical unit; all of it when
        ``execution = "serial"``), ``fill``, and ``cycles = exposed + fill``."""
        if not len(self.kernels):
            return pd.DataFrame(columns=["kernel", "calls", "occupancy", "exposed", "fill",
                                         "cycles", "rtl_backed"])
        g = self.kernels.groupby("kernel", sort=False).agg(
            calls=("kernel", "size"), occupancy=("occupancy", "sum"), exposed=("exposed", "sum"),
            fill=("fill", "sum"), cycles=("cycles", "sum"),
            rtl_backed=("rtl_backed", "all")).reset_index()
        return g.sort_values("cycles", ascending=False, kind="stable").reset_index(drop=True)

    def total(self) -> dict:
        """The whole workload in one JSON-friendly dictionary."""
        ops = self.ops
        return {
            "config": self.config.name,
            "ops": int(len(ops)),
            "cycles": self.total_cycles,
            "seconds": self.total_seconds,
            "compute_cycles": int(ops["compute_cycles"].sum()) if len(ops) else 0,
            "serial_compute_cycles": int(ops["serial_compute_cycles"].sum()) if len(ops) else 0,
            "transfer_cycles": int(ops["transfer_cycles"].sum()) if len(ops) else 0,
            "fill_cycles": int(ops["fill_cycles"].sum()) if len(ops) else 0,
            "stall_cycles": int(ops["stall_cycles"].sum()) if len(ops) else 0,
            "overlap": self.config.overlap,
            "execution": self.config.execution,
            "offchip_bytes": int(ops["offchip_bytes"].sum()) if len(ops) else 0,
            "offchip_bytes_by_class": {c: int(ops[col].sum()) if len(ops) else 0
                                       for c, col in CLASS_COLUMNS.items()},
            "onchip_bytes": int(ops["onchip_bytes"].sum()) if len(ops) else 0,
            "policy": self.config.policy,
            "bound_classes": {c: int((ops["bound_class"] == c).sum()) if len(ops) else 0
                              for c in BOUND_CLASSES},
            "min_bound": self.min_bound,
            "energy": _energy_or_reason(self),
            "memory_bound_ops": int((ops["bound"] == "memory").sum()) if len(ops) else 0,
            "compute_bound_ops": int((ops["bound"] == "compute").sum()) if len(ops) else 0,
            "not_rtl_backed": sorted(set(self.kernels.loc[~self.kernels["rtl_backed"], "kernel"]))
            if len(self.kernels) else [],
        }


#: Off-chip byte classes and their per-operation columns.
CLASS_COLUMNS = {"keys": "key_offchip_bytes", "plaintexts": "pt_offchip_bytes",
                 "ciphertexts": "ct_offchip_bytes"}


def _energy_or_reason(est: "Estimate") -> dict:
    """:meth:`Estimate.energy`, or ``{"error": message}`` naming the missing field."""
    try:
        return est.energy()
    except ValueError as exc:
        return {"error": str(exc)}


def _group(ops: pd.DataFrame, key: str, cfg: AcceleratorConfig) -> pd.DataFrame:
    cols = ["count", "cycles", "seconds", "compute_cycles", "transfer_cycles", "fill_cycles",
            "offchip_bytes", "key_offchip_bytes", "pt_offchip_bytes", "ct_offchip_bytes",
            "memory_bound_ops", "bound_class", "share", "rtl_backed"]
    if cfg.power_w is not None:
        cols.append("energy_j")
    if not len(ops):
        return pd.DataFrame(columns=[key, *cols])
    g = ops.assign(_mem=(ops["bound"] == "memory").astype(int)).groupby(key, sort=False).agg(
        count=("op", "size"), cycles=("cycles", "sum"), compute_cycles=("compute_cycles", "sum"),
        transfer_cycles=("transfer_cycles", "sum"), fill_cycles=("fill_cycles", "sum"),
        offchip_bytes=("offchip_bytes", "sum"), key_offchip_bytes=("key_offchip_bytes", "sum"),
        pt_offchip_bytes=("pt_offchip_bytes", "sum"), ct_offchip_bytes=("ct_offchip_bytes", "sum"),
        memory_bound_ops=("_mem", "sum"), rtl_backed=("rtl_backed", "all")).reset_index()
    # the class that bounds most of the group's cycles
    dom = ops.groupby([key, "bound_class"], sort=False)["cycles"].sum().reset_index()
    dom = dom.sort_values("cycles", ascending=False, kind="stable").drop_duplicates(key)
    g["bound_class"] = g[key].map(dict(zip(dom[key], dom["bound_class"])))
    g["seconds"] = g["cycles"] / cfg.clock_hz
    if cfg.power_w is not None:
        g["energy_j"] = g["seconds"] * cfg.power_w
    total = ops["cycles"].sum()
    g["share"] = g["cycles"] / total if total else 0.0
    return g[[key, *cols]]


def _segment_sums(values: np.ndarray, bounds: np.ndarray) -> np.ndarray:
    """Sums of ``values`` over the segments ``[bounds[i], bounds[i+1])`` (exact, int64)."""
    cs = np.zeros(len(values) + 1, dtype=np.int64)
    np.cumsum(values, out=cs[1:])
    return cs[bounds[1:]] - cs[bounds[:-1]]


def _bytes_for(words: np.ndarray, word_bits: int) -> np.ndarray:
    """:meth:`AcceleratorConfig.bytes_for` on an array: ``ceil(words * word_bits / 8)``."""
    return -(-(words.astype(np.int64) * int(word_bits)) // 8)


class CompiledOps:
    """A workload in column form, built once and estimated on any number of configurations.

    :func:`estimate` accepts a list of :class:`~sim.cycle.events.Op` (compiled on the fly) or
    one of these. The rules are those of the module docstring; only the bookkeeping differs
    from a row-per-kernel loop: the kernel calls are grouped by their shape
    ``(kind, n, primes, src_primes, dst_primes, count)`` and each shape is costed once per
    configuration (:class:`~sim.cycle.units.UnitCosts`); per-operation sums are taken over
    arrays. What stays sequential (the key cache and the ``"prefetch"`` timeline) runs over
    plain integers. The off-chip traffic of a workload depends on the configuration only
    through ``(data capacity, word_bits, evk_a_generated, plaintexts)`` and is cached on
    that key, so a design-space sweep (``fhesim explore``) pays for it once per capacity.
    """

    def __init__(self, ops: Iterable[Op]):
        ops = list(ops)
        self.n_ops = len(ops)
        shapes: dict[tuple, int] = {}
        kid: list[int] = []
        ku_op: list[int] = []
        ku_key: list = []
        ku_parts: list[tuple] = []
        pt_key: list = []
        cols: list[tuple] = []
        kinds: list[str] = []
        labels: list[str] = []
        seen: dict[int, tuple] = {}
        self.source_id = []
        chains = {op.chain for op in ops}
        if len(chains) > 1:
            raise ValueError(f"ops of {len(chains)} modulus chains in one workload "
                             f"({', '.join(sorted(c.name if c else 'none' for c in chains))})")
        #: The trace's modulus chain (:class:`sim.cycle.chain.Chain`) or None.
        self.chain = chains.pop() if chains else None
        for i, op in enumerate(ops):
            ks = op.kernels
            cols.append((op.n, op.primes_in, op.primes_out, op.ct_in_polys, op.ct_out_polys,
                         op.pt_polys, len(ks)))
            kinds.append(op.kind)
            labels.append(op.label)
            self.source_id.append(op.source_id)
            # operations copied from one trace shape share their kernel list: map it once
            ids = seen.get(id(ks))
            if ids is None or ids[0] is not ks:
                row = []
                for k in ks:
                    key = (k.kind, k.n, k.primes, k.src_primes, k.dst_primes, k.count)
                    j = shapes.get(key)
                    if j is None:
                        j = shapes[key] = len(shapes)
                    row.append(j)
                ids = seen[id(ks)] = (ks, row)
            kid.extend(ids[1])
            if op.pt_polys:
                pt_key.append(op.pt_key)
            for use in op.keys:
                ku_op.append(i)
                ku_key.append(use.key)
                ku_parts.append((use.digits, use.primes, use.special, use.groups, use.aux))
        self._shapes = shapes
        self.shape_list: list[tuple] = list(shapes)
        self.kid = np.asarray(kid, dtype=np.int64)
        c = np.asarray(cols, dtype=np.int64).reshape(-1, 7)
        (self.n, self.primes_in, self.primes_out, self.ct_in, self.ct_out, self.pt_polys,
         self.kernel_counts) = (np.ascontiguousarray(c[:, j]) for j in range(7))
        self.kernel_op = np.repeat(np.arange(self.n_ops, dtype=np.int64), self.kernel_counts)
        self.op_kind = np.array(kinds, dtype=object)
        self.label = np.array(labels, dtype=object)
        self.key_op = np.asarray(ku_op, dtype=np.int64)
        self.key_name = ku_key
        parts = np.asarray(ku_parts, dtype=np.int64).reshape(-1, 5)
        (self.key_digits, self.key_primes, self.key_special, self.key_groups,
         self.key_aux) = (np.ascontiguousarray(parts[:, j]) for j in range(5))
        self.key_bounds = np.searchsorted(self.key_op, np.arange(self.n_ops + 1), side="left")
        self._accesses(pt_key)
        self._layout: dict[bool, tuple] = {}
        self._memory: dict[tuple, dict] = {}

    def __len__(self) -> int:
        return self.n_ops

    @property
    def key_half_words(self) -> np.ndarray:
        """Words of the ``b`` half of each key use at the trace's own limbs
        (``digits * (primes + special) * n``, KLSS ``digits * groups * aux * n``;
        :meth:`KeyUse.words` with ``a_generated``)."""
        per = np.where(self.key_groups > 0, self.key_groups * self.key_aux,
                       self.key_primes + self.key_special)
        return self.key_digits * per * self.n[self.key_op]

    def _accesses(self, pt_key: list) -> None:
        """The item accesses of the residency model, in execution order: per operation its
        plaintext (if any), then its keys. ``acc_ref``: the operation (plaintexts) or the key
        use (keys) whose size the access has; ``acc_is_key``: which."""
        pt_ops = np.flatnonzero(self.pt_polys > 0)
        order = np.argsort(np.concatenate([pt_ops * 2, self.key_op * 2 + 1]), kind="stable")
        is_key = np.concatenate([np.zeros(len(pt_ops), bool), np.ones(len(self.key_op), bool)])[order]
        ref = np.concatenate([pt_ops, np.arange(len(self.key_op), dtype=np.int64)])[order]
        self.acc_is_key, self.acc_ref = is_key, ref
        self.acc_op = np.concatenate([pt_ops, self.key_op])[order]
        names = [None if k is None else ("pt", k) for k in pt_key] + \
                [None if k is None else ("key", k) for k in self.key_name]
        self.acc_name = [names[j] for j in order.tolist()]

    def limbs(self, cfg: AcceleratorConfig, primes: np.ndarray, special: bool = False) -> np.ndarray:
        """Limb counts on ``cfg`` for the trace's prime counts ``primes`` (module docstring,
        "Limbs"): unchanged when ``cfg.limbs == "trace"``; the chain's ``"word"`` limbs
        (``special``: counts of special primes); else ``ceil(primes * 30 / word_bits)``."""
        p = np.asarray(primes, dtype=np.int64)
        if cfg.limbs == "trace":
            return p
        if cfg.limbs == "word" and self.chain is not None:
            w = int(cfg.word_bits)
            return self.chain.special_limbs(p, w) if special else self.chain.limbs(p, w)
        return packed_limbs(p, cfg.word_bits)

    # -- kernel rows -----------------------------------------------------------------------
    def _rows(self, generate_pt: bool) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """``(shape id per row, op index per row, row bounds per op)``; with ``generate_pt``
        a ``ptgen`` row (plaintext generation) follows the kernels of every op that reads a
        plaintext."""
        if generate_pt not in self._layout:
            if not generate_pt:
                kid, kop, counts = self.kid, self.kernel_op, self.kernel_counts
            else:
                need = np.flatnonzero((self.pt_polys > 0) & (self.primes_in > 0))
                trip = np.stack([self.n[need], self.primes_in[need], self.pt_polys[need]], axis=1)
                uniq, inverse = np.unique(trip.reshape(-1, 3), axis=0, return_inverse=True)
                ids = np.empty(len(uniq), dtype=np.int64)
                for u, (n, primes, polys) in enumerate(uniq.tolist()):
                    key = ("ptgen", n, primes, 0, 0, polys)
                    sid = self._shapes.get(key)
                    if sid is None:
                        Kernel("ptgen", n, primes, count=polys)        # validates the shape
                        sid = self._shapes[key] = len(self._shapes)
                        self.shape_list.append(key)
                    ids[u] = sid
                extra = ids[inverse.reshape(-1)]
                order = np.argsort(np.concatenate([self.kernel_op * 2, need * 2 + 1]), kind="stable")
                kid = np.concatenate([self.kid, extra])[order]
                kop = np.concatenate([self.kernel_op, need])[order]
                counts = self.kernel_counts.copy()
                counts[need] += 1
            bounds = np.zeros(self.n_ops + 1, dtype=np.int64)
            np.cumsum(counts, out=bounds[1:])
            self._layout[generate_pt] = (kid, kop, bounds)
        return self._layout[generate_pt]

    def _shape_costs(self, cfg: AcceleratorConfig, kid: np.ndarray, kop: np.ndarray) -> dict:
        """Cost arrays per shape id (``UnitCosts.cost`` once per shape); raises the error of
        the first operation (in trace order) that the configuration cannot run."""
        costs = UnitCosts(cfg)
        ns = len(self.shape_list)
        occ = np.zeros(ns, dtype=np.int64)
        fill = np.zeros(ns, dtype=np.int64)
        unit = np.zeros(ns, dtype=np.int64)
        backed = np.ones(ns, dtype=bool)
        used = np.zeros(ns, dtype=bool)
        used[kid] = True
        bad_ring = np.flatnonzero(self.n > cfg.max_ring_degree)
        first_ring = int(bad_ring[0]) if len(bad_ring) else self.n_ops
        failed: dict[int, Exception] = {}
        def lm(p):
            return p if p is None else int(self.limbs(cfg, np.asarray([p]))[0])
        for s in np.flatnonzero(used):
            kind, n, primes, src, dst, count = self.shape_list[s]
            try:
                c = costs.cost(Kernel(kind, n, lm(primes), lm(src), lm(dst), count))
            except Exception as exc:            # noqa: BLE001 - re-raised below, in trace order
                failed[int(s)] = exc
                continue
            occ[s], fill[s], backed[s] = c.occupancy, c.fill, c.rtl_backed
            unit[s] = UNIT_KINDS.index(c.unit)
        first_fail, exc = self.n_ops, None
        if failed:
            rows = np.flatnonzero(np.isin(kid, np.fromiter(failed, dtype=np.int64)))
            first_fail = int(kop[rows[0]])
            exc = failed[int(kid[rows[0]])]
        if first_ring < self.n_ops and first_ring <= first_fail:
            raise ValueError(f"accelerator {cfg.name!r}: operation {first_ring} ({self.op_kind[first_ring]}) "
                             f"has ring degree n={int(self.n[first_ring])} > "
                             f"max_ring_degree={cfg.max_ring_degree}")
        if exc is not None:
            raise exc
        return {"occupancy": occ, "fill": fill, "unit": unit, "rtl_backed": backed}

    # -- off-chip traffic (depends on the capacity, not on the units) -----------------------
    def memory(self, cfg: AcceleratorConfig, policy: str | None = None) -> dict:
        """Per-operation bytes (ciphertexts, plaintexts, keys; off chip and on chip) of the
        module docstring's rules, with the residency of keys and plaintexts simulated under
        ``policy`` (default ``cfg.policy``; :mod:`sim.cycle.residency`)."""
        policy = policy or cfg.policy
        capacity = cfg.data_capacity_bytes
        generate_pt = cfg.plaintexts == "generated"
        key = (capacity, cfg.word_bits, cfg.evk_a_generated, generate_pt, policy, cfg.limbs)
        hit = self._memory.get(key)
        if hit is not None:
            return hit
        wb = cfg.word_bits
        pin, pout = self.limbs(cfg, self.primes_in), self.limbs(cfg, self.primes_out)
        ct_bytes = _bytes_for((self.ct_in * pin + self.ct_out * pout) * self.n, wb)
        resident = ct_bytes <= capacity
        ct_off = np.where(resident, 0, ct_bytes)
        pt_full = _bytes_for(self.pt_polys * pin * self.n, wb)
        pt_size = _bytes_for(self.pt_polys * np.minimum(pin, 1) * self.n, wb) if generate_pt else pt_full
        halves = 1 if cfg.evk_a_generated else 2
        hybrid = self.limbs(cfg, self.key_primes) + self.limbs(cfg, self.key_special, special=True)
        # a KLSS key's parts are over T, whose primes are no level of the chain: packed
        aux = self.key_aux if cfg.limbs == "trace" else packed_limbs(self.key_aux, cfg.word_bits)
        per = np.where(self.key_groups > 0, self.key_groups * aux, hybrid)
        kw = self.key_digits * halves * per * self.n[self.key_op]
        sizes = _bytes_for(kw, wb)
        key_full = _bytes_for(2 * kw // halves, wb)
        item_capacity = capacity - np.where(resident, ct_bytes, 0)
        acc_size = np.zeros(len(self.acc_ref), dtype=np.int64)
        acc_size[self.acc_is_key] = sizes[self.acc_ref[self.acc_is_key]]
        acc_size[~self.acc_is_key] = pt_size[self.acc_ref[~self.acc_is_key]]
        loaded = simulate(self.acc_name, acc_size.tolist(), self.acc_op.tolist(), item_capacity.tolist(),
                          policy) if len(acc_size) else np.zeros(0, dtype=np.int64)
        key_off = np.bincount(self.acc_op[self.acc_is_key], weights=loaded[self.acc_is_key],
                              minlength=self.n_ops).astype(np.int64)
        pt_off = np.bincount(self.acc_op[~self.acc_is_key], weights=loaded[~self.acc_is_key],
                             minlength=self.n_ops).astype(np.int64)
        key_bytes = _segment_sums(sizes, self.key_bounds)
        onchip = ct_bytes + pt_full + _segment_sums(key_full, self.key_bounds)
        out = {"ct_bytes": ct_bytes, "ct_offchip_bytes": ct_off, "pt_offchip_bytes": pt_off,
               "key_bytes": key_bytes, "key_offchip_bytes": key_off,
               "offchip_bytes": ct_off + pt_off + key_off, "onchip_bytes": onchip,
               "item_capacity": item_capacity, "policy": policy}
        self._memory[key] = out
        return out

    # -- the model ---------------------------------------------------------------------------
    def run(self, cfg: AcceleratorConfig, policy: str | None = None) -> dict:
        """Every per-row and per-operation array of the model on ``cfg`` (no DataFrames);
        ``policy`` overrides ``cfg.policy`` for the residency of keys and plaintexts."""
        generate_pt = cfg.plaintexts == "generated"
        kid, kop, bounds = self._rows(generate_pt)
        sc = self._shape_costs(cfg, kid, kop)
        occ, fill_r, unit_r = sc["occupancy"][kid], sc["fill"][kid], sc["unit"][kid]
        backed_r = sc["rtl_backed"][kid]
        serial = _segment_sums(occ, bounds)
        fill = _segment_sums(fill_r, bounds)
        calls = np.diff(bounds)
        backed = _segment_sums((~backed_r).astype(np.int64), bounds) == 0
        nu = len(UNIT_KINDS)
        busy = np.zeros((self.n_ops, nu), dtype=np.int64)
        present = np.zeros((self.n_ops, nu), dtype=bool)
        for u in range(nu):
            on = unit_r == u
            if on.any():
                busy[:, u] = _segment_sums(np.where(on, occ, 0), bounds)
                present[:, u] = _segment_sums(on.astype(np.int64), bounds) > 0
        if cfg.execution == "pipelined":
            critical = np.argmax(np.where(present, busy, -1), axis=1)
            has = calls > 0
            compute = np.where(has, busy[np.arange(self.n_ops), critical], serial)
            exposed = np.where(unit_r == critical[kop], occ, 0)
        else:
            critical = None
            compute = serial
            exposed = occ
        mem = self.memory(cfg, policy)
        # math.ceil(bytes / bytes_per_cycle) of every operation (IEEE division either way)
        transfer = np.ceil(mem["offchip_bytes"] / cfg.bytes_per_cycle).astype(np.int64)
        onchip = (np.zeros(self.n_ops, dtype=np.int64) if cfg.onchip_bytes_per_cycle is None else
                  np.ceil(mem["onchip_bytes"] / cfg.onchip_bytes_per_cycle).astype(np.int64))
        eff = np.maximum(compute, onchip)        # the scratchpad feeds the units at most this fast
        if cfg.overlap == "prefetch":
            cycles = np.empty(self.n_ops, dtype=np.int64)
            t_end = c_end = c_end_prev2 = 0
            comp_l, tr_l, fill_l = eff.tolist(), transfer.tolist(), fill.tolist()
            for i in range(self.n_ops):
                t_start = (t_end if t_end > c_end_prev2 else c_end_prev2) if i else 0
                t_end = t_start + tr_l[i]
                c_start = c_end if c_end > t_start else t_start
                done = c_start + comp_l[i]
                new_end = (done if done > t_end else t_end) + fill_l[i]
                cycles[i] = new_end - c_end
                c_end_prev2, c_end = c_end, new_end
        else:
            cycles = np.maximum(eff, transfer) + fill
        stall = cycles - compute - fill
        return {"onchip": onchip, "bound_class": _bound_class(stall, compute, onchip, transfer, mem),
                "kid": kid, "kernel_op": kop, "occupancy": occ, "exposed": exposed, "fill_row": fill_r,
                "unit_row": unit_r, "backed_row": backed_r, "serial": serial, "compute": compute,
                "fill": fill, "calls": calls, "backed": backed, "busy": busy, "cycles": cycles,
                "stall": stall, "transfer": transfer, "memory": mem}

    def totals(self, cfg: AcceleratorConfig) -> dict:
        """The model's totals on ``cfg`` without building the per-row tables (for sweeps):
        cycles, seconds, compute/fill/stall/transfer cycles, off-chip bytes, and the cycles
        of each unit kind (``exposed + fill`` of the kernels on it)."""
        r = self.run(cfg)
        cyc = int(r["cycles"].sum())
        exp_fill = r["exposed"] + r["fill_row"]
        per_unit = {u: int(exp_fill[r["unit_row"] == i].sum()) for i, u in enumerate(UNIT_KINDS)}
        mem = r["memory"]
        return {"config": cfg.name, "ops": self.n_ops, "cycles": cyc, "seconds": cyc / cfg.clock_hz,
                "compute_cycles": int(r["compute"].sum()), "serial_compute_cycles": int(r["serial"].sum()),
                "fill_cycles": int(r["fill"].sum()), "stall_cycles": int(r["stall"].sum()),
                "transfer_cycles": int(r["transfer"].sum()),
                "offchip_bytes": int(mem["offchip_bytes"].sum()),
                "memory_bound_ops": int((r["stall"] > 0).sum()), "unit_cycles": per_unit}

    def estimate(self, cfg: AcceleratorConfig, *, notes: Iterable[str] = ()) -> Estimate:
        """The full :class:`Estimate` (per-kernel and per-operation DataFrames)."""
        r = self.run(cfg)
        kid, kop = r["kid"], r["kernel_op"]
        shapes = np.array(self.shape_list, dtype=object).reshape(-1, 6)
        shape_int = shapes[:, 1:5].astype(np.int64)
        kinds = shapes[:, 0]
        units = np.array(UNIT_KINDS, dtype=object)
        exposed = r["exposed"]
        kdf = pd.DataFrame({
            "op_index": kop, "op": self.op_kind[kop], "label": self.label[kop], "kernel": kinds[kid],
            "unit": units[r["unit_row"]], "n": shape_int[kid, 0], "primes": shape_int[kid, 1],
            "src_primes": shape_int[kid, 2], "dst_primes": shape_int[kid, 3],
            "occupancy": r["occupancy"], "exposed": exposed, "fill": r["fill_row"],
            "cycles": exposed + r["fill_row"], "rtl_backed": r["backed_row"],
        }) if len(kid) else pd.DataFrame(columns=_KCOLS)
        mem, cycles, stall = r["memory"], r["cycles"], r["stall"]
        odf = pd.DataFrame({
            "op_index": np.arange(self.n_ops, dtype=np.int64), "op": self.op_kind, "label": self.label,
            "n": self.n, "primes_in": self.primes_in, "primes_out": self.primes_out,
            "kernel_calls": r["calls"], "compute_cycles": r["compute"],
            "serial_compute_cycles": r["serial"], "fill_cycles": r["fill"],
            "ct_bytes": mem["ct_bytes"], "ct_offchip_bytes": mem["ct_offchip_bytes"],
            "pt_offchip_bytes": mem["pt_offchip_bytes"], "key_bytes": mem["key_bytes"],
            "key_offchip_bytes": mem["key_offchip_bytes"], "offchip_bytes": mem["offchip_bytes"],
            "onchip_bytes": mem["onchip_bytes"], "onchip_cycles": r["onchip"],
            "bound_class": r["bound_class"],
            "transfer_cycles": r["transfer"], "cycles": cycles,
            "seconds": cycles / cfg.clock_hz, "stall_cycles": stall,
            "bound": np.where(stall > 0, "memory", "compute").astype(object),
            "rtl_backed": r["backed"], "source_id": self.source_id,
        }) if self.n_ops else pd.DataFrame(columns=_OCOLS)
        all_notes = list(notes) + self._capacity_notes(cfg)
        if cfg.limbs == "word" and self.chain is None:
            all_notes.append(f"limbs = 'word' needs the trace's modulus chain, which these ops do not "
                             f"carry (an op trace file records none): counted as 'packed', the "
                             f"log2 Q in {cfg.word_bits}-bit words, fewer limbs than its levels need")
        used = sorted(set(kinds[np.unique(kid)]) & set(NOT_RTL_BACKED)) if len(kid) else []
        if used:
            all_notes.append("not RTL-backed (model formula, see sim/cycle/units.py): " + ", ".join(used))
        if self.n_ops:
            odf["energy_j"] = odf["seconds"] * cfg.power_w if cfg.power_w is not None else np.nan
        return Estimate(cfg, kdf, odf, all_notes, self.min_bound(cfg, r))

    def min_bound(self, cfg: AcceleratorConfig, r: dict | None = None) -> dict:
        """Totals with the offline-optimal residency (Belady's MIN) on ``cfg``; when
        ``cfg.policy`` is already ``"min"`` the run ``r`` is reused."""
        if r is None or cfg.policy != "min":
            r = self.run(cfg, "min")
        mem, cyc = r["memory"], int(r["cycles"].sum())
        return {"policy": "min", "cycles": cyc, "seconds": cyc / cfg.clock_hz,
                "offchip_bytes": int(mem["offchip_bytes"].sum()),
                **{f"{c}_offchip_bytes": int(mem[col].sum()) for c, col in CLASS_COLUMNS.items()}}

    def _capacity_notes(self, cfg: AcceleratorConfig) -> list[str]:
        """A note when the data memory cannot hold one ciphertext (2 polynomials at the
        workload's largest level): every operation then streams its ciphertexts."""
        if not self.n_ops:
            return []
        one = int(_bytes_for(2 * self.limbs(cfg, self.primes_in) * self.n, cfg.word_bits).max())
        if cfg.data_capacity_bytes >= one:
            return []
        return [f"accelerator {cfg.name!r}: field 'on_chip_bytes' leaves {cfg.data_capacity_bytes:,} "
                f"bytes for data, less than one ciphertext of this workload ({one:,} bytes): every "
                "operation streams its ciphertexts from off-chip memory"]


#: What bounds an operation (column ``bound_class``): its units, the on-chip bandwidth, or the
#: largest class of its off-chip bytes when it stalls on memory.
BOUND_CLASSES = ("compute", "onchip", "keys", "plaintexts", "ciphertexts")


def _bound_class(stall, compute, onchip, transfer, mem) -> np.ndarray:
    """:data:`BOUND_CLASSES` entry per operation: ``compute`` without a stall; else
    ``onchip`` when the on-chip transfer is the longer of the two memory times, else the
    class with the most off-chip bytes."""
    by = np.stack([mem["key_offchip_bytes"], mem["pt_offchip_bytes"], mem["ct_offchip_bytes"]], axis=1)
    cls = np.array(BOUND_CLASSES, dtype=object)
    memory = cls[2 + np.argmax(by, axis=1)] if len(by) else np.zeros(0, dtype=object)
    memory = np.where((onchip > compute) & (onchip >= transfer), "onchip", memory)
    return np.where(stall > 0, memory, "compute").astype(object)


_KCOLS = ["op_index", "op", "label", "kernel", "unit", "n", "primes", "src_primes", "dst_primes",
          "occupancy", "exposed", "fill", "cycles", "rtl_backed"]
_OCOLS = ["op_index", "op", "label", "n", "primes_in", "primes_out", "kernel_calls",
          "compute_cycles", "serial_compute_cycles", "fill_cycles", "ct_bytes", "ct_offchip_bytes",
          "pt_offchip_bytes", "key_bytes", "key_offchip_bytes", "offchip_bytes", "onchip_bytes",
          "onchip_cycles", "bound_class", "transfer_cycles",
          "cycles", "seconds", "stall_cycles", "bound", "rtl_backed", "source_id", "energy_j"]


def estimate(ops: Iterable[Op] | CompiledOps, cfg: AcceleratorConfig, *,
             notes: Iterable[str] = ()) -> Estimate:
    """Run the cycle model over ``ops`` on ``cfg``; see the module docstring for the rules.

    ``ops``: a list of operations, or a :class:`CompiledOps` (compile a workload once to
    estimate it on several configurations)."""
    with paused_gc():      # ~10^5 small objects: collections would cost more than the work
        compiled = ops if isinstance(ops, CompiledOps) else CompiledOps(ops)
        return compiled.estimate(cfg, notes=notes)


__all__ = ["CompiledOps", "Estimate", "KeyCache", "estimate", "KERNEL_KINDS"]
