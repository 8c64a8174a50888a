"""NTT-friendly primes and primitive roots of unity.

A prime ``q`` is NTT-friendly for ring degree ``n`` (a power of two) when
``q = 1 (mod 2n)``: then the multiplicative group mod ``q`` holds a primitive
``2n``-th root of unity ``psi`` and the negacyclic NTT of length ``n`` exists.

All functions work on Python integers and are exact for any size.
"""
from __future__ import annotations

from functools import lru_cache

# Deterministic Miller-Rabin bases: correct for every n < 3.3e24 (Sorenson & Webster 2015).
_MR_BASES = (2, 3, 5, 7, 11, 13, 17, 19, 23, 29, 31, 37, 41)


def is_prime(n: int) -> bool:
    """Return True if ``n`` is prime (deterministic for n < 3.3e24, probabilistic-strong beyond)."""
    return _is_prime(int(n))


@lru_cache(maxsize=8192)
def _is_prime(n: int) -> bool:
    # cached: the CKKS layer checks the same few dozen moduli thousands of times per trace
    if n < 2:
        return False
    for p in _MR_BASES:
        if n % p == 0:
            return n == p
    d, s = n - 1, 0
    while d % 2 == 0:
        d //= 2
        s += 1
    for a in _MR_BASES:
        x = pow(a, d, n)
        if x in (1, n - 1):
            continue
        for _ in range(s - 1):
            x = x * x % n
            if x == n - 1:
                break
        else:
            return False
    return True


def is_power_of_two(n: int) -> bool:
    """True when ``n`` is a positive integer power of two (1 counts)."""
    return isinstance(n, int) and n > 0 and n & (n - 1) == 0


def check_ring_degree(n: int, *, min_log: int = 1, max_log: int = 17) -> int:
    """Validate a ring degree and return ``log2(n)``.

    Raises ``ValueError`` naming ``n`` if it is not a power of two in ``[2^min_log, 2^max_log]``.
    """
    if not isinstance(n, int) or isinstance(n, bool) or not is_power_of_two(n):
        raise ValueError(f"ring degree n={n!r} must be a power of two")
    log_n = n.bit_length() - 1
    if not min_log <= log_n <= max_log:
        raise ValueError(f"ring degree n={n} must lie in [2^{min_log}, 2^{max_log}]")
    return log_n


def check_ntt_modulus(q: int, n: int, *, width: int | None = None) -> None:
    """Validate that ``q`` supports a negacyclic NTT of length ``n`` (and fits ``width`` bits).

    Rules, each reported by name when violated: ``n`` is a power of two; ``q`` is prime;
    ``q = 1 (mod 2n)``; ``q < 2^width`` when a word width is given.
    """
    check_ring_degree(n, min_log=1, max_log=20)
    if not isinstance(q, int) or isinstance(q, bool) or q < 3:
        raise ValueError(f"modulus q={q!r} must be an integer >= 3")
    if not is_prime(q):
        raise ValueError(f"modulus q={q} is not prime")
    if q % (2 * n) != 1:
        raise ValueError(f"modulus q={q} is not 1 mod 2n={2 * n} (q mod 2n = {q % (2 * n)})")
    if width is not None and q >= (1 << width):
        raise ValueError(
            f"word width W={width} is too small for modulus q={q} (needs W >= {q.bit_length()})"
        )


def ntt_primes(n: int, bits: int, count: int, *, below: int | None = None,
               exclude: tuple[int, ...] | frozenset[int] = ()) -> list[int]:
    """The ``count`` largest primes ``q < 2^bits`` (and ``q < below`` if given) with ``q = 1 mod 2n``.

    Primes are returned in descending order; ``exclude`` skips primes already used elsewhere
    (for instance the special primes of a key-switching basis).
    """
    check_ring_degree(n, min_log=1, max_log=20)
    if count < 1:
        raise ValueError(f"count={count} must be at least 1")
    m = 2 * n
    if bits < m.bit_length() + 1:
        raise ValueError(f"bits={bits} is too small for primes = 1 mod 2n={m}")
    limit = (1 << bits) if below is None else min(below, 1 << bits)
    # largest candidate = 1 mod m strictly below limit
    cand = ((limit - 2) // m) * m + 1
    excluded = frozenset(exclude)
    out: list[int] = []
    while len(out) < count:
        if cand <= m:
            raise ValueError(f"only {len(out)} primes = 1 mod {m} exist below 2^{bits}; {count} requested")
        if cand not in excluded and is_prime(cand):
            out.append(cand)
        cand -= m
    return out


def ntt_primes_near(n: int, log_scale: float, count: int, *, max_bits: int = 31,
                    exclude: tuple[int, ...] | frozenset[int] = ()) -> list[int]:
    """``count`` primes ``= 1 mod 2n`` alternately just above and below ``2^log_scale``.

    Alternating keeps the product of consecutive primes close to a power of two, which keeps
    the CKKS scale stable across rescales. Every prime is below ``2^max_bits``.
    """
    check_ring_degree(n, min_log=1, max_log=20)
    m = 2 * n
    centre = int(round(2 ** log_scale))
    up = ((centre // m) + 1) * m + 1
    down = ((centre - 2) // m) * m + 1
    excluded = set(exclude)
    out: list[int] = []
    take_up = True
    while len(out) < count:
        if take_up:
            while not (up < (1 << max_bits)) or up in excluded or not is_prime(up):
                if up >= (1 << max_bits):
                    take_up = False
                    break
                up += m
            else:
                out.append(up)
                excluded.add(up)
                up += m
                take_up = False
                continue
        while down in excluded or not is_prime(down):
            down -= m
            if down <= m:
                raise ValueError(f"ran out of primes = 1 mod {m} near 2^{log_scale}")
        out.append(down)
        excluded.add(down)
        down -= m
        take_up = True
    return out


def _prime_factors(n: int) -> list[int]:
    out, p = [], 2
    while p * p <= n:
        if n % p == 0:
            out.append(p)
            while n % p == 0:
                n //= p
        p += 1 if p == 2 else 2
    if n > 1:
        out.append(n)
    return out


@lru_cache(maxsize=None)
def generator(q: int) -> int:
    """The smallest generator of the multiplicative group mod the prime ``q``."""
    if not is_prime(q):
        raise ValueError(f"modulus q={q} is not prime")
    factors = _prime_factors(q - 1)
    for g in range(2, q):
        if all(pow(g, (q - 1) // f, q) != 1 for f in factors):
            return g
    raise AssertionError("unreachable: every prime field has a generator")


@lru_cache(maxsize=None)
def minimal_primitive_root(q: int, order: int) -> int:
    """The smallest primitive ``order``-th root of unity mod ``q`` (``order`` a power of two).

    Choosing the smallest makes the tables canonical: every tool that follows this rule
    (SEAL does the same) gets the same twiddles.
    """
    if (q - 1) % order:
        raise ValueError(f"modulus q={q} has no primitive {order}-th root (q-1 not divisible by {order})")
    root = pow(generator(q), (q - 1) // order, q)
    sq = root * root % q
    best, cur = root, root
    for _ in range(order // 2 - 1):  # the primitive roots are root^k for odd k
        cur = cur * sq % q
        if cur < best:
            best = cur
    return best


def psi(q: int, n: int) -> int:
    """Canonical primitive ``2n``-th root of unity mod ``q`` used by every NTT in fhesim."""
    check_ntt_modulus(q, n)
    return minimal_primitive_root(q, 2 * n)
