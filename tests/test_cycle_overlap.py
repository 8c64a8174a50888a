"""Cross-operation overlap ("prefetch"), the ring-degree check and the f1 preset, by hand.

Configuration as tests/test_cycle_model.py: 100 MHz, 32-bit words (4 B), 0.4 GB/s = 4 bytes
per cycle, 4,096 on-chip bytes (ASIC); NTT 2 units x P = 2 (n = 16: cycles_per_transform 65,
initiation interval 60); modmul 1 x 4 lanes of the elementwise unit, latency 4 + 1 = 5,
throughput 1.
"""
from __future__ import annotations

import pytest

from sim.cycle.config import load_config, loads_config
from sim.cycle.events import Kernel, Op
from sim.cycle.model import estimate

BASE = """
name = "tiny"
clock_mhz = 100
word_bits = 32
lanes = 4
on_chip_bytes = 4096
off_chip_gbps = 0.4
{extra}
[units]
ntt = {{ count = 2, lanes = 2 }}
modmul = 1
modadd = 1
bconv = {{ count = 1, lanes = 8 }}
automorphism = 1
"""
N = 16


def _ops():
    # op 0: NTT of 3 rows: ceil(3/2) * 60 = 120 occupancy, fill 65 - 60 = 5; no transfer.
    # ciphertexts (2*3 + 2*3) * 16 * 4 B = 768 B stay on chip in every op.
    # ops 1, 2: one plaintext of 3 rows = 3 * 16 * 4 B = 192 B = 48 transfer cycles;
    #           modmul 48 residues / 4 lanes = 12 occupancy, fill 5.
    ntt = Op("ntt_op", N, 3, 3, ct_in_polys=2, ct_out_polys=2, kernels=[Kernel("ntt", N, 3)])
    pm = [Op("pmult", N, 3, 3, ct_in_polys=2, ct_out_polys=2, pt_polys=1,
             kernels=[Kernel("modmul", N, 3)]) for _ in range(2)]
    return [ntt, *pm]


def test_overlap_within_op_is_default():
    cfg = loads_config(BASE.format(extra=""))
    assert cfg.overlap == "op"
    est = estimate(_ops(), cfg)
    # 120 + 5 = 125; max(12, 48) + 5 = 53 twice -> 231
    assert list(est.ops["cycles"]) == [125, 53, 53]
    assert list(est.ops["stall_cycles"]) == [0, 36, 36]
    assert est.total_cycles == 231


def test_prefetch_across_ops_hand_computed():
    cfg = loads_config(BASE.format(extra='overlap = "prefetch"'))
    est = estimate(_ops(), cfg)
    # op 0: T 0..0, Cend0 = 125.
    # op 1: Tstart = max(Tend0 = 0, Cend[-1] = 0) = 0, Tend = 48 (loaded during op 0);
    #       Cstart = max(125, 0) = 125, Cend1 = max(125 + 12, 48) + 5 = 142 -> 17 cycles.
    # op 2: Tstart = max(Tend1 = 48, Cend0 = 125) = 125 (both buffers busy until op 0 ends),
    #       Tend = 173; Cstart = max(142, 125) = 142, Cend2 = max(154, 173) + 5 = 178 -> 36
    #       (12 compute + 5 fill + 19 stall).
    assert list(est.ops["cycles"]) == [125, 17, 36]
    assert list(est.ops["stall_cycles"]) == [0, 0, 19]
    assert list(est.ops["bound"]) == ["compute", "compute", "memory"]
    assert est.total_cycles == 178
    tot = est.total()
    assert tot["overlap"] == "prefetch" and tot["stall_cycles"] == 19
    # exact decomposition: total = occupancy + fill + stall
    assert tot["cycles"] == tot["compute_cycles"] + tot["fill_cycles"] + tot["stall_cycles"]


def test_prefetch_first_op_equals_op_rule():
    ops = _ops()[1:2]   # a single memory-bound op: nothing to overlap with
    a = estimate(ops, loads_config(BASE.format(extra="")))
    b = estimate(ops, loads_config(BASE.format(extra='overlap = "prefetch"')))
    assert a.total_cycles == b.total_cycles == 53


def test_overlap_field_checked():
    with pytest.raises(ValueError, match="field 'overlap' must be one of"):
        loads_config(BASE.format(extra='overlap = "always"'))


def test_ring_degree_beyond_design_refused():
    cfg = loads_config(BASE.format(extra="max_ring_degree = 1024"))
    big = Op("pmult", 2048, 1, 1, kernels=[Kernel("modmul", 2048, 1)])
    with pytest.raises(ValueError, match=r"n=2048 > max_ring_degree=1024"):
        estimate([big], cfg)


def test_f1_preset_loads_with_stated_resources():
    cfg = load_config("f1")
    assert cfg.kind == "asic" and cfg.clock_mhz == 1000 and cfg.word_bits == 32
    assert cfg.on_chip_bytes == 64 * 2**20 and cfg.off_chip_gbps == 1000
    assert cfg.max_ring_degree == 2**14 and cfg.overlap == "prefetch"
    # 16 clusters x 128 lanes: 2 multipliers, 2 adders, 1 automorphism unit per cluster
    assert cfg.units["modmul"].total_lanes == 16 * 2 * 128
    assert cfg.units["modadd"].total_lanes == 16 * 2 * 128
    assert cfg.units["automorphism"].total_lanes == 16 * 128
    assert cfg.units["bconv"].count == 0
    # NTT: the stated 2,048 words/cycle from RTL units of P = 128 at n = 2^14:
    # initiation interval 1,250 -> 13.1 words/cycle per unit; 157 units >= 2,048 > 156 units
    from sim.cycle.units import ntt_props
    cpt, ii = ntt_props(2**14, 32, 128, "barrett")
    assert ii == 1250
    assert 157 * 2**14 / ii >= 2048 > 156 * 2**14 / ii
    assert cfg.units["ntt"] == type(cfg.units["ntt"])(157, 128)


def test_sharp_preset_prefetches():
    assert load_config("sharp").overlap == "prefetch"
    assert load_config("u280").overlap == "op"
