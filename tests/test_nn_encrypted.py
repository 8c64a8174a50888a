"""Encrypted ResNet-20 end to end (every layer, every bootstrap) at a small insecure set,
the level planner, the dry-run trace and the error paths."""
from __future__ import annotations

import io
import json
import warnings
from contextlib import redirect_stdout

import numpy as np
import pytest

from sim.cli import main
from sw.nn.encrypted import EncryptedResNet, SlotCapacityError
from sw.nn.models import ResNet
from sw.nn.planner import LevelPlanError


pytestmark = pytest.mark.usefixtures("one_numba_thread")
PARAMS = "toy-boot-n11"


def test_encrypted_resnet20_two_images_with_bootstrapping(insecure_params):
    """CI target: full encrypted ResNet-20 (composite minimax ReLU 15/15/27, 18 imaginary-
    removing bootstraps) on 2 digits test images; encrypted top-1 == plaintext top-1 and the
    largest logit error (vs the plaintext network with the same polynomials) is bounded."""
    buf = io.StringIO()
    with redirect_stdout(buf), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        rc = main(["infer", "--model", "resnet20", "--geometry", "digits8", "--params", "toy-boot-n11",
                   "--allow-insecure", "--images", "2", "--json"])
    assert rc == 0
    res = json.loads(buf.getvalue())
    print({k: v for k, v in res.items() if k != "images"})
    for r in res["images"]:
        print(r)
    assert res["insecure"] and res["method"] == "composite" and res["degrees"] == [15, 15, 27]
    assert res["levels_per_activation"] == 14 and res["slots"] == 1024
    assert res["bootstraps_planned"] == 18 and res["bound_warnings"] == []
    assert len(res["images"]) == 2 and res["agreement"] == 1.0
    for r in res["images"]:
        assert r["top1_encrypted"] == r["top1_plain"] == r["top1_plain_poly"]
        assert r["bootstraps"] == 18 and r["levels_used"] == 19 * 14 + 22
        assert r["max_logit_err"] < 5e-3            # measured ~1e-4
        assert r["max_logit_err_vs_exact"] < 0.1
        assert r["s_bootstrap"] > 0 and r["s_conv"] > 0 and r["s_relu"] > 0
    # the network's rotation keys are truncated to the bootstrap output level (16), which
    # is where the network starts; bootstrapping keeps its full-height keys
    assert res["key_level"] == 16 < insecure_params(PARAMS).max_level


def test_encrypted_resnet20_sparse_bootstrapping_per_stage():
    """``--sparse-bootstrap``: stages 2 and 3 bootstrap their tensors as 512- and 256-slot
    ciphertexts (their slot vectors repeat with that period); same agreement and error bound
    as the full-slot run, each stage's bootstraps timed under its period."""
    buf = io.StringIO()
    with redirect_stdout(buf), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        rc = main(["infer", "--model", "resnet20", "--geometry", "digits8", "--params", "toy-boot-n11",
                   "--allow-insecure", "--images", "1", "--start", "3", "--sparse-bootstrap", "--json"])
    assert rc == 0
    res = json.loads(buf.getvalue())
    assert res["sparse_bootstrap"] and res["boot_slots"] == [1024, 512, 256]
    (r,) = res["images"]
    print(r)
    assert r["top1_encrypted"] == r["top1_plain_poly"] and r["bootstraps"] == 18
    assert r["max_logit_err"] < 5e-3            # measured ~8e-5


def test_encrypted_resnet20_with_chained_baby_steps(insecure_params):
    """``baby_steps="chain"`` (with ``giant_steps="min"``, as the ARK and SHARP presets trace
    it): every bootstrap's baby rotations are chained; the image agrees with the plaintext
    polynomial model within the default run's error bound, through 18 bootstraps, with fewer
    bootstrapping keys than hoisted babies."""
    from sw.nn.infer import run_infer
    from sw.bootstrap import BootstrapConfig, rotation_steps
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = run_infer("resnet20", "digits8", PARAMS, images=1, allow_insecure=True, start=5,
                        progress=False, log=lambda *a: None, giant_steps="min", baby_steps="chain")
        p = insecure_params(PARAMS)
        (r,) = res["images"]
        assert res["baby_steps"] == "chain"
        assert r["top1_encrypted"] == r["top1_plain_poly"] and r["bootstraps"] == 18
        assert r["max_logit_err"] < 5e-3
        slots = res["slots"]
        chain = rotation_steps(p, BootstrapConfig(slots=slots, giant_steps="min", baby_steps="chain"))
        hoisted = rotation_steps(p, BootstrapConfig(slots=slots, giant_steps="min"))
    assert len(chain) < len(hoisted)


