"""The vectorised cycle model (sim.cycle.model.CompiledOps) against a straightforward
reference: the row-per-kernel implementation it replaced, kept here verbatim in its rules
(``UnitCosts.cost`` for every call, an LRU of whole keys, the prefetch timeline), on random
synthetic workloads that exercise every option (serial/pipelined, op/prefetch, plaintexts
generated, key halves, small capacities that evict keys and spill ciphertexts, unknown keys,
absent units falling back to the modmul lanes) and on a built-in CKKS workload on every preset.
Both must give identical DataFrames (values and dtypes)."""
from __future__ import annotations

import math
import random
from collections import OrderedDict
from dataclasses import replace

import pandas as pd
import pytest

from sim.cycle.config import UNIT_KINDS, load_config, loads_config
from sim.cycle.events import Kernel, KeyUse, Op
from sim.cycle.model import CompiledOps, estimate
from sim.cycle.units import UnitCosts

KCOLS = ["op_index", "op", "label", "kernel", "unit", "n", "primes", "src_primes", "dst_primes",
         "occupancy", "exposed", "fill", "cycles", "rtl_backed"]
OCOLS = ["op_index", "op", "label", "n", "primes_in", "primes_out", "kernel_calls",
         "compute_cycles", "serial_compute_cycles", "fill_cycles", "ct_bytes", "ct_offchip_bytes",
         "pt_offchip_bytes", "key_bytes", "key_offchip_bytes", "offchip_bytes", "transfer_cycles",
         "cycles", "seconds", "stall_cycles", "bound", "rtl_backed", "source_id"]


class _Lru:
    def __init__(self):
        self.e: OrderedDict[str, int] = OrderedDict()

    def access(self, key, size, capacity):
        if key is not None and self.e.get(key, -1) >= size:
            self.e.move_to_end(key)
            return 0
        if key is None:
            return size
        self.e.pop(key, None)
        self.shrink(capacity - size)
        if size <= capacity:
            self.e[key] = size
        return size

    def shrink(self, capacity):
        while self.e and sum(self.e.values()) > max(capacity, 0):
            self.e.popitem(last=False)


def reference_estimate(ops, cfg):
    """``(kernels, ops)`` DataFrames of the cycle model, computed row by row."""
    costs = UnitCosts(cfg)
    bpc = cfg.bytes_per_cycle
    cache = _Lru()
    capacity = cfg.data_capacity_bytes
    krows, orows = [], []
    prefetch = cfg.overlap == "prefetch"
    pipelined = cfg.execution == "pipelined"
    generate_pt = cfg.plaintexts == "generated"
    t_end = c_end = c_end_prev2 = 0
    for index, op in enumerate(ops):
        if op.n > cfg.max_ring_degree:
            raise ValueError(f"ring degree n={op.n}")
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
    return pd.DataFrame(krows, columns=KCOLS), pd.DataFrame(orows, columns=OCOLS)


N = 16
BASE = """
name = "rand"
clock_mhz = 100
word_bits = {wb}
lanes = 4
on_chip_bytes = {on_chip}
off_chip_gbps = {gbps}
{extra}
[units]
ntt = {{ count = 2, lanes = 2 }}
modmul = {{ count = 1, lanes = 4 }}
modadd = {modadd}
bconv = {{ count = 1, lanes = {bconv} }}
automorphism = {{ count = 2, lanes = 4 }}
"""


def _cfg(extra="", on_chip=4096, modadd=1, bconv=8, wb=32, gbps=0.4):
    return loads_config(BASE.format(extra=extra, on_chip=on_chip, modadd=modadd, bconv=bconv,
                                    wb=wb, gbps=gbps))


def _random_ops(seed: int, count: int = 60) -> list[Op]:
    rng = random.Random(seed)
    ops = []
    for i in range(count):
        n = rng.choice((8, 16, 32))
        p_in = rng.randint(0, 4)
        p_out = rng.randint(max(0, p_in - 1), p_in)
        kernels = []
        for _ in range(rng.randint(0, 5)):
            kind = rng.choice(("ntt", "intt", "modmul", "modadd", "bconv", "automorphism"))
            if kind == "bconv":
                kernels.append(Kernel(kind, n, rng.randint(1, 3), src_primes=rng.randint(1, 3),
                                      dst_primes=rng.randint(1, 3), count=rng.randint(1, 2)))
            else:
                kernels.append(Kernel(kind, n, rng.randint(0, 4), count=rng.randint(0, 3)))
        keys = [KeyUse(rng.choice((None, "relin", "galois:3", "galois:5", "conj")),
                       rng.randint(1, 3), rng.randint(1, 4), rng.randint(0, 2))
                for _ in range(rng.choice((0, 0, 1, 1, 2, 3)))]
        ops.append(Op(rng.choice(("cmult", "rotate", "pmult", "add", "rescale")), n, p_in, p_out,
                      kernels=kernels, label=f"layer{rng.randint(0, 3)}",
                      ct_in_polys=rng.randint(0, 4), ct_out_polys=rng.randint(0, 3),
                      pt_polys=rng.randint(0, 2) * rng.randint(0, 1), keys=keys,
                      source_id=i if seed % 2 else None))
    return ops


