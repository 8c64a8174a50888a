"""Model vs RTL: the cycle model's unit costs equal the cycles measured in simulation.

Each case simulates the generated Verilog with Icarus through cocotb (``sim.rtl.runner``,
timing phase only: input always valid, output always ready) and compares the measured
numbers with what :class:`sim.cycle.units.UnitCosts` charges for the same unit: the NTT,
the elementwise unit (``modmul``, ``modadd``, ``mac`` kernels), the basis conversion unit
and the automorphism unit. A kernel of ``B`` beats costs what a back-to-back stream of
``B`` beats takes from its first input to its last output transfer.
"""
from __future__ import annotations

import pytest

from sim.cycle.config import loads_config
from sim.cycle.events import Kernel
from sim.cycle.units import UnitCosts, unit_modulus

pytestmark = pytest.mark.rtl


def _unit_cfg(word_bits: int, multiplier: str, ntt_lanes: int = 2, **units) -> object:
    """A one-of-each configuration: an NTT unit of ``ntt_lanes`` lanes and ``units``
    (``kind=lanes``, one unit each)."""
    body = "\n".join(f"{k} = {{ count = 1, lanes = {v} }}" for k, v in units.items())
    return loads_config(f"""
name = "rtl"
multiplier = "{multiplier}"
clock_mhz = 100
word_bits = {word_bits}
lanes = 4
on_chip_bytes = 4096
off_chip_gbps = 1
[units]
ntt = {{ count = 1, lanes = {ntt_lanes} }}
{body}
""")


def _cfg(word_bits: int, lanes: int, multiplier: str):
    return _unit_cfg(word_bits, multiplier, ntt_lanes=lanes, modmul=1)


@pytest.mark.parametrize("n,lanes,width,multiplier", [
    (16, 2, 32, "barrett"),
    (64, 4, 36, "montgomery"),
    (32, 8, 32, "barrett"),
])
def test_ntt_cost_equals_measured_cycles(n, lanes, width, multiplier):
    from sim.rtl.runner import run_rtl
    from sim.rtl.units import make_spec

    spec = make_spec("ntt", width=width, n=n, q=unit_modulus(n, width), lanes=lanes,
                     multiplier=multiplier)
    result = run_rtl(spec, transforms=1, phases=("timing",))
    assert result["pass"], result
    measured = result["timing"]["cycles_per_transform"]["measured"]
    cost = UnitCosts(_cfg(width, lanes, multiplier)).cost(Kernel("ntt", n, 1))
    # one transform alone: first input to last output, both inclusive
    assert cost.cycles == measured
    # every transform of the run took the same number of cycles
    assert {t["cycles"] for t in result["per_transform"].values()} == {measured}


@pytest.mark.parametrize("multiplier", ["barrett", "montgomery"])
def test_modmul_cost_equals_measured_latency_and_throughput(multiplier):
    """modmul kernels run on the elementwise unit (``mac`` with ``c = 0``): one lane here."""
    from sim.rtl.runner import run_rtl
    from sim.rtl.units import make_spec

    spec = make_spec("mac", width=32, n=16, q=unit_modulus(16, 32), multiplier=multiplier)
    result = run_rtl(spec, vectors=64, phases=("timing",))
    assert result["pass"], result
    t = result["timing"]
    cost = UnitCosts(_cfg(32, 2, multiplier)).cost(Kernel("modmul", 16, 4))
    # one lane at the measured throughput: 64 products take 64 / throughput cycles, then
    # the measured latency drains the pipeline
    assert cost.fill == t["latency"]["measured"]
    assert cost.occupancy == 64 / t["throughput"]["measured"]
    # and the whole kernel is the measured stream: first input to last output, inclusive
    assert cost.cycles == result["phases"]["timing"]["stream_cycles"]


@pytest.mark.parametrize("kernel,n,count,lanes,width,multiplier", [
    ("mac", 16, 2, 1, 32, "barrett"),        # 32 beats
    ("modadd", 32, 1, 4, 64, "montgomery"),  # 8 beats of 4 lanes
    ("mac", 64, 1, 2, 36, "barrett"),        # 32 beats of 2 lanes
])
def test_elementwise_cost_equals_measured_stream(kernel, n, count, lanes, width, multiplier):
    from sim.rtl.runner import run_rtl
    from sim.rtl.units import make_spec

    beats = n * count // lanes
    spec = make_spec("mac", width=width, n=n, q=unit_modulus(n, width), lanes=lanes,
                     multiplier=multiplier)
    result = run_rtl(spec, vectors=beats, phases=("timing",))
    assert result["pass"], result
    units = {"modmul": 1, "modadd": lanes} if kernel == "modadd" else {"modmul": lanes}
    cost = UnitCosts(_unit_cfg(width, multiplier, **units)).cost(Kernel(kernel, n, count))
    assert cost.cycles == result["phases"]["timing"]["stream_cycles"]
    assert cost.fill == result["timing"]["latency"]["measured"]


@pytest.mark.parametrize("n,count,src,dst,lanes,width,multiplier", [
    (16, 1, 2, 3, 2, 32, "barrett"),     # 8 beats
    (32, 2, 3, 1, 4, 64, "montgomery"),  # 16 beats
    (64, 1, 4, 2, 8, 36, "barrett"),     # 8 beats
])
def test_bconv_cost_equals_measured_stream(n, count, src, dst, lanes, width, multiplier):
    from sim.cycle.hwprops import bconv_unit_primes
    from sim.rtl.runner import run_rtl
    from sim.rtl.units import make_spec

    s, d = bconv_unit_primes(src, dst, width)
    spec = make_spec("bconv", width=width, src_primes=list(s), dst_primes=list(d), lanes=lanes,
                     multiplier=multiplier)
    result = run_rtl(spec, vectors=n * count // lanes, phases=("timing",))
    assert result["pass"], result
    # the RTL unit of `lanes` coefficients a beat holds lanes * src * (dst + 1) multipliers,
    # the figure a configuration states for its basis conversion
    cost = UnitCosts(_unit_cfg(width, multiplier, modmul=1, bconv=lanes * src * (dst + 1))).cost(
        Kernel("bconv", n, dst, count=count, src_primes=src, dst_primes=dst))
    # n * count coefficients, all limbs of `lanes` coefficients a beat, back to back
    assert cost.occupancy == n * count // lanes
    assert cost.cycles == result["phases"]["timing"]["stream_cycles"]


@pytest.mark.parametrize("n,lanes,width", [(16, 2, 32), (64, 4, 36), (32, 32, 64)])
def test_automorphism_cost_equals_measured_rows(n, lanes, width):
    from sim.cycle.hwprops import automorphism_galois
    from sim.rtl.runner import run_rtl
    from sim.rtl.units import make_spec

    spec = make_spec("automorphism", width=width, n=n, q=unit_modulus(n, width), lanes=lanes,
                     galois=automorphism_galois(n))
    result = run_rtl(spec, phases=("timing",), timing_transforms=2)
    assert result["pass"], result
    costs = UnitCosts(_unit_cfg(width, "barrett", modmul=1, automorphism=lanes))
    # one row alone: first input to last output, inclusive
    assert costs.cost(Kernel("automorphism", n, 1)).cycles == \
        result["timing"]["cycles_per_row"]["measured"]
    # two rows back to back
    assert costs.cost(Kernel("automorphism", n, 2)).cycles == \
        result["phases"]["timing"]["stream_cycles"]
