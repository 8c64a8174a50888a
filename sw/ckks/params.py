"""CKKS parameter sets: ring degree, modulus chain in level groups, key-switching basis.

Levels
------
``q_groups[0]`` is the base modulus ``q0`` (two ~31-bit primes). ``q_groups[l]``, ``l >= 1``,
is the group of primes removed together by the rescale that leaves level ``l``: one prime
near ``2^30`` (scale ~2^30) or two ("composite"/double-prime scaling, scale ~2^60). A
ciphertext at level ``l`` lives modulo ``primes_at(l)`` = groups ``0..l`` flattened, in that
order. ``max_level = len(q_groups) - 1``.

Key switching (hybrid, Han-Ki / GHS)
-----------------------------------
The ``Q`` primes of the top level are cut, in order, into ``dnum`` digits of
``alpha = ceil(#Q / dnum)`` primes (the last digit may be shorter); ``P`` has ``alpha``
special primes (each ~31 bits, so ``P`` exceeds every digit's product). At a lower level
the digits are truncated to the primes present.

Security
--------
``security=128`` checks every assumption of the cited bound
(:func:`sw.ckks.security.check_128`): ``log2(QP)`` at most :func:`sw.ckks.security.max_log_qp`,
a uniform ternary secret (no Hamming weight), and an error standard deviation ``sigma``
finite and in :data:`sw.ckks.security.SIGMA_RANGE` (3.19 .. 3.2, inclusive). Anything else
raises :class:`SecurityError` naming the field and the value: a set that breaks an
assumption cannot carry the label. To use such a set anyway, build it insecure
(``security=None``) and opt in with ``allow_insecure=True``.

``security=None`` marks a set insecure. Named sets must be requested with
``get_params(name, allow_insecure=True)``, which warns (:class:`InsecureParametersWarning`
plus a line on stderr). A hand-built insecure set (``CkksParams(...)`` or
:meth:`CkksParams.build`) follows the same rule: built with ``allow_insecure=True`` it is
accepted as an explicit opt-in; built without, it still works (existing code keeps running)
but warns :class:`InsecureParametersWarning` at construction, saying that it is insecure.

``sigma`` must be a positive finite number for every set, secure or not (otherwise
``ValueError``): it is not a valid parameter at all.
"""
from __future__ import annotations

import math
import sys
import warnings
from dataclasses import dataclass, field
from functools import lru_cache

from ..primes import ntt_primes, ntt_primes_near
from . import security as _sec
from .errors import InsecureParametersError, InsecureParametersWarning, LevelError


