"""Pipelined execution, PRNG-generated key halves and on-chip plaintext generation, by hand.

Configuration (as tests/test_cycle_overlap.py): 100 MHz, 32-bit words (4 B), 0.4 GB/s = 4 bytes
per cycle, ASIC; n = 16. Unit costs used below:
* NTT: 2 units x P = 2 at n = 16: cycles_per_transform 65, initiation interval 60, so k rows
  take ceil(k/2) * 60 occupancy and 65 - 60 = 5 fill;
* modmul: 1 unit x 4 lanes, Barrett latency 4, throughput 1: E residues take ceil(E/4), fill 4;
* modadd: 1 unit x 4 lanes, latency 1: ceil(E/4), fill 1;
* automorphism: 1 unit x 4 lanes: ceil(E/4), fill n/L = 16/4 = 4.
"""
from __future__ import annotations

import math

import pytest

from sim.cycle.config import load_config, loads_config
from sim.cycle.events import Kernel, KeyUse, Op
from sim.cycle.model import estimate
from sim.cycle.units import ntt_props

BASE = """
name = "tiny"
clock_mhz = 100
word_bits = 32
lanes = 4
on_chip_bytes = {on_chip}
off_chip_gbps = 0.4
{extra}
[units]
ntt = {{ count = 2, lanes = 2 }}
modmul = 1
modadd = {modadd}
bconv = {{ count = 1, lanes = 8 }}
automorphism = 1
"""
N = 16


def cfg(extra: str = "", on_chip: int = 4096, modadd: int = 1):
    return loads_config(BASE.format(extra=extra, on_chip=on_chip, modadd=modadd))


def test_unit_costs_assumed_in_this_file():
    assert ntt_props(N, 32, 2, "barrett") == (65, 60)


def _compute_ops():
    # op 0: modmul 3 rows: 48 residues -> 12 occupancy, fill 5 (ElementwiseUnit latency)
    #       modadd 2 rows: 32 residues -> 8, fill 5
    #       automorphism 3 rows (P = 4 banks, II = 4, cycles_per_row 9): 12, fill 5
    #       ntt 3 rows: ceil(3/2) * 60 = 120, fill 5
    # op 1: modmul 2 rows -> 8, fill 5; modadd 2 rows -> 8, fill 5 (a tie between two units)
    # No ciphertexts, plaintexts or keys: no traffic.
    op0 = Op("mix", N, 3, 3, kernels=[Kernel("modmul", N, 3), Kernel("modadd", N, 2),
                                      Kernel("automorphism", N, 3), Kernel("ntt", N, 3)])
    op1 = Op("tie", N, 2, 2, kernels=[Kernel("modmul", N, 2), Kernel("modadd", N, 2)])
    return [op0, op1]


def test_serial_execution_sums_the_kernels():
    est = estimate(_compute_ops(), cfg())          # execution defaults to "serial"
    ops = est.ops
    # op 0: 12 + 8 + 12 + 120 = 152 compute, 5 + 5 + 5 + 5 = 20 fill -> 172
    # op 1: 8 + 8 = 16 compute, 5 + 5 = 10 fill -> 26
    assert list(ops["compute_cycles"]) == [152, 16]
    assert list(ops["fill_cycles"]) == [20, 10]
    assert list(ops["cycles"]) == [172, 26]
    assert est.total_cycles == 198
    assert list(est.kernels["exposed"]) == list(est.kernels["occupancy"])


def test_pipelined_execution_is_bounded_by_the_busiest_unit():
    est = estimate(_compute_ops(), cfg('execution = "pipelined"'))
    ops, k = est.ops, est.kernels
    # op 0: busy ntt 120, modmul 12, automorphism 12, modadd 8 -> compute 120 (the NTT unit);
    #       fill is still paid by every unit of the chain: 20 -> 140 cycles
    # op 1: modmul 8 and modadd 8 tie; the first unit in UNIT_KINDS order (modmul) is
    #       exposed -> compute 8, fill 10 -> 18 cycles
    assert list(ops["compute_cycles"]) == [120, 8]
    assert list(ops["serial_compute_cycles"]) == [152, 16]
    assert list(ops["cycles"]) == [140, 18]
    assert est.total_cycles == 158
    # exposed occupancy: only the critical unit's calls; kernel cycles = exposed + fill
    assert list(k["exposed"]) == [0, 0, 0, 120, 8, 0]
    assert list(k["cycles"]) == [5, 5, 5, 125, 13, 5]
    assert k["cycles"].sum() == est.total_cycles      # exact decomposition (no stall here)


def test_pipelined_units_shared_through_fallback_add_up():
    # modadd count 0: additions run on the modmul lanes (fill = elementwise latency 5), so in
    # op 1 the modmul unit is busy 8 + 8 = 16 cycles: compute 16, fill 5 + 5 = 10 -> 26.
    est = estimate(_compute_ops()[1:], cfg('execution = "pipelined"', modadd=0))
    assert est.ops["compute_cycles"].iloc[0] == 16
    assert est.ops["cycles"].iloc[0] == 26


