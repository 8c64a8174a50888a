"""Public- and secret-key encryption, and decryption.

Public key ``(b, a) = (-a s + e, a)``; encryption of ``m`` at level ``l``::

    u <- ternary, e0, e1 <- Gaussian(sigma)
    ct = (u b + e0 + m, u a + e1)          (mod Q_l, evaluation form)

Secret-key encryption: ``a`` uniform, ``ct = (-a s + e + m, a)``. Decryption:
``m' = c0 + c1 s (+ c2 s^2)``.
"""
from __future__ import annotations

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


class Decryptor:
    """Decrypts ciphertexts of degree 1 or 2 with the secret key."""

    def __init__(self, ctx: CkksContext, sk: SecretKey):
        if not isinstance(sk, SecretKey):
            raise TypeError(f"Decryptor: expected SecretKey, got {type(sk).__name__}")
        ctx.check_same("Decryptor", sk)
        self.ctx = ctx
        self.sk = sk

    def decrypt(self, ct: Ciphertext) -> Plaintext:
        """``c0 + c1 s (+ c2 s^2)`` as a plaintext at ``ct``'s level, scale and slots."""
        if not isinstance(ct, Ciphertext):
            raise TypeError(f"decrypt: expected Ciphertext, got {type(ct).__name__}")
        self.ctx.check_same("decrypt", ct)
        check_binding("decrypt", self.sk, ct, "secret key")
        if ct.is_placeholder:
            raise DryRunError("decrypt: ciphertext is a dry-run placeholder (no data)")
        L = len(ct.primes)
        with trace.op("decrypt", n=self.ctx.n, primes_in=L, primes_out=L, level_in=ct.level,
                      level_out=ct.level):
            s = self.sk.poly.keep_primes(L)
            m = ct.polys[0].add(ct.polys[1].mul(s))
            if ct.degree == 2:
                m = m.add(ct.polys[2].mul(s.mul(s)))
        return Plaintext(m, ct.level, ct.scale, ct.slots, ct.params)
