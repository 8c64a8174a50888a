"""Accelerator descriptions for the cycle model: a small TOML format, a loader and presets.

The format is documented in ``docs/accelerator-config.md``. In short::

    name = "u280"                       # optional; defaults to the file stem
    description = "..."                 # optional free text
    source = "..."                      # optional citation of the stated hardware
    kind = "fpga"                       # "fpga" or "asic" (default "asic")
    multiplier = "barrett"              # RTL modular multiplier: "barrett" or "montgomery"
    ntt_scaling = "multiplier"          # optional: hw.ntt.NttUnit's n^-1 scaling, "multiplier"
                                        #   (default: P output multipliers) or "halving"
    ntt_buffering = "single"            # optional: hw.ntt.NttUnit's data memories, "single"
                                        #   (default) or "double" (load/unload during compute)
    clock_mhz = 300                     # > 0
    word_bits = 32                      # 16 .. 64
    lanes = 64                          # default lanes of every unit (>= 1)
    on_chip_bytes = 41_000_000          # >= 0
    off_chip_gbps = 460                 # > 0, 1 GB/s = 1e9 bytes/s
    overlap = "op"                      # optional: "op" (default) or "prefetch" (sim.cycle.model)
    execution = "serial"                # optional: "serial" (default) or "pipelined" (sim.cycle.model)
    evk_a_generated = false             # optional: the "a" half of each evaluation key comes
                                        #   from an on-chip PRNG (only the "b" half is loaded)
    plaintexts = "offchip"              # optional: "offchip" (default) or "generated" (on chip
                                        #   from one stored limb; sim.cycle.model)
    policy = "lru"                      # optional: on-chip replacement policy of keys and
                                        #   plaintexts across operations: "lru" (default) or
                                        #   "min" (Belady, offline; sim.cycle.residency)
    onchip_gbps = 72_000                # optional: on-chip (scratchpad) bandwidth, a limit
                                        #   per operation when stated (absent: no limit)
    limbs = "word"                      # optional: "trace" (default: the trace's own primes),
                                        #   "word" (each level group's bits in word_bits limbs)
                                        #   or "packed" (the chain's log2 Q packed into words)
    power_w = 94.7                      # optional: average power (energy = power x time);
                                        #   absent: energy is refused, naming this field
    power_basis = "average"             # optional: "average" (default) or "peak" (only a
                                        #   maximum is stated: the energy is an upper bound)

    [units]                             # each unit: a count, or a table {count, lanes}
    ntt = 4                             # >= 1 (the NTT and modmul units are required)
    modmul = { count = 2, lanes = 128 }
    modadd = 2
    bconv = 2                           # 0 is allowed for the units that are not required
    automorphism = 1

    [algorithm]                         # optional: software options the workloads are
    giant_steps = "keys"                #   traced with (sim.cycle.algorithm): "keys" (default)
                                        #   or "min" (ARK's minimum key switching)
    hoisting = "single"                 #   "single" (default) or "double" (DFT rotations over Q P)
    dnum = "params"                     #   "params" (default: the set's own) or a digit count
    ring_degree = "params"              #   "params" (default: the set's own) or a power of two
    levels_left = "params"              #   "params" (default) or application levels after bootstrapping
    key_switching = "hybrid"            #   "hybrid" (default) or "klss" (sw.ckks.klss)
    klss_group = "alpha"                #   KLSS: primes per group of Q P (default: the digit size)

    [device]                            # optional: resource budget (FPGA)
    name = "Alveo U280"                 # optional
    dsp = 9024                          # checked by sim.synth.fit.check_fit
    lut = 1_303_680                     # optional; lut/ff/bram36/uram are checked by
    ff = 2_607_360                      #   sim.synth.resources.fit_report (fhesim report,
    bram36 = 2016                       #   fhesim explore)
    uram = 960

:class:`AcceleratorConfig` is a frozen value whose fields declare their rules
(:class:`sim.cycle.checks.Rule`); constructing one checks every field, so a file, a TOML
string and a variant made with :func:`dataclasses.replace` are validated the same way. A
missing, negative or mistyped field, an unknown key or an unknown unit raises
:class:`~sim.cycle.checks.ConfigError` (a :class:`ValueError`) naming the configuration (and
its file), the field's dotted path and what was expected.

Loading imports neither ``hw`` nor the synthesis results. Whether the units fit a device
(``[device].dsp``, and on an FPGA the on-chip RAM left for data) is a separate, explicit
step: :func:`sim.synth.fit.check_fit`.
"""
from __future__ import annotations

