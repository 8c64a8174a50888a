"""CKKS bootstrapping: encapsulate -> ModRaise -> CoeffsToSlots -> EvalMod -> SlotsToCoeffs.

Layout (Lattigo style: circuits on top of :mod:`sw.ckks`); the algorithms, parameters and the
security argument are in ``docs/bootstrapping.md``.

1. **Sparse-secret encapsulation + ModRaise** (Bossuat-Troncoso-Pastoriza-Hubaux, ACNS 2022,
   ePrint 2022/024). The level-0 ciphertext (under the dense secret ``s``) is switched to an
   ephemeral sparse secret ``s'`` (Hamming weight ``h``) with a key over ``q0 * P'`` only
   (``P'``: two special primes), raised to the top modulus (coefficients lifted exactly from
   ``[-q0/2, q0/2)``, so it decrypts to ``m + q0 I`` with ``|I| <= h/2``), and switched back
   to ``s`` with a top-level key encrypted under ``s``.
2. **Sub-ring trace** (sparse slots): ``log2(N / 2n)`` rotations project ``q0 I`` onto the
   sub-ring ``Z[X^(N/2n)]`` of the ``n``-slot message.
3. **CoeffsToSlots**: the special inverse DFT as ``cts_levels`` merged FFT levels (BSGS,
   hoisted baby steps), then one conjugation separates real and imaginary parts.
4. **EvalMod**: scaled cosine + double angles (:mod:`.evalmod`).
5. **SlotsToCoeffs**: the special DFT as ``stc_levels`` merged levels; for real messages
   (and with ``remove_imaginary``) the last level adds its own conjugate before the final
   rescale (imaginary-removing bootstrapping, Lee et al., ICML 2022).

Variants (``BootstrapConfig``): ``real=True`` (real messages, ``n <= N/2`` slots, one EvalMod
on ``n`` slots, imaginary part removed); ``real=False`` (complex messages: ``n <= N/4``
packs the ``2n`` coefficients into ``2n`` real slots, one EvalMod; ``n = N/2`` needs two
EvalMods), optionally with ``remove_imaginary=True``.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from .. import trace
from ..ckks import Ciphertext, CkksContext, Encoder, Evaluator, KeyGenerator, KeySet, Plaintext
from ..ckks.errors import LevelError, MissingKeyError, ParameterMismatchError, SlotError
from ..ckks.keys import BasisKey, SecretKey, SwitchingKey, check_binding
from ..ckks.ciphertext import PackedPlaintext
from ..ckks.keyswitch import key_switch
from ..ckks.raised import RaisedEvaluator
from ..ring import RnsBasis, RnsPoly, mod_up, sampling
from ..ring import kernels as K
from . import dft
from .evalmod import EvalModSpec, overflow_probability
from .evalmod import evaluate as _evalmod


#: How the giant steps of a BSGS DFT level rotate (:attr:`BootstrapConfig.giant_steps`).
GIANT_STEPS = ("keys", "min")
#: How the rotations of a BSGS DFT level are hoisted (:attr:`BootstrapConfig.hoisting`).
HOISTING = ("single", "double", "double-cts")
#: How the baby rotations of a BSGS DFT level are made (:attr:`BootstrapConfig.baby_steps`).
BABY_STEPS = ("hoisted", "chain")


class BootstrapError(ValueError):
    """Bootstrapping cannot run on these inputs (message out of range, bad configuration)."""


@dataclass(frozen=True)
class BootstrapConfig:
    """Bootstrapping parameters.

    slots : power of two, ``<= N/2`` (``<= N/4`` for complex messages unless ``= N/2``).
    real : True for real-valued messages (imaginary part removed at the end).
    remove_imaginary : complex variant only: keep the real part of the result (Lee et al.).
    cts_levels, stc_levels : levels (merged FFT levels) of the two homomorphic DFTs.
    evalmod : :class:`EvalModSpec` (K, cosine degree, double angles).
    h_sparse : Hamming weight of the ephemeral sparse secret.
    log_message_ratio : ``log2(q0 / scale)`` the input is brought to before ModRaise.
    cache_plaintexts : keep encoded DFT diagonals between calls (memory vs. time).
    giant_steps : ``"keys"`` (one rotation key per giant step of each BSGS DFT level) or
        ``"min"`` (ARK's minimum key switching, Kim et al., MICRO 2022: the giant steps of a
        level are Horner steps, repeated rotations by ``+n1`` and by ``-n1``, so a level
        needs two giant-step keys whatever its number of giant steps; a side whose giant
        steps are not ``d, 2d, .., kd`` keeps one key per step, :func:`horner_stride`). Both
        run the same number of key switches; ``"min"`` stores fewer keys (36 -> 24 at 2^14
        real slots, N = 2^16).
    hoisting : ``"single"`` (the baby rotations of a DFT level share one decomposition;
        each rotation ends with a ModDown) or ``"double"`` (Bossuat et al., EUROCRYPT 2021:
        the baby rotations, the plaintext products and the giant rotations stay over
        ``Q_l + P``, and one ModDown, with the rescale fused, ends the level;
        :mod:`sw.ckks.raised`). ``"double"`` caches its diagonals over ``Q_l + P``: ``K``
        more rows each. ``"double-cts"``: double hoisting in CoeffsToSlots only (its levels
        are the widest, so the ``K`` extra rows cost the least there), single in
        SlotsToCoeffs: about half the extra plaintext memory.
    baby_steps : ``"hoisted"`` (the baby rotations of a level are made from ``x`` with one
        shared decomposition, one rotation key per baby step) or ``"chain"`` (ARK's minimum
        key switching applied to the baby steps as well: each baby rotation is a full
        rotation of the previous one by the difference of their steps, so a level whose
        baby steps are ``d, 2d, .., kd`` needs the one key of step ``d``;
        :func:`chain_steps`). The same number of key switches, each with its own
        decomposition (no hoisting); fewer keys. Only with ``hoisting="single"`` (double
        hoisting keeps hoisted babies over ``Q_l + P``).
    giant_cost : the weight of a giant-step rotation against a baby one when each DFT
        level's split ``n1`` is chosen (:func:`sw.bootstrap.dft.best_n1`). ``1`` (default)
        minimises the rotation count and so the number of rotation keys; a hoisted baby
        shares its decomposition and a giant step does not, so a larger weight picks a
        larger ``n1``: fewer giant steps, more babies, more keys.
    """

    slots: int
    real: bool = True
    remove_imaginary: bool = False
    cts_levels: int = 3
    stc_levels: int = 3
    evalmod: EvalModSpec = field(default_factory=EvalModSpec)
    h_sparse: int = 32
    log_message_ratio: float = 10.0
    cache_plaintexts: bool = True
    p_encaps: int = 2
    compact_keys: bool = False
    giant_steps: str = "keys"
    hoisting: str = "single"
    baby_steps: str = "hoisted"
    giant_cost: float = 1.0

    def __post_init__(self):
        if not (isinstance(self.giant_cost, (int, float)) and not isinstance(self.giant_cost, bool)
                and math.isfinite(self.giant_cost) and self.giant_cost > 0):
            raise ValueError(f"BootstrapConfig: giant_cost={self.giant_cost!r} must be a positive number")
        if self.giant_steps not in GIANT_STEPS:
            raise ValueError(f"BootstrapConfig: giant_steps={self.giant_steps!r} must be one of "
                             f"{', '.join(GIANT_STEPS)}")
        if self.hoisting not in HOISTING:
            raise ValueError(f"BootstrapConfig: hoisting={self.hoisting!r} must be one of "
                             f"{', '.join(HOISTING)}")
        if self.baby_steps not in BABY_STEPS:
            raise ValueError(f"BootstrapConfig: baby_steps={self.baby_steps!r} must be one of "
                             f"{', '.join(BABY_STEPS)}")
        if self.baby_steps == "chain" and self.hoisting != "single":
            raise ValueError(f"BootstrapConfig: baby_steps='chain' rotates each baby step from "
                             f"the previous one, which double hoisting cannot do "
                             f"(hoisting={self.hoisting!r}); use hoisting='single'")

    @property
    def depth(self) -> int:
        return self.cts_levels + self.evalmod.depth + self.stc_levels


# ---------------------------------------------------------------------------------------
# keys
# ---------------------------------------------------------------------------------------

@dataclass
class EncapsulationKey:
    """Key from the dense ``s`` to the sparse ``s'`` over ``q0 * P'`` (one digit)."""

    b: RnsPoly            # evaluation form over q0 + P'
    a: RnsPoly
    basis: RnsBasis
    q_count: int

    @property
    def nbytes(self) -> int:
        return 0 if self.b.data is None else 2 * self.b.data.nbytes

    def switching_key(self) -> BasisKey:
        """This key as key switching reads it (a single-digit key over ``basis``)."""
        return BasisKey(self.b, self.a, self.q_count, kind="encapsulation")


@dataclass
class BootstrapKeys:
    """Evaluation keys of bootstrapping: ``keyset`` (relinearisation, conjugation and exactly
    the rotation keys of :func:`rotation_steps`), the encapsulation key (``s -> s'`` at level
    0) and the decapsulation key (``s' -> s`` at the top level)."""

    keyset: KeySet
    to_sparse: EncapsulationKey
    from_sparse: SwitchingKey
    config: BootstrapConfig
    steps: list = field(default_factory=list)

    def report(self) -> dict:
        """Count and bytes (8-byte words as stored) of every key bootstrapping uses."""
        rot = sum(k.nbytes for k in self.keyset.rotation.values())
        other = (self.keyset.relin.nbytes if self.keyset.relin else 0) + \
            (self.keyset.conjugation.nbytes if self.keyset.conjugation else 0)
        enc = self.to_sparse.nbytes or _enc_bytes(self.keyset.ctx, self.config)
        return {"rotation_keys": len(self.keyset.rotation), "rotation_steps": list(self.steps),
                "rotation_bytes": rot, "relin_conj_bytes": other,
                "encapsulation_bytes": enc, "decapsulation_bytes": self.from_sparse.nbytes,
                "total_bytes": rot + other + enc + self.from_sparse.nbytes}


def _enc_bytes(ctx, cfg):
    p = ctx.params
    return 2 * (len(p.q_groups[0]) + cfg.p_encaps) * p.n * 8


def _plan(params, cfg: BootstrapConfig):
    """The static plan: slot views, DFT factors (diagonals, unscaled), n1 per level."""
    n = cfg.slots
    half = params.n // 2
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1 or n > half or n & (n - 1):
        raise SlotError(f"bootstrap: slots={n!r} must be a power of two in [1, N/2={half}]")
    n = int(n)
    if cfg.real:
        view = n                      # CtS/StC on n slots; EvalMod on n real slots
        mode = "real"
    elif n <= half // 2:
        view = 2 * n                  # 2n-slot view, coefficients in 2n real slots
        mode = "sparse"
    else:
        view = n
        mode = "full"
    return n, view, mode


def with_levels_left(params, levels: int):
    """``params`` rebuilt with ``levels`` application levels below the levels the default
    bootstrapping circuit takes (``BootstrapConfig.depth``: its top groups and ``q0`` kept,
    :meth:`sw.ckks.params.CkksParams.with_app_levels`). ``ValueError`` when the set has no
    application level below them (it has no bootstrapping layout), or the rebuild's own
    (``levels < 1``; :class:`~sw.ckks.errors.SecurityError` past the bound)."""
    depth = BootstrapConfig(slots=2).depth       # slots do not change the depth
    if params.max_level <= depth:
        raise ValueError(f"its {params.max_level} levels hold no application level below the "
                         f"{depth} that bootstrapping takes")
    return params.with_app_levels(levels, depth)


def rotation_steps(params, cfg: BootstrapConfig) -> list[int]:
    """Exactly the rotation steps bootstrapping uses (trace, CtS and StC BSGS)."""
    return sorted(_Plan(params, cfg).steps)


class _Plan:
    def __init__(self, params, cfg: BootstrapConfig):
        n, view, mode = _plan(params, cfg)
        self.n, self.view, self.mode = n, view, mode
        half = params.n // 2
        steps: set[int] = set()
        # sub-ring trace (full-slot view)
        self.trace_steps = []
        s = n
        while s < half:
            self.trace_steps.append(s)
            steps.add(s)
            s *= 2
        nn = n  # size of the DFT
        cts = dft.cts_factors(nn, cfg.cts_levels)
        stc = dft.stc_factors(nn, cfg.stc_levels)
        if view != nn:
            cts = [dft.tile(f, nn, view // nn) for f in cts]
            stc = [dft.tile(f, nn, view // nn) for f in stc]
            # [[I, iI], [I, iI]]: 2n real coefficients -> n-periodic c_lo + i c_hi, merged into
            # the first StC level (whose input is then not n-periodic: period 2n)
            J = {0: np.concatenate([np.ones(nn), np.full(nn, 1j)]),
                 nn: np.concatenate([np.full(nn, 1j), np.ones(nn)])}
            stc[0] = dft.matmul(stc[0], J, view)
        self.cts, self.stc = cts, stc
        # period of each factor's input (rotations are exact modulo it)
        self.cts_period = [nn] * len(cts)
        self.stc_period = [view] + [nn] * (len(stc) - 1)
        self.cts_n1 = [dft.best_n1(f, per, cfg.giant_cost) for f, per in zip(cts, self.cts_period)]
        self.stc_n1 = [dft.best_n1(f, per, cfg.giant_cost) for f, per in zip(stc, self.stc_period)]
        for f, n1, per in list(zip(cts, self.cts_n1, self.cts_period)) + \
                list(zip(stc, self.stc_n1, self.stc_period)):
            b, g = dft.rotation_steps(f, per, n1)
            steps.update(chain_steps(b) if cfg.baby_steps == "chain" else b)
            if cfg.giant_steps == "min":   # Horner steps: one key per side and level
                gis = [x // n1 for x in g]
                for sign in (1, -1):
                    d = horner_stride(gis, sign)
                    steps.update([sign * d * n1] if d else [n1 * x for x in gis if x * sign > 0])
            else:
                steps.update(g)
        self.steps = {s for s in steps if s % view or s in self.trace_steps}


def gen_bootstrap_keys(kg: KeyGenerator, sk: SecretKey, cfg: BootstrapConfig,
                       keyset: KeySet | None = None, share: BootstrapKeys | None = None) -> BootstrapKeys:
    """Generate the bootstrapping keys for ``sk`` (see :class:`BootstrapKeys`). If ``keyset``
    is given, the keys are added to it (it must hold ``sk``'s relinearisation key or one is
    made). ``share``: keys of another slot count for the same ``sk`` whose encapsulation and
    decapsulation keys are reused (they do not depend on the slot count; at N = 2^16 the
    decapsulation key is a full-height key of 115-230 MB)."""
    ctx = kg.ctx
    params = ctx.params
    plan = _Plan(params, cfg)
    ks = keyset if keyset is not None else KeySet(ctx, secret=sk)
    small = (lambda k: k.compact()) if cfg.compact_keys else (lambda k: k)
    if ks.relin is None:
        ks.relin = small(kg.gen_relin_key(sk))
    if ks.conjugation is None:
        ks.conjugation = small(kg.gen_conjugation_key(sk))
    have = set(ks.rotation)
    need = [s for s in sorted(plan.steps) if ctx.galois_element(s) not in have]
    for s in need:   # one at a time, so that compact keys never coexist in uint64 form
        ks.rotation.update({g: small(k) for g, k in kg.gen_rotation_keys(sk, [s]).items()})
    if share is not None:
        if (share.config.h_sparse, share.config.p_encaps) != (cfg.h_sparse, cfg.p_encaps):
            raise ValueError(f"gen_bootstrap_keys: share has h_sparse={share.config.h_sparse}, "
                             f"p_encaps={share.config.p_encaps}; this config {cfg.h_sparse}, "
                             f"{cfg.p_encaps}")
        if share.keyset.params != params:
            raise ParameterMismatchError("gen_bootstrap_keys: share is for other parameters")
        check_binding("gen_bootstrap_keys", share.from_sparse, sk, "shared decapsulation key", "secret key")
        return BootstrapKeys(ks, share.to_sparse, share.from_sparse, cfg, sorted(plan.steps))
    # ephemeral sparse secret s'
    prng = kg.prng.fork("bootstrap-sparse")
    c = None if trace.is_dry_run() else sampling.sparse_ternary(prng, params.n, cfg.h_sparse)
    sp = sampling.signed_poly(ctx.full_basis, c).to_ntt()
    # s' -> s at the top (encrypted under the dense s)
    dec = kg.gen_switching_key(sk, sp, kind="decapsulate")
    dec = small(dec)
    # s -> s' over q0 * P' (encrypted under s')
    nq0 = len(params.q_groups[0])
    pprimes = ctx.p_basis.primes[:cfg.p_encaps]
    basis = RnsBasis.get(params.primes_at(0) + pprimes, params.n)
    a = sampling.uniform_poly(prng, basis, is_ntt=True)
    e = None if trace.is_dry_run() else sampling.gaussian(prng, params.n, params.sigma)
    e = sampling.signed_poly(basis, e).to_ntt()
    s_sp = sp.select(basis)
    s_dn = sk.poly.select(basis)
    pmod = math.prod(pprimes)
    consts = [pmod % q for q in params.primes_at(0)] + [0] * len(pprimes)
    b = e.sub(a.mul(s_sp)).add(s_dn.mul_scalar(consts))
    enc = EncapsulationKey(b, a, basis, nq0)
    return BootstrapKeys(ks, enc, dec, cfg, sorted(plan.steps))


def chain_steps(babies) -> list[int]:
    """The rotation steps of chained baby steps (:attr:`BootstrapConfig.baby_steps`
    ``"chain"``): the differences between consecutive baby steps ``0 < b_1 < .. < b_k``
    (with ``b_0 = 0``); ``[d]`` when the steps are ``d, 2d, .., kd``."""
    prev, out = 0, set()
    for b in sorted(int(x) for x in babies):
        out.add(b - prev)
        prev = b
    return sorted(out)


def _chain_babies(ev, x, babies) -> dict:
    """``{b: rot(x, b)}`` for the sorted baby steps, each rotated from the previous one by
    their difference (:func:`chain_steps`): one full key switch per baby step."""
    out, prev, last = {}, x, 0
    for b in sorted(babies):
        prev = ev.rotate(prev, b - last)
        out[b], last = prev, b
    return out


def horner_stride(giants, sign: int) -> int:
    """The stride ``d`` of the Horner giant steps on one side (``sign`` +1 or -1) of a BSGS
    level whose giant-step indices are ``giants``: the side's indices must be exactly ``d,
    2d, .., kd`` (then ``k`` rotations by ``sign d n1`` cost what ``k`` distinct keys cost);
    0 if the side is empty or has gaps (it keeps one key per giant step)."""
    side = sorted(abs(int(g)) for g in giants if g * sign > 0)
    if not side:
        return 0
    d = math.gcd(*side)
    return d if side == list(range(d, side[-1] + 1, d)) else 0


def _horner_giants(ev, groups: dict, inner, n1: int):
    """``sum_g rot(inner(g), n1 g)`` where each side (giant steps > 0, < 0) with a Horner
    stride ``d`` (:func:`horner_stride`) rotates by ``+-d n1`` only: ``h <- rot(h +
    inner(g), +-d n1)`` from the farthest giant step inwards (ARK's minimum key switching);
    a side with gaps rotates each giant step by its own key. ``inner(g)`` is computed when
    its turn comes, so one partial sum per side is alive."""
    acc = inner(0) if 0 in groups else None
    for sign in (1, -1):
        d = horner_stride(list(groups), sign)
        side = sorted((g for g in groups if g * sign > 0), key=abs, reverse=True)
        h = None
        if d:
            for g in side:
                part = inner(g)
                h = ev.rotate(part if h is None else ev.add(h, part), sign * d * n1)
        else:
            for g in side:
                part = ev.rotate(inner(g), n1 * g)
                h = part if h is None else ev.add(h, part)
        if h is not None:
            acc = h if acc is None else ev.add(acc, h)
    return acc


# ---------------------------------------------------------------------------------------
# the bootstrapper
# ---------------------------------------------------------------------------------------

class Bootstrapper:
    """Bootstraps ciphertexts of one slot count (see module docstring).

    Parameters
    ----------
    ctx : CkksContext
    keys : BootstrapKeys (from :func:`gen_bootstrap_keys`)
    progress : optional callable ``progress(stage_name)`` called as each stage starts.
    """

    def __init__(self, ctx: CkksContext, keys: BootstrapKeys, progress=None):
        if keys.keyset.params != ctx.params:
            raise ParameterMismatchError(f"Bootstrapper: keys are for {keys.keyset.params.name!r}, "
                                         f"context for {ctx.params.name!r}")
        self.ctx = ctx
        self.params = p = ctx.params
        self.keys = keys
        self.cfg = cfg = keys.config
        self.ev = Evaluator(ctx, keys.keyset)
        self.rev = RaisedEvaluator(self.ev)
        self.enc = Encoder(ctx)
        self.plan = _Plan(p, cfg)
        self.progress = progress
        self._pt_cache: dict = {}
        self.spec = cfg.evalmod
        # level accounting
        self.cts_depth = len(self.plan.cts)
        self.stc_depth = len(self.plan.stc)
        self.depth = self.cts_depth + self.spec.depth + self.stc_depth
        self.output_level = p.max_level - self.depth
        if self.output_level < 0:
            raise BootstrapError(
                f"bootstrap: {p.name} has {p.max_level} levels, bootstrapping needs {self.depth} "
                f"(CtS {self.cts_depth} + EvalMod {self.spec.depth} + StC {self.stc_depth})")
        q0 = math.prod(p.q_groups[0])
        self.q0 = q0
        missing = [s for s in self.plan.steps if self.ctx.galois_element(s) not in keys.keyset.rotation]
        if missing:
            raise MissingKeyError(f"bootstrap: rotation keys missing for steps {missing[:8]}"
                                  f"{'...' if len(missing) > 8 else ''} ({len(missing)} of "
                                  f"{len(self.plan.steps)}); use gen_bootstrap_keys")
        if keys.keyset.conjugation is None:
            raise MissingKeyError("bootstrap: no conjugation key")
        if keys.keyset.relin is None:
            raise MissingKeyError("bootstrap: no relinearisation key")

    # -- ranges --------------------------------------------------------------------------
    def max_input_magnitude(self, scale: float) -> float:
        """Largest slot magnitude of an input at ``scale`` whose polynomial coefficients
        stay inside the range the modular reduction supports (``|m / q0| < 1/4`` after the
        message-ratio scaling; precision degrades long before: see the docs)."""
        k = self._ratio_factor(scale)
        return self.q0 / (4.0 * k * scale)

    def failure_probability(self) -> float:
        """Probability that ModRaise overflows the EvalMod range ``|I| <= K`` for one
        ciphertext (union bound over the ``N`` coefficients)."""
        return overflow_probability(self.cfg.h_sparse, self.spec.K, self.params.n)

    def _ratio_factor(self, scale: float) -> int:
        return max(1, int(self.q0 / (scale * 2.0 ** self.cfg.log_message_ratio)))

    # -- public --------------------------------------------------------------------------
    def bootstrap(self, ct: Ciphertext) -> Ciphertext:
        """Refresh ``ct`` (any level, ``ct.slots == config.slots``) to level
        ``output_level`` with the same scale and slot count."""
        ev, p, cfg = self.ev, self.params, self.cfg
        if not isinstance(ct, Ciphertext):
            raise TypeError(f"bootstrap: expected Ciphertext, got {type(ct).__name__}")
        self.ctx.check_same("bootstrap", ct)
        check_binding("bootstrap", self.keys.from_sparse, ct, "bootstrapping key")
        if ct.slots != cfg.slots:
            raise SlotError(f"bootstrap: ciphertext has {ct.slots} slots, the bootstrapper was "
                            f"built for {cfg.slots}")
        if ct.degree != 1:
            raise ValueError(f"bootstrap: ciphertext has degree {ct.degree}; relinearize first")
        k = self._ratio_factor(ct.scale)
        if k * ct.scale * 4 > self.q0 and k == 1:
            raise BootstrapError(
                f"bootstrap: input scale 2^{math.log2(ct.scale):.1f} is too large for q0 = "
                f"2^{math.log2(self.q0):.1f}: messages must satisfy |m| * scale < q0 / 4")
        out_scale = ct.scale
        with trace.op("bootstrap", n=p.n, primes_in=len(ct.primes), level_in=ct.level,
                      slots=cfg.slots, variant=self.plan.mode) as top:
            with trace.stage("bootstrap/modraise"):
                self._tick("modraise")
                x = ev.drop_to_level(ct, 0)
                if k > 1:
                    x = ev.mul_int(x, k)
                eff_scale = ct.scale * k
                x = self._to_sparse(x)
                x = self._mod_raise(x)
                x = ev.key_switch(x, self.keys.from_sparse)
                # slot values now t = (m + q0 I) / q0 in the coefficient domain
                x = Ciphertext(x.polys, x.level, float(self.q0), p.slots, p, x.key_id)
                g = 1
                for s in self.plan.trace_steps:
                    x = ev.add(x, ev.rotate(x, s))
                    g *= 2
            with trace.stage("bootstrap/cts"):
                self._tick("cts")
                parts = self._cts(x, g)
            with trace.stage("bootstrap/evalmod"):
                self._tick("evalmod")
                parts = [_evalmod(ev, c, self.spec) for c in parts]
            with trace.stage("bootstrap/stc"):
                self._tick("stc")
                y = self._stc(parts, eff_scale, out_scale)
            top.set_out(primes=len(y.primes), level=y.level)
        self._tick("done")
        return y

    def _tick(self, name):
        if self.progress is not None:
            self.progress(name)

    # -- encapsulation and ModRaise --------------------------------------------------------
    def _to_sparse(self, x: Ciphertext) -> Ciphertext:
        """``s -> s'`` at level 0 with the ``q0 * P'`` key: one digit, raised to ``P'`` only
        (:func:`sw.ckks.keyswitch.key_switch` with the key's :class:`BasisKey`)."""
        c0, c1 = x.polys
        u0, u1 = key_switch(self.ctx, c1, 0, self.keys.to_sparse.switching_key(), encapsulation=True)
        return Ciphertext((c0.add(u0), u1), 0, x.scale, x.slots, self.params, x.key_id)

    def _mod_raise(self, x: Ciphertext) -> Ciphertext:
        """Lift the level-0 residues (centred mod q0) to every prime of the top level."""
        p = self.params
        top = p.max_level
        src = self.ctx.q_basis(0)
        dst = RnsBasis.get(p.primes_at(top)[len(src):], p.n)
        with trace.op("modraise", n=p.n, primes_in=len(src), primes_out=len(src) + len(dst),
                      level_in=0, level_out=top):
            polys = tuple(mod_up(c, dst, exact=True) for c in x.polys)
        return Ciphertext(polys, top, x.scale, x.slots, p, x.key_id)

    # -- linear transforms ------------------------------------------------------------------
    def _bsgs(self, x: Ciphertext, diags: dict, n1: int, period: int, target: float, key,
              rescale=True):
        """``sum_g rot(sum_b d'_{g,b} rot(x, b), n1 g)`` with ``k = n1 g + b`` centred modulo
        ``period`` (the input is ``period``-periodic)."""
        raised = self.cfg.hoisting == "double" or (self.cfg.hoisting == "double-cts" and key[0] == "cts")
        ev = self.rev if raised else self.ev
        lvl = x.level
        pt_scale = target * self.params.level_scale(lvl) / x.scale
        groups: dict[int, dict[int, np.ndarray]] = {}
        for k, d in diags.items():
            k %= period
            kc = k if k <= period // 2 else k - period
            gi, b = divmod(kc, n1)
            groups.setdefault(gi, {})[b] = np.roll(d, n1 * gi)
        babies = sorted({b for gg in groups.values() for b in gg if b})
        rots = {0: ev.raise_(x) if raised else x}
        if babies and self.cfg.baby_steps == "chain":
            rots.update(_chain_babies(ev, x, babies))
        elif babies:
            rots.update(ev.rotate_hoisted(x, babies))

        def inner(gi):
            bs = sorted(groups[gi])
            pts = [self._pt(key + (gi, b), groups[gi][b], lvl, pt_scale, x.slots, raised) for b in bs]
            # the diagonals' names: the same in every bootstrap that encodes them alike
            pids = [f"boot{key + (gi, b)}/{x.slots}@{lvl}:{pt_scale:.9g}" for b in bs]
            return ev.dot_plain([rots[b] for b in bs], pts, pt_ids=pids)

        if self.cfg.giant_steps == "min":
            acc = _horner_giants(ev, groups, inner, n1)
        else:
            acc = None
            for gi in sorted(groups):
                part = inner(gi)
                if gi:
                    part = ev.rotate(part, n1 * gi)
                acc = part if acc is None else ev.add(acc, part)
        if raised:
            return ev.lower(acc, rescale=rescale)
        return ev.rescale(acc) if rescale else acc

    def _pt(self, key, vec, level, scale, slots, special=False):
        """Encoded diagonal (over ``Q_level + P`` if ``special``). With ``cache_plaintexts``
        it is kept (and returned, a :class:`~sw.ckks.ciphertext.PackedPlaintext`) as uint32 words, and only one word of each run of ``g = N / 2 slots``
        equal ones (an encoded plaintext with ``slots < N/2`` lies in the sub-ring
        ``Z[X^g]``): 1/4 of the uint64 form at 2^14 slots and N = 2^16, 1/16 at 2^12."""
        ck = key + (level, float(scale), bool(special))
        g = self.params.n // (2 * slots)
        hit = self._pt_cache.get(ck) if self.cfg.cache_plaintexts else None
        if hit is None:
            pt = self.enc.encode(vec, level=level, scale=scale, slots=slots, special=special)
            if not self.cfg.cache_plaintexts or pt.is_placeholder:
                return pt
            hit = self._pt_cache[ck] = K.subring_compact(pt.poly.data, g)
        basis = self.ctx.qp_basis(level) if special else self.ctx.q_basis(level)
        return PackedPlaintext(hit, g, basis, level, scale, slots, self.params)

    @property
    def cache_bytes(self) -> int:
        """Bytes held by the plaintext cache."""
        return sum(v.nbytes for v in self._pt_cache.values())

    def cts_level(self, x: Ciphertext, index: int = 0, g: int = 1) -> Ciphertext:
        """Level ``index`` of CoeffsToSlots alone (one baby-step giant-step linear transform
        and its rescale) on ``x``, with the constants of :meth:`bootstrap` for a sub-ring
        trace factor ``g``: a slice of a bootstrap (e.g. to capture its kernels)."""
        if not 0 <= index < self.cts_depth:
            raise ValueError(f"cts_level: index={index} must lie in [0, {self.cts_depth})")
        p, plan = self.params, self.plan
        x = Ciphertext(x.polys, x.level, x.scale, plan.view, p, x.key_id)
        f = self.cts_factors(g)[index]
        return self._bsgs(x, f, plan.cts_n1[index], plan.cts_period[index],
                          p.level_scale(x.level - 1), ("cts", index))

    def cts_factors(self, g: int) -> list[dict]:
        """The diagonals of every CoeffsToSlots level as :meth:`bootstrap` applies them
        (with the trace factor ``g``, the range ``1/(K+1)`` and the conjugate halving)."""
        plan = self.plan
        facs = [dict(f) for f in plan.cts]
        # constants: trace factor g, range 1/(K+1), and 1/2 for the conjugate addition
        c = 1.0 / (g * self.spec.half_range)
        facs[0] = dft.scale(facs[0], c)
        if plan.mode == "sparse":
            nn = plan.n
            d1 = np.concatenate([np.full(nn, 0.5), np.full(nn, -0.5j)])
            facs[-1] = dft.scale_rows(facs[-1], d1)
        else:
            facs[-1] = dft.scale(facs[-1], 0.5)
        return facs

    def _cts(self, x: Ciphertext, g: int) -> list[Ciphertext]:
        ev, p, plan = self.ev, self.params, self.plan
        view = plan.view
        x = Ciphertext(x.polys, x.level, x.scale, view, p, x.key_id)
        facs = self.cts_factors(g)
        for i, (f, n1, per) in enumerate(zip(facs, plan.cts_n1, plan.cts_period)):
            target = p.level_scale(x.level - 1)
            x = self._bsgs(x, f, n1, per, target, ("cts", i))
        cj = ev.conjugate(x)
        re = ev.add(x, cj)
        if plan.mode != "full":
            return [re]
        im = ev.mul_const(ev.sub(x, cj), -1j, scale=1.0)
        return [re, im]

    def _stc(self, parts: list, eff_scale: float, out_scale: float) -> Ciphertext:
        ev, p, plan, cfg = self.ev, self.params, self.plan, self.cfg
        view = plan.view
        if plan.mode == "full":
            x = ev.add(parts[0], ev.mul_const(parts[1], 1j, scale=1.0))
        else:
            x = parts[0]
        facs = [dict(f) for f in plan.stc]
        # back from sin(2 pi t) to m / eff_scale: q0 / (2 pi eff_scale)
        facs[0] = dft.scale(facs[0], self.q0 / (2 * np.pi * eff_scale))
        nn = plan.n
        if plan.mode == "real":
            d = np.ones(view)
            d[0] = 0.5
            facs[0] = {k: v * np.roll(d, -k) for k, v in facs[0].items()}
        conj_end = plan.mode == "real" or cfg.remove_imaginary
        if conj_end and plan.mode != "real":
            facs[-1] = dft.scale(facs[-1], 0.5)
        last = len(facs) - 1
        for i, (f, n1, per) in enumerate(zip(facs, plan.stc_n1, plan.stc_period)):
            target = out_scale if i == last else x.scale
            if i == last and conj_end:
                acc = self._bsgs(x, f, n1, per, target, ("stc", i), rescale=False)
                x = ev.rescale(ev.add(acc, ev.conjugate(acc)))
            else:
                x = self._bsgs(x, f, n1, per, target, ("stc", i))
        return Ciphertext(x.polys, x.level, x.scale, nn, p, x.key_id)
