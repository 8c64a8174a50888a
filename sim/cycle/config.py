"""Accelerator descriptions for the cycle model: a small TOML format, a loader and presets.

The format is documented in ``docs/accelerator-config.md``. In short::

    name = "u280"                       # optional; defaults to the file stem
    description = "..."                 # optional free text
    source = "..."                      # optional citation of the stated hardware
    kind = "fpga"                       # "fpga" or "asic" (default "asic")
    multiplier = "barrett"              # RTL modular multiplier: "barrett" or "montgomery"
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

    [units]                             # each unit: a count, or a table {count, lanes}
    ntt = 4                             # >= 1 (the NTT and modmul units are required)
    modmul = { count = 2, lanes = 128 }
    modadd = 2
    bconv = 2                           # 0 is allowed for the units that are not required
    automorphism = 1

    [device]                            # optional: resource budget (FPGA)
    name = "Alveo U280"                 # optional
    dsp = 9024                          # checked on load (see dsp_estimate)
    lut = 1_303_680                     # optional; lut/ff/bram36/uram are checked by
    ff = 2_607_360                      #   sim.synth.resources.fit_report (fhesim report,
    bram36 = 2016                       #   fhesim estimate --resources)
    uram = 960

Every field is checked on load; a missing, negative or mistyped field, an unknown key or
an unknown unit raises :class:`ValueError` naming the field, and so does a configuration
whose units need more DSP slices than ``[device].dsp`` (:func:`dsp_estimate`: synthesised
figures from ``reports/synth.csv`` where available, the tiling rule otherwise).
"""
from __future__ import annotations

import math
import tomllib
from functools import lru_cache
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any, Mapping

#: The unit kinds an accelerator may have, in report order.
UNIT_KINDS: tuple[str, ...] = ("ntt", "modmul", "modadd", "bconv", "automorphism")
#: Units every configuration must have at least one of (they carry the RTL-backed kernels).
REQUIRED_UNITS: tuple[str, ...] = ("ntt", "modmul")
#: Where the preset TOML files live.
PRESET_DIR = Path(__file__).resolve().parent.parent / "configs"

_TOP_KEYS = {
    "name", "description", "source", "kind", "clock_mhz", "word_bits", "lanes",
    "on_chip_bytes", "off_chip_gbps", "units", "device", "multiplier", "max_ring_degree",
    "overlap", "execution", "evk_a_generated", "plaintexts",
}
_UNIT_KEYS = {"count", "lanes"}
_DEVICE_KEYS = {"dsp", "lut", "ff", "bram36", "uram", "name"}
_KINDS = ("asic", "fpga")
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
#: Modular multiplier algorithms the RTL offers (``hw.modmul``).
MULTIPLIER_KINDS = ("barrett", "montgomery")

# --- resource rule (documented in docs/accelerator-config.md, "Resource check") -------
#: Unsigned operand widths of one Xilinx DSP48E2 multiplier (27x18 signed -> 26x17 unsigned).
DSP_A_BITS, DSP_B_BITS = 26, 17
#: Full-width products per modular multiplication (Barrett and Montgomery both need three:
#: the product, the quotient estimate, and the quotient times q).
PRODUCTS_PER_MODMUL = 3


def dsp_per_product(word_bits: int) -> int:
    """DSP48E2 slices for one ``word_bits x word_bits`` unsigned product (tiled 26x17 blocks)."""
    return math.ceil(word_bits / DSP_A_BITS) * math.ceil(word_bits / DSP_B_BITS)


def dsp_per_modmul(word_bits: int) -> int:
    """DSP slices of one fully pipelined modular multiplier lane (one result per cycle)."""
    return PRODUCTS_PER_MODMUL * dsp_per_product(word_bits)


@dataclass(frozen=True)
class UnitSpec:
    """``count`` identical units of one kind, each ``lanes`` words wide."""

    count: int
    lanes: int

    @property
    def total_lanes(self) -> int:
        return self.count * self.lanes


