# amaranth: UnusedElaboratable=no
"""hw.ntt.NttUnit with ``buffering="double"``: two data memories, the butterflies on one
while the other unloads the previous result and loads the next input. Checked in
Amaranth's simulator against the textbook Python-integer transforms of tests/test_hw_ntt.py
and against the single-buffered unit's own timing."""
from __future__ import annotations

import random

import pytest

from hw.ntt import BUFFERINGS, NttUnit
from hw.simtools import run_stream

from test_hw_ntt import (beats, collect_stage_arrays, flat, fwd_stage_arrays, intt_ref,
                         inv_stage_arrays, ntt_ref, prime)

CONFIGS = [  # n, lanes, width, multiplier, scaling
    (8, 1, 16, "barrett", "multiplier"), (16, 2, 32, "montgomery", "halving"),
    (32, 8, 32, "barrett", "multiplier"), (64, 4, 64, "shoup", "halving"),
    (16, 1, 32, "shoup", "multiplier"), (128, 2, 32, "montgomery", "multiplier"),
    (64, 32, 32, "barrett", "halving"),
]


def _random_stream(n, lanes, q, rng, count):
    """``count`` transforms of random direction: ``(beats, expected outputs)``."""
    stream, want = [], []
    for _ in range(count):
        a = [rng.randrange(q) for _ in range(n)]
        inverse = rng.randrange(2)
        stream += beats(a, lanes, inverse)
        want += intt_ref(a, q, n) if inverse else ntt_ref(a, q, n)
    return stream, want


@pytest.mark.parametrize("n,lanes,width,multiplier,scaling", CONFIGS)
@pytest.mark.parametrize("p_gap,p_stall", [(0.0, 0.0), (0.3, 0.4), (0.0, 0.8), (0.7, 0.0)])
def test_double_transforms_with_gaps_and_backpressure(n, lanes, width, multiplier, scaling,
                                                      p_gap, p_stall):
    """Five transforms of mixed direction, back to back and under random input gaps and
    output stalls: every result is the textbook one, in order, canonical."""
    q = prime(n, width)
    rng = random.Random(7 * n + lanes)
    stream, want = _random_stream(n, lanes, q, rng, 5)
    dut = NttUnit(n, q, width, lanes, multiplier, scaling=scaling, buffering="double")
    run = run_stream(dut, stream, 5 * n // lanes, p_gap=p_gap, p_stall=p_stall,
                     seed=n + lanes + int(10 * p_stall))
    out = flat(run.outputs)
    assert out == want
    assert all(0 <= x < q for x in out)


@pytest.mark.parametrize("n,lanes,multiplier,scaling", [
    (8, 1, "barrett", "multiplier"), (32, 4, "barrett", "halving"), (64, 2, "shoup", "multiplier"),
    (16, 2, "montgomery", "multiplier"), (64, 8, "shoup", "halving")])
def test_double_timing_properties_exact(n, lanes, multiplier, scaling):
    """Latency and transform time are the single unit's plus the two swap cycles; back to
    back, results leave every ``initiation_interval = log2(n) T + 1`` cycles, where the
    single unit needs ``2R + log2(n) T``."""
    q = prime(n, 30)
    dut = NttUnit(n, q, 32, lanes, multiplier, scaling=scaling, buffering="double")
    ref = NttUnit(n, q, 32, lanes, multiplier, scaling=scaling)
    R, S, T = n // lanes, dut.stages, dut.stage_cycles
    assert (dut.latency, dut.cycles_per_transform) == (ref.latency + 2, ref.cycles_per_transform + 2)
    assert dut.initiation_interval == max(S * T, 2 * R) + 1 == S * T + 1
    assert ref.initiation_interval == 2 * R + S * T
    rng = random.Random(n)
    stream, want = _random_stream(n, lanes, q, rng, 4)
    run = run_stream(dut, stream, 4 * R)
    assert flat(run.outputs) == want
    for t in range(4):
        outs = run.out_edges[t * R:(t + 1) * R]
        assert outs == list(range(outs[0], outs[0] + R))            # each result as a burst
    assert run.out_edges[0] - run.in_edges[R - 1] == dut.latency
    assert run.out_edges[R - 1] - run.in_edges[0] + 1 == dut.cycles_per_transform
    assert run.in_edges[:R] == list(range(run.in_edges[0], run.in_edges[0] + R))
    periods = {run.out_edges[(t + 1) * R] - run.out_edges[t * R] for t in range(3)}
    assert periods == {dut.initiation_interval}
    # the next input loads while the previous transform computes: it is in before the
    # previous result leaves (the single unit takes it only once that result is unloaded)
    assert run.in_edges[2 * R - 1] < run.out_edges[0]
    single = run_stream(ref, stream, 4 * R)
    assert flat(single.outputs) == want
    assert single.in_edges[R] - single.in_edges[0] == ref.initiation_interval
    assert single.in_edges[R] > single.out_edges[0]
    assert single.out_edges[-1] - run.out_edges[-1] == 3 * (ref.initiation_interval
                                                            - dut.initiation_interval) - 2


