"""The software options a preset's workloads are traced with (the ``[algorithm]`` table).

A published accelerator runs its own algorithm as well as its own hardware. The options
here are options of the real ``sw`` path; the workload registry (:mod:`sim.cycle.workloads`)
builds the dry-run trace with them, so a projection never rests on a synthetic event list:

* ``giant_steps``: ``"keys"`` (default) or ``"min"``, the bootstrapping DFTs' giant steps,
  :attr:`sw.bootstrap.BootstrapConfig.giant_steps` (``"min"``: ARK's minimum key switching,
  the same key switches with fewer distinct rotation keys). Applies to the workloads that
  bootstrap (groups ``bootstrap`` and ``resnet``).
* ``hoisting``: ``"single"`` (default), ``"double"`` or ``"double-cts"`` (CoeffsToSlots only), how the bootstrapping DFTs' rotations
  are hoisted, :attr:`sw.bootstrap.BootstrapConfig.hoisting` (``"double"``: the baby and
  giant rotations and the plaintext products stay over ``Q_l + P`` and one ModDown ends each
  level: the same key switches with fewer NTTs and basis conversions, and plaintexts of
  ``K`` more limbs). Applies to the workloads that bootstrap.
* ``baby_steps``: ``"hoisted"`` (default) or ``"chain"``, the bootstrapping DFTs' baby
  rotations, :attr:`sw.bootstrap.BootstrapConfig.baby_steps` (``"chain"``: ARK's minimum key
  switching applied to the baby steps, each rotated from the previous one, so a level needs
  one baby-step key; the same key switches, each with its own decomposition). Only with
  ``hoisting = "single"``. Applies to the workloads that bootstrap.
* ``dnum``: ``"params"`` (default: the parameter set's own) or a digit count ``>= 1``: the
  workload's parameter set is rebuilt with that many key-switching digits
  (:meth:`sw.ckks.params.CkksParams.with_dnum`: the same ``Q`` chain, ``alpha =
  ceil(#Q / dnum)`` special primes). Applies to every workload. A digit count the software
  cannot run at the set (outside ``[1, #Q]``, or a ``log2 QP`` above the 128-bit bound of a
  secure set) is refused by :func:`params_with_dnum` with a message naming ``algorithm.dnum``
  and the reason, before any trace is made.
* ``ring_degree``: ``"params"`` (default: the parameter set's own) or a power of two: the
  workload's parameter set is rebuilt at that ring degree
  (:meth:`sw.ckks.params.CkksParams.with_log_n`: the same level layout, primes near the
  same powers of two, now ``= 1 mod 2N``; fully packed bootstrapping then has ``N/2``
  slots), before ``dnum`` is applied. A design's own degree (BTS's ``N = 2^17``) is traced
  this way. A degree the software cannot run the set at (``log2 QP`` above the 128-bit bound
  there, for example ``n16-128`` at ``2^15``) is refused by :func:`params_at_degree` naming
  ``algorithm.ring_degree``; the accelerator's ``max_ring_degree`` must admit it (the model
  refuses an operation wider than its units). Applies to every workload.
* ``levels_left``: ``"params"`` (default: the set's own) or an integer ``>= 1``: the
  workload's parameter set rebuilt with that many application levels below its
  bootstrapping levels (:meth:`sw.ckks.params.CkksParams.with_app_levels`, keeping ``q0`` and
  the top ``sw.bootstrap.BootstrapConfig(slots).depth`` groups; ``n16-128`` with 8 is
  ``bench-boot-l8``), after ``ring_degree`` and before ``dnum``: a paper's "levels left after
  bootstrapping". Refused by :func:`params_with_levels_left` naming
  ``algorithm.levels_left`` when the set has no bootstrapping layout or the bound is exceeded.
  Applies to every workload.
* ``key_switching``: ``"hybrid"`` (default) or ``"klss"``: how every key switch with a
  switching key forms its inner product (``sw.ckks.CkksContext(key_switching=)``,
  :mod:`sw.ckks.klss`: the digits raised to an auxiliary modulus ``T`` only, the products
  formed exactly there per group of ``alpha`` primes of ``Q_l P``; the same ciphertexts,
  bit for bit, with fewer NTTs at large ``dnum`` and larger keys). The trace records each
  KLSS key's groups and ``T`` primes, so the model reads its own size. Applies to every
  workload.
* ``klss_group``: ``"alpha"`` (default: the set's digit size) or an integer ``>= 1``: the
  primes per group of ``Q_l P`` of KLSS key switching (``CkksContext(klss_group=)``; larger
  groups: fewer products over ``T`` but a wider ``T``). Refused unless ``key_switching =
  "klss"``.
* ``low_special``: ``"fit"`` (default, the software's) or ``"all"``: whether the ResNets'
  rotation keys at low levels, whose one key-switching digit is shorter than ``alpha``, are
  made over only the special primes that digit needs
  (:meth:`sw.ckks.params.CkksParams.special_for`; ``HeSession(fit_special=)``: at
  ``n16-128`` level 2, 5 of 11) or over all of them. Applies to the ``resnet`` group.

:class:`AlgorithmOptions` is a frozen value whose fields are checked against
:data:`ALGORITHM_RULES` (the declared-rule machinery of :mod:`sim.cycle.checks`).
:meth:`AlgorithmOptions.for_group` keeps the options that apply to a workload group (the
others at their defaults), and :meth:`AlgorithmOptions.request` is what the trace cache
keys on. Importing this module imports neither ``sw`` nor ``hw``.
"""
from __future__ import annotations

