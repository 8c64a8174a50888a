"""Homomorphic evaluation of high-degree polynomials with minimal depth and exact scales.

A :class:`Polynomial` is a coefficient vector in the Chebyshev basis on an interval
``[a, b]`` (``p(x) = sum c_i T_i(alpha x + beta)``, see :mod:`sw.circuits.chebyshev`)
or in the power basis (``p(x) = sum c_i x^i``). :class:`PolynomialEvaluator` evaluates
it on a CKKS ciphertext with the evaluator of :mod:`sw.ckks` (``docs/ckks-api.md``).

Algorithm (baby-step giant-step, after Bossuat et al., Eurocrypt 2021, Alg. 2)
------------------------------------------------------------------------------
1. *Scaling step* (Chebyshev basis with ``[a, b] != [-1, 1]`` only):
   ``T_1 = alpha * x + beta`` by one constant multiplication and one rescale.
2. *Power basis.* ``T_i`` (or ``x^i``) is produced on demand, with depth exactly
   ``ceil(log2 i)``: ``T_{2^k} = 2 T_{2^(k-1)}^2 - 1`` and, for ``2^k < i < 2^(k+1)``,
   ``T_i = 2 T_{2^k} T_{i-2^k} - T_{2^(k+1)-i}`` (power basis: ``x^i = x^{2^k} x^{i-2^k}``).
   Only the powers a polynomial actually uses are computed, so an odd polynomial only
   ever computes odd powers and the powers of two.
3. *Giant steps.* With ``m = ceil(log2(d+1))`` and baby-step bound ``2^l``
   (``l = ceil(m/2)``), the polynomial is split recursively,
   ``p = q * T_{2^k} + r`` (:func:`~sw.circuits.chebyshev.chebyshev_split`),
   ``2^k`` the largest power of two ``<= deg p``, until a piece can be evaluated as a
   *leaf* ``sum c_i T_i`` over available powers (``i <= 2^l`` or ``i`` a power of two)
   within its level budget. The leading (tightest) branch is split further than the
   others, which keeps the total depth at the minimum.

Depth and levels (stated precisely; the tests check it)
-------------------------------------------------------
For a polynomial of degree ``d >= 1`` evaluated on a ciphertext at level ``L``:

* ``depth = ceil(log2(d + 1)) + s`` where ``s = 1`` for the Chebyshev scaling step
  (interval other than ``[-1, 1]``) and ``s = 0`` otherwise;
* the result is at level ``L - depth`` (exactly ``depth`` rescales are consumed;
  a composite level counts as one level);
* the evaluation needs ``L >= depth``, otherwise :class:`PolynomialDepthError` is raised
  naming the degree, the depth needed and the levels available.

A leaf ``sum c_i T_i`` costs one level (its constant products are accumulated at a
common scale and rescaled once); a split costs one level for the product with
``T_{2^k}``. Relinearisation and rescaling are lazy: a split's product stays at degree 2
and its remainder (leaf or further split) is summed into it before one relinearisation
with the rescale fused, so a chain ``q T_{2^k} + (q' T_{2^k'} + r')`` pays one key switch,
not two. Induction on ``d`` shows every piece of degree ``< 2^b`` fits budget ``b``.

Scale management ("scale-invariant" evaluation, as in Lattigo)
-------------------------------------------------------------
Every piece is evaluated *for a requested output level and scale*. A leaf at output
``(level, scale)`` accumulates ``c_i * T_i`` at level ``level + 1`` with the constants
encoded at ``scale * level_scale(level + 1) / T_i.scale`` and rescales once, so it lands
on ``scale`` exactly (up to float rounding, far inside ``params.scale_rtol``). A split
asks its quotient for scale ``scale * level_scale(level + 1) / T_{2^k}.scale``, so the
product with ``T_{2^k}`` also lands exactly on ``scale``. The result therefore has the
*target scale* (default: the input ciphertext's scale) regardless of how far the
primes are from powers of two. The powers themselves are steered towards each level's
natural scale ``level_scale(level)`` by exact integer lifts (free: no level), which makes
the evaluation work across single- and double-prime (composite) levels in the
single -> composite direction; crossing from composite to single-prime levels inside
the power basis is refused (:class:`PolynomialScaleError`).

Numerical range: the Chebyshev basis needs ``alpha x + beta`` in ``[-1, 1]`` (inputs in
``[a, b]``); outside it ``|T_i|`` grows like ``|t|^i`` and the result is meaningless.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Callable, Literal

import numpy as np

from .chebyshev import (affine_map, chebyshev_eval, chebyshev_interpolate, chebyshev_split,
                        min_depth, power_split)

__all__ = ["Polynomial", "PolynomialEvaluator", "PolynomialDepthError", "PolynomialScaleError",
           "evaluate_polynomial"]

Basis = Literal["chebyshev", "power"]

# A power's pre-rescale scale may exceed the level's natural scale by at most this factor
# before the evaluation is refused (beyond it the next squaring outgrows the modulus).
_MAX_SCALE_EXCESS = 2.0 ** 24
# Constants are encoded at (accumulator scale / operand scale); below this the rounding of
# the constant would destroy precision, so the evaluation is refused instead.
_MIN_CONST_SCALE = 2.0 ** 10


class PolynomialDepthError(ValueError):
    """The ciphertext has fewer levels than the polynomial's depth."""


