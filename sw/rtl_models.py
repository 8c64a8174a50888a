"""Golden models of the key-switching units of ``hw``: elementwise, basis conversion, automorphism.

Like :mod:`sw.modred` for the multipliers, every model here computes what the
corresponding hardware computes, stage by stage (same constants, same lazy ranges, same
reductions at the same places), so register traces can be compared with the
``intermediates``, and the final residues with the software kernels:

* :func:`elementwise_model` -- :class:`hw.elementwise.ElementwiseUnit`: the product
  ``a*b mod q`` by the chosen multiplier (:mod:`sw.modred`), then one canonical add or
  subtract of ``c``. Final values equal :func:`sw.ntt.pointwise_mul_add` (``c + a*b``),
  :func:`sw.ntt.pointwise_add` and :func:`sw.ntt.pointwise_sub`.
* :func:`bconv_model` -- :class:`hw.bconv.BconvUnit`: ``t_i = x_i * qhat_inv_i mod q_i``
  (chosen multiplier), an exact (unreduced) sum ``acc_j = sum_i t_i * qhat_mod_p[i][j]``
  of ``acc_bits(j)`` bits, one Barrett reduction of that width per destination prime
  (:func:`wide_barrett_reduce`). Final values equal :func:`sw.kernels.bconv.bconv` with
  ``exact=False`` (the fast conversion ModUp uses).
* :func:`automorphism_destinations`, :func:`automorphism_model` --
  :class:`hw.automorphism.AutomorphismUnit`: where each input coefficient goes and whether
  it is negated; final values equal :func:`sw.ring.kernels.automorphism`.
"""
from __future__ import annotations

from dataclasses import dataclass

from .kernels.bconv import bconv_constants
from .modred import barrett_mul, check_modulus, montgomery_mul, shoup_mul, to_montgomery
from .ntt_tables import bit_reverse, shoup

__all__ = [
    "ELEMENTWISE_OPS", "elementwise_model", "multiplier_product",
    "WideBarrettParams", "wide_barrett_params", "wide_barrett_reduce",
    "bconv_acc_bits", "bconv_model", "bconv_model_rows",
    "AUTOMORPHISM_ORDERS", "automorphism_destinations", "automorphism_model",
]

MULTIPLIER_NAMES = ("barrett", "montgomery", "shoup")


def _check_multiplier(multiplier: str) -> str:
    if not isinstance(multiplier, str) or multiplier not in MULTIPLIER_NAMES:
        raise ValueError(f"multiplier={multiplier!r} must be one of {sorted(MULTIPLIER_NAMES)}")
    return multiplier


def multiplier_product(a: int, c: int, q: int, width: int, multiplier: str):
    """``(a*c mod q, intermediates)`` as the datapath ``multiplier`` of :mod:`hw.modmul`
    computes it from the *stored* form of the plain constant ``c`` (Montgomery form for
    ``"montgomery"``, value and companion for ``"shoup"``)."""
    _check_multiplier(multiplier)
    if multiplier == "barrett":
        return barrett_mul(a, c, q, width, intermediates=True)
    if multiplier == "montgomery":
        return montgomery_mul(a, to_montgomery(c, q, width), q, width, intermediates=True)
    return shoup_mul(a, c, q, width, w_shoup=shoup(c, q, width), intermediates=True)


# ---------------------------------------------------------------------------------- elementwise

#: Operation codes of the elementwise unit (the ``op`` field of a beat).
ELEMENTWISE_OPS = {"mac": 0, "msub": 1, "add": 2, "sub": 3}