@dataclass(frozen=True)
class AcceleratorConfig:
    """A validated accelerator description (see the module docstring for the fields)."""

    name: str
    clock_mhz: float
    word_bits: int
    lanes: int
    on_chip_bytes: int
    off_chip_gbps: float
    units: Mapping[str, UnitSpec]
    kind: str = "asic"
    multiplier: str = "barrett"
    description: str = ""
    source: str = ""
    dsp_budget: int | None = None
    device_budget: Mapping[str, Any] = field(default_factory=dict)
    max_ring_degree: int = 1 << 16
    overlap: str = "op"
    execution: str = "serial"
    evk_a_generated: bool = False
    plaintexts: str = "offchip"
    path: str | None = None
    extra: Mapping[str, Any] = field(default_factory=dict)

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
    def bytes_per_cycle(self) -> float:
        """Off-chip bytes that arrive per accelerator clock cycle."""
        return self.off_chip_gbps * 1e9 / self.clock_hz

    def unit(self, kind: str) -> UnitSpec:
        if kind not in UNIT_KINDS:
            raise ValueError(f"unknown unit {kind!r}; known units: {', '.join(UNIT_KINDS)}")
        return self.units[kind]

    def dsp_estimate(self) -> dict[str, int]:
        return dsp_estimate(self)

    def summary(self) -> dict[str, Any]:
        """A flat, JSON-friendly view of the configuration."""
        out: dict[str, Any] = {
            "name": self.name, "kind": self.kind, "clock_mhz": self.clock_mhz,
            "word_bits": self.word_bits, "lanes": self.lanes, "multiplier": self.multiplier,
            "on_chip_bytes": self.on_chip_bytes, "off_chip_gbps": self.off_chip_gbps,
            "overlap": self.overlap, "execution": self.execution,
            "evk_a_generated": self.evk_a_generated, "plaintexts": self.plaintexts,
            "max_ring_degree": self.max_ring_degree, "source": self.source,
        }
        for k, spec in self.units.items():
            out[f"{k}_count"] = spec.count
            out[f"{k}_lanes"] = spec.lanes
        if self.dsp_budget is not None:
            out["dsp_budget"] = self.dsp_budget
            out["dsp_estimate"] = dsp_estimate(self)["total"]
        if self.device_budget:
            out["device_budget"] = dict(self.device_budget)
        return out


def dsp_estimate(cfg: AcceleratorConfig, rows: Mapping[str, dict] | None = None) -> dict[str, Any]:
    """DSP slices the configuration's units need, per unit kind and in total.

    ``rows`` are synthesis results (``reports/synth.csv``, read when ``None``; pass ``{}`` for
    the rule alone). Per unit (:class:`sim.synth.resources.UnitResources`):

    * an NTT unit: the synthesised ``hw.ntt.NttUnit`` with the same multiplier, width and
      ``P``; other ``P`` from a line through the synthesised ones; without NTT rows,
      ``P`` butterflies + ``P`` output multipliers;
    * a modmul or basis-conversion lane: the synthesised multiplier of that width;
    * modular adders and the automorphism (a permutation) use no DSP slices.

    Without synthesised rows, the first-order rule: one modular multiplier =
    ``PRODUCTS_PER_MODMUL`` full-width products of ``ceil(W/26) * ceil(W/17)`` DSP48E2 slices
    (12 at W = 32), an NTT unit ``2P`` multipliers. ``out["source"]`` names the origin per kind.
    """
    from sim.synth.resources import UnitResources

    if rows is None:
        from sim.synth.cache import read_cache
        rows = read_cache()
    ur = UnitResources(rows)
    ntt, mm, bc = cfg.units["ntt"], cfg.units["modmul"], cfg.units["bconv"]
    ntt_res, ntt_src = ur.ntt_logic(cfg.multiplier, cfg.word_bits, ntt.lanes)
    mul_res, mul_src = ur.multiplier(cfg.multiplier, cfg.word_bits)
    out: dict[str, Any] = {
        "ntt": ntt.count * ntt_res["dsp"],
        "modmul": mm.total_lanes * mul_res["dsp"],
        "modadd": 0,
        "bconv": bc.total_lanes * mul_res["dsp"],
        "automorphism": 0,
    }
    out["total"] = sum(out.values())
    out["source"] = {"ntt": ntt_src, "modmul": mul_src, "bconv": mul_src}
    return out


@lru_cache(maxsize=None)
def ntt_unit_memory_words(n: int, lanes: int, word_bits: int, multiplier: str) -> int:
    """``hw.ntt.NttUnit(n, q, W, P).memory_words`` (data banks + twiddle ROMs = ``3n``)."""
    from hw.ntt import NttUnit
    from sw.primes import ntt_primes

    unit = NttUnit(n, ntt_primes(n, word_bits, 1)[0], word_bits, lanes, multiplier)
    unit._MustUse__silence = True
    return int(unit.memory_words)


def unit_memory_bytes(cfg: AcceleratorConfig) -> int:
    """On-chip RAM held inside the NTT units (FPGA presets share it with the data).

    ``hw.ntt.NttUnit.memory_words`` at ``n = max_ring_degree``: the ``n`` words being
    transformed plus the twiddle ROMs, which store each of the ``2n`` table entries once
    (``3n`` words per unit for every ``P``), packed at ``word_bits``.
    """
    spec = cfg.units["ntt"]
    words = ntt_unit_memory_words(cfg.max_ring_degree, spec.lanes, cfg.word_bits, cfg.multiplier)
    return cfg.bytes_for(spec.count * words)


