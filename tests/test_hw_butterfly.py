# amaranth: UnusedElaboratable=no
"""hw.butterfly CT/GS butterflies in Amaranth's simulator against Python integers."""
from __future__ import annotations

import random

import pytest
from amaranth.back import verilog

from amaranth.hdl import ClockDomain, Module
from amaranth.sim import Simulator

from hw.butterfly import CTButterfly, GSButterfly, UnifiedButterflyDatapath, butterfly_layouts
from hw.simtools import run_stream
from sw import modred
from sw.modred import to_montgomery
from sw.ntt_tables import shoup
from sw.primes import is_prime, ntt_primes

MULTIPLIERS = ["barrett", "montgomery", "shoup"]
#: Latency of each butterfly by multiplier: multiplier latency + 1 (Shoup's is 3, else 4).
LATENCY = {"barrett": 5, "montgomery": 5, "shoup": 4}


def largest_prime_below(limit: int) -> int:
    c = limit - 1
    while not is_prime(c):
        c -= 1
    return c


def expected(cls, q, a, b, w):
    if cls is CTButterfly:
        return {"x": (a + w * b) % q, "y": (a - w * b) % q}
    return {"x": (a + b) % q, "y": (a - b) * w % q}


def beats_for(q, count, seed):
    rng = random.Random(seed)
    corners = [0, 1, q - 1]
    out = [{"a": a, "b": b, "w": w} for a in corners for b in corners for w in (1, q - 1)]
    out += [{"a": rng.randrange(q), "b": rng.randrange(q), "w": rng.randrange(q)}
            for _ in range(count - len(out))]
    return out


def hw_beat(multiplier, q, width, bt):
    """The port fields of a logical beat: Montgomery butterflies take the twiddle in
    Montgomery form w*2^W mod q, Shoup butterflies also its companion floor(w*2^W/q)."""
    if multiplier == "montgomery":
        return dict(bt, w=to_montgomery(bt["w"], q, width))
    if multiplier == "shoup":
        return dict(bt, w_shoup=shoup(bt["w"], q, width))
    return bt


def sw_product(multiplier, v, w, q, width, *, intermediates=False):
    """``v*w mod q`` as the sw.modred golden model of the multiplier computes it (with the
    twiddle in the form the hardware stores it)."""
    if multiplier == "barrett":
        return modred.barrett_mul(v, w, q, width, intermediates=intermediates)
    if multiplier == "montgomery":
        return modred.montgomery_mul(v, to_montgomery(w, q, width), q, width,
                                     intermediates=intermediates)
    return modred.shoup_mul(v, w, q, width, w_shoup=shoup(w, q, width),
                            intermediates=intermediates)


def sw_expected(cls, multiplier, q, width, a, b, w):
    """The butterfly from the sw golden model of its multiplier and canonical add/sub."""
    if cls is CTButterfly:
        t = sw_product(multiplier, b, w, q, width)
        return {"x": (a + t) % q, "y": (a - t) % q}
    return {"x": (a + b) % q, "y": sw_product(multiplier, (a - b) % q, w, q, width)}


@pytest.mark.parametrize("cls", [CTButterfly, GSButterfly])
@pytest.mark.parametrize("multiplier", MULTIPLIERS)
@pytest.mark.parametrize("width,q", [(16, largest_prime_below(1 << 16)),
                                     (32, ntt_primes(1 << 12, 31, 1)[0]),
                                     (64, largest_prime_below(1 << 64))])
def test_butterfly_random_handshake(cls, multiplier, width, q):
    dut = cls(q, width, multiplier)
    beats = beats_for(q, 40, seed=width)
    hw_beats = [hw_beat(multiplier, q, width, bt) for bt in beats]
    assert all(dut.twiddle_fields(bt["w"]) == {k: v for k, v in hb.items() if k.startswith("w")}
               for bt, hb in zip(beats, hw_beats))
    run = run_stream(dut, hw_beats, len(beats), p_gap=0.3, p_stall=0.4, seed=width + 1)
    assert run.outputs == [expected(cls, q, bt["a"], bt["b"], bt["w"]) for bt in beats]
    assert run.outputs == [sw_expected(cls, multiplier, q, width, bt["a"], bt["b"], bt["w"])
                           for bt in beats]


@pytest.mark.parametrize("cls", [CTButterfly, GSButterfly])
@pytest.mark.parametrize("multiplier", MULTIPLIERS)
def test_butterfly_latency(cls, multiplier):
    q = largest_prime_below(1 << 20)
    dut = cls(q, 20, multiplier)
    beats = [hw_beat(multiplier, q, 20, bt) for bt in beats_for(q, 20, seed=3)]
    run = run_stream(dut, beats, len(beats))
    assert [o - i for i, o in zip(run.in_edges, run.out_edges)] == [dut.latency] * len(beats)
    assert run.out_edges[-1] - run.out_edges[0] == len(beats) - 1
    assert dut.latency == LATENCY[multiplier] and dut.throughput == 1.0
    assert dut.twiddle_words == (2 if multiplier == "shoup" else 1)
    assert UnifiedButterflyDatapath(q, 20, multiplier).latency == LATENCY[multiplier] + 1


