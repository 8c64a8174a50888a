"""Numba kernels of the elementwise modular operations on RNS matrices (shape (L, n)).

Every kernel takes canonical inputs (row ``r`` in ``[0, Q[r])``, ``Q[r] < 2^31`` odd) and
writes canonical outputs into ``out`` (which may alias an input). ``*_rows_par`` variants
run the rows in parallel with ``prange``; the serial ones are used for small inputs.

Arithmetic (all exact in ``uint64``; every product is 32 x 32 -> 64 bits):

* add: ``s = a + b``, ``min(s, s - q)``; sub: ``d = a - b``, ``min(d + q, d)``.
* mul: Barrett (HAC 14.42, base 2): with ``k = bitlen(q)`` and ``mu = floor(2^(2k) / q)``,
  ``x = a * b``, ``qh = ((x >> (k - 1)) * mu) >> (k + 1)``, ``r = x - qh * q`` in
  ``[0, 3q)``, then two conditional subtractions.
* mul_const: Shoup with ``c' = floor(c * 2^32 / q)``: ``r = a * c - ((a * c') >> 32) * q`` in
  ``[0, 2q)``, then one conditional subtraction.
"""
from __future__ import annotations

import numpy as np
from numba import njit, prange

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
        qh = (((x >> sh1) & _M32) * mum) >> sh2
        r = x - qh * qm
        r = min(r, r - qm)
        out[j] = min(r, r - qm)


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
def mul_const_rows(A, OUT, Q, C, CP):
    """``OUT[r] = A[r] * C[r] mod Q[r]`` (Shoup companions ``CP = floor(C * 2^32 / Q)``)."""
    for r in range(A.shape[0]):
        _mul_const_row(A[r], OUT[r], Q[r], C[r], CP[r])


@njit(cache=True, boundscheck=False, parallel=True)
def mul_const_rows_par(A, OUT, Q, C, CP):
    for r in prange(A.shape[0]):
        _mul_const_row(A[r], OUT[r], Q[r], C[r], CP[r])
