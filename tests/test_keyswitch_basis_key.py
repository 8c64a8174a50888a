"""Key switching with a key over its own basis: bootstrapping's encapsulation ``s -> s'``.

The bootstrapper switches the level-0 ciphertext with a one-digit key over ``q0 * P'``
through :func:`sw.ckks.keyswitch.key_switch`. Checked at ``toy-boot-n10`` against
references written here: the hybrid key switch step by step with Python integers (fast
basis conversion, pointwise products, ``round(x / P')`` from the full CRT value), and
decryption under the sparse secret against decryption of the input under the dense one.
Also: the trace of that key switch, the level check of a :class:`BasisKey`, and the exact
lift of :func:`sw.ring.mod_up` (``exact=True``, bootstrapping's ModRaise).
"""
import dataclasses
import math

import numpy as np
import pytest

from sw import trace
from sw.bootstrap import BootstrapConfig, Bootstrapper, gen_bootstrap_keys
from sw.bootstrap.bootstrapper import EncapsulationKey
from sw.ckks import (CkksContext, Decryptor, Encoder, Encryptor, KeyGenerator,
                     ParameterMismatchError, SecretKey)
from sw.ckks.keys import BasisKey
from sw.ckks.keyswitch import key_switch
from sw.ring import RnsBasis, RnsPoly, mod_up


pytestmark = pytest.mark.usefixtures("one_numba_thread")


@pytest.fixture(scope="module")
def env(insecure_params):
    """Bootstrapper whose encapsulation key is made here from a known sparse secret."""
    p = insecure_params("toy-boot-n10")
    ctx = CkksContext(p)
    kg = KeyGenerator(ctx, seed=11)
    sk = kg.gen_secret_key()
    keys = gen_bootstrap_keys(kg, sk, BootstrapConfig(slots=64))
    rng = np.random.default_rng(2024)
    sp = np.zeros(p.n, dtype=np.int64)
    sp[rng.choice(p.n, 32, replace=False)] = rng.choice([-1, 1], 32)
    pprimes = ctx.p_basis.primes[:2]
    basis = RnsBasis.get(p.primes_at(0) + pprimes, p.n)
    a = RnsPoly(basis, np.stack([rng.integers(0, q, p.n, dtype=np.uint64) for q in basis.primes]), True)
    e = RnsPoly.from_signed(basis, rng.integers(-6, 7, p.n)).to_ntt()
    s_sp = RnsPoly.from_signed(basis, sp).to_ntt()
    consts = [math.prod(pprimes) % q for q in p.primes_at(0)] + [0, 0]
    b = e.sub(a.mul(s_sp)).add(sk.poly.select(basis).mul_scalar(consts))
    enc_key = EncapsulationKey(b, a, basis, len(p.primes_at(0)))
    bt = Bootstrapper(ctx, dataclasses.replace(keys, to_sparse=enc_key))
    z = rng.uniform(-1, 1, 64) + 1j * rng.uniform(-1, 1, 64)
    x = Encryptor(ctx, sk, seed=12).encrypt(Encoder(ctx).encode(z, level=0, slots=64))
    sk_sparse = SecretKey(RnsPoly.from_signed(ctx.full_basis, sp).to_ntt(), sp.astype(np.int8), p)
    return dict(p=p, ctx=ctx, sk=sk, sk_sparse=sk_sparse, key=enc_key, bt=bt, x=x)


def _ints(rows) -> np.ndarray:
    return np.asarray(rows).astype(object)


def _crt(rows, primes) -> np.ndarray:
    """Integers in ``[0, prod(primes))`` from residue rows (coefficient form)."""
    m = math.prod(primes)
    acc = np.zeros(rows.shape[1], dtype=object)
    for r, q in zip(_ints(rows), primes):
        h = m // q
        acc = (acc + r * (h * pow(h, -1, q) % m)) % m
    return acc


