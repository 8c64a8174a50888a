"""The compiled Barrett helper and the 64-bit fold of the key-switching kernels, against
Python integers, at the edges of their input ranges.

The helper writes its products as 32 x 32-bit ones (masks that change no value under its
precondition ``x < 2^(2k)``); these cases are the ones where a wrong mask or a shift off
by one would show: the largest admissible ``x`` for every bit length, products of the
largest residues, and the largest 64-bit word through the fold.
"""
from __future__ import annotations

import random

import numpy as np
import pytest

from sw.kernels.modarith import barrett
from sw.modulus import Modulus
from sw.primes import ntt_primes
from sw.ring._nb import _fold64

_RNG = random.Random(31)
PRIMES = [q for bits in (17, 19, 23, 27, 29, 30, 31)
          for q in _RNG.sample(ntt_primes(1 << 10, bits, 8), 3)]

_U = np.uint64


def _consts(q: int):
    m = Modulus.get(q)
    return _U(q), _U(m.barrett_mu), _U(m.barrett_s1), _U(m.barrett_s2)


@pytest.mark.parametrize("q", PRIMES)
def test_barrett_edges_and_random(q):
    qq, mu, s1, s2 = _consts(q)
    k = q.bit_length()
    rng = random.Random(q)
    xs = [0, 1, q - 1, q, q + 1, 2 * q, (q - 1) ** 2, (q - 1) ** 2 + q - 1, q * q,
          (1 << (2 * k)) - 1, (1 << (2 * k)) - q, (1 << (2 * k - 1))]
    xs += [rng.randrange(1 << (2 * k)) for _ in range(200)]
    for x in xs:
        assert int(barrett(_U(x), qq, mu, s1, s2)) == x % q, (q, x)


@pytest.mark.parametrize("q", [p for p in PRIMES if p > (1 << 29)])
def test_fold64_reduces_every_word(q):
    qq, mu, s1, s2 = _consts(q)
    c2 = _U(pow(2, 32, q))
    rng = random.Random(q ^ 0x5A)
    xs = [0, q - 1, (1 << 64) - 1, (1 << 64) - q, (1 << 63), (1 << 32) - 1, (1 << 32) * (q - 1)]
    xs += [rng.randrange(1 << 64) for _ in range(200)]
    for x in xs:
        assert int(_fold64(_U(x), qq, c2, mu, s1, s2)) == x % q, (q, x)
