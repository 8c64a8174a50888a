"""The per-prime modulus object (sw.modulus) against Python-integer references."""
from __future__ import annotations

import random

import numpy as np
import pytest

from sw.modulus import Modulus, modulus_arrays
from sw.ntt_tables import ntt_tables
from sw.primes import ntt_primes
from sw.ring import RnsBasis

N = 1 << 10
# random NTT primes of several bit lengths (17 .. 31 bits), four of each
_RNG = random.Random(12)
PRIMES = [q for bits in (18, 20, 24, 28, 30, 31)
          for q in _RNG.sample(ntt_primes(N, bits, 12), 4)]


def _corners(q: int) -> list[int]:
    return [0, 1, 2, q // 2, q - 2, q - 1]


def _barrett_lazy(x: int, m: Modulus) -> int:
    """The kernels' Barrett step with the object's constants, in Python ints: in [0, 3q)."""
    t = ((x >> m.barrett_s1) * m.barrett_mu) >> m.barrett_s2
    r = x - t * m.q
    assert 0 <= r < 3 * m.q and (x >> m.barrett_s1) * m.barrett_mu < (1 << 64)
    return r


def _csub2(r: int, q: int) -> int:
    for _ in range(2):
        if r >= q:
            r -= q
    return r


@pytest.mark.parametrize("q", PRIMES)
def test_constants_equal_their_definitions(q):
    m = Modulus.get(q)
    k = q.bit_length()
    assert m.q == q and m.bits == k
    assert m.barrett_mu == (1 << (2 * k)) // q and m.barrett_mu < (1 << (k + 1))
    assert (m.barrett_s1, m.barrett_s2) == (k - 1, k + 1)
    assert m.r32 == pow(2, 32, q) and m.r64 == pow(2, 64, q)
    for w in _corners(q) + [_RNG.randrange(q) for _ in range(20)]:
        wp = m.shoup(w)
        assert wp * q <= w << 32 < (wp + 1) * q          # floor(w 2^32 / q)
        assert m.shoup(w, 20) == (w << 20) // q


@pytest.mark.parametrize("q", PRIMES)
def test_products_reduced_with_the_constants(q):
    m = Modulus.get(q)
    rng = random.Random(q)
    pairs = [(a, b) for a in _corners(q) for b in _corners(q)]
    pairs += [(rng.randrange(q), rng.randrange(q)) for _ in range(300)]
    for a, b in pairs:
        assert _csub2(_barrett_lazy(a * b, m), q) == a * b % q
        r = a * b - ((a * m.shoup(b)) >> 32) * q                 # Shoup, a < 2^32
        assert 0 <= r < 2 * q and r % q == a * b % q
    a = np.array([x for x, _ in pairs], dtype=np.uint64)
    b = np.array([y for _, y in pairs], dtype=np.uint64)
    bp = m.shoup_array(b)
    assert [int(v) for v in bp] == [(y << 32) // q for _, y in pairs]
    r = a * b - ((a * bp) >> np.uint64(32)) * np.uint64(q)
    assert [int(v) % q for v in r] == [x * y % q for x, y in pairs]


def test_largest_input_of_barrett():
    for q in PRIMES:
        m = Modulus.get(q)
        x = (1 << (2 * m.bits)) - 1                            # every x < 2^(2k) reduces
        assert _csub2(_barrett_lazy(x, m), q) == x % q


def test_modulus_validation_and_cache():
    assert Modulus.get(PRIMES[0]) is Modulus.get(PRIMES[0])
    for bad in (2, 4, 1 << 31, (1 << 31) + 1, -3, 1):
        with pytest.raises(ValueError, match="odd int"):
            Modulus(bad)
    with pytest.raises(ValueError, match=r"\[0, q="):
        Modulus.get(PRIMES[0]).shoup(PRIMES[0])


def test_ntt_tables_come_from_the_table_producer():
    q = PRIMES[-1]
    assert Modulus.get(q).ntt_tables(N) is ntt_tables(q, N)


def test_arrays_of_a_basis_are_shared_and_exact():
    primes = tuple(PRIMES[::3])
    c = modulus_arrays(primes)
    assert modulus_arrays(primes) is c
    basis = RnsBasis.get(primes, N)
    assert basis.consts is c and basis.q is c.q and basis.mu is c.mu
    assert [m.q for m in basis.moduli] == list(primes)
    assert [int(v) for v in c.mu] == [(1 << (2 * q.bit_length())) // q for q in primes]
    assert [int(v) for v in c.s1] == [q.bit_length() - 1 for q in primes]
    assert [int(v) for v in c.s2] == [q.bit_length() + 1 for q in primes]
    assert [int(v) for v in c.r32] == [(1 << 32) % q for q in primes]
    assert [int(v) for v in c.r32_shoup] == [(((1 << 32) % q) << 32) // q for q in primes]
    assert [int(v) for v in c.r64] == [(1 << 64) % q for q in primes]
    for arr in (c.q, c.mu, c.s1, c.s2, c.r32, c.r32_shoup, c.r64):
        assert not arr.flags.writeable
    consts = [-5, 3 << 70] + [7] * (len(primes) - 2)
    w, wp = c.const_pair(consts)
    assert c.const_pair(consts)[0] is w
    assert [int(v) for v in w] == [x % q for x, q in zip(consts, primes)]
    assert [int(v) for v in wp] == [((x % q) << 32) // q for x, q in zip(consts, primes)]
    ninv, ninvp = c.ntt_scale(N)
    assert [int(v) for v in ninv] == [pow(N, -1, q) for q in primes]
    assert [int(v) for v in ninvp] == [(pow(N, -1, q) << 32) // q for q in primes]
    with pytest.raises(ValueError, match="constants given"):
        c.const_pair([1])
