# amaranth: UnusedElaboratable=no
"""hw.butterfly CT/GS butterflies in Amaranth's simulator against Python integers."""
from __future__ import annotations

import random

import pytest
from amaranth.back import verilog

from hw.butterfly import CTButterfly, GSButterfly
from hw.simtools import run_stream
from sw.modred import to_montgomery
from sw.primes import is_prime, ntt_primes


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


@pytest.mark.parametrize("cls", [CTButterfly, GSButterfly])
@pytest.mark.parametrize("multiplier", ["barrett", "montgomery"])
@pytest.mark.parametrize("width,q", [(16, largest_prime_below(1 << 16)),
                                     (32, ntt_primes(1 << 12, 31, 1)[0]),
                                     (64, largest_prime_below(1 << 64))])
def test_butterfly_random_handshake(cls, multiplier, width, q):
    dut = cls(q, width, multiplier)
    beats = beats_for(q, 40, seed=width)
    # Montgomery butterflies take the twiddle in Montgomery form w*2^W mod q.
    hw_beats = [dict(bt, w=to_montgomery(bt["w"], q, width)) if multiplier == "montgomery" else bt
                for bt in beats]
    run = run_stream(dut, hw_beats, len(beats), p_gap=0.3, p_stall=0.4, seed=width + 1)
    assert run.outputs == [expected(cls, q, bt["a"], bt["b"], bt["w"]) for bt in beats]


@pytest.mark.parametrize("cls", [CTButterfly, GSButterfly])
@pytest.mark.parametrize("multiplier", ["barrett", "montgomery"])
def test_butterfly_latency(cls, multiplier):
    q = largest_prime_below(1 << 20)
    dut = cls(q, 20, multiplier)
    beats = beats_for(q, 20, seed=3)
    run = run_stream(dut, beats, len(beats))
    assert [o - i for i, o in zip(run.in_edges, run.out_edges)] == [dut.latency] * len(beats)
    assert run.out_edges[-1] - run.out_edges[0] == len(beats) - 1
    assert dut.latency == 5 and dut.throughput == 1.0


@pytest.mark.parametrize("cls", [CTButterfly, GSButterfly])
def test_butterfly_reset(cls):
    q = largest_prime_below(1 << 16)
    beats = beats_for(q, 24, seed=9)
    run = run_stream(cls(q, 16), beats, 16, p_stall=0.6, reset_after=8, reset_delay=1, seed=4)
    assert run.outputs == [expected(cls, q, bt["a"], bt["b"], bt["w"]) for bt in beats[8:]]


@pytest.mark.parametrize("kwargs,word", [
    (dict(q=65536 + 1, width=16), "q"), (dict(q=97, width=12), "width"),
    (dict(q=98, width=16), "q"), (dict(q=97, width=16, multiplier="shoup"), "multiplier"),
])
def test_butterfly_bad_parameters(kwargs, word):
    for cls in (CTButterfly, GSButterfly):
        with pytest.raises(ValueError, match=word):
            cls(**kwargs)


def test_butterfly_verilog_ports():
    v = verilog.convert(CTButterfly(65521, 16, "montgomery"), name="ct")
    for decl in ("input [47:0] i__payload;", "output [31:0] o__payload;", "input i__valid;",
                 "output i__ready;", "output o__valid;", "input o__ready;", "input rst;"):
        assert decl in v
