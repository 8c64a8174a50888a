"""Accelerator descriptions: validation errors name the field; presets load and fit; resource rule."""
from __future__ import annotations

import re

import pytest

from sim.cycle.config import load_config, loads_config, preset_names, unit_memory_bytes
from sim.synth.fit import check_fit, dsp_estimate
from sim.synth.resources import dsp_per_modmul, dsp_per_product

BASE = """
name = "t"
kind = "fpga"
clock_mhz = 300
word_bits = 32
lanes = 4
on_chip_bytes = 41_000_000
off_chip_gbps = 460

[units]
ntt = { count = 2, lanes = 8 }
modmul = 4
modadd = 4
bconv = { count = 1, lanes = 16 }
automorphism = 1

[device]
dsp = 9024
"""


def _without(line_start: str) -> str:
    return "\n".join(l for l in BASE.splitlines() if not l.startswith(line_start))


def _replace(old: str, new: str) -> str:
    assert old in BASE
    return BASE.replace(old, new)


def test_base_config_parses_with_defaults():
    cfg = loads_config(BASE)
    assert cfg.units["modmul"].count == 4 and cfg.units["modmul"].lanes == 4  # default lanes
    assert cfg.units["bconv"].lanes == 16
    assert cfg.multiplier == "barrett" and cfg.max_ring_degree == 65536
    assert cfg.word_bytes == 4
    # 460e9 B/s at 300e6 cycles/s
    assert cfg.bytes_per_cycle == pytest.approx(460e9 / 300e6)


@pytest.mark.parametrize("field", ["clock_mhz", "word_bits", "lanes", "on_chip_bytes", "off_chip_gbps"])
def test_missing_field_is_named(field):
    with pytest.raises(ValueError, match=rf"missing field '{field}'"):
        loads_config(_without(field))


def test_missing_required_unit_is_named():
    with pytest.raises(ValueError, match=r"missing field 'units.ntt'"):
        loads_config(_without("ntt ="))


@pytest.mark.parametrize("old,new,field", [
    ("clock_mhz = 300", "clock_mhz = -300", "clock_mhz"),
    ("off_chip_gbps = 460", "off_chip_gbps = -1", "off_chip_gbps"),
    ("on_chip_bytes = 41_000_000", "on_chip_bytes = -5", "on_chip_bytes"),
    ("modadd = 4", "modadd = -4", "units.modadd"),
    ("bconv = { count = 1, lanes = 16 }", "bconv = { count = 1, lanes = -16 }", "units.bconv.lanes"),
    ("dsp = 9024", "dsp = -1", "device.dsp"),
])
def test_negative_field_is_named(old, new, field):
    with pytest.raises(ValueError, match=rf"'{re.escape(field)}' must not be negative"):
        loads_config(_replace(old, new))


def test_zero_clock_and_required_unit_count_refused():
    with pytest.raises(ValueError, match=r"'clock_mhz' must be positive"):
        loads_config(_replace("clock_mhz = 300", "clock_mhz = 0"))
    with pytest.raises(ValueError, match=r"'units.modmul' must be positive"):
        loads_config(_replace("modmul = 4", "modmul = 0"))


def test_unknown_unit_and_unknown_keys_are_named():
    with pytest.raises(ValueError, match=r"unknown unit 'units.fft'"):
        loads_config(_replace("modadd = 4", "modadd = 4\nfft = 2"))
    with pytest.raises(ValueError, match=r"unknown key 'clock_ghz'"):
        loads_config(_replace("clock_mhz = 300", "clock_mhz = 300\nclock_ghz = 1"))
    with pytest.raises(ValueError, match=r"unknown key 'units.bconv.width'"):
        loads_config(_replace("{ count = 1, lanes = 16 }", "{ count = 1, lanes = 16, width = 3 }"))
    with pytest.raises(ValueError, match=r"unknown key 'device.luts'"):
        loads_config(_replace("dsp = 9024", "dsp = 9024\nluts = 5"))