@dataclass(frozen=True, eq=True)
class CkksParams:
    """An immutable CKKS parameter set (see module docstring).

    Attributes
    ----------
    name : str
    log_n : int           ring degree ``n = 2^log_n``
    q_groups : tuple of tuple of int   level groups, bottom (``q0``) to top
    p_primes : tuple of int            special primes of key switching
    dnum : int            number of key-switching digits at the top level
    log_scale : float     default encoding scale ``2^log_scale``
    sigma : float         error standard deviation (3.2)
    secret : str          ``"ternary"`` (uniform over {-1,0,1}) or ``"sparse"``
    hamming_weight : int or None   for ``secret="sparse"``
    security : int or None         128 (checked) or None (insecure, toy)
    scale_rtol : float    relative tolerance of scale equality in additions
    allow_insecure : bool  explicit opt-in for ``security=None`` (no warning at construction);
                           not part of equality or the fingerprint
    """

    name: str
    log_n: int
    q_groups: tuple[tuple[int, ...], ...]
    p_primes: tuple[int, ...]
    dnum: int
    log_scale: float = 30.0
    sigma: float = 3.2
    secret: str = "ternary"
    hamming_weight: int | None = None
    security: int | None = None
    scale_rtol: float = 1e-9
    allow_insecure: bool = field(default=False, compare=False, repr=False, hash=False)
    _primes_cache: dict = field(default_factory=dict, compare=False, repr=False, hash=False)

    def __post_init__(self):
        n = 1 << self.log_n
        flat = [q for g in self.q_groups for q in g] + list(self.p_primes)
        if len(set(flat)) != len(flat):
            raise ValueError(f"CkksParams {self.name}: primes are not distinct")
        if len(self.q_groups) < 1 or any(len(g) == 0 for g in self.q_groups):
            raise ValueError(f"CkksParams {self.name}: every level group needs at least one prime")
        if not 1 <= self.dnum <= len(self.q_primes):
            raise ValueError(f"CkksParams {self.name}: dnum={self.dnum} not in [1, {len(self.q_primes)}]")
        if len(self.p_primes) < 1:
            raise ValueError(f"CkksParams {self.name}: at least one special prime is required")
        for q in flat:
            if q >= (1 << 31) or q % (2 * n) != 1:
                raise ValueError(f"CkksParams {self.name}: prime {q} must be < 2^31 and = 1 mod 2n={2 * n}")
        if self.secret not in ("ternary", "sparse"):
            raise ValueError(f"CkksParams {self.name}: secret={self.secret!r} must be 'ternary' or 'sparse'")
        if self.secret == "sparse" and not (self.hamming_weight and 0 < self.hamming_weight <= n):
            raise ValueError(f"CkksParams {self.name}: sparse secret needs 0 < hamming_weight <= n={n}, "
                             f"got {self.hamming_weight}")
        sigma = self.sigma
        if isinstance(sigma, bool) or not isinstance(sigma, (int, float)) or not math.isfinite(sigma) \
                or sigma <= 0:
            raise ValueError(f"CkksParams {self.name}: sigma={sigma!r} must be a positive finite number")
        if self.security is not None:
            _sec.check_128(self)
        elif not self.allow_insecure:
            warnings.warn(f"CkksParams {self.name}: security=None: INSECURE parameter set (n=2^{self.log_n}, "
                          f"log2 QP={self.log_qp:.0f}) built without allow_insecure=True; tests only",
                          InsecureParametersWarning, stacklevel=3)

    # -- derived -------------------------------------------------------------------------
    @property
    def n(self) -> int:
        return 1 << self.log_n

    @property
    def slots(self) -> int:
        """Maximal slot count ``n / 2``."""
        return self.n // 2

    @property
    def max_level(self) -> int:
        return len(self.q_groups) - 1

    @property
    def q_primes(self) -> tuple[int, ...]:
        """All ``Q`` primes of the top level, bottom group first."""
        return tuple(q for g in self.q_groups for q in g)

    @property
    def alpha(self) -> int:
        """Primes per key-switching digit (= number of special primes in the built-in sets)."""
        return math.ceil(len(self.q_primes) / self.dnum)

    @property
    def default_scale(self) -> float:
        return float(2.0 ** self.log_scale)

    @property
    def log_q(self) -> float:
        return sum(math.log2(q) for q in self.q_primes)

    @property
    def log_p(self) -> float:
        return sum(math.log2(p) for p in self.p_primes)

    @property
    def log_qp(self) -> float:
        return self.log_q + self.log_p

    @property
    def is_secure(self) -> bool:
        return self.security is not None

    def check_level(self, level: int, op: str = "level") -> int:
        if isinstance(level, bool) or not isinstance(level, int) or not 0 <= level <= self.max_level:
            raise LevelError(f"{op}: level={level!r} not in [0, max_level={self.max_level}] ({self.name})")
        return level

    def primes_at(self, level: int) -> tuple[int, ...]:
        """Primes of a ciphertext at ``level`` (groups ``0..level``, in order)."""
        self.check_level(level, "primes_at")
        c = self._primes_cache.get(level)
        if c is None:
            c = tuple(q for g in self.q_groups[:level + 1] for q in g)
            self._primes_cache[level] = c
        return c

    def level_scale(self, level: int) -> float:
        """Product of the primes of group ``level`` (what rescale at that level divides by)."""
        self.check_level(level, "level_scale")
        return float(math.prod(self.q_groups[level]))

    def digits_at(self, level: int) -> tuple[tuple[int, int], ...]:
        """Key-switching digits at ``level`` as row ranges ``(start, stop)`` into ``primes_at(level)``."""
        L = len(self.primes_at(level))
        a = self.alpha
        return tuple((s, min(s + a, L)) for s in range(0, L, a))

    def special_for(self, level: int) -> int:
        """Fewest leading special primes ``P' = p_primes[:k]`` under which the key-switching
        term ``sum_i d_i e_i / P'`` is below one unit even in the worst case, so that a
        switch by a key truncated to ``level`` errs by the ModDown's rounding alone, as with
        all special primes. A raised digit is ``d_i + u D_i`` with ``0 <= u < a_i`` (``a_i``
        primes, fast basis conversion) and ``|e| <= 6 sigma``, so the condition is
        ``P' >= n ceil(6 sigma) sum_i a_i D_i``. Lower levels, whose digits are the same or
        shorter, need no more. Where even all special primes fall short (a full digit of
        ``alpha`` primes, for which the parameter set chose ``P ~ D``), all of them:
        ``len(p_primes)``."""
        prims = self.primes_at(level)
        need = self.n * math.ceil(6 * self.sigma) * sum(
            (s1 - s0) * math.prod(prims[s0:s1]) for s0, s1 in self.digits_at(level))
        prod = 1
        for k, q in enumerate(self.p_primes, 1):
            prod *= q
            if prod >= need:
                return k
        return len(self.p_primes)

    def describe(self) -> str:
        groups = [len(g) for g in self.q_groups[1:]]
        sec = f"{self.security}-bit (log QP <= {_sec.max_log_qp(self.n)})" if self.security else "INSECURE"
        return (f"{self.name}: n=2^{self.log_n}, levels={self.max_level} (group sizes {groups}), "
                f"q0={len(self.q_groups[0])} primes, dnum={self.dnum}, alpha={self.alpha}, "
                f"P={len(self.p_primes)} primes, log2 Q={self.log_q:.1f}, log2 QP={self.log_qp:.1f}, "
                f"scale=2^{self.log_scale:g}, secret={self.secret}"
                f"{'' if self.hamming_weight is None else f' (h={self.hamming_weight})'}, security={sec}")

    # -- construction --------------------------------------------------------------------
    def with_dnum(self, dnum: int) -> "CkksParams":
        """This set with ``dnum`` key-switching digits: the same ``Q`` chain (so the same
        levels), ``alpha = ceil(#Q / dnum)`` special primes chosen as :meth:`build` chooses
        them (the largest ``= 1 mod 2n`` below ``2^31`` not in ``Q``), named
        ``<name>-dnum<dnum>``. The constructor's checks apply: ``dnum`` outside ``[1, #Q]``
        raises ``ValueError``; a secure set whose ``log2 QP`` then exceeds the 128-bit bound
        raises :class:`SecurityError`. Returns ``self`` for its own ``dnum``."""
        if isinstance(dnum, bool) or not isinstance(dnum, int):
            raise ValueError(f"CkksParams {self.name}: dnum={dnum!r} must be an integer")
        if dnum == self.dnum:
            return self
        nq = len(self.q_primes)
        if not 1 <= dnum <= nq:
            raise ValueError(f"CkksParams {self.name}: dnum={dnum} not in [1, {nq}]")
        p = ntt_primes(self.n, 31, math.ceil(nq / dnum), exclude=self.q_primes)
        return CkksParams(name=f"{self.name}-dnum{dnum}", log_n=self.log_n, q_groups=self.q_groups,
                          p_primes=tuple(p), dnum=dnum, log_scale=self.log_scale, sigma=self.sigma,
                          secret=self.secret, hamming_weight=self.hamming_weight,
                          security=self.security, scale_rtol=self.scale_rtol,
                          allow_insecure=self.allow_insecure)

    def with_log_n(self, log_n: int) -> "CkksParams":
        """This set at ring degree ``2^log_n``, named ``<name>-n<log_n>``: the same level
        layout (``q0`` of as many primes, groups of the same sizes, each group's primes near
        the same power of two ``2^b``, ``b`` the rounded mean ``log2`` of its primes here),
        the same ``dnum``, scale, secret, error and security label. The primes are chosen as
        :meth:`build` chooses them, now ``= 1 mod 2^(log_n+1)``: ``q0`` the largest below
        ``2^31``, each group's alternately above and below ``2^b``, then the ``alpha`` special
        primes. The constructor's checks apply at the new degree: a secure set whose
        ``log2 QP`` exceeds the bound there (or a degree with no tabulated bound) raises
        :class:`SecurityError`. ``log_n`` outside ``[1, 17]`` raises ``ValueError``. Returns
        ``self`` for its own degree."""
        if isinstance(log_n, bool) or not isinstance(log_n, int) or not 1 <= log_n <= 17:
            raise ValueError(f"CkksParams {self.name}: log_n={log_n!r} must be an integer in [1, 17]")
        if log_n == self.log_n:
            return self
        sizes, bits = self._layout()
        return CkksParams.build(f"{self.name}-n{log_n}", log_n, sizes, **self._build_spec(bits))

    def with_app_levels(self, levels: int, keep_top: int) -> "CkksParams":
        """This set with ``levels`` application levels, named ``<name>-app<levels>``: ``q0``
        and the top ``keep_top`` level groups (bootstrapping's, for a bootstrapping layout:
        ``sw.bootstrap.BootstrapConfig.depth``) as they are laid out here, and between them
        ``levels`` groups shaped like this set's lowest one (its size and the power of two
        its primes are near); primes chosen as :meth:`build` chooses them (so
        ``n16-128`` with 8 application levels is the cycle model's ``bench-boot-l8``).
        ``ValueError`` unless ``levels >= 1`` and ``1 <= keep_top < max_level``; a secure set
        whose ``log2 QP`` then exceeds the bound raises :class:`SecurityError`. Returns
        ``self`` when it already has ``levels`` below its top ``keep_top`` groups."""
        for name, v in (("levels", levels), ("keep_top", keep_top)):
            if isinstance(v, bool) or not isinstance(v, int):
                raise ValueError(f"CkksParams {self.name}: {name}={v!r} must be an integer")
        if levels < 1:
            raise ValueError(f"CkksParams {self.name}: levels={levels} must be at least 1")
        if not 1 <= keep_top < self.max_level:
            raise ValueError(f"CkksParams {self.name}: keep_top={keep_top} must lie in "
                             f"[1, {self.max_level - 1}] (the set has {self.max_level} levels)")
        if self.max_level - keep_top == levels:
            return self
        sizes, bits = self._layout()
        top = len(sizes) - keep_top
        sizes = [sizes[0]] * levels + sizes[top:]
        bits = [bits[0]] * levels + bits[top:]
        return CkksParams.build(f"{self.name}-app{levels}", self.log_n, sizes, **self._build_spec(bits))

    def _layout(self) -> tuple[list[int], list[float]]:
        """Sizes of the level groups above ``q0`` and the power of two (rounded mean ``log2``)
        their primes are near: the layout :meth:`build` rebuilds."""
        sizes = [len(g) for g in self.q_groups[1:]]
        bits = [min(31.0, float(round(sum(math.log2(q) for q in g) / len(g)))) for g in self.q_groups[1:]]
        return sizes, bits

    def _build_spec(self, bits: list[float]) -> dict:
        """:meth:`build`'s keyword arguments that keep this set's ``q0``, ``dnum``, scale,
        secret, error and security label, with the group prime sizes ``bits``."""
        return dict(q0_size=len(self.q_groups[0]), dnum=self.dnum, log_scale=self.log_scale,
                    security=self.security, secret=self.secret, hamming_weight=self.hamming_weight,
                    sigma=self.sigma, allow_insecure=self.allow_insecure or self.security is None,
                    group_bits=bits)

    @classmethod
    def build(cls, name: str, log_n: int, group_sizes, *, q0_size: int = 2, dnum: int,
              log_scale: float = 30.0, security: int | None = None, secret: str = "ternary",
              hamming_weight: int | None = None, sigma: float = 3.2,
              allow_insecure: bool = False, group_bits=None) -> "CkksParams":
        """Build a set with deterministic primes.

        ``group_sizes``: sizes of level groups 1..L (bottom to top), each 1 or more; primes
        near ``2^log_scale`` alternately above and below it (:func:`sw.primes.ntt_primes_near`),
        so that composite groups multiply to ~``2^(size * log_scale)``. ``group_bits``:
        optionally, per group, the ``log2`` its primes are chosen near instead of
        ``log_scale`` (e.g. pairs of ~2^25 primes for application levels of scale ~2^50
        below bootstrapping levels of ~2^60). ``q0``: the ``q0_size`` largest primes below
        ``2^31``; ``P``: the next ``alpha`` largest. ``allow_insecure``: explicit opt-in for
        ``security=None`` (see the module docstring).
        """
        n = 1 << log_n
        sizes = [int(s) for s in group_sizes]
        if any(s < 1 for s in sizes):
            raise ValueError(f"CkksParams.build {name}: group sizes must be >= 1, got {sizes}")
        bits = [float(log_scale)] * len(sizes) if group_bits is None else [float(b) for b in group_bits]
        if len(bits) != len(sizes) or any(not 2 < b <= 31 for b in bits):
            raise ValueError(f"CkksParams.build {name}: group_bits must give one log2 in (2, 31] "
                             f"per group ({len(sizes)}), got {group_bits!r}")
        big = ntt_primes(n, 31, q0_size)
        taken = list(big)
        pools = {}
        for b in dict.fromkeys(bits):   # distinct sizes, first-use order: primes of each pool
            want = sum(s for s, x in zip(sizes, bits) if x == b)
            pool = ntt_primes_near(n, b, want, max_bits=31, exclude=tuple(taken))
            taken += pool
            pools[b] = iter(pool)
        groups = [tuple(big)]
        for s, b in zip(sizes, bits):
            groups.append(tuple(next(pools[b]) for _ in range(s)))
        mids = [q for g in groups[1:] for q in g]
        nq = q0_size + sum(sizes)
        alpha = math.ceil(nq / dnum)
        p = ntt_primes(n, 31, alpha, exclude=tuple(big) + tuple(mids))
        return cls(name=name, log_n=log_n, q_groups=tuple(groups), p_primes=tuple(p), dnum=dnum,
                   log_scale=log_scale, sigma=sigma, secret=secret, hamming_weight=hamming_weight,
                   security=security, allow_insecure=allow_insecure)


