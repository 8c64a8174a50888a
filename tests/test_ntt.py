"""Negacyclic NTT (sw.ntt): both back ends against independent Python-integer references."""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sw import ntt
from sw.ntt_tables import bit_reverse, ntt_tables
from sw.primes import ntt_primes, psi

BACKENDS = ("numpy", "numba")


def primes_for(n: int, count: int = 3) -> list[int]:
    """A mix of 31-bit, 30-bit and small NTT-friendly primes for degree n."""
    out = ntt_primes(n, 31, 2) + ntt_primes(n, 30, 1)
    small = ntt_primes(n, max((2 * n).bit_length() + 5, 12), 1)
    return (out + small)[:count] if count <= 4 else out + small


def rand_matrix(rng, primes, n):
    return np.stack([rng.integers(0, q, n, dtype=np.uint64) for q in primes])


# ---------------------------------------------------------------- Python-int references


def schoolbook_negacyclic(a, b, q):
    n = len(a)
    c = [0] * n
    for i in range(n):
        ai = int(a[i])
        for j in range(n):
            k = i + j
            if k < n:
                c[k] += ai * int(b[j])
            else:
                c[k - n] -= ai * int(b[j])
    return [x % q for x in c]


def ntt_by_evaluation(a, q):
    """NTT(a)[k] = a(psi^(2 bitrev(k) + 1)), Horner in Python ints."""
    n = len(a)
    p = psi(q, n)
    bits = n.bit_length() - 1
    out = []
    for k in range(n):
        x = pow(p, 2 * bit_reverse(k, bits) + 1, q)
        acc = 0
        for coef in reversed(a):
            acc = (acc * x + int(coef)) % q
        out.append(acc)
    return out


def ct_stages_python(a, q):
    """Textbook Cooley-Tukey (canonical mod q after each butterfly), stage by stage."""
    tab = ntt_tables(q, len(a))
    a = [int(x) for x in a]
    n = len(a)
    res = []
    m, t = 1, n // 2
    while m < n:
        for i in range(m):
            w = tab.fwd[m + i]
            for j in range(2 * i * t, 2 * i * t + t):
                u, v = a[j], a[j + t] * w % q
                a[j], a[j + t] = (u + v) % q, (u - v) % q
        res.append(list(a))
        m, t = 2 * m, t // 2
    return res


def gs_stages_python(a, q):
    tab = ntt_tables(q, len(a))
    a = [int(x) for x in a]
    n = len(a)
    res = []
    h, t = n // 2, 1
    while h >= 1:
        for i in range(h):
            w = tab.inv[h + i]
            for j in range(2 * i * t, 2 * i * t + t):
                u, v = a[j], a[j + t]
                a[j], a[j + t] = (u + v) % q, (u - v) * w % q
        res.append(list(a))
        h, t = h // 2, 2 * t
    res.append([x * tab.n_inv % q for x in a])
    return res


# ---------------------------------------------------------------- correctness


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("n", [2, 4, 8, 16, 32, 64])
def test_forward_is_evaluation_at_odd_powers_of_psi(backend, n):
    rng = np.random.default_rng(n)
    P = primes_for(n, 3)
    A = rand_matrix(rng, P, n)
    F = ntt.forward(A, P, backend=backend)
    for r, q in enumerate(P):
        assert F[r].tolist() == ntt_by_evaluation(A[r], q)


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("n", [2, 8, 16, 32])
def test_convolution_matches_schoolbook(backend, n):
    rng = np.random.default_rng(100 + n)
    P = primes_for(n, 4)
    A = rand_matrix(rng, P, n)
    B = rand_matrix(rng, P, n)
    FA = ntt.forward(A, P, backend=backend)
    FB = ntt.forward(B, P, backend=backend)
    C = ntt.inverse(ntt.pointwise_mul(FA, FB, P, backend=backend), P, backend=backend)
    for r, q in enumerate(P):
        assert C[r].tolist() == schoolbook_negacyclic(A[r], B[r], q)


