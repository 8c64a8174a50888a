"""Compiled (numba) hot kernels of the software path.

* :mod:`sw.kernels.ntt` -- negacyclic NTT / inverse NTT rows (Shoup lazy butterflies,
  radix-2 arithmetic with two stages per pass, uint32 twiddle tables).
* :mod:`sw.kernels.elementwise` -- modular add / sub / mul (Barrett) / mul-by-constant
  (Shoup) on (L, n) rows; signed int64 -> RNS residues (:func:`~sw.kernels.elementwise.to_rns`).
* :mod:`sw.kernels.modarith` -- the Barrett step every kernel inlines.
* :mod:`sw.kernels.bconv` -- fast RNS basis conversion with a lazily reduced accumulator
  (:func:`~sw.kernels.bconv.bconv`, optional exact/centred mode).

All kernels work on C-contiguous ``uint64`` data with primes below 2^31 and are compiled
lazily on first use (``cache=True`` keeps the machine code in ``__pycache__``). Their
per-prime constants come from :mod:`sw.modulus`. The validated NTT / elementwise entry
points live in :mod:`sw.ntt`.
"""