from dataclasses import dataclass, fields, replace
from typing import Any, Mapping

from .checks import Rule, check, check_keys, origin_of, refuse

#: ``giant_steps`` values; the same tuple as ``sw.bootstrap.bootstrapper.GIANT_STEPS``
#: (restated so that loading a configuration does not import ``sw``; a test compares them).
GIANT_STEPS = ("keys", "min")
#: ``hoisting`` values; the same tuple as ``sw.bootstrap.bootstrapper.HOISTING`` (a test
#: compares them).
HOISTING = ("single", "double", "double-cts")
#: ``baby_steps`` values; the same tuple as ``sw.bootstrap.bootstrapper.BABY_STEPS`` (a test
#: compares them).
BABY_STEPS = ("hoisted", "chain")
#: ``key_switching`` values; the same tuple as ``sw.ckks.klss.KEY_SWITCHING`` (a test
#: compares them).
KEY_SWITCHING = ("hybrid", "klss")
#: ``low_special`` values (``sw.nn.encrypted.HeSession(fit_special=)`` True / False).
LOW_SPECIAL = ("fit", "all")
#: The ``dnum`` value that keeps the parameter set's own digit count (and the
#: ``ring_degree`` value that keeps its own degree).
DNUM_OF_PARAMS = "params"
#: Ring degrees ``ring_degree`` may name: ``2^10 .. 2^17`` (the degrees with a tabulated
#: 128-bit bound, :data:`sw.ckks.security.MAX_LOG_QP_128`; restated, a test compares them).
RING_DEGREES = (1 << 10, 1 << 17)

#: Rules of the ``[algorithm]`` table's fields.
ALGORITHM_RULES = {
    "giant_steps": Rule(str, choices=GIANT_STEPS),
    "hoisting": Rule(str, choices=HOISTING),
    "baby_steps": Rule(str, choices=BABY_STEPS),
    "dnum": Rule(int, positive=True, words=(DNUM_OF_PARAMS,)),
    "low_special": Rule(str, choices=LOW_SPECIAL),
    "ring_degree": Rule(int, positive=True, power_of_two=True, low=RING_DEGREES[0],
                        high=RING_DEGREES[1], words=(DNUM_OF_PARAMS,)),
    "levels_left": Rule(int, positive=True, words=(DNUM_OF_PARAMS,)),
    "key_switching": Rule(str, choices=KEY_SWITCHING),
    "klss_group": Rule(int, positive=True, words=("alpha",)),
}
#: Workload groups each option applies to (``None``: every group).
APPLIES_TO: dict[str, tuple[str, ...] | None] = {
    "giant_steps": ("bootstrap", "resnet"),
    "hoisting": ("bootstrap", "resnet"),
    "baby_steps": ("bootstrap", "resnet"),
    "dnum": None,
    "low_special": ("resnet",),
    "ring_degree": None,
    "levels_left": None,
    "key_switching": None,
    "klss_group": None,
}