@pytest.mark.parametrize("n", [8, 16, 64, 256, 1024, 4096, 1 << 14, 1 << 16])
def test_numpy_equals_numba_and_round_trip(n):
    rng = np.random.default_rng(7 * n)
    P = primes_for(n, 3)
    A = rand_matrix(rng, P, n)
    A_copy = A.copy()
    F_np = ntt.forward(A, P, backend="numpy")
    F_nb = ntt.forward(A, P, backend="numba")
    assert F_np.dtype == np.uint64 and F_np.shape == A.shape
    np.testing.assert_array_equal(F_np, F_nb)
    np.testing.assert_array_equal(A, A_copy)  # input untouched
    assert (F_nb < np.array(P, dtype=np.uint64)[:, None]).all()
    I_np = ntt.inverse(F_np, P, backend="numpy")
    I_nb = ntt.inverse(F_np, P, backend="numba")
    np.testing.assert_array_equal(I_np, I_nb)
    np.testing.assert_array_equal(I_nb, A)
    # single-row path (serial kernel) agrees with the multi-row path
    for r, q in enumerate(P):
        np.testing.assert_array_equal(ntt.forward(A[r], q), F_nb[r])
        np.testing.assert_array_equal(ntt.inverse(F_nb[r], [q], backend="numpy"), A[r])


def test_large_convolution_against_schoolbook_row():
    # n = 1024 with a 31-bit prime: check a few output coefficients of a*b exactly
    n = 1024
    q = ntt_primes(n, 31, 1)[0]
    rng = np.random.default_rng(3)
    a = rng.integers(0, q, n, dtype=np.uint64)
    b = rng.integers(0, q, n, dtype=np.uint64)
    c = ntt.inverse(ntt.pointwise_mul(ntt.forward(a, q), ntt.forward(b, q), [q]), q)
    ai, bi = [int(x) for x in a], [int(x) for x in b]
    for k in (0, 1, 511, n - 1):
        ref = sum(ai[i] * bi[k - i] for i in range(k + 1)) - sum(ai[i] * bi[n + k - i] for i in range(k + 1, n))
        assert int(c[k]) == ref % q


@pytest.mark.parametrize("backend", BACKENDS)
def test_extreme_values(backend):
    n = 256
    P = primes_for(n, 3)
    for fill in ("zero", "max"):
        A = np.zeros((3, n), np.uint64) if fill == "zero" else \
            np.array(P, dtype=np.uint64)[:, None] - np.ones((3, n), np.uint64)
        F = ntt.forward(A, P, backend=backend)
        assert (F < np.array(P, dtype=np.uint64)[:, None]).all()
        np.testing.assert_array_equal(ntt.inverse(F, P, backend=backend), A)
        if fill == "max":  # a = -1 everywhere -> evaluation check on row 0 (n small enough)
            assert F[2].tolist() == ntt_by_evaluation(A[2], P[2])


def test_known_vector_delta():
    # NTT of the constant polynomial 1 is all ones; NTT of X is psi^(2 bitrev(k)+1)
    n, q = 16, ntt_primes(16, 31, 1)[0]
    one = np.zeros(n, np.uint64)
    one[0] = 1
    assert ntt.forward(one, q).tolist() == [1] * n
    x = np.zeros(n, np.uint64)
    x[1] = 1
    p = psi(q, n)
    assert ntt.forward(x, q).tolist() == [pow(p, 2 * bit_reverse(k, 4) + 1, q) for k in range(n)]


# ---------------------------------------------------------------- out / dtype handling


@pytest.mark.parametrize("backend", BACKENDS)
def test_out_argument_and_in_place(backend):
    n = 64
    P = primes_for(n, 2)
    rng = np.random.default_rng(11)
    A = rand_matrix(rng, P, n)
    ref = ntt.forward(A, P, backend=backend)
    out = np.empty_like(A)
    r = ntt.forward(A, P, backend=backend, out=out)
    assert r is out
    np.testing.assert_array_equal(out, ref)
    B = A.copy()
    r = ntt.forward(B, P, backend=backend, out=B)
    assert r is B
    np.testing.assert_array_equal(B, ref)
    ntt.inverse(B, P, backend=backend, out=B)
    np.testing.assert_array_equal(B, A)
    # non-uint64 integer input is converted, not modified
    A64 = A.astype(np.int64)
    np.testing.assert_array_equal(ntt.forward(A64, P, backend=backend), ref)
    assert A64.dtype == np.int64
    # 1-D input with an int prime returns 1-D
    r1 = ntt.forward(A[0], P[0], backend=backend)
    assert r1.shape == (n,)
    np.testing.assert_array_equal(r1, ref[0])
    # non-contiguous input
    wide = np.zeros((2, 2 * n), np.uint64)
    wide[:, ::2] = A
    np.testing.assert_array_equal(ntt.forward(wide[:, ::2], P, backend=backend), ref)