# ---------------------------------------------------------------------------------------
# named sets
# ---------------------------------------------------------------------------------------

# First bootstrapping-ready shape (bottom -> top), kept for toy-n12: 14 application levels
# (1 prime), 3 StC levels (1 prime), 9 EvalMod levels (2 primes, ~2^60), 4 CtS levels (1 prime).
_BOOT_SHAPE = [1] * 14 + [1] * 3 + [2] * 9 + [1] * 4

# Bootstrapping layout of n16-128 and the toy-boot-* sets (docs/bootstrapping.md), bottom -> top:
#   group  0       q0, 2 primes (~2^62)                     ModRaise base
#   groups 1..16   16 x 1 prime (~2^30)                     application levels left after bootstrap
#   group  17      2 primes (~2^60)                         last StC level (output rescale)
#   groups 18..19  2 x 1 prime (~2^30)                      StC
#   groups 20..27  8 x 2 primes (~2^60)                     EvalMod (cosine deg <= 31 + 3 double angles)
#   groups 28..30  3 x 2 primes (~2^60)                     CtS
# 44 Q primes (log2 Q ~ 1322), dnum 4 -> 11 special primes: log2 QP ~ 1663 <= 1747.
BOOT_LAYOUT = {"app": (1, 16), "stc": (17, 19), "evalmod": (20, 27), "cts": (28, 30)}
_BOOT_SHAPE_V2 = [1] * 16 + [2, 1, 1] + [2] * 8 + [2] * 3

