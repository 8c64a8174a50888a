"""Homomorphic circuits built on :mod:`sw.ckks`: slot-linear transforms and polynomials.

Layering (as in Lattigo): ``sw.ring`` -> ``sw.ckks`` -> ``sw.circuits``.

* :mod:`.linear_transform`: :class:`LinearTransform` (diagonal method, baby-step
  giant-step, hoisted baby rotations).
* :mod:`.polynomial`: :class:`Polynomial`, :class:`PolynomialEvaluator` (Chebyshev or power
  basis, minimal depth ``ceil(log2(d+1))``, scale-invariant evaluation).
* :mod:`.chebyshev`: plaintext interpolation and basis algebra.
"""
from .chebyshev import chebyshev_interpolate, min_depth
from .linear_transform import LinearTransform
from .polynomial import (Polynomial, PolynomialDepthError, PolynomialEvaluator, PolynomialScaleError,
                         evaluate_polynomial)

__all__ = ["LinearTransform", "Polynomial", "PolynomialEvaluator", "PolynomialDepthError",
           "PolynomialScaleError", "evaluate_polynomial", "chebyshev_interpolate", "min_depth"]