def elementwise_model(op: str, a: int, b: int, c: int, q: int, width: int,
                      multiplier: str = "barrett", *, intermediates: bool = False):
    """One lane of :class:`hw.elementwise.ElementwiseUnit`.

    ``op``: ``"mac"`` ``c + a*b``, ``"msub"`` ``c - a*b``, ``"add"`` ``c + a``, ``"sub"``
    ``c - a`` (mod ``q``; all operands canonical, ``b`` plain). The multiplier computes
    ``a*m`` with ``m = b`` (``mac``, ``msub``) or ``m = 1`` (``add``, ``sub``), then one
    canonical add or subtract. With ``intermediates`` returns ``(out, {"prod", "mul",
    "out"})`` where ``mul`` are the multiplier's stage values (:mod:`sw.modred`).
    """
    if op not in ELEMENTWISE_OPS:
        raise ValueError(f"op={op!r} must be one of {sorted(ELEMENTWISE_OPS)}")
    check_modulus(q, width)
    for name, v in (("a", a), ("b", b), ("c", c)):
        if not 0 <= int(v) < q:
            raise ValueError(f"operand {name}={v} must lie in [0, q={q})")
    m = b if op in ("mac", "msub") else 1
    prod, mul = multiplier_product(int(a), int(m), q, width, multiplier)
    out = (c - prod) % q if op in ("msub", "sub") else (c + prod) % q
    if intermediates:
        return out, {"prod": prod, "mul": mul, "out": out}
    return out


# --------------------------------------------------------------------------- wide Barrett

@dataclass(frozen=True)
class WideBarrettParams:
    """Barrett constants for inputs ``0 <= x < 2^acc_bits`` (Dhem's variant, one correction).

    With ``k = p.bit_length()``: ``shift1 = k - 2``, ``shift2 = acc_bits - k + 5``,
    ``mu = floor(2^(acc_bits + 3) / p)``; ``qhat = ((x >> shift1) * mu) >> shift2`` is
    ``floor(x/p)`` or one less (the estimate errs by less than
    ``2^(k-2)/p + x/2^(acc_bits+3) < 1``), so ``r = x - qhat*p`` is in ``[0, 2p)``
    (``r_bits = k + 1``). With ``acc_bits = 2k`` these are :func:`sw.modred.barrett_params`.
    """

    p: int
    acc_bits: int
    k: int
    mu: int
    shift1: int
    shift2: int
    r_bits: int


def wide_barrett_params(p: int, acc_bits: int) -> WideBarrettParams:
    """The :class:`WideBarrettParams` of the odd modulus ``p`` for ``acc_bits``-bit inputs."""
    k = p.bit_length()
    if p < 3 or p % 2 == 0:
        raise ValueError(f"modulus p={p} must be odd and >= 3")
    if acc_bits < 2 * k:
        raise ValueError(f"acc_bits={acc_bits} must be at least 2*bitlen(p)={2 * k}")
    return WideBarrettParams(p=p, acc_bits=acc_bits, k=k, mu=(1 << (acc_bits + 3)) // p,
                             shift1=k - 2, shift2=acc_bits - k + 5, r_bits=k + 1)


def wide_barrett_reduce(x: int, prm: WideBarrettParams, *, intermediates: bool = False):
    """``x mod p`` for ``0 <= x < 2^acc_bits``, as the hardware reduction stages compute it.

    With ``intermediates`` returns ``(out, {"x", "qhat", "r", "out"})`` (``r`` lazy in
    ``[0, 2p)``).
    """
    if not 0 <= x < (1 << prm.acc_bits):
        raise ValueError(f"x={x} must lie in [0, 2^{prm.acc_bits})")
    qhat = ((x >> prm.shift1) * prm.mu) >> prm.shift2
    r = (x - qhat * prm.p) & ((1 << prm.r_bits) - 1)
    out = r - prm.p if r >= prm.p else r
    if intermediates:
        return out, {"x": x, "qhat": qhat, "r": r, "out": out}
    return out


# ------------------------------------------------------------------------ basis conversion

def bconv_acc_bits(src, dst) -> tuple[int, ...]:
    """Accumulator width per destination prime: ``max(bitlen(sum_i (q_i-1)*c_ij), 2*bitlen(p_j))``
    with ``c_ij = qhat_mod_p[i][j]`` (the largest exact sum of the unit's products)."""
    _, cmat = bconv_constants(src, dst)
    out = []
    for j, p in enumerate(dst):
        bound = sum((q - 1) * cmat[i][j] for i, q in enumerate(src))
        out.append(max(bound.bit_length(), 2 * int(p).bit_length()))
    return tuple(out)