def test_encrypted_resnet20_with_minimum_key_switching():
    """``--giant-steps min``: the bootstrapping DFTs rotate their giant steps by +-n1 (ARK);
    same agreement and error bound as the default run, and the session holds exactly the
    bootstrapping steps of the ``min`` plan plus the network's own steps."""
    from sw import trace
    from sw.bootstrap import BootstrapConfig, rotation_steps
    buf = io.StringIO()
    with redirect_stdout(buf), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        rc = main(["infer", "--model", "resnet20", "--geometry", "digits8", "--params", "toy-boot-n11",
                   "--allow-insecure", "--images", "1", "--start", "5", "--giant-steps", "min", "--json"])
    assert rc == 0
    res = json.loads(buf.getvalue())
    (r,) = res["images"]
    assert res["giant_steps"] == "min"
    assert r["top1_encrypted"] == r["top1_plain_poly"] and r["bootstraps"] == 18
    assert r["max_logit_err"] < 5e-3
    from sw.ckks import get_params
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        p = get_params(PARAMS, allow_insecure=True)
        enn = EncryptedResNet(ResNet("resnet20", "digits8"), p)
        with trace.recording(dry_run=True):
            sess = {g: enn.session(bootstrap=True, giant_steps=g) for g in ("keys", "min")}
    ctx = sess["min"].ctx
    for g, se in sess.items():
        want = set(rotation_steps(p, BootstrapConfig(slots=enn.slots, real=True, giant_steps=g)))
        assert set(se.bootstrapper.keys.steps) == want
        have = set(se.keys.rotation) | set(se.keys.low_rotation)
        assert have == {ctx.galois_element(s) for s in want | set(enn.rotation_steps())}
    assert len(sess["min"].bootstrapper.keys.steps) < len(sess["keys"].bootstrapper.keys.steps)
    # every network key is truncated to the highest level the plan rotates it at, and a
    # step rotated at a level whose digit needs fewer special primes also has a key over
    # those (keys.low_rotation), worked out here from the plan's op levels and each map's
    # own steps
    top = sess["min"].key_level
    plan = enn.plan(top, top)
    want: dict = {}
    for op in enn.graph:
        steps = enn.maps[op.name].rotation_steps if op.name in enn.maps else (
            enn.pool_steps if op.kind == "avgpool" else [])
        for st in steps:
            want.setdefault(st, set()).add(plan.op_levels[op.name][0])
    boot = {ctx.galois_element(st) for st in sess["min"].bootstrapper.keys.steps}
    keys = sess["min"].keys
    fitted = 0
    for st, lvls in want.items():
        g = ctx.galois_element(st)
        low = [lv for lv in lvls if p.special_for(lv) < len(p.p_primes)]
        if low:
            k = keys.low_rotation[g]
            assert (k.level, k.special) == (max(low), p.special_for(max(low))), st
            fitted += 1
        if g in boot or max(lvls) in low:
            continue
        assert keys.rotation[g].level == min(max(lvls), top), st
    assert fitted > 0      # the convolutions rotate at level 2, over 5 special primes


def test_sparse_bootstrap_trace_uses_each_stage_period(insecure_params):
    from sw.nn.trace import dry_run_trace
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        rec = dry_run_trace("resnet20", "digits8", insecure_params(PARAMS), sparse_bootstrap=True)
    slots = [e.info["slots"] for top in rec.events for e in top.walk() if e.kind == "bootstrap"]
    assert sorted(slots) == [256] * 6 + [512] * 6 + [1024] * 6


