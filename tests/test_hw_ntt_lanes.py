# amaranth: UnusedElaboratable=no
"""hw.ntt.NttUnit with more than 8 lanes (P = 16, 32) and its twiddle-ROM storage.

The architecture does not depend on P (any power of two P <= n/2): these checks run the
P = 16 and P = 32 units in Amaranth's simulator against the textbook NTT of
``tests/test_hw_ntt.py`` (stage by stage through the debug tap, with gaps and
back-pressure, and the no-stall timing properties), and once through cocotb + Icarus.
"""
from __future__ import annotations

import random

import pytest

from hw.ntt import TESTED_LANES, NttUnit, check_lanes, valid_lanes
from hw.simtools import run_stream
from sw.ntt_tables import ntt_tables
from test_hw_ntt import (beats, collect_stage_arrays, flat, fwd_stage_arrays, intt_ref,
                         inv_stage_arrays, ntt_ref, prime)


@pytest.mark.parametrize("n,lanes,multiplier", [(32, 16, "barrett"), (64, 16, "montgomery"),
                                                 (64, 32, "barrett")])
def test_wide_unit_stages_and_result(n, lanes, multiplier):
    q = prime(n, 31)
    rng = random.Random(n + lanes)
    a = [rng.randrange(q) for _ in range(n)]
    dut = NttUnit(n, q, 32, lanes, multiplier, debug=True)
    run, arrays = collect_stage_arrays(dut, beats(a, lanes, 0), n // lanes)
    assert arrays == fwd_stage_arrays(a, q, n)
    assert flat(run.outputs) == ntt_ref(a, q, n)
    dut = NttUnit(n, q, 32, lanes, multiplier, debug=True)
    run, arrays = collect_stage_arrays(dut, beats(a, lanes, 1), n // lanes)
    ref = inv_stage_arrays(a, q, n)
    assert arrays == ref[:-1] and flat(run.outputs) == ref[-1]


@pytest.mark.parametrize("n,lanes", [(64, 16), (64, 32)])
def test_wide_unit_timing_exact(n, lanes):
    q = prime(n, 30)
    dut = NttUnit(n, q, 32, lanes)
    a = [random.Random(3).randrange(q) for _ in range(n)]
    R = n // lanes
    run = run_stream(dut, beats(a, lanes, 0) + beats(a, lanes, 1), 2 * R)
    assert flat(run.outputs[:R]) == ntt_ref(a, q, n)
    assert flat(run.outputs[R:]) == intt_ref(a, q, n)
    assert run.out_edges[0] - run.in_edges[R - 1] == dut.latency
    assert run.out_edges[R - 1] - run.in_edges[0] + 1 == dut.cycles_per_transform
    assert run.in_edges[R] - run.in_edges[0] == dut.initiation_interval
    # by hand: T = n/(2P) + Lb + 1 = B + 7 (Barrett: Lb = 6, Lm = 4)
    B = n // (2 * lanes)
    assert dut.latency == 6 * (B + 7) + 4 + 2
    assert dut.cycles_per_transform == 2 * R + 6 * (B + 7) + 4 + 1


def test_lane_rule():
    assert valid_lanes(8) == (1, 2, 4)
    assert valid_lanes(1 << 16)[-1] == 1 << 15 and len(valid_lanes(1 << 16)) == 16
    assert check_lanes(1024, 1 << 16) == 1024
    for bad in (0, 3, 12, -4, True, 2.0):
        with pytest.raises(ValueError, match="power of two"):
            check_lanes(bad, 64)
    with pytest.raises(ValueError, match=r"at most n/2=32"):
        NttUnit(64, prime(64, 31), 32, 64)
    assert set(TESTED_LANES) >= {1, 2, 4, 8, 16, 32}


@pytest.mark.parametrize("n,lanes", [(8, 1), (8, 4), (64, 2), (64, 8), (64, 32), (1 << 10, 16)])
def test_twiddle_rom_words_by_hand(n, lanes):
    dut = NttUnit(n, prime(n, 31), 32, lanes)
    narrow, small = dut.twiddle_roms()
    R, B = n // lanes, n // (2 * lanes)
    assert len(narrow) == 2 * R
    # one ROM per stage with t = 2^lt < P: 2B entries of P/t words = n/t words
    assert [(len(rom), len(rom[0])) for rom in small] == \
        [(2 * B, lanes >> lt) for lt in range(lanes.bit_length() - 1)]
    stored = len(narrow) + sum(len(r) * len(r[0]) for r in small)
    assert stored == dut.twiddle_rom_words == 2 * n      # each table entry stored once
    assert dut.data_ram_words == n and dut.memory_words == 3 * n


def test_twiddle_roms_hold_each_table_entry_once():
    n, P = 64, 16
    q = prime(n, 31)
    dut = NttUnit(n, q, 32, P)
    tb = ntt_tables(q, n)
    narrow, small = dut.twiddle_roms()
    stored = narrow[:n // P] + [w for rom in small[::-1] for e in rom[:len(rom) // 2] for w in e]
    assert stored == list(tb.fwd)               # forward table 0..n-1, in order
    stored_inv = narrow[n // P:] + [w for rom in small[::-1] for e in rom[len(rom) // 2:] for w in e]
    assert stored_inv == list(tb.inv)


@pytest.mark.rtl
@pytest.mark.parametrize("n,lanes,direction,multiplier", [(64, 16, "forward", "barrett"),
                                                          (128, 32, "inverse", "montgomery")])
def test_wide_unit_cocotb(n, lanes, direction, multiplier):
    from sim.rtl.runner import run_rtl
    from sim.rtl.units import make_spec

    res = run_rtl(make_spec("ntt", width=32, n=n, lanes=lanes, multiplier=multiplier),
                  transforms=2, seed=lanes, direction=direction)
    assert res.get("error") is None, res.get("error")
    assert res["mismatches"] == 0 and res["missing_outputs"] == 0, res.get("first_mismatch")
    for key, v in res["timing"].items():
        assert v["measured"] == pytest.approx(v["modelled"]), key
    assert res["pass"]