def test_wrong_types_and_ranges_are_named():
    with pytest.raises(ValueError, match=r"'lanes' must be a number"):
        loads_config(_replace("lanes = 4", 'lanes = "four"'))
    with pytest.raises(ValueError, match=r"'word_bits' must lie in \[16, 64\]"):
        loads_config(_replace("word_bits = 32", "word_bits = 80"))
    with pytest.raises(ValueError, match=r"'units.ntt.lanes' must be a power of two"):
        loads_config(_replace("ntt = { count = 2, lanes = 8 }", "ntt = { count = 2, lanes = 12 }"))
    with pytest.raises(ValueError, match=r"'multiplier' must be one of"):
        loads_config(_replace('kind = "fpga"', 'kind = "fpga"\nmultiplier = "karatsuba"'))
    with pytest.raises(ValueError, match=r"'kind' must be one of"):
        loads_config(_replace('kind = "fpga"', 'kind = "gpu"'))


def test_dsp_rule_by_hand():
    # DSP48E2: 26x17 unsigned tiles. W=32: ceil(32/26)=2 * ceil(32/17)=2 = 4 slices per
    # product, 3 products per modular multiplier = 12. W=54: 3*4 = 12 per product -> 36.
    assert dsp_per_product(32) == 4 and dsp_per_modmul(32) == 12
    assert dsp_per_product(54) == 12 and dsp_per_modmul(54) == 36
    assert dsp_per_product(17) == 1 * 1 and dsp_per_product(18) == 1 * 2
    cfg = loads_config(BASE)
    need = dsp_estimate(cfg, {})
    # NTT: 2 units * 2*8 multipliers * 12 = 384; modmul 4*4 lanes * 12 = 192;
    # bconv 16 lanes * 12 = 192; modadd, automorphism 0.
    assert need == {"ntt": 384, "modmul": 192, "modadd": 0, "bconv": 192,
                    "automorphism": 0, "total": 768,
                    "source": {"ntt": "rule", "modmul": "rule", "bconv": "rule"}}


def test_dsp_budget_exceeded_is_refused_naming_the_unit():
    # 48 bconv lanes... 800 lanes * 12 = 9600 slices alone > 9024
    text = _replace("bconv = { count = 1, lanes = 16 }", "bconv = { count = 2, lanes = 400 }")
    with pytest.raises(ValueError, match=r"'device.dsp' is 9024 \(largest consumer 'units.bconv': 9600"):
        check_fit(loads_config(text), {})


def test_ntt_memory_rule_by_hand():
    cfg = loads_config(BASE)
    # hw.ntt.NttUnit: n data words + 2n twiddle words (each table entry stored once) = 3n
    # words for every P: 2 units * 3 * 65536 words * 4 bytes = 1,572,864 bytes
    assert unit_memory_bytes(cfg) == 2 * 3 * 65536 * 4 == 1_572_864
    assert cfg.data_capacity_bytes == 41_000_000 - 1_572_864
    wide = loads_config(_replace("ntt = { count = 2, lanes = 8 }", "ntt = { count = 2, lanes = 256 }")
                        .replace("dsp = 9024", "dsp = 99999"))
    assert check_fit(wide, {})["total"] == 2 * 2 * 256 * 12 + 192 + 192
    assert unit_memory_bytes(wide) == 1_572_864          # independent of P
    # 1 MB of RAM cannot hold two units
    text = _replace("on_chip_bytes = 41_000_000", "on_chip_bytes = 1_000_000")
    with pytest.raises(ValueError, match=r"'units.ntt' \(2 units x 8 lanes\) needs 1572864 bytes"):
        check_fit(loads_config(text), {})
    # an ASIC's stated on-chip memory is all data capacity
    asic = loads_config(_replace('kind = "fpga"', 'kind = "asic"'))
    assert asic.data_capacity_bytes == 41_000_000


def test_unknown_preset_and_file(tmp_path):
    with pytest.raises(ValueError, match=r"no preset named 'nope'"):
        load_config("nope")
    with pytest.raises(ValueError, match=r"does not exist"):
        load_config(tmp_path / "missing.toml")
    bad = tmp_path / "bad.toml"
    bad.write_text("clock_mhz = = 3")
    with pytest.raises(ValueError, match=r"not valid TOML"):
        load_config(bad)