VARIANTS = [
    {},
    {"extra": 'execution = "pipelined"'},
    {"extra": 'overlap = "prefetch"'},
    {"extra": 'overlap = "prefetch"\nexecution = "pipelined"', "on_chip": 1500},
    {"extra": 'plaintexts = "generated"', "on_chip": 900},
    {"extra": 'plaintexts = "generated"\nexecution = "pipelined"\noverlap = "prefetch"'},
    {"extra": "evk_a_generated = true", "on_chip": 700},
    {"on_chip": 0},
    {"on_chip": 2000, "modadd": 0, "bconv": 8},
    {"extra": 'execution = "pipelined"', "modadd": 0, "wb": 36, "gbps": 0.3},
]


def _same(est, ref):
    """Every column of the reference equal (the fast path adds columns the reference does
    not compute: on-chip bytes and cycles, bound class, energy)."""
    k, o = ref
    pd.testing.assert_frame_equal(est.kernels, k, check_exact=True)
    pd.testing.assert_frame_equal(est.ops[list(o.columns)], o, check_exact=True)


@pytest.mark.parametrize("seed", range(6))
def test_fast_path_equals_reference_on_random_workloads(seed):
    ops = _random_ops(seed)
    compiled = CompiledOps(ops)
    for v in VARIANTS:
        cfg = _cfg(**v)
        ref = reference_estimate(ops, cfg)
        _same(estimate(ops, cfg), ref)
        _same(estimate(compiled, cfg), ref)        # one compiled workload, many configurations
        tot = compiled.totals(cfg)
        assert tot["cycles"] == int(ref[1]["cycles"].sum())
        assert tot["offchip_bytes"] == int(ref[1]["offchip_bytes"].sum())
        # per unit kind: exposed occupancy + fill of its kernels; with the stall, the total
        assert sum(tot["unit_cycles"].values()) + tot["stall_cycles"] == tot["cycles"]


@pytest.mark.parametrize("preset", ["u280", "sharp", "ark", "craterlake"])
def test_fast_path_equals_reference_on_mulrot(preset):
    from sim.cycle.workloads import workload_ops

    ops, _ = workload_ops("mulrot")
    # the reference predates the word-size limbs and the on-chip bandwidth limit
    # (tests/test_cycle_memory.py checks those): compare under the trace's own limbs, no limit
    cfg = replace(load_config(preset), limbs="trace", onchip_gbps=None)
    _same(estimate(ops, cfg), reference_estimate(ops, cfg))


def test_errors_in_trace_order():
    ring = Op("big", 64, 1, 1, kernels=[Kernel("ntt", 64, 1)])
    no_auto = Op("rotate", N, 1, 1, kernels=[Kernel("automorphism", N, 1)])
    text = BASE.format(extra="max_ring_degree = 32", on_chip=4096, modadd=1, bconv=8, wb=32, gbps=0.4)
    cfg = loads_config(text.replace("automorphism = { count = 2, lanes = 4 }", "automorphism = 0"))
    with pytest.raises(ValueError, match=r"operation 1 \(big\) has ring degree n=64 > max_ring_degree=32"):
        estimate([Op("ok", N, 1, 1), ring, no_auto], cfg)
    with pytest.raises(ValueError, match="has no automorphism unit"):
        estimate([no_auto, ring], cfg)
    for ops in ([Op("ok", N, 1, 1), ring, no_auto], [no_auto, ring]):
        with pytest.raises(ValueError) as fast:
            estimate(ops, cfg)
        with pytest.raises(ValueError) as slow:
            reference_estimate(ops, cfg)
        assert type(fast.value) is type(slow.value)


def test_empty_workload():
    est = estimate([], _cfg())
    # the reference's columns, then those of the residency, on-chip and energy rules
    new = ["onchip_bytes", "onchip_cycles", "bound_class"]
    cols = [c for c in OCOLS if c not in ("transfer_cycles",)]
    at = cols.index("offchip_bytes") + 1
    expected = [*cols[:at], *new, "transfer_cycles", *cols[at:], "energy_j"]
    assert est.total_cycles == 0 and list(est.kernels.columns) == KCOLS and list(est.ops.columns) == expected