def test_plan_cached_and_tables():
    n = 32
    P = tuple(primes_for(n, 3))
    p1 = ntt.get_plan(n, P)
    assert ntt.get_plan(n, list(P)) is p1
    assert p1.fwd.shape == (3, n) and p1.inv_shoup.shape == (3, n)
    for r, q in enumerate(P):
        tab = ntt_tables(q, n)
        assert p1.fwd[r].tolist() == list(tab.fwd)
        assert p1.inv[r].tolist() == list(tab.inv)
        assert p1.fwd_shoup[r].tolist() == list(tab.fwd_shoup(32))
        assert p1.inv_shoup[r].tolist() == list(tab.inv_shoup(32))
        assert int(p1.n_inv[r]) == tab.n_inv
    # a permuted subset shares the store rows
    sub = ntt.get_plan(n, (P[2], P[0]))
    assert sub.fwd[0].tolist() == list(ntt_tables(P[2], n).fwd)


# ---------------------------------------------------------------- stages


@pytest.mark.parametrize("n", [2, 8, 32])
def test_forward_stages_match_textbook(n):
    q = primes_for(n, 1)[0]
    rng = np.random.default_rng(n)
    a = rng.integers(0, q, n, dtype=np.uint64)
    got = ntt.forward_stages(a, q)
    ref = ct_stages_python(a, q)
    assert len(got) == n.bit_length() - 1
    assert [g.tolist() for g in got] == ref
    np.testing.assert_array_equal(got[-1], ntt.forward(a, q))
    lazy = ntt.forward_stages(a, q, lazy=True)
    for g, l in zip(got, lazy):
        assert (l < 2 * q).all()
        np.testing.assert_array_equal(l % np.uint64(q), g)


@pytest.mark.parametrize("n", [2, 8, 32])
def test_inverse_stages_match_textbook(n):
    q = primes_for(n, 2)[1]
    rng = np.random.default_rng(n + 1)
    a = rng.integers(0, q, n, dtype=np.uint64)
    got = ntt.inverse_stages(a, q)
    ref = gs_stages_python(a, q)
    assert len(got) == n.bit_length()
    assert [g.tolist() for g in got] == ref
    np.testing.assert_array_equal(got[-1], ntt.inverse(a, q))
    lazy = ntt.inverse_stages(a, q, lazy=True)
    for g, l in zip(got, lazy):
        assert (l < 2 * q).all()
        np.testing.assert_array_equal(l % np.uint64(q), g)


def test_stages_large_consistent():
    n = 1 << 12
    q = primes_for(n, 1)[0]
    a = np.random.default_rng(5).integers(0, q, n, dtype=np.uint64)
    f = ntt.forward_stages(a, q)
    np.testing.assert_array_equal(f[-1], ntt.forward(a, q))
    i = ntt.inverse_stages(f[-1], q)
    np.testing.assert_array_equal(i[-1], a)


# ---------------------------------------------------------------- validation


def test_validation_errors():
    n = 16
    P = primes_for(n, 2)
    A = np.zeros((2, n), np.uint64)
    with pytest.raises(ValueError, match="backend"):
        ntt.forward(A, P, backend="cuda")
    with pytest.raises(ValueError, match="a must have shape"):
        ntt.forward(np.zeros((2, 2, n), np.uint64), P)
    with pytest.raises(ValueError, match="expected 2 rows"):
        ntt.forward(np.zeros((3, n), np.uint64), P)
    with pytest.raises(ValueError, match="one row"):
        ntt.forward(np.zeros(n, np.uint64), P)
    with pytest.raises(ValueError, match="power of two"):
        ntt.forward(np.zeros((2, 12), np.uint64), P)
    with pytest.raises(ValueError, match="power of two"):
        ntt.inverse(np.zeros((2, 1), np.uint64), P)
    with pytest.raises(ValueError, match=r"primes\[1\].*1 mod"):
        ntt.forward(A, [P[0], 17])  # 17 = 1 mod 16, not mod 32
    with pytest.raises(ValueError, match=r"primes\[0\]"):
        ntt.forward(A[:1], [(1 << 31) + 1])
    with pytest.raises(ValueError, match="primes"):
        ntt.forward(A, [])
    with pytest.raises(ValueError, match=r"a\[0, 2\]=-1 is negative"):
        ntt.forward(np.array([[0, 0, -1, 0] * 4, [0] * 16]), P)
    with pytest.raises(ValueError, match="integer array"):
        ntt.forward(A.astype(np.float64), P)
    bad = A.copy()
    bad[1, 3] = P[1]
    with pytest.raises(ValueError, match=r"a\[1, 3\]"):
        ntt.forward(bad, P, check=True)
    with pytest.raises(ValueError, match=r"a\[1, 3\]"):
        ntt.inverse(bad, P, backend="numpy", check=True)
    ntt.forward(A, P, check=True)  # in range: fine
    with pytest.raises(ValueError, match="out"):
        ntt.forward(A, P, out=np.empty((2, n), np.int64))
    with pytest.raises(ValueError, match="out"):
        ntt.forward(A, P, out=np.empty((2, 2 * n), np.uint64))
    with pytest.raises(ValueError, match="a_row"):
        ntt.forward_stages(np.full(n, P[0], np.uint64), P[0])
    with pytest.raises(ValueError, match="a_row"):
        ntt.forward_stages(A, P[0])
    with pytest.raises(ValueError, match="q must be a single prime"):
        ntt.inverse_stages(A[0], P)


