"""RTL units simulated with cocotb + Icarus against independent golden models.

A representative subset of ``sim/regression.py``: modular multipliers (Barrett, Montgomery,
Shoup) at W = 32 and 64, CT/GS butterflies with each multiplier, the NTT unit forward and
inverse at small n with P = 1 and P = 4, and with the Shoup multiplier (every run includes random input gaps, random output
back-pressure, corner values, a reset in the middle of a stream and a no-stall timing
phase). Each test asserts zero mismatches and measured == modelled latency / cycles.
Further tests show the checker is not vacuous (a wrong golden value, a beat-dropping design
and a design slower than its ``latency`` property are all reported).
"""
from __future__ import annotations

import random
import shutil
import subprocess
import sys

import pytest

from sim.rtl import golden
from sim.rtl.build import build_unit
from sim.rtl.runner import run_rtl
from sim.rtl.units import SpecError, make_spec
from sw.primes import ntt_primes

RING = 1 << 16

_NO_ICARUS = pytest.mark.skipif(shutil.which("iverilog") is None,
                                reason="iverilog not found on PATH: RTL simulation skipped")


def rtl(fn):
    """``@pytest.mark.rtl``, skipped (and reported) when Icarus Verilog is missing."""
    return pytest.mark.rtl(_NO_ICARUS(fn))


def _assert_clean(res: dict) -> None:
    assert res.get("error") is None, res.get("error")
    assert res["mismatches"] == 0, res["first_mismatch"]
    assert res["missing_outputs"] == 0 and res["unexpected_outputs"] == 0
    assert not res["timeouts"], res["timeouts"]
    assert res["timing"], "timing phase did not run"
    for key, v in res["timing"].items():
        assert v["measured"] == v["modelled"] or (
            isinstance(v["modelled"], float) and abs(v["measured"] - v["modelled"]) < 1e-9), (key, v)
    assert res["timing_ok"] and res["pass"]


# --------------------------------------------------------------------------- golden models
def test_golden_ntt_matches_definition():
    rng = random.Random(5)
    for n in (8, 32):
        for q in (ntt_primes(n, 30, 1)[0], ntt_primes(n, 64, 1)[0]):
            a = [rng.randrange(q) for _ in range(n)]
            f = golden.ntt_forward(a, q)
            assert f == golden.ntt_by_definition(a, q)
            assert golden.ntt_inverse(f, q) == a


def test_golden_ntt_matches_software_ntt():
    sw_ntt = pytest.importorskip("sw.ntt")
    import numpy as np
    n, q = 64, ntt_primes(64, 30, 1)[0]
    rng = random.Random(9)
    a = np.array([[rng.randrange(q) for _ in range(n)]], dtype=np.uint64)
    f = sw_ntt.forward(a, [q], backend="numpy")
    assert [int(x) for x in f[0]] == golden.ntt_forward([int(x) for x in a[0]], q)
    assert [int(x) for x in sw_ntt.inverse(f, [q], backend="numpy")[0]] == [int(x) for x in a[0]]


def test_golden_modmul_and_butterflies():
    q, W = ntt_primes(RING, 64, 1)[0], 64
    a, b, w = q - 1, q - 2, 12345
    assert golden.modmul_montgomery(a, b, q, W) * (1 << W) % q == a * b % q
    from sw.modred import shoup_mul
    ws = golden.shoup_companion(b, q, W)
    assert golden.modmul_shoup((1 << W) - 1, b, q) == shoup_mul((1 << W) - 1, b, q, W, w_shoup=ws)
    x, y = golden.ct_butterfly(a, b, w, q)
    assert (x + y) % q == 2 * a % q and (x - y) % q == 2 * w * b % q
    x, y = golden.gs_butterfly(a, b, w, q)
    assert x == (a + b) % q and y == (a - b) * w % q


def test_port_layout_is_lsb_first():
    spec = make_spec("ntt", width=32, n=16, lanes=4)
    ports = build_unit(spec).meta["ports"]
    fields = {f["path"]: (f["offset"], f["width"]) for f in ports["i"]["fields"]}
    assert fields == {"data[0]": (0, 32), "data[1]": (32, 32), "data[2]": (64, 32),
                      "data[3]": (96, 32), "inverse": (128, 1)}
    assert ports["i"]["payload"] == "i__payload" and ports["o"]["valid"] == "o__valid"
    out = {f["path"]: f["offset"] for f in ports["o"]["fields"]}
    assert out == {"[0]": 0, "[1]": 32, "[2]": 64, "[3]": 96}


def test_invalid_parameters_are_rejected():
    with pytest.raises(SpecError, match="not prime"):
        make_spec("modmul", width=32, q=15)
    with pytest.raises(SpecError, match="not 1 mod"):
        make_spec("ntt", width=32, n=64, q=4294967291)
    r = subprocess.run([sys.executable, "-m", "sim.cli", "sim", "--unit", "ntt", "--n", "100"],
                       capture_output=True, text=True)
    assert r.returncode == 2 and "power of two" in r.stderr and len(r.stderr.strip().splitlines()) == 1


