"""Model vs RTL: the cycle model's unit costs equal the cycles measured in simulation.

Each case simulates the generated Verilog with Icarus through cocotb (``sim.rtl.runner``,
timing phase only: input always valid, output always ready) and compares the measured
numbers with what :class:`sim.cycle.units.UnitCosts` charges for the same unit.
"""
from __future__ import annotations

import pytest

from sim.cycle.config import loads_config
from sim.cycle.events import Kernel
from sim.cycle.units import UnitCosts, unit_modulus

pytestmark = pytest.mark.rtl


def _cfg(word_bits: int, lanes: int, multiplier: str):
    return loads_config(f"""
name = "rtl"
multiplier = "{multiplier}"
clock_mhz = 100
word_bits = {word_bits}
lanes = 4
on_chip_bytes = 4096
off_chip_gbps = 1
[units]
ntt = {{ count = 1, lanes = {lanes} }}
modmul = {{ count = 1, lanes = 1 }}
""")


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
    from sim.rtl.runner import run_rtl
    from sim.rtl.units import make_spec

    spec = make_spec("modmul", width=32, n=16, q=unit_modulus(16, 32), multiplier=multiplier)
    result = run_rtl(spec, vectors=64, phases=("timing",))
    assert result["pass"], result
    t = result["timing"]
    cost = UnitCosts(_cfg(32, 2, multiplier)).cost(Kernel("modmul", 16, 4))
    # one lane at the measured throughput: 64 products take 64 / throughput cycles, then
    # the measured latency drains the pipeline
    assert cost.fill == t["latency"]["measured"]
    assert cost.occupancy == 64 / t["throughput"]["measured"]
