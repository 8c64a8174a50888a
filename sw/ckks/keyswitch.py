"""Hybrid key switching (Han-Ki 2020 / GHS), with hoisting.

Every key switch runs through this module: relinearisation, rotations (hoisted or not),
conjugation, and bootstrapping's encapsulation and decapsulation. It also writes the trace
events of a key switch: ``keyswitch`` (:func:`key_switch`, or :func:`switch_decomposed` for a
hoisted one) containing ``modup`` (:func:`decompose`; shared, outside, when hoisted) and
``moddown`` (:func:`apply_key`).

For ``c`` at level ``l`` (``L`` primes, evaluation form) and a key whose special primes are
``P`` (``K`` primes: ``ctx.p_basis`` for a :class:`~.keys.SwitchingKey`, or its first
``key.special`` primes when it has fewer; the key's own ``P'`` for a :class:`~.keys.BasisKey`):

1. **Decompose + ModUp** (:func:`decompose`): INTT of ``c`` (``L`` rows); for each digit
   ``D_i`` (``params.digits_at(l)``; one digit of all ``L`` rows for a ``BasisKey``), fast
   basis conversion of its rows to the other ``L - |D_i|`` primes of ``Q_l`` and the ``K``
   special primes, then NTT of those rows; the digit's own rows are reused from the
   evaluation form. Result: ``(d, L + K, n)``.
2. **Inner product** with the key digits (rows ``ctx.key_rowmap(l)`` of a ``SwitchingKey``,
   the ``Q_l`` and ``P'`` rows of a ``BasisKey``), optionally after an automorphism of the
   digits (evaluation-form permutation; that is how several rotations share one
   decomposition: hoisting).
3. **ModDown** of both halves: INTT of the ``K`` special rows, BConv ``K -> L``, NTT of
   ``L`` rows, ``(x - conv) * P^-1``.

With ``rescale=True`` the ModDown divides by ``P`` and the top group's ``k`` primes at once
(INTT of ``K + k`` rows, BConv ``K + k -> L - k``, NTT of ``L - k`` rows): a fused rescale.

With ``ctx.key_switching == "klss"`` steps 1 and 2 are :mod:`sw.ckks.klss`'s for every
``SwitchingKey`` (digits raised to the auxiliary modulus ``T`` only, the inner product
formed exactly there per group of ``Q_l P``; the same integers), recorded in the
``keyswitch`` event's ``klss_groups`` and ``klss_aux``; ``BasisKey`` switches stay hybrid.

Kernel counts of one key switch at level ``l`` (``d`` digits of sizes ``a_i``):
``intt: L + 2K`` rows in ``1 + 2`` calls; ``ntt: sum_i (L + K - a_i) + 2L`` rows in
``d + 2`` calls; ``bconv: d + 2`` calls; inner product ``modmul 2d``, ``modadd 2(d-1)``
(x ``L+K`` rows); ModDown ``modadd 2``, ``modmul 2`` (x ``L`` rows).
"""
from __future__ import annotations

from functools import lru_cache
from typing import NamedTuple

import numpy as np

from .. import trace
from ..ring import RnsBasis, RnsPoly, mod_down
from ..ring import kernels as K
from ..ring.kernels import BasisConverter
from . import klss
from .context import CkksContext
from .errors import LevelError, ParameterMismatchError
from .keys import BasisKey, SwitchingKey

_U = np.uint64


class KeyRows(NamedTuple):
    """What a key switch at one level reads of a key.

    ``b``, ``a``: digit stacks ``(D, rows, n)`` (None in a dry run); ``rowmap``: the rows of
    the stacks that make up ``Q_level + special``; ``special``: the special primes the digits
    are raised to; ``digits``: row ranges ``(start, stop)`` of the digits into ``Q_level``.
    """

    b: np.ndarray | None
    a: np.ndarray | None
    rowmap: np.ndarray
    special: RnsBasis
    digits: tuple[tuple[int, int], ...]