def test_bad_multiplier_is_refused_by_name():
    with pytest.raises(SpecError, match="'karatsuba'.*barrett, montgomery, shoup"):
        make_spec("ntt", width=32, n=16, lanes=2, multiplier="karatsuba")
    r = subprocess.run([sys.executable, "-m", "sim.cli", "sim", "--unit", "ntt", "--n", "16",
                        "--multiplier", "karatsuba"], capture_output=True, text=True)
    assert r.returncode == 2 and "'karatsuba'" in r.stderr and "shoup" in r.stderr


def test_shoup_spec_builds_companion_ports():
    """A Shoup unit's ports carry the companion beside the constant operand (elementwise),
    and its modelled timing is one stage shorter per multiplier (NTT: butterfly and scaler)."""
    mm = build_unit(make_spec("modmul", width=32, n=RING, multiplier="shoup")).meta
    assert [f["path"] for f in mm["ports"]["i"]["fields"]] == ["a", "w", "w_shoup"]
    assert mm["props"]["latency"] == 3
    ct = build_unit(make_spec("ct", width=32, n=RING, multiplier="shoup")).meta
    assert [f["path"] for f in ct["ports"]["i"]["fields"]] == ["a", "b", "w", "w_shoup"]
    assert ct["props"]["latency"] == 4
    props = {m: build_unit(make_spec("ntt", width=32, n=16, lanes=2, multiplier=m)).props
             for m in ("barrett", "shoup")}
    # log2(16) stages one cycle shorter each, and a scaler one stage shorter
    assert props["barrett"]["latency"] - props["shoup"]["latency"] == 4 + 1


# --------------------------------------------------------------------------- RTL units
@rtl
@pytest.mark.parametrize("multiplier", ["barrett", "montgomery"])
@pytest.mark.parametrize("width", [32, 64])
def test_rtl_modmul(multiplier, width):
    spec = make_spec("modmul", width=width, n=RING, multiplier=multiplier)
    assert spec.q == ntt_primes(RING, width, 1)[0]      # largest NTT-friendly prime < 2^W
    res = run_rtl(spec, vectors=150, seed=width)
    _assert_clean(res)
    assert res["vectors_checked"] >= 150
    assert res["reset"]["in_flight_dropped"] > 0 or res["reset"]["outputs_before_reset"] > 0


@rtl
@pytest.mark.parametrize("width", [32, 64])
def test_rtl_modmul_shoup(width):
    spec = make_spec("modmul", width=width, n=RING, multiplier="shoup")
    res = run_rtl(spec, vectors=150, seed=width + 1)
    _assert_clean(res)
    assert res["timing"]["latency"]["measured"] == 3


@rtl
@pytest.mark.parametrize("kind,multiplier,width", [
    ("ct", "barrett", 32), ("ct", "montgomery", 64), ("gs", "barrett", 64), ("gs", "montgomery", 32),
    ("ct", "shoup", 64), ("gs", "shoup", 32)])
def test_rtl_butterfly(kind, multiplier, width):
    q = ntt_primes(RING, width - 3, 1)[0] if width == 64 else ntt_primes(RING, width, 1)[0]
    res = run_rtl(make_spec(kind, width=width, q=q, multiplier=multiplier), vectors=120, seed=3)
    _assert_clean(res)


@rtl
@pytest.mark.parametrize("direction", ["forward", "inverse"])
@pytest.mark.parametrize("lanes", [1, 4])
def test_rtl_ntt(direction, lanes):
    n = 16 if lanes == 1 else 32
    mult = "barrett" if lanes == 1 else "montgomery"
    spec = make_spec("ntt", width=32, n=n, lanes=lanes, multiplier=mult)
    res = run_rtl(spec, transforms=2, seed=lanes, direction=direction)
    _assert_clean(res)
    assert res["transforms_checked"] >= 7     # stall (2) + three clean-after-reset + timing (2)
    # every reset cut a transform with work in flight; the clean transform after it passed
    assert [r["point"] for r in res["resets"]] == ["input", "compute", "output"]
    assert all(r["beats_dropped"] > 0 for r in res["resets"])
    assert res["resets"][0]["inputs_before_reset"] < n // lanes
    assert res["resets"][1]["inputs_before_reset"] == n // lanes
    assert res["resets"][1]["outputs_before_reset"] == 0
    assert res["resets"][2]["outputs_before_reset"] >= 1