# High-precision bootstrapping layout (n16-128-hp, toy-boot-hp-*; docs/bootstrapping.md): the
# same bootstrapping levels, with 10 application levels of two primes near 2^25 (scale
# ~2^50) instead of 16 single primes near 2^30 (scale 2^30). A rescale to 2^30 adds noise of
# about 2^-16.6 per slot at N = 2^16, which bounded the bootstrap's output precision; at 2^50
# it adds 2^-36.6, and q0 / scale = 2^12 still leaves the message ratio 2^-10 below q0.
# 48 Q primes (log2 Q ~ 1342), dnum 4 -> 12 special primes: log2 QP ~ 1714 <= 1747.
# n16-128-hp6: the same with 6 application levels (40 Q primes, log2 Q ~ 1142, 10 special
# primes, log2 QP ~ 1452): the same precision (the bootstrapping levels are the same), and
# every key switch of the bootstrap runs over 8 fewer Q primes and 2 fewer special ones.
_BOOT_LEVELS_HP = [2, 1, 1] + [2] * 8 + [2] * 3      # StC, EvalMod, CtS groups (above q0)


def _hp_layout(app_levels: int) -> dict:
    """Group sizes and prime bits of the high-precision layout with ``app_levels``
    application levels of two ~2^25 primes below its ~2^30 bootstrapping groups."""
    return dict(group_sizes=[2] * app_levels + _BOOT_LEVELS_HP,
                group_bits=[25.0] * app_levels + [30.0] * len(_BOOT_LEVELS_HP))


