# amaranth: UnusedElaboratable=no
"""hw.automorphism.AutomorphismUnit in Amaranth's simulator against sw.rtl_models, sw's
ring automorphism and Python integers."""
from __future__ import annotations

import random

import numpy as np
import pytest

from hw.automorphism import AutomorphismUnit
from hw.emit import to_verilog
from hw.simtools import run_stream
from sw import ntt as swntt
from sw.ntt_tables import ntt_tables
from sw.primes import ntt_primes
from sw.ring import kernels as K
from sw.ring.basis import RnsBasis
from sw.rtl_models import automorphism_destinations, automorphism_model


def coeff_reference(a, g, q):
    """Independent reference: a(X^g) mod (X^n + 1) by Python integers."""
    n = len(a)
    out = [0] * n
    for i, c in enumerate(a):
        e = i * g % (2 * n)
        sign = -1 if e >= n else 1
        out[e % n] = (out[e % n] + sign * c) % q
    return out


def eval_reference(A, g, q, psi):
    """Independent reference in evaluation order: slot k holds a(psi^(2 bitrev(k)+1)), so
    a(X^g) there is a at psi^(g (2 bitrev(k)+1)); find the slot holding that point."""
    n = len(A)
    bits = n.bit_length() - 1
    rev = [int(format(k, f"0{bits}b")[::-1], 2) if bits else 0 for k in range(n)]
    where = {pow(psi, 2 * rev[k] + 1, q): k for k in range(n)}
    return [A[where[pow(psi, g * (2 * rev[k] + 1), q)]] for k in range(n)]


def galois_elements(n):
    """Rotations by 1, 2, 3 and -1, and conjugation."""
    two_n = 2 * n
    return sorted({pow(5, r, two_n) for r in (1, 2, 3)} | {pow(5, -1, two_n), two_n - 1})


def random_row(q, n, seed):
    rng = random.Random(seed)
    row = [rng.randrange(q) for _ in range(n)]
    row[:3] = [0, 1, q - 1]
    return row