@pytest.mark.parametrize("n,lanes,multiplier", [(16, 1, "barrett"), (32, 4, "shoup")])
def test_double_stage_arrays(n, lanes, multiplier):
    """The debug tap shows the textbook arrays stage by stage in double mode too."""
    q = prime(n, 31)
    a = [random.Random(n).randrange(q) for _ in range(n)]
    dut = NttUnit(n, q, 32, lanes, multiplier, buffering="double", debug=True)
    run, arrays = collect_stage_arrays(dut, beats(a, lanes, 0), n // lanes)
    assert arrays == fwd_stage_arrays(a, q, n)
    assert flat(run.outputs) == ntt_ref(a, q, n)
    dut = NttUnit(n, q, 32, lanes, multiplier, buffering="double", debug=True)
    run, arrays = collect_stage_arrays(dut, beats(a, lanes, 1), n // lanes)
    ref = inv_stage_arrays(a, q, n)             # the stages, then the scaled result
    assert arrays == ref[:-1]
    assert flat(run.outputs) == ref[-1] == intt_ref(a, q, n)


def test_double_memories():
    """A second pair of data banks, the same twiddle ROMs: ``n`` more words."""
    n, P, W = 64, 4, 32
    q = prime(n, 31)
    for mult in ("barrett", "shoup"):
        single = NttUnit(n, q, W, P, mult)
        double = NttUnit(n, q, W, P, mult, buffering="double")
        assert double.data_ram_words == 2 * single.data_ram_words == 2 * n
        assert double.memory_words == single.memory_words + n
        shapes = double.memory_shapes()
        assert shapes[:4] == [(f"bank{k}", n // P // 2, P * W) for k in range(4)]
        assert shapes[4:] == single.memory_shapes()[2:]


def test_double_verilog_has_four_data_banks():
    from amaranth.back import rtlil
    n, P = 32, 4
    q = prime(n, 31)
    text = rtlil.convert(NttUnit(n, q, 32, P, buffering="double"), name="top")
    for k in range(4):
        assert f"bank{k}" in text
    assert "bank4" not in text


def test_bad_buffering_is_refused_by_name():
    q = prime(16, 31)
    with pytest.raises(ValueError, match=r"buffering='triple' must be one of single, double"):
        NttUnit(16, q, 32, 2, buffering="triple")
    with pytest.raises(ValueError, match=r"buffering=2 must be one of"):
        NttUnit(16, q, 32, 2, buffering=2)
    assert BUFFERINGS == ("single", "double")


@pytest.mark.parametrize("cut,delay", [(8, 2), (16, 20), (16 + 8, 10), (32, 40)])
def test_double_reset_mid_work(cut, delay):
    """A reset while loading, while computing, while computing with the next input half
    loaded, and with one result unloading and another computing: the unit starts clean and
    the next transform is exact."""
    n, lanes, width = 32, 2, 32
    q = prime(n, width)
    dut = NttUnit(n, q, width, lanes, buffering="double")
    rng = random.Random(cut)
    x = [rng.randrange(q) for _ in range(2 * n)]
    y = [rng.randrange(q) for _ in range(n)]
    stream = (beats(x[:n], lanes, 0) + beats(x[n:], lanes, 1))[:cut] + beats(y, lanes, 1)
    run = run_stream(dut, stream, n // lanes, p_stall=0.3, reset_after=cut, reset_delay=delay,
                     seed=5)
    assert flat(run.outputs) == intt_ref(y, q, n)
