"""Public- and secret-key encryption, and decryption.

Public key ``(b, a) = (-a s + e, a)``; encryption of ``m`` at level ``l``::

    u <- ternary, e0, e1 <- Gaussian(sigma)
    ct = (u b + e0 + m, u a + e1)          (mod Q_l, evaluation form)

Secret-key encryption: ``a`` uniform, ``ct = (-a s + e + m, a)``. Decryption:
``m' = c0 + c1 s (+ c2 s^2)``.

Noise flooding (IND-CPA-D)
--------------------------
CKKS decryption reveals the message *plus the noise*, and the noise leaks the secret to an
adversary who sees decryptions (Li and Micciancio, "On the Security of Homomorphic
Encryption on Approximate Numbers", Eurocrypt 2021). ``Decryptor(..., flood=True)`` or
``decrypt(ct, flood=True)`` adds to ``m'`` fresh rounded Gaussian noise of standard deviation
(:func:`flooding_sigma`)::

    sigma_flood = 2^(s/2) * sqrt(queries) * B

with ``s`` the statistical security parameter (``security_bits``, default 30), ``queries``
the decryptions of related ciphertexts an adversary may see, and ``B`` a bound on the
coefficient noise of the ciphertext (``noise_bound``; default :func:`default_noise_bound`,
the 6-sigma bound of a fresh encryption or a rescale). This is the sizing of OpenFHE's
``NOISE_FLOODING_DECRYPT`` mode (flooding noise ``2^(s/2)`` times the noise estimate); for a
deep circuit whose noise exceeds the default, measure ``B`` (:meth:`Decryptor.noise` on a
run with a known message, as OpenFHE's noise-estimation run does) and pass it. The
flooding randomness comes from :mod:`secrets` unless ``flood_seed`` is given (tests only).
The price is precision: each real and imaginary part of a decoded slot gets an error of
standard deviation ``sigma_flood * sqrt(n / 2) / scale`` (:func:`flooding_error_bound` gives
7 of those: exceeded with probability below ``1e-11`` per value). Off by default, so golden
vectors are unchanged.
"""
from __future__ import annotations

import math

import numpy as np

from .. import trace
from ..ring import sampling
from .ciphertext import Ciphertext, Plaintext
from .context import CkksContext
from .errors import DryRunError
from .keys import PublicKey, SecretKey, check_binding


class Encryptor:
    """Encrypts plaintexts under a public key (``PublicKey``) or a secret key (``SecretKey``).

    Parameters
    ----------
    ctx : CkksContext
    key : PublicKey or SecretKey
    seed : bytes, int or None   seed of the encryption randomness (None: :mod:`secrets`).
    """

    def __init__(self, ctx: CkksContext, key, seed: bytes | int | None = None):
        if not isinstance(key, (PublicKey, SecretKey)):
            raise TypeError(f"Encryptor: key must be a PublicKey or SecretKey, got {type(key).__name__}")
        ctx.check_same("Encryptor", key)
        self.ctx = ctx
        self.key = key
        self.prng = sampling.Prng(seed, b"encrypt")

    def _gauss(self, basis):
        e = None if trace.is_dry_run() else sampling.gaussian(self.prng, self.ctx.n, self.ctx.params.sigma)
        return sampling.signed_poly(basis, e).to_ntt()

    def encrypt(self, pt: Plaintext) -> Ciphertext:
        """Encrypt ``pt`` at its level, scale and slot count."""
        if not isinstance(pt, Plaintext):
            raise TypeError(f"encrypt: expected Plaintext, got {type(pt).__name__}")
        self.ctx.check_same("encrypt", pt)
        qb = pt.poly.basis
        L = len(qb)
        with trace.op("encrypt", n=self.ctx.n, primes_in=L, primes_out=L, level_in=pt.level,
                      level_out=pt.level):
            if isinstance(self.key, PublicKey):
                u = None if trace.is_dry_run() else sampling.ternary(self.prng, self.ctx.n)
                u = sampling.signed_poly(qb, u).to_ntt()
                b = self.key.b.keep_primes(L)
                a = self.key.a.keep_primes(L)
                c0 = u.mul(b).add(self._gauss(qb)).add(pt.poly)
                c1 = u.mul(a).add(self._gauss(qb))
            else:
                a = sampling.uniform_poly(self.prng, qb, is_ntt=True)
                s = self.key.poly.keep_primes(L)
                c0 = self._gauss(qb).sub(a.mul(s)).add(pt.poly)
                c1 = a
        return Ciphertext((c0, c1), pt.level, pt.scale, pt.slots, pt.params, self.key.key_id)

    def encrypt_zero(self, level: int, scale: float, slots: int | None = None) -> Ciphertext:
        """An encryption of zero at ``level`` with the given ``scale`` and ``slots``."""
        from .encoder import Encoder
        pt = Encoder(self.ctx).encode(np.zeros(1), level=level, scale=scale, slots=slots)
        return self.encrypt(pt)


