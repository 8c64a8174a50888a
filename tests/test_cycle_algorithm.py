"""The preset's ``[algorithm]`` options (sim.cycle.algorithm): checked like every field, fed to
the real ``sw`` path by the workload registry, part of the trace cache key, and visible in the
cycle model's key traffic as hand-counted."""
from __future__ import annotations

import dataclasses
import warnings
from collections import Counter

import pytest

from sim.cycle import algorithm, cache, workloads
from sim.cycle.algorithm import AlgorithmOptions, params_with_dnum
from sim.cycle.checks import ConfigError
from sim.cycle.config import load_config, loads_config
from sim.cycle.model import estimate

BASE = """
name = "tiny"
clock_mhz = 100
word_bits = 32
lanes = 4
on_chip_bytes = {on_chip}
off_chip_gbps = 1
{extra}
[units]
ntt = {{ count = 1, lanes = 4 }}
modmul = 1
modadd = 1
bconv = 1
automorphism = 1
"""
N = 1024            # toy-boot-n10
SPECIAL = 11        # its special primes: ceil(44 Q primes / dnum 4)


def cfg(extra: str = "", on_chip: int = 0):
    return loads_config(BASE.format(extra=extra, on_chip=on_chip))


@pytest.fixture(scope="module")
def boot_traces(tmp_path_factory):
    """The ``bootstrap`` workload at toy-boot-n10 (512 slots) with each giant-step option."""
    import os

    old = os.environ.get("FHESIM_CACHE_DIR")
    os.environ["FHESIM_CACHE_DIR"] = str(tmp_path_factory.mktemp("cache"))
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            out = {gs: workloads.workload_ops("bootstrap", "toy-boot-n10", allow_insecure=True,
                                              algorithm=AlgorithmOptions(giant_steps=gs))[0]
                   for gs in ("keys", "min")}
            out["double"] = workloads.workload_ops("bootstrap", "toy-boot-n10", allow_insecure=True,
                                                   algorithm=AlgorithmOptions(hoisting="double"))[0]
            out["chain"] = workloads.workload_ops("bootstrap", "toy-boot-n10", allow_insecure=True,
                                                  algorithm=AlgorithmOptions(giant_steps="min",
                                                                             baby_steps="chain"))[0]
            return out
    finally:
        if old is None:
            del os.environ["FHESIM_CACHE_DIR"]
        else:
            os.environ["FHESIM_CACHE_DIR"] = old


# ---- the configuration table --------------------------------------------------------------

def test_algorithm_table_defaults_and_values():
    assert cfg().algorithm == AlgorithmOptions("keys", "params")
    c = cfg('[algorithm]\ngiant_steps = "min"\ndnum = 5\n')
    assert (c.algorithm.giant_steps, c.algorithm.dnum) == ("min", 5)
    assert c.summary()["giant_steps"] == "min" and c.summary()["dnum"] == 5
    assert c.algorithm.label() == "giant_steps=min, dnum=5"
    # the options that apply per group: giant steps only where bootstrapping runs
    assert c.algorithm.for_group("ckks-ops") == AlgorithmOptions(dnum=5)
    assert c.algorithm.for_group("resnet") == c.algorithm


@pytest.mark.parametrize("table, field", [
    ('giant_steps = "fewest"', "algorithm.giant_steps"),
    ("giant_steps = 2", "algorithm.giant_steps"),
    ("dnum = 0", "algorithm.dnum"),
    ("dnum = -3", "algorithm.dnum"),
    ("dnum = 2.5", "algorithm.dnum"),
    ('dnum = "auto"', "algorithm.dnum"),
    ("dnum = true", "algorithm.dnum"),
    ("hoisting = true", "algorithm.hoisting"),
    ('low_special = "some"', "algorithm.low_special"),
    ('baby_steps = "tree"', "algorithm.baby_steps"),
    ('baby_steps = "chain"\nhoisting = "double"', "algorithm.baby_steps"),
    ("low_special = 5", "algorithm.low_special"),
    ("ring_degree = 3000", "algorithm.ring_degree"),
    ("ring_degree = 512", "algorithm.ring_degree"),
    ("ring_degree = 262144", "algorithm.ring_degree"),
    ('ring_degree = "auto"', "algorithm.ring_degree"),
    ("ring_degree = true", "algorithm.ring_degree"),
    ("levels_left = 0", "algorithm.levels_left"),
    ('levels_left = "eight"', "algorithm.levels_left"),
    ('key_switching = "gadget"', "algorithm.key_switching"),
    ("klss_group = 4", "algorithm.klss_group"),                       # without klss
    ('key_switching = "klss"\nklss_group = 0', "algorithm.klss_group"),
])
def test_bad_algorithm_options_name_the_field(table, field):
    with pytest.raises(ConfigError, match=field.replace(".", r"\.")):
        cfg(f"[algorithm]\n{table}\n")


