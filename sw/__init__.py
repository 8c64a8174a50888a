"""fhesim software path: bit-exact RNS-CKKS in NumPy (+ numba for hot kernels).

``sw`` never imports ``hw`` or ``sim``; both of those consume the tables and
golden models defined here, so software and hardware cannot drift apart.

Importing ``sw`` lets numba use 512-bit vectors on CPUs with AVX-512 before any kernel is
compiled (:mod:`sw.jit`; ``FHESIM_VECTOR_WIDTH=256`` keeps LLVM's default).
"""
from . import jit as _jit

_jit.configure()
