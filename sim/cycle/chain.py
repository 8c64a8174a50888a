"""The modulus chain a trace was made at, and its limbs on a design of another word size.

A trace counts RNS rows in the software's primes (30-31 bits). A design with ``W``-bit words
holds the same levels in other limbs. Two rules are offered. Configurations choose between
them with ``limbs`` (:mod:`sim.cycle.model`, docs/cycle-model.md, "Limbs at the design's
word size").

* ``"word"``: every level group keeps limbs of its own. A rescale drops one group, the
  ``~2^30`` or ``~2^60`` of that level's scale, so no design can share a word between two
  levels. The group needs ``ceil(bits / W)`` limbs at the least, its primes filling each
  word. The special primes ``P`` drop out together, so they are packed:
  ``ceil(bits of the first k / W)``.
* ``"packed"``: the chain's bits packed into words regardless of the levels:
  ``ceil(p * 30 / W)`` for ``p`` primes. This is fewer limbs than any design can run this
  circuit in, and is kept for comparison and for traces without a chain.

:class:`Chain` holds the bits of each group of the trace's ``Q`` chain (bottom first) and of
its special primes. :meth:`Chain.limbs` maps a prime count to limbs with the ``"word"``
rule. A count up to ``#Q`` is read as the bottom of the chain: a ciphertext or plaintext at
a level, or a key's ``Q`` part. The special primes beyond it are packed. A kernel count
that mixes ``Q`` and ``P`` rows (ModUp's targets, NTTs over ``Q_l + P``) is read the same
way, which is exact at the top level and approximate below it (module docstring of
:mod:`sim.cycle.model`); so is a kernel over KLSS's auxiliary primes ``T``, whose key the
model packs (:mod:`sim.cycle.model`, key words).

Built from a ``sw.ckks.params.CkksParams`` by :meth:`Chain.of_params` (duck-typed: this
module imports neither ``sw`` nor ``hw``).
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

import numpy as np

#: Bits of the trace's primes for the ``"packed"`` rule (sw/ckks/params.py: the ``n16-128``
#: and ``bench-boot-l8`` primes are 30-31 bits, mean 30.05).
TRACE_PRIME_BITS = 30


def packed_limbs(primes: Any, word_bits: int) -> np.ndarray:
    """``ceil(primes * TRACE_PRIME_BITS / word_bits)`` (0 stays 0), elementwise."""
    p = np.asarray(primes, dtype=np.int64)
    return -(-(p * TRACE_PRIME_BITS) // int(word_bits))


@dataclass(frozen=True)
class Chain:
    """A trace's modulus chain: ``group_bits[g]`` the bits of level group ``g`` (``q0``
    first), ``group_sizes[g]`` its primes, ``special_bits`` those of each special prime."""

    name: str
    group_bits: tuple[float, ...]
    group_sizes: tuple[int, ...]
    special_bits: tuple[float, ...]
    _tables: dict = field(default_factory=dict, compare=False, repr=False, hash=False)

    def __post_init__(self):
        if len(self.group_bits) != len(self.group_sizes) or not self.group_sizes:
            raise ValueError(f"chain {self.name}: one size per group, at least one group")
        if any(s < 1 for s in self.group_sizes) or any(b <= 0 for b in self.group_bits):
            raise ValueError(f"chain {self.name}: group sizes and bits must be positive")

    @classmethod
    def of_params(cls, params: Any) -> "Chain":
        """The chain of a ``CkksParams`` (its ``q_groups`` and ``p_primes``)."""
        return _of_params(params.name, tuple(tuple(g) for g in params.q_groups),
                          tuple(params.p_primes))

    @property
    def q_primes(self) -> int:
        return sum(self.group_sizes)

    def limbs(self, primes: Any, word_bits: int) -> np.ndarray:
        """Limbs at ``word_bits`` of each prime count in ``primes`` (the ``"word"`` rule of
        the module docstring), elementwise. Counts above ``#Q + #P`` (rows of another basis
        as well, such as KLSS's auxiliary ``T`` at one digit) are packed beyond them;
        negative counts are refused."""
        p = np.asarray(primes, dtype=np.int64)
        w = int(word_bits)
        table = self._table(w)
        if p.size and p.min() < 0:
            raise ValueError(f"chain {self.name}: a negative prime count ({int(p.min())})")
        top = len(table) - 1
        beyond = np.maximum(p - top, 0)
        return table[np.minimum(p, top)] + packed_limbs(beyond, w)

    def special_limbs(self, primes: Any, word_bits: int) -> np.ndarray:
        """Limbs at ``word_bits`` of the first ``k`` special primes, for each ``k`` in
        ``primes`` (packed: ``P`` drops out as a whole), elementwise."""
        k = np.asarray(primes, dtype=np.int64)
        t = self._table(int(word_bits))
        if k.size and (k.min() < 0 or k.max() > len(self.special_bits)):
            raise ValueError(f"chain {self.name}: {int(k.max())} special primes, more than its "
                             f"{len(self.special_bits)}")
        return t[self.q_primes + k] - t[self.q_primes]

    def _table(self, w: int) -> np.ndarray:
        """``table[c]``: the limbs of the first ``c`` primes (Q bottom first, then P)."""
        t = self._tables.get(w)
        if t is None:
            out = [0]
            done = 0
            for bits, size in zip(self.group_bits, self.group_sizes):
                per = bits / size
                for k in range(1, size + 1):
                    out.append(done + math.ceil(per * k / w - 1e-9))
                done += math.ceil(bits / w - 1e-9)
            acc = 0.0
            for b in self.special_bits:
                acc += b
                out.append(done + math.ceil(acc / w - 1e-9))
            t = self._tables[w] = np.asarray(out, dtype=np.int64)
        return t

    def top_limbs(self, word_bits: int) -> tuple[int, int]:
        """``(Q limbs, P limbs)`` of the top level at ``word_bits`` (the ``"word"`` rule)."""
        t = self._table(int(word_bits))
        return int(t[self.q_primes]), int(t[-1] - t[self.q_primes])


@lru_cache(maxsize=64)
def _of_params(name: str, q_groups: tuple, p_primes: tuple) -> Chain:
    return Chain(name, tuple(sum(math.log2(q) for q in g) for g in q_groups),
                 tuple(len(g) for g in q_groups), tuple(math.log2(p) for p in p_primes))


__all__ = ["Chain", "TRACE_PRIME_BITS", "packed_limbs"]