@pytest.mark.parametrize("cls", [CTButterfly, GSButterfly])
@pytest.mark.parametrize("multiplier", MULTIPLIERS)
@pytest.mark.parametrize("width", [32, 64])
def test_butterfly_multiplier_stages_match_sw_modred(cls, multiplier, width):
    """Inside the butterfly, every stage register of the multiplier equals the sw.modred
    golden model's intermediate for that beat, cycle by cycle, and the outputs equal the
    golden butterfly."""
    q = largest_prime_below(1 << width)
    dut = cls(q, width, multiplier)
    beats = beats_for(q, 24, seed=width + 7)
    top = Module()
    top.domains.sync = ClockDomain("sync")
    top.submodules.dut = dut
    sim = Simulator(top)
    sim.add_clock(1e-8, domain="sync")
    # the multiplier starts at the input (CT) or after the add/sub stage (GS)
    offset = 0 if cls is CTButterfly else 1
    operand = (lambda bt: bt["b"]) if cls is CTButterfly else (lambda bt: (bt["a"] - bt["b"]) % q)
    golden = [sw_product(multiplier, operand(bt), bt["w"], q, width, intermediates=True)[1]
              for bt in beats]
    checked, outputs = [], []

    async def bench(ctx):
        ctx.set(dut.o.ready, 1)
        stage_of = dut._mul.stage_of
        for edge in range(len(beats) + dut.latency + 1):
            for name, stage in stage_of.items():
                j = edge - stage - offset
                if 0 <= j < len(beats):
                    assert ctx.get(dut._mul.stages[name]) == golden[j][name], (name, j)
                    checked.append(name)
            if ctx.get(dut.o.valid):
                outputs.append({"x": ctx.get(dut.o.payload.x), "y": ctx.get(dut.o.payload.y)})
            if edge < len(beats):
                ctx.set(dut.i.valid, 1)
                for k, v in hw_beat(multiplier, q, width, beats[edge]).items():
                    ctx.set(getattr(dut.i.payload, k), v)
            else:
                ctx.set(dut.i.valid, 0)
            await ctx.tick()

    sim.add_testbench(bench)
    sim.run()
    assert len(checked) == len(beats) * len(dut._mul.stage_of)
    assert outputs == [sw_expected(cls, multiplier, q, width, bt["a"], bt["b"], bt["w"])
                       for bt in beats]


@pytest.mark.parametrize("cls", [CTButterfly, GSButterfly])
def test_butterfly_reset(cls):
    q = largest_prime_below(1 << 16)
    beats = beats_for(q, 24, seed=9)
    run = run_stream(cls(q, 16), beats, 16, p_stall=0.6, reset_after=8, reset_delay=1, seed=4)
    assert run.outputs == [expected(cls, q, bt["a"], bt["b"], bt["w"]) for bt in beats[8:]]


@pytest.mark.parametrize("kwargs,word", [
    (dict(q=65536 + 1, width=16), "q"), (dict(q=97, width=12), "width"),
    (dict(q=98, width=16), "q"), (dict(q=97, width=16, multiplier="karatsuba"), "'karatsuba'"),
    (dict(q=97, width=16, multiplier="Shoup"), "multiplier='Shoup'"),
    (dict(q=97, width=16, multiplier=None), "multiplier=None"),
])
def test_butterfly_bad_parameters(kwargs, word):
    for cls in (CTButterfly, GSButterfly):
        with pytest.raises(ValueError, match=word):
            cls(**kwargs)
    if "multiplier" in kwargs:     # the message names the rejected value and the choices
        with pytest.raises(ValueError, match="barrett.*montgomery.*shoup"):
            CTButterfly(**kwargs)
        with pytest.raises(ValueError, match="multiplier"):
            UnifiedButterflyDatapath(**kwargs)
        with pytest.raises(ValueError, match="multiplier"):
            butterfly_layouts(16, kwargs["multiplier"])


def test_butterfly_verilog_ports():
    v = verilog.convert(CTButterfly(65521, 16, "montgomery"), name="ct")
    for decl in ("input [47:0] i__payload;", "output [31:0] o__payload;", "input i__valid;",
                 "output i__ready;", "output o__valid;", "input o__ready;", "input rst;"):
        assert decl in v


@pytest.mark.parametrize("cls", [CTButterfly, GSButterfly])
def test_butterfly_shoup_ports(cls):
    """With Shoup the input beat carries the twiddle's companion: a, b, w, w_shoup (4W bits)."""
    dut = cls(65521, 16, "shoup")
    layout = dut.i.payload.shape()
    assert [(name, f.offset) for name, f in layout] == [("a", 0), ("b", 16), ("w", 32),
                                                        ("w_shoup", 48)]
    assert dut.twiddle_fields(12345) == {"w": 12345, "w_shoup": (12345 << 16) // 65521}
    v = verilog.convert(dut, name="bf")
    assert "input [63:0] i__payload;" in v and "output [31:0] o__payload;" in v
