"""Secret, public and switching keys (relinearisation, rotation, conjugation).

Every key is stored in evaluation form, so no key is ever transformed during evaluation.

* :class:`SecretKey`: ``s`` over ``Q_top + P`` (``ctx.full_basis``), plus its signed
  coefficients (int8) for tests.
* :class:`PublicKey`: ``(b, a) = (-a s + e, a)`` over ``Q_top``.
* :class:`SwitchingKey` from ``s'`` to ``s`` (hybrid key switching, Han-Ki / GHS): for each
  top-level digit ``D_i`` (``params.digits_at(max_level)``), over ``Q_top + P``::

      b_i = -a_i s + e_i + P * T_i * s'      a_i uniform

  with ``T_i = 1 mod q`` for ``q in D_i`` and ``0 mod`` every other ``Q`` prime (so
  ``P T_i s'`` is ``(P mod q) s'`` on the rows of ``D_i`` and 0 elsewhere). Digits are
  stacked: ``b``, ``a`` have shape ``(dnum, len(full_basis), n)``. At a lower level the
  same key is used on the rows ``ctx.key_rowmap(level)`` with truncated digits.
  A key truncated to a low level may hold only the first ``special`` special primes
  (``SwitchingKey.special``; :meth:`CkksParams.special_for` says how many suffice), and
  ``KeySet.low_rotation`` holds such rotation keys beside the full ones.
* :class:`BasisKey`: a single-digit switching key over its own basis ``Q' + P'`` (fewer
  ciphertext and special primes than ``full_basis``), e.g. bootstrapping's encapsulation key.

Key binding
-----------
Every key (and every ciphertext encrypted under it) carries ``key_id``, the identity of
its key set: 16 hex digits of SHA-256 of the seed of the secret key's generator stream
(:func:`key_id_of`; a one-way function of a 256-bit seed, so it reveals nothing about the
secret, and it draws no randomness, so no key or ciphertext word changes). Public,
relinearisation, rotation, conjugation and bootstrapping keys share the secret's id.
Decryptors, evaluators and loaders compare ids (:func:`check_binding`) and raise
:class:`~sw.ckks.errors.KeyMismatchError` for material of another key set; ``None``
(material made before ids existed, e.g. loaded from an old file) is not checked. Cost: one
hash per secret key, one string comparison per operation.
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass, field

import numpy as np

from .. import trace
from ..ring import RnsPoly, sampling
from .context import CkksContext
from .errors import KeyMismatchError, MissingKeyError
from .params import CkksParams

_U = np.uint64


def key_id_of(prng: sampling.Prng) -> str:
    """Identity of the key set whose secret is drawn from ``prng`` (see module docstring)."""
    return hashlib.sha256(b"fhesim-key-id-v1" + prng._key).hexdigest()[:16]


def check_binding(op: str, a, b, what_a: str = "key", what_b: str = "ciphertext") -> None:
    """Raise :class:`KeyMismatchError` if ``a`` and ``b`` carry different ``key_id`` (both set)."""
    ia, ib = getattr(a, "key_id", None), getattr(b, "key_id", None)
    if ia is not None and ib is not None and ia != ib:
        raise KeyMismatchError(f"{op}: the {what_a} belongs to key set {ia}, the {what_b} to key set {ib}; "
                               f"material of another key set gives garbage, not an error")


@dataclass(frozen=True)
class SecretKey:
    poly: RnsPoly                 # evaluation form over ctx.full_basis
    coeffs: np.ndarray | None     # signed coefficients (int8), None in a dry run
    params: CkksParams
    key_id: str | None = None     # identity of the key set (module docstring)


@dataclass(frozen=True)
class PublicKey:
    b: RnsPoly                    # evaluation form over Q_top
    a: RnsPoly
    params: CkksParams
    key_id: str | None = None


@dataclass(frozen=True)
class SwitchingKey:
    """Key switching from ``s'`` to ``s``: digit stacks ``b``, ``a`` (see module docstring)."""

    b: np.ndarray | None          # (dnum, len(full_basis), n) uint64, None in a dry run
    a: np.ndarray | None
    params: CkksParams
    galois: int | None = None     # Galois element for rotation/conjugation keys
    kind: str = "relin"           # "relin", "rotation", "conjugation"
    level: int | None = None      # None: over Q_top + P; else truncated to Q_level + P
    key_id: str | None = None     # identity of the key set of the target secret
    special: int | None = None    # None: all special primes; else the first ``special`` of them

    def compact(self) -> "SwitchingKey":
        """The same key stored as uint32 words (residues are < 2^32): half the memory; key
        switching widens the rows it uses on the fly. Refused for primes of 32 bits or more."""
        if self.b is None or self.b.dtype == np.uint32:
            return self
        widest = max(self.params.q_primes + self.params.p_primes)
        if widest >= 1 << 32:
            raise ValueError(f"SwitchingKey.compact: prime {widest} does not fit a 32-bit word")
        return SwitchingKey(self.b.astype(np.uint32), self.a.astype(np.uint32), self.params,
                            self.galois, self.kind, self.level, self.key_id, self.special)

    @property
    def nbytes(self) -> int:
        """Bytes of key material as stored (8-byte words, or 4 for :meth:`compact` keys;
        4 bytes per residue on 32-bit hardware)."""
        p = self.params
        if self.b is not None:
            return int(self.b.nbytes + self.a.nbytes)
        k = len(p.p_primes) if self.special is None else self.special
        if self.level is not None:
            nd = len(p.digits_at(self.level))
            return 2 * nd * (len(p.primes_at(self.level)) + k) * p.n * 8
        return 2 * p.dnum * (len(p.q_primes) + k) * p.n * 8