# --- loading and validation -------------------------------------------------------------

def _where(ctx: str, key: str) -> str:
    return f"{ctx}.{key}" if ctx else key


def _number(data: Mapping[str, Any], key: str, ctx: str, *, integer: bool, positive: bool,
            required: bool = True, default: Any = None) -> Any:
    name = _where(ctx, key)
    if key not in data:
        if required:
            raise ValueError(f"accelerator config: missing field '{name}'")
        return default
    value = data[key]
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ValueError(f"accelerator config: field '{name}' must be a number, got {value!r}")
    if integer and not (isinstance(value, int) or float(value).is_integer()):
        raise ValueError(f"accelerator config: field '{name}' must be an integer, got {value!r}")
    if not math.isfinite(float(value)):
        raise ValueError(f"accelerator config: field '{name}' must be finite, got {value!r}")
    if value < 0:
        raise ValueError(f"accelerator config: field '{name}' must not be negative, got {value!r}")
    if positive and value == 0:
        raise ValueError(f"accelerator config: field '{name}' must be positive, got {value!r}")
    return int(value) if integer else float(value)


def _string(data: Mapping[str, Any], key: str, default: str) -> str:
    value = data.get(key, default)
    if not isinstance(value, str):
        raise ValueError(f"accelerator config: field '{key}' must be a string, got {value!r}")
    return value


def _choice(data: Mapping[str, Any], key: str, allowed: tuple[str, ...], default: str) -> str:
    value = _string(data, key, default)
    if value not in allowed:
        raise ValueError(f"accelerator config: field '{key}' must be one of {allowed}, got {value!r}")
    return value


def _bool(data: Mapping[str, Any], key: str, default: bool) -> bool:
    value = data.get(key, default)
    if not isinstance(value, bool):
        raise ValueError(f"accelerator config: field '{key}' must be true or false, got {value!r}")
    return value


def _check_keys(data: Mapping[str, Any], allowed: set[str], ctx: str) -> None:
    unknown = sorted(set(data) - allowed)
    if unknown:
        where = f"'{ctx}' " if ctx else ""
        raise ValueError(
            f"accelerator config: unknown key '{_where(ctx, unknown[0])}' in {where}"
            f"(allowed: {', '.join(sorted(allowed))})")