def _key_ops():
    # one key switch each with the same key: digits 2, level primes 3, special 1:
    # 2 * 2 * (3 + 1) * 16 = 256 words = 1,024 B in full; 512 B with the "a" halves generated.
    use = KeyUse("relin", digits=2, primes=3, special=1)
    return [Op("relin", N, 3, 3, keys=[use]) for _ in range(2)]


def test_key_a_halves_from_prng_halve_traffic_and_footprint():
    # capacity 768 B: the full key (1,024 B) never stays on chip, so both ops read it:
    # 1,024 / 4 = 256 transfer cycles each, no compute -> 512 cycles.
    full = estimate(_key_ops(), cfg(on_chip=768))
    assert list(full.ops["key_offchip_bytes"]) == [1024, 1024]
    assert full.total_cycles == 512
    # halves generated: 512 B fits, so op 0 reads 512 B (128 cycles) and op 1 finds it on chip.
    half = estimate(_key_ops(), cfg("evk_a_generated = true", on_chip=768))
    assert list(half.ops["key_bytes"]) == [512, 512]
    assert list(half.ops["key_offchip_bytes"]) == [512, 0]
    assert half.total_cycles == 128


def _pt_op():
    # plaintext multiply: 2 plaintext polynomials over 3 primes, modmul 3 rows (12 occ, fill 5)
    return [Op("pmult", N, 3, 3, pt_polys=2, kernels=[Kernel("modmul", N, 3)])]


def test_plaintexts_from_off_chip_memory():
    # 2 * 3 * 16 words * 4 B = 384 B = 96 transfer cycles; max(12, 96) + 5 = 101
    est = estimate(_pt_op(), cfg())
    assert est.ops["pt_offchip_bytes"].iloc[0] == 384
    assert est.total_cycles == 101


def test_plaintexts_generated_on_chip_trade_traffic_for_ntts():
    # one limb per polynomial read: 2 * 1 * 16 * 4 B = 128 B = 32 cycles;
    # the other limbs: a ptgen kernel of 2 * 3 = 6 rows on the NTT units:
    # ceil(6/2) * 60 = 180 occupancy, fill 5.
    est = estimate(_pt_op(), cfg('plaintexts = "generated"'))
    op, k = est.ops.iloc[0], est.kernels
    assert op["pt_offchip_bytes"] == 128
    assert list(k["kernel"]) == ["modmul", "ptgen"]
    assert list(k["occupancy"]) == [12, 180]
    # serial: compute 12 + 180 = 192, fill 5 + 5 = 10: max(192, 32) + 10 = 202
    assert est.total_cycles == 202
    # pipelined: max(180 on the NTT units, 12 on modmul) + 10 = 190
    est_p = estimate(_pt_op(), cfg('plaintexts = "generated"\nexecution = "pipelined"'))
    assert est_p.total_cycles == 190
    assert list(est_p.kernels["exposed"]) == [0, 180]


@pytest.mark.parametrize("extra, field", [
    ('execution = "fused"', "execution"),
    ('plaintexts = "cached"', "plaintexts"),
    ('evk_a_generated = "yes"', "evk_a_generated"),
    ("evk_a_generated = 1", "evk_a_generated"),
    ("execution = 3", "execution"),
])
def test_new_fields_are_checked_and_named(extra, field):
    with pytest.raises(ValueError, match=f"field '{field}'"):
        cfg(extra)


def test_defaults_keep_the_old_behaviour():
    c = cfg()
    assert (c.execution, c.evk_a_generated, c.plaintexts) == ("serial", False, "offchip")
    s = c.summary()
    assert s["execution"] == "serial" and s["plaintexts"] == "offchip"


def test_ark_and_craterlake_presets_from_stated_hardware():
    ark = load_config("ark")
    # SHARP's Table 4 states ARK's on-chip memory as 512 + 76 MB at 20 + 72 TB/s
    assert (ark.clock_mhz, ark.word_bits, ark.on_chip_bytes, ark.off_chip_gbps) == \
        (1000, 64, (512 + 76) * 2 ** 20, 1000)
    assert ark.onchip_gbps == 20_000
    # HE^2 Table III states peak powers only (ARK 281 W, CraterLake 320 W): upper bounds
    assert (ark.power_w, ark.power_basis) == (281, "peak")
    assert (ark.execution, ark.plaintexts, ark.evk_a_generated) == ("pipelined", "generated", False)
    assert ark.units["bconv"].total_lanes == 4 * 256 * 6          # 4 BConvUs x 256 lanes x 6 MACs
    assert ark.units["automorphism"].total_lanes == 4 * 256
    assert ark.units["modmul"].total_lanes == 8 * 256
    # NTT: 1,024 words/cycle from RTL units of P = 2,048 (ARK's butterflies per NTTU)
    _, ii = ntt_props(65536, 64, 2048, "barrett")
    assert ark.units["ntt"].count == math.ceil(1024 / (65536 / ii)) == 7
    assert "MICRO 2022" in ark.source

    cl = load_config("craterlake")
    # SHARP's Table 4: 256 + 26 MB at 84 TB/s
    assert (cl.clock_mhz, cl.word_bits, cl.lanes, cl.on_chip_bytes) == (1000, 28, 2048, (256 + 26) * 2 ** 20)
    assert cl.onchip_gbps == 84_000 and (cl.power_w, cl.power_basis) == (320, "peak")
    assert (cl.execution, cl.evk_a_generated) == ("pipelined", True)
    _, ii = ntt_props(65536, 28, 2048, "barrett")
    assert cl.units["ntt"].count == math.ceil(4096 / (65536 / ii)) == 27
    assert "[R]" in cl.source and "ISCA 2022" in cl.source