_HP_APP_LEVELS = 10
_HP = _hp_layout(_HP_APP_LEVELS)

_SETS = {
    "toy-n10": dict(log_n=10, group_sizes=[1] * 8 + [2] * 2 + [1] * 2, dnum=4, security=None),
    "toy-n12": dict(log_n=12, group_sizes=_BOOT_SHAPE, dnum=3, security=None),
    "toy-boot-n10": dict(log_n=10, group_sizes=_BOOT_SHAPE_V2, dnum=4, security=None),
    # N = 2^11: the smallest ring whose 1024 slots hold the digits8 ResNets' 8x8x16 tensor
    "toy-boot-n11": dict(log_n=11, group_sizes=_BOOT_SHAPE_V2, dnum=4, security=None),
    "toy-boot-n12": dict(log_n=12, group_sizes=_BOOT_SHAPE_V2, dnum=4, security=None),
    "n16-128": dict(log_n=16, group_sizes=_BOOT_SHAPE_V2, dnum=4, security=128),
    "toy-boot-hp-n10": dict(log_n=10, **_HP, log_scale=50.0, dnum=4, security=None),
    "toy-boot-hp-n12": dict(log_n=12, **_HP, log_scale=50.0, dnum=4, security=None),
    "n16-128-hp": dict(log_n=16, **_HP, log_scale=50.0, dnum=4, security=128),
    "n16-128-hp6": dict(log_n=16, **_hp_layout(6), log_scale=50.0, dnum=4, security=128),
}


