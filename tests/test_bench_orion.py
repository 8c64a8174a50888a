"""The Orion peer of ``fhesim bench resnet``: weight mapping, subprocess protocol, table.

* The mapping of our ResNet onto Orion's module names (:func:`orion_peer.orion_state`,
  option-A shortcuts as 0/1 strided 1x1 convolutions) is checked against our plaintext
  forward (:func:`sw.nn.plain.forward`) with a NumPy forward of the mapped network; no
  torch needed.
* A fake driver (this interpreter answering canned JSON) checks the parsing, the errors,
  the memory guard and the bench table (ratio ours / Orion from the same run, INSECURE
  labels, the 2^16 refusal row kept, the note when Orion is unavailable).
* If the Orion environment has been built (``make orion-peer``), the real driver's
  cleartext network is checked against ours, and a tiny network runs encrypted at
  N = 2^10 (slow; skipped otherwise). No wall-clock assertions.
"""
from __future__ import annotations

import argparse
import json
import sys
import textwrap
import warnings

import numba
import numpy as np
import pytest

from sim.benchmarks.peers import orion_peer as op


# --------------------------------------------------------------------------- weight mapping


def test_shortcut_a_weight_is_our_channel_padding():
    from sw.nn.plain import conv2d, shortcut_a
    x = np.random.default_rng(0).standard_normal((2, 16, 8, 8))
    w = op.shortcut_a_weight(16, 32, 8)
    assert w.shape == (32, 16, 1, 1) and w.sum() == 16
    np.testing.assert_array_equal(conv2d(x, w, None, 2, 0), shortcut_a(x, 2, 8))
    with pytest.raises(ValueError, match="do not fit"):
        op.shortcut_a_weight(16, 32, 17)


@pytest.mark.parametrize("geometry", ["digits8", "cifar32"])
def test_orion_state_reproduces_our_plaintext_forward(geometry):
    from sw.nn.data import load_digits_split
    from sw.nn.models import load_model
    from sw.nn.plain import forward
    model = load_model("resnet20", geometry)
    spec, state = op.orion_state(model)
    assert spec["stages"] == [[16, 3], [32, 3], [64, 3]]
    assert spec["shortcuts"] == {"layers.1.0": True, "layers.2.0": True}
    assert spec["in_channels"] == model.geometry.channels and spec["num_classes"] == 10
    # 1 stem + 9 blocks x 2 convolutions (weight, bias) + 2 shortcuts + linear (weight, bias)
    assert len(state) == 2 + 9 * 4 + 2 + 2
    x = load_digits_split(geometry)[2][:3]
    np.testing.assert_allclose(op.forward_state(spec, state, x), forward(model, x), rtol=0, atol=1e-9)


def test_orion_state_refuses_option_b_shortcuts():
    from sw.nn.models import ResNet
    m = ResNet("resnet20", "digits8")
    for k, shp in (("layer2.0.shortcut.0.weight", (32, 16, 1, 1)),):
        m.state[k] = np.ones(shp, np.float32)
    for s in ("weight", "bias", "running_mean", "running_var"):
        m.state[f"layer2.0.shortcut.1.{s}"] = np.ones(32, np.float32)
    with pytest.raises(ValueError, match="option A only"):
        op.orion_state(m)


def test_orion_config_is_the_published_set_at_our_ring_degree():
    cfg = op.orion_config(12)
    ck = cfg["ckks_params"]
    assert ck["LogN"] == 12 and ck["LogQ"] == [55] + [40] * 10 and ck["LogP"] == [61] * 3
    assert ck["LogScale"] == 40 and ck["H"] == 192 and cfg["boot_params"]["LogP"] == [61] * 8
    assert cfg["orion"]["debug"] is False and cfg["orion"]["io_mode"] == "none"


# --------------------------------------------------------------------------- protocol


def _canned(**extra) -> dict:
    seconds = dict(init_keys=0.5, fit=2.0, compile_total=10.0, compile=6.0, rotation_keys=3.0,
                   bootstrap_keys=1.0, keygen=4.5, encrypt=0.1, inference=40.0, bootstrap=30.0, decrypt=0.1)
    params = dict(log_n=12, ring_degree=4096, slots=2048, logq=[55] + [40] * 10, logp=[61] * 3,
                  boot_logp=[61] * 8, log_scale=40, h=192, levels=10, ring_type="standard", margin=2,
                  embedding="hybrid", moduli_bits=None)
    clear = [[float(i) for i in range(10)]]
    ans = dict(ok=True, task="resnet", threads=1, params=params, seconds=seconds, rotation_keys=77,
               bootstraps_placed=20, bootstrapper_slots=[1024, 512], input_level=3, bootstraps_run=20,
               logits=[[v + 0.01 for v in clear[0]]], logits_clear=clear, max_logit_err=0.01, top1=9,
               top1_clear=9, peak_rss_bytes=int(2.5e9), peak_rss_after_compile_bytes=int(2e9),
               relu="Orion's on.ReLU (fake)", version="1.fake")
    ans.update(extra)
    return ans