@rtl
@pytest.mark.parametrize("direction,n,lanes", [("forward", 16, 2), ("inverse", 32, 4)])
def test_rtl_ntt_shoup(direction, n, lanes):
    """The NTT unit with Shoup butterflies and scaler (twiddle ROM with companions), through
    Icarus: stalls, resets, exact outputs and measured latency / cycles = properties."""
    spec = make_spec("ntt", width=32, n=n, lanes=lanes, multiplier="shoup")
    res = run_rtl(spec, transforms=2, seed=n + lanes, direction=direction)
    _assert_clean(res)
    B, log_n = n // (2 * lanes), n.bit_length() - 1
    assert res["timing"]["latency"]["measured"] == log_n * (B + 6) + 5


@rtl
def test_cli_sim_ntt_shoup(capsys):
    """``fhesim sim --unit ntt --multiplier shoup`` simulates the Shoup NTT unit."""
    import json

    from sim.cli import main as fhesim
    assert fhesim(["sim", "--unit", "intt", "--n", "16", "--lanes", "2", "--multiplier", "shoup",
                   "--phases", "stall,timing", "--transforms", "1", "--json"]) == 0
    res = json.loads(capsys.readouterr().out)
    assert res["pass"] and res["spec"]["multiplier"] == "shoup" and res["direction"] == "inverse"
    assert res["timing"]["latency"] == {"modelled": 4 * (4 + 6) + 5, "measured": 45, "ok": True}


@rtl
@pytest.mark.parametrize("direction,multiplier", [("inverse", "barrett"), ("forward", "montgomery"),
                                                  ("inverse", "shoup")])
def test_rtl_ntt_halving(direction, multiplier):
    """The NTT unit with halving inverse butterflies and no output multipliers, through the
    cocotb bench: stalls, resets, exact outputs, and measured latency = the property, which
    is the multiplier variant's less the scaler's stages."""
    n, lanes = 32, 4
    spec = make_spec("ntt", width=32, n=n, lanes=lanes, multiplier=multiplier, scaling="halving")
    assert spec.label.endswith("halving")
    res = run_rtl(spec, transforms=2, seed=n + lanes, direction=direction)
    _assert_clean(res)
    B, log_n = n // (2 * lanes), n.bit_length() - 1
    Lb = 5 if multiplier == "shoup" else 6
    assert res["timing"]["latency"]["measured"] == log_n * (B + Lb + 1) + 2


@rtl
@pytest.mark.parametrize("direction,multiplier,scaling", [("forward", "barrett", "multiplier"),
                                                          ("inverse", "shoup", "halving")])
def test_rtl_ntt_double_buffered(direction, multiplier, scaling):
    """The double-buffered NTT through the cocotb bench: stalls, resets, exact outputs; the
    measured latency is the single unit's plus the two swaps, and back-to-back results
    leave every log2(n) T + 1 cycles (2R + log2(n) T single-buffered)."""
    n, lanes = 32, 4
    spec = make_spec("ntt", width=32, n=n, lanes=lanes, multiplier=multiplier,
                     scaling=scaling, buffering="double")
    assert spec.label.endswith("double")
    res = run_rtl(spec, transforms=3, seed=n, direction=direction)
    _assert_clean(res)
    R, B, log_n = n // lanes, n // (2 * lanes), n.bit_length() - 1
    Lb, Lm = (5, 3) if multiplier == "shoup" else (6, 4)
    Lm = 0 if scaling == "halving" else Lm
    T = B + Lb + 1
    timing = res["timing"]
    assert timing["latency"]["measured"] == log_n * T + Lm + 4
    assert timing["initiation_interval"]["measured"] == log_n * T + 1 < 2 * R + log_n * T


@pytest.mark.parametrize("field,other_kind,good,bad,choices", [
    ("buffering", "mac", "double", "triple", "single, double"),
    ("scaling", "modmul", "halving", "exact", "multiplier, halving")])
def test_bad_ntt_option_is_refused_by_name(field, other_kind, good, bad, choices):
    """``scaling`` and ``buffering``: only for ntt, only the hw.ntt choices, named in the
    error (make_spec), and exit 2 naming the value and a choice (fhesim sim)."""
    with pytest.raises(SpecError, match=f"{field} applies to ntt only, not {other_kind}"):
        make_spec(other_kind, width=32, **{field: good})
    with pytest.raises(SpecError, match=f"'{bad}' must be one of {choices}"):
        make_spec("ntt", width=32, n=16, lanes=2, **{field: bad})
    r = subprocess.run([sys.executable, "-m", "sim.cli", "sim", "--unit", "ntt", "--n", "16",
                        f"--{field}", bad], capture_output=True, text=True)
    assert r.returncode == 2 and f"'{bad}'" in r.stderr and good in r.stderr


@rtl
def test_rtl_ntt_wide_word():
    spec = make_spec("ntt", width=64, n=16, lanes=2, multiplier="barrett")
    res = run_rtl(spec, transforms=1, seed=2, direction="inverse", reset_points=("output",))
    _assert_clean(res)