def key_rows(ctx: CkksContext, key: SwitchingKey | BasisKey, level: int) -> KeyRows:
    """The :class:`KeyRows` of ``key`` for a ciphertext at ``level``.

    Raises :class:`~.errors.LevelError` if a truncated key is below ``level`` and
    :class:`~.errors.ParameterMismatchError` if a ``BasisKey`` does not start with the
    ciphertext's primes.
    """
    if isinstance(key, BasisKey):
        return _basis_key_rows(ctx, key, level)
    key_level = getattr(key, "level", None)
    special = getattr(key, "special", None)
    if key_level is None and special is None:
        rowmap = ctx.key_rowmap(level)
    else:
        key_level = ctx.params.max_level if key_level is None else key_level
        if level > key_level:
            raise LevelError(f"key switch: key ({key.kind}) is truncated to level {key_level}, "
                             f"ciphertext is at level {level}")
        rowmap = ctx.key_rowmap_truncated(level, key_level, special)
    return KeyRows(key.b, key.a, rowmap, ctx.special_basis(special), ctx.params.digits_at(level))


def _basis_key_rows(ctx: CkksContext, key: BasisKey, level: int) -> KeyRows:
    qb = ctx.q_basis(level)
    L = len(qb)
    if L > key.q_count or key.basis.primes[:L] != qb.primes:
        raise ParameterMismatchError(
            f"key switch: key ({key.kind}) is over {key.q_count} ciphertext primes that do not "
            f"begin with the {L} primes of level {level}")
    b = None if key.b.data is None else key.b.data[None]
    a = None if key.a.data is None else key.a.data[None]
    return KeyRows(b, a, _basis_rowmap(L, key.q_count, len(key.basis)), key.special, ((0, L),))


@lru_cache(maxsize=256)
def _basis_rowmap(L: int, q_count: int, total: int) -> np.ndarray:
    r = np.concatenate([np.arange(L), np.arange(q_count, total)]).astype(np.int64)
    r.setflags(write=False)
    return r


def decompose(ctx: CkksContext, c: RnsPoly, level: int, special: RnsBasis | None = None,
              digits: tuple[tuple[int, int], ...] | None = None, method: str | None = None):
    """Digits of ``c`` raised to ``Q_level + special`` (evaluation form), shape
    ``(d, L+K, n)`` (None in a dry run); with KLSS (``method``, default
    ``ctx.key_switching``) a :class:`sw.ckks.klss.KlssDigits` raised to ``T`` instead.

    ``special`` (default ``ctx.p_basis``) and ``digits`` (default ``params.digits_at(level)``)
    are those of the key (:func:`key_rows`); the defaults serve every ``SwitchingKey``, so
    one decomposition serves several of them (hoisting).
    """
    p = ctx.params
    qb = ctx.q_basis(level)
    special = ctx.p_basis if special is None else special
    qpb = qb + special
    L = len(qb)
    digits = p.digits_at(level) if digits is None else digits
    if (method or ctx.key_switching) == "klss":
        return klss.decompose(ctx, c, level, special, digits)
    with trace.op("modup", n=p.n, primes_in=L, primes_out=len(qpb), level_in=level, level_out=level,
                  digits=len(digits)):
        coeff = c.to_coeff()
        live = coeff.data is not None
        ext = np.empty((len(digits), len(qpb), p.n), dtype=_U) if live else None
        for i, (s0, s1) in enumerate(digits):
            src = qb.sub(s0, s1)
            dst = _dst_basis(qb, special, s0, s1)
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


def _dst_basis(qb: RnsBasis, special: RnsBasis, s0: int, s1: int) -> RnsBasis:
    return RnsBasis.get(qb.primes[:s0] + qb.primes[s1:] + special.primes, qb.n)


def apply_key(ctx: CkksContext, ext, level: int, key: SwitchingKey | BasisKey,
              galois: int | None = None):
    """Inner product of raised digits with ``key`` (after the automorphism ``galois`` if
    given) and ModDown: returns ``(u0, u1)`` over ``Q_level`` in evaluation form.

    ``ext``: :func:`decompose` of the polynomial with the key's special primes and digits.
    """
    return _apply(ctx, ext, level, key_rows(ctx, key, level), galois)