import tomllib
from dataclasses import MISSING, dataclass, field, fields
from pathlib import Path
from types import MappingProxyType
from typing import Any, Mapping

from . import algorithm as _alg
from .algorithm import AlgorithmOptions
from .checks import Rule, check, check_keys, origin_of, refuse

#: The unit kinds an accelerator may have, in report order.
UNIT_KINDS: tuple[str, ...] = ("ntt", "modmul", "modadd", "bconv", "automorphism")
#: Units every configuration must have at least one of (they carry the RTL-backed kernels).
REQUIRED_UNITS: tuple[str, ...] = ("ntt", "modmul")
#: Where the preset TOML files live.
PRESET_DIR = Path(__file__).resolve().parent.parent / "configs"

#: Accelerator kinds (an FPGA's NTT-unit RAM comes out of ``on_chip_bytes``).
KINDS = ("asic", "fpga")
#: How transfers overlap compute (sim.cycle.model): ``"op"`` within one operation only;
#: ``"prefetch"`` also the next operation's transfers during this one's compute.
OVERLAP_KINDS = ("op", "prefetch")
#: How the kernels of one operation share time (sim.cycle.model): ``"serial"`` one after
#: another; ``"pipelined"`` the unit kinds work concurrently (chained/fused units), so an
#: operation's compute is bounded by its busiest unit kind.
EXECUTION_KINDS = ("serial", "pipelined")
#: Where plaintext operands come from: ``"offchip"`` read in full from off-chip memory;
#: ``"generated"`` produced on chip from one stored limb (runtime data generation, ARK).
PLAINTEXT_KINDS = ("offchip", "generated")
#: On-chip replacement policies (sim.cycle.residency): ``"lru"`` and the offline bound ``"min"``.
POLICY_KINDS = ("lru", "min")
#: Limb counts (sim.cycle.model, sim.cycle.chain): ``"trace"`` the trace's primes; ``"word"``
#: the limbs each level group of the trace's chain needs at ``word_bits``; ``"packed"`` the
#: chain's log2 Q packed into words.
LIMB_KINDS = ("trace", "word", "packed")
#: What a stated ``power_w`` is: ``"average"`` (energy = power x time, an estimate) or
#: ``"peak"`` (a design that states only its maximum power: the same product is an upper
#: bound, and is reported as one).
POWER_BASIS_KINDS = ("average", "peak")
#: Modular multiplier algorithms the RTL offers (``hw.modmul``).
MULTIPLIER_KINDS = ("barrett", "montgomery")
#: How ``hw.ntt.NttUnit`` scales its inverse by ``n^-1`` (``hw.ntt.SCALINGS``, restated like
#: the ring degrees below; a test compares them): ``"multiplier"`` an output pipeline of ``P``
#: modular multipliers; ``"halving"`` halving butterflies and no output multiplier.
NTT_SCALING_KINDS = ("multiplier", "halving")
#: How many data memories ``hw.ntt.NttUnit`` has (``hw.ntt.BUFFERINGS``, restated; a test
#: compares them): ``"single"`` loads, computes and unloads in turn; ``"double"`` unloads and
#: loads one memory while the butterflies work on the other (``n`` more words per unit).
NTT_BUFFERING_KINDS = ("single", "double")
#: Ring degrees ``hw.ntt.NttUnit`` builds: ``2^MIN_LOG_N .. 2^MAX_LOG_N`` (the same constants
#: as ``hw.ntt``, restated so that loading does not import ``hw``; a test compares them).
MIN_LOG_N, MAX_LOG_N = 3, 17

