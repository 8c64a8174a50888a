"""One object per prime modulus: every per-prime constant the software kernels use.

:class:`Modulus` holds, for one odd modulus ``q < 2^31``, the constants of the numba
kernels (built once, cached by :meth:`Modulus.get`); :class:`ModulusArrays` stacks them for
an ordered tuple of primes (the rows of an RNS matrix) as read-only uint64 arrays, built
once per tuple (:func:`modulus_arrays`). The ring's :class:`sw.ring.RnsBasis`, the NTT plans
of :mod:`sw.ntt`, the elementwise and basis-conversion plans of :mod:`sw.kernels` all take
their constants from here instead of recomputing them.

Constants of ``q`` (``k = bitlen(q)``):

* Barrett, as the kernels use it (:mod:`sw.ring._nb`, :mod:`sw.kernels.elementwise`):
  ``mu = floor(2^(2k) / q)``, ``s1 = k - 1``, ``s2 = k + 1``; for ``x < 2^(2k)``,
  ``t = ((x >> s1) * mu) >> s2`` and ``x - t q`` lies in ``[0, 3q)``. Every product stays
  below ``2^(2k+2) <= 2^64``.
* ``r32 = 2^32 mod q`` (with its Shoup companion) and ``r64 = 2^64 mod q``: the folds of
  64-bit accumulators.
* Shoup companions ``floor(w 2^W / q)`` (:meth:`Modulus.shoup`, the formula of
  :func:`sw.ntt_tables.shoup`, which the hardware models share).
* NTT tables of degree ``n`` (:meth:`Modulus.ntt_tables`): those of
  :func:`sw.ntt_tables.ntt_tables`, the single producer of twiddles for software and
  hardware.

The hardware multipliers' own Barrett and Montgomery variants (word width ``W`` up to 64)
are the golden models of :mod:`sw.modred`.

This module sits beside :mod:`sw.ntt_tables` rather than inside :mod:`sw.ring` because the
kernel packages below the ring (:mod:`sw.kernels`, :mod:`sw.ntt`) need it too;
:mod:`sw.ring` re-exports :class:`Modulus`.
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from .ntt_tables import NttTables, ntt_tables, shoup as _shoup, shoup_array as _shoup_array

__all__ = ["MAX_BITS", "WORD", "Modulus", "ModulusArrays", "modulus_arrays"]

#: Every modulus of the software kernels is below ``2^MAX_BITS`` (so ``2q < 2^32``).
MAX_BITS = 31
#: Word width of the software kernels' Shoup companions.
WORD = 32

_U = np.uint64


@dataclass(frozen=True)
class Modulus:
    """An odd modulus ``3 <= q < 2^31`` and its kernel constants (Python ints).

    Use :meth:`Modulus.get` (cached) rather than the constructor. Primality and
    ``q = 1 mod 2n`` are checked where an NTT needs them (:meth:`ntt_tables`).

    Attributes
    ----------
    q : the modulus.
    """

    q: int

    def __post_init__(self):
        q = self.q
        if not isinstance(q, int) or isinstance(q, bool) or not 3 <= q < (1 << MAX_BITS) \
                or q % 2 == 0:
            raise ValueError(f"modulus q={q!r} must be an odd int in [3, 2^{MAX_BITS})")

    @staticmethod
    @lru_cache(maxsize=None)
    def get(q: int) -> "Modulus":
        """The cached :class:`Modulus` of ``q``."""
        return Modulus(int(q))

    @property
    def bits(self) -> int:
        """``k = bitlen(q)``."""
        return self.q.bit_length()

    @property
    def barrett_mu(self) -> int:
        """``floor(2^(2k) / q)`` (below ``2^(k+1)``)."""
        return (1 << (2 * self.bits)) // self.q

    @property
    def barrett_s1(self) -> int:
        """The first Barrett shift, ``k - 1``."""
        return self.bits - 1

    @property
    def barrett_s2(self) -> int:
        """The second Barrett shift, ``k + 1``."""
        return self.bits + 1

    @property
    def r32(self) -> int:
        """``2^32 mod q``."""
        return (1 << 32) % self.q

    @property
    def r64(self) -> int:
        """``2^64 mod q``."""
        return (1 << 64) % self.q

    def reduce(self, c: int) -> int:
        """``c mod q`` for any Python int ``c``."""
        return int(c) % self.q

    def shoup(self, w: int, width: int = WORD) -> int:
        """Shoup companion ``floor(w 2^width / q)`` of a constant ``0 <= w < q``."""
        w = int(w)
        if not 0 <= w < self.q:
            raise ValueError(f"shoup: constant w={w} must lie in [0, q={self.q})")
        return _shoup(w, self.q, width)

    def shoup_array(self, w, width: int = WORD) -> np.ndarray:
        """:meth:`shoup` of every entry of the integer array ``w`` (entries in ``[0, q)``,
        ``width <= 32``), as uint64."""
        return _shoup_array(w, self.q, width)

    def ntt_tables(self, n: int) -> NttTables:
        """The twiddle tables of degree ``n`` (validated, built once: :func:`sw.ntt_tables.ntt_tables`)."""
        return ntt_tables(self.q, n)


class ModulusArrays:
    """The constants of an ordered tuple of moduli as read-only uint64 arrays of shape ``(L,)``.

    Use :func:`modulus_arrays` (cached). Attributes: ``primes`` (tuple of int), ``moduli``
    (tuple of :class:`Modulus`), ``q``, ``bits``, ``mu``, ``s1``, ``s2`` (Barrett), ``r32``,
    ``r32_shoup``, ``r64``.
    """

    __slots__ = ("primes", "moduli", "q", "bits", "mu", "s1", "s2", "r32", "r32_shoup", "r64",
                 "__weakref__")

    def __init__(self, primes: tuple[int, ...]):
        self.primes = tuple(primes)
        self.moduli = tuple(Modulus.get(q) for q in self.primes)
        ms = self.moduli
        self.q = _frozen([m.q for m in ms])
        self.bits = _frozen([m.bits for m in ms])
        self.mu = _frozen([m.barrett_mu for m in ms])
        self.s1 = _frozen([m.barrett_s1 for m in ms])
        self.s2 = _frozen([m.barrett_s2 for m in ms])
        self.r32 = _frozen([m.r32 for m in ms])
        self.r32_shoup = _frozen([m.shoup(m.r32) for m in ms])
        self.r64 = _frozen([m.r64 for m in ms])

    def __len__(self) -> int:
        return len(self.primes)

    def const_pair(self, consts) -> tuple[np.ndarray, np.ndarray]:
        """One constant per row (Python ints, any size): ``(w, w')`` with ``w = c_i mod q_i``
        and ``w'`` its Shoup companion (W = 32), as read-only uint64 arrays (cached)."""
        return _const_pair(self, tuple(int(c) for c in consts))

    def ntt_scale(self, n: int) -> tuple[np.ndarray, np.ndarray]:
        """``(n^-1 mod q_i, its Shoup companion)``: the inverse NTT's final scale (cached)."""
        return _ntt_scale(self, int(n))


def _frozen(values) -> np.ndarray:
    a = np.array(values, dtype=_U)
    a.setflags(write=False)
    return a


@lru_cache(maxsize=4096)
def modulus_arrays(primes: tuple[int, ...]) -> ModulusArrays:
    """The cached :class:`ModulusArrays` of ``primes`` (a tuple of ints)."""
    return ModulusArrays(tuple(int(q) for q in primes))


@lru_cache(maxsize=1024)
def _const_pair(arrays: ModulusArrays, consts: tuple[int, ...]):
    if len(consts) != len(arrays):
        raise ValueError(f"{len(consts)} constants given for {len(arrays)} moduli")
    w = [m.reduce(c) for m, c in zip(arrays.moduli, consts)]
    return _frozen(w), _frozen([m.shoup(x) for m, x in zip(arrays.moduli, w)])


@lru_cache(maxsize=1024)
def _ntt_scale(arrays: ModulusArrays, n: int):
    ninv = [pow(n, -1, m.q) for m in arrays.moduli]
    return _frozen(ninv), _frozen([m.shoup(c) for m, c in zip(arrays.moduli, ninv)])
