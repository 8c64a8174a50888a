"""Numba kernels of the negacyclic NTT (Harvey/Shoup lazy butterflies, 31-bit primes).

These are the compiled back ends of :mod:`sw.ntt`; call them through that module unless
you manage the tables yourself. Conventions (docs/architecture.md, :mod:`sw.ntt_tables`):

* ``w``/``wp``: twiddles in bit-reversed order and their Shoup companions for word width
  ``W = 32``: ``wp[k] = floor(w[k] * 2^32 / q)``. Forward uses ``fwd``, inverse ``inv``.
  Tables may be ``uint32`` (as :mod:`sw.ntt` stores them: half the memory traffic) or
  ``uint64``; data rows are ``uint64``.
* Every value stays in ``[0, 2q)`` between stages (``2q < 2^32`` because ``q < 2^31``), so
  every Shoup product ``y * wp`` is a 32 x 32 -> 64-bit product that fits ``uint64`` exactly.
* Forward (Cooley-Tukey, natural -> bit-reversed), butterfly on ``x, y`` in ``[0, 2q)``::

      T  = y * w - floor(y * wp / 2^32) * q        in [0, 2q)   (Shoup, lazy)
      x' = x + T      reduced by min(v, v - 2q)  -> [0, 2q)
      y' = x - T + 2q reduced by min(v, v - 2q)  -> [0, 2q)

  then one final pass ``min(v, v - q)`` -> canonical ``[0, q)``.
* Inverse (Gentleman-Sande, bit-reversed -> natural)::

      x' = x + y      reduced to [0, 2q)
      d  = x - y + 2q reduced to [0, 2q);  y' = Shoup(d, w) in [0, 2q)

  then one final pass ``Shoup(v, n^-1)`` and ``min(v, v - q)``.

``min(v, v - c)`` on unsigned words is the branchless conditional subtraction: when
``v < c`` the difference wraps to a huge value and ``v`` wins. The butterflies use the
same arithmetic as the NumPy reference in :mod:`sw.ntt`, so both give the same integers
after every stage, not only at the end.

Stages with half-size ``t >= 8`` run a contiguous inner loop over the butterflies of a
group (LLVM vectorises it), two stages per pass over the data where both have ``t >= 8``
(radix-4 data flow, the same radix-2 butterflies and the same integers); ``t = 4, 2, 1``
have dedicated loops with a constant trip count (otherwise the per-group slicing
dominates). ``*_rows`` kernels run one row per prime in parallel with ``prange``;
``*_row`` kernels are serial (use them for one prime).
"""
from __future__ import annotations

import numpy as np
from numba import njit, prange

_U = np.uint64
_M32 = np.uint64(0xFFFFFFFF)
_S32 = np.uint64(32)
_ONE = np.uint64(1)
_TWO = np.uint64(2)

# --------------------------------------------------------------------------------------
# forward (Cooley-Tukey)
# --------------------------------------------------------------------------------------


@njit(cache=True, boundscheck=False, inline="always")
def _ct_group(x_arr, y_arr, W, Wp, q, q2):
    for k in range(x_arr.shape[0]):
        x = x_arr[k]
        y = y_arr[k] & _M32
        qh = (y * Wp) >> _S32
        t = y * W - qh * q
        s = x + t
        d = x - t
        x_arr[k] = min(s, s - q2)
        y_arr[k] = min(d + q2, d)


@njit(cache=True, boundscheck=False)
def _ct_stage_generic(a, w, wp, q, m, t):
    q = q & _M32
    q2 = _TWO * q
    for i in range(m):
        j1 = 2 * i * t
        _ct_group(a[j1:j1 + t], a[j1 + t:j1 + 2 * t], w[m + i] & _M32, wp[m + i] & _M32, q, q2)


@njit(cache=True, boundscheck=False, inline="always")
def _ct_group_pair(A, B, C, D, W1, W1p, W2a, W2ap, W2b, W2bp, q, q2):
    # two Cooley-Tukey stages on quarter-blocks A, B, C, D (radix-4 data flow, radix-2 math):
    # stage s pairs (A, C) and (B, D) with W1; stage s+1 pairs (A, B) with W2a, (C, D) with W2b
    for r in range(A.shape[0]):
        a = A[r]
        b = B[r]
        c = C[r] & _M32
        d = D[r] & _M32
        t = c * W1 - ((c * W1p) >> _S32) * q
        s = a + t
        e = a - t
        a = min(s, s - q2)
        c = min(e + q2, e) & _M32
        t = d * W1 - ((d * W1p) >> _S32) * q
        s = b + t
        e = b - t
        b = min(s, s - q2) & _M32
        d = min(e + q2, e) & _M32
        t = b * W2a - ((b * W2ap) >> _S32) * q
        s = a + t
        e = a - t
        A[r] = min(s, s - q2)
        B[r] = min(e + q2, e)
        t = d * W2b - ((d * W2bp) >> _S32) * q
        s = c + t
        e = c - t
        C[r] = min(s, s - q2)
        D[r] = min(e + q2, e)