def test_algorithm_must_be_a_table_and_replace_is_checked():
    with pytest.raises(ConfigError, match="field 'algorithm' must be a table"):
        loads_config(BASE.format(extra="", on_chip=0).replace("[units]", 'algorithm = "min"\n[units]'))
    with pytest.raises(ConfigError, match=r"algorithm\.giant_steps"):
        AlgorithmOptions(giant_steps="max")
    c = cfg()
    with pytest.raises(ConfigError, match="must be an AlgorithmOptions"):
        dataclasses.replace(c, algorithm={"giant_steps": "min"})


def test_giant_step_values_are_the_software_ones():
    from sw.bootstrap.bootstrapper import GIANT_STEPS

    assert algorithm.GIANT_STEPS == GIANT_STEPS


def test_hoisting_values_are_the_software_ones():
    from sw.bootstrap.bootstrapper import HOISTING

    assert algorithm.HOISTING == HOISTING
    with pytest.raises(ConfigError, match=r"algorithm\.hoisting"):
        AlgorithmOptions(hoisting="triple")


def test_baby_step_values_are_the_software_ones():
    from sw.bootstrap.bootstrapper import BABY_STEPS

    assert algorithm.BABY_STEPS == BABY_STEPS
    with pytest.raises(ConfigError, match=r"algorithm\.baby_steps' = 'chain' needs algorithm\.hoisting"):
        AlgorithmOptions(baby_steps="chain", hoisting="double-cts")


def test_baby_step_and_hoisting_pairs_are_refused_exactly_where_the_software_refuses():
    # the rule is restated here so that loading a configuration does not import sw
    from sw.bootstrap import BootstrapConfig

    for bs in algorithm.BABY_STEPS:
        for h in algorithm.HOISTING:
            try:
                BootstrapConfig(slots=32, baby_steps=bs, hoisting=h)
                sw_ok = True
            except ValueError:
                sw_ok = False
            try:
                AlgorithmOptions(baby_steps=bs, hoisting=h)
                sim_ok = True
            except ConfigError:
                sim_ok = False
            assert sw_ok == sim_ok, (bs, h)


def test_ark_and_sharp_presets_run_minimum_key_switching():
    # ARK [V] abstract; SHARP as HE^2 models it (Table II, Fig. 4: Min-KS) [S]; Min-KS on the
    # baby steps too ([R] ARK, [S] FHE_Accelerator_Sim's ARK model)
    for name in ("ark", "sharp"):
        assert load_config(name).algorithm == AlgorithmOptions(giant_steps="min", baby_steps="chain"), name
    for name in ("craterlake", "f1", "u280", "poseidon"):
        assert load_config(name).algorithm.is_default, name
    # BTS at its own N = 2^17 and one digit [S], its units built for that degree
    bts = load_config("bts")
    assert bts.algorithm == AlgorithmOptions(ring_degree=1 << 17, dnum=1)
    assert bts.max_ring_degree == 1 << 17


# ---- dnum: rebuilt parameter sets, and the ones the software cannot run ---------------------

def test_dnum_rebuilds_the_set_with_the_same_levels():
    from sw.ckks import get_params

    p = get_params("n16-128")
    q = params_with_dnum(p, 5)
    assert q.q_groups == p.q_groups and q.max_level == p.max_level
    assert q.dnum == 5 and len(q.p_primes) == 9               # ceil(44 / 5)
    assert params_with_dnum(p, "params") is p and params_with_dnum(p, 4) is p
    # the same rule as CkksParams.build: with_dnum at build's own dnum gives build's primes
    r = q.with_dnum(4)
    assert r.p_primes == p.p_primes and r.q_groups == p.q_groups


