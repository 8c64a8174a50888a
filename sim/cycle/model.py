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
"""
from __future__ import annotations

import math
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Iterable

import pandas as pd

from .config import UNIT_KINDS, AcceleratorConfig
from .events import KERNEL_KINDS, Kernel, Op
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
            "memory_bound_ops": int((ops["bound"] == "memory").sum()) if len(ops) else 0,
            "compute_bound_ops": int((ops["bound"] == "compute").sum()) if len(ops) else 0,
            "not_rtl_backed": sorted(set(self.kernels.loc[~self.kernels["rtl_backed"], "kernel"]))
            if len(self.kernels) else [],
        }


def _group(ops: pd.DataFrame, key: str, cfg: AcceleratorConfig) -> pd.DataFrame:
    cols = ["count", "cycles", "seconds", "compute_cycles", "transfer_cycles", "fill_cycles",
            "offchip_bytes", "memory_bound_ops", "share", "rtl_backed"]
    if not len(ops):
        return pd.DataFrame(columns=[key, *cols])
    g = ops.assign(_mem=(ops["bound"] == "memory").astype(int)).groupby(key, sort=False).agg(
        count=("op", "size"), cycles=("cycles", "sum"), compute_cycles=("compute_cycles", "sum"),
        transfer_cycles=("transfer_cycles", "sum"), fill_cycles=("fill_cycles", "sum"),
        offchip_bytes=("offchip_bytes", "sum"), memory_bound_ops=("_mem", "sum"),
        rtl_backed=("rtl_backed", "all")).reset_index()
    g["seconds"] = g["cycles"] / cfg.clock_hz
    total = ops["cycles"].sum()
    g["share"] = g["cycles"] / total if total else 0.0
    return g[[key, *cols]]


def estimate(ops: Iterable[Op], cfg: AcceleratorConfig, *, notes: Iterable[str] = ()) -> Estimate:
    """Run the cycle model over ``ops`` on ``cfg``; see the module docstring for the rules."""
    costs = UnitCosts(cfg)
    bpc = cfg.bytes_per_cycle
    cache = KeyCache()
    capacity = cfg.data_capacity_bytes
    krows: list[dict] = []
    orows: list[dict] = []
    prefetch = cfg.overlap == "prefetch"
    pipelined = cfg.execution == "pipelined"
    generate_pt = cfg.plaintexts == "generated"
    t_end = c_end = c_end_prev2 = 0   # timeline of the "prefetch" rule (cycles)
    for index, op in enumerate(ops):
        if op.n > cfg.max_ring_degree:
            raise ValueError(f"accelerator {cfg.name!r}: operation {index} ({op.kind}) has ring degree "
                             f"n={op.n} > max_ring_degree={cfg.max_ring_degree}")
        kernels = list(op.kernels)
        if generate_pt and op.pt_polys and op.primes_in:
            kernels.append(Kernel("ptgen", op.n, op.primes_in, count=op.pt_polys))
        calls = [(k, costs.cost(k)) for k in kernels]
        serial = sum(c.occupancy for _, c in calls)
        fill = sum(c.fill for _, c in calls)
        backed = all(c.rtl_backed for _, c in calls)
        busy: dict[str, int] = {}
        for _, c in calls:
            busy[c.unit] = busy.get(c.unit, 0) + c.occupancy
        if pipelined and busy:
            critical = max(UNIT_KINDS, key=lambda u: busy.get(u, -1))
            compute = busy[critical]
        else:
            critical, compute = None, serial
        for k, c in calls:
            exposed = c.occupancy if critical is None or c.unit == critical else 0
            krows.append({
                "op_index": index, "op": op.kind, "label": op.label, "kernel": k.kind,
                "unit": c.unit, "n": k.n, "primes": k.primes, "src_primes": k.src_primes,
                "dst_primes": k.dst_primes, "occupancy": c.occupancy, "exposed": exposed,
                "fill": c.fill, "cycles": exposed + c.fill, "rtl_backed": c.rtl_backed,
            })
        ct_bytes = cfg.bytes_for((op.ct_in_polys * op.primes_in + op.ct_out_polys * op.primes_out) * op.n)
        ct_resident = ct_bytes <= capacity
        ct_offchip = 0 if ct_resident else ct_bytes
        pt_limbs = min(op.primes_in, 1) if generate_pt else op.primes_in
        pt_offchip = cfg.bytes_for(op.pt_polys * pt_limbs * op.n)
        key_capacity = capacity - (ct_bytes if ct_resident else 0)
        cache.shrink(key_capacity)
        key_bytes = key_offchip = 0
        for use in op.keys:
            size = cfg.bytes_for(use.words(op.n, a_generated=cfg.evk_a_generated))
            key_bytes += size
            key_offchip += cache.access(use.key, size, key_capacity)
        offchip = ct_offchip + pt_offchip + key_offchip
        transfer = math.ceil(offchip / bpc) if offchip else 0
        if prefetch:
            t_start = max(t_end, c_end_prev2) if index else 0
            t_end = t_start + transfer
            c_start = max(c_end, t_start)
            new_end = max(c_start + compute, t_end) + fill
            cycles = new_end - c_end
            c_end_prev2, c_end = c_end, new_end
        else:
            cycles = max(compute, transfer) + fill
        stall = cycles - compute - fill
        orows.append({
            "op_index": index, "op": op.kind, "label": op.label, "n": op.n,
            "primes_in": op.primes_in, "primes_out": op.primes_out,
            "kernel_calls": len(kernels), "compute_cycles": compute,
            "serial_compute_cycles": serial, "fill_cycles": fill,
            "ct_bytes": ct_bytes, "ct_offchip_bytes": ct_offchip, "pt_offchip_bytes": pt_offchip,
            "key_bytes": key_bytes, "key_offchip_bytes": key_offchip, "offchip_bytes": offchip,
            "transfer_cycles": transfer, "cycles": cycles, "seconds": cycles / cfg.clock_hz,
            "stall_cycles": stall,
            "bound": "memory" if stall > 0 else "compute", "rtl_backed": backed,
            "source_id": op.source_id,
        })
    kdf = pd.DataFrame(krows, columns=[
        "op_index", "op", "label", "kernel", "unit", "n", "primes", "src_primes", "dst_primes",
        "occupancy", "exposed", "fill", "cycles", "rtl_backed"])
    odf = pd.DataFrame(orows, columns=[
        "op_index", "op", "label", "n", "primes_in", "primes_out", "kernel_calls",
        "compute_cycles", "serial_compute_cycles", "fill_cycles", "ct_bytes", "ct_offchip_bytes", "pt_offchip_bytes",
        "key_bytes", "key_offchip_bytes", "offchip_bytes", "transfer_cycles", "cycles",
        "seconds", "stall_cycles", "bound", "rtl_backed", "source_id"])
    all_notes = list(notes)
    used = sorted(set(kdf["kernel"]) & set(NOT_RTL_BACKED)) if len(kdf) else []
    if used:
        all_notes.append("not RTL-backed (model formula, see sim/cycle/units.py): " + ", ".join(used))
    return Estimate(cfg, kdf, odf, all_notes)


__all__ = ["Estimate", "KeyCache", "estimate", "KERNEL_KINDS"]
