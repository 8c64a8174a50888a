"""CKKS encoding: canonical embedding with the special FFT, full and sparse slots.

Slot ``j`` (``0 <= j < slots``) of a polynomial ``m`` is ``m(zeta^(5^j))`` with
``zeta = exp(i pi / n)``. For ``slots < n/2`` (sparse packing) the message polynomial is
``m(X) = m'(X^gap)``, ``gap = n / (2 slots)``, with ``m'`` of degree ``n' = 2 slots``
evaluated at ``xi^(5^j mod 2n')``, ``xi = exp(i pi / n')``; the ``n/2``-slot vector is the
``slots``-vector repeated, so rotations act on the ``slots``-vector.

Special FFT (O(n' log n'), vectorised): the values at all odd powers ``xi^(2k+1)`` are a
twisted length-``n'`` DFT, ``m(xi^(2k+1)) = sum_t (m_t xi^t) omega^(kt)``,
``omega = xi^2``; the slots are the entries ``k = (5^j mod 2n' - 1) / 2`` and their complex
conjugates sit at ``k' = (2n' - 5^j mod 2n' - 1) / 2``. Encoding fills both (Hermitian
symmetry makes ``m`` real), runs the inverse transform and untwists; decoding twists,
transforms and gathers. The transforms are numpy's pocketfft.

Integer conversion: ``round(m_t * scale)`` in float64 (53-bit mantissa; coefficients up to
``2^95``, split into 32-bit halves for the reduction mod each prime). Decoding lifts the
coefficients to centered integers with a balanced mixed-radix (Garner) CRT over the first
``min(L, 5)`` primes, evaluated in float64 (exact while ``|coefficient| < 2^53``, relative
error ``2^-53`` beyond), which is valid while ``|coefficient| < prod(those primes) / 2``.
"""
from __future__ import annotations

import math
from functools import lru_cache

import numpy as np

from .. import trace
from ..kernels.elementwise import to_rns
from ..modulus import modulus_arrays
from ..ring import RnsPoly
from ..ring import kernels as K
from .ciphertext import Plaintext
from .context import CkksContext
from .errors import DryRunError, NonFiniteError, ScaleError, SlotError

_U = np.uint64


@lru_cache(maxsize=64)
def _slot_index(slots: int):
    """(k, twist) for the ``slots``-slot transform of length ``n' = 2 slots``: slot ``j`` is
    the evaluation at ``xi^(e_j)``, ``e_j = 5^j mod 2 n' = 2 k_j + 1``."""
    n2 = 2 * slots
    e = np.array([pow(5, j, 2 * n2) for j in range(slots)], dtype=np.int64)
    k = (e - 1) // 2
    twist = np.exp(1j * np.pi * np.arange(n2) / n2)
    for a in (k, twist):
        a.setflags(write=False)
    return k, twist


@lru_cache(maxsize=64)
def _half_index(slots: int):
    """(a, tw) for :func:`slots_to_coeffs`: every ``e_j = 1 mod 4``, so ``a_j = k_j / 2``
    (:func:`_slot_index`) runs over ``0 .. slots-1`` once each; ``tw[t] = xi^-t / slots``."""
    a = _slot_index(slots)[0] // 2
    tw = np.exp(-1j * np.pi * np.arange(slots) / (2 * slots)) / slots
    for v in (a, tw):
        v.setflags(write=False)
    return a, tw


def slots_to_coeffs(z: np.ndarray, slots: int) -> np.ndarray:
    """Real coefficients ``m'`` (length ``2 slots``) with ``m'(xi^(5^j)) = z_j``.

    With ``c_t = m'_t + i m'_(t+slots)`` (``xi^(e slots) = i`` for every ``e = 1 mod 4``),
    ``z_j = sum_t c_t xi^(e_j t)``, so ``c_t = xi^-t / slots * sum_a w_a exp(-2 pi i a t /
    slots)`` with ``w_(a_j) = z_j``: one complex FFT of length ``slots`` (not ``2 slots``)."""
    a, tw = _half_index(slots)
    w = np.empty(slots, dtype=np.complex128)
    w[a] = z
    c = np.fft.fft(w)
    c *= tw
    out = np.empty(2 * slots)
    out[:slots] = c.real
    out[slots:] = c.imag
    return out


