"""Numba kernels of the elementwise modular operations on RNS matrices (shape (L, n)).

Every kernel takes canonical inputs (row ``r`` in ``[0, Q[r])``, ``Q[r] < 2^31`` odd) and
writes canonical outputs into ``out`` (which may alias an input). ``*_rows_par`` variants
run the rows in parallel with ``prange``; the serial ones are used for small inputs.

Arithmetic (all exact in ``uint64``; every product is 32 x 32 -> 64 bits):

* add: ``s = a + b``, ``min(s, s - q)``; sub: ``d = a - b``, ``min(d + q, d)``.
* mul: Barrett (HAC 14.42, base 2; :func:`sw.kernels.modarith.barrett`): with
  ``k = bitlen(q)`` and ``mu = floor(2^(2k) / q)``, ``x = a * b``,
  ``qh = ((x >> (k - 1)) * mu) >> (k + 1)``, ``r = x - qh * q`` in ``[0, 3q)``, then two
  conditional subtractions.
* mul_add: ``x = a * b + c`` stays below ``q^2 <= 2^(2k)``, so the same Barrett step
  reduces it (one pass over the operands instead of a product array and a sum).
* mul_const: Shoup with ``c' = floor(c * 2^32 / q)``: ``r = a * c - ((a * c') >> 32) * q`` in
  ``[0, 2q)``, then one conditional subtraction.
* to_rns (:func:`to_rns`, kernel :func:`signed_to_rns_rows`): signed int64 -> residues.
"""
from __future__ import annotations

import numpy as np
from numba import njit, prange

from ..modulus import modulus_arrays
from .modarith import barrett

_M32 = np.uint64(0xFFFFFFFF)
_S32 = np.uint64(32)
_ONE = np.uint64(1)


@njit(cache=True, boundscheck=False, inline="always")
def _add_row(a, b, out, q):
    for j in range(a.shape[0]):
        s = a[j] + b[j]
        out[j] = min(s, s - q)


@njit(cache=True, boundscheck=False, inline="always")
def _sub_row(a, b, out, q):
    for j in range(a.shape[0]):
        d = a[j] - b[j]
        out[j] = min(d + q, d)


@njit(cache=True, boundscheck=False, inline="always")
def _mul_row(a, b, out, q, mu, k):
    sh1 = k - _ONE
    sh2 = k + _ONE
    qm = q & _M32
    mum = mu & _M32
    for j in range(a.shape[0]):
        x = (a[j] & _M32) * (b[j] & _M32)
        out[j] = barrett(x, qm, mum, sh1, sh2)


@njit(cache=True, boundscheck=False, inline="always")
def _mul_add_row(a, b, c, out, q, mu, k):
    sh1 = k - _ONE
    sh2 = k + _ONE
    qm = q & _M32
    mum = mu & _M32
    for j in range(a.shape[0]):
        x = (a[j] & _M32) * (b[j] & _M32) + (c[j] & _M32)      # <= (q-1)^2 + q-1 < q^2
        out[j] = barrett(x, qm, mum, sh1, sh2)


@njit(cache=True, boundscheck=False, inline="always")
def _mul_const_row(a, out, q, c, cp):
    qm = q & _M32
    cm = c & _M32
    cpm = cp & _M32
    for j in range(a.shape[0]):
        x = a[j] & _M32
        r = x * cm - ((x * cpm) >> _S32) * qm
        out[j] = min(r, r - qm)


@njit(cache=True, boundscheck=False)
def add_rows(A, B, OUT, Q):
    """``OUT[r] = (A[r] + B[r]) mod Q[r]``."""
    for r in range(A.shape[0]):
        _add_row(A[r], B[r], OUT[r], Q[r])


@njit(cache=True, boundscheck=False, parallel=True)
def add_rows_par(A, B, OUT, Q):
    for r in prange(A.shape[0]):
        _add_row(A[r], B[r], OUT[r], Q[r])


@njit(cache=True, boundscheck=False)
def sub_rows(A, B, OUT, Q):
    """``OUT[r] = (A[r] - B[r]) mod Q[r]``."""
    for r in range(A.shape[0]):
        _sub_row(A[r], B[r], OUT[r], Q[r])


@njit(cache=True, boundscheck=False, parallel=True)
def sub_rows_par(A, B, OUT, Q):
    for r in prange(A.shape[0]):
        _sub_row(A[r], B[r], OUT[r], Q[r])


@njit(cache=True, boundscheck=False)
def mul_rows(A, B, OUT, Q, MU, K):
    """``OUT[r] = A[r] * B[r] mod Q[r]`` (Barrett constants ``MU``, bit lengths ``K``)."""
    for r in range(A.shape[0]):
        _mul_row(A[r], B[r], OUT[r], Q[r], MU[r], K[r])