def test_poseidon_preset_from_its_paper():
    """Poseidon (HPCA 2023) [V]: U280, 450 MHz, 32-bit words, 512 lanes, one MM and one MA
    core, an NTT core of 64 radix-8 cores (512 data per cycle per fused phase), two automorphism cores, RNSconv on MA + MM (no BConv unit),
    8.6 MB scratchpad at 3.4 TB/s, HBM2 460 GB/s; average power from its energies."""
    p = load_config("poseidon")
    assert (p.kind, p.clock_mhz, p.word_bits, p.lanes, p.off_chip_gbps, p.onchip_gbps) == \
        ("fpga", 450, 32, 512, 460, 3_400)
    assert (p.execution, p.overlap, p.multiplier) == ("serial", "op", "barrett")
    # NTT: 64 radix-8 cores, 512 data per cycle per fused phase of 3 stages, so a 2^16-point
    # transform is ceil(16 / 3) = 6 phases x 128 cycles = 768 cycles: 85.3 words/cycle
    _, ii = ntt_props(65536, 32, 512, "barrett")
    assert p.units["ntt"].count == math.ceil((65536 / (math.ceil(16 / 3) * 65536 // 512)) / (65536 / ii)) == 2
    # the data memory is the stated scratchpad: the NTT units' RAM (3n words each) is added
    assert p.data_capacity_bytes == int(8.6 * 2 ** 20)
    assert p.units["modmul"].total_lanes == p.units["modadd"].total_lanes == 512
    assert p.units["automorphism"].total_lanes == 2 * 512
    assert p.units["bconv"].total_lanes == 0
    # Fig. 12 energies over Table V times: 6.1 J / 127.45 ms, 130.28 J / 2,661.23 ms, ...
    per_benchmark = (6.1 / 0.12745, 130.28 / 2.66123, 3.55 / 0.07298, 88.89 / 1.84889)
    assert p.power_w == pytest.approx(sum(per_benchmark) / 4, abs=0.05)
    assert p.power_basis != "peak" and "HPCA 2023" in p.source


def test_bts_preset_from_stated_hardware():
    """BTS: 2,048 PEs [V], 64-bit [S], 1.2 GHz, 512 MB, 1 TB/s [R]; one butterfly,
    multiplier, adder and MAC per PE (assumed); only a peak power is stated ("up to 163.2 W"
    [V]), so its energy is an upper bound, labelled so."""
    bts = load_config("bts")
    assert (bts.clock_mhz, bts.word_bits, bts.lanes, bts.on_chip_bytes, bts.off_chip_gbps) == \
        (1200, 64, 2048, 512 * 2 ** 20, 1000)
    assert (bts.power_w, bts.power_basis) == (163.2, "peak") and bts.onchip_gbps is None
    for unit in ("ntt", "modmul", "modadd", "bconv", "automorphism"):
        assert bts.units[unit].total_lanes == 2048, unit
    assert "[R]" in bts.source and "[V]" in bts.source and "ISCA 2022" in bts.source
    from sim.cycle.workloads import workload_ops

    est = estimate(workload_ops("cmult")[0], bts)
    e = est.energy()                                        # a peak is not an average power:
    assert e["upper_bound"] and e["basis"] == "peak"        # the product is a bound
    assert e["joules"] == pytest.approx(163.2 * est.total_seconds)
    assert e["edp_js"] == pytest.approx(e["joules"] * est.total_seconds)


@pytest.mark.parametrize("preset", ["ark", "craterlake", "sharp", "bts"])
def test_decomposition_stays_exact_on_a_real_trace(preset):
    from sim.cycle.workloads import workload_ops

    ops, _ = workload_ops("mulrot")
    est = estimate(ops, load_config(preset))
    o, k = est.ops, est.kernels
    assert k["cycles"].sum() + o["stall_cycles"].sum() == est.total_cycles
    assert (o["cycles"] == o["compute_cycles"] + o["fill_cycles"] + o["stall_cycles"]).all()
    per_op = k.groupby("op_index")["exposed"].sum()
    assert (per_op.reindex(o["op_index"]).fillna(0).to_numpy() == o["compute_cycles"].to_numpy()).all()
    assert (o["compute_cycles"] <= o["serial_compute_cycles"]).all()
