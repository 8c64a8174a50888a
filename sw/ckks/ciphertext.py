"""Plaintext and ciphertext containers (evaluation form, at a level, with a scale)."""
from __future__ import annotations

from dataclasses import dataclass

from ..ring import RnsPoly
from .params import CkksParams


@dataclass(frozen=True)
class Plaintext:
    """An encoded message.

    Attributes
    ----------
    poly : RnsPoly in evaluation form over ``params.primes_at(level)``
    level : int
    scale : float  (the message is ``poly / scale`` in the canonical embedding)
    slots : int    power of two, ``<= n/2``
    params : CkksParams
    """

    poly: RnsPoly
    level: int
    scale: float
    slots: int
    params: CkksParams

    @property
    def primes(self) -> tuple[int, ...]:
        return self.poly.basis.primes

    @property
    def n(self) -> int:
        return self.params.n

    @property
    def is_placeholder(self) -> bool:
        return self.poly.data is None


@dataclass(frozen=True)
class PackedPlaintext:
    """A plaintext of the sub-ring ``Z[X^gap]`` kept as stored: its evaluation-form rows hold
    each value ``gap`` times, and ``words`` keeps one of each run as uint32
    (:func:`sw.ring.kernels.subring_compact`; ``gap = N / (2 slots)``). The bootstrapping
    DFT diagonals are cached this way; :meth:`sw.ckks.Evaluator.dot_plain` reads the words
    directly, and :meth:`expand` gives the :class:`Plaintext`.

    Attributes
    ----------
    words : uint32 ndarray ``(len(basis), n / gap)`` (None in a dry run)
    gap : int
    basis : RnsBasis of the rows (``Q_level``, or ``Q_level + P`` for raised products)
    level, scale, slots, params : as for :class:`Plaintext`
    """

    words: object
    gap: int
    basis: object
    level: int
    scale: float
    slots: int
    params: CkksParams

    @property
    def primes(self) -> tuple[int, ...]:
        return self.basis.primes

    @property
    def is_placeholder(self) -> bool:
        return self.words is None

    def expand(self) -> Plaintext:
        """The same plaintext with its full uint64 evaluation-form rows."""
        from ..ring import kernels as K

        data = None if self.words is None else K.subring_expand(self.words, self.gap)
        return Plaintext(RnsPoly(self.basis, data, True), self.level, self.scale, self.slots, self.params)


@dataclass(frozen=True)
class Ciphertext:
    """A CKKS ciphertext ``(c0, c1[, c2])`` decrypting to ``c0 + c1 s (+ c2 s^2)``.

    Attributes
    ----------
    polys : tuple of RnsPoly (2, or 3 before relinearisation), evaluation form
    level : int
    scale : float
    slots : int
    params : CkksParams
    key_id : str or None   identity of the key set it is encrypted under
                           (:mod:`sw.ckks.keys`, key binding); None: unknown, not checked
    """

    polys: tuple[RnsPoly, ...]
    level: int
    scale: float
    slots: int
    params: CkksParams
    key_id: str | None = None

    @property
    def primes(self) -> tuple[int, ...]:
        return self.polys[0].basis.primes

    @property
    def degree(self) -> int:
        return len(self.polys) - 1

    @property
    def n(self) -> int:
        return self.params.n

    @property
    def is_placeholder(self) -> bool:
        return self.polys[0].data is None

    def copy(self) -> "Ciphertext":
        return Ciphertext(tuple(p.copy() for p in self.polys), self.level, self.scale, self.slots,
                          self.params, self.key_id)

    def __repr__(self) -> str:
        return (f"Ciphertext({self.params.name}, level={self.level}, scale=2^{_log2(self.scale):.2f}, "
                f"slots={self.slots}, degree={self.degree}{', placeholder' if self.is_placeholder else ''})")


def _log2(x: float) -> float:
    import math
    return math.log2(x) if x > 0 else float("nan")
