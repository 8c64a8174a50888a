"""Elementwise modular kernels (sw.ntt.pointwise_* over sw.kernels.elementwise) vs Python ints."""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sw import ntt
from sw.primes import ntt_primes

BACKENDS = ("numpy", "numba")
# 31-bit (largest), 30-bit, 20-bit and tiny odd moduli (Barrett with every bit length)
PRIMES = ntt_primes(1 << 16, 31, 2) + ntt_primes(1 << 10, 30, 1) + [1048573, 65537, 97, 17, 3]


def edge_matrix(rng, primes, n):
    rows = []
    for q in primes:
        r = rng.integers(0, q, n, dtype=np.uint64)
        r[:4] = [0, 1, q - 1, q - 2 if q > 2 else 0]
        rows.append(r)
    return np.stack(rows)


def py_op(op, A, B, primes):
    out = []
    for r, q in enumerate(primes):
        a = [int(x) for x in A[r]]
        b = [int(x) for x in B[r]]
        if op == "add":
            out.append([(x + y) % q for x, y in zip(a, b)])
        elif op == "sub":
            out.append([(x - y) % q for x, y in zip(a, b)])
        else:
            out.append([(x * y) % q for x, y in zip(a, b)])
    return out


FUNCS = {"add": ntt.pointwise_add, "sub": ntt.pointwise_sub, "mul": ntt.pointwise_mul}


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("op", sorted(FUNCS))
@pytest.mark.parametrize("n", [8, 1 << 14])  # 1 << 14 x 8 rows takes the parallel kernel
def test_pointwise_binary(op, backend, n):
    rng = np.random.default_rng(n)
    A = edge_matrix(rng, PRIMES, n)
    B = edge_matrix(rng, PRIMES, n)
    B[:, 4:8] = A[:, 4:8]  # equal operands (sub -> 0)
    A0, B0 = A.copy(), B.copy()
    got = FUNCS[op](A, B, PRIMES, backend=backend)
    assert got.dtype == np.uint64 and got.shape == A.shape
    assert got.tolist() == py_op(op, A, B, PRIMES)
    np.testing.assert_array_equal(A, A0)
    np.testing.assert_array_equal(B, B0)