def bconv_model(x, src, dst, width: int, multiplier: str = "barrett", *,
                intermediates: bool = False):
    """One coefficient through :class:`hw.bconv.BconvUnit`: ``x`` its ``k`` source residues.

    Returns the ``l`` destination residues, or ``(out, {"t", "acc", "qhat", "r", "out"})``
    (lists over source / destination primes) with ``intermediates``:

    1. ``t_i = x_i * qhat_inv_i mod q_i`` by ``multiplier`` (canonical);
    2. ``acc_j = sum_i t_i * qhat_mod_p[i][j]``, exact, ``bconv_acc_bits(src, dst)[j]`` bits;
    3. ``out_j`` = :func:`wide_barrett_reduce` of ``acc_j`` (lazy ``r_j`` in ``[0, 2p_j)``).
    """
    _check_multiplier(multiplier)
    qhinv, cmat = bconv_constants(src, dst)
    if len(x) != len(src):
        raise ValueError(f"x has {len(x)} residues, expected {len(src)}")
    t = [multiplier_product(int(v), qhinv[i], src[i], width, multiplier)[0]
         for i, v in enumerate(x)]
    acc = [sum(t[i] * cmat[i][j] for i in range(len(src))) for j in range(len(dst))]
    bits = bconv_acc_bits(src, dst)
    stages = [wide_barrett_reduce(acc[j], wide_barrett_params(p, bits[j]), intermediates=True)[1]
              for j, p in enumerate(dst)]
    out = [s["out"] for s in stages]
    if intermediates:
        return out, {"t": t, "acc": acc, "qhat": [s["qhat"] for s in stages],
                     "r": [s["r"] for s in stages], "out": out}
    return out


def bconv_model_rows(x, src, dst, width: int, multiplier: str = "barrett") -> list[list[int]]:
    """:func:`bconv_model` over the columns of ``x`` (``k`` rows of ``n`` residues): ``l`` rows."""
    n = len(x[0])
    cols = [bconv_model([int(x[i][c]) for i in range(len(src))], src, dst, width, multiplier)
            for c in range(n)]
    return [[cols[c][j] for c in range(n)] for j in range(len(dst))]


# ---------------------------------------------------------------------------- automorphism

#: Orders of the row handled by the automorphism unit.
AUTOMORPHISM_ORDERS = ("coeff", "eval")


def _check_galois(n: int, galois: int) -> None:
    if isinstance(galois, bool) or not isinstance(galois, int) or galois % 2 == 0 \
            or not 0 < galois < 2 * n:
        raise ValueError(f"galois={galois!r} must be an odd integer in (0, 2n={2 * n})")


def automorphism_destinations(n: int, galois: int, order: str) -> list[tuple[int, bool]]:
    """``[(dst, negate)]`` per input index ``i`` of ``X -> X^galois`` on a row of ``n``.

    * ``"coeff"`` (coefficients in natural order): ``e = i*galois mod 2n``,
      ``dst = e mod n``, negated when ``e >= n``;
    * ``"eval"`` (the NTT's bit-reversed evaluation order, slot ``j`` holding
      ``a(psi^(2 bitrev(j) + 1))``): with ``h = galois^-1 mod 2n``,
      ``dst = bitrev((h*(2 bitrev(i) + 1) mod 2n - 1) / 2)`` and never negated. In the
      bit-reversed index ``u = bitrev(i)`` this is the affine map
      ``bitrev(dst) = h*u + (h - 1)/2 mod n``.
    """
    if order not in AUTOMORPHISM_ORDERS:
        raise ValueError(f"order={order!r} must be one of {AUTOMORPHISM_ORDERS}")
    _check_galois(n, galois)
    bits = n.bit_length() - 1
    out = []
    if order == "coeff":
        for i in range(n):
            e = i * galois % (2 * n)
            out.append((e % n, e >= n))
        return out
    h = pow(galois, -1, 2 * n)
    for i in range(n):
        v = (h * (2 * bit_reverse(i, bits) + 1) % (2 * n) - 1) // 2
        out.append((bit_reverse(v, bits), False))
    return out


def automorphism_model(row, q: int, galois: int, order: str) -> list[int]:
    """``X -> X^galois`` of one row (canonical residues mod ``q``) as the unit computes it:
    ``out[dst(i)] = -row[i] mod q`` if negated else ``row[i]``."""
    n = len(row)
    out = [0] * n
    for i, (d, neg) in enumerate(automorphism_destinations(n, galois, order)):
        v = int(row[i])
        out[d] = (q - v) % q if neg else v
    return out