@dataclass(frozen=True)
class BasisKey:
    """Single-digit switching key from ``s'`` to ``s`` over its own basis ``Q' + P'``.

    ``b = -a s + e + P' s'`` in evaluation form over ``basis``: its first ``q_count`` rows are
    ciphertext primes ``Q'``, the other rows its own special primes ``P'`` (not necessarily
    all of ``ctx.p_basis``). It switches a ciphertext whose primes are the first
    ``L <= q_count`` primes of ``Q'`` as one digit: all ``L`` rows are raised to ``P'`` only
    (:mod:`.keyswitch`). Example: the bootstrapping encapsulation key over ``q0 P'``.

    Parameters
    ----------
    b, a : RnsPoly
        The key halves (evaluation form, same basis; ``data`` None in a dry run).
    q_count : int
        Number of leading rows of the basis that are ciphertext primes.
    kind : str
        Name used in error messages and reports.
    """

    b: RnsPoly
    a: RnsPoly
    q_count: int
    kind: str = "basis"

    @property
    def basis(self):
        """``Q' + P'`` (the rows of ``b`` and ``a``)."""
        return self.b.basis

    @property
    def special(self):
        """The special primes ``P'`` (rows ``q_count:`` of the basis)."""
        return self.b.basis.sub(self.q_count)


