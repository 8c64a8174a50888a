"""The key-switching units (elementwise ``mac``, ``bconv``, ``automorphism``) under cocotb.

Spec validation (no simulator) refuses bad parameters naming the parameter; the RTL runs
(small sizes: the machine is shared) stream random and corner values under random input
gaps and output back-pressure, cut a stream by a reset and check a clean one after it,
and compare the measured latency / throughput / row timing with the units' properties.
Random primes of random widths up to 64 bits are drawn from a fixed seed. A deliberately
wrong golden value must be reported (the checker is not vacuous).
"""
from __future__ import annotations

import random
import shutil

import pytest

from sim.rtl.runner import run_rtl
from sim.rtl.units import SpecError, bconv_primes, make_component, make_spec
from sw.primes import is_prime

_NO_ICARUS = pytest.mark.skipif(shutil.which("iverilog") is None,
                                reason="iverilog not found on PATH: RTL simulation skipped")


def rtl(fn):
    """``@pytest.mark.rtl``, skipped when Icarus Verilog is missing."""
    return pytest.mark.rtl(_NO_ICARUS(fn))


def random_primes(rng: random.Random, bits: int, count: int) -> list[int]:
    """``count`` distinct random primes of exactly ``bits`` bits."""
    out: list[int] = []
    while len(out) < count:
        c = rng.randrange(1 << (bits - 1), 1 << bits) | 1
        if is_prime(c) and c not in out:
            out.append(c)
    return out


def _assert_clean(res: dict) -> None:
    assert res.get("error") is None, res.get("error")
    assert res["mismatches"] == 0, res["first_mismatch"]
    assert res["missing_outputs"] == 0 and res["unexpected_outputs"] == 0
    assert not res["timeouts"], res["timeouts"]
    assert res["timing"], "timing phase did not run"
    for key, v in res["timing"].items():
        assert v["ok"] and v["measured"] == v["modelled"], (key, v)
    assert res["pass"]


# ------------------------------------------------------------------ spec validation
@pytest.mark.parametrize("kind,kw,name", [
    ("bconv", {"src_primes": [97, 193], "dst_primes": [193, 257]}, "dst_primes"),
    ("bconv", {"src_primes": [97, 97], "dst_primes": [257]}, "src_primes"),
    ("bconv", {"src_primes": [97, 91], "dst_primes": [257]}, "src_primes[1]"),
    ("bconv", {"src_primes": [97], "dst_primes": [1 << 20 | 7]}, "dst_primes[0]"),
    ("bconv", {"src_primes": 0, "dst_primes": 2}, "src_primes"),
    ("bconv", {"src_primes": 2, "dst_primes": [257, 257]}, "dst_primes repeats"),
    ("bconv", {"src_primes": 2, "dst_primes": 1, "lanes": 0}, "lanes"),
    ("automorphism", {"n": 64, "galois": 4}, "galois"),
    ("automorphism", {"n": 64, "galois": 129}, "galois"),
    ("automorphism", {"n": 64, "lanes": 3}, "lanes"),
    ("automorphism", {"n": 64, "order": "natural"}, "order"),
    ("automorphism", {"n": 1 << 17}, "n="),
    ("mac", {"lanes": -1}, "lanes"),
    ("mac", {"q": 91}, "q=91"),
    ("mac", {"galois": 5}, "galois"),
    ("ntt", {"n": 64, "src_primes": 2}, "src_primes"),
])
def test_bad_parameters_refused_naming_them(kind, kw, name):
    with pytest.raises(SpecError, match=name.replace("[", r"\[").replace("]", r"\]")):
        make_spec(kind, width=kw.pop("width", 20), **kw)


def test_bconv_primes_are_deterministic_and_distinct():
    src, dst = bconv_primes(3, 2, 36)
    assert (src, dst) == bconv_primes(3, 2, 36)
    assert len(set(src + dst)) == 5 and all(p < 1 << 36 and is_prime(p) for p in src + dst)
    spec = make_spec("bconv", width=36, src_primes=3, dst_primes=2, lanes=2)
    assert (spec.src_primes, spec.dst_primes) == (src, dst) and spec.q == src[0]


