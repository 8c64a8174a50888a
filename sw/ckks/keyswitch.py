"""Hybrid key switching (Han-Ki 2020 / GHS), with hoisting.

For ``c`` at level ``l`` (``L`` primes, evaluation form):

1. **Decompose + ModUp** (:func:`decompose`): INTT of ``c`` (``L`` rows); for each digit
   ``D_i`` (``params.digits_at(l)``), fast basis conversion of its rows to the other
   ``L - |D_i|`` primes of ``Q_l`` and the ``K`` special primes, then NTT of those rows;
   the digit's own rows are reused from the evaluation form. Result: ``(d, L + K, n)``.
2. **Inner product** with the key digits (rows ``ctx.key_rowmap(l)``), optionally after an
   automorphism of the digits (evaluation-form permutation; that is how several rotations
   share one decomposition: hoisting).
3. **ModDown** of both halves: INTT of the ``K`` special rows, BConv ``K -> L``, NTT of
   ``L`` rows, ``(x - conv) * P^-1``.

Kernel counts of one key switch at level ``l`` (``d`` digits of sizes ``a_i``):
``intt: L + 2K`` rows in ``1 + 2`` calls; ``ntt: sum_i (L + K - a_i) + 2L`` rows in
``d + 2`` calls; ``bconv: d + 2`` calls; inner product ``modmul 2d``, ``modadd 2(d-1)``
(x ``L+K`` rows); ModDown ``modadd 2``, ``modmul 2`` (x ``L`` rows).
"""
from __future__ import annotations

from functools import lru_cache

import numpy as np

from .. import trace
from ..ring import RnsBasis, RnsPoly, mod_down
from ..ring import kernels as K
from ..ring.kernels import BasisConverter
from .context import CkksContext
from .keys import SwitchingKey

_U = np.uint64


def decompose(ctx: CkksContext, c: RnsPoly, level: int):
    """Digits of ``c`` raised to ``Q_level + P`` (evaluation form), shape ``(d, L+K, n)``
    (None in a dry run)."""
    p = ctx.params
    qb = ctx.q_basis(level)
    qpb = ctx.qp_basis(level)
    L = len(qb)
    digits = p.digits_at(level)
    with trace.op("modup", n=p.n, primes_in=L, primes_out=len(qpb), level_in=level, level_out=level,
                  digits=len(digits)):
        coeff = c.to_coeff()
        live = coeff.data is not None
        ext = np.empty((len(digits), len(qpb), p.n), dtype=_U) if live else None
        for i, (s0, s1) in enumerate(digits):
            src = qb.sub(s0, s1)
            dst = _dst_basis(ctx, level, s0, s1)
            rowidx = _dst_rows(len(qpb), s0, s1)
            K.bconv(K.take_rows(coeff.data, s0, s1), BasisConverter.get(src, dst),
                    out=None if not live else ext[i], rowidx=rowidx)
            if live:
                ext[i, s0:s1] = c.data[s0:s1]
            K.ntt_segments(None if not live else ext[i], [(0, s0), (s1, len(qpb))], qpb)
    return ext


@lru_cache(maxsize=4096)
def _dst_rows(total: int, s0: int, s1: int) -> np.ndarray:
    r = np.concatenate([np.arange(0, s0), np.arange(s1, total)]).astype(np.int64)
    r.setflags(write=False)
    return r


def _dst_basis(ctx: CkksContext, level: int, s0: int, s1: int) -> RnsBasis:
    qb = ctx.q_basis(level)
    return RnsBasis.get(qb.primes[:s0] + qb.primes[s1:] + ctx.p_basis.primes, ctx.n)


def apply_key(ctx: CkksContext, ext, level: int, key: SwitchingKey, galois: int | None = None):
    """Inner product of raised digits with ``key`` (after the automorphism ``galois`` if
    given) and ModDown: returns ``(u0, u1)`` over ``Q_level`` in evaluation form."""
    p = ctx.params
    qpb = ctx.qp_basis(level)
    L = len(p.primes_at(level))
    nd = len(p.digits_at(level))
    perm = None if galois is None else K.eval_permutation(p.n, galois)
    key_level = getattr(key, "level", None)
    if key_level is None:
        rowmap = ctx.key_rowmap(level)
    else:
        if level > key_level:
            from .errors import LevelError
            raise LevelError(f"key switch: key ({key.kind}) is truncated to level {key_level}, "
                             f"ciphertext is at level {level}")
        rowmap = ctx.key_rowmap_truncated(level, key_level)
    # compact (uint32) keys are read as they are stored: the kernel widens each word as it
    # multiplies (copying the used rows to uint64 first cost ~230 MB per key switch at N = 2^16)
    o0, o1 = K.ks_inner(ext, qpb, key.b, key.a, rowmap, nd, perm)
    with trace.op("moddown", n=p.n, primes_in=len(qpb), primes_out=L, level_in=level, level_out=level):
        u0 = mod_down(RnsPoly(qpb, o0, True), L, consume=True)
        u1 = mod_down(RnsPoly(qpb, o1, True), L, consume=True)
    return u0, u1


def key_switch(ctx: CkksContext, c: RnsPoly, level: int, key: SwitchingKey, galois: int | None = None):
    """Switch ``c`` (decrypting under ``s'``; if ``galois`` is given, ``c`` is first mapped by
    ``X -> X^galois``) to ``(u0, u1)`` with ``u0 + u1 s ~ c s'``."""
    p = ctx.params
    with trace.op("keyswitch", n=p.n, primes_in=len(c.basis), primes_out=len(c.basis),
                  level_in=level, level_out=level):
        ext = decompose(ctx, c, level)
        return apply_key(ctx, ext, level, key, galois)