@pytest.mark.parametrize("backend", BACKENDS)
def test_pointwise_mul_all_pairs_of_extremes(backend):
    # every pair of values near 0, q/2 and q for each modulus: the Barrett corner cases
    for q in PRIMES:
        vals = sorted({v % q for v in (0, 1, 2, q // 2, q // 2 + 1, q - 2, q - 1)})
        a = np.array([x for x in vals for _ in vals], dtype=np.uint64)
        b = np.array([y for _ in vals for y in vals], dtype=np.uint64)
        got = ntt.pointwise_mul(a, b, q, backend=backend)
        assert got.tolist() == [int(x) * int(y) % q for x, y in zip(a, b)]


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("n", [16, 1 << 13])
def test_pointwise_mul_const(backend, n):
    rng = np.random.default_rng(3)
    A = edge_matrix(rng, PRIMES, n)
    consts = [q - 1 for q in PRIMES]
    consts[0] = -5                 # negative constants are reduced mod q
    consts[1] = 3 << 70            # so are huge ones
    consts[2] = 0
    got = ntt.pointwise_mul_const(A, consts, PRIMES, backend=backend)
    ref = [[int(x) * (c % q) % q for x in A[r]] for r, (c, q) in enumerate(zip(consts, PRIMES))]
    assert got.tolist() == ref


@pytest.mark.parametrize("backend", BACKENDS)
def test_out_and_aliasing(backend):
    rng = np.random.default_rng(9)
    P = PRIMES[:3]
    A = edge_matrix(rng, P, 64)
    B = edge_matrix(rng, P, 64)
    ref = ntt.pointwise_mul(A, B, P, backend=backend)
    out = np.empty_like(A)
    assert ntt.pointwise_mul(A, B, P, backend=backend, out=out) is out
    np.testing.assert_array_equal(out, ref)
    C = A.copy()
    ntt.pointwise_mul(C, B, P, backend=backend, out=C)
    np.testing.assert_array_equal(C, ref)
    C = A.copy()
    ntt.pointwise_add(C, C, P, backend=backend, out=C)
    assert C.tolist() == py_op("add", A, A, P)
    C = A.copy()
    ntt.pointwise_mul_const(C, [2, 3, 5], P, backend=backend, out=C)
    assert C.tolist() == [[int(x) * c % q for x in A[r]] for r, (c, q) in enumerate(zip([2, 3, 5], P))]
    # 1-D with a scalar prime
    r1 = ntt.pointwise_sub(A[0], B[0], P[0], backend=backend)
    assert r1.shape == (64,) and r1.tolist() == py_op("sub", A[:1], B[:1], P[:1])[0]


def test_backends_identical_large():
    rng = np.random.default_rng(1)
    P = ntt_primes(1 << 16, 31, 4)
    A = np.stack([rng.integers(0, q, 1 << 16, dtype=np.uint64) for q in P])
    B = np.stack([rng.integers(0, q, 1 << 16, dtype=np.uint64) for q in P])
    for f in (ntt.pointwise_add, ntt.pointwise_sub, ntt.pointwise_mul):
        np.testing.assert_array_equal(f(A, B, P, backend="numpy"), f(A, B, P, backend="numba"))
    np.testing.assert_array_equal(ntt.pointwise_mul_const(A, [7, 11, 13, 17], P, backend="numpy"),
                                  ntt.pointwise_mul_const(A, [7, 11, 13, 17], P, backend="numba"))


def test_validation():
    P = PRIMES[:2]
    A = np.zeros((2, 8), np.uint64)
    with pytest.raises(ValueError, match="b has shape"):
        ntt.pointwise_add(A, np.zeros((2, 4), np.uint64), P)
    with pytest.raises(ValueError, match="expected 2 rows"):
        ntt.pointwise_mul(np.zeros((3, 8), np.uint64), np.zeros((3, 8), np.uint64), P)
    bad = A.copy()
    bad[0, 5] = P[0]
    with pytest.raises(ValueError, match=r"b\[0, 5\]"):
        ntt.pointwise_sub(A, bad, P, check=True)
    with pytest.raises(ValueError, match=r"a\[0, 5\]"):
        ntt.pointwise_mul_const(bad, [1, 2], P, check=True)
    with pytest.raises(ValueError, match="c has 1 constants"):
        ntt.pointwise_mul_const(A, [1], P)
    with pytest.raises(ValueError, match=r"primes\[1\]"):
        ntt.pointwise_add(A, A, [P[0], 1 << 31])
    with pytest.raises(ValueError, match=r"primes\[0\].*odd"):
        ntt.pointwise_add(A, A, [1 << 20, P[0]])
    with pytest.raises(ValueError, match="backend"):
        ntt.pointwise_add(A, A, P, backend="gpu")
    with pytest.raises(ValueError, match="out"):
        ntt.pointwise_add(A, A, P, out=np.zeros((2, 8), np.int64))


@settings(max_examples=60, deadline=None)
@given(data=st.data())
def test_property_elementwise(data):
    q = data.draw(st.sampled_from(PRIMES) | st.integers(3, (1 << 31) - 1).filter(lambda x: x % 2))
    n = data.draw(st.integers(1, 40))
    a = data.draw(st.lists(st.integers(0, q - 1), min_size=n, max_size=n))
    b = data.draw(st.lists(st.integers(0, q - 1), min_size=n, max_size=n))
    c = data.draw(st.integers(-(1 << 64), 1 << 64))
    A = np.array(a, dtype=np.uint64)
    B = np.array(b, dtype=np.uint64)
    for backend in BACKENDS:
        assert ntt.pointwise_add(A, B, q, backend=backend).tolist() == [(x + y) % q for x, y in zip(a, b)]
        assert ntt.pointwise_sub(A, B, q, backend=backend).tolist() == [(x - y) % q for x, y in zip(a, b)]
        assert ntt.pointwise_mul(A, B, q, backend=backend).tolist() == [x * y % q for x, y in zip(a, b)]
        assert ntt.pointwise_mul_const(A, [c], q, backend=backend).tolist() == [x * c % q for x in a]


def test_to_rns_signed():
    from sw.kernels.elementwise import to_rns

    primes = ntt_primes(1 << 16, 31, 3) + ntt_primes(1 << 10, 20, 1)
    rng = np.random.default_rng(12)
    x = np.concatenate([
        np.array([0, 1, -1, 2**31, -2**31, 2**32 - 1, -(2**32) + 1, 2**62, -2**62, 2**63 - 1, -(2**63) + 1],
                 dtype=np.int64),
        rng.integers(-2**63 + 1, 2**63 - 1, 200, dtype=np.int64),
        rng.integers(-20, 20, 50, dtype=np.int64)])
    got = to_rns(x, primes)
    assert got.tolist() == [[int(v) % q for v in x] for q in primes]
    np.testing.assert_array_equal(got, np.mod(x[None, :], np.array(primes, np.int64)[:, None]).astype(np.uint64))
    with pytest.raises(ValueError, match="primes"):
        to_rns(x, [97])


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("n", [8, 1 << 14])  # 1 << 14 x 8 rows takes the parallel kernel
def test_pointwise_mul_add(backend, n):
    """``a * b + c`` against Python integers, including the largest value the fused Barrett
    step sees, ``(q-1)^2 + (q-1)``; ``out=c`` accumulates in place."""
    rng = np.random.default_rng(n + 1)
    A, B, C = (edge_matrix(rng, PRIMES, n) for _ in range(3))
    for r, q in enumerate(PRIMES):
        A[r, :3] = B[r, :3] = C[r, :3] = q - 1
    ref = [[(int(x) * int(y) + int(z)) % q for x, y, z in zip(A[r], B[r], C[r])]
           for r, q in enumerate(PRIMES)]
    A0, B0, C0 = A.copy(), B.copy(), C.copy()
    assert ntt.pointwise_mul_add(A, B, C, PRIMES, backend=backend).tolist() == ref
    for x, x0 in ((A, A0), (B, B0), (C, C0)):
        np.testing.assert_array_equal(x, x0)
    assert ntt.pointwise_mul_add(A, B, C, PRIMES, backend=backend, out=C) is C
    assert C.tolist() == ref
    with pytest.raises(ValueError, match="c has shape"):
        ntt.pointwise_mul_add(A, B, C[:, :4], PRIMES, backend=backend)