class PolynomialScaleError(ValueError):
    """The scale of an intermediate power cannot be kept in range at these levels."""


def _trim(c: np.ndarray) -> np.ndarray:
    """Drop trailing zero coefficients (keeps at least one entry)."""
    nz = np.flatnonzero(c)
    return c[: (nz[-1] + 1 if nz.size else 1)]


@dataclass(frozen=True)
class Polynomial:
    """A univariate polynomial to evaluate homomorphically.

    Parameters
    ----------
    coeffs : array_like of float or complex
        ``coeffs[i]`` multiplies ``T_i(alpha x + beta)`` (Chebyshev) or ``x^i`` (power).
        Trailing zeros are dropped; the degree is that of the last nonzero coefficient.
    basis : {"chebyshev", "power"}
        Basis of ``coeffs``.
    interval : (float, float)
        ``[a, b]`` of the Chebyshev basis (ignored, and must be ``(-1, 1)``, for the power
        basis). Inputs must lie in it.
    parity : {None, "odd", "even"}
        If given, the coefficients of the other parity are set to exactly zero (use it
        for odd/even functions on symmetric intervals, where interpolation leaves
        rounding-level noise there). Odd polynomials only compute odd powers.
    """

    coeffs: np.ndarray
    basis: Basis = "chebyshev"
    interval: tuple[float, float] = (-1.0, 1.0)
    parity: Literal["odd", "even"] | None = None

    def __post_init__(self) -> None:
        c = np.array(self.coeffs, dtype=np.complex128 if np.iscomplexobj(self.coeffs) else np.float64)
        if c.ndim != 1 or c.size == 0:
            raise ValueError(f"polynomial coefficients must be a non-empty 1-D array, got shape {c.shape}")
        if not np.all(np.isfinite(c)):
            raise ValueError("polynomial coefficients must be finite")
        if self.basis not in ("chebyshev", "power"):
            raise ValueError(f"basis={self.basis!r} must be 'chebyshev' or 'power'")
        a, b = (float(self.interval[0]), float(self.interval[1]))
        affine_map(a, b)
        if self.basis == "power" and (a, b) != (-1.0, 1.0):
            raise ValueError("the power basis takes no interval (it evaluates sum c_i x^i directly)")
        if self.parity not in (None, "odd", "even"):
            raise ValueError(f"parity={self.parity!r} must be None, 'odd' or 'even'")
        if self.parity == "odd":
            c[0::2] = 0
        elif self.parity == "even":
            c[1::2] = 0
        c = _trim(c)
        c.setflags(write=False)
        object.__setattr__(self, "coeffs", c)
        object.__setattr__(self, "interval", (a, b))

    # -- constructors ---------------------------------------------------------------
    @classmethod
    def from_function(cls, f: Callable[[np.ndarray], np.ndarray], degree: int,
                      interval: tuple[float, float] = (-1.0, 1.0),
                      parity: Literal["odd", "even"] | None = None) -> "Polynomial":
        """Chebyshev interpolant of ``f`` of degree ``degree`` on ``interval`` (see
        :func:`~sw.circuits.chebyshev.chebyshev_interpolate`)."""
        a, b = interval
        return cls(chebyshev_interpolate(f, degree, a, b), "chebyshev", (a, b), parity)

    @classmethod
    def power(cls, coeffs, parity: Literal["odd", "even"] | None = None) -> "Polynomial":
        """Power-basis polynomial ``sum coeffs[i] x^i``."""
        return cls(coeffs, "power", (-1.0, 1.0), parity)

    # -- properties -----------------------------------------------------------------
    @property
    def degree(self) -> int:
        """Degree (index of the last nonzero coefficient; 0 for a constant)."""
        return len(self.coeffs) - 1

    @property
    def needs_scaling_step(self) -> bool:
        """True when ``T_1 = alpha x + beta`` costs a level (Chebyshev, interval != [-1, 1])."""
        return self.basis == "chebyshev" and self.interval != (-1.0, 1.0)

    @property
    def depth(self) -> int:
        """Levels consumed: ``ceil(log2(degree + 1))`` plus 1 for the scaling step."""
        return min_depth(self.degree) + int(self.needs_scaling_step)

    @property
    def is_odd(self) -> bool:
        """All even-index coefficients are exactly zero."""
        return bool(np.all(self.coeffs[0::2] == 0))

    def __call__(self, x: np.ndarray) -> np.ndarray:
        """Plaintext reference value at ``x`` (NumPy)."""
        x = np.asarray(x)
        if self.basis == "power":
            return np.polynomial.polynomial.polyval(x, self.coeffs)
        return chebyshev_eval(self.coeffs, x, *self.interval)