@njit(cache=True, boundscheck=False, parallel=True)
def mul_rows_par(A, B, OUT, Q, MU, K):
    for r in prange(A.shape[0]):
        _mul_row(A[r], B[r], OUT[r], Q[r], MU[r], K[r])


@njit(cache=True, boundscheck=False)
def mul_add_rows(A, B, C, OUT, Q, MU, K):
    """``OUT[r] = (A[r] * B[r] + C[r]) mod Q[r]`` (Barrett, as :func:`mul_rows`)."""
    for r in range(A.shape[0]):
        _mul_add_row(A[r], B[r], C[r], OUT[r], Q[r], MU[r], K[r])


@njit(cache=True, boundscheck=False, parallel=True)
def mul_add_rows_par(A, B, C, OUT, Q, MU, K):
    for r in prange(A.shape[0]):
        _mul_add_row(A[r], B[r], C[r], OUT[r], Q[r], MU[r], K[r])


@njit(cache=True, boundscheck=False)
def mul_const_rows(A, OUT, Q, C, CP):
    """``OUT[r] = A[r] * C[r] mod Q[r]`` (Shoup companions ``CP = floor(C * 2^32 / Q)``)."""
    for r in range(A.shape[0]):
        _mul_const_row(A[r], OUT[r], Q[r], C[r], CP[r])


@njit(cache=True, boundscheck=False, parallel=True)
def mul_const_rows_par(A, OUT, Q, C, CP):
    for r in prange(A.shape[0]):
        _mul_const_row(A[r], OUT[r], Q[r], C[r], CP[r])


# --------------------------------------------------------------------------------------
# signed integers -> RNS residues
# --------------------------------------------------------------------------------------


@njit(cache=True, boundscheck=False, parallel=True)
def signed_to_rns_rows(x, Q, R32, R32P, MU, S1, S2, OUT):
    """``OUT[r, j] = x[j] mod Q[r]`` (canonical) for int64 ``x`` (any value but -2^63).

    ``|x| = hi * 2^32 + lo`` is folded as ``Shoup(hi, 2^32 mod q) + lo`` (< 2q + 2^32), reduced
    by Barrett (``MU = floor(2^(2s)/q)``, ``S1 = s - 1``, ``S2 = s + 1``, ``s = bitlen(q) >= 17``),
    then negated where ``x < 0``. Parallel over rows.
    """
    n = x.shape[0]
    for r in prange(Q.shape[0]):
        q = Q[r] & _M32
        c = R32[r] & _M32
        cp = R32P[r] & _M32
        mu = MU[r]
        s1 = S1[r]
        s2 = S2[r]
        o = OUT[r]
        for j in range(n):
            v = x[j]
            sm = np.uint64(v >> 63)          # all ones when v < 0 (arithmetic shift)
            a = (np.uint64(v) ^ sm) - sm     # |v|
            hi = a >> _S32
            t = barrett(hi * c - ((hi * cp) >> _S32) * q + (a & _M32), q, mu, s1, s2)
            nt = q - t
            nt = min(nt, nt - q)
            o[j] = t ^ ((t ^ nt) & sm)       # branchless select of -|v| mod q


def _make_rns_consts(primes):
    c = modulus_arrays(primes)
    return c.q, c.r32, c.r32_shoup, c.mu, c.s1, c.s2


_RNS_CACHE: dict = {}


def _rns_consts_cached(primes):
    c = _RNS_CACHE.get(primes)
    if c is None:
        for i, q in enumerate(primes):
            if not (isinstance(q, int) and (1 << 17) <= q < (1 << 31) and q % 2):
                raise ValueError(f"to_rns: primes[{i}]={q!r} must be an odd int in [2^17, 2^31)")
        c = _RNS_CACHE.setdefault(primes, _make_rns_consts(primes))
    return c


def to_rns(x, primes, *, out=None) -> np.ndarray:
    """Residues of signed integers: ``x`` int64 (n,) -> uint64 (len(primes), n), canonical.

    The fast path for ``np.mod(x[None, :], q[:, None])`` (small signed polynomials: secrets,
    noise, rounded encodings). ``x`` must not contain -2^63; primes odd in [2^17, 2^31).
    """
    primes = tuple(int(q) for q in primes)
    Q, R32, R32P, MU, S1, S2 = _rns_consts_cached(primes)
    x = np.ascontiguousarray(x, dtype=np.int64)
    if x.ndim != 1:
        raise ValueError(f"to_rns: x must be 1-D, got shape {x.shape}")
    if out is None:
        out = np.empty((len(primes), x.shape[0]), np.uint64)
    elif (not isinstance(out, np.ndarray) or out.dtype != np.uint64 or not out.flags.c_contiguous
          or out.shape != (len(primes), x.shape[0])):
        raise ValueError(f"to_rns: out must be a C-contiguous uint64 array of shape {(len(primes), x.shape[0])}")
    signed_to_rns_rows(x, Q, R32, R32P, MU, S1, S2, out)
    return out