def _fake_driver(tmp_path, answer: dict | None, noise: str = "", sleep: float = 0.0) -> str:
    """A driver script that answers ``answer`` with the request, GOMAXPROCS and the arrays' keys echoed."""
    path = tmp_path / "fake_orion_driver.py"
    path.write_text(textwrap.dedent(f"""
        import json, os, sys, time
        import numpy as np
        req = json.load(sys.stdin)
        print({noise!r})
        time.sleep({sleep!r})
        ans = {answer!r}
        if ans is None:
            sys.exit(3)
        if ans.get("ok"):
            ans["echo"] = {{k: v for k, v in req.items() if k != "arrays"}}
            ans["gomaxprocs"] = os.environ.get("GOMAXPROCS")
            ans["pythonpath"] = os.environ.get("PYTHONPATH")
            if "arrays" in req:
                z = np.load(req["arrays"])
                ans["array_keys"] = sorted(z.files)
                ans["test_shape"] = list(z["test"].shape)
                ans["calib_shape"] = list(z["calib"].shape)
        print(json.dumps(ans))
    """))
    return str(path)


def test_run_driver_parses_the_answer_and_passes_threads(tmp_path, monkeypatch):
    monkeypatch.setenv("PYTHONPATH", "/somewhere/fhesim")
    drv = _fake_driver(tmp_path, _canned(), noise="{1} Finding per-layer input/output ranges and shapes...")
    ans = op.run_driver({"task": "resnet"}, sys.executable, driver=drv, threads=2)
    assert ans["ok"] and ans["bootstraps_run"] == 20
    assert ans["echo"] == {"task": "resnet", "threads": 2} and ans["gomaxprocs"] == "2"
    assert ans["pythonpath"] is None          # the peer never sees fhesim's packages
    assert ans["polled_peak_rss_bytes"] >= 0


def test_run_driver_reports_failures(tmp_path):
    drv = _fake_driver(tmp_path, {"ok": False, "error": "ValueError: Invalid backend"})
    with pytest.raises(op.PeerUnavailable, match="Orion run failed: ValueError: Invalid backend"):
        op.run_driver({"task": "resnet"}, sys.executable, driver=drv)
    drv = _fake_driver(tmp_path, None)
    with pytest.raises(op.PeerUnavailable, match="no answer"):
        op.run_driver({"task": "resnet"}, sys.executable, driver=drv)


def test_run_driver_stops_a_driver_past_the_memory_limit(tmp_path):
    drv = _fake_driver(tmp_path, _canned(), sleep=3.0)
    with pytest.raises(op.PeerUnavailable, match="passed the 0.001 GB limit"):
        op.run_driver({"task": "resnet"}, sys.executable, driver=drv, max_rss_gb=0.001)


def test_run_orion_sends_our_weights_and_images(tmp_path, monkeypatch):
    from sw.nn.data import load_digits_split
    from sw.nn.models import load_model
    drv = _fake_driver(tmp_path, _canned())
    model = load_model("resnet20", "digits8")
    xtr, _, xte, _ = load_digits_split("digits8")
    ans = op.run_orion(model, xtr[:5], xte[:1], log_n=12, python=sys.executable, driver=drv)
    assert ans["test_shape"] == [1, 1, 8, 8] and ans["calib_shape"] == [5, 1, 8, 8]
    spec, state = op.orion_state(model)
    assert ans["array_keys"] == sorted(["calib", "test", *state])
    assert ans["echo"]["spec"] == spec and ans["echo"]["config"] == op.orion_config(12)
    assert ans["request"]["task"] == "resnet" and "arrays" not in ans["request"]


def test_ensure_env_names_what_is_missing(tmp_path, monkeypatch):
    monkeypatch.setenv("FHESIM_ORION_VENV", str(tmp_path / "no-venv"))
    with pytest.raises(op.PeerUnavailable, match="make bench-resnet"):
        op.ensure_env(build=False)
    monkeypatch.setattr(op, "find_python", lambda: None)
    with pytest.raises(op.PeerUnavailable, match="no Python 3.9-3.12 interpreter found"):
        op.ensure_env(build=True)


def test_ratio():
    assert op.ratio(1.0, 4.0) == 0.25
    for ours, peer in ((1.0, float("nan")), (float("nan"), 1.0), (1.0, 0.0), (None, 1.0)):
        assert op.ratio(ours, peer) != op.ratio(ours, peer)   # NaN


