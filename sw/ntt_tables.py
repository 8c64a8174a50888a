"""Twiddle tables for the negacyclic NTT, shared by the software and the hardware.

Conventions (shared by every NTT of the project):

* ``psi`` is :func:`sw.primes.psi` (the smallest primitive ``2n``-th root mod ``q``);
  the negacyclic twist is merged into the twiddles.
* Forward NTT: Cooley-Tukey, natural order in, bit-reversed order out. Stage ``s``
  (``s = 0 .. log2(n)-1``) has ``m = 2^s`` groups of half-size ``t = n / 2^(s+1)``;
  group ``i`` uses twiddle ``fwd[m + i]``.
* Inverse NTT: Gentleman-Sande, bit-reversed in, natural out. Stage ``s`` has
  ``h = n / 2^(s+1)`` groups of half-size ``t = 2^s``; group ``i`` uses ``inv[h + i]``;
  the result is multiplied by ``n_inv``.
* ``fwd[k] = psi^bitrev(k)`` and ``inv[k] = psi^(-bitrev(k))`` (bit reversal over
  ``log2(n)`` bits), both for ``k = 0 .. n-1``; entry 0 is 1 and unused.
* Shoup companions: ``w' = floor(w * 2^W / q)`` for word width ``W``.

With these orderings ``NTT(a)[k] = a(psi^(2*bitrev(k)+1))``: the outputs are the
evaluations of ``a`` at the odd powers of ``psi``, in bit-reversed order.
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from .primes import check_ntt_modulus, psi as canonical_psi


def bit_reverse(k: int, bits: int) -> int:
    """Reverse the low ``bits`` bits of ``k``."""
    return int(format(k, f"0{bits}b")[::-1], 2) if bits else 0


@lru_cache(maxsize=None)
def bitrev_permutation(n: int) -> np.ndarray:
    """Index array ``p`` with ``p[k] = bitrev(k)`` over ``log2(n)`` bits (read-only, int64)."""
    bits = n.bit_length() - 1
    p = np.zeros(n, dtype=np.int64)
    for b in range(bits):
        p |= ((np.arange(n) >> b) & 1) << (bits - 1 - b)
    p.setflags(write=False)
    return p


def shoup(w: int, q: int, width: int) -> int:
    """Shoup companion ``floor(w * 2^width / q)`` of a constant ``w < q``.

    The one formula of every Shoup companion in the project (software kernels, golden
    models, hardware ROMs); :func:`shoup_array` is its vectorised form.
    """
    return (w << width) // q


def shoup_array(w, q: int, width: int) -> np.ndarray:
    """:func:`shoup` of every entry of ``w`` (values below ``2^(64 - width)``) as uint64."""
    return (np.asarray(w, dtype=np.uint64) << np.uint64(width)) // np.uint64(q)


@dataclass(frozen=True)
class NttTables:
    """Twiddles for one prime ``q`` and ring degree ``n`` (all entries Python ints < q).

    Attributes
    ----------
    n, q : ring degree (power of two) and NTT-friendly prime (q = 1 mod 2n).
    psi, psi_inv : the primitive 2n-th root and its inverse.
    n_inv : n^-1 mod q (the inverse NTT's final scale).
    fwd, inv : tuples of length n in bit-reversed order (see module docstring).
    """

    n: int
    q: int
    psi: int
    psi_inv: int
    n_inv: int
    fwd: tuple[int, ...]
    inv: tuple[int, ...]

    @property
    def log_n(self) -> int:
        return self.n.bit_length() - 1

    def fwd_array(self) -> np.ndarray:
        """Forward twiddles as a uint64 array (bit-reversed order)."""
        return np.array(self.fwd, dtype=np.uint64)

    def inv_array(self) -> np.ndarray:
        """Inverse twiddles as a uint64 array (bit-reversed order)."""
        return np.array(self.inv, dtype=np.uint64)

    def fwd_shoup(self, width: int) -> tuple[int, ...]:
        """Shoup companions of ``fwd`` for word width ``width``."""
        return tuple(shoup(w, self.q, width) for w in self.fwd)

    def inv_shoup(self, width: int) -> tuple[int, ...]:
        """Shoup companions of ``inv`` for word width ``width``."""
        return tuple(shoup(w, self.q, width) for w in self.inv)


@lru_cache(maxsize=256)
def ntt_tables(q: int, n: int) -> NttTables:
    """Build (and cache) the canonical twiddle tables for prime ``q`` and degree ``n``.

    Raises ``ValueError`` naming the parameter if ``n`` is not a power of two, ``q`` is not
    prime, or ``q != 1 mod 2n``.
    """
    check_ntt_modulus(q, n)
    p = canonical_psi(q, n)
    p_inv = pow(p, -1, q)
    bits = n.bit_length() - 1
    powers = [1] * n
    powers_inv = [1] * n
    for k in range(1, n):
        powers[k] = powers[k - 1] * p % q
        powers_inv[k] = powers_inv[k - 1] * p_inv % q
    rev = bitrev_permutation(n)
    fwd = tuple(powers[int(rev[k])] for k in range(n))
    inv = tuple(powers_inv[int(rev[k])] for k in range(n))
    return NttTables(n=n, q=q, psi=p, psi_inv=p_inv, n_inv=pow(n, -1, q), fwd=fwd, inv=inv)
