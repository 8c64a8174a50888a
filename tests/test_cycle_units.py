"""Kernel costs: NTT and modmul costs are the RTL components' own properties.

The NTT reference numbers are derived by hand from the architecture documented in
``hw/ntt.py`` (R = n/P rows, B = n/(2P) blocks per stage, butterfly latency Lb = Lm + 2,
T = B + Lb + 1 per stage, cycles_per_transform = 2R + log2(n) T + Lm + 1, initiation
interval = 2R + log2(n) T) with Lm = 4 (the Barrett and Montgomery multipliers'
documented latency), and compared with both the constructed ``NttUnit`` and the model.
"""
from __future__ import annotations

import math

import pytest

from hw.modmul import BarrettMultiplier, MontgomeryMultiplier
from hw.ntt import NttUnit
from sim.cycle.config import loads_config
from sim.cycle.events import Kernel
from sim.cycle.units import UnitCosts, unit_modulus
from sw.primes import ntt_primes


def _cfg(ntt_count=1, ntt_lanes=2, multiplier="barrett", word_bits=32, **units):
    u = {"modmul": "{ count = 1, lanes = 4 }", "modadd": "{ count = 1, lanes = 4 }",
         "bconv": "{ count = 1, lanes = 8 }", "automorphism": "{ count = 1, lanes = 4 }"}
    u.update(units)
    body = "\n".join(f"{k} = {v}" for k, v in u.items())
    return loads_config(f"""
name = "t"
multiplier = "{multiplier}"
clock_mhz = 100
word_bits = {word_bits}
lanes = 4
on_chip_bytes = 4096
off_chip_gbps = 0.4
[units]
ntt = {{ count = {ntt_count}, lanes = {ntt_lanes} }}
{body}
""")


def _by_hand(n, P, Lm=4):
    R, B, Lb = n // P, n // (2 * P), Lm + 2
    T = B + Lb + 1
    stages = int(math.log2(n))
    return 2 * R + stages * T + Lm + 1, 2 * R + stages * T   # (cpt, II)


@pytest.mark.parametrize("n,P", [(16, 1), (16, 2), (1024, 4), (1024, 8), (1 << 16, 8)])
@pytest.mark.parametrize("multiplier", ["barrett", "montgomery"])
def test_single_ntt_costs_exactly_cycles_per_transform(n, P, multiplier):
    cpt, ii = _by_hand(n, P)
    unit = NttUnit(n, ntt_primes(n, 32, 1)[0], 32, P, multiplier=multiplier)
    assert (unit.cycles_per_transform, unit.initiation_interval) == (cpt, ii)
    costs = UnitCosts(_cfg(ntt_lanes=P, multiplier=multiplier))
    for kind in ("ntt", "intt"):
        c = costs.cost(Kernel(kind, n, 1))
        assert c.cycles == cpt and c.occupancy == ii and c.rtl_backed


def test_ntt_over_primes_runs_units_in_parallel():
    # n = 16, P = 2: cpt = 16 + 4*11 + 5 = 65, II = 60 (by hand, see module docstring)
    assert _by_hand(16, 2) == (65, 60)
    costs = UnitCosts(_cfg(ntt_count=3, ntt_lanes=2))
    # 7 rows on 3 units: ceil(7/3) = 3 back-to-back transforms: 2*60 + 65 = 185
    c = costs.cost(Kernel("ntt", 16, 7))
    assert (c.occupancy, c.fill, c.cycles) == (180, 5, 185)
    # count multiplies rows: primes=2, count=3 -> 6 rows -> 2 per unit -> 60 + 65
    assert costs.cost(Kernel("intt", 16, 2, count=3)).cycles == 125


