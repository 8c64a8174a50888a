# amaranth: UnusedElaboratable=no
"""hw.elementwise.ElementwiseUnit in Amaranth's simulator against sw.rtl_models and sw.ntt."""
from __future__ import annotations

import random

import numpy as np
import pytest

from hw.elementwise import ElementwiseUnit
from hw.emit import to_verilog
from hw.simtools import run_stream
from sw import ntt as swntt
from sw.primes import ntt_primes
from sw.rtl_models import ELEMENTWISE_OPS, elementwise_model

OPS = sorted(ELEMENTWISE_OPS)


def reference(op, a, b, c, q):
    """Independent Python-integer reference."""
    return {"mac": c + a * b, "msub": c - a * b, "add": c + a, "sub": c - a}[op] % q


def make_case(q, lanes, count, seed):
    rng = random.Random(seed)
    corners = [0, 1, q - 1]
    rows = []
    for j in range(count):
        op = OPS[j % 4]
        if j < 9:
            a = [corners[(j + k) % 3] for k in range(lanes)]
            b = [corners[(j // 3 + k) % 3] for k in range(lanes)]
            c = [corners[(2 * j + k) % 3] for k in range(lanes)]
        else:
            a, b, c = ([rng.randrange(q) for _ in range(lanes)] for _ in range(3))
        rows.append((op, a, b, c))
    return rows


@pytest.mark.parametrize("multiplier,width,bits,lanes", [
    ("barrett", 16, 14, 2), ("montgomery", 32, 30, 3), ("shoup", 64, 62, 2),
    ("barrett", 64, 64, 1), ("montgomery", 48, 47, 2), ("shoup", 17, 17, 4),
])
def test_stream_matches_models(multiplier, width, bits, lanes):
    q = ntt_primes(16, bits, 2)[1] if bits < 64 else ntt_primes(16, 64, 1)[0]
    dut = ElementwiseUnit(q, width, lanes, multiplier)
    rows = make_case(q, lanes, 40, seed=width + lanes)
    beats = [dut.beat(*r) for r in rows]
    run = run_stream(dut, beats, len(beats), p_gap=0.3, p_stall=0.3, seed=bits)
    for (op, a, b, c), out in zip(rows, run.outputs):
        want = [reference(op, a[k], b[k], c[k], q) for k in range(lanes)]
        assert out == want
        assert out == [elementwise_model(op, a[k], b[k], c[k], q, width, multiplier)
                       for k in range(lanes)]


def test_model_equals_software_kernels():
    """The golden model is bit-exact with sw.ntt's mul_add / add / sub kernels."""
    rng = np.random.default_rng(5)
    primes = ntt_primes(64, 30, 2) + ntt_primes(64, 20, 1)
    n = 64
    A, B, C = (np.array([rng.integers(0, q, n) for q in primes], dtype=np.uint64)
               for _ in range(3))
    for r in range(len(primes)):
        A[r, :3] = B[r, 3:6] = C[r, 6:9] = [0, 1, primes[r] - 1]
    sw_out = {"mac": swntt.pointwise_mul_add(A, B, C, primes),
              "add": swntt.pointwise_add(C, A, primes),
              "sub": swntt.pointwise_sub(C, A, primes)}
    for op, got in sw_out.items():
        for mul in ("barrett", "montgomery", "shoup"):
            model = [[elementwise_model(op, int(A[r, j]), int(B[r, j]), int(C[r, j]), q, 32, mul)
                      for j in range(n)] for r, q in enumerate(primes)]
            assert (np.array(model, dtype=np.uint64) == got).all(), (op, mul)


def test_model_intermediates_follow_modred():
    q, W = ntt_primes(16, 30, 1)[0], 32
    out, st = elementwise_model("msub", 5, q - 1, 3, q, W, "barrett", intermediates=True)
    assert st["prod"] == 5 * (q - 1) % q and st["mul"]["out"] == st["prod"]
    assert 0 <= st["mul"]["r"] < 2 * q and out == (3 - st["prod"]) % q
    _, st = elementwise_model("add", 7, 0, 0, q, W, "montgomery", intermediates=True)
    assert st["prod"] == 7


@pytest.mark.parametrize("multiplier,latency", [("barrett", 5), ("montgomery", 5), ("shoup", 4)])
def test_latency_and_throughput(multiplier, latency):
    q = ntt_primes(16, 20, 1)[0]
    dut = ElementwiseUnit(q, 24, 2, multiplier)
    assert dut.latency == latency and dut.throughput == 1.0 and dut.elements_per_cycle == 2
    beats = [dut.beat("mac", [j, 1], [2, 3], [4, j]) for j in range(20)]
    run = run_stream(dut, beats, len(beats))
    assert [o - i for i, o in zip(run.in_edges, run.out_edges)] == [latency] * 20
    assert run.in_edges == list(range(20))           # one beat per cycle, back to back


@pytest.mark.parametrize("kwargs,name", [
    ({"q": 97, "width": 16, "lanes": 0}, "lanes"),
    ({"q": 97, "width": 16, "lanes": 1.5}, "lanes"),
    ({"q": 97, "width": 16, "lanes": True}, "lanes"),
    ({"q": 96, "width": 16, "lanes": 1}, "q"),
    ({"q": 1 << 20, "width": 16, "lanes": 1}, "q"),
    ({"q": 97, "width": 8, "lanes": 1}, "width"),
    ({"q": 97, "width": 65, "lanes": 1}, "width"),
    ({"q": 97, "width": 16, "lanes": 1, "multiplier": "karatsuba"}, "multiplier"),
])
def test_bad_parameters_refused(kwargs, name):
    with pytest.raises(ValueError, match=name):
        ElementwiseUnit(**kwargs)


def test_bad_op_refused():
    dut = ElementwiseUnit(97, 16, 1)
    with pytest.raises(ValueError, match="op"):
        dut.beat("div", [1], [1], [1])
    with pytest.raises(ValueError, match="op"):
        elementwise_model("div", 1, 1, 1, 97, 16)


@pytest.mark.parametrize("multiplier", ["barrett", "shoup"])
def test_verilog_emission(multiplier):
    dut = ElementwiseUnit(ntt_primes(16, 30, 1)[0], 32, 2, multiplier)
    in_bits = (4 if multiplier == "shoup" else 3) * 64 + 2
    src = to_verilog(dut, "ew_top")
    for decl in ("module ew_top(", f"input [{in_bits - 1}:0] i__payload;",
                 "output [63:0] o__payload;", "input o__ready;", "output i__ready;"):
        assert decl in src