@dataclass
class EvaluationStats:
    """Operation counts of the last evaluation (nonscalar = ciphertext-ciphertext products)."""

    nonscalar_mults: int = 0
    const_mults: int = 0
    rescales: int = 0
    relinearisations: int = 0
    powers: list[int] = field(default_factory=list)
    depth: int = 0
    level_in: int = 0
    level_out: int = 0


class PolynomialEvaluator:
    """Evaluates :class:`Polynomial` objects on ciphertexts.

    Parameters
    ----------
    evaluator : sw.ckks.Evaluator
        Needs a relinearisation key. Methods used: ``mul, rescale, add, add_const,
        sub_const, mul_const(scale=...), mul_int, drop_to_level``.
    log_split : int, optional
        Baby-step bound ``2^log_split``; default ``ceil(m / 2)`` with
        ``m = ceil(log2(d+1))`` (about ``2 sqrt(d)`` nonscalar products in total).

    Attributes
    ----------
    stats : EvaluationStats
        Counts of the last :meth:`evaluate` call.
    """

    def __init__(self, evaluator: Any, *, log_split: int | None = None) -> None:
        self.ev = evaluator
        self.log_split = log_split
        self.stats = EvaluationStats()

    # -- public ---------------------------------------------------------------------
    def evaluate(self, ct: Any, poly: Polynomial, *, target_scale: float | None = None) -> Any:
        """Return an encryption of ``poly(x)`` for ``ct`` an encryption of ``x``.

        Parameters
        ----------
        ct : Ciphertext
            Degree-1 ciphertext at level ``L >= poly.depth``; slot values in the
            polynomial's interval.
        poly : Polynomial
            Degree ``>= 1``.
        target_scale : float, optional
            Scale of the result (default ``ct.scale``); any positive value the
            parameters can hold.

        Returns
        -------
        Ciphertext
            At level ``L - poly.depth`` and scale ``target_scale``.

        Raises
        ------
        PolynomialDepthError
            ``L < poly.depth``.
        PolynomialScaleError
            Intermediate scales out of range (composite -> single-prime crossing).
        """
        if poly.degree < 1:
            raise ValueError("evaluate: a constant polynomial has no ciphertext result; "
                             "use Evaluator.mul_const/add_const")
        level_in = int(ct.level)
        if level_in < poly.depth:
            extra = (" (+1 for the scaling step mapping [{:g}, {:g}] onto [-1, 1])"
                     .format(*poly.interval) if poly.needs_scaling_step else "")
            raise PolynomialDepthError(
                f"polynomial evaluation: degree {poly.degree} needs depth {poly.depth} "
                f"= ceil(log2({poly.degree}+1)) = {min_depth(poly.degree)}{extra}, "
                f"but the ciphertext has only {level_in} levels available (level {level_in})")
        self.params = ct.params
        self.basis = poly.basis
        self.stats = EvaluationStats(depth=poly.depth, level_in=level_in)
        target = float(ct.scale if target_scale is None else target_scale)
        if not (target > 0 and math.isfinite(target)):
            raise ValueError(f"evaluate: target_scale={target_scale!r} must be positive and finite")

        x = ct
        if poly.needs_scaling_step:
            x = self._scaling_step(ct, *affine_map(*poly.interval))
        self._L0 = int(x.level)
        self._powers: dict[int, Any] = {1: x}
        m = min_depth(poly.degree)
        ls = self.log_split if self.log_split is not None else max(1, (m + 1) // 2)
        self._baby = 1 << ls
        out_level = self._L0 - m
        res = self._eval(np.asarray(poly.coeffs), out_level, target)
        self.stats.powers = sorted(self._powers)
        self.stats.level_out = int(res.level)
        assert res.level == level_in - poly.depth, (res.level, level_in, poly.depth)
        self._powers = {}
        return res

    # -- scale helpers --------------------------------------------------------------
    def _q(self, level: int) -> float:
        """Modulus removed by the rescale that leaves ``level``."""
        return float(self.params.level_scale(level))

    def _natural(self, level: int) -> float | None:
        """Scale a ciphertext at ``level`` should carry to square cleanly (None at level 0)."""
        return self._q(level) if level >= 1 else None

    def _const_scale(self, acc_scale: float, operand_scale: float, what: str) -> float:
        s = acc_scale / operand_scale
        if s < _MIN_CONST_SCALE:
            raise PolynomialScaleError(
                f"polynomial evaluation: {what}: constant scale 2^{math.log2(s):.1f} is too small "
                f"(accumulator 2^{math.log2(acc_scale):.1f}, operand 2^{math.log2(operand_scale):.1f}); "
                "the target scale is too small for these levels")
        return s

    # -- steps ----------------------------------------------------------------------
    def _scaling_step(self, ct: Any, alpha: float, beta: float) -> Any:
        """``T_1 = alpha * x + beta`` landing on the natural scale of level ``L-1``."""
        ev, lvl = self.ev, int(ct.level)
        nat = self._natural(lvl - 1) or float(ct.scale)
        sigma = max(nat * self._q(lvl) / float(ct.scale), self._q(lvl))
        t = ev.mul_const(ct, alpha, scale=sigma)
        if beta != 0:
            t = ev.add_const(t, beta)
        self.stats.const_mults += 1
        self.stats.rescales += 1
        return ev.rescale(t)

    def _power(self, i: int) -> Any:
        """``T_i`` (or ``x^i``) at level ``L0 - ceil(log2 i)``, computed once."""
        if i in self._powers:
            return self._powers[i]
        ev = self.ev
        k = i.bit_length() - 1
        a = 1 << k
        if a == i:
            a = b = i // 2
        else:
            b = i - a
        ta, tb = self._power(a), self._power(b)
        lvl = min(int(ta.level), int(tb.level))
        ta, tb = ev.drop_to_level(ta, lvl), ev.drop_to_level(tb, lvl)
        # degree 2 until the end: the linear steps below act on the product's three parts,
        # then one relinearisation with its rescale fused into the ModDown
        p = ev.mul(ta, tb, relin=False)
        self.stats.nonscalar_mults += 1
        factor = 2 if self.basis == "chebyshev" else 1
        nat_next = self._natural(lvl - 1)
        lift = 1
        if nat_next is not None:
            want = nat_next * self._q(lvl)
            ratio = want / float(p.scale)
            if ratio >= 1.5:
                lift = int(round(ratio))
            elif ratio < 1.0 / _MAX_SCALE_EXCESS:
                raise PolynomialScaleError(
                    f"polynomial evaluation: power {i} at level {lvl - 1} would carry scale "
                    f"2^{math.log2(float(p.scale) / self._q(lvl)):.1f}, far above the level's natural "
                    f"scale 2^{math.log2(nat_next):.1f} (composite -> single-prime levels inside the "
                    "power basis); evaluate on composite levels only, or start lower")
        if lift > 1:
            # integer factor * lift, encoded exactly at scale `lift`: free, exact scale bookkeeping
            p = ev.mul_const(p, factor, scale=float(lift))
        elif factor != 1:
            p = ev.mul_int(p, factor)
        if self.basis == "chebyshev":
            r = a - b
            if r == 0:
                p = ev.sub_const(p, 1.0)
            else:
                tr = ev.drop_to_level(self._power(r), lvl)
                sigma = self._const_scale(float(p.scale), float(tr.scale), f"T_{i} correction")
                p = ev.add(p, ev.mul_const(tr, -1.0, scale=sigma))
                self.stats.const_mults += 1
        out = ev.relinearize(p, rescale=True)
        self.stats.rescales += 1
        self.stats.relinearisations += 1
        self._powers[i] = out
        return out

    def _power_level(self, i: int) -> int:
        return self._L0 - min_depth(i - 1) if i > 1 else self._L0  # ceil(log2 i)

    def _leaf_ok(self, i: int) -> bool:
        return i <= self._baby or (i & (i - 1)) == 0

    def _eval(self, c: np.ndarray, out_level: int, out_scale: float) -> Any:
        """Encrypt-evaluate ``c`` (nonconstant) landing on ``(out_level, out_scale)``."""
        raw = self._eval_raw(c, out_level, out_scale)
        self.stats.rescales += 1
        if raw.degree == 2:
            self.stats.relinearisations += 1
            return self.ev.relinearize(raw, rescale=True)
        return self.ev.rescale(raw)

    def _eval_raw(self, c: np.ndarray, out_level: int, out_scale: float) -> Any:
        """``c`` evaluated one level above ``out_level``, before its rescale (lazy).

        The result is at level ``out_level + 1`` with scale ``out_scale * q`` (``q`` the
        modulus the rescale removes) and may have degree 2: a split's product ``q * T_n``
        is not relinearised, and its remainder's own products are summed into it the same
        way, so a chain of splits costs one relinearisation and one rescale instead of one
        of each per split (lazy relinearisation and rescaling).
        """
        c = _trim(c)
        nz = [int(i) for i in np.flatnonzero(c) if i > 0]
        assert nz, "constant pieces are handled by the caller"
        if all(self._leaf_ok(i) and self._power_level(i) >= out_level + 1 for i in nz):
            return self._leaf_raw(c, out_level, out_scale)
        d = len(c) - 1
        n = 1 << (d.bit_length() - 1)
        q, r = (chebyshev_split if self.basis == "chebyshev" else power_split)(c, n)
        q, r = _trim(q), _trim(r)
        lvl = out_level + 1
        if len(q) == 1:
            sparse = np.zeros(n + 1, dtype=c.dtype)
            sparse[n] = q[0]
            res = self._leaf_raw(sparse, out_level, out_scale)
        else:
            tn = self._power(n)
            qct = self._eval(q, lvl, out_scale * self._q(lvl) / float(tn.scale))
            res = self.ev.mul(qct, self.ev.drop_to_level(tn, lvl), relin=False)
            self.stats.nonscalar_mults += 1
        if np.any(r[1:] != 0):
            res = self.ev.add(res, self._eval_raw(r, out_level, out_scale))  # includes r[0]
        elif r[0] != 0:
            res = self.ev.add_const(res, r[0])
        return res

    def _leaf_raw(self, c: np.ndarray, out_level: int, out_scale: float) -> Any:
        """``sum_i c_i T_i`` accumulated at level ``out_level + 1``, not yet rescaled."""
        ev = self.ev
        lvl = out_level + 1
        acc_scale = out_scale * self._q(lvl)
        acc = None
        for i in np.flatnonzero(c):
            i = int(i)
            if i == 0:
                continue
            ti = ev.drop_to_level(self._power(i), lvl)
            sigma = self._const_scale(acc_scale, float(ti.scale), f"leaf coefficient {i}")
            term = ev.mul_const(ti, c[i], scale=sigma)
            self.stats.const_mults += 1
            acc = term if acc is None else ev.add(acc, term)
        if c[0] != 0:
            acc = ev.add_const(acc, c[0])
        return acc


def evaluate_polynomial(evaluator: Any, ct: Any, poly: Polynomial, *,
                        target_scale: float | None = None) -> Any:
    """Shorthand for ``PolynomialEvaluator(evaluator).evaluate(ct, poly, target_scale=...)``."""
    return PolynomialEvaluator(evaluator).evaluate(ct, poly, target_scale=target_scale)
