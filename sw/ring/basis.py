"""RNS bases: ordered tuples of NTT-friendly primes with their per-prime constants.

An :class:`RnsBasis` is immutable and cached per ``(primes, n)``. Rows of every RNS
polynomial are in the basis order. It holds one :class:`sw.modulus.Modulus` per prime
(``moduli``) and their stacked constants ``consts`` (:class:`sw.modulus.ModulusArrays`,
built once per prime tuple), of which the most used are attributes (uint64 arrays of shape
``(k,)``):

* ``q``: the primes; ``mu``, ``s1``, ``s2``: Barrett constants (see :mod:`sw.modulus`):
  ``kbits = bitlen(q)``, ``mu = floor(2^(2 kbits) / q)``, ``s1 = kbits - 1``, ``s2 = kbits + 1``.
"""
from __future__ import annotations

from functools import lru_cache

import numpy as np

from ..modulus import modulus_arrays
from ..primes import check_ntt_modulus


class RnsBasis:
    """An ordered set of distinct primes ``q_i < 2^31``, ``q_i = 1 mod 2n``, for degree ``n``.

    Use :func:`RnsBasis.get` (cached) rather than the constructor.
    """

    __slots__ = ("primes", "n", "consts", "moduli", "q", "mu", "s1", "s2", "_index",
                 "__weakref__")

    def __init__(self, primes: tuple[int, ...], n: int):
        if not primes:
            raise ValueError("RnsBasis: at least one prime is required")
        if len(set(primes)) != len(primes):
            raise ValueError(f"RnsBasis: primes must be distinct, got {primes}")
        for q in primes:
            check_ntt_modulus(q, n, width=31)
        self.primes = tuple(int(q) for q in primes)
        self.n = int(n)
        self.consts = modulus_arrays(self.primes)
        self.moduli = self.consts.moduli
        c = self.consts
        self.q, self.mu, self.s1, self.s2 = c.q, c.mu, c.s1, c.s2   # read-only, shared
        self._index = {q: i for i, q in enumerate(self.primes)}

    @staticmethod
    @lru_cache(maxsize=4096)
    def get(primes: tuple[int, ...], n: int) -> "RnsBasis":
        """The cached basis for ``primes`` (a tuple of ints) and ring degree ``n``."""
        return RnsBasis(tuple(int(q) for q in primes), int(n))

    def __len__(self) -> int:
        return len(self.primes)

    def __eq__(self, other) -> bool:
        return isinstance(other, RnsBasis) and self.primes == other.primes and self.n == other.n

    def __hash__(self) -> int:
        return hash((self.primes, self.n))

    def __add__(self, other: "RnsBasis") -> "RnsBasis":
        if other.n != self.n:
            raise ValueError(f"RnsBasis: cannot concatenate degrees n={self.n} and n={other.n}")
        return RnsBasis.get(self.primes + other.primes, self.n)

    def __repr__(self) -> str:
        return f"RnsBasis(n={self.n}, {len(self)} primes, log2 Q={self.log_q:.1f})"

    def sub(self, start: int, stop: int | None = None) -> "RnsBasis":
        """The basis of primes ``[start:stop]``."""
        return RnsBasis.get(self.primes[start:stop], self.n)

    def index(self, q: int) -> int:
        """Row of prime ``q`` (ValueError if absent)."""
        try:
            return self._index[int(q)]
        except KeyError:
            raise ValueError(f"prime {q} is not in {self!r}") from None

    @property
    def product(self) -> int:
        """The modulus ``Q = prod q_i`` (Python int)."""
        out = 1
        for q in self.primes:
            out *= q
        return out

    @property
    def log_q(self) -> float:
        """``log2(Q)``."""
        return float(sum(np.log2(float(q)) for q in self.primes))

    def column(self) -> np.ndarray:
        """The primes as a uint64 column ``(k, 1)`` for broadcasting."""
        return self.q[:, None]