@dataclass
class KeySet:
    """The keys of one secret.

    Attributes: ``secret``, ``public``, ``relin`` (SwitchingKey or None), ``rotation``
    (dict Galois element -> SwitchingKey), ``conjugation`` (SwitchingKey or None), ``ctx``,
    ``low_rotation`` (dict Galois element -> SwitchingKey truncated to a low level over
    fewer special primes: preferred by :meth:`rotation_key` for a ciphertext at or below
    its level, even where ``rotation`` has a key for the same element).
    """

    ctx: CkksContext
    secret: SecretKey | None = None
    public: PublicKey | None = None
    relin: SwitchingKey | None = None
    rotation: dict = field(default_factory=dict)
    conjugation: SwitchingKey | None = None
    low_rotation: dict = field(default_factory=dict)

    @property
    def params(self) -> CkksParams:
        return self.ctx.params

    @property
    def key_id(self) -> str | None:
        """The key set's identity (of its secret, else of its first key that has one)."""
        for k in (self.secret, self.public, self.relin, self.conjugation, *self.rotation.values(),
                  *self.low_rotation.values()):
            if k is not None and k.key_id is not None:
                return k.key_id
        return None

    def galois_element(self, step: int) -> int:
        return self.ctx.galois_element(step)

    def rotation_key(self, step: int, slots: int | None = None, op: str = "rotate",
                     level: int | None = None) -> tuple[int, SwitchingKey]:
        """``(galois, key)`` for a left rotation by ``step`` of a ``slots``-slot vector at
        ``level`` (a ``low_rotation`` key serving that level comes first; ``None``: none).

        Steps equivalent modulo ``slots`` are tried (``step``, ``step mod slots``,
        ``step mod slots - slots``). Raises MissingKeyError naming the step.
        """
        half = self.ctx.n // 2
        slots = half if slots is None else slots
        r = int(step) % slots
        cands = [int(step) % half, r % half, (r - slots) % half]
        if level is not None and self.low_rotation:
            for s in cands:
                g = self.ctx.galois_element(s)
                k = self.low_rotation.get(g)
                if k is not None and level <= k.level:
                    return g, k
        for s in cands:
            g = self.ctx.galois_element(s)
            k = self.rotation.get(g)
            if k is not None:
                return g, k
        for s in cands:   # only a low key: the key switch names its level (LevelError)
            g = self.ctx.galois_element(s)
            k = self.low_rotation.get(g)
            if k is not None:
                return g, k
        have = sorted(self._steps_available())
        raise MissingKeyError(f"{op}: no rotation key for step {step} (slots={slots}, Galois element "
                              f"{self.ctx.galois_element(cands[0])}); keys exist for steps {have}")

    def _steps_available(self) -> list[int]:
        half = self.ctx.n // 2
        inv = {}
        g = 1
        for s in range(half):   # discrete log table (only on error paths)
            inv[g] = s
            g = g * 5 % (2 * self.ctx.n)
        return [inv.get(g, g) if inv.get(g, 0) <= half // 2 else inv[g] - half
                for g in {**self.rotation, **self.low_rotation}]

    def add_rotation_keys(self, kg: "KeyGenerator", steps) -> None:
        """Generate and add rotation keys for ``steps`` (needs ``self.secret``)."""
        self.rotation.update(kg.gen_rotation_keys(self.secret, steps))