def test_level_plan(insecure_params):
    m = ResNet("resnet20", "digits8")
    enn = EncryptedResNet(m, insecure_params(PARAMS), method="composite", dry_run=True)
    plan = enn.plan(16, 16)
    assert plan.n_bootstraps == 18 and plan.levels_consumed == 19 * 14 + 22
    # every activation input gets a bootstrap right before it when fewer than 14 levels are left
    assert all(op.endswith(("relu1", "relu2")) or op.endswith("conv1") for op, _ in plan.bootstraps)
    with pytest.raises(LevelPlanError, match=r"layer1.0.relu1: needs 14 levels .* at level 0 and no bootstrapping"):
        enn.plan(16, None)
    dg = EncryptedResNet(m, insecure_params(PARAMS), method="data-guided", degree=15, dry_run=True)
    assert dg.plan(16, 16).n_bootstraps < plan.n_bootstraps


def test_dry_run_trace_matches_plan():
    from sim.commands.trace import run_trace
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = run_trace("resnet20", "digits8", "toy-boot-n11", allow_insecure=True)
    assert res["bootstraps"] == 18 == res["top_level_ops"]["bootstrap"]
    # plaintext products: the first of each sum a pmult, the others fused (mul_plain_acc)
    tops = res["top_level_ops"]
    assert tops["pmult"] + tops["mul_plain_acc"] > 1000 and res["kernels"]["ntt"] > 0


def test_errors(insecure_params):
    with pytest.raises(SlotCapacityError, match=r"need 16384 slots .* N/2 = 1024"):
        EncryptedResNet(ResNet("resnet20", "cifar32"), insecure_params(PARAMS), dry_run=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert main(["infer", "--params", "toy-boot-n11", "--allow-insecure", "--images", "0"]) == 2
        assert main(["infer", "--params", "no-such-set", "--images", "1"]) == 2
        assert main(["infer", "--params", "toy-boot-n11", "--images", "1"]) == 2   # insecure without opt-in


def test_lazy_maps_build_the_same_diagonals(insecure_params):
    """``lazy_maps``: each convolution keeps only its shape and builds its weighted
    diagonals when it runs; they equal the eagerly built map's, word for word."""
    from sw.nn.data import load_digits_split
    from sw.nn.models import load_model
    xtr, _, _, _ = load_digits_split("digits8")
    net, p = load_model("resnet20", "digits8"), insecure_params(PARAMS)
    eager = EncryptedResNet(net, p, calibration=xtr[:32], lazy_maps=False)
    lazy = EncryptedResNet(net, p, calibration=xtr[:32], lazy_maps=True)
    convs = [op.name for op in eager.graph if op.kind == "conv"]
    assert convs and all(lazy.maps[n].diag is None for n in convs)
    for n in eager.maps:
        a, b = eager.maps[n], lazy.valued_map(n)
        np.testing.assert_array_equal(a.g, b.g)
        np.testing.assert_array_equal(a.b, b.b)
        np.testing.assert_array_equal(a.diag, b.diag)
        assert (a.bias is None) == (b.bias is None)
        if a.bias is not None:
            np.testing.assert_array_equal(a.bias, b.bias)
    assert lazy.rotation_steps() == eager.rotation_steps()


def test_warm_up_encodes_every_bootstrapping_diagonal_an_image_uses(insecure_params):
    """``HeSession.warm_up`` bootstraps a zero with each bootstrapper (the per-stage ones
    too): afterwards an image's 18 bootstraps encode no diagonal the warm-up had not
    cached, so the first image is timed like the later ones."""
    from sw.nn.data import load_digits_split
    p = insecure_params(PARAMS)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        enn = EncryptedResNet(ResNet("resnet20", "digits8"), p)
        sess = enn.session(bootstrap=True, sparse_bootstrap=True)
    assert set(sess.bootstrappers) == {1024, 512, 256}
    assert all(not b._pt_cache for b in sess.bootstrappers.values())
    assert sess.warm_up() > 0
    cached = {n: set(b._pt_cache) for n, b in sess.bootstrappers.items()}
    assert all(cached.values())
    _, _, xte, _ = load_digits_split("digits8")
    fresh = sess.boot_level
    out, st = enn.run(sess, enn.encrypt(sess, xte[0], fresh), plan=enn.plan(fresh, sess.boot_level))
    assert st.bootstraps == 18
    assert {n: set(b._pt_cache) for n, b in sess.bootstrappers.items()} == cached
