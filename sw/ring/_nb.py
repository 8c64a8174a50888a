"""Numba kernels of the RNS ring layer (elementwise arithmetic, key-switching inner product,
gathers; basis conversion is :mod:`sw.kernels.bconv`).

Call these through :mod:`sw.ring.kernels` (the funnel), which checks shapes, allocates
outputs, handles dry runs and reports to the trace.

Arithmetic (all primes ``q < 2^31``, values canonical in ``[0, q)``):

* Barrett (variable x variable): :func:`sw.kernels.modarith.barrett` with the constants of
  :class:`sw.modulus.Modulus` (``RnsBasis.mu``, ``s1``, ``s2``).
* Shoup (variable x constant ``w``): ``w' = floor(w * 2^32 / q)``; for ``a < 2^32``,
  ``r = a*w - ((a*w') >> 32)*q`` in ``[0, 2q)``.
* ``min(v, v - q)`` on unsigned words is the branchless conditional subtraction.

Rows are processed in parallel with ``prange`` (one row = one prime).
"""
from __future__ import annotations

import numpy as np
from numba import njit, prange

from ..kernels.modarith import barrett

_M32 = np.uint64(0xFFFFFFFF)
_S32 = np.uint64(32)


@njit(cache=True, parallel=True, boundscheck=False)
def neg_rows(a, q, out):
    """``out[r] = -a[r] mod q[r]``."""
    for r in prange(a.shape[0]):
        qq = q[r]
        ar, orow = a[r], out[r]
        for j in range(ar.shape[0]):
            d = qq - ar[j]
            orow[j] = min(d, d - qq)


@njit(cache=True, parallel=True, boundscheck=False)
def submulconst_rows(a, b, w, wp, q, out):
    """``out[r] = (a[r] - b[r]) * w[r] mod q[r]`` (ModDown / rescale tail)."""
    for r in prange(a.shape[0]):
        qq, W, Wp = q[r] & _M32, w[r] & _M32, wp[r] & _M32
        ar, br, orow = a[r], b[r], out[r]
        for j in range(ar.shape[0]):
            d = ((ar[j] & _M32) + qq - (br[j] & _M32)) & _M32   # < 2q < 2^32
            v = d * W - ((d * Wp) >> _S32) * qq
            orow[j] = min(v, v - qq)


@njit(cache=True, inline="always")
def _fold64(x, q, c2, mu, s1, s2):
    """Reduce any 64-bit ``x`` mod ``q`` (``c2 = 2^32 mod q``, ``2^29 < q < 2^31``): three
    32-bit folds ``x -> (x >> 32) c2 + (x mod 2^32)`` bring it below ``2^(2 bitlen(q))``
    (``< 2^63 + 2^32``, then ``< 2^62 + 2^33``, then ``< 2^61 + 2^33``), then Barrett (plus
    two spare conditional subtractions). ``c2`` is masked here, as :func:`barrett` masks its
    own operands, so every product is a 32 x 32-bit one for LLVM whatever the caller passes."""
    c2 = c2 & _M32
    x = (x >> _S32) * c2 + (x & _M32)
    x = (x >> _S32) * c2 + (x & _M32)
    x = (x >> _S32) * c2 + (x & _M32)
    r = barrett(x, q, mu, s1, s2)
    r = min(r, r - q)
    return min(r, r - q)


@njit(cache=True, parallel=True, boundscheck=False)
def ks_inner(ext, perm, use_perm, kb, ka, rowmap, q, c2s, mu, s1, s2, out0, out1, chunk):
    """Key-switching inner product, optionally fused with an automorphism gather.

    ``ext``: (d, R, n) decomposed digits (evaluation form). ``kb``, ``ka``: (D, Rk, n) key
    digits, of which rows ``rowmap`` are used. With ``use_perm``, digit element ``c`` is
    read at ``perm[c]`` (the automorphism in evaluation form). ``out0[r] = sum_i
    ext_i[r] kb_i[rowmap[r]]``, ``out1`` likewise with ``ka``, mod ``q[r]``.

    A row is walked in blocks of ``chunk`` columns (a power of two dividing ``n``): all
    ``d`` digits of a block are accumulated while the block's two sums are in cache, so
    each output word is written once and each operand word read once (summing whole rows
    digit after digit re-read and re-wrote both ``n``-word sums ``d`` times). The sums are
    kept in the output blocks themselves: four products of residues below ``2^31`` stay
    below ``2^64``, so they are folded (``c2s[r] = 2^32 mod q``) after every fourth digit
    and at the end. With ``use_perm`` each digit block is first gathered into a small
    contiguous buffer, so the multiply-accumulate reads memory in order.
    """
    d, R, n = ext.shape
    for r in prange(R):
        qq, c2, m, x1, x2 = q[r], c2s[r], mu[r], s1[r], s2[r]
        rr = rowmap[r]
        buf = np.empty(chunk, dtype=np.uint64)
        for b0 in range(0, n, chunk):
            # every operand as a slice of the block, so the loops over [0, chunk) vectorise
            o0 = out0[r, b0:b0 + chunk]
            o1 = out1[r, b0:b0 + chunk]
            for i in range(d):
                br = kb[i, rr, b0:b0 + chunk]
                arr = ka[i, rr, b0:b0 + chunk]
                if use_perm:
                    er = ext[i, r]
                    pp = perm[b0:b0 + chunk]
                    for c in range(chunk):
                        buf[c] = er[pp[c]] & _M32
                else:
                    eb = ext[i, r, b0:b0 + chunk]
                    for c in range(chunk):
                        buf[c] = eb[c] & _M32
                if i == 0:
                    for c in range(chunk):
                        o0[c] = (buf[c] & _M32) * (br[c] & _M32)
                        o1[c] = (buf[c] & _M32) * (arr[c] & _M32)
                else:
                    for c in range(chunk):
                        o0[c] += (buf[c] & _M32) * (br[c] & _M32)
                        o1[c] += (buf[c] & _M32) * (arr[c] & _M32)
                # the fold loops are written out as in dot_plain_rows: an inline helper for
                # them made that kernel about 10 % slower (75-84 against 63-75 ms, 8 terms)
                if i % 4 == 3 and i != d - 1:
                    for c in range(chunk):
                        o0[c] = _fold64(o0[c], qq, c2, m, x1, x2)
                        o1[c] = _fold64(o1[c], qq, c2, m, x1, x2)
            for c in range(chunk):
                o0[c] = _fold64(o0[c], qq, c2, m, x1, x2)
                o1[c] = _fold64(o1[c], qq, c2, m, x1, x2)