def test_dnum_beyond_the_security_bound_is_refused_naming_dnum():
    from sw.ckks import get_params

    # dnum 3 at n16-128: alpha = 15 special primes of ~31 bits; log2 QP ~ 1,787 > 1,747
    with pytest.raises(ConfigError, match=r"'algorithm\.dnum' = 3 cannot run at n16-128.*"
                                          r"exceeds the 128-bit bound.*admits are 4 \.\. 44"):
        params_with_dnum(get_params("n16-128"), 3)
    with pytest.raises(ConfigError, match=r"'algorithm\.dnum' = 45 .*\[1, 44\]"):
        params_with_dnum(get_params("n16-128"), 45)


def test_workload_with_a_bad_dnum_is_refused_before_tracing(monkeypatch, tmp_path):
    monkeypatch.setenv("FHESIM_CACHE_DIR", str(tmp_path))
    opts = cfg("[algorithm]\ndnum = 2\n").algorithm
    with pytest.raises(ConfigError, match=r"algorithm\.dnum"):
        workloads.workload_ops("cmult", "n16-128", algorithm=opts)
    assert not list(tmp_path.rglob("*.pickle"))                 # nothing traced, nothing cached


def test_dnum_reaches_the_trace():
    """cmult at n16-128 with dnum 11: the relinearisation key has 11 digits of 4 primes and
    4 special primes (44 Q primes / 11), against 4 digits and 11 special primes."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ops, notes = workloads.workload_ops("cmult", "n16-128", algorithm=AlgorithmOptions(dnum=11))
        ref, _ = workloads.workload_ops("cmult", "n16-128")
    use = [k for o in ops for k in o.keys]
    assert [(k.key, k.digits, k.primes, k.special) for k in use] == [("relin", 11, 44, 4)]
    assert [(k.digits, k.special) for o in ref for k in o.keys] == [(4, 11)]
    assert "dnum=11" in notes[0]


# ---- the cache key --------------------------------------------------------------------------

def test_trace_request_includes_the_options_that_apply():
    boot = workloads.get_workload("bootstrap")
    ops = workloads.get_workload("cmult")
    a, b = AlgorithmOptions(), AlgorithmOptions(giant_steps="min")
    ra, rb = (workloads.trace_request(boot, "n16-128", algorithm=x) for x in (a, b))
    assert ra["algorithm"] == {"giant_steps": "keys", "hoisting": "single", "dnum": "params",
                               "low_special": "fit", "baby_steps": "hoisted", "ring_degree": "params",
                               "levels_left": "params", "key_switching": "hybrid",
                               "klss_group": "alpha"}
    assert rb["algorithm"] == {"giant_steps": "min", "hoisting": "single", "dnum": "params",
                               "low_special": "fit", "baby_steps": "hoisted", "ring_degree": "params",
                               "levels_left": "params", "key_switching": "hybrid",
                               "klss_group": "alpha"}
    assert cache.request_key(**ra) != cache.request_key(**rb)
    rc = workloads.trace_request(boot, "n16-128", algorithm=AlgorithmOptions(baby_steps="chain"))
    assert cache.request_key(**rc) not in {cache.request_key(**ra), cache.request_key(**rb)}
    # giant steps do not apply to a CKKS operation workload: the same entry
    assert workloads.trace_request(ops, "n16-128", algorithm=b) == workloads.trace_request(ops, "n16-128")
    rd = workloads.trace_request(ops, "n16-128", algorithm=AlgorithmOptions(dnum=5))
    assert cache.request_key(**rd) != cache.request_key(**workloads.trace_request(ops, "n16-128"))
    assert "sim/cycle/algorithm.py" in workloads.TRACE_CODE


def test_cached_traces_are_kept_apart(boot_traces):
    assert boot_traces["keys"] != boot_traces["min"]


# ---- minimum key switching in the trace and in the model ------------------------------------

def _named_uses(ops):
    return [k for o in ops for k in o.keys]


def test_min_trace_same_key_switches_fewer_keys(boot_traces):
    """Hand count, toy-boot-n10 at 512 slots: CtS and StC are 3 BSGS levels each (n1 = 4, 32,
    256; giant steps {-2n1, -n1, +n1} at n1 = 4 and 32, {+-256} at 256). The default needs a
    key per giant step; Horner steps serve the negative side {-n1, -2n1} with the key of -n1,
    so the keys of -8 and -64 go (17 rotation steps -> 15) and the number of key switches
    stays 53: 15 relinearisations (16 before the polynomial evaluator summed the remainder split of
    EvalMod's cosine into its top product before one relinearisation), 2 encapsulation/decapsulation
    (unnamed), 36 rotations.
    Named keys: 17 steps are 16 Galois elements (+256 and -256 coincide at 512 slots), plus
    the conjugation (2N - 1) and the relinearisation key: 18; with `min`, 16."""
    keys, mins = (_named_uses(boot_traces[g]) for g in ("keys", "min"))
    assert len(keys) == len(mins) == 53
    for uses in (keys, mins):
        c = Counter(k.key for k in uses)
        assert c["relin"] == 15 and c[None] == 2
        assert sum(v for k, v in c.items() if k and k.startswith("galois:")) == 36
    dropped = {f"galois:{pow(5, -8, 2 * N)}", f"galois:{pow(5, -64, 2 * N)}"}
    kk, mk = ({k.key for k in u if k.key} for u in (keys, mins))
    assert len(kk) == 18 and len(mk) == 16 and kk - mk == dropped and mk < kk
    # the -n1 keys now do the work of both: 4 uses each instead of 2
    assert Counter(k.key for k in mins)[f"galois:{pow(5, -4, 2 * N)}"] == 4
    assert Counter(k.key for k in mins)[f"galois:{pow(5, -32, 2 * N)}"] == 4
    assert f"galois:{2 * N - 1}" in mk and "relin" in mk


def test_chained_babies_same_key_switches_one_baby_key_per_level(boot_traces):
    """Hand count, toy-boot-n10 at 512 slots, on top of `min`: the baby steps of the three
    BSGS levels are {1, 2, 3}, {8, 16, 24} and {64, 128, 192} in CtS and in StC. Chained,
    each level rotates by its first step three times, so the keys of 2, 3, 16, 24, 128 and
    192 go (16 named keys -> 10), the key of step 1 serves 6 rotations instead of 2, and the
    key switches stay 53 with the same digits and special primes each."""
    mins, chain = (_named_uses(boot_traces[g]) for g in ("min", "chain"))
    assert len(chain) == 53
    assert sorted((k.digits, k.special) for k in chain) == sorted((k.digits, k.special) for k in mins)
    dropped = {f"galois:{pow(5, s, 2 * N)}" for s in (2, 3, 16, 24, 128, 192)}
    mk, ck = ({k.key for k in u if k.key} for u in (mins, chain))
    assert len(ck) == 10 and mk - ck == dropped and ck < mk
    c = Counter(k.key for k in chain)
    for s in (1, 8, 64):
        assert c[f"galois:{pow(5, s, 2 * N)}"] == 6, s
    # with room for every key, each is loaded once: exactly the dropped keys' first loads fewer
    big = cfg(on_chip=64 << 20)
    first = {}
    for k in mins:
        if k.key in dropped:
            first.setdefault(k.key, k.words(N) * 4)
    assert _key_bytes(boot_traces["min"], big) - _key_bytes(boot_traces["chain"], big) == sum(first.values())


def _key_bytes(ops, c):
    return int(estimate(ops, c).ops["key_offchip_bytes"].sum())


def test_key_traffic_drops_by_the_dropped_keys(boot_traces):
    """With no room for keys every key switch streams its key: the same bytes for both (same
    switches at the same levels). With room for every key (64 MB; a toy key is <= 1.8 MB) each
    named key is loaded once, at its first and largest use (CtS runs at the top), so `min`
    moves exactly the two dropped keys less: -64 first used at 42 primes, -8 at 40 (CtS levels
    of 2 primes each below 44), 4 digits, 11 special primes, both halves, 4-byte words."""
    ok, om = boot_traces["keys"], boot_traces["min"]
    stream = sum(k.words(N) for k in _named_uses(ok)) * 4
    assert _key_bytes(ok, cfg()) == _key_bytes(om, cfg()) == stream
    big = cfg(on_chip=64 << 20)
    for policy in ("lru", "min"):
        c = dataclasses.replace(big, policy=policy)
        drop = _key_bytes(ok, c) - _key_bytes(om, c)
        assert drop == 4 * 2 * ((42 + SPECIAL) + (40 + SPECIAL)) * N * 4, policy
    # and the unnamed (encapsulation) keys are streamed in both
    unnamed = sum(k.words(N) for k in _named_uses(ok) if k.key is None) * 4
    first = {}
    for k in _named_uses(ok):
        if k.key is not None:
            first.setdefault(k.key, k.words(N) * 4)
    assert _key_bytes(ok, big) == sum(first.values()) + unnamed


# ---- the report estimates each preset on its own algorithm -----------------------------------

def test_report_estimates_a_preset_on_its_own_algorithm(boot_traces):
    from sim.cycle.model import CompiledOps
    from sim.cycle.workloads import Workload
    from sim.report.build import _variants
    from sim.report.tables import estimate_all

    ok, om = boot_traces["keys"], boot_traces["min"]
    plain = cfg(on_chip=64 << 20)
    ark_like = dataclasses.replace(plain, name="tiny-min", algorithm=AlgorithmOptions(giant_steps="min"))
    seen = []
    dry = Workload("bootstrap", "bootstrap", "toy", load=lambda: (ok, []), source="dry run",
                   load_with=lambda a: seen.append(a) or (om, []))
    filed = Workload("bootstrap", "bootstrap", "toy", load=lambda: (ok, []), source="trace file t.json")
    for w, expect_min in ((dry, True), (filed, False)):
        seen.clear()
        est = estimate_all([plain, ark_like], [(w, ok, [])], {"bootstrap": CompiledOps(ok)},
                           keep=lambda w: True, variant=_variants(lambda msg: None))
        assert est.results[("tiny", "bootstrap")].total_cycles == estimate(ok, plain).total_cycles
        if expect_min:
            assert seen == [AlgorithmOptions(giant_steps="min")]
            assert est.results[("tiny-min", "bootstrap")].total_cycles == estimate(om, ark_like).total_cycles
            assert list(est.latency["algorithm"]) == ["", "giant_steps=min"]
        else:   # a trace file records one algorithm: refused for that preset, with the reason
            assert ("tiny-min", "bootstrap") not in est.results
            (u,) = est.unsupported
            assert u["preset"] == "tiny-min" and "giant_steps=min" in u["reason"] and "t.json" in u["reason"]


def test_estimate_cli_refuses_a_dnum_the_set_cannot_run(tmp_path, capsys, monkeypatch):
    from sim.cli import main

    monkeypatch.setenv("FHESIM_CACHE_DIR", str(tmp_path))
    f = tmp_path / "d3.toml"
    f.write_text((load_config("u280").path and open(load_config("u280").path).read())
                 + '\n[algorithm]\ndnum = 3\n')
    assert main(["estimate", "--config", str(f), "--workload", "rotate"]) == 2
    err = capsys.readouterr().err
    assert "'algorithm.dnum' = 3 cannot run at n16-128" in err and "128-bit bound" in err


# ---- ring_degree: the set's layout at a design's own degree ----------------------------------

def test_ring_degree_the_software_cannot_run_is_refused_naming_it():
    from sw.ckks import get_params

    with pytest.raises(ConfigError, match=r"'algorithm\.ring_degree' = 32768 cannot run at n16-128.*"
                                          r"128-bit bound 881"):
        algorithm.params_at_degree(get_params("n16-128"), 32768)
    p = get_params("n16-128")
    assert algorithm.params_at_degree(p, "params") is p and algorithm.params_at_degree(p, 65536) is p


def test_ring_degree_then_dnum_reach_the_trace(monkeypatch, tmp_path):
    """cmult at n16-128 rebuilt at 2^17 with one digit: every operation is over 2^17
    coefficients and the relinearisation key has 1 digit of 44 primes over 44 special primes
    (a log2 QP of about 2,690: refused at 2^16's 1,747, within 2^17's 3,523)."""
    monkeypatch.setenv("FHESIM_CACHE_DIR", str(tmp_path))
    opts = AlgorithmOptions(ring_degree=1 << 17, dnum=1)
    with pytest.raises(ConfigError, match=r"algorithm\.dnum"):
        workloads.workload_ops("cmult", "n16-128", algorithm=AlgorithmOptions(dnum=1))
    ops, notes = workloads.workload_ops("cmult", "n16-128", algorithm=opts)
    assert {int(o.n) for o in ops} == {1 << 17}
    assert [(k.key, k.digits, k.primes, k.special) for o in ops for k in o.keys] == [("relin", 1, 44, 44)]
    assert "ring_degree=131072" in notes[0] and any("n16-128-n17-dnum1" in x for x in notes)


def test_bootstrap_at_twice_the_degree_packs_twice_the_slots(monkeypatch, tmp_path):
    """Fully packed bootstrapping of toy-boot-n10 rebuilt at 2^11 is the trace of
    toy-boot-n11's own: the same operations (the rebuilt set has toy-boot-n11's primes)."""
    monkeypatch.setenv("FHESIM_CACHE_DIR", str(tmp_path))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ops, _ = workloads.workload_ops("bootstrap", "toy-boot-n10", allow_insecure=True,
                                        algorithm=AlgorithmOptions(ring_degree=2048))
        ref, _ = workloads.workload_ops("bootstrap", "toy-boot-n11", allow_insecure=True)
        small, _ = workloads.workload_ops("bootstrap", "toy-boot-n10", allow_insecure=True)
    assert {int(o.n) for o in ops} == {2048}
    assert [(o.kind, o.primes_in, o.label) for o in ops] == [(o.kind, o.primes_in, o.label) for o in ref]
    assert [(o.kind, o.primes_in, o.label) for o in ops] != [(o.kind, o.primes_in, o.label) for o in small]


def test_levels_left_8_is_the_benchmark_workload(monkeypatch, tmp_path):
    """``bootstrap`` at n16-128 with 8 application levels is ``bootstrap-l8`` (whose set,
    bench-boot-l8, is that layout), operation for operation, key for key."""
    monkeypatch.setenv("FHESIM_CACHE_DIR", str(tmp_path))
    ops, notes = workloads.workload_ops("bootstrap", "n16-128", algorithm=AlgorithmOptions(levels_left=8))
    ref, _ = workloads.workload_ops("bootstrap-l8")
    full, _ = workloads.workload_ops("bootstrap", "n16-128")

    def shape(x):
        return [(o.kind, o.primes_in, o.primes_out, tuple((k.key, k.digits, k.primes, k.special)
                                                           for k in o.keys)) for o in x]
    assert shape(ops) == shape(ref) != shape(full)
    assert "levels_left=8" in notes[0]


def test_levels_left_the_set_cannot_hold_is_refused_naming_it(monkeypatch, tmp_path):
    from sw.ckks import get_params

    monkeypatch.setenv("FHESIM_CACHE_DIR", str(tmp_path))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        toy = get_params("toy-n10", allow_insecure=True)     # 12 levels, no bootstrapping layout
    with pytest.raises(ConfigError, match=r"'algorithm\.levels_left' = 4 cannot run at toy-n10: its 12 "
                                          r"levels hold no application level below the 14"):
        algorithm.params_with_levels_left(toy, 4)
    with pytest.raises(ConfigError, match=r"'algorithm\.levels_left' = 22 cannot run at n16-128: .*1747"):
        workloads.workload_ops("cmult", "n16-128", algorithm=AlgorithmOptions(levels_left=22))
    assert not list(tmp_path.rglob("*.pickle"))


def test_ring_degrees_are_those_with_a_tabulated_bound():
    from sw.ckks.security import MAX_LOG_QP_128

    assert algorithm.RING_DEGREES == (min(MAX_LOG_QP_128), max(MAX_LOG_QP_128))


def test_key_switching_values_are_the_softwares():
    from sw.ckks import klss

    assert algorithm.KEY_SWITCHING == klss.KEY_SWITCHING


def test_klss_keys_reach_the_trace_and_the_model(monkeypatch, tmp_path):
    """cmult at n16-128 with KLSS: the relinearisation key holds 4 digits x 5 groups (55
    primes of Q P in groups of alpha = 11) x t primes of T per half; the model reads
    exactly that many words. At dnum 11 (alpha 4) the ModUp raises each digit to t' < 44
    primes instead of to the other 44 of Q P: fewer NTT rows, the same key switches."""
    from sw.ckks import get_params, klss

    monkeypatch.setenv("FHESIM_CACHE_DIR", str(tmp_path))
    p = get_params("n16-128")
    t = klss.aux_count(p, 11)
    ops, notes = workloads.workload_ops("cmult", "n16-128", algorithm=AlgorithmOptions(key_switching="klss"))
    assert [(k.digits, k.primes, k.special, k.groups, k.aux) for o in ops for k in o.keys] == [(4, 44, 11, 5, t)]
    assert "key_switching=klss" in notes[0]
    cfg = dataclasses.replace(load_config("ark"), limbs="trace", evk_a_generated=False)
    key = int(estimate(ops, cfg).ops["key_bytes"].sum())
    assert key == 4 * 5 * 2 * t * (1 << 16) * 8
    hyb, _ = workloads.workload_ops("cmult", "n16-128", algorithm=AlgorithmOptions(dnum=11))
    kl, _ = workloads.workload_ops("cmult", "n16-128", algorithm=AlgorithmOptions(dnum=11, key_switching="klss"))
    assert _limbs(kl, "ntt") < _limbs(hyb, "ntt")
    assert len([k for o in kl for k in o.keys]) == len([k for o in hyb for k in o.keys]) == 1
    # groups of 8 primes of Q P: 6 groups (48 primes at dnum 11: 44 + 4), a wider T
    g8, _ = workloads.workload_ops("cmult", "n16-128", algorithm=AlgorithmOptions(
        dnum=11, key_switching="klss", klss_group=8))
    p11 = p.with_dnum(11)
    assert [(k.groups, k.aux) for o in g8 for k in o.keys] == [(6, klss.aux_count(p11, 8))]


def test_model_refuses_a_degree_above_the_units(monkeypatch, tmp_path):
    monkeypatch.setenv("FHESIM_CACHE_DIR", str(tmp_path))
    c = cfg("[algorithm]\nring_degree = 2048\n")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ops, _ = workloads.workload_ops("cmult", "toy-boot-n10", allow_insecure=True, algorithm=c.algorithm)
    small = dataclasses.replace(c, max_ring_degree=1024)
    with pytest.raises(ValueError, match="max_ring_degree=1024"):
        estimate(ops, small)
    assert estimate(ops, c).total_cycles > 0


def _limbs(ops, kind):
    return sum(k.primes * k.count for o in ops for k in o.kernels if k.kind == kind)


def test_double_hoisting_reaches_the_trace(boot_traces):
    """``hoisting = "double"`` traces the software's double-hoisted DFTs: the same key
    switches, each costed with its digits and special primes, fewer NTT and
    basis-conversion limbs, and the raised plaintext products read K more limbs."""
    single, double = boot_traces["keys"], boot_traces["double"]
    ks = [[(u.digits, u.special) for o in ops for u in o.keys] for ops in (single, double)]
    # the same (digits, special primes) for every key switch: 11 special primes, the
    # encapsulation's 2 (its own P')
    assert sorted(ks[0]) == sorted(ks[1])
    assert {sp for _, sp in ks[1]} == {SPECIAL, 2}
    assert _limbs(double, "ntt") < 0.9 * _limbs(single, "ntt")
    assert _limbs(double, "bconv") < _limbs(single, "bconv")
    raised = [o for o in double if o.kind == "mul_plain_acc" and o.primes_in > 0]
    plain = [o for o in single if o.kind == "mul_plain_acc"]
    assert len(raised) == len(plain)
    assert max(o.primes_in for o in raised) == max(o.primes_in for o in plain) + SPECIAL


def test_low_special_reaches_the_resnet_trace(tmp_path, monkeypatch):
    """ResNet-20 (digits8) at toy-boot-n11, whose chain is n16-128's: with ``"fit"`` the
    convolutions' level-2 rotations raise to 5 special primes (``special_for(2)``), with
    ``"all"`` to 11; no key switch of the bootstraps changes."""
    monkeypatch.setenv("FHESIM_CACHE_DIR", str(tmp_path))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        got = {v: workloads.workload_ops("resnet20", "toy-boot-n11", geometry="digits8", allow_insecure=True,
                                         algorithm=AlgorithmOptions(low_special=v))[0]
               for v in ("fit", "all")}
        from sw.ckks import get_params
        p = get_params("toy-boot-n11", allow_insecure=True)
    assert p.special_for(2) == 5 < len(p.p_primes) == 11

    def uses(ops, boot):
        return sorted((k.digits, k.primes, k.special, str(k.key).startswith("galois"))
                      for o in ops if ("bootstrap" in o.label) == boot for k in o.keys)

    net_fit, net_all = uses(got["fit"], False), uses(got["all"], False)
    assert len(net_fit) == len(net_all)                   # the same key switches
    # rotations at level 2 (4 primes): 5 special primes, or 11; relinearisations keep 11
    assert {s for _, pr, s, rot in net_fit if pr == 4 and rot} == {5}
    assert {s for _, pr, s, rot in net_all if pr == 4 and rot} == {11}
    assert {s for _, pr, s, rot in net_fit if not rot} == {11}
    assert uses(got["fit"], True) == uses(got["all"], True)