@lru_cache(maxsize=None)
def _build_named(name: str) -> CkksParams:
    # the opt-in (and its warning) is get_params's
    return CkksParams.build(name, **_SETS[name], allow_insecure=True)


def list_params() -> list[str]:
    """Names of the built-in parameter sets."""
    return list(_SETS)


def get_params(name: str, allow_insecure: bool = False) -> CkksParams:
    """The named parameter set.

    Insecure sets (``toy-*``) raise :class:`InsecureParametersError` unless
    ``allow_insecure=True``; then they warn (:class:`InsecureParametersWarning`) and print
    ``fhesim: INSECURE ...`` to stderr.
    """
    if name not in _SETS:
        raise KeyError(f"get_params: unknown parameter set {name!r}; known: {list_params()}")
    p = _build_named(name)
    if not p.is_secure:
        if not allow_insecure:
            raise InsecureParametersError(
                f"get_params: {name!r} is INSECURE (n=2^{p.log_n}, log2 QP={p.log_qp:.0f}); "
                f"pass allow_insecure=True to use it for tests")
        msg = f"fhesim: INSECURE CKKS parameters {name!r} (n=2^{p.log_n}, log2 QP={p.log_qp:.0f}): tests only"
        warnings.warn(msg, InsecureParametersWarning, stacklevel=2)
        print(msg, file=sys.stderr)
    return p
