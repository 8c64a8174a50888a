"""The Barrett reduction step shared by every numba kernel.

Constants come from :class:`sw.modulus.Modulus` (``mu = floor(2^(2k) / q)``, ``s1 = k - 1``,
``s2 = k + 1``, ``k = bitlen(q)``, ``q < 2^31``; :class:`sw.modulus.ModulusArrays` stacks
them per row). For ``x < 2^(2k)``, ``x >> s1 < 2^(k+1)`` and ``mu < 2^(k+1)``, so the
estimate ``t = ((x >> s1) * mu) >> s2`` is exact in 64 bits and ``x - t q`` lies in
``[0, 3q)``; two branchless conditional subtractions ``min(r, r - q)`` make it canonical.

Both products are written as 32 x 32 -> 64-bit ones (``x >> s1``, ``mu``, ``t`` and ``q``
all lie below ``2^32``, so the masks change no value): LLVM then emits ``vpmuludq``, one
instruction, instead of the full 64 x 64-bit ``vpmullq`` (three on Intel cores) that it
must assume for unmasked words. The helper is left to LLVM to inline: numba's IR-level
``inline="always"`` measured a few percent slower on the signed-to-RNS kernel.

Numba's on-disk cache of a calling kernel is keyed on the caller's source file only: after
editing this helper, delete the cached ``*.nbi`` / ``*.nbc`` files of its callers.
"""
from __future__ import annotations

import numpy as np
from numba import njit

_M32 = np.uint64(0xFFFFFFFF)


@njit(cache=True)
def barrett(x, q, mu, s1, s2):
    """``x mod q`` (canonical) for ``x < 2^(2 bitlen(q))`` with the Barrett constants of ``q``."""
    t = (((x >> s1) & _M32) * (mu & _M32)) >> s2
    r = x - (t & _M32) * (q & _M32)
    r = min(r, r - q)
    return min(r, r - q)