# --------------------------------------------------------------------------- not vacuous
@rtl
def test_checker_flags_wrong_golden_value_modmul():
    spec = make_spec("modmul", width=32, n=RING, multiplier="barrett")
    res = run_rtl(spec, vectors=40, seed=4, corrupt_expected=5, phases=("stall",))
    assert not res["pass"]
    assert res["mismatches"] == 1 and res["mismatched_words"] == 1
    first = res["first_mismatch"]
    assert first["kind"] == "value mismatch" and first["vector"] == 5
    f = first["fields"][0]
    assert f["expected"] == (f["got"] + 1) % spec.q         # exactly the injected error


@rtl
def test_checker_flags_wrong_golden_value_ntt():
    spec = make_spec("ntt", width=32, n=16, lanes=4)
    res = run_rtl(spec, transforms=1, seed=4, corrupt_expected=9, phases=("stall",))
    assert not res["pass"] and res["mismatches"] == 1
    first = res["first_mismatch"]
    assert first["transform"] == 0 and first["beat"] == 2 and first["first_element"] == 8
    assert [f["field"] for f in first["fields"]] == ["[1]"]   # element 9 = beat 2, lane 1


@rtl
def test_checker_flags_lost_beats_and_wrong_latency():
    dropped = run_rtl(make_spec("selftest", width=24, n=16, bug="drop_on_stall"), vectors=60, seed=1)
    assert not dropped["pass"] and dropped["mismatches"] > 0
    slow = run_rtl(make_spec("selftest", width=24, n=16, bug="slow"), vectors=60, seed=1)
    assert slow["mismatches"] == 0 and not slow["timing_ok"] and not slow["pass"]
    assert slow["timing"]["latency"] == {"modelled": 2, "measured": 3, "ok": False}
    good = run_rtl(make_spec("selftest", width=24, n=16), vectors=60, seed=1)
    _assert_clean(good)


def test_regression_matrix_covers_the_documented_parameters():
    from sim.regression import matrix
    cases = matrix()
    ntt = [c for c in cases if c.unit == "ntt"]
    assert any(c.n == 1 << 16 for c in ntt)
    assert {c.lanes for c in ntt} == {1, 2, 4, 8}
    assert {c.direction for c in ntt} == {"forward", "inverse"}
    assert {c.width for c in cases} >= {32, 64}
    assert {(c.unit, c.multiplier) for c in cases if c.unit in ("modmul", "ct", "gs")} == {
        (u, m) for u in ("modmul", "ct", "gs") for m in ("barrett", "montgomery", "shoup")}
    assert {c.unit for c in cases} == {"modmul", "ct", "gs", "ntt", "mac", "bconv", "automorphism"}
    # the key-switching units: every multiplier, a 64-bit case each, both automorphism
    # orders, and the full ring for the automorphism
    for unit in ("mac", "bconv"):
        assert {c.multiplier for c in cases if c.unit == unit} == {"barrett", "montgomery", "shoup"}
    for unit in ("mac", "bconv", "automorphism"):
        assert any(c.width == 64 for c in matrix(True) if c.unit == unit)
    auto = [c for c in cases if c.unit == "automorphism"]
    assert {c.spec_kw["order"] for c in auto} == {"coeff", "eval"}
    assert any(c.n == 1 << 16 for c in auto)
    # the full ring under stress (gaps, back-pressure, resets, timing), both directions,
    # full matrix only; every case name distinct
    stress = [c for c in ntt if c.n == 1 << 16 and set(c.phases) == {"stall", "reset", "timing"}]
    assert sorted(c.direction for c in stress) == ["forward", "inverse"]
    assert not any(c.n == 1 << 16 for c in matrix(True) if c.unit == "ntt")
    assert len({c.name for c in cases}) == len(cases)
    for quick in (False, True):   # a small Shoup NTT, both directions, in either matrix
        shoup_ntt = [c for c in matrix(quick) if c.unit == "ntt" and c.multiplier == "shoup"]
        assert {c.direction for c in shoup_ntt} == {"forward", "inverse"}
        assert all(c.n <= 256 for c in shoup_ntt)
    for quick in (False, True):   # the halving NTT (no output multipliers), both directions
        halving = [c for c in matrix(quick) if c.unit == "ntt" and c.spec_kw.get("scaling") == "halving"]
        assert {c.direction for c in halving} == {"forward", "inverse"}
        assert all("_halving_" in c.name for c in halving)
    for w in (32, 64):   # the largest NTT-friendly prime below 2^W is in, with others
        qs = {c.q for c in cases if c.unit == "modmul" and c.width == w}
        assert ntt_primes(RING, w, 1)[0] in qs and len(qs) >= 2
    assert len({c.name for c in cases}) == len(cases)
