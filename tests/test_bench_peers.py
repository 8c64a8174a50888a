"""The OpenFHE peer of ``fhesim bench ckks`` / ``bench bootstrap``: subprocess protocol and notes.

A fake driver (this interpreter running a script that answers canned JSON) checks the
parsing, the errors and that the ratio columns are computed from the same run; the
finder is monkeypatched to check the note when no Python 3.10 exists. If the OpenFHE
environment has been built (``make peers``), a tiny real run at N = 2^12 checks the real
driver's answer (slow; skipped otherwise). No wall-clock assertions.
"""
from __future__ import annotations

import argparse
import json
import sys
import textwrap

import pytest

from sim.benchmarks import ckks as bench_ckks
from sim.benchmarks.peers import openfhe_peer as of

CANNED_OPS = {op: {"min_s": 0.5, "median_s": 0.6, "err": 1e-7} for op in
              ("mul+relin+rescale", "rotate(1)", "pmul+rescale", "encrypt", "decrypt+decode")}
CANNED_OPS["encode"] = {"min_s": 0.25, "median_s": 0.25, "err": None}


def _fake_driver(tmp_path, answer: dict | None, noise: str = "") -> str:
    """A driver script that echoes the request's ring degree into a canned answer."""
    path = tmp_path / "fake_driver.py"
    path.write_text(textwrap.dedent(f"""
        import json, sys
        req = json.load(sys.stdin)
        print({noise!r})
        ans = {answer!r}
        if ans is None:
            sys.exit(3)
        if ans.get("ok"):
            ans["params"]["ring_degree"] = 1 << req["log_n"]
            ans["params"]["slots"] = 1 << (req["log_n"] - 1)
            ans["echo"] = req
        print(json.dumps(ans))
    """))
    return str(path)


def _canned(**extra) -> dict:
    params = dict(log_q=1200, q_primes=11, q_prime_bits="60 + 10 x 40", dnum=4, levels=10,
                  scaling="FIXEDMANUAL", secret="uniform ternary", p_primes=3, log_p=180,
                  levels_left_after_mul=9, mul_bits=22.0)
    return dict(ok=True, task="ckks", params=params, ops=CANNED_OPS, keygen_s=0.1, version="1.fake", **extra)


def test_run_driver_parses_the_answer_and_ignores_other_output(tmp_path):
    drv = _fake_driver(tmp_path, _canned(), noise="OpenFHE chatter before the answer")
    ans = of.run_driver({"task": "ckks", "log_n": 12}, sys.executable, driver=drv, threads=1)
    assert ans["ok"] and ans["params"]["ring_degree"] == 4096
    assert ans["echo"] == {"task": "ckks", "log_n": 12}
    assert ans["ops"]["rotate(1)"]["min_s"] == 0.5


def test_run_driver_reports_failures(tmp_path):
    drv = _fake_driver(tmp_path, {"ok": False, "error": "RuntimeError: degree too large"})
    with pytest.raises(of.PeerUnavailable, match="OpenFHE run failed: RuntimeError: degree too large"):
        of.run_driver({"log_n": 12}, sys.executable, driver=drv)
    drv = _fake_driver(tmp_path, None)
    with pytest.raises(of.PeerUnavailable, match="no answer"):
        of.run_driver({"log_n": 12}, sys.executable, driver=drv)


def test_ratio():
    assert of.ratio(1.0, 4.0) == 0.25
    for ours, peer in ((1.0, float("nan")), (float("nan"), 1.0), (1.0, 0.0), (None, 1.0)):
        assert of.ratio(ours, peer) != of.ratio(ours, peer)   # NaN


def _bench_ckks(extra):
    parser = argparse.ArgumentParser()
    bench_ckks.add_arguments(parser)
    args = parser.parse_args(["--params", "toy-n10", "--allow-insecure", "--reps", "1", "--no-desilo", *extra])
    with pytest.warns(Warning, match="INSECURE"):
        return bench_ckks.run(args)


def test_bench_ckks_with_fake_openfhe(tmp_path, monkeypatch):
    drv = _fake_driver(tmp_path, _canned())
    real = of.run_driver
    seen = {}

    def fake_run(req, python, threads=None):
        seen.update(req)
        return real(req, python, driver=drv, threads=threads)

    monkeypatch.setattr(of, "ensure_env", lambda build=True, log=None: sys.executable)
    monkeypatch.setattr(of, "run_driver", fake_run)
    df = _bench_ckks([]).set_index("op")
    # the request is matched to our parameters
    assert seen["task"] == "ckks" and seen["log_n"] == 10 and seen["depth"] > 0 and seen["dnum"] > 0
    assert seen["secure"] is False and seen["target_log_q"] > 100
    assert df.loc["mul+relin+rescale", "openfhe_s"] == 0.5
    assert df.loc["encode", "openfhe_s"] == 0.25
    assert df["openfhe_s"].isna()["decode"] and df["openfhe_s"].isna()["decrypt"]
    # ratio = ours / peer from this run's columns
    for op in ("mul+relin+rescale", "rotate(1)", "encode", "decrypt+decode"):
        want = round(df.loc[op, "ours_s"] / df.loc[op, "openfhe_s"], 2)
        assert df.loc[op, "ours_over_openfhe"] == pytest.approx(want, abs=0.011)
    assert df.loc["rotate(1)", "openfhe_err"] == 1e-7
    notes = "\n".join(df.attrs["notes"])
    assert "parameters" in notes and "OpenFHE" in notes and "fhesim (ours)" in notes
    assert "openfhe 1.fake" in notes


