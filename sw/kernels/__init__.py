"""Compiled (numba) hot kernels of the software path.

* :mod:`sw.kernels.ntt` -- negacyclic NTT / inverse NTT rows (Shoup lazy butterflies).
* :mod:`sw.kernels.elementwise` -- modular add / sub / mul / mul-by-constant on (L, n) rows.

All kernels work on C-contiguous ``uint64`` arrays with 31-bit primes and are compiled
lazily on first use (``cache=True`` keeps the machine code in ``__pycache__``). The public,
validated entry points live in :mod:`sw.ntt`.
"""