def test_ntt_cost_at_word_width_36():
    cpt, ii = _by_hand(1 << 16, 8)
    assert (cpt, ii) == (82037, 82032)
    costs = UnitCosts(_cfg(ntt_lanes=8, word_bits=36))
    assert costs.cost(Kernel("ntt", 1 << 16, 1)).cycles == 82037
    assert unit_modulus(1 << 16, 36) < 2**36 and unit_modulus(1 << 16, 36) % (2 << 16) == 1


@pytest.mark.parametrize("cls,name", [(BarrettMultiplier, "barrett"), (MontgomeryMultiplier, "montgomery")])
def test_modmul_cost_from_multiplier_properties(cls, name):
    mm = cls(ntt_primes(16, 32, 1)[0], 32)
    assert (mm.latency, mm.throughput) == (4, 1.0)
    costs = UnitCosts(_cfg(multiplier=name))
    # 3 rows * 16 = 48 products on 1 unit * 4 lanes * 1.0/cycle = 12 cycles + latency 4
    c = costs.cost(Kernel("modmul", 16, 3))
    assert (c.occupancy, c.fill, c.rtl_backed) == (12, mm.latency, True)
    # 50 products -> ceil(50/4) = 13 (n = 10 rows of 5 is not a ring, but the formula is generic)
    assert costs.cost(Kernel("modmul", 5, 10)).occupancy == 13


def test_formula_units_are_flagged_not_rtl_backed():
    costs = UnitCosts(_cfg())
    add = costs.cost(Kernel("modadd", 16, 3))
    assert (add.occupancy, add.fill, add.rtl_backed) == (12, 1, False)
    # bconv 2 -> 3 primes, n = 16: 16 * 2 * (3 + 1) = 128 MACs / 8 lanes = 16; fill 4 + 2
    bc = costs.cost(Kernel("bconv", 16, 3, src_primes=2, dst_primes=3))
    assert (bc.occupancy, bc.fill, bc.rtl_backed) == (16, 6, False)
    # automorphism: 48 words / 4 lanes = 12; fill n / lanes = 4
    au = costs.cost(Kernel("automorphism", 16, 3))
    assert (au.occupancy, au.fill, au.rtl_backed) == (12, 4, False)


@pytest.mark.parametrize("cls,name", [(BarrettMultiplier, "barrett"), (MontgomeryMultiplier, "montgomery")])
def test_mac_costs_the_multiplier_throughput_and_both_latencies(cls, name):
    """A fused ``acc + a * b`` runs on the modmul lanes with the adder chained behind the
    multiplier: the multiplier's throughput, its latency plus the adder's (1)."""
    mm = cls(ntt_primes(16, 32, 1)[0], 32)
    costs = UnitCosts(_cfg(multiplier=name))
    c = costs.cost(Kernel("mac", 16, 3))
    # 48 multiply-accumulates on 4 lanes at 1/cycle = 12; fill 4 + 1
    assert (c.unit, c.occupancy, c.fill, c.rtl_backed) == ("modmul", 12, mm.latency + 1, False)
    # the same with no modadd unit: the adder is part of the fused lane
    c0 = UnitCosts(_cfg(multiplier=name, modadd="0")).cost(Kernel("mac", 16, 3))
    assert (c0.unit, c0.occupancy, c0.fill) == ("modmul", 12, 5)
    assert costs.cost(Kernel("mac", 16, 0)).cycles == 0


def test_absent_units_fall_back_or_are_refused():
    costs = UnitCosts(_cfg(modadd="0", bconv="0", automorphism="0"))
    add = costs.cost(Kernel("modadd", 16, 3))
    # on the modmul lanes: 48 / 4 = 12, fill = multiplier latency 4
    assert (add.unit, add.occupancy, add.fill) == ("modmul", 12, 4)
    bc = costs.cost(Kernel("bconv", 16, 3, src_primes=2, dst_primes=3))
    assert (bc.unit, bc.occupancy) == ("modmul", 128 // 4)
    with pytest.raises(ValueError, match="no automorphism unit"):
        costs.cost(Kernel("automorphism", 16, 3))
