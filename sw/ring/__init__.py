"""RNS polynomial ring ``Z_Q[X]/(X^n + 1)``: bases, polynomials, basis conversion,
modulus raise/drop, automorphisms, sampling. Every arithmetic step goes through the
kernel funnel :mod:`sw.ring.kernels`, which reports to :mod:`sw.trace`. Per-prime constants
come from one :class:`~sw.modulus.Modulus` per prime (``RnsBasis.moduli``).
"""
from ..modulus import Modulus
from .basis import RnsBasis
from .kernels import BasisConverter, coeff_permutation, eval_permutation
from .poly import RnsPoly
from .conv import divide_by_top, mod_down, mod_up
from .sampling import Prng

__all__ = ["Modulus", "RnsBasis", "RnsPoly", "BasisConverter", "mod_up", "mod_down", "divide_by_top",
           "eval_permutation", "coeff_permutation", "Prng"]