@dataclass(frozen=True)
class AlgorithmOptions:
    """The ``[algorithm]`` table (see the module docstring); checked at construction."""

    giant_steps: str = "keys"
    dnum: int | str = DNUM_OF_PARAMS
    hoisting: str = "single"
    low_special: str = "fit"
    baby_steps: str = "hoisted"
    ring_degree: int | str = DNUM_OF_PARAMS
    levels_left: int | str = DNUM_OF_PARAMS
    key_switching: str = "hybrid"
    klss_group: int | str = "alpha"

    def __post_init__(self):
        checked(self, "'algorithm'")

    @property
    def is_default(self) -> bool:
        return self == AlgorithmOptions()

    def for_group(self, group: str) -> "AlgorithmOptions":
        """These options with those that do not apply to workload ``group`` at their defaults."""
        default = AlgorithmOptions()
        keep = {f.name: getattr(self, f.name) for f in fields(self)
                if APPLIES_TO[f.name] is None or group in APPLIES_TO[f.name]}
        return replace(default, **keep)

    def request(self) -> dict[str, Any]:
        """The options as a JSON-friendly dict (part of the trace cache's request)."""
        return {f.name: getattr(self, f.name) for f in fields(self)}

    def label(self) -> str:
        """``"giant_steps=min, dnum=5"``: the options that differ from the defaults ("" if none)."""
        default = AlgorithmOptions()
        return ", ".join(f"{f.name}={getattr(self, f.name)}" for f in fields(self)
                         if getattr(self, f.name) != getattr(default, f.name))


def checked(options: Any, origin: str) -> AlgorithmOptions:
    """``options`` (an :class:`AlgorithmOptions`) with every field checked against
    :data:`ALGORITHM_RULES`; :class:`~sim.cycle.checks.ConfigError` naming
    ``algorithm.<field>`` otherwise."""
    if not isinstance(options, AlgorithmOptions):
        raise refuse(origin, f"field 'algorithm' must be an AlgorithmOptions, got {options!r}")
    for name, rule in ALGORITHM_RULES.items():
        value = check(getattr(options, name), rule, f"algorithm.{name}", origin)
        object.__setattr__(options, name, value)
    if options.klss_group != "alpha" and options.key_switching != "klss":
        raise refuse(origin, f"field 'algorithm.klss_group' = {options.klss_group} needs "
                             f"algorithm.key_switching = 'klss' (got {options.key_switching!r})")
    if options.baby_steps == "chain" and options.hoisting != "single":
        raise refuse(origin, f"field 'algorithm.baby_steps' = 'chain' needs algorithm.hoisting = "
                             f"'single' (got {options.hoisting!r}): a chained baby step rotates the "
                             f"previous one, which double hoisting, whose babies share one "
                             f"decomposition over Q_l + P, cannot do")
    return options


def from_toml(table: Any, origin: str) -> AlgorithmOptions:
    """The ``[algorithm]`` table of a configuration file (unknown keys refused)."""
    if not isinstance(table, Mapping):
        raise refuse(origin, "field 'algorithm' must be a table")
    check_keys(table, ALGORITHM_RULES, "algorithm", origin)
    opts = object.__new__(AlgorithmOptions)      # checked with the configuration's origin
    for f in fields(AlgorithmOptions):
        object.__setattr__(opts, f.name, table.get(f.name, f.default))
    return checked(opts, origin)