def test_file_name_is_default_name(tmp_path):
    p = tmp_path / "mine.toml"
    p.write_text(_without("name ="))
    assert load_config(p).name == "mine"


def test_presets_load_and_cite_sources():
    names = preset_names()
    assert {"u280", "sharp"} <= set(names)
    for name in names:
        cfg = load_config(name)
        assert cfg.name == name and cfg.source, name
        check_fit(cfg)                    # each preset's units fit its device and RAM


def test_u280_preset_values():
    cfg = load_config("u280")
    # docs/sources.md, Alveo U280 platform: 9,024 DSP, ~41 MB on chip, HBM2 460 GB/s; 300 MHz (FAB).
    assert (cfg.kind, cfg.clock_mhz, cfg.off_chip_gbps, cfg.on_chip_bytes, cfg.dsp_budget) == \
        ("fpga", 300.0, 460.0, 41_000_000, 9024)
    # units chosen by fhesim explore (sim/configs/u280.toml): NTT 3 x P = 128 without output
    # multipliers (ntt_scaling = "halving"), double-buffered, 432 modmul lanes, basis
    # conversion on the modmul lanes. The tiling rule (12 DSP per multiplier, P per halving NTT unit) would not fit; the
    # synthesised figures (11 DSP per multiplier, 11 per halving NTT lane) do.
    assert (cfg.ntt_scaling, cfg.ntt_buffering) == ("halving", "double")
    assert dsp_estimate(cfg, {})["total"] == 3 * 128 * 12 + 432 * 12 == 9792 > 9024
    assert dsp_estimate(cfg)["total"] == 3 * 128 * 11 + 11 * 432 == 8976 <= 9024


def test_sharp_preset_values():
    cfg = load_config("sharp")
    # SHARP's Table 4 (docs/sources.md): 1 GHz, 36-bit words, BConv 2x8 per lane x 1,024 =
    # 16,384, 4 multipliers and 2 adders per lane, 180+18 MB at 36+36 TB/s, HBM 1 TB/s, 94.7 W.
    assert (cfg.clock_mhz, cfg.word_bits, cfg.off_chip_gbps) == (1000.0, 36, 1000.0)
    assert cfg.on_chip_bytes == (180 + 18) * 2**20
    assert cfg.units["bconv"].total_lanes == 16384 and cfg.units["modmul"].total_lanes == 4 * 1024
    assert cfg.units["modadd"].total_lanes == 2 * 1024
    assert cfg.onchip_gbps == 36_000 and cfg.power_w == 94.7
    assert cfg.bytes_for(2**16) == 2**16 * 36 // 8  # 36-bit residues packed: 4.5 bytes each


def test_ntt_lane_rule_follows_the_rtl():
    # any power of two P <= max_ring_degree/2 (hw.ntt.check_lanes)
    for lanes in (1, 16, 1024, 32768):
        cfg = loads_config(_replace("ntt = { count = 2, lanes = 8 }", f"ntt = {{ count = 1, lanes = {lanes} }}")
                           .replace("dsp = 9024", "dsp = 9000000"))
        assert cfg.units["ntt"].lanes == lanes
    with pytest.raises(ValueError, match=r"'units.ntt.lanes' must be a power of two with P <= "
                                         r"max_ring_degree/2 = 512"):
        loads_config(_replace("ntt = { count = 2, lanes = 8 }", "ntt = { count = 2, lanes = 1024 }")
                     .replace("off_chip_gbps = 460", "off_chip_gbps = 460\nmax_ring_degree = 1024"))
    for bad in (0, 3, 24):
        with pytest.raises(ValueError, match=r"'units.ntt.lanes'"):
            loads_config(_replace("ntt = { count = 2, lanes = 8 }", f"ntt = {{ count = 2, lanes = {bad} }}"))