def config_from_dict(data: Mapping[str, Any], *, name: str | None = None,
                     path: str | None = None, synth_rows: Mapping[str, dict] | None = None
                     ) -> AcceleratorConfig:
    """Validate a parsed TOML mapping and build an :class:`AcceleratorConfig`.

    ``synth_rows``: synthesis results for the DSP check (``None``: ``reports/synth.csv``;
    ``{}``: the tiling rule only). Raises :class:`ValueError` naming the offending field.
    """
    if not isinstance(data, Mapping):
        raise ValueError("accelerator config: the document must be a TOML table")
    _check_keys(data, _TOP_KEYS, "")
    cfg_name = _string(data, "name", name or "")
    if not cfg_name:
        raise ValueError("accelerator config: missing field 'name'")
    kind = _string(data, "kind", "asic")
    if kind not in _KINDS:
        raise ValueError(f"accelerator config: field 'kind' must be one of {_KINDS}, got {kind!r}")
    multiplier = _string(data, "multiplier", "barrett")
    if multiplier not in MULTIPLIER_KINDS:
        raise ValueError(f"accelerator config: field 'multiplier' must be one of "
                         f"{MULTIPLIER_KINDS}, got {multiplier!r}")
    clock = _number(data, "clock_mhz", "", integer=False, positive=True)
    word_bits = _number(data, "word_bits", "", integer=True, positive=True)
    if not 16 <= word_bits <= 64:
        raise ValueError(f"accelerator config: field 'word_bits' must lie in [16, 64], got {word_bits}")
    lanes = _number(data, "lanes", "", integer=True, positive=True)
    on_chip = _number(data, "on_chip_bytes", "", integer=True, positive=False)
    bandwidth = _number(data, "off_chip_gbps", "", integer=False, positive=True)

    if "units" not in data:
        raise ValueError("accelerator config: missing field 'units'")
    raw_units = data["units"]
    if not isinstance(raw_units, Mapping):
        raise ValueError("accelerator config: field 'units' must be a table")
    for key in raw_units:
        if key not in UNIT_KINDS:
            raise ValueError(f"accelerator config: unknown unit 'units.{key}' "
                             f"(known units: {', '.join(UNIT_KINDS)})")
    units: dict[str, UnitSpec] = {}
    for kind_name in UNIT_KINDS:
        ctx = f"units.{kind_name}"
        required = kind_name in REQUIRED_UNITS
        if kind_name not in raw_units:
            if required:
                raise ValueError(f"accelerator config: missing field '{ctx}'")
            units[kind_name] = UnitSpec(0, lanes)
            continue
        entry = raw_units[kind_name]
        if isinstance(entry, Mapping):
            _check_keys(entry, _UNIT_KEYS, ctx)
            count = _number(entry, "count", ctx, integer=True, positive=required)
            unit_lanes = _number(entry, "lanes", ctx, integer=True, positive=True,
                                 required=False, default=lanes)
        else:
            count = _number(raw_units, kind_name, "units", integer=True, positive=required)
            unit_lanes = lanes
        units[kind_name] = UnitSpec(count, unit_lanes)
    from hw.ntt import MAX_LOG_N, MIN_LOG_N, check_lanes  # what the RTL can build

    max_n = _number(data, "max_ring_degree", "", integer=True, positive=True, required=False,
                    default=1 << 16)
    if max_n & (max_n - 1) or not (1 << MIN_LOG_N) <= max_n <= (1 << MAX_LOG_N):
        raise ValueError(f"accelerator config: field 'max_ring_degree' must be a power of two in "
                         f"[2^{MIN_LOG_N}, 2^{MAX_LOG_N}] (hw.ntt.NttUnit), got {max_n}")
    try:
        check_lanes(units["ntt"].lanes, max_n)
    except ValueError:
        raise ValueError(f"accelerator config: field 'units.ntt.lanes' must be a power of two with "
                         f"P <= max_ring_degree/2 = {max_n // 2} (hw.ntt.NttUnit), "
                         f"got {units['ntt'].lanes}") from None

    overlap = _choice(data, "overlap", OVERLAP_KINDS, "op")
    execution = _choice(data, "execution", EXECUTION_KINDS, "serial")
    plaintexts = _choice(data, "plaintexts", PLAINTEXT_KINDS, "offchip")
    evk_a_generated = _bool(data, "evk_a_generated", False)

    dsp_budget = None
    device_budget: dict[str, Any] = {}
    if "device" in data:
        device = data["device"]
        if not isinstance(device, Mapping):
            raise ValueError("accelerator config: field 'device' must be a table")
        _check_keys(device, _DEVICE_KEYS, "device")
        dsp_budget = _number(device, "dsp", "device", integer=True, positive=True, required=False)
        for key in ("dsp", "lut", "ff", "bram36", "uram"):
            value = _number(device, key, "device", integer=key != "bram36", positive=False,
                            required=False)
            if value is not None:
                device_budget[key] = value
        if "name" in device:
            if not isinstance(device["name"], str):
                raise ValueError("accelerator config: field 'device.name' must be a string")
            device_budget["name"] = device["name"]

    cfg = AcceleratorConfig(
        name=cfg_name, clock_mhz=clock, word_bits=word_bits, lanes=lanes,
        on_chip_bytes=on_chip, off_chip_gbps=bandwidth, units=MappingProxyType(units),
        kind=kind, multiplier=multiplier, description=_string(data, "description", ""),
        source=_string(data, "source", ""), dsp_budget=dsp_budget,
        device_budget=MappingProxyType(device_budget), max_ring_degree=max_n, overlap=overlap,
        execution=execution, evk_a_generated=evk_a_generated, plaintexts=plaintexts, path=path,
    )
    if dsp_budget is not None:
        need = dsp_estimate(cfg, synth_rows)
        if need["total"] > dsp_budget:
            worst = max(UNIT_KINDS, key=lambda k: need[k])
            src = need["source"].get(worst, "rule")
            raise ValueError(
                f"accelerator config: units need {need['total']} DSP slices but 'device.dsp' is "
                f"{dsp_budget} (largest consumer 'units.{worst}': {need[worst]} slices, "
                f"{'synthesised figures' if src != 'rule' else 'tiling rule'} ({src}))")
    if kind == "fpga" and cfg.data_capacity_bytes < 0:
        raise ValueError(
            f"accelerator config: 'units.ntt' ({units['ntt'].count} units x {units['ntt'].lanes} "
            f"lanes) needs {unit_memory_bytes(cfg)} bytes of on-chip RAM at n={max_n}, more than "
            f"'on_chip_bytes' = {on_chip}")
    return cfg


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


def loads_config(text: str, *, name: str = "inline",
                 synth_rows: Mapping[str, dict] | None = None) -> AcceleratorConfig:
    """Parse and validate a TOML string (handy for tests and sweeps)."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ValueError(f"accelerator config: not valid TOML: {exc}") from exc
    return config_from_dict(data, name=name, synth_rows=synth_rows)