def coeffs_to_slots(m: np.ndarray, slots: int) -> np.ndarray:
    """Slots ``m'(xi^(5^j))`` of real coefficients ``m'`` (length ``2 slots``)."""
    k, twist = _slot_index(slots)
    n2 = 2 * slots
    v = np.fft.ifft(m * twist) * n2
    return v[k]


def float_to_rns(x: np.ndarray, primes: tuple[int, ...], op: str = "encode") -> np.ndarray:
    """Residues (uint64, ``(len(primes), len(x))``) of the integers ``round(x)`` (|x| < 2^95)."""
    x = np.rint(x)
    amax = float(np.max(np.abs(x))) if x.size else 0.0
    if amax >= 2.0 ** 95:
        raise ScaleError(f"{op}: coefficient magnitude 2^{math.log2(amax):.1f} exceeds 2^95")
    if amax < 2.0 ** 62:
        return to_rns(x.astype(np.int64), primes)
    qs = np.array(primes, dtype=np.int64)[:, None]
    hi = np.floor(x / 2.0 ** 32)
    lo = (x - hi * 2.0 ** 32).astype(np.int64)          # in [0, 2^32)
    hi = hi.astype(np.int64)                            # |hi| < 2^63
    two32 = modulus_arrays(tuple(primes)).r32.astype(np.int64)[:, None]
    r = np.mod(hi[None, :], qs) * two32 % qs
    return ((r + lo[None, :] % qs) % qs).astype(_U)