def beats(row, lanes):
    return [row[r * lanes:(r + 1) * lanes] for r in range(len(row) // lanes)]


def flat(outputs):
    return [x for b in outputs for x in b]


@pytest.mark.parametrize("order", ["coeff", "eval"])
@pytest.mark.parametrize("n,lanes,width,bits", [(16, 4, 32, 30), (32, 2, 64, 62), (64, 8, 17, 17)])
def test_stream_matches_reference(order, n, lanes, width, bits):
    q = ntt_primes(n, bits, 1)[0]
    psi = ntt_tables(q, n).psi
    for g in galois_elements(n)[:3] if n > 16 else galois_elements(n):
        dut = AutomorphismUnit(n, q, width, lanes, g, order)
        rows = [random_row(q, n, seed=g + t) for t in range(3)]
        inp = [b for row in rows for b in beats(row, lanes)]
        run = run_stream(dut, inp, len(inp), p_gap=0.3, p_stall=0.3, seed=g)
        got = flat(run.outputs)
        for t, row in enumerate(rows):
            out = got[t * n:(t + 1) * n]
            ref = coeff_reference(row, g, q) if order == "coeff" else eval_reference(row, g, q, psi)
            assert out == ref, (g, t)
            assert out == automorphism_model(row, q, g, order)


@pytest.mark.parametrize("n", [8, 64, 256])
def test_model_equals_software_automorphism(n):
    """Coefficient and evaluation orders against sw.ring's automorphism, and the NTT commutes."""
    primes = tuple(ntt_primes(n, 30, 2))
    basis = RnsBasis(primes, n)
    rng = np.random.default_rng(n)
    a = np.array([rng.integers(0, q, n) for q in primes], dtype=np.uint64)
    A = swntt.forward(a, primes)
    for g in galois_elements(n):
        sw_coeff = K.automorphism(a, basis, g, is_ntt=False)
        sw_eval = K.automorphism(A, basis, g, is_ntt=True)
        for r, q in enumerate(primes):
            assert automorphism_model(a[r].tolist(), q, g, "coeff") == sw_coeff[r].tolist()
            assert automorphism_model(A[r].tolist(), q, g, "eval") == sw_eval[r].tolist()
        assert (swntt.forward(sw_coeff, primes) == sw_eval).all()


@pytest.mark.parametrize("order", ["coeff", "eval"])
def test_schedule_is_conflict_free(order):
    """Every beat writes P distinct banks, for every odd g and every lane count (n = 64)."""
    n, q = 64, ntt_primes(64, 20, 1)[0]
    for lanes in (1, 2, 4, 8, 16, 32, 64):
        for g in range(1, 2 * n, 2):
            dut = AutomorphismUnit(n, q, 24, lanes, g, order)
            assert dut.bank_conflicts() == 0 and dut.conflict_cycles == 0
            slots = [(b, a) for beat in dut.bank_schedule() for b, a, _ in beat]
            assert sorted(a * lanes + b for b, a in slots) == list(range(n))   # a permutation
            dest = automorphism_destinations(n, g, order)
            assert [a * lanes + b for b, a in slots] == [d for d, _ in dest]


def test_largest_row_schedule():
    """n = 2^16: the construction-time check passes for a rotation and conjugation."""
    n = 1 << 16
    q = ntt_primes(n, 40, 1)[0]
    for g in (5, 2 * n - 1):
        assert AutomorphismUnit(n, q, 48, 16, g, "eval").bank_conflicts() == 0


@pytest.mark.parametrize("order", ["coeff", "eval"])
def test_latency_and_initiation_interval(order):
    n, lanes = 32, 4
    q = ntt_primes(n, 20, 1)[0]
    dut = AutomorphismUnit(n, q, 24, lanes, 5, order)
    R = n // lanes
    assert (dut.latency, dut.initiation_interval, dut.cycles_per_row) == (2, R, 2 * R + 1)
    assert dut.throughput == lanes and dut.memory_words == 2 * n
    rows = [random_row(q, n, seed=t) for t in range(4)]
    run = run_stream(dut, [b for row in rows for b in beats(row, lanes)], 4 * R)
    first_in = run.in_edges[::R]
    last_in = run.in_edges[R - 1::R]
    first_out = run.out_edges[::R]
    last_out = run.out_edges[R - 1::R]
    assert [o - i for i, o in zip(last_in, first_out)] == [dut.latency] * 4
    assert [b - a for a, b in zip(first_in, first_in[1:])] == [R] * 3
    assert last_out[0] - first_in[0] + 1 == dut.cycles_per_row
    assert run.in_edges == list(range(4 * R))          # no stall at all: conflict-free


def test_single_beat_rows():
    """P = n (one beat per row) still double buffers correctly."""
    n = 8
    q = ntt_primes(n, 20, 1)[0]
    dut = AutomorphismUnit(n, q, 24, n, 2 * n - 1, "coeff")
    rows = [random_row(q, n, seed=t) for t in range(4)]
    run = run_stream(dut, rows, 4, p_gap=0.3, p_stall=0.5, seed=2)
    assert run.outputs == [coeff_reference(r, 2 * n - 1, q) for r in rows]


Q = ntt_primes(16, 20, 1)[0]


@pytest.mark.parametrize("kwargs,name", [
    ({"galois": 4}, "galois"),
    ({"galois": 0}, "galois"),
    ({"galois": 33}, "galois"),
    ({"galois": -1}, "galois"),
    ({"galois": 5.0}, "galois"),
    ({"n": 24}, "n"),
    ({"n": 1 << 18}, "n"),
    ({"n": 1}, "n"),
    ({"lanes": 3}, "lanes"),
    ({"lanes": 0}, "lanes"),
    ({"lanes": 32}, "lanes"),
    ({"q": 91}, "q"),
    ({"q": 96}, "q"),
    ({"q": 1 << 30}, "q"),
    ({"width": 12}, "width"),
    ({"order": "natural"}, "order"),
])
def test_bad_parameters_refused(kwargs, name):
    args = {"n": 16, "q": Q, "width": 24, "lanes": 4, "galois": 5, "order": "eval"}
    args.update(kwargs)
    with pytest.raises(ValueError, match=name):
        AutomorphismUnit(**args)


@pytest.mark.parametrize("order", ["coeff", "eval"])
def test_verilog_emission(order):
    src = to_verilog(AutomorphismUnit(64, ntt_primes(64, 30, 1)[0], 32, 4, 5, order), "aut_top")
    for decl in ("module aut_top(", "input [127:0] i__payload;", "output [127:0] o__payload;",
                 "output i__ready;", "input o__ready;"):
        assert decl in src