#: Rules of a unit's fields (a required unit's count must also be positive).
UNIT_RULES = {"count": Rule(int), "lanes": Rule(int, positive=True)}
#: Rules of the ``[device]`` table's fields, in the order they are reported.
DEVICE_RULES = {"dsp": Rule(int, positive=True), "lut": Rule(int), "ff": Rule(int),
                "bram36": Rule(float), "uram": Rule(int), "name": Rule(str)}


def _declared(key: str, rule: Rule | None = None, default: Any = MISSING, **kw):
    """A dataclass field with its TOML key (dotted path) and its rule."""
    meta = {"key": key, "rule": rule}
    if default is MISSING and "default_factory" not in kw:
        return field(metadata=meta)
    return field(default=default, metadata=meta, **kw)


def _unit_count_rule(kind: str) -> Rule:
    return Rule(int, positive=kind in REQUIRED_UNITS)


@dataclass(frozen=True)
class UnitSpec:
    """``count`` identical units of one kind, each ``lanes`` words wide (checked, with the
    unit's name, by the :class:`AcceleratorConfig` that holds it)."""

    count: int
    lanes: int

    @property
    def total_lanes(self) -> int:
        return self.count * self.lanes


@dataclass(frozen=True)
class AcceleratorConfig:
    """A validated accelerator description (see the module docstring for the fields).

    Every construction checks the fields against their declared rules, normalises the
    numbers (``clock_mhz = 300`` becomes ``300.0``) and orders ``units`` and
    ``device_budget``; ``dataclasses.replace(cfg, ...)`` therefore validates a variant
    exactly as a file is validated.
    """

    name: str = _declared("name", Rule(str, nonempty=True))
    clock_mhz: float = _declared("clock_mhz", Rule(float, positive=True))
    word_bits: int = _declared("word_bits", Rule(int, positive=True, low=16, high=64))
    lanes: int = _declared("lanes", Rule(int, positive=True))
    on_chip_bytes: int = _declared("on_chip_bytes", Rule(int))
    off_chip_gbps: float = _declared("off_chip_gbps", Rule(float, positive=True))
    units: Mapping[str, UnitSpec] = _declared("units")
    kind: str = _declared("kind", Rule(str, choices=KINDS), "asic")
    multiplier: str = _declared("multiplier", Rule(str, choices=MULTIPLIER_KINDS), "barrett")
    ntt_scaling: str = _declared("ntt_scaling", Rule(str, choices=NTT_SCALING_KINDS), "multiplier")
    ntt_buffering: str = _declared("ntt_buffering", Rule(str, choices=NTT_BUFFERING_KINDS), "single")
    description: str = _declared("description", Rule(str), "")
    source: str = _declared("source", Rule(str), "")
    dsp_budget: int | None = _declared("device.dsp", Rule(int, positive=True, optional=True), None)
    device_budget: Mapping[str, Any] = _declared("device", default_factory=dict)
    max_ring_degree: int = _declared("max_ring_degree", Rule(
        int, positive=True, power_of_two=True, low=1 << MIN_LOG_N, high=1 << MAX_LOG_N,
        note="hw.ntt.NttUnit"), 1 << 16)
    overlap: str = _declared("overlap", Rule(str, choices=OVERLAP_KINDS), "op")
    execution: str = _declared("execution", Rule(str, choices=EXECUTION_KINDS), "serial")
    evk_a_generated: bool = _declared("evk_a_generated", Rule(bool), False)
    plaintexts: str = _declared("plaintexts", Rule(str, choices=PLAINTEXT_KINDS), "offchip")
    policy: str = _declared("policy", Rule(str, choices=POLICY_KINDS), "lru")
    onchip_gbps: float | None = _declared("onchip_gbps", Rule(float, positive=True, optional=True), None)
    limbs: str = _declared("limbs", Rule(str, choices=LIMB_KINDS), "trace")
    power_w: float | None = _declared("power_w", Rule(float, positive=True, optional=True), None)
    power_basis: str = _declared("power_basis", Rule(str, choices=POWER_BASIS_KINDS), "average")
    algorithm: AlgorithmOptions = _declared("algorithm", default_factory=AlgorithmOptions)
    path: str | None = None
    extra: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self):
        origin = self.origin
        for f in fields(self):
            rule = f.metadata.get("rule")
            if rule is not None:
                object.__setattr__(self, f.name, check(getattr(self, f.name), rule,
                                                       f.metadata["key"], origin))
        object.__setattr__(self, "units", _checked_units(self.units, self.max_ring_degree, origin))
        object.__setattr__(self, "device_budget", _checked_device(self.device_budget, origin))
        object.__setattr__(self, "algorithm", _alg.checked(self.algorithm, origin))

    @property
    def origin(self) -> str:
        """How error messages name this configuration: its name and, if loaded, its file."""
        return origin_of(self.name, self.path)

    @property
    def clock_hz(self) -> float:
        return self.clock_mhz * 1e6

    @property
    def word_bytes(self) -> float:
        """Bytes per residue: ``word_bits / 8`` (words are packed in memory and on the bus)."""
        return self.word_bits / 8

    def bytes_for(self, words: int) -> int:
        """Bytes of ``words`` packed residues: ``ceil(words * word_bits / 8)``."""
        return -(-int(words) * self.word_bits // 8)

    @property
    def data_capacity_bytes(self) -> int:
        """On-chip bytes for ciphertexts and keys.

        FPGA: ``on_chip_bytes`` minus the RAM inside the NTT units (:func:`unit_memory_bytes`),
        which share the device's block RAM. ASIC: ``on_chip_bytes`` (the stated scratchpad;
        unit-internal memories are counted separately in published designs).
        """
        if self.kind == "fpga":
            return self.on_chip_bytes - unit_memory_bytes(self)
        return self.on_chip_bytes

    @property
    def onchip_bytes_per_cycle(self) -> float | None:
        """On-chip bytes per clock cycle (``None``: no stated on-chip bandwidth)."""
        return None if self.onchip_gbps is None else self.onchip_gbps * 1e9 / self.clock_hz

    @property
    def bytes_per_cycle(self) -> float:
        """Off-chip bytes that arrive per accelerator clock cycle."""
        return self.off_chip_gbps * 1e9 / self.clock_hz

    def unit(self, kind: str) -> UnitSpec:
        if kind not in UNIT_KINDS:
            raise ValueError(f"unknown unit {kind!r}; known units: {', '.join(UNIT_KINDS)}")
        return self.units[kind]

    def summary(self, dsp_estimate: int | None = None) -> dict[str, Any]:
        """A flat, JSON-friendly view of the configuration.

        ``dsp_estimate``: the DSP slices the units need (:func:`sim.synth.fit.dsp_estimate`),
        reported beside ``dsp_budget`` when the configuration has one.
        """
        out: dict[str, Any] = {
            "name": self.name, "kind": self.kind, "clock_mhz": self.clock_mhz,
            "word_bits": self.word_bits, "lanes": self.lanes, "multiplier": self.multiplier,
            "ntt_scaling": self.ntt_scaling, "ntt_buffering": self.ntt_buffering,
            "on_chip_bytes": self.on_chip_bytes, "off_chip_gbps": self.off_chip_gbps,
            "overlap": self.overlap, "execution": self.execution,
            "evk_a_generated": self.evk_a_generated, "plaintexts": self.plaintexts,
            "max_ring_degree": self.max_ring_degree, "source": self.source,
            "policy": self.policy, "onchip_gbps": self.onchip_gbps, "limbs": self.limbs,
            "power_w": self.power_w, **self.algorithm.request(),
        }
        for k, spec in self.units.items():
            out[f"{k}_count"] = spec.count
            out[f"{k}_lanes"] = spec.lanes
        if self.dsp_budget is not None:
            out["dsp_budget"] = self.dsp_budget
            if dsp_estimate is not None:
                out["dsp_estimate"] = dsp_estimate
        if self.device_budget:
            out["device_budget"] = dict(self.device_budget)
        return out


def _check_unit_kinds(kinds, origin: str) -> None:
    for key in kinds:
        if key not in UNIT_KINDS:
            raise refuse(origin, f"unknown unit 'units.{key}' (known units: {', '.join(UNIT_KINDS)})")


def _checked_units(units: Any, max_n: int, origin: str) -> Mapping[str, UnitSpec]:
    """Every unit kind present, each count and lanes valid, NTT lanes buildable by the RTL."""
    if not isinstance(units, Mapping):
        raise refuse(origin, "field 'units' must be a table")
    _check_unit_kinds(units, origin)
    out: dict[str, UnitSpec] = {}
    for kind in UNIT_KINDS:
        if kind not in units:
            raise refuse(origin, f"missing field 'units.{kind}'")
        spec = units[kind]
        if not isinstance(spec, UnitSpec):
            raise refuse(origin, f"field 'units.{kind}' must be a UnitSpec, got {spec!r}")
        count = check(spec.count, _unit_count_rule(kind), f"units.{kind}.count", origin)
        lanes = check(spec.lanes, UNIT_RULES["lanes"], f"units.{kind}.lanes", origin)
        out[kind] = UnitSpec(count, lanes)
    lanes = out["ntt"].lanes
    if lanes & (lanes - 1) or lanes > max_n // 2:      # hw.ntt.check_lanes
        raise refuse(origin, f"field 'units.ntt.lanes' must be a power of two with P <= "
                             f"max_ring_degree/2 = {max_n // 2} (hw.ntt.NttUnit), got {lanes}")
    return MappingProxyType(out)


def _checked_device(budget: Any, origin: str) -> Mapping[str, Any]:
    """The ``[device]`` budget, each value checked, in :data:`DEVICE_RULES` order."""
    if not isinstance(budget, Mapping):
        raise refuse(origin, "field 'device' must be a table")
    check_keys(budget, DEVICE_RULES, "device", origin)
    return MappingProxyType({k: check(budget[k], rule, f"device.{k}", origin)
                             for k, rule in DEVICE_RULES.items() if k in budget})


def unit_memory_bytes(cfg: AcceleratorConfig) -> int:
    """On-chip RAM held inside the NTT units (FPGA presets share it with the data).

    ``hw.ntt.NttUnit.memory_words`` at ``n = max_ring_degree``: the ``n`` words being
    transformed (``2n`` with ``ntt_buffering = "double"``) plus the twiddle ROMs, which store
    each of the ``2n`` table entries once (``3n`` words per unit for every ``P``, ``4n``
    double-buffered), packed at ``word_bits``.
    """
    from .hwprops import ntt_memory_words

    spec = cfg.units["ntt"]
    words = ntt_memory_words(cfg.max_ring_degree, spec.lanes, cfg.word_bits, cfg.multiplier,
                             cfg.ntt_buffering)
    return cfg.bytes_for(spec.count * words)


# --- loading: the TOML layout onto the fields ------------------------------------------

#: TOML keys of the top-level table: the declared fields, and the ``[device]`` table.
TOP_KEYS = frozenset(f.metadata["key"].split(".")[0] for f in fields(AcceleratorConfig)
                     if "key" in f.metadata)


def _unit_from_toml(kind: str, entry: Any, default_lanes: Any, origin: str) -> UnitSpec:
    """One ``[units]`` entry: a count (named ``units.<kind>``) or a ``{count, lanes}`` table."""
    rule = _unit_count_rule(kind)
    if not isinstance(entry, Mapping):
        return UnitSpec(check(entry, rule, f"units.{kind}", origin), default_lanes)
    ctx = f"units.{kind}"
    check_keys(entry, UNIT_RULES, ctx, origin)
    if "count" not in entry:
        raise refuse(origin, f"missing field '{ctx}.count'")
    count = check(entry["count"], rule, f"{ctx}.count", origin)
    if "lanes" not in entry:
        return UnitSpec(count, default_lanes)
    return UnitSpec(count, check(entry["lanes"], UNIT_RULES["lanes"], f"{ctx}.lanes", origin))


def _units_from_toml(raw: Any, default_lanes: Any, origin: str) -> dict[str, UnitSpec]:
    if not isinstance(raw, Mapping):
        raise refuse(origin, "field 'units' must be a table")
    _check_unit_kinds(raw, origin)
    for kind in REQUIRED_UNITS:
        if kind not in raw:
            raise refuse(origin, f"missing field 'units.{kind}'")
    return {kind: (_unit_from_toml(kind, raw[kind], default_lanes, origin) if kind in raw
                   else UnitSpec(0, default_lanes)) for kind in UNIT_KINDS}


def config_from_dict(data: Mapping[str, Any], *, name: str | None = None,
                     path: str | None = None) -> AcceleratorConfig:
    """Map a parsed TOML document onto an :class:`AcceleratorConfig` (which checks it).

    ``name`` is the default of the ``name`` field (the file stem); ``path`` the file, named
    in error messages. Raises :class:`~sim.cycle.checks.ConfigError` naming the field.
    """
    origin = origin_of(data.get("name", name) if isinstance(data, Mapping) else name, path)
    if not isinstance(data, Mapping):
        raise refuse(origin, "the document must be a TOML table")
    check_keys(data, TOP_KEYS, "", origin)
    for f in fields(AcceleratorConfig):
        key = f.metadata.get("key", "")
        required = f.default is MISSING and f.default_factory is MISSING and f.name != "name"
        if required and key not in data:
            raise refuse(origin, f"missing field '{key}'")
    kwargs = {k: v for k, v in data.items() if k not in ("units", "device", "algorithm")}
    if "algorithm" in data:
        kwargs["algorithm"] = _alg.from_toml(data["algorithm"], origin)
    kwargs.setdefault("name", name or "")
    kwargs["units"] = _units_from_toml(data["units"], data["lanes"], origin)
    if "device" in data:
        device = data["device"]
        if not isinstance(device, Mapping):
            raise refuse(origin, "field 'device' must be a table")
        kwargs["dsp_budget"] = device.get("dsp")
        kwargs["device_budget"] = device
    return AcceleratorConfig(**kwargs, path=path)


def preset_names() -> list[str]:
    """Names of the bundled presets (the TOML files in ``sim/configs``)."""
    return sorted(p.stem for p in PRESET_DIR.glob("*.toml"))


def load_config(name_or_path: str | Path) -> AcceleratorConfig:
    """Load a preset by name (``u280``, ``sharp``, ...) or a TOML file by path."""
    text_name = str(name_or_path)
    path = Path(text_name)
    if not (text_name.endswith(".toml") or path.is_file()):
        candidate = PRESET_DIR / f"{text_name}.toml"
        if not candidate.is_file():
            raise ValueError(f"accelerator config: no preset named {text_name!r} "
                             f"(presets: {', '.join(preset_names())}) and no such file")
        path = candidate
    if not path.is_file():
        raise ValueError(f"accelerator config: file {text_name!r} does not exist")
    try:
        data = tomllib.loads(path.read_text())
    except tomllib.TOMLDecodeError as exc:
        raise ValueError(f"accelerator config: {path} is not valid TOML: {exc}") from exc
    except (UnicodeDecodeError, OSError) as exc:
        raise ValueError(f"accelerator config: {path} is not a readable UTF-8 text file: {exc}") from None
    try:
        return config_from_dict(data, name=path.stem, path=str(path))
    except ValueError as exc:
        if str(path) in str(exc):
            raise
        raise ValueError(f"{exc} (in {path})") from None


def loads_config(text: str, *, name: str = "inline") -> AcceleratorConfig:
    """Parse and validate a TOML string (handy for tests and sweeps)."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ValueError(f"accelerator config: not valid TOML: {exc}") from exc
    return config_from_dict(data, name=name)