class KeyGenerator:
    """Generates keys from a seedable SHAKE-256 generator (:class:`sw.ring.sampling.Prng`).

    Parameters
    ----------
    ctx : CkksContext
    seed : bytes, int or None   ``None``: fresh randomness from :mod:`secrets`.
    """

    def __init__(self, ctx: CkksContext, seed: bytes | int | None = None):
        self.ctx = ctx
        self.params = ctx.params
        self.prng = sampling.Prng(seed, b"keygen")

    # -- samplers ------------------------------------------------------------------------
    def _secret_coeffs(self, prng) -> np.ndarray | None:
        if trace.is_dry_run():
            return None
        p = self.params
        if p.secret == "sparse":
            return sampling.sparse_ternary(prng, p.n, p.hamming_weight)
        return sampling.ternary(prng, p.n)

    def _error_ntt(self, prng, basis) -> RnsPoly:
        e = None if trace.is_dry_run() else sampling.gaussian(prng, self.params.n, self.params.sigma)
        return sampling.signed_poly(basis, e).to_ntt()

    # -- keys ----------------------------------------------------------------------------
    def gen_secret_key(self) -> SecretKey:
        """Uniform ternary secret (or sparse ternary with ``params.hamming_weight``)."""
        prng = self.prng.fork("secret")
        kid = key_id_of(prng)
        c = self._secret_coeffs(prng)
        poly = sampling.signed_poly(self.ctx.full_basis, c).to_ntt()
        return SecretKey(poly, None if c is None else c.astype(np.int8), self.params, kid)

    def gen_public_key(self, sk: SecretKey) -> PublicKey:
        """``(-a s + e, a)`` over ``Q_top``."""
        self.ctx.check_same("gen_public_key", sk)
        prng = self.prng.fork("public")
        qb = self.ctx.q_basis(self.params.max_level)
        a = sampling.uniform_poly(prng, qb, is_ntt=True)
        e = self._error_ntt(prng, qb)
        s = sk.poly.keep_primes(len(qb))
        b = e.sub(a.mul(s))
        return PublicKey(b, a, self.params, sk.key_id)

    def gen_switching_key(self, sk: SecretKey, s_from: RnsPoly, *, galois: int | None = None,
                          kind: str = "relin", level: int | None = None,
                          special: int | str | None = None) -> SwitchingKey:
        """Key switching from ``s_from`` (evaluation form over ``full_basis``) to ``sk``.

        ``level``: if given, the key is truncated to ``Q_level + P`` (digits
        ``params.digits_at(level)``) and can only switch ciphertexts at levels <= ``level``
        (smaller keys for keys used low in the chain, e.g. bootstrapping's level-0 keys).
        ``special``: the number of leading special primes ``P'`` the key is made over (None:
        all), or ``"fit"`` for :meth:`CkksParams.special_for` of the key's level: the fewest
        that keep the worst-case ``d e / P'`` term below one unit, so the key's switches err
        by their rounding alone while raising to fewer primes (at ``n16-128`` level 2: 5
        special primes of 11). Fewer than ``special_for`` raises ``ValueError`` naming it."""
        p = self.params
        key_level = p.max_level if level is None else p.check_level(level, "gen_switching_key")
        k = _special_count(p, key_level, special)
        sb = self.ctx.special_basis(k)
        fb = self.ctx.full_basis if level is None and k is None else self.ctx.q_basis(key_level) + sb
        prng = self.prng.fork(f"swk-{kind}-{galois}" + ("" if level is None else f"-l{level}")
                              + ("" if k is None else f"-p{k}"))
        p_prod = sb.product
        nq = len(p.primes_at(key_level))
        digits = p.digits_at(key_level)
        ndig = p.dnum if level is None else len(digits)   # a full key keeps dnum stacks
        dry = trace.is_dry_run()
        sk_poly = sk.poly if fb is self.ctx.full_basis else sk.poly.select(fb)
        if fb is not self.ctx.full_basis:
            s_from = s_from.select(fb)
        B = None if dry else np.empty((ndig, len(fb), p.n), dtype=_U)
        A = None if dry else np.empty((ndig, len(fb), p.n), dtype=_U)
        for i in range(ndig):
            a = sampling.uniform_poly(prng, fb, is_ntt=True)
            e = self._error_ntt(prng, fb)
            b = e.sub(a.mul(sk_poly))
            if i < len(digits):
                s0, s1 = digits[i]
                consts = [(p_prod % q) if s0 <= r < s1 else 0 for r, q in enumerate(fb.primes)]
                consts[nq:] = [0] * (len(fb) - nq)
                b = b.add(s_from.mul_scalar(consts))
            if not dry:
                B[i] = b.data
                A[i] = a.data
        return SwitchingKey(B, A, p, galois, kind, level, sk.key_id, k)

    def gen_relin_key(self, sk: SecretKey) -> SwitchingKey:
        """Relinearisation key (from ``s^2`` to ``s``)."""
        self.ctx.check_same("gen_relin_key", sk)
        return self.gen_switching_key(sk, sk.poly.mul(sk.poly), kind="relin")

    def gen_galois_key(self, sk: SecretKey, galois: int, kind: str = "rotation",
                       level: int | None = None, special: int | str | None = None) -> SwitchingKey:
        """Key from ``s(X^galois)`` to ``s`` (truncated to ``Q_level + P`` if ``level``; over
        fewer special primes if ``special``, as :meth:`gen_switching_key`)."""
        s_g = sk.poly.automorphism(galois)
        return self.gen_switching_key(sk, s_g, galois=galois, kind=kind, level=level, special=special)

    def gen_rotation_keys(self, sk: SecretKey, steps, *, level: int | None = None,
                          compact: bool = False, skip=(),
                          special: int | str | None = None) -> dict[int, SwitchingKey]:
        """Rotation keys for left rotations by ``steps`` (ints, negative allowed), keyed by
        Galois element ``5^step mod 2n``.

        level : truncate the keys to ``Q_level + P`` (they then serve ciphertexts at levels
            ``<= level`` only; a key at level 16 of ``n16-128`` is 29 of 55 primes and 2 of 4
            digits, 3.8x smaller).
        compact : store the keys as uint32 words (:meth:`SwitchingKey.compact`); each key is
            compacted as soon as it is made, so at most one uint64 key exists at a time.
        skip : Galois elements not to generate (e.g. those already in a key set).
        special : special primes of the keys (:meth:`gen_switching_key`; ``"fit"`` with a
            low ``level`` makes every switch by these keys raise to fewer primes)."""
        self.ctx.check_same("gen_rotation_keys", sk)
        out = {}
        skip = set(skip)
        for st in steps:
            if isinstance(st, bool) or not isinstance(st, (int, np.integer)):
                raise TypeError(f"gen_rotation_keys: step {st!r} is not an int")
            g = self.ctx.galois_element(int(st))
            if g != 1 and g not in out and g not in skip:
                k = self.gen_galois_key(sk, g, level=level, special=special)
                out[g] = k.compact() if compact else k
        return out

    def gen_conjugation_key(self, sk: SecretKey) -> SwitchingKey:
        """Key for complex conjugation (Galois element ``2n - 1``)."""
        self.ctx.check_same("gen_conjugation_key", sk)
        return self.gen_galois_key(sk, self.ctx.conjugation_element, kind="conjugation")

    def gen_keyset(self, rotations=(), conjugation: bool = False, sk: SecretKey | None = None,
                   relin: bool = True) -> KeySet:
        """Secret (new unless ``sk``), public, relinearisation, rotation and conjugation keys."""
        sk = self.gen_secret_key() if sk is None else sk
        ks = KeySet(self.ctx, secret=sk, public=self.gen_public_key(sk))
        if relin:
            ks.relin = self.gen_relin_key(sk)
        ks.rotation = self.gen_rotation_keys(sk, rotations)
        if conjugation:
            ks.conjugation = self.gen_conjugation_key(sk)
        return ks


def _special_count(p: CkksParams, level: int, special: int | str | None) -> int | None:
    """The ``special`` of a key at ``level`` (None for all special primes); refuses a count
    below :meth:`CkksParams.special_for`, whose key switches would be noisier."""
    if special is None:
        return None
    need = p.special_for(level)
    if special == "fit":
        k = need
    elif isinstance(special, bool) or not isinstance(special, (int, np.integer)):
        raise ValueError(f"gen_switching_key: special={special!r} is neither a count of special "
                         f"primes nor 'fit'")
    else:
        k = int(special)
        if not need <= k <= len(p.p_primes):
            raise ValueError(f"gen_switching_key: special={k} special primes at level {level} of "
                             f"{p.name!r}: needs {need} to {len(p.p_primes)} (fewer than {need} "
                             f"do not cover a digit, CkksParams.special_for)")
    return None if k == len(p.p_primes) else k


def require(key, what: str, op: str):
    if key is None:
        raise MissingKeyError(f"{op}: no {what} key in the KeySet (generate it with KeyGenerator)")
    return key
