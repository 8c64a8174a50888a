"""RNS ring layer: forms, basis conversion, modulus raise/drop, automorphisms, sampling."""
import numpy as np
import pytest

from sw.primes import ntt_primes
from sw.ring import RnsBasis, RnsPoly, divide_by_top, mod_down, mod_up, sampling
from sw.ring import kernels as K

N = 256


@pytest.fixture(scope="module")
def bases():
    ps = ntt_primes(N, 31, 7)
    return RnsBasis.get(tuple(ps[:4]), N), RnsBasis.get(tuple(ps[4:]), N)


def _negacyclic(a, b):
    n = len(a)
    full = np.convolve(a.astype(object), b.astype(object))
    out = full[:n].copy()
    out[: n - 1] -= full[n:]
    return out


def test_forms_and_product(bases):
    Q, _ = bases
    rng = np.random.default_rng(1)
    a = rng.integers(-50, 50, N)
    b = rng.integers(-50, 50, N)
    pa = RnsPoly.from_signed(Q, a)
    assert (pa.to_ntt().to_coeff().centered() == a).all()
    prod = pa.to_ntt().mul(RnsPoly.from_signed(Q, b).to_ntt()).to_coeff().centered()
    assert (prod == _negacyclic(a, b)).all()
    s = pa.add(RnsPoly.from_signed(Q, b)).sub(RnsPoly.from_signed(Q, b)).neg().centered()
    assert (s == -a).all()


def test_form_mismatch_raises(bases):
    Q, _ = bases
    a = RnsPoly.from_signed(Q, np.arange(N))
    with pytest.raises(ValueError, match="forms differ"):
        a.add(a.to_ntt())
    with pytest.raises(ValueError, match="evaluation"):
        a.mul(a)


def test_basis_conversion_fast_and_exact(bases):
    Q, P = bases
    rng = np.random.default_rng(2)
    vals = [int(rng.integers(0, 2**62)) * int(rng.integers(0, 2**62)) % Q.product for _ in range(N)]
    data = np.array([[v % q for v in vals] for q in Q.primes], dtype=np.uint64)
    conv = K.BasisConverter.get(Q, P)
    fast = K.bconv(data, conv)
    exact = K.bconv(data, conv, exact=True)
    Qp = Q.product
    for j, p in enumerate(P.primes):
        for c in range(0, N, 17):
            v = vals[c]
            # fast: v + u Q, 0 <= u < 4
            assert any((v + u * Qp) % p == int(fast[j, c]) for u in range(4))
            centered = v - Qp if v >= Qp // 2 else v
            assert centered % p == int(exact[j, c])


