"""RNS polynomials of ``Z_Q[X]/(X^n + 1)``.

An :class:`RnsPoly` holds a uint64 matrix ``data`` of shape ``(len(basis), n)``: row ``i``
is the polynomial modulo ``basis.primes[i]``, canonical residues in ``[0, q_i)``. The flag
``is_ntt`` tells the form: coefficient form (natural order of coefficients) or evaluation
form (the output order of :func:`sw.ntt.forward`: ``data[i, k] = a(psi_i^(2 bitrev(k)+1))``).
Products are defined only in evaluation form; additions need equal forms. ``data is None``
marks a shape-only placeholder made in a dry run (see :mod:`sw.trace`).

All methods return new polynomials; ``data`` arrays are shared read-only between
polynomials and never modified in place.
"""
from __future__ import annotations

import numpy as np

from ..kernels.elementwise import to_rns
from . import kernels as K
from .basis import RnsBasis

_U = np.uint64
_TO_RNS_MIN = 1 << 17   # smallest prime sw.kernels.elementwise.to_rns accepts


class RnsPoly:
    """Polynomial in RNS form (see module docstring)."""

    __slots__ = ("basis", "data", "is_ntt")

    def __init__(self, basis: RnsBasis, data, is_ntt: bool):
        if data is not None:
            if not isinstance(data, np.ndarray) or data.dtype != _U:
                raise TypeError(f"RnsPoly: data must be a uint64 ndarray, got {type(data).__name__}"
                                f"{'' if not isinstance(data, np.ndarray) else ' of ' + str(data.dtype)}")
            if data.shape != (len(basis), basis.n):
                raise ValueError(f"RnsPoly: data shape {data.shape} != (primes={len(basis)}, n={basis.n})")
        self.basis = basis
        self.data = data
        self.is_ntt = bool(is_ntt)

    # -- construction ---------------------------------------------------------------------
    @classmethod
    def zeros(cls, basis: RnsBasis, is_ntt: bool = True, placeholder: bool = False) -> "RnsPoly":
        return cls(basis, None if placeholder else np.zeros((len(basis), basis.n), _U), is_ntt)

    @classmethod
    def from_signed(cls, basis: RnsBasis, coeffs) -> "RnsPoly":
        """Coefficient-form polynomial from small signed integer coefficients (int64, length n)."""
        if coeffs is None:
            return cls(basis, None, False)
        c = np.asarray(coeffs, dtype=np.int64)
        if c.shape != (basis.n,):
            raise ValueError(f"RnsPoly.from_signed: {c.shape[0] if c.ndim == 1 else c.shape} "
                             f"coefficients for degree n={basis.n}")
        if min(basis.primes) >= _TO_RNS_MIN:
            data = to_rns(c, basis.primes)
        else:   # primes below 2^17 (not used by the CKKS parameter sets)
            data = np.mod(c[None, :], basis.q.astype(np.int64)[:, None]).astype(_U)
        return cls(basis, data, False)

    @property
    def n(self) -> int:
        return self.basis.n

    @property
    def primes(self) -> tuple[int, ...]:
        return self.basis.primes

    @property
    def is_placeholder(self) -> bool:
        return self.data is None

    def __repr__(self) -> str:
        form = "eval" if self.is_ntt else "coeff"
        return f"RnsPoly(n={self.n}, primes={len(self.basis)}, {form}{', placeholder' if self.data is None else ''})"

    # -- checks --------------------------------------------------------------------------
    def _same(self, other: "RnsPoly", op: str) -> None:
        if not isinstance(other, RnsPoly):
            raise TypeError(f"{op}: expected RnsPoly, got {type(other).__name__}")
        if other.basis != self.basis:
            raise ValueError(f"{op}: bases differ ({len(self.basis)} vs {len(other.basis)} primes, "
                             f"n={self.n} vs n={other.n})")
        if other.is_ntt != self.is_ntt:
            raise ValueError(f"{op}: forms differ (is_ntt={self.is_ntt} vs {other.is_ntt})")

    # -- forms ---------------------------------------------------------------------------
    def to_ntt(self) -> "RnsPoly":
        """Evaluation form (a no-op copy-free return if already there)."""
        return self if self.is_ntt else RnsPoly(self.basis, K.ntt(self.data, self.basis), True)

    def to_coeff(self) -> "RnsPoly":
        """Coefficient form."""
        return RnsPoly(self.basis, K.intt(self.data, self.basis), False) if self.is_ntt else self

    # -- arithmetic ----------------------------------------------------------------------
    def add(self, other: "RnsPoly") -> "RnsPoly":
        self._same(other, "RnsPoly.add")
        return RnsPoly(self.basis, K.add(self.data, other.data, self.basis), self.is_ntt)

    def sub(self, other: "RnsPoly") -> "RnsPoly":
        self._same(other, "RnsPoly.sub")
        return RnsPoly(self.basis, K.sub(self.data, other.data, self.basis), self.is_ntt)

    def neg(self) -> "RnsPoly":
        return RnsPoly(self.basis, K.neg(self.data, self.basis), self.is_ntt)

    def mul(self, other: "RnsPoly") -> "RnsPoly":
        """Ring product (both operands in evaluation form)."""
        self._same(other, "RnsPoly.mul")
        if not self.is_ntt:
            raise ValueError("RnsPoly.mul: operands must be in evaluation (NTT) form")
        return RnsPoly(self.basis, K.mul(self.data, other.data, self.basis), True)

    def mul_add_inplace(self, a: "RnsPoly", b: "RnsPoly") -> "RnsPoly":
        """``self += a * b`` in place (evaluation form; one pass); returns ``self``. Only for
        a polynomial whose rows nothing else shares (e.g. a fresh product)."""
        self._same(a, "RnsPoly.mul_add_inplace")
        self._same(b, "RnsPoly.mul_add_inplace")
        if not self.is_ntt:
            raise ValueError("RnsPoly.mul_add_inplace: operands must be in evaluation (NTT) form")
        K.mul_add_inplace(self.data, a.data, b.data, self.basis)
        return self

    def mul_scalar(self, consts) -> "RnsPoly":
        """Multiply row ``i`` by ``consts[i]`` (Python ints; a single int applies to every row)."""
        if isinstance(consts, (int, np.integer)):
            consts = [int(consts)] * len(self.basis)
        if len(consts) != len(self.basis):
            raise ValueError(f"RnsPoly.mul_scalar: {len(consts)} constants for {len(self.basis)} primes")
        return RnsPoly(self.basis, K.mulconst(self.data, consts, self.basis), self.is_ntt)

    def automorphism(self, galois: int) -> "RnsPoly":
        """``a(X) -> a(X^galois)`` (either form)."""
        return RnsPoly(self.basis, K.automorphism(self.data, self.basis, galois, self.is_ntt), self.is_ntt)

    # -- moduli --------------------------------------------------------------------------
    def keep_primes(self, count: int) -> "RnsPoly":
        """The first ``count`` rows (modulus drop; valid in either form)."""
        if not 1 <= count <= len(self.basis):
            raise ValueError(f"RnsPoly.keep_primes: count={count} not in [1, {len(self.basis)}]")
        if count == len(self.basis):
            return self
        return RnsPoly(self.basis.sub(0, count), K.take_rows(self.data, 0, count), self.is_ntt)

    def select(self, basis: RnsBasis) -> "RnsPoly":
        """The rows of the primes of ``basis`` (a subset of this basis, any order)."""
        if basis == self.basis:
            return self
        idx = [self.basis.index(q) for q in basis.primes]
        data = None if self.data is None else self.data[idx]
        return RnsPoly(basis, data, self.is_ntt)

    def copy(self) -> "RnsPoly":
        return RnsPoly(self.basis, None if self.data is None else self.data.copy(), self.is_ntt)

    def centered(self) -> np.ndarray:
        """Centered coefficients as Python-int object array (exact CRT; slow, for tests)."""
        c = self.to_coeff()
        Q = self.basis.product
        out = np.zeros(self.n, dtype=object)
        for i, q in enumerate(self.basis.primes):
            h = Q // q
            out = out + c.data[i].astype(object) * (h * pow(h % q, -1, q))
        out = out % Q
        return np.where(out > Q // 2, out - Q, out)
