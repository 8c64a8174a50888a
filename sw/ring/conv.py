"""Modulus raise and drop between RNS bases (built on the fast basis conversion).

* :func:`mod_up`: extend a polynomial known modulo ``src`` to ``src + dst`` (the extension
  rows equal ``x + u Q_src`` with ``0 <= u < len(src)``: an approximate lift, exact
  modulo ``Q_src``; or, with ``exact=True``, the centred representative of ``x``).
* :func:`mod_down`: from ``Q P`` (rows ``Q`` then ``P``) to ``Q``: ``round(x / P)``, i.e.
  ``(x - [x]_P) * P^-1 mod Q`` with ``[x]_P`` the centered residue, converted exactly
  (float-corrected basis conversion), so the division error is at most 1/2.
* :func:`divide_by_top`: rescale: ``mod_down`` with ``P`` = the top ``k`` primes of the basis.

Inputs and outputs are in evaluation form unless stated; the conversions themselves run
on coefficient form (one INTT of the converted rows, one NTT of the produced rows).
"""
from __future__ import annotations

from functools import lru_cache

from . import kernels as K
from .basis import RnsBasis
from .kernels import BasisConverter
from .poly import RnsPoly


@lru_cache(maxsize=4096)
def _inv_product(p_basis: RnsBasis, q_basis: RnsBasis) -> tuple[int, ...]:
    """``P^-1 mod q`` for every prime of ``q_basis``."""
    pp = p_basis.product
    return tuple(pow(pp % q, -1, q) for q in q_basis.primes)


def mod_up(x: RnsPoly, dst: RnsBasis, exact: bool = False) -> RnsPoly:
    """Extend ``x`` (basis ``src``) to the basis ``src + dst``; output in the form of ``x``.

    If ``x`` is in evaluation form, its rows are reused as they are and only the new rows
    are converted (INTT of ``src``, BConv ``src -> dst``, NTT of ``dst``). ``exact=True``:
    the new rows hold the centred representative of ``x`` mod ``Q_src`` (an exact lift, as
    bootstrapping's ModRaise needs) instead of ``x + u Q_src``.
    """
    src = x.basis
    coeff = x.to_coeff()
    conv = BasisConverter.get(src, dst)
    ext = K.bconv(coeff.data, conv, exact=exact)
    new = RnsPoly(dst, K.ntt(ext, dst, inplace=True) if x.is_ntt else ext, x.is_ntt)
    return RnsPoly(src + dst, K.concat_rows([x.data, new.data]), x.is_ntt)


def mod_down(x: RnsPoly, q_count: int, consume: bool = False) -> RnsPoly:
    """Divide by ``P`` = the product of rows ``[q_count:]`` and drop those rows.

    ``x`` in evaluation or coefficient form; the result keeps the form. Returns
    ``(x - [x]_P) / P = round(x / P)`` modulo ``Q`` = rows ``[:q_count]``, where ``[x]_P`` is
    the centered residue of ``x`` mod ``P`` (exact basis conversion). ``consume=True``: the
    caller gives up ``x.data`` (its ``P`` rows are transformed in place).
    """
    b = x.basis
    q_basis = b.sub(0, q_count)
    p_basis = b.sub(q_count)
    p_rows = K.take_rows(x.data, q_count, len(b))
    if x.is_ntt:
        p_rows = K.intt(p_rows, p_basis, inplace=consume)
    conv = BasisConverter.get(p_basis, q_basis)
    t = K.bconv(p_rows, conv, exact=True)
    if x.is_ntt:
        t = K.ntt(t, q_basis, inplace=True)
    p_inv = _inv_product(p_basis, q_basis)
    xq = K.take_rows(x.data, 0, q_count)
    return RnsPoly(q_basis, K.submulconst(xq, t, p_inv, q_basis), x.is_ntt)


def divide_by_top(x: RnsPoly, k: int) -> RnsPoly:
    """Rescale: divide by the product of the top ``k`` primes and drop them."""
    if not 1 <= k < len(x.basis):
        raise ValueError(f"divide_by_top: k={k} must be in [1, {len(x.basis) - 1}]")
    return mod_down(x, len(x.basis) - k)
