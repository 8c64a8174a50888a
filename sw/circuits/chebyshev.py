"""Chebyshev approximation and basis utilities for homomorphic polynomial evaluation.

Everything here is plaintext NumPy: it produces the coefficients that
:mod:`sw.circuits.polynomial` evaluates on ciphertexts, and the plaintext
references the tests compare against.

Conventions
-----------
* An interval ``[a, b]`` (``a < b``, real) is mapped onto ``[-1, 1]`` by the affine map
  ``t = alpha * x + beta`` with ``alpha = 2 / (b - a)`` and ``beta = -(a + b) / (b - a)``.
* A Chebyshev series ``c`` of degree ``d`` stands for
  ``p(x) = sum_{i=0}^{d} c[i] * T_i(alpha * x + beta)``, with ``T_i`` the Chebyshev
  polynomials of the first kind (``T_0 = 1``, ``T_1 = t``, ``T_{i+1} = 2 t T_i - T_{i-1}``).
* Coefficients may be complex; functions are sampled at real points.
"""
from __future__ import annotations

from typing import Callable

import numpy as np
from numpy.polynomial import chebyshev as _cheb

__all__ = [
    "affine_map",
    "chebyshev_nodes",
    "chebyshev_interpolate",
    "chebyshev_eval",
    "chebyshev_split",
    "power_split",
    "min_depth",
]


def affine_map(a: float, b: float) -> tuple[float, float]:
    """Return ``(alpha, beta)`` with ``alpha * x + beta`` mapping ``[a, b]`` onto ``[-1, 1]``.

    Parameters
    ----------
    a, b : float
        Interval ends, finite reals with ``a < b``.

    Raises
    ------
    ValueError
        If the interval is empty, reversed or not finite.
    """
    a, b = float(a), float(b)
    if not (np.isfinite(a) and np.isfinite(b)) or not a < b:
        raise ValueError(f"interval [a, b] = [{a}, {b}] must be finite with a < b")
    return 2.0 / (b - a), -(a + b) / (b - a)


def chebyshev_nodes(degree: int, a: float = -1.0, b: float = 1.0) -> np.ndarray:
    """The ``degree + 1`` Chebyshev points of the first kind mapped onto ``[a, b]`` (float64)."""
    if degree < 0:
        raise ValueError(f"degree={degree} must be >= 0")
    k = np.arange(degree + 1)
    t = np.cos(np.pi * (k + 0.5) / (degree + 1))
    return 0.5 * (b - a) * t + 0.5 * (a + b)


def chebyshev_interpolate(f: Callable[[np.ndarray], np.ndarray], degree: int,
                          a: float = -1.0, b: float = 1.0) -> np.ndarray:
    """Chebyshev interpolant of ``f`` on ``[a, b]``: coefficients of ``sum c_i T_i(alpha x + beta)``.

    Interpolation at the Chebyshev points of the first kind is within a factor
    ``2 + (2/pi) log(degree + 1)`` of the best uniform approximation.

    Parameters
    ----------
    f : callable
        Vectorised function of a float64 array (real or complex values).
    degree : int
        Polynomial degree ``d >= 0``; ``d + 1`` coefficients are returned.
    a, b : float
        Approximation interval.

    Returns
    -------
    numpy.ndarray
        ``d + 1`` coefficients (float64, or complex128 if ``f`` is complex).
    """
    affine_map(a, b)
    x = chebyshev_nodes(degree, a, b)
    y = np.asarray(f(x))
    t = np.cos(np.pi * (np.arange(degree + 1) + 0.5) / (degree + 1))
    if np.iscomplexobj(y):
        return _cheb.chebfit(t, y.real, degree) + 1j * _cheb.chebfit(t, y.imag, degree)
    return _cheb.chebfit(t, y.astype(np.float64), degree)


def chebyshev_eval(coeffs: np.ndarray, x: np.ndarray, a: float = -1.0, b: float = 1.0) -> np.ndarray:
    """Plaintext reference: ``sum c_i T_i(alpha x + beta)`` at the points ``x`` (complex ``x`` allowed)."""
    alpha, beta = affine_map(a, b)
    return _cheb.chebval(alpha * np.asarray(x) + beta, np.asarray(coeffs))


def chebyshev_split(coeffs: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
    """Divide a Chebyshev series by ``T_n``: ``p = q * T_n + r`` with ``deg r < n``.

    Uses ``T_{n+j} = 2 T_n T_j - T_{n-j}`` (``1 <= j <= n``), so it needs
    ``n <= deg p <= 2 n``.

    Returns
    -------
    (q, r) : tuple of numpy.ndarray
        ``q`` has ``deg p - n + 1`` coefficients, ``r`` has ``n``.
    """
    c = np.asarray(coeffs)
    d = len(c) - 1
    if not n <= d <= 2 * n:
        raise ValueError(f"chebyshev_split needs n <= degree <= 2n; got n={n}, degree={d}")
    q = np.zeros(d - n + 1, dtype=c.dtype)
    r = np.array(c[:n], copy=True)
    q[0] = c[n]
    for j in range(1, d - n + 1):
        q[j] = 2 * c[n + j]
        r[n - j] -= c[n + j]
    return q, r


def power_split(coeffs: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
    """Divide a power-basis polynomial by ``x^n``: ``p = q * x^n + r`` with ``deg r < n``."""
    c = np.asarray(coeffs)
    if not n <= len(c) - 1:
        raise ValueError(f"power_split needs n <= degree; got n={n}, degree={len(c) - 1}")
    return np.array(c[n:], copy=True), np.array(c[:n], copy=True)


def min_depth(degree: int) -> int:
    """Minimal multiplicative depth ``ceil(log2(degree + 1))`` of a degree-``degree`` polynomial."""
    if degree < 0:
        raise ValueError(f"degree={degree} must be >= 0")
    return int(degree).bit_length() if degree > 0 else 0