def params_at_degree(params, ring_degree: int | str, origin: str = origin_of("algorithm", None)):
    """``params`` (a ``CkksParams``) rebuilt at ``ring_degree``, or itself when it is
    ``"params"`` or its own degree. Refused (:class:`~sim.cycle.checks.ConfigError` naming
    ``algorithm.ring_degree``) when the software cannot run the set there: a secure set whose
    ``log2 QP`` exceeds the 128-bit bound at that degree."""
    if ring_degree == DNUM_OF_PARAMS or ring_degree == params.n:
        return params
    from sw.ckks.errors import SecurityError

    try:
        return params.with_log_n(int(ring_degree).bit_length() - 1)
    except SecurityError as exc:
        raise refuse(origin, f"field 'algorithm.ring_degree' = {ring_degree} cannot run at "
                             f"{params.name}: {exc} (this option keeps the set's level layout, "
                             f"so its log2 QP = {params.log_qp:.0f} must fit the bound at the new "
                             f"degree)") from None


def params_with_levels_left(params, levels: int | str, origin: str = origin_of("algorithm", None)):
    """``params`` rebuilt with ``levels`` application levels below its bootstrapping levels
    (:func:`sw.bootstrap.with_levels_left`), or itself for ``"params"`` or
    its own count. Refused (:class:`~sim.cycle.checks.ConfigError` naming
    ``algorithm.levels_left``) when the set cannot be rebuilt so."""
    if levels == DNUM_OF_PARAMS:
        return params
    from sw.bootstrap import with_levels_left

    try:
        return with_levels_left(params, int(levels))
    except ValueError as exc:           # a SecurityError is one
        raise refuse(origin, f"field 'algorithm.levels_left' = {levels} cannot run at "
                             f"{params.name}: {exc}") from None


def algorithm_params(params, options: "AlgorithmOptions", origin: str = origin_of("algorithm", None)):
    """``params`` with the options' ``ring_degree``, ``levels_left`` and then ``dnum`` applied."""
    params = params_at_degree(params, options.ring_degree, origin)
    params = params_with_levels_left(params, options.levels_left, origin)
    return params_with_dnum(params, options.dnum, origin)


def params_with_dnum(params, dnum: int | str, origin: str = origin_of("algorithm", None)):
    """``params`` (a ``CkksParams``) rebuilt with ``dnum`` key-switching digits, or itself
    when ``dnum`` is ``"params"`` or its own. Refused (:class:`~sim.cycle.checks.ConfigError`
    naming ``algorithm.dnum``) when the software cannot run it at that set: ``dnum`` outside
    ``[1, #Q primes]``, or (a secure set) a ``log2 QP`` above the 128-bit bound; the message
    states the digit counts the set admits."""
    if dnum == DNUM_OF_PARAMS or dnum == params.dnum:
        return params
    from sw.ckks.errors import SecurityError

    nq = len(params.q_primes)
    if not 1 <= dnum <= nq:
        raise refuse(origin, f"field 'algorithm.dnum' = {dnum} cannot run at {params.name}: "
                             f"a digit holds at least one of its {nq} Q primes, so dnum must lie "
                             f"in [1, {nq}]")
    try:
        return params.with_dnum(dnum)
    except SecurityError as exc:
        ok = [d for d in range(1, nq + 1) if _fits(params, d)]
        span = f"{ok[0]} .. {ok[-1]}" if ok else "none"
        raise refuse(origin, f"field 'algorithm.dnum' = {dnum} cannot run at {params.name}: "
                             f"{exc} (dnum {dnum} needs alpha = ceil({nq}/{dnum}) = "
                             f"{-(-nq // dnum)} special primes; this option keeps the set's Q chain "
                             f"and levels, so the digit counts it admits are {span})") from None


def _fits(params, dnum: int) -> bool:
    from sw.ckks.errors import SecurityError

    try:
        params.with_dnum(dnum)
    except SecurityError:
        return False
    return True
