"""Seedable cryptographic randomness and the RLWE sampling distributions.

Generator
---------
:class:`Prng` is SHAKE-256 (FIPS 202, :mod:`hashlib`) used as a counter-mode XOF:
``key = SHA3-256("fhesim-prng-v1" || seed)``, block ``i`` = ``SHAKE-256(key || label ||
i)``. ``fork(label)`` derives independent streams (domain separation). With ``seed=None``
the seed is 32 bytes from :mod:`secrets`; an ``int`` or ``bytes`` seed makes every
sample reproducible (tests, replay on the RTL).

Distributions (all return coefficient vectors of length ``n`` or :class:`RnsPoly`)
--------------------------------------------------------------------------------
* uniform mod ``q``: 64-bit words, rejection above ``floor(2^64 / q) q`` (exactly uniform).
* uniform ternary ``{-1, 0, 1}``: bytes, rejection of ``255``, value ``b mod 3 - 1``.
* sparse ternary with Hamming weight ``h``: ``h`` distinct positions (the ``h`` smallest of
  ``n`` random 64-bit keys, i.e. a uniformly random ``h``-subset), uniform signs.
* discrete Gaussian, ``sigma = 3.2``: rounded continuous Gaussian (Box-Muller on 53-bit
  uniforms), tail-cut at ``6 sigma`` by rejection (the standard RLWE error in SEAL and
  Lattigo).

In a dry run (:func:`sw.trace.is_dry_run`) the ``*_poly`` helpers return placeholders
without drawing anything.
"""
from __future__ import annotations

import hashlib
import secrets

import numpy as np

from .. import trace
from .basis import RnsBasis
from .poly import RnsPoly

_U = np.uint64


class Prng:
    """SHAKE-256 counter-mode generator (see module docstring).

    Parameters
    ----------
    seed : bytes, int or None
        ``None`` draws 32 bytes from :mod:`secrets`.
    label : bytes
        Domain-separation label of this stream.
    """

    def __init__(self, seed: bytes | int | None = None, label: bytes = b""):
        if seed is None:
            seed = secrets.token_bytes(32)
        elif isinstance(seed, (int, np.integer)) and not isinstance(seed, bool):
            s = int(seed)
            seed = b"int:" + s.to_bytes((s.bit_length() + 8) // 8 + 1, "little", signed=True)
        elif not isinstance(seed, (bytes, bytearray)):
            raise TypeError(f"Prng: seed must be bytes, int or None, got {type(seed).__name__}")
        self._key = hashlib.sha3_256(b"fhesim-prng-v1" + bytes(seed)).digest()
        self._label = bytes(label)
        self._ctr = 0

    def fork(self, label: str | bytes) -> "Prng":
        """An independent generator for ``label`` (deterministic given this one's seed and
        the number of forks/blocks drawn so far)."""
        if isinstance(label, str):
            label = label.encode()
        child = Prng.__new__(Prng)
        child._key = hashlib.sha3_256(self._key + b"fork" + self._ctr.to_bytes(8, "little") + label).digest()
        child._label = label
        child._ctr = 0
        self._ctr += 1
        return child

    def bytes(self, nbytes: int) -> bytes:
        """``nbytes`` fresh pseudo-random bytes."""
        blk = hashlib.shake_256(self._key + len(self._label).to_bytes(2, "little") + self._label
                                + self._ctr.to_bytes(8, "little")).digest(int(nbytes))
        self._ctr += 1
        return blk

    def uint64(self, count: int) -> np.ndarray:
        """``count`` uniform 64-bit words."""
        return np.frombuffer(self.bytes(8 * count), dtype="<u8").astype(_U)

    def uniform01(self, count: int) -> np.ndarray:
        """``count`` floats uniform in ``(0, 1)`` (53-bit resolution, never 0)."""
        w = self.uint64(count) >> _U(11)
        return (w.astype(np.float64) + 0.5) * (2.0 ** -53)


def uniform_mod(prng: Prng, q: int, count: int) -> np.ndarray:
    """``count`` integers uniform in ``[0, q)`` (uint64), exact by rejection."""
    limit = (2 ** 64 // q) * q
    out = np.empty(count, dtype=_U)
    filled = 0
    while filled < count:
        need = count - filled
        w = prng.uint64(need + need // 64 + 8)
        if limit < 2 ** 64:
            w = w[w < _U(limit)]
        take = min(need, w.size)
        out[filled:filled + take] = w[:take] % _U(q)
        filled += take
    return out


def ternary(prng: Prng, n: int) -> np.ndarray:
    """``n`` coefficients uniform in ``{-1, 0, 1}`` (int64)."""
    out = np.empty(n, dtype=np.int64)
    filled = 0
    while filled < n:
        b = np.frombuffer(prng.bytes(n - filled + 16), dtype=np.uint8)
        b = b[b < 255]
        take = min(n - filled, b.size)
        out[filled:filled + take] = (b[:take] % 3).astype(np.int64) - 1
        filled += take
    return out


def sparse_ternary(prng: Prng, n: int, h: int) -> np.ndarray:
    """``n`` coefficients with exactly ``h`` nonzero entries, each ``+-1`` uniformly (int64)."""
    if not 0 < h <= n:
        raise ValueError(f"sparse_ternary: Hamming weight h={h} must be in [1, n={n}]")
    keys = prng.uint64(n)
    pos = np.argsort(keys, kind="stable")[:h]
    signs = (prng.uint64(h) & _U(1)).astype(np.int64) * 2 - 1
    out = np.zeros(n, dtype=np.int64)
    out[pos] = signs
    return out


def gaussian(prng: Prng, n: int, sigma: float = 3.2, tail: float = 6.0) -> np.ndarray:
    """``n`` rounded Gaussian samples of standard deviation ``sigma``, ``|x| <= tail sigma`` (int64)."""
    if not sigma > 0:
        raise ValueError(f"gaussian: sigma={sigma} must be > 0")
    bound = tail * sigma
    out = np.empty(n, dtype=np.int64)
    filled = 0
    while filled < n:
        m = (n - filled + 1) // 2 + 8
        u1 = prng.uniform01(m)
        u2 = prng.uniform01(m)
        r = np.sqrt(-2.0 * np.log(u1)) * sigma
        z = np.concatenate([r * np.cos(2 * np.pi * u2), r * np.sin(2 * np.pi * u2)])
        z = z[np.abs(z) <= bound]
        take = min(n - filled, z.size)
        out[filled:filled + take] = np.rint(z[:take]).astype(np.int64)
        filled += take
    return out


# -- polynomial helpers --------------------------------------------------------------------

def uniform_poly(prng: Prng, basis: RnsBasis, is_ntt: bool = True) -> RnsPoly:
    """Uniform polynomial mod every prime of ``basis`` (uniform in either form)."""
    if trace.is_dry_run():
        return RnsPoly(basis, None, is_ntt)
    data = np.stack([uniform_mod(prng, q, basis.n) for q in basis.primes])
    return RnsPoly(basis, data, is_ntt)


def signed_poly(basis: RnsBasis, coeffs) -> RnsPoly:
    """Coefficient-form polynomial from signed small coefficients (placeholder in a dry run)."""
    if trace.is_dry_run():
        return RnsPoly(basis, None, False)
    return RnsPoly.from_signed(basis, coeffs)