def test_composite_modulus_rejected():
    n = 16
    c = 33 * 97  # composite, = 1 mod 32
    assert c % 32 == 1
    with pytest.raises(ValueError, match=r"primes\[0\]=.*not prime"):
        ntt.forward(np.zeros(n, np.uint64), c)


# ---------------------------------------------------------------- property tests


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(log_n=st.integers(1, 7), data=st.data())
def test_property_backends_agree_and_invert(log_n, data):
    n = 1 << log_n
    pool = ntt_primes(n, 31, 3) + ntt_primes(n, 24, 2)
    P = data.draw(st.lists(st.sampled_from(pool), min_size=1, max_size=4))
    rows = [data.draw(st.lists(st.integers(0, q - 1), min_size=n, max_size=n)) for q in P]
    A = np.array(rows, dtype=np.uint64)
    F1 = ntt.forward(A, P, backend="numpy")
    F2 = ntt.forward(A, P, backend="numba")
    np.testing.assert_array_equal(F1, F2)
    np.testing.assert_array_equal(ntt.inverse(F1, P, backend="numba"), A)
    np.testing.assert_array_equal(ntt.inverse(F2, P, backend="numpy"), A)


@settings(max_examples=25, deadline=None)
@given(log_n=st.integers(1, 4), data=st.data())
def test_property_convolution(log_n, data):
    n = 1 << log_n
    q = data.draw(st.sampled_from(ntt_primes(n, 31, 2) + ntt_primes(n, 16, 1)))
    a = data.draw(st.lists(st.integers(0, q - 1), min_size=n, max_size=n))
    b = data.draw(st.lists(st.integers(0, q - 1), min_size=n, max_size=n))
    A = np.array(a, dtype=np.uint64)
    B = np.array(b, dtype=np.uint64)
    for backend in BACKENDS:
        C = ntt.inverse(ntt.pointwise_mul(ntt.forward(A, q, backend=backend),
                                          ntt.forward(B, q, backend=backend), q, backend=backend),
                        q, backend=backend)
        assert C.tolist() == schoolbook_negacyclic(a, b, q)


@pytest.mark.parametrize("backend", ["numba", "numpy"])
@pytest.mark.parametrize("m", [1, 2, 4, 64, 1 << 11, 1 << 12])
def test_forward_subring_equals_forward_of_zero_filled(backend, m):
    """The sub-ring transform (CKKS plaintexts with fewer than n/2 slots) gives the words of
    the full transform of the zero-filled polynomial, and is the evaluation at the odd
    powers of psi."""
    n = 1 << 12
    P = ntt_primes(n, 31, 3)
    rng = np.random.default_rng(m)
    A = np.stack([rng.integers(0, q, m, dtype=np.uint64) for q in P])
    A[:, -1] = [q - 1 for q in P]
    full = np.zeros((len(P), n), dtype=np.uint64)
    full[:, :: n // m] = A
    got = ntt.forward_subring(A, P, n, backend=backend)
    np.testing.assert_array_equal(got, ntt.forward(full, P, backend="numpy"))
    q, g = P[0], n // m
    root = psi(q, n)
    for k in (0, 1, n // 2 + 3, n - 1):
        x = pow(root, 2 * bit_reverse(k, 12) + 1, q)
        assert int(got[0, k]) == sum(int(c) * pow(x, g * i, q) for i, c in enumerate(A[0])) % q


def test_forward_subring_rejects_bad_lengths():
    P = ntt_primes(1 << 10, 31, 1)
    for m in (3, 2048):
        with pytest.raises(ValueError, match="sub-ring of degree"):
            ntt.forward_subring(np.zeros(m, dtype=np.uint64), P, 1 << 10)
