"""Golden models the RTL checker compares against.

Deliberately independent of the hardware generators: plain Python integers (exact at every
word width) and a textbook NTT written from the ``sw/ntt_tables.py`` conventions.
Only the twiddle *tables* and the Shoup companion formula come from ``sw.ntt_tables`` (the
single source of truth both sides share); the transform loops here are written separately
from any ``sw``/``hw`` NTT.

* ``modmul_barrett(a, b, q)``            -> ``a*b mod q``
* ``modmul_montgomery(a, b, q, width)``  -> ``a*b*2^-width mod q`` (canonical)
* ``modmul_shoup(a, w, q)``             -> ``a*w mod q`` (``a`` any word, ``w < q``)
* ``shoup_companion(w, q, width)``       -> ``floor(w*2^width/q)``, the Shoup multiplier's
  precomputed operand
* ``ct_butterfly(a, b, w, q)``          -> ``(a + w*b, a - w*b) mod q``
* ``gs_butterfly(a, b, w, q)``          -> ``(a + b, (a - b)*w) mod q``
* ``ntt_forward(a, q)``                 -> negacyclic NTT, natural in, bit-reversed out
* ``ntt_inverse(a, q)``                 -> inverse, bit-reversed in, natural out, scaled by n^-1
* ``ntt_by_definition(a, q)``           -> O(n^2) evaluation ``a(psi^(2*bitrev(k)+1))``; used to
  validate the fast textbook transform itself.
"""
from __future__ import annotations

import numpy as np

from sw.ntt_tables import bit_reverse, ntt_tables, shoup as shoup_companion


def modmul_barrett(a: int, b: int, q: int) -> int:
    return a * b % q


def modmul_montgomery(a: int, b: int, q: int, width: int) -> int:
    return a * b * pow(1 << width, -1, q) % q


def modmul_shoup(a: int, w: int, q: int) -> int:
    return a * w % q


def to_montgomery(w: int, q: int, width: int) -> int:
    """``w * 2^width mod q``: how a constant is handed to a Montgomery datapath."""
    return (w << width) % q


def ct_butterfly(a: int, b: int, w: int, q: int) -> tuple[int, int]:
    t = w * b % q
    return (a + t) % q, (a - t) % q


def gs_butterfly(a: int, b: int, w: int, q: int) -> tuple[int, int]:
    return (a + b) % q, (a - b) * w % q


def _as_work_array(a, q: int) -> np.ndarray:
    """uint64 when every product of two residues fits in 64 bits, else exact Python ints."""
    if q < (1 << 32):
        return np.array([int(x) for x in a], dtype=np.uint64)
    return np.array([int(x) for x in a], dtype=object)


def ntt_forward(a, q: int) -> list[int]:
    """Textbook negacyclic Cooley-Tukey NTT (:mod:`sw.ntt_tables`): natural order in, bit-reversed out.

    Stage s has m = 2^s groups of half-size t = n/(2m); group i uses ``fwd[m+i]``:
    ``(u, v) -> (u + w v, u - w v)``.
    """
    n = len(a)
    tab = ntt_tables(q, n)
    x = _as_work_array(a, q)
    qq = x.dtype.type(q) if x.dtype != object else q
    fwd = _as_work_array(tab.fwd, q)
    m = 1
    while m < n:
        t = n // (2 * m)
        blk = x.reshape(m, 2, t)
        u = blk[:, 0, :].copy()
        v = blk[:, 1, :] * fwd[m:2 * m].reshape(m, 1) % qq
        blk[:, 0, :] = (u + v) % qq
        blk[:, 1, :] = (u + (qq - v)) % qq
        m *= 2
    return [int(v) for v in x]


def ntt_inverse(a, q: int) -> list[int]:
    """Textbook Gentleman-Sande inverse: bit-reversed in, natural out, scaled by n^-1.

    Stage s has h = n/2^(s+1) groups of half-size t = 2^s; group i uses ``inv[h+i]``:
    ``(u, v) -> (u + v, (u - v) w)``; finally every entry times ``n_inv``.
    """
    n = len(a)
    tab = ntt_tables(q, n)
    x = _as_work_array(a, q)
    qq = x.dtype.type(q) if x.dtype != object else q
    inv = _as_work_array(tab.inv, q)
    t = 1
    while t < n:
        h = n // (2 * t)
        blk = x.reshape(h, 2, t)
        u = blk[:, 0, :].copy()
        v = blk[:, 1, :].copy()
        blk[:, 0, :] = (u + v) % qq
        blk[:, 1, :] = (u + (qq - v)) % qq * inv[h:2 * h].reshape(h, 1) % qq
        t *= 2
    ninv = tab.n_inv if x.dtype == object else np.uint64(tab.n_inv)
    return [int(v) for v in (x * ninv % qq)]


def ntt_by_definition(a, q: int) -> list[int]:
    """O(n^2) reference: ``NTT(a)[k] = sum_j a_j psi^((2*bitrev(k)+1) j)`` (small n only)."""
    n = len(a)
    tab = ntt_tables(q, n)
    bits = n.bit_length() - 1
    out = []
    for k in range(n):
        root = pow(tab.psi, 2 * bit_reverse(k, bits) + 1, q)
        acc, p = 0, 1
        for coef in a:
            acc = (acc + int(coef) * p) % q
            p = p * root % q
        out.append(acc)
    return out