def test_mod_up_and_mod_down(bases):
    Q, P = bases
    rng = np.random.default_rng(3)
    c = rng.integers(-1000, 1000, N)
    x = RnsPoly.from_signed(Q, c).to_ntt()
    up = mod_up(x, P).to_coeff().centered()
    assert all((v - int(w)) % Q.product == 0 and abs((v - int(w)) // Q.product) < 4 for v, w in zip(up, c))
    # x * P / P == x exactly (rounding division)
    z = RnsPoly.from_signed(Q + P, c).to_ntt().mul_scalar(P.product)
    assert (mod_down(z, len(Q)).to_coeff().centered() == c).all()
    # rescale rounds: (c*q_top + r) / q_top -> c for |r| < q_top/2
    qt = Q.primes[-1]
    big = [int(v) * qt + int(r) for v, r in zip(c, rng.integers(-(qt // 2) + 1, qt // 2, N))]
    data = np.array([[v % q for v in big] for q in Q.primes], dtype=np.uint64)
    r = divide_by_top(RnsPoly(Q, data, False), 1).centered()
    assert (r == c).all()


@pytest.mark.parametrize("g", [5, 25, 2 * N - 1, 3])
def test_automorphism_both_forms(bases, g):
    Q, _ = bases
    rng = np.random.default_rng(4)
    a = rng.integers(-9, 9, N)
    pa = RnsPoly.from_signed(Q, a)
    # reference: a(X^g) coefficient by coefficient
    ref = np.zeros(N, dtype=object)
    for i, v in enumerate(a):
        e = i * g % (2 * N)
        if e >= N:
            ref[e - N] -= v
        else:
            ref[e] += v
    assert (pa.automorphism(g).centered() == ref).all()
    assert (pa.to_ntt().automorphism(g).to_coeff().centered() == ref).all()


def test_sampling_distributions():
    pr = sampling.Prng(7)
    t = sampling.ternary(pr, 30000)
    assert set(np.unique(t)) == {-1, 0, 1} and abs(np.mean(t == 0) - 1 / 3) < 0.02
    s = sampling.sparse_ternary(pr, 4096, 64)
    assert np.count_nonzero(s) == 64 and set(np.unique(s)) <= {-1, 0, 1}
    g = sampling.gaussian(pr, 50000, 3.2)
    assert abs(np.std(g) - 3.2) < 0.1 and np.abs(g).max() <= 6 * 3.2
    u = sampling.uniform_mod(pr, 97, 20000)
    assert u.max() < 97 and abs(u.mean() - 48) < 1.5
    # reproducible
    assert (sampling.ternary(sampling.Prng(1), 64) == sampling.ternary(sampling.Prng(1), 64)).all()
    assert not (sampling.ternary(sampling.Prng(1), 64) == sampling.ternary(sampling.Prng(2), 64)).all()


def test_from_signed_matches_np_mod(bases):
    Q, _ = bases
    rng = np.random.default_rng(11)
    c = rng.integers(-(1 << 62), 1 << 62, N)
    c[:4] = [0, -1, (1 << 63) - 1, -(1 << 63) + 1]
    want = np.mod(c[None, :], Q.q.astype(np.int64)[:, None]).astype(np.uint64)
    np.testing.assert_array_equal(RnsPoly.from_signed(Q, c).data, want)


@pytest.mark.parametrize("n", [1 << 10, 1 << 14])
@pytest.mark.parametrize("digits", [1, 4, 5, 9])
@pytest.mark.parametrize("galois", [None, 5, 2 * (1 << 14) - 1])
@pytest.mark.parametrize("compact", [False, True])
def test_ks_inner_matches_python_integers(n, digits, galois, compact):
    """The key-switching inner product (blocks of ``KS_CHUNK`` columns, folds after every
    fourth digit, an optional automorphism gather, compact or uint64 keys, a row map into
    a taller key) against sums of Python integers, at a ring of one block and of four."""
    R, Rk = 3, 5
    basis = RnsBasis.get(tuple(ntt_primes(n, 31, R)), n)
    rowmap = np.array([4, 0, 2], dtype=np.int64)           # key rows of the basis' primes
    qk = np.ones(Rk, dtype=np.uint64)
    qk[rowmap] = basis.primes
    rng = np.random.default_rng(digits * 7 + n)
    ext = rng.integers(0, 2 ** 31, (digits, R, n), dtype=np.uint64) % np.array(basis.primes, dtype=np.uint64)[None, :, None]
    kb = rng.integers(0, 2 ** 31, (digits + 1, Rk, n), dtype=np.uint64) % qk[None, :, None]
    ka = rng.integers(0, 2 ** 31, (digits + 1, Rk, n), dtype=np.uint64) % qk[None, :, None]
    if compact:
        kb, ka = kb.astype(np.uint32), ka.astype(np.uint32)
    g = None if galois is None else galois % (2 * n)
    perm = None if g is None else K.eval_permutation(n, g)
    o0, o1 = K.ks_inner(ext, basis, kb, ka, rowmap, digits, perm, galois=g)
    src = ext if perm is None else ext[:, :, perm]
    for r, q in enumerate(basis.primes):
        for out, key in ((o0, kb), (o1, ka)):
            want = [sum(int(src[i, r, c]) * int(key[i, rowmap[r], c]) for i in range(digits)) % q
                    for c in range(0, n, 97)]
            assert out[r, ::97].tolist() == want
    if n > K.KS_CHUNK:   # every block, not only a sample: the vectorised reference
        q = np.array(basis.primes, dtype=np.uint64)[:, None]
        want0 = sum((src[i] * kb[i][rowmap].astype(np.uint64)) % q for i in range(digits)) % q
        np.testing.assert_array_equal(o0, want0)