def _centre(v, m):
    return np.where(v > m // 2, v - m, v)


def _to_ntt(basis, rows):
    return RnsPoly(basis, np.ascontiguousarray(rows, dtype=np.uint64), False).to_ntt().data


def _reference_switch(c1: RnsPoly, key: EncapsulationKey):
    """``(u0, u1)`` of the one-digit hybrid key switch of ``c1`` (evaluation form over
    ``Q_0``), in Python integers: fast conversion ``sum_j [x_j qhat_j^-1]_{q_j} qhat_j`` to
    ``P'``, products with the key rows, then ``round(x / P')`` of each product from its CRT
    value over ``Q_0 P'``."""
    qs, ps = c1.basis.primes, key.basis.primes[key.q_count:]
    Q, P = math.prod(qs), math.prod(ps)
    xc = _ints(c1.to_coeff().data)
    v = [(xc[j] * pow(Q // q, -1, q)) % q for j, q in enumerate(qs)]
    raised = np.array([sum(v[j] * (Q // q) for j, q in enumerate(qs)) % pp for pp in ps], dtype=object)
    ext = np.concatenate([np.asarray(c1.data), _to_ntt(RnsBasis.get(ps, c1.n), raised.astype(np.uint64))])
    out = []
    for half in (key.b, key.a):
        prod = np.array([(_ints(ext[i]) * _ints(half.data[i])) % q for i, q in enumerate(key.basis.primes)],
                        dtype=object)
        coeff = RnsPoly(key.basis, prod.astype(np.uint64), True).to_coeff().data
        X = _crt(coeff, key.basis.primes)
        r = _centre(X % P, P)
        y = (X - r) // P
        out.append(_to_ntt(c1.basis, np.array([y % q for q in qs], dtype=object).astype(np.uint64)))
    return out


def test_encapsulation_switch_matches_integer_reference(env):
    """The bootstrapper's ``s -> s'`` switch equals, word for word, the integer reference
    and :func:`keyswitch.key_switch` called directly."""
    x, key = env["x"], env["key"]
    y = env["bt"]._to_sparse(x)
    c0, c1 = x.polys
    u0, u1 = _reference_switch(c1, key)
    assert np.array_equal(y.polys[0].data, c0.add(RnsPoly(c0.basis, u0, True)).data)
    assert np.array_equal(y.polys[1].data, u1)
    d0, d1 = key_switch(env["ctx"], c1, 0, key.switching_key())
    assert np.array_equal(y.polys[0].data, c0.add(d0).data)
    assert np.array_equal(y.polys[1].data, d1.data)
    assert (y.level, y.scale, y.slots) == (x.level, x.scale, x.slots)


def test_encapsulation_switch_decrypts_under_sparse_secret(env):
    """Decrypting the switched ciphertext under ``s'`` gives the input's plaintext under
    ``s`` up to the key-switching noise (measured 400, asserted below 2^12; the message
    exceeds 2^26)."""
    ctx, x = env["ctx"], env["x"]
    y = env["bt"]._to_sparse(x)
    qs = ctx.q_basis(0).primes
    Q = math.prod(qs)
    m_in = _centre(_crt(Decryptor(ctx, env["sk"]).decrypt(x).poly.to_coeff().data, qs), Q)
    m_out = _centre(_crt(Decryptor(ctx, env["sk_sparse"]).decrypt(y).poly.to_coeff().data, qs), Q)
    noise = max(abs(int(d)) for d in m_out - m_in)
    assert max(abs(int(v)) for v in m_in) > 2 ** 26
    assert noise < 2 ** 12
    # the wrong secret decrypts to noise of the size of q0
    m_wrong = _centre(_crt(Decryptor(ctx, env["sk"]).decrypt(y).poly.to_coeff().data, qs), Q)
    assert max(abs(int(d)) for d in m_wrong - m_in) > Q // 2 ** 8


def test_encapsulation_switch_trace(env):
    """The encapsulation key switch is traced as every key switch: ``keyswitch`` (with
    ``encapsulation``) holding ``modup`` (1 digit, 2 -> 4 primes) and ``moddown`` (4 -> 2),
    and one fused inner product (4 primes, 2 products)."""
    with trace.recording() as rec:
        env["bt"]._to_sparse(env["x"])
    (ks,) = rec.events
    assert (ks.kind, ks.info, ks.primes_in, ks.primes_out, ks.level_in, ks.level_out) == \
        ("keyswitch", {"encapsulation": True}, 2, 2, 0, 0)
    assert [(c.kind, c.primes_in, c.primes_out) for c in ks.children] == [("modup", 2, 4), ("moddown", 4, 2)]
    assert ks.children[0].info == {"digits": 1}
    assert [(k.kind, k.primes, k.count) for k in ks.kernels] == [("modmul", 4, 2)]
    assert [(k.kind, k.primes, k.src_primes) for k in ks.children[0].kernels] == \
        [("intt", 2, None), ("bconv", 2, 2), ("ntt", 2, None)]
    assert [k.kind for k in ks.children[1].kernels] == ["intt", "bconv", "ntt", "modadd", "modmul"] * 2


def test_basis_key_rejects_other_primes(env):
    """A BasisKey over ``q0 P'`` cannot switch a ciphertext with more primes than its ``Q'``."""
    ctx, p = env["ctx"], env["p"]
    c = RnsPoly.zeros(ctx.q_basis(1))
    with pytest.raises(ParameterMismatchError, match="encapsulation"):
        key_switch(ctx, c, 1, env["key"].switching_key())
    assert isinstance(env["key"].switching_key(), BasisKey)
    assert env["key"].switching_key().special.primes == ctx.p_basis.primes[:2]
    assert len(p.primes_at(1)) > env["key"].q_count


def test_mod_up_exact_is_the_centred_lift(env):
    """``mod_up(x, dst, exact=True)`` (ModRaise) gives the centred representative of ``x``
    mod ``Q_0`` on the new primes; the old rows are kept as they are."""
    ctx, p = env["ctx"], env["p"]
    src = ctx.q_basis(0)
    dst = RnsBasis.get(p.primes_at(3)[len(src):], p.n)
    c = env["x"].polys[1]
    up = mod_up(c, dst, exact=True)
    assert up.basis == ctx.q_basis(3) and up.is_ntt
    assert np.array_equal(up.data[:len(src)], c.data)
    v = _centre(_crt(c.to_coeff().data, src.primes), src.product)
    want = np.array([v % q for q in dst.primes], dtype=object).astype(np.uint64)
    assert np.array_equal(up.to_coeff().data[len(src):], want)
