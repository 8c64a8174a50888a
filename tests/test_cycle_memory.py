"""Residency of keys and plaintexts over a whole workload (sim.cycle.residency), bytes per
class, on-chip bandwidth, word-size limbs and energy, against figures computed by hand."""
from __future__ import annotations

import pytest

from sim.cycle.checks import ConfigError
from sim.cycle.config import loads_config
from sim.cycle.events import KeyUse, Op
from sim.cycle.model import estimate
from sim.cycle.residency import next_uses, simulate

CFG = """
name = "small"
clock_mhz = 100
word_bits = {wb}
lanes = 4
on_chip_bytes = {on_chip}
off_chip_gbps = 0.4
{extra}
[units]
ntt = {{ count = 1, lanes = 2 }}
modmul = 1
"""


def _cfg(on_chip=448, wb=32, extra=""):
    return loads_config(CFG.format(on_chip=on_chip, wb=wb, extra=extra))


# -- the residency model on its own -------------------------------------------------------

SEQ = list("ABCAB")          # five accesses, three items of 10 bytes, capacity 20


def test_lru_on_five_accesses():
    # A miss [A]; B miss [A B]; C miss, evict A [B C]; A miss, evict B [C A];
    # B miss, evict C [A B]: five misses, 50 bytes
    out = simulate(SEQ, [10] * 5, range(5), [20] * 5, "lru")
    assert out.tolist() == [10, 10, 10, 10, 10] and out.sum() == 50


def test_min_on_five_accesses():
    # A miss [A]; B miss [A B]; C miss: next uses A 3, B 4, C never -> C is farthest,
    # not kept (bypass); A hit; B hit: three misses, 30 bytes
    out = simulate(SEQ, [10] * 5, range(5), [20] * 5, "min")
    assert out.tolist() == [10, 10, 10, 0, 0] and out.sum() == 30
    assert next_uses(SEQ)[:2] == [3, 4]


def test_unnamed_items_stream_and_large_items_flush():
    # None: read each time, never kept (A stays); D (30 bytes > 20): read and flushes A
    out = simulate(["A", None, None, "A", "D", "A"], [10, 10, 10, 10, 30, 10], range(6), [20] * 6, "lru")
    assert out.tolist() == [10, 10, 10, 0, 30, 10]


def test_capacity_shrink_evicts():
    # op 1 leaves 0 bytes (a large ciphertext) although it accesses nothing: A is evicted
    out = simulate(["A", "A"], [10, 10], [0, 2], [20, 0, 20], "min")
    assert out.tolist() == [10, 10]


def test_unknown_policy_refused():
    with pytest.raises(ValueError, match="policy"):
        simulate(SEQ, [10] * 5, range(5), [20] * 5, "fifo")
    with pytest.raises(ConfigError, match="'policy'"):
        _cfg(extra='policy = "fifo"')


# -- the model: bytes per class --------------------------------------------------------------

def _pmult(pt_key):
    # 2 primes, n = 8: ciphertexts (2*2 + 2*2) * 8 words = 256 B; plaintext 2 * 8 words = 64 B
    return Op("pmult", 8, 2, 2, ct_in_polys=2, ct_out_polys=2, pt_polys=1, pt_key=pt_key, label="conv")


def _rotate():
    # key: 1 digit x 2 halves x (2 + 1) primes x 8 = 48 words = 192 B
    return Op("rotate", 8, 2, 2, ct_in_polys=2, ct_out_polys=2,
              keys=[KeyUse("galois:5", 1, 2, 1)], label="rot")


def _workload():
    return [_pmult("w"), _pmult("w"), _pmult("w"), _rotate(), _rotate()]


def test_bytes_per_class_with_reuse():
    # capacity 448 = 256 (ciphertexts) + 192: the plaintext is read once (64 B), the key once
    # (192 B); the plaintext is evicted (LRU) when the key needs room
    tot = estimate(_workload(), _cfg(448)).total()
    assert tot["offchip_bytes_by_class"] == {"keys": 192, "plaintexts": 64, "ciphertexts": 0}
    # 16 + 48 cycles of transfer at 4 bytes/cycle, nothing else
    assert tot["cycles"] == 64
    est = estimate(_workload(), _cfg(448))
    lab = est.by_label().set_index("label")
    assert lab.loc["conv", "pt_offchip_bytes"] == 64 and lab.loc["rot", "key_offchip_bytes"] == 192
    assert lab.loc["rot", "bound_class"] == "keys" and lab.loc["conv", "bound_class"] == "plaintexts"


def test_bytes_per_class_without_room():
    # capacity 300: 44 bytes beside the ciphertexts, less than either item: both streamed
    tot = estimate(_workload(), _cfg(300)).total()
    assert tot["offchip_bytes_by_class"] == {"keys": 384, "plaintexts": 192, "ciphertexts": 0}
    assert tot["min_bound"]["offchip_bytes"] == 576


def test_unnamed_plaintexts_are_read_at_every_use():
    ops = [_pmult(None), _pmult(None), _pmult(None)]
    assert estimate(ops, _cfg(448)).total()["offchip_bytes_by_class"]["plaintexts"] == 192


def test_onchip_bandwidth_bounds():
    # 0.8 GB/s at 100 MHz = 8 B/cycle; a pmult moves 256 + 64 = 320 B on chip: 40 cycles,
    # longer than its 16 cycles of off-chip transfer and its 0 of compute
    est = estimate([_pmult("w")], _cfg(448, extra="onchip_gbps = 0.8"))
    row = est.ops.iloc[0]
    assert row["onchip_bytes"] == 320 and row["onchip_cycles"] == 40 and row["cycles"] == 40
    assert row["bound_class"] == "onchip"


def test_word_limbs():
    # 60-bit words: the trace's 2 primes of 30 bits fit ceil(2 * 30 / 60) = 1 limb;
    # ciphertexts (2 + 2) * 1 * 8 words of 7.5 B = 240 B (trace limbs: 480 B)
    word = estimate([_pmult("w")], _cfg(448, wb=60, extra='limbs = "word"')).ops.iloc[0]
    trace = estimate([_pmult("w")], _cfg(448, wb=60)).ops.iloc[0]
    assert word["ct_bytes"] == 240 and trace["ct_bytes"] == 480


def test_energy_by_hand():
    # 64 cycles at 100 MHz = 0.64 us at 2 W: 1.28 uJ; EDP = 1.28e-6 * 0.64e-6
    est = estimate(_workload(), _cfg(448, extra="power_w = 2.0"))
    e = est.energy()
    assert e["joules"] == pytest.approx(1.28e-6) and e["edp_js"] == pytest.approx(1.28e-6 * 0.64e-6)
    assert est.ops["energy_j"].sum() == pytest.approx(1.28e-6)
    assert est.by_label()["energy_j"].sum() == pytest.approx(1.28e-6)


def test_energy_refused_without_power():
    est = estimate(_workload(), _cfg(448))
    with pytest.raises(ValueError, match="'power_w'"):
        est.energy()
    assert "'power_w'" in est.total()["energy"]["error"]


def test_memory_too_small_for_one_ciphertext_is_reported():
    # one ciphertext: 2 polynomials x 2 primes x 8 words x 4 B = 128 B > 100 B
    est = estimate([_pmult("w")], _cfg(100))
    assert any("'on_chip_bytes'" in n and "one ciphertext" in n for n in est.notes)