def _apply(ctx: CkksContext, ext, level: int, rows: KeyRows, galois: int | None,
           fold=None, rescale: bool = False, lower: bool = True):
    p = ctx.params
    qb = ctx.q_basis(level)
    qpb = qb + rows.special
    L = len(qb)
    nd = len(rows.digits)
    if isinstance(ext, klss.KlssDigits):
        o0, o1 = klss.inner(ctx, ext, level, rows, galois)
    else:
        if ext is not None and ext.shape[:2] != (nd, len(qpb)):
            raise ValueError(f"key switch: digits of shape {ext.shape[:2]} do not fit the key "
                             f"({nd} digits over {len(qpb)} primes)")
        perm = None if galois is None else K.eval_permutation(p.n, galois)
        # compact (uint32) keys are read as they are stored: the kernel widens each word as it
        # multiplies (copying the used rows to uint64 first cost ~230 MB per key switch at N = 2^16)
        o0, o1 = K.ks_inner(ext, qpb, rows.b, rows.a, rows.rowmap, nd, perm, galois=galois)
    if fold is not None:
        _fold_times_p(o0, fold[0], qb, rows.special)
        _fold_times_p(o1, fold[1], qb, rows.special)
    if not lower:
        return RnsPoly(qpb, o0, True), RnsPoly(qpb, o1, True)
    drop = len(p.q_groups[level]) if rescale else 0
    with trace.op("moddown", n=p.n, primes_in=len(qpb), primes_out=L - drop, level_in=level,
                  level_out=level - bool(rescale), special=len(rows.special)):
        u0 = mod_down(RnsPoly(qpb, o0, True), L - drop, consume=True)
        u1 = mod_down(RnsPoly(qpb, o1, True), L - drop, consume=True)
    return u0, u1


@lru_cache(maxsize=1024)
def _p_mod(qb: RnsBasis, special: RnsBasis) -> tuple[int, ...]:
    pp = special.product
    return tuple(pp % q for q in qb.primes)


def _fold_times_p(o, x: RnsPoly, qb: RnsBasis, special: RnsBasis) -> None:
    """``o[:L] += x * P`` in place (``o`` over ``Q_l + P``, evaluation form; ``x * P`` is 0
    modulo every special prime, so those rows are unchanged)."""
    if x.basis != qb or not x.is_ntt:
        raise ValueError(f"key switch: the folded polynomial must be over the {len(qb)} primes of "
                         f"the ciphertext, in evaluation form")
    K.addmulconst_inplace(None if o is None else o[:len(qb)], x.data, _p_mod(qb, special), qb)


def key_switch(ctx: CkksContext, c: RnsPoly, level: int, key: SwitchingKey | BasisKey,
               galois: int | None = None, *, fold=None, rescale: bool = False, **info):
    """Switch ``c`` (decrypting under ``s'``; if ``galois`` is given, ``c`` is first mapped by
    ``X -> X^galois``) to ``(u0, u1)`` with ``u0 + u1 s ~ c s'``.

    ``fold``: ``(x0, x1)`` over ``Q_level`` (evaluation form), added as ``x * P`` before the
    ModDown, which then returns ``x + round(ks / P)``: the same integers as adding ``x``
    afterwards (``x * P`` vanishes modulo ``P``), and what a fused rescale needs.
    ``rescale``: the ModDown also divides by the primes of the top group
    (``params.q_groups[level]``) and drops them, so ``(u0, u1)`` is at ``level - 1``:
    ``round((x P + ks) / (P q_top))``, one division in place of the ModDown and a rescale,
    giving the same integers as the two (:meth:`~.evaluator.Evaluator.relinearize` has the
    argument); with ``fold`` it is a relinearise-and-rescale whose rescale costs no
    transforms of its own.
    ``info``: extra fields of the ``keyswitch`` trace event (e.g. ``encapsulation=True``).
    """
    p = ctx.params
    rows = key_rows(ctx, key, level)
    if rescale and level < 1:
        raise LevelError(f"key switch: no level left to rescale (level {level})")
    out_primes = len(c.basis) - (len(p.q_groups[level]) if rescale else 0)
    method = "hybrid" if isinstance(key, BasisKey) else ctx.key_switching
    with trace.op("keyswitch", n=p.n, primes_in=len(c.basis), primes_out=out_primes,
                  level_in=level, level_out=level - bool(rescale),
                  **_klss_info(ctx, method, level, rows), **info):
        ext = decompose(ctx, c, level, rows.special, rows.digits, method=method)
        return _apply(ctx, ext, level, rows, galois, fold, rescale)


