"""Golden models of the modular reductions computed by the ``hw`` multipliers.

Every function here computes *exactly* what the corresponding pipeline in
:mod:`hw.modmul` computes, stage by stage: same constants, same intermediate
values, same lazy (not yet fully reduced) range, same final correction. A
trace of the hardware registers can therefore be compared with the
``intermediates`` returned here, not only the final residue.

Three algorithms, each for a word width ``W`` in ``[16, 64]`` and an odd modulus
``3 <= q < 2^W``:

Barrett multiplication (:func:`barrett_mul`)
    Variant with one correction (Dhem's parameters ``alpha = k + 3``,
    ``beta = -2``). With ``k = q.bit_length()`` (so ``2^(k-1) <= q < 2^k``) and
    the constant ``mu = floor(2^(2k+3) / q)`` (``k + 4`` bits)::

        x    = a * b                         # stage 1, x < 2^(2k)
        qhat = ((x >> (k - 2)) * mu) >> (k + 5)  # stage 2, floor(x/q) - 1 <= qhat <= floor(x/q)
        r    = (x - qhat * q) mod 2^(k + 1)  # stage 3, lazy: 0 <= r < 2q
        out  = r - q if r >= q else r        # stage 4, canonical: 0 <= out < q

    The estimate is off by at most one for every ``x < 2^(2k)`` (so for any
    ``a, b < q``, and also for ``x`` up to ``2^(2k) - 1`` in general), hence the
    single conditional subtraction. ``r`` is computed on ``k + 1`` bits since
    ``2q < 2^(k+1)``.

Montgomery multiplication (:func:`montgomery_mul`)
    Classic REDC with ``R = 2^W`` and ``q' = -q^-1 mod 2^W``::

        x   = a * b                          # stage 1, x < q^2 < q * R
        m   = ((x mod R) * q') mod R         # stage 2
        t   = (x + m * q) >> W               # stage 3, lazy: 0 <= t < 2q
        out = t - q if t >= q else t         # stage 4, out = a*b*R^-1 mod q

    Operands are converted with :func:`to_montgomery` (``a*R mod q``) and back
    with :func:`from_montgomery` (``a*R^-1 mod q``). A constant operand such as
    an NTT twiddle ``w`` is stored in Montgomery form ``w*R mod q`` so that
    ``montgomery_mul(b, to_montgomery(w)) == b*w mod q`` (see
    :func:`twiddle_to_montgomery`).

Shoup multiplication by a precomputed constant (:func:`shoup_mul`)
    For a constant ``w < q`` with companion ``w' = floor(w * 2^W / q)``
    (:func:`sw.ntt_tables.shoup`)::

        qhat = (a * w') >> W                 # stage 1 (with p)
        p    = (a * w) mod 2^(W + 1)         # stage 1
        r    = (p - qhat * q) mod 2^(W + 1)  # stage 2, lazy: 0 <= r < 2q
        out  = r - q if r >= q else r        # stage 3

    Valid for any ``a < 2^W``. ``r`` is kept on ``W + 1`` bits because ``2q``
    may exceed ``2^W`` when ``q > 2^(W-1)``.

All scalar functions work on Python ``int`` and are exact at every width. The
``*_np`` variants are vectorised over ``numpy.uint64`` arrays for ``W <= 32``
and give identical results.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .ntt_tables import shoup as shoup_companion, shoup_array

__all__ = [
    "MIN_WIDTH", "MAX_WIDTH", "check_width", "check_modulus",
    "BarrettParams", "barrett_params", "barrett_reduce", "barrett_mul", "barrett_mul_np",
    "MontgomeryParams", "montgomery_params", "montgomery_reduce", "montgomery_mul",
    "montgomery_mul_np", "to_montgomery", "from_montgomery", "twiddle_to_montgomery",
    "shoup_mul", "shoup_mul_np", "shoup_companion",
]

#: Smallest and largest word width accepted by the models and the hardware generators.
MIN_WIDTH = 16
MAX_WIDTH = 64


def check_width(width: int) -> int:
    """Validate the word width ``W`` (an ``int`` in ``[16, 64]``) and return it.

    Raises
    ------
    ValueError
        Naming ``width`` when it is not an integer in ``[16, 64]``.
    """
    if not isinstance(width, int) or isinstance(width, bool):
        raise ValueError(f"width={width!r} must be an integer in [{MIN_WIDTH}, {MAX_WIDTH}]")
    if not MIN_WIDTH <= width <= MAX_WIDTH:
        raise ValueError(f"width={width} must lie in [{MIN_WIDTH}, {MAX_WIDTH}]")
    return width


def check_modulus(q: int, width: int) -> int:
    """Validate an odd modulus ``3 <= q < 2^width`` (and the width) and return ``q``.

    Primality is not required by the reductions themselves (only oddness, for the
    Montgomery inverse); the NTT generators check primality separately.

    Raises
    ------
    ValueError
        Naming ``width`` or ``q`` and the rule violated.
    """
    check_width(width)
    if not isinstance(q, int) or isinstance(q, bool):
        raise ValueError(f"modulus q={q!r} must be an integer")
    if q < 3:
        raise ValueError(f"modulus q={q} must be >= 3")
    if q % 2 == 0:
        raise ValueError(f"modulus q={q} must be odd")
    if q >= (1 << width):
        raise ValueError(
            f"modulus q={q} must be < 2^width = 2^{width} (q needs {q.bit_length()} bits)")
    return q


def _check_operand(name: str, v: int, bound: int, bound_text: str) -> int:
    if not isinstance(v, (int, np.integer)) or isinstance(v, bool):
        raise ValueError(f"operand {name}={v!r} must be an integer")
    v = int(v)
    if not 0 <= v < bound:
        raise ValueError(f"operand {name}={v} must lie in [0, {bound_text})")
    return v


def _csub(r: int, q: int) -> int:
    return r - q if r >= q else r


# --------------------------------------------------------------------------------------------
# Barrett
# --------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class BarrettParams:
    """Constants of the Barrett variant used by :class:`hw.modmul.BarrettMultiplier`.

    Attributes
    ----------
    q : odd modulus, ``3 <= q < 2^width``.
    width : word width ``W`` in bits.
    k : ``q.bit_length()``; ``2^(k-1) <= q < 2^k``.
    mu : ``floor(2^(2k+3) / q)``, an integer of ``k + 4`` bits.
    shift1 : ``k - 2``, right shift of the product before multiplying by ``mu``.
    shift2 : ``k + 5``, right shift giving the quotient estimate.
    r_bits : ``k + 1``, width on which the lazy remainder is computed.
    """

    q: int
    width: int
    k: int
    mu: int
    shift1: int
    shift2: int
    r_bits: int


def barrett_params(q: int, width: int) -> BarrettParams:
    """Compute the Barrett constants for modulus ``q`` and word width ``width``."""
    check_modulus(q, width)
    k = q.bit_length()
    return BarrettParams(q=q, width=width, k=k, mu=(1 << (2 * k + 3)) // q,
                         shift1=k - 2, shift2=k + 5, r_bits=k + 1)


def barrett_reduce(x: int, p: BarrettParams, *, intermediates: bool = False):
    """Reduce ``0 <= x < 2^(2k)`` modulo ``p.q`` exactly as the hardware stages 2..4 do.

    Returns the canonical residue in ``[0, q)``, or ``(residue, dict)`` with the
    keys ``x``, ``qhat``, ``r`` (lazy, in ``[0, 2q)``), ``out`` when
    ``intermediates`` is true.
    """
    x = _check_operand("x", x, 1 << (2 * p.k), f"2^{2 * p.k}")
    qhat = ((x >> p.shift1) * p.mu) >> p.shift2
    r = (x - qhat * p.q) & ((1 << p.r_bits) - 1)
    out = _csub(r, p.q)
    if intermediates:
        return out, {"x": x, "qhat": qhat, "r": r, "out": out}
    return out


def barrett_mul(a: int, b: int, q: int, width: int, *, intermediates: bool = False):
    """``a * b mod q`` for ``a, b`` in ``[0, q)``, computed as :class:`hw.modmul.BarrettMultiplier`.

    Parameters
    ----------
    a, b : operands in ``[0, q)``.
    q : odd modulus ``< 2^width``.
    width : word width in ``[16, 64]``.
    intermediates : also return the per-stage values ``{"x", "qhat", "r", "out"}``
        (``r`` is the lazy remainder in ``[0, 2q)``).
    """
    p = barrett_params(q, width)
    a = _check_operand("a", a, q, "q")
    b = _check_operand("b", b, q, "q")
    return barrett_reduce(a * b, p, intermediates=intermediates)


# --------------------------------------------------------------------------------------------
# Montgomery
# --------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class MontgomeryParams:
    """Constants of the Montgomery reduction used by :class:`hw.modmul.MontgomeryMultiplier`.

    Attributes
    ----------
    q : odd modulus, ``3 <= q < 2^width``.
    width : word width ``W``; ``R = 2^W``.
    q_prime : ``-q^-1 mod 2^W``.
    r_mod_q : ``R mod q`` (Montgomery form of 1).
    r2_mod_q : ``R^2 mod q`` (``montgomery_mul(a, r2_mod_q) = a*R mod q``).
    r_inv : ``R^-1 mod q``.
    """

    q: int
    width: int
    q_prime: int
    r_mod_q: int
    r2_mod_q: int
    r_inv: int

    @property
    def R(self) -> int:  # noqa: N802 - the textbook name
        return 1 << self.width


def montgomery_params(q: int, width: int) -> MontgomeryParams:
    """Compute the Montgomery constants for the odd modulus ``q`` and ``R = 2^width``."""
    check_modulus(q, width)
    R = 1 << width
    return MontgomeryParams(q=q, width=width, q_prime=(-pow(q, -1, R)) % R,
                            r_mod_q=R % q, r2_mod_q=R * R % q, r_inv=pow(R, -1, q))


def montgomery_reduce(x: int, p: MontgomeryParams, *, intermediates: bool = False):
    """REDC of ``0 <= x < q * 2^W`` exactly as hardware stages 2..4: returns ``x * R^-1 mod q``.

    With ``intermediates`` returns ``(out, {"x", "m", "t", "out"})``; ``t`` is lazy in ``[0, 2q)``.
    """
    x = _check_operand("x", x, p.q << p.width, "q*2^W")
    mask = (1 << p.width) - 1
    m = ((x & mask) * p.q_prime) & mask
    t = (x + m * p.q) >> p.width
    out = _csub(t, p.q)
    if intermediates:
        return out, {"x": x, "m": m, "t": t, "out": out}
    return out


def montgomery_mul(a: int, b: int, q: int, width: int, *, intermediates: bool = False):
    """``a * b * 2^-W mod q`` for ``a, b`` in ``[0, q)``, as :class:`hw.modmul.MontgomeryMultiplier`.

    With ``intermediates`` returns ``(out, {"x", "m", "t", "out"})``.
    """
    p = montgomery_params(q, width)
    a = _check_operand("a", a, q, "q")
    b = _check_operand("b", b, q, "q")
    return montgomery_reduce(a * b, p, intermediates=intermediates)


def to_montgomery(a: int, q: int, width: int) -> int:
    """Montgomery form ``a * 2^W mod q`` of ``a`` in ``[0, q)``."""
    check_modulus(q, width)
    a = _check_operand("a", a, q, "q")
    return (a << width) % q


def from_montgomery(a: int, q: int, width: int) -> int:
    """Plain value ``a * 2^-W mod q`` of the Montgomery-form ``a`` in ``[0, q)``.

    Equals ``montgomery_mul(a, 1, q, width)``.
    """
    check_modulus(q, width)
    a = _check_operand("a", a, q, "q")
    return a * pow(1 << width, -1, q) % q


def twiddle_to_montgomery(twiddles, q: int, width: int) -> tuple[int, ...]:
    """Montgomery forms ``w * 2^W mod q`` of a twiddle table (any iterable of ints in ``[0, q)``).

    The butterflies and NTT units built with ``multiplier="montgomery"`` expect their
    twiddles (and ROM contents) in this form.
    """
    return tuple(to_montgomery(int(w), q, width) for w in twiddles)


# --------------------------------------------------------------------------------------------
# Shoup
# --------------------------------------------------------------------------------------------

def shoup_mul(a: int, w: int, q: int, width: int, *, w_shoup: int | None = None,
              intermediates: bool = False):
    """``a * w mod q`` with the precomputed companion ``w' = floor(w*2^W/q)``, as :class:`hw.modmul.ShoupMultiplier`.

    Parameters
    ----------
    a : operand in ``[0, 2^W)`` (need not be reduced).
    w : constant in ``[0, q)``.
    w_shoup : its companion; computed with :func:`sw.ntt_tables.shoup` when omitted.
    intermediates : also return ``{"qhat", "p", "r", "out"}`` (``r`` lazy in ``[0, 2q)``).
    """
    check_modulus(q, width)
    a = _check_operand("a", a, 1 << width, f"2^{width}")
    w = _check_operand("w", w, q, "q")
    if w_shoup is None:
        w_shoup = shoup_companion(w, q, width)
    elif int(w_shoup) != shoup_companion(w, q, width):
        raise ValueError(f"w_shoup={w_shoup} is not floor(w*2^{width}/q) for w={w}, q={q}")
    mask = (1 << (width + 1)) - 1
    qhat = (a * int(w_shoup)) >> width
    p = (a * w) & mask
    r = (p - qhat * q) & mask
    out = _csub(r, q)
    if intermediates:
        return out, {"qhat": qhat, "p": p, "r": r, "out": out}
    return out


# --------------------------------------------------------------------------------------------
# NumPy vectorised variants (W <= 32)
# --------------------------------------------------------------------------------------------

_M32 = np.uint64(0xFFFFFFFF)


def _np_operand(name: str, v, bound: int) -> np.ndarray:
    arr = np.asarray(v)
    if arr.dtype.kind not in "ui":
        raise ValueError(f"operand {name} must be an integer array (got dtype {arr.dtype})")
    if arr.size and (int(arr.min()) < 0 or int(arr.max()) >= bound):
        raise ValueError(f"operand {name} has entries outside [0, {bound})")
    return arr.astype(np.uint64)


def _np_width(width: int) -> None:
    if width > 32:
        raise ValueError(f"width={width} must be <= 32 for the NumPy variants (use the int models)")


def _mul_wide(a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Full 128-bit product of two uint64 arrays as ``(hi, lo)`` uint64 arrays."""
    a_lo, a_hi = a & _M32, a >> np.uint64(32)
    b_lo, b_hi = b & _M32, b >> np.uint64(32)
    ll = a_lo * b_lo
    lh = a_lo * b_hi
    hl = a_hi * b_lo
    hh = a_hi * b_hi
    mid = (ll >> np.uint64(32)) + (lh & _M32) + (hl & _M32)
    lo = (ll & _M32) | ((mid & _M32) << np.uint64(32))
    hi = hh + (lh >> np.uint64(32)) + (hl >> np.uint64(32)) + (mid >> np.uint64(32))
    return hi, lo