# --------------------------------------------------------------------------- bench resnet


def _fake_infer(monkeypatch, params="toy-boot-n12", raise_=None):
    import sw.nn.infer
    image = dict(image=0, seconds=10.0, bootstraps=18, top1_encrypted=3, top1_plain=3, max_logit_err=0.01,
                 max_logit_err_vs_exact=0.05, layer_seconds={}, s_conv=4.0, s_bootstrap=6.0)
    fake = dict(images=[image], params=params, insecure=True, slots=1024, method="composite",
                degrees=[15, 15, 27], bootstraps_planned=18, boot_slots=[1024], compile_seconds=1.0,
                keygen_seconds=2.0, rotation_keys=3, key_level=16, key_gib=0.1)

    def run_infer(*a, **k):
        if raise_ is not None:
            raise raise_
        return fake
    monkeypatch.setattr(sw.nn.infer, "run_infer", run_infer)


def _bench(extra):
    from sim.benchmarks import resnet as bench_resnet
    parser = argparse.ArgumentParser()
    bench_resnet.add_arguments(parser)
    args = parser.parse_args(["--geometry", "digits8", "--allow-insecure", *extra])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return bench_resnet.run(args)


def _fake_orion(tmp_path, monkeypatch, answer):
    drv = _fake_driver(tmp_path, answer)
    real, seen = op.run_driver, []

    def fake_run(req, python, driver=None, threads=None, max_rss_gb=None):
        seen.append(dict(req, threads=threads, max_rss_gb=max_rss_gb))
        return real(req, python, driver=drv, threads=threads, max_rss_gb=max_rss_gb)
    monkeypatch.setattr(op, "ensure_env", lambda build=True, log=None: sys.executable)
    monkeypatch.setattr(op, "run_driver", fake_run)
    return seen


@pytest.mark.parametrize("extra, want", [(["--threads", "1"], 1), (["--threads", "1", "--orion-threads", "3"], 3)])
def test_bench_resnet_orion_threads_follow_ours_unless_given(tmp_path, monkeypatch, extra, want):
    _fake_infer(monkeypatch)
    seen = _fake_orion(tmp_path, monkeypatch, _canned())
    df = _bench(["--params", "toy-boot-n12", *extra])
    assert [s["threads"] for s in seen] == [want]
    assert any("ours ran with 1 numba thread(s)" in n for n in df.attrs["notes"])


def test_bench_resnet_runs_orion_at_2_12_beside_ours(tmp_path, monkeypatch):
    _fake_infer(monkeypatch)
    seen = _fake_orion(tmp_path, monkeypatch, _canned())
    df = _bench(["--params", "toy-boot-n12"])
    assert len(seen) == 1 and seen[0]["config"]["ckks_params"]["LogN"] == 12
    # Orion gets as many threads as ours: every numba thread at 2^12 by default
    assert seen[0]["threads"] == numba.config.NUMBA_NUM_THREADS and seen[0]["max_rss_gb"] == 19.0
    assert any(f"ours ran with {numba.config.NUMBA_NUM_THREADS} numba thread(s)" in n for n in df.attrs["notes"])
    ours = df[df.system.str.startswith("fhesim")].iloc[0]
    orion = df[df.system.str.startswith("Orion 1.fake")].iloc[0]
    assert ours.ring_degree == orion.ring_degree == "2^12 INSECURE"
    assert orion.seconds == 40.0 and orion.bootstraps == 20 and orion.peak_gb == 2.5
    assert orion.ours_over_this == pytest.approx(10.0 / 40.0) and ours.ours_over_this == 1.0
    assert orion.max_logit_err == pytest.approx(0.01)
    assert orion.keygen_s == 4.5 and orion.compile_s == 8.0
    assert ours.keygen_s == 2.0 and ours.compile_s == 1.0 and ours.max_logit_err_vs_exact == 0.05
    # the 2^16 refusal stays, with its figure
    refusal = df[df.source == "peer not run"]
    assert len(refusal) == 1 and refusal.ring_degree.iloc[0] == "2^16"
    notes = " ".join(df.attrs["notes"])
    assert "24.3 GB" in notes and "logN 12 (INSECURE)" in notes and "20 bootstraps placed" in notes
    assert "Orion's activations are its own" in notes and "weight mapping check" in notes


def test_bench_resnet_notes_an_unavailable_orion_and_goes_on(monkeypatch):
    _fake_infer(monkeypatch)

    def missing(build=True, log=None):
        raise op.PeerUnavailable("no Python 3.9-3.12 interpreter found")
    monkeypatch.setattr(op, "ensure_env", missing)
    df = _bench(["--params", "toy-boot-n12"])
    assert not df.system.str.startswith("Orion 1").any()
    assert (df[df.source == "measured"].seconds == 10.0).all()
    assert any("Orion not run: no Python 3.9-3.12 interpreter found" in n for n in df.attrs["notes"])