def default_noise_bound(params) -> float:
    """6-sigma bound on the coefficient noise of a fresh public-key encryption
    (``e0 + u e + e1 s``: variance ``sigma^2 (1 + 4n/3)``, ternary ``u``, ``s``) or of a
    rescale (rounding ``r0 + r1 s``: variance ``(1 + 2n/3) / 12``), whichever is larger."""
    n = params.n
    return 6.0 * max(params.sigma * math.sqrt(1 + 4 * n / 3), math.sqrt((1 + 2 * n / 3) / 12))


def flooding_sigma(params, noise_bound: float | None = None, security_bits: int = 30,
                   queries: int = 1) -> float:
    """Standard deviation of the flooding noise (module docstring):
    ``2^(security_bits / 2) * sqrt(queries) * noise_bound``."""
    if isinstance(security_bits, bool) or not isinstance(security_bits, int) or not 1 <= security_bits <= 128:
        raise ValueError(f"flooding: security_bits={security_bits!r} must be an integer in [1, 128]")
    if isinstance(queries, bool) or not isinstance(queries, int) or queries < 1:
        raise ValueError(f"flooding: queries={queries!r} must be a positive integer")
    b = default_noise_bound(params) if noise_bound is None else noise_bound
    if not (isinstance(b, (int, float)) and math.isfinite(b) and b > 0):
        raise ValueError(f"flooding: noise_bound={noise_bound!r} must be a positive finite number")
    return float(2.0 ** (security_bits / 2) * math.sqrt(queries) * b)


def flooding_error_bound(params, scale: float, **kw) -> float:
    """Bound on the flooding error of each real or imaginary part of a decoded slot:
    ``7 * flooding_sigma(params, **kw) * sqrt(n / 2) / scale``."""
    return 7.0 * flooding_sigma(params, **kw) * math.sqrt(params.n / 2) / scale


class Decryptor:
    """Decrypts ciphertexts of degree 1 or 2 with the secret key.

    Parameters
    ----------
    ctx : CkksContext
    sk : SecretKey
    flood : bool
        Default of :meth:`decrypt`'s ``flood``: add IND-CPA-D noise flooding (module
        docstring). Off by default.
    security_bits : int
        Statistical security parameter ``s`` of the flooding (default 30).
    noise_bound : float or None
        Bound on the ciphertexts' coefficient noise (default :func:`default_noise_bound`).
    queries : int
        Decryptions an adversary may see (default 1).
    flood_seed : bytes, int or None
        Seed of the flooding randomness; None (the default, required for security): fresh
        randomness from :mod:`secrets`.
    """

    def __init__(self, ctx: CkksContext, sk: SecretKey, *, flood: bool = False, security_bits: int = 30,
                 noise_bound: float | None = None, queries: int = 1, flood_seed: bytes | int | None = None):
        if not isinstance(sk, SecretKey):
            raise TypeError(f"Decryptor: expected SecretKey, got {type(sk).__name__}")
        ctx.check_same("Decryptor", sk)
        self.ctx = ctx
        self.sk = sk
        self.flood = bool(flood)
        self.flood_args = dict(security_bits=security_bits, noise_bound=noise_bound, queries=queries)
        flooding_sigma(ctx.params, **self.flood_args)          # check the arguments now
        self._flood_prng = sampling.Prng(flood_seed, b"flood")

    def noise(self, ct: Ciphertext, expected: Plaintext) -> float:
        """Largest absolute coefficient of ``decrypt(ct) - expected``: the ciphertext's
        measured noise, to size ``noise_bound`` from a run with a known message."""
        from .encoder import rns_to_float
        m = self.decrypt(ct, flood=False)
        d = m.poly.sub(expected.poly.keep_primes(len(m.primes))).to_coeff()
        return float(np.max(np.abs(rns_to_float(d.data, d.basis.primes))))

    def decrypt(self, ct: Ciphertext, flood: bool | None = None) -> Plaintext:
        """``c0 + c1 s (+ c2 s^2)`` as a plaintext at ``ct``'s level, scale and slots; with
        ``flood`` (default: the Decryptor's), plus flooding noise of standard deviation
        :func:`flooding_sigma` (module docstring)."""
        if not isinstance(ct, Ciphertext):
            raise TypeError(f"decrypt: expected Ciphertext, got {type(ct).__name__}")
        self.ctx.check_same("decrypt", ct)
        if ct.is_placeholder:
            raise DryRunError("decrypt: ciphertext is a dry-run placeholder (no data)")
        check_binding("decrypt", self.sk, ct, "secret key")
        L = len(ct.primes)
        with trace.op("decrypt", n=self.ctx.n, primes_in=L, primes_out=L, level_in=ct.level,
                      level_out=ct.level):
            s = self.sk.poly.keep_primes(L)
            m = ct.polys[0].add(ct.polys[1].mul(s))
            if ct.degree == 2:
                m = m.add(ct.polys[2].mul(s.mul(s)))
            if self.flood if flood is None else flood:
                sig = flooding_sigma(self.ctx.params, **self.flood_args)
                e = sampling.gaussian(self._flood_prng, self.ctx.n, sig)
                m = m.add(sampling.signed_poly(m.basis, e).to_ntt())
        return Plaintext(m, ct.level, ct.scale, ct.slots, ct.params)
