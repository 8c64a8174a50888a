# amaranth: UnusedElaboratable=no
"""hw.modmul pipelines in Amaranth's simulator against sw.modred and Python integers."""
from __future__ import annotations

import random

import pytest
from amaranth.back import verilog
from amaranth.hdl import ClockDomain, Module
from amaranth.sim import Simulator

from hw.modmul import BarrettMultiplier, MontgomeryMultiplier, ShoupMultiplier
from hw.simtools import run_stream
from sw import modred
from sw.ntt_tables import shoup
from sw.primes import is_prime


def largest_prime_below(limit: int) -> int:
    c = limit - 1
    while not is_prime(c):
        c -= 1
    return c


def reference(cls, q, width, beat):
    if cls is BarrettMultiplier:
        return beat["a"] * beat["b"] % q
    if cls is MontgomeryMultiplier:
        return beat["a"] * beat["b"] * pow(1 << width, -1, q) % q
    return beat["a"] * beat["w"] % q


def make_beats(cls, q, width, count, seed):
    rng = random.Random(seed)
    corners = [0, 1, q - 1]
    beats = []
    for j in range(count):
        a = corners[j % 3] if j < 9 else rng.randrange(q)
        b = corners[j // 3] if j < 9 else rng.randrange(q)
        if cls is ShoupMultiplier:
            a = (1 << width) - 1 if j == 9 else a           # Shoup accepts any W-bit a
            beats.append({"a": a, "w": b, "w_shoup": shoup(b, q, width)})
        else:
            beats.append({"a": a, "b": b})
    return beats


CLASSES = [BarrettMultiplier, MontgomeryMultiplier, ShoupMultiplier]
MODULI = [(16, largest_prime_below(1 << 16)), (17, 65537), (32, largest_prime_below(1 << 32)),
          (31, (1 << 30) + 3), (64, largest_prime_below(1 << 64)), (48, 3)]


@pytest.mark.parametrize("cls", CLASSES)
@pytest.mark.parametrize("width,q", MODULI)
def test_random_handshake(cls, width, q):
    dut = cls(q, width)
    beats = make_beats(cls, q, width, 60, seed=width)
    run = run_stream(dut, beats, len(beats), p_gap=0.35, p_stall=0.4, seed=q % 1000)
    assert run.outputs == [reference(cls, q, width, b) for b in beats]


@pytest.mark.parametrize("cls", CLASSES)
def test_latency_and_throughput(cls):
    q, width = largest_prime_below(1 << 32), 32
    dut = cls(q, width)
    beats = make_beats(cls, q, width, 20, seed=1)
    run = run_stream(dut, beats, len(beats))
    assert [o - i for i, o in zip(run.in_edges, run.out_edges)] == [dut.latency] * len(beats)
    # one beat per edge in steady state
    assert run.out_edges == list(range(run.out_edges[0], run.out_edges[0] + len(beats)))
    assert dut.throughput == 1.0
    assert dut.latency == (3 if cls is ShoupMultiplier else 4)


@pytest.mark.parametrize("cls", CLASSES)
def test_reset_empties_pipeline(cls):
    q, width = largest_prime_below(1 << 24), 24
    beats = make_beats(cls, q, width, 30, seed=5)
    # 10 beats enter, reset while they are in flight (and stalled), then 20 more
    run = run_stream(cls(q, width), beats, 20, p_stall=0.5, reset_after=10, reset_delay=2, seed=2)
    assert run.outputs == [reference(cls, q, width, b) for b in beats[10:]]


@pytest.mark.parametrize("cls", [BarrettMultiplier, MontgomeryMultiplier, ShoupMultiplier])
@pytest.mark.parametrize("width", [16, 33, 64])
def test_stage_registers_match_golden(cls, width):
    """Every named stage register equals the golden model's intermediate, cycle by cycle."""
    q = largest_prime_below(1 << width)
    dut = cls(q, width)
    beats = make_beats(cls, q, width, 16, seed=width)
    top = Module()
    top.domains.sync = ClockDomain("sync")
    top.submodules.dut = dut
    sim = Simulator(top)
    sim.add_clock(1e-8, domain="sync")
    checked = []

    def golden(beat):
        if cls is BarrettMultiplier:
            return modred.barrett_mul(beat["a"], beat["b"], q, width, intermediates=True)[1]
        if cls is MontgomeryMultiplier:
            return modred.montgomery_mul(beat["a"], beat["b"], q, width, intermediates=True)[1]
        return modred.shoup_mul(beat["a"], beat["w"], q, width, intermediates=True)[1]

    async def bench(ctx):
        ctx.set(dut.o.ready, 1)
        for edge in range(len(beats) + dut.latency):
            # beat j entered at edge j: in the cycle ending at edge e it sits in stage e - j
            for name, stage in dut._dp.stage_of.items():
                j = edge - stage
                if 0 <= j < len(beats):
                    assert ctx.get(dut._dp.stages[name]) == golden(beats[j])[name], (name, j)
                    checked.append(name)
            if edge < len(beats):
                ctx.set(dut.i.valid, 1)
                for k, v in beats[edge].items():
                    ctx.set(getattr(dut.i.payload, k), v)
            else:
                ctx.set(dut.i.valid, 0)
            await ctx.tick()

    sim.add_testbench(bench)
    sim.run()
    assert len(checked) == len(beats) * len(dut._dp.stage_of)


@pytest.mark.parametrize("cls", CLASSES)
@pytest.mark.parametrize("q,width,word", [
    (65537, 16, "q"), (65536, 20, "q"), (65521, 15, "width"), (65521, 65, "width"), (1, 16, "q"),
])
def test_bad_parameters(cls, q, width, word):
    with pytest.raises(ValueError, match=word):
        cls(q, width)


@pytest.mark.parametrize("cls", CLASSES)
def test_verilog_ports(cls):
    width = 32
    v = verilog.convert(cls(largest_prime_below(1 << width), width), name="mm")
    in_bits = 3 * width if cls is ShoupMultiplier else 2 * width
    for decl in (f"input [{in_bits - 1}:0] i__payload;", "input i__valid;", "output i__ready;",
                 f"output [{width - 1}:0] o__payload;", "output o__valid;", "input o__ready;",
                 "input clk;", "input rst;"):
        assert decl in v