@njit(cache=True, boundscheck=False)
def _ct_stage_pair(a, w, wp, q, m, t):
    """Stages with (m, t) and (2m, t/2) fused: one pass over the data instead of two."""
    q = q & _M32
    q2 = _TWO * q
    h = t >> 1
    for i in range(m):
        j = 2 * i * t
        _ct_group_pair(a[j:j + h], a[j + h:j + t], a[j + t:j + t + h], a[j + t + h:j + 2 * t],
                       w[m + i] & _M32, wp[m + i] & _M32,
                       w[2 * m + 2 * i] & _M32, wp[2 * m + 2 * i] & _M32,
                       w[2 * m + 2 * i + 1] & _M32, wp[2 * m + 2 * i + 1] & _M32, q, q2)


def _make_ct_small(T):
    @njit(cache=True, boundscheck=False)
    def stage(a, w, wp, q, m):
        q = q & _M32
        q2 = _TWO * q
        for i in range(m):
            W = w[m + i] & _M32
            Wp = wp[m + i] & _M32
            j1 = 2 * T * i
            for k in range(T):
                x = a[j1 + k]
                y = a[j1 + T + k] & _M32
                qh = (y * Wp) >> _S32
                t = y * W - qh * q
                s = x + t
                d = x - t
                a[j1 + k] = min(s, s - q2)
                a[j1 + T + k] = min(d + q2, d)
    return stage


_ct_stage_4 = _make_ct_small(4)
_ct_stage_2 = _make_ct_small(2)
_ct_stage_1 = _make_ct_small(1)


@njit(cache=True, boundscheck=False)
def forward_row(a, w, wp, q):
    """In-place forward NTT of one row ``a`` (uint64, length n, values in [0, 2q)).

    ``w``, ``wp``: forward twiddles (bit-reversed order) and Shoup companions (W = 32);
    ``q``: the prime as ``np.uint64``. Output canonical in [0, q), bit-reversed order.
    """
    n = a.shape[0]
    qm = q & _M32
    m = 1
    t = n >> 1
    while m < n:
        if t >= 16:
            _ct_stage_pair(a, w, wp, qm, m, t)
            m <<= 2
            t >>= 2
            continue
        if t >= 8:
            _ct_stage_generic(a, w, wp, qm, m, t)
        elif t == 4:
            _ct_stage_4(a, w, wp, qm, m)
        elif t == 2:
            _ct_stage_2(a, w, wp, qm, m)
        else:
            _ct_stage_1(a, w, wp, qm, m)
        m <<= 1
        t >>= 1
    for j in range(n):
        v = a[j]
        a[j] = min(v, v - q)


@njit(cache=True, boundscheck=False, parallel=True)
def forward_rows(SRC, DST, W, WP, Q, idx, copy):
    """Forward NTT of every row, in parallel over rows: ``DST[r] = NTT(SRC[r])``.

    With ``copy`` false the transform is in place in ``DST`` (``SRC`` is ignored); with
    ``copy`` true each row is copied just before its transform (while it is hot in cache)
    instead of in a separate pass. Row ``r`` uses the prime ``Q[r]`` and the tables
    ``W[idx[r]]``, ``WP[idx[r]]``.
    """
    for r in prange(DST.shape[0]):
        d = DST[r]
        if copy:
            s = SRC[r]
            for j in range(d.shape[0]):
                d[j] = s[j]
        forward_row(d, W[idx[r]], WP[idx[r]], Q[r])


@njit(cache=True, boundscheck=False, parallel=True)
def forward_rows_subring(SRC, DST, W, WP, Q, idx):
    """``DST[r]`` (length ``n``) = NTT of the polynomial whose coefficients at multiples of
    ``g = n / m`` are ``SRC[r]`` (length ``m``) and zero elsewhere: the length-``m``
    transform (the first ``m`` twiddles of the length-``n`` table), then each value
    repeated ``g`` times (see :func:`sw.ntt.forward_subring`). Parallel over rows."""
    m = SRC.shape[1]
    g = DST.shape[1] // m
    for r in prange(DST.shape[0]):
        d = DST[r]
        s = SRC[r]
        head = d[:m]
        for j in range(m):
            head[j] = s[j]
        forward_row(head, W[idx[r]], WP[idx[r]], Q[r])
        for j in range(m - 1, -1, -1):     # spread from the end: j * g >= j
            v = d[j]
            for k in range(g):
                d[j * g + k] = v


# --------------------------------------------------------------------------------------
# inverse (Gentleman-Sande)
# --------------------------------------------------------------------------------------


@njit(cache=True, boundscheck=False, inline="always")
def _gs_group(x_arr, y_arr, W, Wp, q, q2):
    for k in range(x_arr.shape[0]):
        x = x_arr[k]
        y = y_arr[k]
        s = x + y
        d = x - y
        x_arr[k] = min(s, s - q2)
        d = min(d + q2, d) & _M32
        qh = (d * Wp) >> _S32
        y_arr[k] = d * W - qh * q


