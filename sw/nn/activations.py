"""Polynomial ReLU approximations for encrypted inference.

Composite minimax (Lee et al., "Minimax approximation of sign function by composite
polynomial for homomorphic comparison", IEEE TDSC 2021; used with degrees {15, 15, 27} and
precision ``alpha = 13`` in Lee et al., ICML 2022)
-----------------------------------------------------------------------------------
``sign(t) ~ p3(p2(p1(t)))`` for ``|t| in [eps, 1]``, each ``p_i`` odd. Stage ``i`` is the
minimax (Remez) odd polynomial of its degree approximating 1 on ``[eps_i, 1]``
(``eps_1 = 2^-9``, see ``COMPOSITE_EPS_LOG2``); it maps ``[eps_i, 1]`` into ``[1 - delta_i, 1 + delta_i]``; all but
the last stage are divided by their maximum on ``[0, 1]``, so the next stage's input stays in
``[-1, 1]`` and ``eps_{i+1} = min over [eps_i, 1]`` of the normalised stage.
This is the sequential ("greedy") construction; the final error ``delta_3`` is reported
by :attr:`CompositeSign.error` and checked by the tests. ReLU is then
``relu(x) = B * t (1 + sign(t)) / 2`` with ``t = x / B``; ``B`` is the layer's bound,
calibrated on training data, folded into the preceding linear layer (no level).
Levels: ``sum ceil(log2(d_i + 1)) + 1`` = 4 + 4 + 5 + 1 = 14.

Data-guided (seed 001: Nam et al., "Intermediate Data Guided Approximation for Fast and
Accurate Encrypted Neural Networks", 2024)
-------------------------------------------------------------------------------
Each layer's pre-activation values on calibration data (``t = x / B``) weight a
least-squares fit of one low-degree polynomial to ``relu(t)`` on ``[-1, 1]``, in the
Chebyshev basis, with a small uniform term over the whole interval so the polynomial stays
bounded where the data is sparse. Levels: ``ceil(log2(d + 1))``.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
from numpy.polynomial import chebyshev as C

from sw.circuits import Polynomial

__all__ = ["remez_odd_sign", "CompositeSign", "ReluApprox", "composite_relu", "data_guided_relu",
           "calibrate_bounds", "COMPOSITE_DEGREES", "COMPOSITE_ALPHA"]

COMPOSITE_DEGREES = (15, 15, 27)
COMPOSITE_ALPHA = 13
# Input gap of the composite sign: |t| >= 2^-COMPOSITE_EPS_LOG2. With degrees {15, 15, 27}
# the sequential minimax construction reaches |error| <= 2^-13 (alpha = 13) on
# [2^-9, 1] (measured: 2^-13.4; bisection over the gap gave 2^-14.1 at 2^-8.9 and 2^-12.7 at
# 2^-9.08); tests/test_nn_activations.py re-checks it.
COMPOSITE_EPS_LOG2 = 9.0


def _odd_basis(x: np.ndarray, m: int) -> np.ndarray:
    """``[T_1(x), T_3(x), ..., T_{2m-1}(x)]`` as columns."""
    return np.stack([C.chebval(x, np.eye(2 * m)[2 * j + 1]) for j in range(m)], axis=1)


def remez_odd_sign(degree: int, eps: float, grid: int = 3000) -> tuple[np.ndarray, float]:
    """Minimax odd polynomial of ``degree`` approximating 1 on ``[eps, 1]``.

    Solved as the discrete minimax problem (a linear program: minimise ``E`` subject to
    ``|p(x_j) - 1| <= E``) on a dense grid of ``[eps, 1]`` (geometric near ``eps`` plus
    uniform), then refined by one round of grid densification around the extremal points;
    the error is measured on a much finer grid. Odd Chebyshev basis for conditioning.

    Returns ``(chebyshev coefficients (length degree + 1), max error on [eps, 1])``.
    """
    from scipy.optimize import linprog
    if degree % 2 == 0 or degree < 1:
        raise ValueError(f"remez_odd_sign: degree {degree} must be odd")
    if not 0 < eps < 1:
        raise ValueError(f"remez_odd_sign: eps={eps} must lie in (0, 1)")
    m = (degree + 1) // 2
    xs = np.unique(np.concatenate([np.geomspace(eps, 1, grid), np.linspace(eps, 1, grid),
                                   0.5 * (1 + eps) + 0.5 * (1 - eps) * np.cos(np.linspace(0, np.pi, grid))]))
    c = None
    for _ in range(2):
        Bm = _odd_basis(xs, m)
        n = len(xs)
        A = np.block([[Bm, -np.ones((n, 1))], [-Bm, -np.ones((n, 1))]])
        rhs = np.concatenate([np.ones(n), -np.ones(n)])
        res = linprog(np.r_[np.zeros(m), 1.0], A_ub=A, b_ub=rhs, bounds=[(None, None)] * m + [(0, None)],
                      method="highs")
        if not res.success:
            raise RuntimeError(f"remez_odd_sign: LP failed ({res.message})")
        c = res.x[:m]
        # densify around the points where the error is near its maximum
        fine = np.unique(np.concatenate([np.geomspace(eps, 1, 50 * grid), np.linspace(eps, 1, 20 * grid)]))
        e = np.abs(_odd_basis(fine, m) @ c - 1.0)
        top = fine[e > 0.9 * e.max()]
        xs = np.unique(np.concatenate([xs, top[:: max(1, len(top) // (4 * grid))]]))
    fine = np.unique(np.concatenate([np.geomspace(eps, 1, 50 * grid), np.linspace(eps, 1, 20 * grid)]))
    err = float(np.max(np.abs(_odd_basis(fine, m) @ c - 1.0)))
    coeffs = np.zeros(degree + 1)
    coeffs[1::2] = c
    return coeffs, err


@dataclass
class CompositeSign:
    """``sign(t) ~ p_k(...p_1(t))`` on ``[-1, -eps] u [eps, 1]`` (see module docstring)."""

    degrees: tuple[int, ...]
    eps_log2: float
    polys: list[Polynomial] = field(default_factory=list)
    stage_errors: list[float] = field(default_factory=list)
    error: float = 0.0

    @classmethod
    def build(cls, degrees=COMPOSITE_DEGREES, eps_log2: float = COMPOSITE_EPS_LOG2) -> "CompositeSign":
        eps = 2.0 ** -eps_log2
        polys, errs = [], []
        dense = np.linspace(0, 1, 20001)
        for i, d in enumerate(degrees):
            coeffs, err = remez_odd_sign(d, eps)
            last = i == len(degrees) - 1
            if not last:
                top = float(np.max(np.abs(C.chebval(dense, coeffs))))
                coeffs = coeffs / top
                lo = np.geomspace(eps, 1, 20001)
                eps = float(np.min(C.chebval(lo, coeffs)))
            polys.append(Polynomial(coeffs, "chebyshev", (-1.0, 1.0), "odd"))
            errs.append(err)
        out = cls(tuple(degrees), float(eps_log2), polys, errs)
        t = np.concatenate([np.geomspace(2.0 ** -eps_log2, 1, 40001), np.linspace(2.0 ** -eps_log2, 1, 40001)])
        out.error = float(np.max(np.abs(out(t) - 1.0)))
        return out

    def __call__(self, t: np.ndarray) -> np.ndarray:
        y = np.asarray(t, dtype=np.float64)
        for p in self.polys:
            y = p(y)
        return y

    @property
    def depth(self) -> int:
        return sum(p.depth for p in self.polys)

    @property
    def alpha(self) -> float:
        """Achieved precision: ``-log2`` of the max sign error on ``[2^-eps_log2, 1]``."""
        return -math.log2(self.error)


@dataclass
class ReluApprox:
    """A polynomial ReLU for one layer with bound ``B``.

    method ``composite``: ``relu(x) ~ B t (1 + sign(t)) / 2``, ``sign`` a :class:`CompositeSign`;
    method ``data-guided``: ``relu(x) ~ B f(t)``, ``f`` one :class:`Polynomial` on [-1, 1];
    ``t = x / B`` in both.
    """

    method: str
    bound: float
    sign: CompositeSign | None = None
    poly: Polynomial | None = None
    name: str = ""

    @property
    def degrees(self) -> tuple[int, ...]:
        return self.sign.degrees if self.sign is not None else (self.poly.degree,)

    @property
    def depth(self) -> int:
        """Levels consumed on the ciphertext."""
        return self.sign.depth + 1 if self.sign is not None else self.poly.depth

    def unit(self, t: np.ndarray) -> np.ndarray:
        """The approximation of ``relu(t)`` on ``[-1, 1]``."""
        t = np.asarray(t, dtype=np.float64)
        if self.sign is not None:
            return 0.5 * t * (1.0 + self.sign(t))
        return self.poly(t)

    def __call__(self, x: np.ndarray) -> np.ndarray:
        return self.bound * self.unit(np.asarray(x, dtype=np.float64) / self.bound)


_SIGN_CACHE: dict = {}


def composite_relu(bound: float, degrees=COMPOSITE_DEGREES, eps_log2: float = COMPOSITE_EPS_LOG2,
                   name: str = "") -> ReluApprox:
    key = (tuple(degrees), float(eps_log2))
    if key not in _SIGN_CACHE:
        _SIGN_CACHE[key] = CompositeSign.build(degrees, eps_log2)
    return ReluApprox("composite", float(bound), sign=_SIGN_CACHE[key], name=name)


def data_guided_relu(samples: np.ndarray, bound: float, degree: int, *, uniform_weight: float = 0.05,
                     bins: int = 512, name: str = "") -> ReluApprox:
    """Fit ``f ~ relu`` of ``degree`` on ``[-1, 1]`` weighted by the distribution of ``samples / bound``.

    The empirical distribution is binned (``bins`` bins on [-1, 1]); each bin centre is a
    least-squares point with weight = its frequency, plus ``uniform_weight`` (total mass)
    spread uniformly over Chebyshev points of [-1, 1].
    """
    t = np.clip(np.asarray(samples, dtype=np.float64).ravel() / bound, -1, 1)
    hist, edges = np.histogram(t, bins=bins, range=(-1, 1))
    centres = 0.5 * (edges[1:] + edges[:-1])
    w = hist / max(1, hist.sum())
    keep = w > 0
    xu = np.cos(np.pi * (np.arange(4 * degree + 8) + 0.5) / (4 * degree + 8))
    x = np.concatenate([centres[keep], xu])
    wt = np.concatenate([w[keep], np.full(len(xu), uniform_weight / len(xu))])
    V = C.chebvander(x, degree) * np.sqrt(wt)[:, None]
    coeffs, *_ = np.linalg.lstsq(V, np.maximum(x, 0) * np.sqrt(wt), rcond=None)
    return ReluApprox("data-guided", float(bound), poly=Polynomial(coeffs, "chebyshev", (-1.0, 1.0)), name=name)


def calibrate_bounds(pre: dict[str, np.ndarray], margin: float = 1.25, floor: float = 1e-3) -> dict[str, float]:
    """Per-layer bound ``B = margin * max |x|`` over the calibration pre-activations."""
    return {k: max(floor, margin * float(np.max(np.abs(v)))) for k, v in pre.items()}
