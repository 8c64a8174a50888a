"""Homomorphic modular reduction (EvalMod): scaled cosine + double-angle steps.

After coefficient-to-slot every slot holds ``x = t / (K + 1)`` with ``t = I + m / q0``,
``I`` an integer with ``|I| <= K`` (the ModRaise overflow) and ``|m / q0| <= 2^-r`` small
(``r``: log2 of the message ratio). Reduction uses (Han-Ki 2020; Bossuat et al. 2021)

    sin(2 pi t) = cos(2 pi (t - 1/4)),    cos(2a) = 2 cos(a)^2 - 1,

so a Chebyshev interpolant ``f(x) ~ cos(2 pi ((K+1) x - 1/4) / 2^R)`` on ``[-1, 1]``
followed by ``R`` double-angle steps gives ``sin(2 pi t) = sin(2 pi m / q0)``, and
``m / q0 ~ sin(2 pi t) / (2 pi)`` (the ``1 / 2pi`` is folded into slot-to-coefficient).

Errors (``docs/bootstrapping.md``): interpolation error ``eps`` of ``f`` grows by at most
``4^R`` through the double angles and is divided by ``2 pi`` on the way back, and the sine
itself deviates from the identity by ``(2 pi m / q0)^3 / 6`` (relative ``(2 pi 2^-r)^2 / 6``
for the largest coefficient); the optional arcsine correction is not implemented.

Failure probability: ``I_k`` is the rounding of ``(c0 + c1 s') / q0``; with ``c0, c1``
uniform and ``s'`` of Hamming weight ``h``, ``I_k + m_k/q0`` is a sum of ``h + 1``
independent uniforms on ``[-1/2, 1/2)`` (Irwin-Hall), computed exactly by
:func:`overflow_probability`.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from ..circuits import Polynomial, PolynomialEvaluator
from ..circuits.chebyshev import min_depth


@dataclass(frozen=True)
class EvalModSpec:
    """``K``: reduction range (|I| <= K); ``degree``: cosine polynomial degree;
    ``double_angle``: R; ``fit_radius``: the polynomial is fitted on the union of the
    intervals ``t in [I - r, I + r]``, ``|I| <= K`` (x = t/(K+1)), weighted least squares
    on the error after the double angles; ``None``: Chebyshev interpolant on all of [-1, 1].

    Why the union fit: the error ``e(t)`` of the reduced sine is, in practice, a function of
    the integer ``I`` only (``|m/q0| <= 2^-10``), so its mean over the coefficients is a
    *constant* bias ``b`` in every EvalMod slot. SlotsToCoeffs maps a constant coefficient
    vector onto a few slots (``sum_k zeta_j^k``: about ``n b`` at slot 0, decaying as
    ``1 / (5^j mod 4n)``): the worst slot's error grows linearly with the slot count. The
    Chebyshev interpolant has ``|e(I)|`` up to 2^-31 and ``b ~ 2^-32.8``: worst slot 2^-10.1
    at n16-128 (2^15 slots). The union fit gives ``|e(I)| < 2^-39`` and ``|b| < 2^-45``.
    """

    K: int = 14
    degree: int = 31
    double_angle: int = 3
    fit_radius: float | None = 2.0 ** -8

    @property
    def half_range(self) -> float:
        """``t`` is mapped onto ``[-1, 1]`` by dividing by this (``K + 1``)."""
        return float(self.K + 1)

    @property
    def depth(self) -> int:
        return min_depth(self.degree) + self.double_angle

    def polynomial(self) -> Polynomial:
        return _cosine_polynomial(self.K, self.degree, self.double_angle, self.fit_radius)

    def interpolation_error(self, samples: int = 20001) -> float:
        """Max |f - cos| (plaintext) on the fit region: the union of intervals of radius
        ``fit_radius`` around the integers ``|I| <= K`` (all of [-1, 1] without one)."""
        p = self.polynomial()
        if self.fit_radius is None:
            x = np.linspace(-1, 1, samples)
        else:
            k = np.arange(-self.K, self.K + 1)
            d = np.linspace(-self.fit_radius, self.fit_radius, max(3, samples // len(k)))
            x = (k[:, None] + d[None, :]).ravel() / self.half_range
        return float(np.max(np.abs(p(x) - np.cos(2 * np.pi * (self.half_range * x - 0.25)
                                                   / 2 ** self.double_angle))))

    def reference(self, t: np.ndarray) -> np.ndarray:
        """Plaintext model of the whole EvalMod: sin(2 pi t) through the same polynomial
        and double-angle steps (``t`` real)."""
        c = self.polynomial()(np.asarray(t) / self.half_range)
        for _ in range(self.double_angle):
            c = 2 * c * c - 1
        return c


@lru_cache(maxsize=16)
def _cosine_polynomial(K: int, degree: int, R: int, radius: float | None) -> Polynomial:
    """Chebyshev-basis polynomial ``f(x) ~ cos(2 pi ((K+1) x - 1/4) / 2^R)``: the plain
    interpolant (``radius=None``) or the weighted least-squares fit on the union of
    ``[I - radius, I + radius] / (K+1)``, ``|I| <= K``, at 8 Chebyshev nodes per interval,
    each row weighted by the linearised double-angle gain ``prod_i |4 c_i|`` (so the residual
    is the error of ``sin(2 pi t)``). Well conditioned (cond ~ 4e6); the fit stays within
    4e-9 of the sine for ``|t - I| <= 1/4`` (the interpolant: 8e-10)."""
    a = float(K + 1)

    def f(x):
        return np.cos(2 * np.pi * (a * x - 0.25) / 2 ** R)

    if radius is None:
        return Polynomial.from_function(f, degree, (-1.0, 1.0))
    m = 8
    nodes = np.cos(np.pi * (np.arange(m) + 0.5) / m) * radius
    t = (np.arange(-K, K + 1)[:, None] + nodes[None, :]).ravel()
    c = f(t / a)
    gain = np.ones_like(t)
    for _ in range(R):
        gain *= np.abs(4 * c)
        c = 2 * c * c - 1
    A = np.polynomial.chebyshev.chebvander(t / a, degree) * gain[:, None]
    coef, *_ = np.linalg.lstsq(A, f(t / a) * gain, rcond=None)
    return Polynomial(coef, "chebyshev", (-1.0, 1.0))


def evaluate(ev, ct, spec: EvalModSpec, *, out_scale: float | None = None):
    """EvalMod on an encryption of ``x = t/(K+1)`` (real slots): returns an encryption of
    ``sin(2 pi t)`` at level ``ct.level - spec.depth``. ``out_scale``: the scale wanted after
    the last double angle (default: whatever the natural scales give)."""
    poly = spec.polynomial()
    d_poly = min_depth(spec.degree)
    lvl = ct.level - d_poly
    params = ct.params
    R = spec.double_angle
    # land the cosine on the scale that makes every double angle return to the natural scale
    tgt = params.level_scale(lvl) if R else (out_scale or ct.scale)
    c = PolynomialEvaluator(ev).evaluate(ct, poly, target_scale=tgt)
    for i in range(R):
        # 2 c^2 - 1 on the unrelinearised square, then one relinearisation with the rescale
        # fused into its ModDown
        sq = ev.mul(c, c, relin=False)
        sq = ev.mul_int(sq, 2)
        sq = ev.sub_const(sq, 1.0)
        c = ev.relinearize(sq, rescale=True)
    return c


def overflow_probability(h: int, K: int, coeffs: int, margin: float = 0.0) -> float:
    """Probability that some of ``coeffs`` coefficients has ``|I| > K``: ``t`` is the sum of
    ``h + 1`` uniforms on ``[-1/2, 1/2)`` (Irwin-Hall, exact piecewise-polynomial tail, in
    log space), and ``|t| > K + 1/2 - margin`` fails. Returns the union bound (<= 1)."""
    m = h + 1
    x = K + 0.5 - margin + m / 2.0      # tail of the sum of m U(0,1) beyond x
    # P(S > x) = P(S < m - x) = (1/m!) sum_{k <= m - x} (-1)^k C(m,k) (m - x - k)^m
    y = m - x
    if y <= 0:
        return 0.0
    from fractions import Fraction
    yf = Fraction(y).limit_denominator(10 ** 6)
    tot = Fraction(0)
    for k in range(int(math.floor(y)) + 1):
        tot += (-1) ** k * math.comb(m, k) * (yf - k) ** m
    p_one = 2 * tot / math.factorial(m)
    return float(min(1.0, coeffs * p_one))