# recorded synthesis rows (Yosys 0.70 synth_xilinx -family xcup, reports/synth.csv format)
ROWS = {
    "modmul-barrett-w32": {"unit": "modmul-barrett-w32", "kind": "modmul", "multiplier": "barrett",
                           "width": 32, "n": 65536, "lanes": 1, "lut": 357, "lut_logic": 357,
                           "ff": 199, "dsp": 11},
    "ntt-barrett-w32-n1024-p4": {"unit": "ntt-barrett-w32-n1024-p4", "kind": "ntt",
                                 "multiplier": "barrett", "width": 32, "n": 1024, "lanes": 4,
                                 "lut": 9000, "lut_logic": 8000, "ff": 5000, "dsp": 88},
    "ntt-barrett-w32-n1024-p8": {"unit": "ntt-barrett-w32-n1024-p8", "kind": "ntt",
                                 "multiplier": "barrett", "width": 32, "n": 1024, "lanes": 8,
                                 "lut": 17000, "lut_logic": 16000, "ff": 9800, "dsp": 176},
}


def test_dsp_estimate_uses_synthesised_rows():
    cfg = loads_config(BASE)
    need = dsp_estimate(cfg, ROWS)
    # NTT (P = 8 synthesised): 2 * 176; modmul 16 lanes * 11; bconv 16 lanes * 11
    assert need["ntt"] == 352 and need["modmul"] == 176 and need["bconv"] == 176
    assert need["total"] == 704
    assert need["source"] == {"ntt": "synth", "modmul": "synth", "bconv": "synth"}
    # P = 16 not synthesised: line through (4, 88) and (8, 176) -> 352 per unit
    p16 = loads_config(_replace("ntt = { count = 2, lanes = 8 }", "ntt = { count = 1, lanes = 16 }"))
    need = dsp_estimate(p16, ROWS)
    assert need["ntt"] == 352 and need["source"]["ntt"] == "synth-fit"


def test_sharp_ntt_throughput_built_from_the_rtl_unit():
    # SHARP's stated NTT throughput, 1,024 words/cycle, from P = 1,024 RTL units at n = 2^16:
    # cpt = 2R + log2(n) * (n/(2P) + 7) + 5 = 128 + 16 * 39 + 5 = 757 (Barrett: Lb = 6, Lm = 4)
    from sim.cycle.units import ntt_props
    cfg = load_config("sharp")
    assert (cfg.units["ntt"].count, cfg.units["ntt"].lanes) == (12, 1024)
    cpt, ii = ntt_props(1 << 16, 36, 1024, "barrett")
    assert cpt == 757 and ii == 752
    assert 11 * 65536 / cpt < 1024 <= 12 * 65536 / cpt     # 12 is the fewest that reach it


# --- loading is light; variants are validated like files ------------------------------------