def test_specs_construct_their_components():
    specs = [make_spec("mac", width=32, lanes=3, multiplier="shoup"),
             make_spec("bconv", width=64, src_primes=2, dst_primes=3, lanes=2),
             make_spec("automorphism", width=28, n=32, lanes=8, galois=63, order="coeff")]
    lat = [make_component(s).latency for s in specs]
    assert lat == [4, 9, 2]
    assert "galois" not in specs[0].build_key() and "src_primes" not in specs[2].build_key()
    assert specs[2].label == "automorphism_n32_P8_g63_coeff_W28_q" + str(specs[2].q)


# ------------------------------------------------------------------ RTL runs
@rtl
@pytest.mark.parametrize("multiplier,width,lanes", [("barrett", 64, 2), ("montgomery", 33, 1),
                                                    ("shoup", 47, 3)])
def test_rtl_mac_random_prime(multiplier, width, lanes):
    rng = random.Random(width * 31 + lanes)
    q = random_primes(rng, width, 1)[0]
    spec = make_spec("mac", width=width, q=q, lanes=lanes, multiplier=multiplier)
    _assert_clean(run_rtl(spec, vectors=140, seed=width))


@rtl
@pytest.mark.parametrize("multiplier,width,k,l,lanes", [("barrett", 64, 3, 2, 2),
                                                        ("montgomery", 41, 2, 3, 1),
                                                        ("shoup", 30, 5, 1, 2)])
def test_rtl_bconv_random_primes(multiplier, width, k, l, lanes):
    rng = random.Random(width * 7 + k)
    bits = [rng.randrange(max(16, width - 8), width + 1) for _ in range(k + l)]
    primes: list[int] = []
    for b in bits:
        primes += [p for p in random_primes(rng, b, 3) if p not in primes][:1]
    spec = make_spec("bconv", width=width, src_primes=primes[:k], dst_primes=primes[k:],
                     lanes=lanes, multiplier=multiplier)
    _assert_clean(run_rtl(spec, vectors=100, seed=k + l))


@rtl
@pytest.mark.parametrize("order,n,lanes,width,galois", [("eval", 32, 4, 64, 5),
                                                        ("coeff", 32, 2, 39, 63),
                                                        ("coeff", 16, 16, 24, 13),
                                                        ("eval", 16, 1, 32, 31)])
def test_rtl_automorphism(order, n, lanes, width, galois):
    q = random_primes(random.Random(n + width), width, 1)[0]
    spec = make_spec("automorphism", width=width, n=n, q=q, lanes=lanes, galois=galois,
                     order=order)
    _assert_clean(run_rtl(spec, transforms=3, seed=galois))


@rtl
@pytest.mark.parametrize("kind,kw", [("mac", {"lanes": 2}),
                                     ("bconv", {"src_primes": 2, "dst_primes": 2, "lanes": 2}),
                                     ("automorphism", {"n": 16, "lanes": 2})])
def test_wrong_golden_value_is_reported(kind, kw):
    spec = make_spec(kind, width=24, n=kw.pop("n", 1 << 10), **kw)
    res = run_rtl(spec, vectors=24, transforms=1, phases=("stall",), corrupt_expected=3)
    assert not res["pass"] and res["mismatched_beats"] == 1, res["first_mismatch"]


def test_simulator_names_are_checked():
    from sim.rtl.simulator import SIMULATORS, check_simulator, default_simulator

    assert SIMULATORS == ("icarus", "verilator") and default_simulator() in SIMULATORS
    with pytest.raises(ValueError, match="simulator 'modelsim'"):
        check_simulator("modelsim")


def test_cli_refuses_bad_keyswitch_parameters(capsys):
    from sim.cli import main as cli_main

    assert cli_main(["sim", "--unit", "automorphism", "--n", "64", "--galois", "6"]) == 2
    assert "galois element k=6" in capsys.readouterr().err
    assert cli_main(["sim", "--unit", "bconv", "--src-primes", "97,193", "--dst-primes", "193,"]) == 2
    assert "shares [193]" in capsys.readouterr().err


@rtl
def test_cli_sim_bconv_prime_list_and_count(capsys):
    from sim.cli import main as cli_main

    # primes no other test uses: two 29/30-bit primes given, two destination primes derived
    rc = cli_main(["sim", "--unit", "bconv", "--src-primes", "998244353,754974721",
                   "--dst-primes", "2", "--width", "30", "--lanes", "2", "--vectors", "40",
                   "--multiplier", "montgomery"])
    out = capsys.readouterr().out
    assert rc == 0 and "PASS" in out and "k2_l2" in out, out
    assert "latency" in out and "no-stall stream" in out