def test_bench_ckks_notes_a_missing_python310(tmp_path, monkeypatch):
    monkeypatch.setenv("FHESIM_OPENFHE_VENV", str(tmp_path / "no-venv"))
    monkeypatch.setattr(of, "find_python310", lambda: None)
    with pytest.raises(of.PeerUnavailable, match="no Python 3.10 interpreter found"):
        of.ensure_env(build=True)
    with pytest.raises(of.PeerUnavailable, match="make peers"):
        of.ensure_env(build=False)
    df = _bench_ckks([])
    assert df["openfhe_s"].isna().all() and df["ours_over_openfhe"].isna().all()
    assert any("OpenFHE skipped: no Python 3.10 interpreter found" in n for n in df.attrs["notes"])
    assert (df["ours_s"] > 0).all()


def _real_env():
    try:
        return of.ensure_env(build=False)
    except of.PeerUnavailable as e:
        pytest.skip(f"OpenFHE peer environment not built: {e}")


@pytest.mark.slow
def test_real_openfhe_tiny_ckks_and_bootstrap():
    python = _real_env()
    req = dict(task="ckks", log_n=12, depth=6, first_mod_size=60, scale_mod_size=40, dnum=2,
               secure=False, reps=1)
    ans = of.run_driver(req, python, threads=1)
    p = ans["params"]
    assert p["ring_degree"] == 4096 and p["slots"] == 2048 and p["q_primes"] == 7 and p["levels"] == 6
    assert p["log_q"] == pytest.approx(60 + 6 * 40, abs=2) and p["p_primes"] >= 1
    assert p["levels_left_after_mul"] == 5
    for op in ("mul+relin+rescale", "rotate(1)", "pmul+rescale", "encrypt", "decrypt+decode"):
        assert ans["ops"][op]["min_s"] > 0 and ans["ops"][op]["err"] < 1e-4, op
    boot = of.run_driver(dict(task="bootstrap", log_n=12, depth=2, first_mod_size=60, scale_mod_size=50,
                              dnum=3, secure=False, reps=1, level_budget=[2, 2]), python, threads=1)
    assert boot["levels_left"] == 2 and boot["params"]["bootstrap_depth"] > 0
    assert boot["mean_bits"] > 5 and boot["bootstrap_s"] > 0
    json.dumps(boot)   # plain JSON types only


# --------------------------------------------------------------------------- bench bootstrap


class _FakeCt:
    def __init__(self, values, level, primes=1):
        import numpy as np
        self.values, self.level = np.asarray(values), level
        self.nbytes = 2 * 2 * len(self.values) * 8 * primes   # 2 polys of N = 2 * slots words per prime


class _FakeEngine:
    """Enough of ``desilofhe.Engine(bootstrap=True)`` for the bootstrap benchmark's plumbing."""

    def __init__(self, slots, **kw):
        self.slot_count, self.max_level = slots, 24

    def __getattr__(self, name):
        if name.startswith("create_"):
            return lambda *a, **k: object()
        raise AttributeError(name)

    def encrypt(self, x, pk, level=0):
        return _FakeCt(x, level, primes=2)

    def bootstrap(self, ct, *keys):
        return _FakeCt(ct.values, 17)

    def decrypt(self, ct, sk):
        return ct.values + 2.0 ** -20


def _bench_bootstrap(extra):
    from sim.benchmarks import bootstrap as bench_boot
    parser = argparse.ArgumentParser()
    bench_boot.add_arguments(parser)
    args = parser.parse_args(["--params", "toy-boot-n10", "--allow-insecure", "--no-progress", *extra])
    with pytest.warns(Warning, match="INSECURE"):
        return bench_boot.run(args)


