"""Kernel costs: every kernel's cost is the properties of the RTL unit that runs it.

The NTT reference numbers are derived by hand from the architecture documented in
``hw/ntt.py`` (R = n/P rows, B = n/(2P) blocks per stage, butterfly latency Lb = Lm + 2,
T = B + Lb + 1 per stage, cycles_per_transform = 2R + log2(n) T + Lm + 1, initiation
interval = 2R + log2(n) T) with Lm = 4 (the Barrett and Montgomery multipliers'
documented latency), and compared with both the constructed ``NttUnit`` and the model.
"""
from __future__ import annotations

import math

import pytest

from hw.automorphism import AutomorphismUnit
from hw.bconv import BconvUnit
from hw.elementwise import ElementwiseUnit
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
def test_modmul_cost_from_elementwise_unit_properties(cls, name):
    mm = cls(ntt_primes(16, 32, 1)[0], 32)
    assert (mm.latency, mm.throughput) == (4, 1.0)
    ew = ElementwiseUnit(ntt_primes(16, 32, 1)[0], 32, 4, multiplier=name)
    # the elementwise unit: the multiplier, then one canonical add stage
    assert (ew.latency, ew.throughput) == (mm.latency + 1, 1.0)
    costs = UnitCosts(_cfg(multiplier=name))
    # 3 rows * 16 = 48 products on 1 unit * 4 lanes * 1.0 beat/cycle = 12 cycles + latency 5
    c = costs.cost(Kernel("modmul", 16, 3))
    assert (c.occupancy, c.fill, c.rtl_backed) == (12, ew.latency, True)
    # 50 products -> ceil(50/4) = 13 (n = 10 rows of 5 is not a ring, but the formula is generic)
    assert costs.cost(Kernel("modmul", 5, 10)).occupancy == 13


@pytest.mark.parametrize("multiplier", ["barrett", "montgomery", "shoup"])
def test_pipelined_unit_timing_does_not_depend_on_lanes(multiplier):
    """The cost model reads the elementwise and basis conversion timings at one lane."""
    q = ntt_primes(16, 32, 1)[0]
    src, dst = ntt_primes(16, 30, 5)[:3], ntt_primes(16, 30, 5)[3:]
    for P in (1, 3, 16):
        ew = ElementwiseUnit(q, 32, P, multiplier=multiplier)
        bc = BconvUnit(src, dst, 32, P, multiplier=multiplier)
        assert (ew.latency, ew.throughput) == (ElementwiseUnit(q, 32, 1, multiplier=multiplier).latency, 1.0)
        assert (bc.latency, bc.throughput) == (BconvUnit(src, dst, 32, 1, multiplier=multiplier).latency, 1.0)


def test_keyswitch_unit_costs_from_their_properties():
    costs = UnitCosts(_cfg())
    add = costs.cost(Kernel("modadd", 16, 3))
    assert (add.occupancy, add.fill, add.rtl_backed) == (12, 5, True)
    # bconv 2 -> 3 primes, n = 16, on a unit of 8 multipliers: each coefficient needs
    # 2 scalings + 2 * 3 MACs = 8 multiplies, so 16 * 8 / 8 = 16 beats (a one-lane BconvUnit:
    # 1 * 2 * (3 + 1) = 8 multipliers), fill = BconvUnit latency (4 + 5)
    src, dst = ntt_primes(16, 32, 5)[:2], ntt_primes(16, 32, 5)[2:]
    bu = BconvUnit(src, dst, 32, 1)
    bc = costs.cost(Kernel("bconv", 16, 3, src_primes=2, dst_primes=3))
    assert (bc.occupancy, bc.fill, bc.rtl_backed) == (16, bu.latency, True) == (16, 9, True)
    # count 5 (five polynomials): 80 coefficients * 8 multiplies / 8 = 80 beats
    assert costs.cost(Kernel("bconv", 16, 3, count=5, src_primes=2, dst_primes=3)).occupancy == 80
    # automorphism, P = 4 banks: 3 rows back to back at II = n/P = 4, fill cpr - II = 5
    au_unit = AutomorphismUnit(16, ntt_primes(16, 32, 1)[0], 32, 4, 5)
    assert (au_unit.cycles_per_row, au_unit.initiation_interval) == (9, 4)
    au = costs.cost(Kernel("automorphism", 16, 3))
    assert (au.occupancy, au.fill, au.rtl_backed) == (12, 5, True)
    # lanes that do not divide n: gcd(L, n) banks (L = 6 -> P = 2, II = 8)
    au6 = UnitCosts(_cfg(automorphism="{ count = 1, lanes = 6 }")).cost(Kernel("automorphism", 16, 1))
    assert (au6.occupancy, au6.fill) == (8, 9)


@pytest.mark.parametrize("cls,name", [(BarrettMultiplier, "barrett"), (MontgomeryMultiplier, "montgomery")])
def test_mac_costs_the_elementwise_unit(cls, name):
    """A fused ``acc + a * b`` is the elementwise unit's ``mac`` op: one beat per cycle,
    latency multiplier + 1 (the add stage)."""
    mm = cls(ntt_primes(16, 32, 1)[0], 32)
    costs = UnitCosts(_cfg(multiplier=name))
    c = costs.cost(Kernel("mac", 16, 3))
    # 48 multiply-accumulates on 4 lanes at 1/cycle = 12; fill 4 + 1
    assert (c.unit, c.occupancy, c.fill, c.rtl_backed) == ("modmul", 12, mm.latency + 1, True)
    # the same with no modadd unit: the adder is part of the fused lane
    c0 = UnitCosts(_cfg(multiplier=name, modadd="0")).cost(Kernel("mac", 16, 3))
    assert (c0.unit, c0.occupancy, c0.fill) == ("modmul", 12, 5)
    assert costs.cost(Kernel("mac", 16, 0)).cycles == 0


def test_absent_units_fall_back_or_are_refused():
    costs = UnitCosts(_cfg(modadd="0", bconv="0", automorphism="0"))
    add = costs.cost(Kernel("modadd", 16, 3))
    # on the modmul lanes: 48 / 4 = 12, fill = elementwise unit latency 5
    assert (add.unit, add.occupancy, add.fill) == ("modmul", 12, 5)
    # as MACs on the modmul lanes: 16 * 2 * (3 + 1) = 128 ops / 4 lanes; fill (2 + 1) * 5
    bc = costs.cost(Kernel("bconv", 16, 3, src_primes=2, dst_primes=3))
    assert (bc.unit, bc.occupancy, bc.fill, bc.rtl_backed) == ("modmul", 128 // 4, 15, True)
    with pytest.raises(ValueError, match="no automorphism unit"):
        costs.cost(Kernel("automorphism", 16, 3))
