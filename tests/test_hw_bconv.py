# amaranth: UnusedElaboratable=no
"""hw.bconv.BconvUnit in Amaranth's simulator against sw.rtl_models, sw.kernels.bconv and
Python integers."""
from __future__ import annotations

import random

import numpy as np
import pytest

from hw.bconv import BconvUnit
from hw.emit import pack, payload_fields, to_verilog, unpack
from hw.simtools import get_value, run_stream
from sw.kernels.bconv import bconv, bconv_constants, get_bconv_plan
from sw.primes import ntt_primes
from sw.rtl_models import bconv_model, bconv_model_rows


def reference(col, src, dst):
    """Independent Python-integer fast base conversion of one coefficient."""
    Q = 1
    for q in src:
        Q *= q
    out = []
    for p in dst:
        s = 0
        for x, q in zip(col, src):
            s += (x * pow(Q // q, -1, q) % q) * (Q // q)
        out.append(s % p)
    return out


def split_primes(bits, k, l):
    ps = ntt_primes(16, bits, k + l)
    return tuple(ps[:k]), tuple(ps[k:])


def random_rows(src, n, seed):
    rng = random.Random(seed)
    rows = [[rng.randrange(q) for _ in range(n)] for q in src]
    for i, q in enumerate(src):   # corners: 0, 1, q-1 in every row, mixed across rows
        for c, v in enumerate((0, 1, q - 1)):
            rows[i][(c + i) % n] = v
    return rows


def tiles(rows, lanes):
    n = len(rows[0])
    return [[row[t * lanes:(t + 1) * lanes] for row in rows] for t in range(n // lanes)]


def untile(outputs, l):
    return [[x for beat in outputs for x in beat[j]] for j in range(l)]


@pytest.mark.parametrize("multiplier,width,bits,k,l,lanes", [
    ("barrett", 32, 30, 3, 2, 2),
    ("montgomery", 16, 14, 2, 3, 1),
    ("shoup", 64, 62, 3, 2, 2),
    ("barrett", 64, 64, 2, 2, 1),
    ("montgomery", 48, 45, 4, 1, 3),
])
def test_stream_matches_reference(multiplier, width, bits, k, l, lanes):
    src, dst = split_primes(bits, k, l)
    dut = BconvUnit(src, dst, width, lanes, multiplier)
    n = 4 * lanes
    rows = random_rows(src, n, seed=bits + k)
    run = run_stream(dut, tiles(rows, lanes), n // lanes, p_gap=0.3, p_stall=0.3, seed=width)
    got = untile(run.outputs, l)
    want = [reference([rows[i][c] for i in range(k)], src, dst) for c in range(n)]
    assert got == [[want[c][j] for c in range(n)] for j in range(l)]
    assert got == bconv_model_rows(rows, src, dst, width, multiplier)


def test_constants_are_the_software_plans():
    src, dst = split_primes(30, 4, 3)
    qhinv, cmat = bconv_constants(src, dst)
    plan = get_bconv_plan(src, dst)
    assert [int(v) for v in plan.qhinv] == list(qhinv)
    assert plan.cmat.tolist() == [list(r) for r in cmat]
    assert BconvUnit(src, dst, 32, 1).qhat_inv == qhinv


@pytest.mark.parametrize("k,l", [(1, 2), (3, 4), (5, 2)])
def test_model_equals_software_bconv(k, l):
    """The golden model's residues are those of sw's fast conversion (ModUp's, exact=False)."""
    src, dst = split_primes(30, k, l)
    rows = random_rows(src, 64, seed=k * l)
    sw_out = bconv(np.array(rows, dtype=np.uint64), src, dst)
    for mul in ("barrett", "montgomery", "shoup"):
        assert (np.array(bconv_model_rows(rows, src, dst, 32, mul), dtype=np.uint64)
                == sw_out).all(), mul


def test_register_stages_equal_model_intermediates():
    """Without stalls, each named stage register holds the model's value at its stage."""
    src, dst = split_primes(30, 3, 2)
    dut = BconvUnit(src, dst, 32, 2, "shoup")
    rows = random_rows(src, 8, seed=3)
    beats = tiles(rows, 2)
    stage_of = dut.stage_of()
    seen = []

    def tap(ctx, edge):
        for name, s in stage_of.items():
            b = edge - s                    # beat accepted at edge b sits in stage s now
            if 0 <= b < len(beats):
                for c in range(2):
                    seen.append((b, c, name, [get_value(ctx, sig) for sig in dut.stages[name][c]]))

    run_stream(dut, beats, len(beats), on_cycle=tap)
    assert len(seen) == len(beats) * 2 * len(stage_of)
    for b, c, name, vals in seen:
        col = [beats[b][i][c] for i in range(3)]
        assert vals == bconv_model(col, src, dst, 32, "shoup", intermediates=True)[1][name]
        if name == "r":
            assert all(0 <= v < 2 * p for v, p in zip(vals, dst))


@pytest.mark.parametrize("multiplier,latency", [("barrett", 9), ("montgomery", 9), ("shoup", 8)])
def test_latency_and_throughput(multiplier, latency):
    src, dst = split_primes(20, 2, 2)
    dut = BconvUnit(src, dst, 24, 2, multiplier)
    assert dut.latency == latency and dut.throughput == 1.0 and dut.elements_per_cycle == 2
    rows = random_rows(src, 24, seed=1)
    run = run_stream(dut, tiles(rows, 2), 12)
    assert run.in_edges == list(range(12))
    assert [o - i for i, o in zip(run.in_edges, run.out_edges)] == [latency] * 12


P30 = ntt_primes(16, 30, 3)


@pytest.mark.parametrize("args,name", [
    (((P30[0],), (P30[0], P30[1]), 32, 1), "dst_primes"),
    (((), (P30[1],), 32, 1), "src_primes"),
    (((P30[0], P30[0]), (P30[1],), 32, 1), "src_primes"),
    (((P30[0],), (P30[1], P30[1]), 32, 1), "dst_primes"),
    (((P30[0], 91), (P30[1],), 32, 1), "src_primes"),          # 91 = 7 * 13
    (((P30[0],), (P30[1], 1 << 20), 32, 1), "dst_primes"),
    (((P30[0],), (P30[1],), 24, 1), "src_primes"),             # 30-bit prime, 24-bit words
    (((P30[0],), (P30[1],), 8, 1), "width"),
    (((P30[0],), (P30[1],), 65, 1), "width"),
    (((P30[0],), (P30[1],), 32, 0), "lanes"),
    (((P30[0],), (P30[1],), 32, "2"), "lanes"),
    (((P30[0],), (P30[1],), 32, 1, "naive"), "multiplier"),
    ((P30[0], (P30[1],), 32, 1), "src_primes"),
])
def test_bad_parameters_refused(args, name):
    with pytest.raises(ValueError, match=name):
        BconvUnit(*args)


def test_verilog_emission():
    src, dst = split_primes(30, 2, 3)
    src_v = to_verilog(BconvUnit(src, dst, 32, 2, "montgomery"), "bconv_top")
    for decl in ("module bconv_top(", "input [127:0] i__payload;", "output [191:0] o__payload;",
                 "input i__valid;", "output o__valid;"):
        assert decl in src_v


def test_port_packing_of_nested_tiles():
    """payload[i][c] sits at bits [(i*P + c)*W, +W) of the port (hw.emit's packing)."""
    src, dst = split_primes(30, 2, 1)
    lay = BconvUnit(src, dst, 32, 3).i.payload.shape()
    assert payload_fields(lay)["[1][2]"] == ((1 * 3 + 2) * 32, 32)
    v = [[1, 2, 3], [4, 5, 6]]
    assert unpack(lay, pack(lay, v)) == v