def test_bench_bootstrap_with_fake_peers(tmp_path, monkeypatch):
    import types
    fake_desilo = types.SimpleNamespace(Engine=lambda **kw: _FakeEngine(512, **kw), __version__="2.fake")
    monkeypatch.setitem(sys.modules, "desilofhe", fake_desilo)
    boot = dict(ok=True, task="bootstrap", keygen_s=0.1, first_s=9.0, bootstrap_s=8.0, levels_left=5,
                mean_bits=11.0, worst_bits=9.0, version="1.fake",
                params=dict(log_q=1311, q_primes=26, q_prime_bits="60 + 25 x 50", dnum=4, levels=25,
                            scaling="FLEXIBLEAUTO", secret="uniform ternary", p_primes=7, log_p=420,
                            level_budget=[3, 3], bootstrap_depth=20))
    drv = _fake_driver(tmp_path, boot)
    real, seen = of.run_driver, []

    def fake_run(req, python, threads=None):
        seen.append(dict(req))
        return real(req, python, driver=drv, threads=threads)

    monkeypatch.setattr(of, "ensure_env", lambda build=True, log=None: sys.executable)
    monkeypatch.setattr(of, "run_driver", fake_run)
    df = _bench_bootstrap(["--peer-key", "small"]).set_index("system")
    rows = ["OpenFHE (59-bit scaling)", "OpenFHE (50-bit scaling)"]
    assert list(df.index) == ["DESILO FHE", *rows, "fhesim (ours)"]
    # one driver run per scaling size, each with a first modulus one bit larger (deg = 1)
    assert [(r["scale_mod_size"], r["first_mod_size"]) for r in seen] == [(59, 60), (50, 51)]
    for req in seen:
        assert req["task"] == "bootstrap" and req["log_n"] == 10 and req["level_budget"] == [3, 3]
        assert req["depth"] == 16 and req["target_log_q"] > 1000
    for col in ("ring_degree", "log_q", "log_p", "q_primes", "dnum", "levels", "levels_left",
                "mean_bits", "worst_bits", "bootstrap_s", "ours_over_this"):
        assert col in df.columns, col
    assert (df["ring_degree"] == 1024).all()
    assert df.loc["DESILO FHE", "levels_left"] == 17 and df.loc[rows[0], "levels_left"] == 5
    ours = df.loc["fhesim (ours)", "bootstrap_s"]
    for r in rows:
        assert df.loc[r, "ours_over_this"] == pytest.approx(ours / 8.0, abs=0.011)
    assert df.loc["fhesim (ours)", "ours_over_this"] == 1.0
    assert df.loc["fhesim (ours)", "levels_left"] == 16


@pytest.mark.parametrize("text", ["", "59,abc", "60", "19", "59,,50"])
def test_bench_bootstrap_refuses_bad_openfhe_scale_bits(text, capsys):
    from sim.benchmarks import bootstrap as bench_boot
    parser = argparse.ArgumentParser()
    bench_boot.add_arguments(parser)
    with pytest.raises(SystemExit) as e:
        parser.parse_args(["--openfhe-scale-bits", text])
    assert e.value.code == 2
    assert "--openfhe-scale-bits" in capsys.readouterr().err


# --------------------------------------------------------------------------- bench resnet


def test_bench_resnet_prints_the_orion_refusal(monkeypatch):
    from sim.benchmarks import resnet as bench_resnet
    import sw.nn.infer
    image = dict(image=0, seconds=10.0, bootstraps=1, top1_encrypted=3, top1_plain=3, max_logit_err=0.01,
                 layer_seconds={}, s_conv=4.0, s_bootstrap=6.0)
    fake = dict(images=[image], params="toy-boot-n11", insecure=True, slots=1024, method="composite",
                degrees=[15], bootstraps_planned=1, boot_slots=[1024], compile_seconds=1.0,
                keygen_seconds=1.0, rotation_keys=3, key_level=16, key_gib=0.1)
    monkeypatch.setattr(sw.nn.infer, "run_infer", lambda *a, **k: fake)
    parser = argparse.ArgumentParser()
    bench_resnet.add_arguments(parser)
    df = bench_resnet.run(parser.parse_args(["--params", "toy-boot-n11", "--allow-insecure"]))
    orion = df[df.system.str.startswith("Orion")]
    assert len(orion) == 1 and orion["seconds"].isna().all() and orion["source"].iloc[0] == "peer not run"
    notes = " ".join(df.attrs["notes"])
    assert "24.3 GB" in notes and "6.4 minutes" in notes and "2^16" in notes


def test_peer_environment_steps_name_what_failed(tmp_path):
    """The shared build steps of the peers' environments (sim.benchmarks.peers.common): a venv
    that cannot be made names the interpreter, a failed pip install names the package."""
    from sim.benchmarks.peers import common

    bogus = str(tmp_path / "python3.99")
    (tmp_path / "python3.99").write_text("#!/bin/sh\necho 'no venv module' >&2\nexit 1\n")
    (tmp_path / "python3.99").chmod(0o755)
    with pytest.raises(common.PeerUnavailable, match=r"python3\.99 -m venv failed: no venv module"):
        common.create_venv(tmp_path / "env", bogus, "Test")
    with pytest.raises(common.PeerUnavailable, match=r"pip install somepeer failed: .*no-such-option"):
        common.pip_install(sys.executable, ["--no-such-option"], "somepeer")
    assert common.import_error(sys.executable, "import json") is None
    assert "No module named" in common.import_error(sys.executable, "import no_such_module_here")