@njit(cache=True, boundscheck=False)
def _gs_stage_generic(a, w, wp, q, h, t):
    q = q & _M32
    q2 = _TWO * q
    for i in range(h):
        j1 = 2 * i * t
        _gs_group(a[j1:j1 + t], a[j1 + t:j1 + 2 * t], w[h + i] & _M32, wp[h + i] & _M32, q, q2)


@njit(cache=True, boundscheck=False, inline="always")
def _gs_group_pair(A, B, C, D, W1a, W1ap, W1b, W1bp, W2, W2p, q, q2):
    # two Gentleman-Sande stages on quarter-blocks: stage s pairs (A, B) with W1a and (C, D)
    # with W1b; stage s+1 pairs (A, C) and (B, D) with W2
    for r in range(A.shape[0]):
        a = A[r]
        b = B[r]
        c = C[r]
        d = D[r]
        s = a + b
        e = a - b
        a = min(s, s - q2)
        e = min(e + q2, e) & _M32
        b = e * W1a - ((e * W1ap) >> _S32) * q
        s = c + d
        e = c - d
        c = min(s, s - q2)
        e = min(e + q2, e) & _M32
        d = e * W1b - ((e * W1bp) >> _S32) * q
        s = a + c
        e = a - c
        A[r] = min(s, s - q2)
        e = min(e + q2, e) & _M32
        C[r] = e * W2 - ((e * W2p) >> _S32) * q
        s = b + d
        e = b - d
        B[r] = min(s, s - q2)
        e = min(e + q2, e) & _M32
        D[r] = e * W2 - ((e * W2p) >> _S32) * q


@njit(cache=True, boundscheck=False)
def _gs_stage_pair(a, w, wp, q, h, t):
    """Stages with (h groups, half-size t) and (h/2, 2t) fused into one pass."""
    q = q & _M32
    q2 = _TWO * q
    hh = h >> 1
    for i in range(hh):
        j = 4 * i * t
        _gs_group_pair(a[j:j + t], a[j + t:j + 2 * t], a[j + 2 * t:j + 3 * t], a[j + 3 * t:j + 4 * t],
                       w[h + 2 * i] & _M32, wp[h + 2 * i] & _M32,
                       w[h + 2 * i + 1] & _M32, wp[h + 2 * i + 1] & _M32,
                       w[hh + i] & _M32, wp[hh + i] & _M32, q, q2)


def _make_gs_small(T):
    @njit(cache=True, boundscheck=False)
    def stage(a, w, wp, q, h):
        q = q & _M32
        q2 = _TWO * q
        for i in range(h):
            W = w[h + i] & _M32
            Wp = wp[h + i] & _M32
            j1 = 2 * T * i
            for k in range(T):
                x = a[j1 + k]
                y = a[j1 + T + k]
                s = x + y
                d = x - y
                a[j1 + k] = min(s, s - q2)
                d = min(d + q2, d) & _M32
                qh = (d * Wp) >> _S32
                a[j1 + T + k] = d * W - qh * q
    return stage


_gs_stage_4 = _make_gs_small(4)
_gs_stage_2 = _make_gs_small(2)
_gs_stage_1 = _make_gs_small(1)


@njit(cache=True, boundscheck=False)
def inverse_row(a, w, wp, q, ninv, ninvp):
    """In-place inverse NTT of one row (bit-reversed in [0, 2q) -> natural, canonical [0, q)).

    ``w``, ``wp``: inverse twiddles and Shoup companions; ``ninv``, ``ninvp``: ``n^-1 mod q``
    and its Shoup companion (all ``np.uint64``).
    """
    n = a.shape[0]
    qm = q & _M32
    h = n >> 1
    t = 1
    while h >= 1:
        if t >= 8 and h >= 2:
            _gs_stage_pair(a, w, wp, qm, h, t)
            h >>= 2
            t <<= 2
            continue
        if t >= 8:
            _gs_stage_generic(a, w, wp, qm, h, t)
        elif t == 4:
            _gs_stage_4(a, w, wp, qm, h)
        elif t == 2:
            _gs_stage_2(a, w, wp, qm, h)
        else:
            _gs_stage_1(a, w, wp, qm, h)
        h >>= 1
        t <<= 1
    c = ninv & _M32
    cp = ninvp & _M32
    for j in range(n):
        v = a[j] & _M32
        v = v * c - ((v * cp) >> _S32) * qm
        a[j] = min(v, v - q)


@njit(cache=True, boundscheck=False, parallel=True)
def inverse_rows(SRC, DST, W, WP, Q, NINV, NINVP, idx, copy):
    """Inverse NTT of every row in parallel; arguments as in :func:`forward_rows`."""
    for r in prange(DST.shape[0]):
        d = DST[r]
        if copy:
            s = SRC[r]
            for j in range(d.shape[0]):
                d[j] = s[j]
        inverse_row(d, W[idx[r]], WP[idx[r]], Q[r], NINV[r], NINVP[r])