def test_bench_resnet_orion_only_by_default_at_2_12(tmp_path, monkeypatch):
    _fake_infer(monkeypatch, params="toy-boot-n11")
    seen = _fake_orion(tmp_path, monkeypatch, _canned())
    _bench(["--params", "toy-boot-n11"])
    assert seen == []
    _bench(["--params", "toy-boot-n11", "--orion"])
    assert len(seen) == 1 and seen[0]["config"]["ckks_params"]["LogN"] == 11
    _fake_infer(monkeypatch)
    _bench(["--params", "toy-boot-n12", "--no-orion"])
    assert len(seen) == 1


def test_bench_resnet_prints_orion_alone_when_ours_does_not_fit(tmp_path, monkeypatch):
    from sw.nn.encrypted import SlotCapacityError
    _fake_infer(monkeypatch, raise_=SlotCapacityError("resnet20/digits8: the tensors need 16384 slots"))
    _fake_orion(tmp_path, monkeypatch, _canned())
    df = _bench(["--params", "toy-boot-n12"])
    assert list(df.source) == ["not run: does not fit", "measured (peer)", "peer not run"]
    assert any("fhesim not run: resnet20/digits8: the tensors need 16384 slots" in n for n in df.attrs["notes"])
    # without Orion the refusal is the error it was (exit 2 from fhesim bench)
    with pytest.raises(SlotCapacityError):
        _bench(["--params", "toy-boot-n12", "--no-orion"])


# --------------------------------------------------------------------------- real Orion


def _real_env():
    try:
        return op.ensure_env(build=False)
    except op.PeerUnavailable as e:
        pytest.skip(f"Orion peer environment not built: {e}")


@pytest.mark.slow
def test_real_orion_cleartext_network_is_ours():
    from sw.nn.data import load_digits_split
    from sw.nn.models import load_model
    from sw.nn.plain import forward
    python = _real_env()
    model = load_model("resnet20", "digits8")
    xtr, _, xte, _ = load_digits_split("digits8")
    ans = op.run_orion(model, xtr[:2], xte[:3], log_n=12, task="plain", python=python)
    np.testing.assert_allclose(np.asarray(ans["logits"]), forward(model, xte[:3]), rtol=0, atol=1e-4)


@pytest.mark.slow
def test_real_orion_tiny_network_encrypted_at_n10(tmp_path):
    """A two-block network (4 and 8 channels, one option-A shortcut) on an 8x8 image, at
    N = 2^10 (INSECURE): the real driver's whole path, fit to decrypt."""
    python = _real_env()
    rng = np.random.default_rng(0)
    spec = dict(in_channels=1, num_classes=10, stages=[[4, 1], [8, 1]], shortcuts={"layers.1.0": True})
    st = {"stem.weight": rng.normal(0, .3, (4, 1, 3, 3)), "stem.bias": np.zeros(4),
          "layers.1.0.shortcut.weight": op.shortcut_a_weight(4, 8, 2),
          "linear.weight": rng.normal(0, .3, (10, 8)), "linear.bias": np.zeros(10)}
    for s, (c, ci) in enumerate([(4, 4), (8, 4)]):
        p = f"layers.{s}.0"
        st[p + ".conv1.weight"], st[p + ".conv1.bias"] = rng.normal(0, .2, (c, ci, 3, 3)), np.zeros(c)
        st[p + ".conv2.weight"], st[p + ".conv2.bias"] = rng.normal(0, .2, (c, c, 3, 3)), np.zeros(c)
    x = rng.uniform(0, 1, (9, 1, 8, 8))
    arrays = tmp_path / "arrays.npz"
    op.write_arrays(arrays, st, x[1:], x[:1])
    ans = op.run_driver(dict(task="resnet", arrays=str(arrays), spec=spec, config=op.orion_config(10)),
                        python, threads=1, max_rss_gb=4.0)
    assert ans["params"]["ring_degree"] == 1024 and ans["params"]["levels"] == 10
    assert ans["bootstraps_run"] == ans["bootstraps_placed"] > 0
    ref = op.forward_state(spec, st, x[:1])
    np.testing.assert_allclose(np.asarray(ans["logits_clear"]), ref, rtol=0, atol=1e-5)
    assert ans["max_logit_err"] < 0.05 and ans["top1"] == int(np.argmax(ref))
    assert 0 < ans["peak_rss_bytes"] and ans["seconds"]["inference"] > 0
    json.dumps(ans)   # plain JSON types only
