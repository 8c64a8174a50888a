"""BSGS diagonal linear transforms on real CKKS ciphertexts (toy-n10, INSECURE) vs NumPy ``M @ v``."""
from __future__ import annotations

import numpy as np
import pytest

from sw import trace
from sw.circuits.linear_transform import LinearTransform
from sw.ckks import (CkksContext, Decryptor, Encoder, Encryptor, Evaluator, KeyGenerator,
                     MissingKeyError, get_params)


@pytest.fixture(scope="module")
def he(ckks_setup):
    return ckks_setup("toy-n10", seed=21)


def _run(he, lt, v, level=5, keys=None, **kw):
    keys = keys or he.keys
    ct = Encryptor(he.ctx, keys.public, seed=7).encrypt(he.enc.encode(v, level=level, slots=lt.slots))
    out = lt.apply(Evaluator(he.ctx, keys), ct, **kw)
    return ct, out, he.enc.decode(Decryptor(he.ctx, keys.secret).decrypt(out))


def _keys_for(he, steps):
    """A key set with exactly ``steps`` as rotation keys (same secret)."""
    return he.kg.gen_keyset(rotations=steps, sk=he.keys.secret)


@pytest.mark.parametrize("slots", [512, 64, 8], ids=["full-512", "sparse-64", "sparse-8"])
def test_dense_random_matrix(he, slots):
    rng = np.random.default_rng(slots)
    m = (rng.uniform(-1, 1, (slots, slots)) + 1j * rng.uniform(-1, 1, (slots, slots))) / np.sqrt(slots)
    v = rng.uniform(-1, 1, slots) + 1j * rng.uniform(-1, 1, slots)
    lt = LinearTransform.from_matrix(m)
    assert lt.n1 * -(-slots // lt.n1) >= len(lt.diagonals) == slots
    keys = _keys_for(he, lt.rotation_steps())
    ct, out, got = _run(he, lt, v, keys=keys)
    np.testing.assert_allclose(got, m @ v, atol=1e-4)
    assert out.level == ct.level - 1 == ct.level - lt.depth
    assert out.scale == pytest.approx(ct.scale, rel=1e-12)
    # BSGS: far fewer rotations than diagonals for a dense matrix
    assert len(lt.rotation_steps()) <= 2 * int(np.ceil(np.sqrt(slots))) + 2


def test_rotation_count_uses_hoisting(he):
    """Baby steps go through one rotate_hoisted call; giant steps are plain rotations."""
    rng = np.random.default_rng(1)
    slots = 64
    m = rng.standard_normal((slots, slots))
    lt = LinearTransform.from_matrix(m)
    keys = _keys_for(he, lt.rotation_steps())
    v = rng.uniform(-1, 1, slots)
    with trace.recording() as rec:
        _, _, got = _run(he, lt, v, keys=keys)
    np.testing.assert_allclose(got, m @ v, atol=1e-3)
    df = rec.to_dataframe()
    top = df[df["parent"].isna()]
    kinds = top["kind"].value_counts().to_dict()
    assert kinds.get("rotate_hoisted", 0) == 1
    assert kinds.get("rotate", 0) == len(lt.giant_steps)
    assert kinds.get("rescale", 0) == 1


def test_sparse_diagonals_and_negative_indices(he):
    rng = np.random.default_rng(2)
    slots = 128
    diags = {0: rng.standard_normal(slots), 1: rng.standard_normal(slots), -1: rng.standard_normal(slots),
             -17: rng.standard_normal(slots) + 1j * rng.standard_normal(slots)}
    lt = LinearTransform(diags, slots)
    m = lt.matrix()
    t = np.arange(slots)
    np.testing.assert_array_equal(m[t, (t - 17) % slots], diags[-17])
    keys = _keys_for(he, lt.rotation_steps())
    v = rng.uniform(-1, 1, slots)
    _, out, got = _run(he, lt, v, keys=keys)
    np.testing.assert_allclose(got, m @ v, atol=1e-4)
    np.testing.assert_allclose(lt.apply_plain(v), m @ v, atol=1e-12)


@pytest.mark.parametrize("n1", [1, 4, 32])
def test_explicit_n1_and_target_scale(he, n1):
    rng = np.random.default_rng(3)
    slots = 32
    m = rng.standard_normal((slots, slots)) / 4
    lt = LinearTransform.from_matrix(m, n1=n1)
    keys = _keys_for(he, lt.rotation_steps())
    v = rng.uniform(-1, 1, slots)
    _, out, got = _run(he, lt, v, keys=keys, target_scale=2.0 ** 35)
    assert out.scale == pytest.approx(2.0 ** 35, rel=1e-12)
    np.testing.assert_allclose(got, m @ v, atol=1e-4)


def test_missing_key_is_reported(he):
    slots = 16
    lt = LinearTransform.from_matrix(np.eye(slots)[::-1])
    steps = lt.rotation_steps()
    keys = _keys_for(he, steps[:-1])
    with pytest.raises(MissingKeyError):
        _run(he, lt, np.ones(slots), keys=keys)


def test_input_checks(he):
    lt = LinearTransform.from_matrix(np.eye(8))
    ct = Encryptor(he.ctx, he.keys.public, seed=1).encrypt(he.enc.encode(np.ones(16), level=3, slots=16))
    with pytest.raises(ValueError, match="16 slots"):
        lt.apply(Evaluator(he.ctx, he.keys), ct)
    ct0 = Encryptor(he.ctx, he.keys.public, seed=1).encrypt(he.enc.encode(np.ones(8), level=0, slots=8))
    with pytest.raises(ValueError, match="level"):
        lt.apply(Evaluator(he.ctx, he.keys), ct0)
    with pytest.raises(ValueError, match="power of two"):
        LinearTransform({0: np.ones(6)}, 6)
    with pytest.raises(ValueError, match="zero"):
        LinearTransform.from_matrix(np.zeros((4, 4)))


def test_dry_run_rotation_keys_at_n16():
    """Keys generated from rotation_steps() suffice at the real N = 2^16 set (shape-only trace)."""
    params = get_params("n16-128")
    ctx = CkksContext(params)
    lt = LinearTransform({k: np.ones(1024) for k in range(0, 1024, 3)}, 1024)
    with trace.recording(dry_run=True) as rec:
        keys = KeyGenerator(ctx, seed=1).gen_keyset(rotations=lt.rotation_steps())
        enc = Encoder(ctx)
        ct = Encryptor(ctx, keys.public, seed=2).encrypt(enc.encode(np.zeros(8), level=20, slots=1024))
        out = lt.apply(Evaluator(ctx, keys), ct)
    assert out.level == 19 and out.is_placeholder
    df = rec.to_dataframe()
    # each baby-step sum: one pmult, then the fused mul_plain_acc for every further diagonal
    assert int(df["kind"].isin(["pmult", "mul_plain_acc"]).sum()) == len(lt.diagonals)
    assert int((df["kind"] == "rotate").sum()) == len(lt.baby_steps) + len(lt.giant_steps)
