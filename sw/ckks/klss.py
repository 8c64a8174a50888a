"""KLSS key switching: the inner product of a hybrid key switch computed exactly over an
auxiliary modulus ``T``.

Kim, Lee, Seo and Song (CRYPTO 2023, "Asymptotically faster multi-key homomorphic
encryption from homomorphic gadget decomposition", the key-switching method accelerators
call KLSS) observed that the products of a key switch need not be formed modulo every prime
of ``Q_l P``. For a ciphertext polynomial at level ``l`` with digits ``D_j`` (``beta`` of
them) and a hybrid key ``(b_j, a_j)`` over ``Q_l P``:

1. Each digit is raised by fast basis conversion, as in hybrid ModUp, but only to the
   ``t`` primes of ``T``: ``d_j + u_j D_j`` with ``0 <= u_j < |D_j|``, then NTT over
   ``T`` (``beta * t`` rows instead of ``beta * (L + K - alpha)``).
2. ``Q_l P`` is cut into groups ``B_i`` of ``r`` primes (``beta~`` groups). The key holds,
   per digit and group, the centered integer ``[b_j]_{B_i}`` (of its coefficients) lifted
   to ``T`` (computed
   here from the hybrid key, once per key and level, and cached). Per group, the integer
   polynomial ``Y_i = sum_j (d_j + u_j D_j) [b_j]_{B_i}`` is formed modulo ``T``.
   ``T`` is chosen larger than twice its largest coefficient,
   ``beta * N * (alpha + 1) * D_max * B_max / 2``, so ``Y_i`` is exact.
3. Each ``Y_i`` is brought to coefficients (INTT over ``T``) and converted exactly to the
   primes of ``B_i`` (the float-corrected exact basis conversion of ModDown), then NTT.

Since ``Y_i = sum_j (d_j + u_j D_j) b_j (mod B_i)``, and ``u_j`` does not depend on the
target primes of the fast conversion, the rows equal hybrid's inner product over
``Q_l P`` integer for integer. The ModDown (and a fused rescale, a fold, double hoisting)
then runs unchanged, so a KLSS key switch returns the same ciphertext as the hybrid one.
The tests check this, bit for bit. What changes is the work and the key. There are fewer
NTTs when ``alpha`` is small (large ``dnum``), and more products. The key holds
``beta * beta~ * 2 * t`` limbs instead of ``beta * 2 * (L + K)``.

The result is computed in evaluation form over all of ``Q_l P``, so that everything after
the inner product is hybrid's own code. A dedicated ModDown could keep the ``K`` special
rows in coefficient form and save ``2K`` NTTs and ``2K`` INTTs per key switch. Those
transforms are in the trace.

Keys that are not :class:`~.keys.SwitchingKey` (the bootstrapper's encapsulation
:class:`~.keys.BasisKey`, one digit over all of ``Q_l``) stay hybrid: one digit would need a
``T`` wider than ``Q_l`` itself.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from .. import trace
from ..primes import ntt_primes
from ..ring import RnsBasis
from ..ring import kernels as K
from ..ring.kernels import BasisConverter

_U = np.uint64

#: Key-switching methods of :class:`~.context.CkksContext` (``key_switching=``).
KEY_SWITCHING = ("hybrid", "klss")

#: Bits of margin of ``T`` over twice the largest coefficient of a product sum (the exact
#: conversion's float correction needs the value well inside ``(-T/2, T/2)``).
MARGIN_BITS = 4


@dataclass(frozen=True)
class KlssDigits:
    """The digits of one polynomial raised to ``T`` (evaluation form): ``data`` of shape
    ``(beta, t, n)`` (None in a dry run), the ``T`` basis, the digits' row ranges and the
    level they were made at."""

    data: np.ndarray | None
    aux: RnsBasis
    digits: tuple[tuple[int, int], ...]
    level: int
    special: RnsBasis


def group_ranges(rows: int, size: int) -> tuple[tuple[int, int], ...]:
    """``Q_l P`` rows ``0 .. rows`` cut into consecutive groups of ``size`` (the last one
    shorter)."""
    return tuple((s, min(s + size, rows)) for s in range(0, rows, size))


def aux_count(params, group: int) -> int:
    """Primes of ``T`` (31 bits each) for ``params``' top level and groups of ``group``
    primes: ``log2 T >= log2(beta N (alpha + 1) D_max B_max) + MARGIN_BITS`` (the bound of
    the module docstring, with every prime taken as ``2^31``)."""
    beta = len(params.digits_at(params.max_level))
    bits = (math.log2(beta * params.n * (params.alpha + 1)) + 31 * params.alpha + 31 * group
            + MARGIN_BITS)
    return math.ceil(bits / 30)        # the primes of T are above 2^30


def aux_basis(params, group: int) -> RnsBasis:
    """The ``T`` basis: the largest primes ``= 1 mod 2n`` below ``2^31`` that are not in
    ``Q`` or ``P`` (:func:`sw.primes.ntt_primes`)."""
    primes = ntt_primes(params.n, 31, aux_count(params, group),
                        exclude=tuple(params.q_primes) + tuple(params.p_primes))
    return RnsBasis.get(tuple(primes), params.n)


def decompose(ctx, c, level: int, special: RnsBasis, digits) -> KlssDigits:
    """Step 1: the digits of ``c`` (evaluation form, at ``level``) raised to ``T``."""
    p = ctx.params
    qb = ctx.q_basis(level)
    aux = ctx.klss_aux
    with trace.op("modup", n=p.n, primes_in=len(qb), primes_out=len(aux), level_in=level,
                  level_out=level, digits=len(digits), klss=True):
        coeff = c.to_coeff()
        live = coeff.data is not None
        out = np.empty((len(digits), len(aux), p.n), dtype=_U) if live else None
        for i, (s0, s1) in enumerate(digits):
            raised = K.bconv(K.take_rows(coeff.data, s0, s1), BasisConverter.get(qb.sub(s0, s1), aux))
            raised = K.ntt(raised, aux, inplace=True)
            if live:
                out[i] = raised
    return KlssDigits(out, aux, tuple(digits), level, special)


def _key_parts(ctx, rows, level: int, groups) -> tuple:
    """The key's digits per group lifted to ``T`` (evaluation form): ``(kb, ka)`` of shape
    ``(D, len(groups), t, n)`` (None in a dry run), cached on the context per key stack and
    level. ``rows``: the key's :class:`~.keyswitch.KeyRows`."""
    if rows.b is None:
        return None, None
    cache = ctx.klss_cache
    key = (id(rows.b), level, len(rows.special))
    hit = cache.get(key)
    if hit is not None and hit[0] is rows.b:
        return hit[1], hit[2]
    qpb = ctx.q_basis(level) + rows.special
    aux = ctx.klss_aux
    D = rows.b.shape[0]
    out = []
    with trace.paused():
        for stack in (rows.b, rows.a):
            parts = np.empty((D, len(groups), len(aux), ctx.n), dtype=_U)
            for j in range(D):
                for g, (s0, s1) in enumerate(groups):
                    res = np.ascontiguousarray(stack[j, rows.rowmap[s0:s1]], dtype=_U)
                    res = K.intt(res, qpb.sub(s0, s1), inplace=True)    # keys are stored NTT
                    lifted = K.bconv(res, BasisConverter.get(qpb.sub(s0, s1), aux), exact=True)
                    parts[j, g] = K.ntt(lifted, aux, inplace=True)
            out.append(parts)
    cache[key] = (rows.b, out[0], out[1])
    return out[0], out[1]