def _shr_wide(hi: np.ndarray, lo: np.ndarray, s: int) -> np.ndarray:
    """``((hi << 64) | lo) >> s`` for ``0 < s < 64``, assuming the result fits 64 bits."""
    return (lo >> np.uint64(s)) | (hi << np.uint64(64 - s))


def barrett_mul_np(a, b, q: int, width: int) -> np.ndarray:
    """Vectorised :func:`barrett_mul` on arrays of operands in ``[0, q)`` (``width <= 32``); uint64."""
    p = barrett_params(q, width)
    _np_width(width)
    a = _np_operand("a", a, q)
    b = _np_operand("b", b, q)
    x = a * b                                            # < 2^64
    q1 = x >> np.uint64(p.shift1)                         # < 2^(k+2)
    hi, lo = _mul_wide(q1, np.full_like(q1, p.mu))        # < 2^(2k+6)
    qhat = _shr_wide(hi, lo, p.shift2)                    # < 2^k
    r = (x - qhat * np.uint64(q)) & np.uint64((1 << p.r_bits) - 1)
    return np.where(r >= np.uint64(q), r - np.uint64(q), r)


def montgomery_mul_np(a, b, q: int, width: int) -> np.ndarray:
    """Vectorised :func:`montgomery_mul` (``a*b*2^-W mod q``) for ``width <= 32``; uint64."""
    p = montgomery_params(q, width)
    _np_width(width)
    a = _np_operand("a", a, q)
    b = _np_operand("b", b, q)
    w = np.uint64(width)
    mask = np.uint64((1 << width) - 1)
    x = a * b
    m = ((x & mask) * np.uint64(p.q_prime)) & mask
    mq = m * np.uint64(q)
    # x + m*q may reach 2^65: add the halves separately. Their low parts sum to 0 or R.
    carry = ((x & mask) != 0).astype(np.uint64)
    t = (x >> w) + (mq >> w) + carry
    return np.where(t >= np.uint64(q), t - np.uint64(q), t)


def shoup_mul_np(a, w, q: int, width: int, w_shoup=None) -> np.ndarray:
    """Vectorised :func:`shoup_mul` (``a*w mod q``, ``a < 2^W``, ``w < q``) for ``width <= 32``."""
    check_modulus(q, width)
    _np_width(width)
    a = _np_operand("a", a, 1 << width)
    w = _np_operand("w", w, q)
    if w_shoup is None:
        w_shoup = shoup_array(w, q, width)
    else:
        w_shoup = _np_operand("w_shoup", w_shoup, 1 << width)
        if np.any(w_shoup != shoup_array(w, q, width)):
            raise ValueError(f"w_shoup is not floor(w*2^{width}/q) for every w")
    mask = np.uint64((1 << (width + 1)) - 1)
    qhat = (a * w_shoup) >> np.uint64(width)
    p = (a * w) & mask
    r = (p - qhat * np.uint64(q)) & mask
    return np.where(r >= np.uint64(q), r - np.uint64(q), r)