def test_loading_presets_imports_neither_hw_nor_synthesis():
    import subprocess
    import sys

    code = ("import sys\nfrom sim.cycle.config import load_config, preset_names\n"
            "cfgs = [load_config(n) for n in preset_names()]\n"
            "print(len(cfgs), sorted(m for m in sys.modules if m == 'hw' or m.startswith(('hw.', "
            "'sim.synth', 'amaranth'))))\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split(" ", 1) == [str(len(preset_names())), "[]\n"]


def test_error_names_the_file_and_the_dotted_field(tmp_path):
    p = tmp_path / "mine.toml"
    p.write_text(_replace("ntt = { count = 2, lanes = 8 }", "ntt = { count = -2, lanes = 8 }"))
    with pytest.raises(ValueError) as err:
        load_config(p)
    assert str(err.value) == (f"accelerator config 't' ({p}): field 'units.ntt.count' must not be "
                              f"negative, got -2")


@pytest.mark.parametrize("change,message", [
    ({"clock_mhz": -300}, r"'t': field 'clock_mhz' must not be negative, got -300"),
    ({"word_bits": 80}, r"field 'word_bits' must lie in \[16, 64\], got 80"),
    ({"execution": "fused"}, r"field 'execution' must be one of \('serial', 'pipelined'\)"),
    ({"evk_a_generated": 1}, r"field 'evk_a_generated' must be true or false, got 1"),
    ({"max_ring_degree": 3000}, r"field 'max_ring_degree' must be a power of two in \[8, 131072\]"),
    ({"dsp_budget": 0}, r"field 'device.dsp' must be positive, got 0"),
    ({"device_budget": {"luts": 5}}, r"unknown key 'device.luts'"),
    ({"device_budget": {"bram36": -1}}, r"field 'device.bram36' must not be negative"),
    ({"power_basis": "typical"}, r"field 'power_basis' must be one of \('average', 'peak'\)"),
])
def test_variant_with_a_bad_field_is_refused_like_a_file(change, message):
    from dataclasses import replace

    base = loads_config(BASE, name="t")
    with pytest.raises(ValueError, match=message):
        replace(base, **change)


def test_variant_units_are_checked_with_their_dotted_names():
    from dataclasses import replace

    from sim.cycle.config import UnitSpec
    base = loads_config(BASE)
    units = dict(base.units)
    for kind, spec, message in [
        ("ntt", UnitSpec(2, 12), r"'units.ntt.lanes' must be a power of two with P <= "
                                 r"max_ring_degree/2 = 32768"),
        ("modmul", UnitSpec(0, 4), r"field 'units.modmul.count' must be positive, got 0"),
        ("bconv", UnitSpec(1, -16), r"field 'units.bconv.lanes' must not be negative"),
        ("fft", UnitSpec(1, 4), r"unknown unit 'units.fft'"),
    ]:
        with pytest.raises(ValueError, match=message):
            replace(base, units={**units, kind: spec})
    with pytest.raises(ValueError, match=r"missing field 'units.automorphism'"):
        replace(base, units={k: v for k, v in units.items() if k != "automorphism"})
    # a valid variant is normalised like a file: plain dict in, read-only mapping in
    # UNIT_KINDS order out, numbers of integral value as int
    v = replace(base, units={"automorphism": UnitSpec(2.0, 8), **{k: u for k, u in units.items()
                                                                 if k != "automorphism"}},
                clock_mhz=250)
    assert list(v.units) == ["ntt", "modmul", "modadd", "bconv", "automorphism"]
    assert v.units["automorphism"] == UnitSpec(2, 8) and type(v.units["automorphism"].count) is int
    assert v.clock_mhz == 250.0 and type(v.clock_mhz) is float
    assert v == replace(v)                      # re-validating a valid value changes nothing


def test_fit_is_a_separate_step_with_the_same_refusals():
    # over the DSP budget and out of RAM: loading accepts both, check_fit refuses each
    over = loads_config(_replace("bconv = { count = 1, lanes = 16 }", "bconv = { count = 2, lanes = 400 }"))
    assert over.units["bconv"].total_lanes == 800
    with pytest.raises(ValueError, match=r"'t': units need 10176 DSP slices"):
        check_fit(over, {})
    small = loads_config(_replace("on_chip_bytes = 41_000_000", "on_chip_bytes = 1_000_000"))
    assert small.data_capacity_bytes == 1_000_000 - 1_572_864
    with pytest.raises(ValueError, match=r"'t': 'units.ntt' \(2 units x 8 lanes\) needs 1572864"):
        check_fit(small, {})
    assert check_fit(loads_config(BASE), {})["total"] == 768
    asic = loads_config(_replace('kind = "fpga"', 'kind = "asic"').replace("[device]\ndsp = 9024\n", ""))
    assert asic.dsp_budget is None and check_fit(asic, {}) is None


def test_ring_degree_and_lane_rules_agree_with_the_rtl():
    from hw import ntt as hw_ntt
    from sim.cycle import config

    assert (config.MIN_LOG_N, config.MAX_LOG_N) == (hw_ntt.MIN_LOG_N, hw_ntt.MAX_LOG_N)
    assert config.NTT_SCALING_KINDS == hw_ntt.SCALINGS
    assert loads_config('ntt_scaling = "halving"\n' + BASE).ntt_scaling == "halving"
    with pytest.raises(ValueError, match="field 'ntt_scaling' must be one of .*'exact'"):
        loads_config('ntt_scaling = "exact"\n' + BASE)
    assert config.NTT_BUFFERING_KINDS == hw_ntt.BUFFERINGS
    with pytest.raises(ValueError, match="field 'ntt_buffering' must be one of .*'triple'"):
        loads_config('ntt_buffering = "triple"\n' + BASE)
    body = BASE.replace("[device]\ndsp = 9024\n", "")
    for log_n in range(hw_ntt.MIN_LOG_N, hw_ntt.MAX_LOG_N + 1):
        n = 1 << log_n
        for lanes in (0, 1, 2, 3, 6, n // 4, n // 2, n // 2 + 2, n):
            text = f"max_ring_degree = {n}\n" + body.replace(
                "ntt = { count = 2, lanes = 8 }", f"ntt = {{ count = 1, lanes = {lanes} }}")
            try:
                rtl_ok = hw_ntt.check_lanes(lanes, n) == lanes
            except ValueError:
                rtl_ok = False
            if rtl_ok:
                assert loads_config(text).units["ntt"].lanes == lanes
            else:
                with pytest.raises(ValueError, match=r"'units.ntt.lanes'"):
                    loads_config(text)
    for bad in (4, 3000, 1 << 18):
        with pytest.raises(ValueError, match=r"'max_ring_degree' must be a power of two in "
                                             r"\[8, 131072\] \(hw.ntt.NttUnit\)"):
            loads_config(f"max_ring_degree = {bad}\n" + BASE)


def test_rtl_properties_are_read_without_unused_elaboratable_warnings():
    """hw components built only to be read are silenced by Amaranth's documented linter
    switch in sim.cycle.hwprops; the same construction elsewhere warns (the control)."""
    import subprocess
    import sys

    code = (
        "import gc, warnings\n"
        "from amaranth.back import rtlil\n"
        "from hw.modmul import BarrettMultiplier\n"
        "from sim.cycle import hwprops\n"
        "rtlil.convert(BarrettMultiplier(12289, 16))        # elaboration enables the warning\n"
        "with warnings.catch_warnings(record=True) as seen:\n"
        "    warnings.simplefilter('always')\n"
        "    props = (hwprops.ntt_props(64, 20, 4, 'barrett'), hwprops.multiplier_props('montgomery', 20),\n"
        "             hwprops.ntt_memory_words(64, 4, 20, 'barrett'))\n"
        "    gc.collect()\n"
        "    quiet = len(seen)\n"
        "    BarrettMultiplier(12289, 16)                    # control: built here, never used\n"
        "    gc.collect()\n"
        "print(props, quiet, [w.category.__name__ for w in seen])\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    props, rest = out.stdout.rsplit(")", 1)
    assert rest.split() == ["0", "['UnusedElaboratable']"], out.stdout
    assert "192" in props        # 3n memory words of an n = 64 NTT unit


def test_double_buffered_ntt_in_the_cycle_model_and_the_memory_rule():
    """``ntt_buffering = "double"``: the NTT kernel occupies a unit for the double unit's
    initiation interval (read from hw.ntt), and each unit holds ``n`` more words."""
    from hw.ntt import NttUnit
    from sim.cycle.hwprops import unit_modulus
    from sim.cycle.units import UnitCosts
    from sim.cycle.events import Kernel

    single = loads_config(BASE)
    double = loads_config('ntt_buffering = "double"\n' + BASE)
    assert (single.ntt_buffering, double.ntt_buffering) == ("single", "double")
    assert double.summary()["ntt_buffering"] == "double"
    n = 1 << 16
    assert unit_memory_bytes(double) - unit_memory_bytes(single) == 2 * n * 4   # 2 units, W = 32
    q = unit_modulus(n, 32)
    ref = {b: NttUnit(n, q, 32, 8, buffering=b) for b in ("single", "double")}
    for cfg, b in ((single, "single"), (double, "double")):
        cost = UnitCosts(cfg).cost(Kernel("ntt", n=n, primes=6))
        u = ref[b]
        assert cost.occupancy == 3 * u.initiation_interval           # 6 rows on 2 units
        assert cost.fill == u.cycles_per_transform - u.initiation_interval
    R = n // 8
    assert ref["single"].initiation_interval - ref["double"].initiation_interval == 2 * R - 1