def inner(ctx, ext: KlssDigits, level: int, rows, galois: int | None):
    """Steps 2-3: ``(o0, o1)`` over ``Q_level + special`` (evaluation form), the same
    integers as hybrid's inner product of the raised digits with the key ``rows``."""
    p = ctx.params
    qpb = ctx.q_basis(level) + rows.special
    aux = ext.aux
    groups = group_ranges(len(qpb), ctx.klss_group)
    nd = len(ext.digits)
    if ext.digits != tuple(rows.digits) or ext.level != level or ext.special != rows.special:
        raise ValueError(f"KLSS key switch: digits made at level {ext.level} over "
                         f"{len(ext.special)} special primes do not fit this key at level {level} "
                         f"({len(rows.special)} special primes)")
    kb, ka = _key_parts(ctx, rows, level, groups)
    live = ext.data is not None
    d = ext.data
    if galois is not None:
        trace.report_kernel("automorphism", len(aux), p.n, count=nd)
        if live:
            perm = K.eval_permutation(p.n, galois)
            d = d[:, :, perm]
    o = [np.empty((len(qpb), p.n), dtype=_U) if live else None for _ in range(2)]
    for half, parts in enumerate((kb, ka)):
        for g, (s0, s1) in enumerate(groups):
            acc = None
            for j in range(nd):
                prod = K.mul(None if not live else d[j], None if not live else parts[j, g], aux)
                acc = prod if acc is None else K.add(acc, prod, aux, out=acc)
            y = K.intt(acc, aux, inplace=True)
            rows_g = K.bconv(y, BasisConverter.get(aux, qpb.sub(s0, s1)), exact=True)
            rows_g = K.ntt(rows_g, qpb.sub(s0, s1), inplace=True)
            if live:
                o[half][s0:s1] = rows_g
    return o[0], o[1]


def key_limbs(params, group: int, level: int | None = None, special: int | None = None) -> dict:
    """What a KLSS key holds at ``level`` (default the top): ``digits``, ``groups``, ``aux``
    (the primes of ``T``), and ``limbs`` = ``digits * groups * 2 * aux`` against hybrid's
    ``digits * 2 * (L + K)``."""
    level = params.max_level if level is None else level
    L = len(params.primes_at(level))
    k = len(params.p_primes) if special is None else special
    beta = len(params.digits_at(level))
    groups = len(group_ranges(L + k, group))
    t = aux_count(params, group)
    return dict(digits=beta, groups=groups, aux=t, limbs=beta * groups * 2 * t,
                hybrid_limbs=beta * 2 * (L + k))


__all__ = ["KEY_SWITCHING", "KlssDigits", "aux_basis", "aux_count", "decompose", "group_ranges",
           "inner", "key_limbs"]