def _klss_info(ctx: CkksContext, how, level: int, rows: KeyRows) -> dict:
    """Trace info of a KLSS key switch (``how``: the method name, or the raised digits):
    ``klss_groups`` and ``klss_aux``, what its key holds per digit and half (groups of
    ``Q_level + special`` times the primes of ``T``); ``{}`` for a hybrid one."""
    if not ((isinstance(how, str) and how == "klss") or isinstance(how, klss.KlssDigits)):
        return {}
    rows_qp = len(ctx.q_basis(level)) + len(rows.special)
    return {"klss_groups": len(klss.group_ranges(rows_qp, ctx.klss_group)),
            "klss_aux": len(ctx.klss_aux)}


def decompose_for(ctx: CkksContext, c: RnsPoly, level: int, keys) -> dict:
    """One :func:`decompose` of ``c`` per distinct special basis among ``keys`` (hoisting
    across keys with different special primes): ``{special basis: digits}``. Keys with the
    same special primes share one decomposition."""
    out = {}
    for key in keys:
        rows = key_rows(ctx, key, level)
        if rows.special not in out:
            out[rows.special] = decompose(ctx, c, level, rows.special, rows.digits)
    return out


def _raised_for(ext, rows: KeyRows):
    """The decomposition in ``ext`` for ``rows``: ``ext`` itself, or its entry for the key's
    special basis when it is a :func:`decompose_for` dict."""
    return ext[rows.special] if isinstance(ext, dict) else ext


def switch_decomposed(ctx: CkksContext, ext, level: int, key: SwitchingKey | BasisKey,
                      galois: int | None = None):
    """A hoisted key switch: :func:`apply_key` of a shared decomposition ``ext`` (or of
    the entry for the key's special primes of a :func:`decompose_for` dict) inside its
    own ``keyswitch`` trace event (its ``modup`` is the shared one, outside; the event
    records no output primes or level, as hoisted key switches always have, and the key's
    ``digits`` in its ``info``, since a hoisted group with keys of different special primes
    holds one ``modup`` per basis: :func:`decompose_for`)."""
    rows = key_rows(ctx, key, level)
    ext = _raised_for(ext, rows)
    with trace.op("keyswitch", n=ctx.params.n, primes_in=len(ctx.q_basis(level)), level_in=level,
                  digits=len(rows.digits), **_klss_info(ctx, ext, level, rows)):
        return _apply(ctx, ext, level, rows, galois)


def switch_raised(ctx: CkksContext, ext, level: int, key: SwitchingKey, galois: int | None = None,
                  add0: RnsPoly | None = None):
    """A key switch that stops before its ModDown (double hoisting): the inner product of
    the raised digits ``ext`` (:func:`decompose`, made outside: hoisted; or a
    :func:`decompose_for` dict, of which the entry for the key's special primes) with ``key``, after
    the automorphism ``galois`` if given, returned as ``(o0, o1)`` over ``Q_level + P``
    (evaluation form) with ``o0 + o1 s ~ P (add0 + c s')``; ``add0`` (over ``Q_level``,
    evaluation form; default 0) is folded in as ``add0 * P``.

    The trace event is a ``keyswitch`` with no ``moddown``; its ``info`` records the special
    primes the key is raised to (``special``) and ``raised=True``."""
    rows = key_rows(ctx, key, level)
    qb = ctx.q_basis(level)
    ext = _raised_for(ext, rows)
    with trace.op("keyswitch", n=ctx.params.n, primes_in=len(qb), level_in=level,
                  special=len(rows.special), raised=True, **_klss_info(ctx, ext, level, rows)) as ev:
        o0, o1 = _apply(ctx, ext, level, rows, galois, lower=False)
        if add0 is not None:
            _fold_times_p(o0.data, add0, qb, rows.special)
        ev.set_out(primes=len(o0.basis), level=level)
        return o0, o1
