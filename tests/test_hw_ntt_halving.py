# amaranth: UnusedElaboratable=no
"""hw.ntt.NttUnit with ``scaling="halving"``: n^-1 folded into halving Gentleman-Sande
butterflies, no output multipliers. Checked in Amaranth's simulator against the textbook
Python-integer transforms of tests/test_hw_ntt.py."""
from __future__ import annotations

import random
import re

import pytest
from amaranth.back import rtlil

from hw.butterfly import GSButterfly
from hw.ntt import SCALINGS, NttUnit
from hw.simtools import run_stream
from sw.ntt_tables import ntt_tables, shoup

from test_hw_ntt import (beats, collect_stage_arrays, flat, fwd_stage_arrays, intt_ref,
                         inv_stage_arrays, ntt_ref, prime)

CONFIGS = [  # n, lanes, width, multiplier
    (8, 1, 16, "barrett"), (16, 2, 32, "montgomery"), (32, 8, 32, "barrett"),
    (64, 4, 64, "barrett"), (16, 1, 32, "shoup"), (64, 8, 32, "shoup"), (128, 2, 32, "montgomery"),
]


@pytest.mark.parametrize("n,lanes,width,multiplier", CONFIGS)
def test_halving_transforms_with_gaps_and_backpressure(n, lanes, width, multiplier):
    q = prime(n, width)
    rng = random.Random(3 * n + lanes)
    a = [rng.randrange(q) for _ in range(n)]
    a[0], a[1], a[-1] = 0, q - 1, 1             # the odd and the largest residue are halved too
    A = ntt_ref(a, q, n)
    b = [rng.randrange(q) for _ in range(n)]
    dut = NttUnit(n, q, width, lanes, multiplier, scaling="halving")
    stream = beats(a, lanes, 0) + beats(A, lanes, 1) + beats(b, lanes, 1)
    run = run_stream(dut, stream, 3 * n // lanes, p_gap=0.3, p_stall=0.4, seed=n + lanes)
    out = flat(run.outputs)
    assert out[:n] == A
    assert out[n:2 * n] == a
    assert out[2 * n:] == intt_ref(b, q, n)
    assert all(0 <= x < q for x in out)


@pytest.mark.parametrize("n,lanes,multiplier", [(16, 1, "barrett"), (32, 4, "montgomery"),
                                                 (64, 8, "shoup")])
def test_halving_stage_arrays(n, lanes, multiplier):
    """Forward stages are the textbook ones; inverse stage s is the textbook array times
    2^-(s+1), so the last stage is the scaled result."""
    q = prime(n, 31)
    a = [random.Random(n).randrange(q) for _ in range(n)]
    dut = NttUnit(n, q, 32, lanes, multiplier, scaling="halving", debug=True)
    _, arrays = collect_stage_arrays(dut, beats(a, lanes, 0), n // lanes)
    assert arrays == fwd_stage_arrays(a, q, n)
    dut = NttUnit(n, q, 32, lanes, multiplier, scaling="halving", debug=True)
    run, arrays = collect_stage_arrays(dut, beats(a, lanes, 1), n // lanes)
    textbook = inv_stage_arrays(a, q, n)
    inv2 = pow(2, -1, q)
    want = [[x * pow(inv2, s + 1, q) % q for x in textbook[s]] for s in range(dut.stages)]
    assert arrays == want
    assert want[-1] == textbook[-1] == flat(run.outputs)


@pytest.mark.parametrize("n,lanes,multiplier", [(8, 1, "barrett"), (32, 4, "barrett"),
                                                 (64, 2, "shoup"), (16, 2, "montgomery")])
def test_halving_timing_properties_exact(n, lanes, multiplier):
    q = prime(n, 30)
    dut = NttUnit(n, q, 32, lanes, multiplier, scaling="halving")
    ref = NttUnit(n, q, 32, lanes, multiplier)
    assert dut.scaler_latency == 0
    assert dut.butterfly_latency == ref.butterfly_latency
    assert dut.latency == ref.latency - ref.scaler_latency
    assert dut.cycles_per_transform == ref.cycles_per_transform - ref.scaler_latency
    assert dut.initiation_interval == ref.initiation_interval
    a = [random.Random(5).randrange(q) for _ in range(n)]
    R = n // lanes
    run = run_stream(dut, beats(a, lanes, 0) + beats(a, lanes, 1), 2 * R)
    assert flat(run.outputs[:R]) == ntt_ref(a, q, n)
    assert flat(run.outputs[R:]) == intt_ref(a, q, n)
    assert run.out_edges[:R] == list(range(run.out_edges[0], run.out_edges[0] + R))
    assert run.out_edges[0] - run.in_edges[R - 1] == dut.latency
    assert run.out_edges[R - 1] - run.in_edges[0] + 1 == dut.cycles_per_transform
    assert run.in_edges[R] - run.in_edges[0] == dut.initiation_interval
    assert run.out_edges[R] - run.in_edges[2 * R - 1] == dut.latency


def test_halving_twiddles_and_roms():
    n, P, W = 32, 4, 32
    q = prime(n, 31)
    tb = ntt_tables(q, n)
    half = pow(2, -1, q)
    dut = NttUnit(n, q, W, P, "shoup", scaling="halving")
    inv = [w * half % q for w in tb.inv]
    assert list(dut.inverse_twiddles()) == inv
    assert dut.twiddle_table_words() == list(tb.fwd) + inv
    assert dut.twiddle_companion_words() == [shoup(w, q, W) for w in list(tb.fwd) + inv]
    mont = NttUnit(n, q, W, P, "montgomery", scaling="halving").twiddle_table_words()
    assert mont[n + 1:] == [w * (1 << W) % q for w in inv[1:]]
    # same memories as the multiplier variant: only the inverse ROM contents change
    assert dut.memory_shapes() == NttUnit(n, q, W, P, "shoup").memory_shapes()
    with pytest.raises(ValueError, match="no output multiplier"):
        dut.scale_constants()


def _mul_cells(unit) -> int:
    """``$mul`` cells of the unit's RTLIL (every modular multiplier has a fixed number)."""
    return len(re.findall(r"^\s*cell \$mul ", rtlil.convert(unit, name="top"), re.M))


@pytest.mark.parametrize("multiplier", ["barrett", "montgomery"])
def test_halving_drops_the_output_multipliers(multiplier):
    """The generated RTL loses exactly the P output multipliers: P times the ``$mul`` cells
    of one modular multiplier (counted in a standalone butterfly, which has one)."""
    n, P = 32, 4
    q = prime(n, 31)
    full = NttUnit(n, q, 32, P, multiplier)
    halving = NttUnit(n, q, 32, P, multiplier, scaling="halving")
    assert (full.multipliers, halving.multipliers) == (2 * P, P)
    per_multiplier = _mul_cells(GSButterfly(q, 32, multiplier))
    assert per_multiplier > 0
    assert _mul_cells(full) - _mul_cells(halving) == P * per_multiplier


def test_bad_scaling_is_refused_by_name():
    q = prime(16, 31)
    with pytest.raises(ValueError, match=r"scaling='exact' must be one of multiplier, halving"):
        NttUnit(16, q, 32, 2, scaling="exact")
    assert SCALINGS == ("multiplier", "halving")