def rns_to_float(data: np.ndarray, primes: tuple[int, ...], max_primes: int = 5) -> np.ndarray:
    """Centered integer values (as float64) of coefficient-form residues, by balanced Garner CRT."""
    k = min(len(primes), max_primes)
    ps = [int(p) for p in primes[:k]]
    digits = []
    for i in range(k):
        p = ps[i]
        r = data[i].astype(np.int64)
        # value of the digits so far, mod p (Horner from the top digit, prod of ps[:j] mod p)
        acc = np.zeros_like(r)
        for j in range(i - 1, -1, -1):
            acc = (acc * (ps[j] % p) + np.mod(digits[j], p)) % p
        inv = pow(math.prod(ps[:i]) % p, -1, p) if i else 1
        t = np.mod(r - acc, p) * inv % p
        t = np.where(t > p // 2, t - p, t)
        digits.append(t)
    val = digits[-1].astype(np.float64)
    for j in range(k - 2, -1, -1):
        val = val * float(ps[j]) + digits[j].astype(np.float64)
    return val


class Encoder:
    """Encode complex vectors into plaintexts and decode them back (see module docstring)."""

    def __init__(self, ctx: CkksContext):
        self.ctx = ctx
        self.params = ctx.params

    # -- checks --------------------------------------------------------------------------
    def _check_scale(self, scale, op: str) -> float:
        if scale is None:
            return self.params.default_scale
        try:
            s = float(scale)
        except (TypeError, ValueError):
            raise ScaleError(f"{op}: scale={scale!r} is not a number") from None
        if not (math.isfinite(s) and s > 0):
            raise ScaleError(f"{op}: scale={scale!r} must be a positive finite number")
        return s

    def _values(self, values, slots, op: str) -> np.ndarray:
        try:
            z = np.asarray(values, dtype=np.complex128)
        except (TypeError, ValueError):
            raise NonFiniteError(f"{op}: values are not numeric") from None
        if z.ndim == 0:
            z = z.reshape(1)
        if z.ndim != 1:
            raise SlotError(f"{op}: values must be one-dimensional, got shape {z.shape}")
        if z.size > slots:
            raise SlotError(f"{op}: message of length {z.size} is longer than the slot count {slots}")
        if not np.all(np.isfinite(z)):
            bad = int(np.flatnonzero(~np.isfinite(z))[0])
            raise NonFiniteError(f"{op}: value at index {bad} is not finite ({z[bad]})")
        if z.size < slots:
            z = np.concatenate([z, np.zeros(slots - z.size, dtype=np.complex128)])
        return z

    # -- API -----------------------------------------------------------------------------
    def encode(self, values, *, level: int | None = None, scale: float | None = None,
               slots: int | None = None, special: bool = False) -> Plaintext:
        """Encode ``values`` (length <= ``slots``, zero-padded) at ``level`` and ``scale``.

        Defaults: ``level = max_level``, ``scale = params.default_scale``, ``slots = n/2``.
        ``special=True``: the plaintext is over ``Q_level + P`` (the special primes too), for
        the products of raised ciphertexts (:mod:`sw.ckks.raised`); the coefficients must still
        fit ``Q_level / 2``.
        Raises SlotError, NonFiniteError, ScaleError (coefficients beyond ``Q_level / 2``),
        LevelError.
        """
        p = self.params
        level = p.max_level if level is None else p.check_level(level, "encode")
        slots = self.ctx.check_slots(slots, "encode")
        scale = self._check_scale(scale, "encode")
        z = self._values(values, slots, "encode")
        qbasis = self.ctx.q_basis(level)
        basis = self.ctx.qp_basis(level) if special else qbasis
        with trace.op("encode", n=p.n, primes_in=len(basis), primes_out=len(basis),
                      level_in=level, level_out=level):
            if trace.is_dry_run():
                data = None
            else:
                m = slots_to_coeffs(z, slots) * scale
                amax = float(np.max(np.abs(m))) if m.size else 0.0
                log_q = qbasis.log_q
                if amax > 0 and math.log2(amax) >= log_q - 1:
                    raise ScaleError(f"encode: coefficient magnitude 2^{math.log2(amax):.1f} (scale "
                                     f"2^{math.log2(scale):.1f}) does not fit Q/2 = 2^{log_q - 1:.1f} "
                                     f"at level {level}")
                # m' lives in the sub-ring Z[X^gap], gap = n / (2 slots): transform only
                # its 2 slots coefficients (same words as the zero-filled polynomial's NTT)
                data = float_to_rns(m, basis.primes)
            poly = RnsPoly(basis, K.ntt_subring(data, basis), True)
        return Plaintext(poly, level, scale, slots, p)

    def encode_const(self, c, *, level: int, scale: float, slots: int | None = None) -> Plaintext:
        """The constant ``c`` in every slot: the polynomial ``round(Re c * scale) +
        round(Im c * scale) X^(n/2)`` (``X^(n/2)`` evaluates to ``i`` in every slot)."""
        p = self.params
        level = p.check_level(level, "encode_const")
        slots = self.ctx.check_slots(slots, "encode_const")
        scale = self._check_scale(scale, "encode_const")
        c = complex(c)
        if not (math.isfinite(c.real) and math.isfinite(c.imag)):
            raise NonFiniteError(f"encode_const: constant {c} is not finite")
        basis = self.ctx.q_basis(level)
        re = int(round(c.real * scale))
        im = int(round(c.imag * scale))
        for v in (re, im):
            if v and abs(v).bit_length() >= basis.log_q - 1:
                raise ScaleError(f"encode_const: |c * scale| = 2^{abs(v).bit_length()} does not fit "
                                 f"Q/2 = 2^{basis.log_q - 1:.1f} at level {level}")
        if trace.is_dry_run():
            return Plaintext(RnsPoly(basis, None, True), level, scale, slots, p)
        if im == 0:   # a constant polynomial is the same constant at every evaluation point
            data = np.repeat(np.array([re % q for q in basis.primes], dtype=_U)[:, None], p.n, axis=1)
            return Plaintext(RnsPoly(basis, data, True), level, scale, slots, p)
        data = np.zeros((len(basis), p.n), dtype=_U)
        for i, q in enumerate(basis.primes):
            data[i, 0] = re % q
            data[i, p.n // 2] = im % q
        return Plaintext(RnsPoly(basis, data, False).to_ntt(), level, scale, slots, p)

    def decode(self, pt: Plaintext) -> np.ndarray:
        """The ``pt.slots`` complex values of ``pt`` (complex128)."""
        self.ctx.check_same("decode", pt)
        if pt.poly.data is None:
            raise DryRunError("decode: plaintext is a dry-run placeholder (no data)")
        with trace.op("decode", n=self.params.n, primes_in=len(pt.poly.basis), level_in=pt.level):
            coeff = pt.poly.to_coeff()
        vals = rns_to_float(coeff.data, coeff.basis.primes)
        gap = self.params.n // (2 * pt.slots)
        m = vals[::gap] / pt.scale
        return coeffs_to_slots(m, pt.slots)