@njit(cache=True, parallel=True, boundscheck=False)
def widen_repeat_rows(src, g, out):
    """``out[r, j] = src[r, j // g]`` as uint64 (``out`` has ``g`` times the columns)."""
    m = src.shape[1]
    for r in prange(src.shape[0]):
        s = src[r]
        o = out[r]
        for j in range(m):
            v = np.uint64(s[j])
            for k in range(g):
                o[j * g + k] = v


@njit(cache=True, parallel=True, boundscheck=False)
def permute_rows(a, perm, out):
    """``out[r, c] = a[r, perm[c]]`` (automorphism in evaluation form)."""
    for r in prange(a.shape[0]):
        ar, orow = a[r], out[r]
        for c in range(ar.shape[0]):
            orow[c] = ar[perm[c]]


@njit(cache=True, parallel=True, boundscheck=False)
def permute_sign_rows(a, dst, neg, q, out):
    """Automorphism in coefficient form: ``out[r, dst[c]] = (-1)^neg[c] a[r, c] mod q[r]``."""
    for r in prange(a.shape[0]):
        qq = q[r]
        ar, orow = a[r], out[r]
        for c in range(ar.shape[0]):
            v = ar[c]
            if neg[c]:
                v = qq - v
                v = min(v, v - qq)
            orow[dst[c]] = v


@njit(cache=True, parallel=True, boundscheck=False)
def dot_plain_rows(A0, A1, W, g, chunk, q, c2s, mu, s1, s2, out0, out1):
    """Sum of plaintext products of both polynomials of several ciphertexts, in one pass:
    ``out0[r] = sum_t A0[t][r] * w_t[r]``, ``out1`` likewise with ``A1``, mod ``q[r]``, where
    ``w_t[r, c] = W[t][r, c // g]`` (``g = 1``: the plain evaluation-form rows; ``g > 1``: the
    sub-ring compaction of :func:`sw.ring.kernels.subring_compact`, read as stored).

    ``A0``, ``A1``, ``W``: typed lists of ``(R, n)`` (``W``: ``(R, n / g)``) arrays. A row is
    walked in blocks of ``chunk`` columns (a multiple of ``g`` dividing ``n``): each term's
    plaintext words of the block are widened into a small buffer, so the multiply-accumulate
    is a plain loop over contiguous words, and the block's sums stay in cache over all
    terms. The sums are folded after every fourth term (four products of residues below
    ``2^31`` stay below ``2^64``); each output row is written once, each operand row read once.
    """
    T = len(A0)
    R, n = out0.shape
    for r in prange(R):
        qq, c2, m, x1, x2 = q[r], c2s[r], mu[r], s1[r], s2[r]
        buf = np.empty(chunk, dtype=np.uint64)
        for b0 in range(0, n, chunk):
            # every operand as a slice of the block: loops over [0, chunk) vectorise (with
            # offset indices b0 + c they did not, and ran 1.6-1.8 times slower)
            o0 = out0[r, b0:b0 + chunk]
            o1 = out1[r, b0:b0 + chunk]
            k0 = b0 // g
            for t in range(T):
                a0 = A0[t][r, b0:b0 + chunk]
                a1 = A1[t][r, b0:b0 + chunk]
                w = W[t][r, k0:k0 + chunk // g]
                for i in range(chunk // g):
                    v = np.uint64(w[i]) & _M32
                    for k in range(g):
                        buf[i * g + k] = v
                if t == 0:
                    for c in range(chunk):
                        o0[c] = (a0[c] & _M32) * (buf[c] & _M32)
                        o1[c] = (a1[c] & _M32) * (buf[c] & _M32)
                else:
                    for c in range(chunk):
                        o0[c] += (a0[c] & _M32) * (buf[c] & _M32)
                        o1[c] += (a1[c] & _M32) * (buf[c] & _M32)
                if t % 4 == 3 and t != T - 1:
                    for c in range(chunk):
                        o0[c] = _fold64(o0[c], qq, c2, m, x1, x2)
                        o1[c] = _fold64(o1[c], qq, c2, m, x1, x2)
            for c in range(chunk):
                o0[c] = _fold64(o0[c], qq, c2, m, x1, x2)
                o1[c] = _fold64(o1[c], qq, c2, m, x1, x2)


@njit(cache=True, parallel=True, boundscheck=False)
def addmulconst_rows(acc, a, w, wp, q):
    """``acc[r] = (acc[r] + a[r] * w[r]) mod q[r]`` in place (Shoup: ``wp = floor(w 2^32 / q)``)."""
    for r in prange(a.shape[0]):
        qq, W, Wp = q[r] & _M32, w[r] & _M32, wp[r] & _M32
        ar, orow = a[r], acc[r]
        for j in range(ar.shape[0]):
            x = ar[j] & _M32
            v = x * W - ((x * Wp) >> _S32) * qq
            v = min(v, v - qq) + orow[j]
            orow[j] = min(v, v - qq)
