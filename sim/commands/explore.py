"""``fhesim explore``: design-space exploration of an FPGA accelerator for one workload.

    fhesim explore [--device u280] [--workload resnet20] [--grid default|small]
                   [--util 1.0] [--execution serial|pipelined] [--overlap op|prefetch]
                   [--no-refine] [--top 12] [--plot FILE.png] [--json] [--no-progress]

Enumerates unit mixes at the device's clock, word size, off-chip bandwidth and on-chip
memory (taken from the device's preset, ``sim/configs/<device>.toml``): NTT units (count x
lanes ``P``), modular-multiplier lanes, modular-adder lanes, basis-conversion lanes and
automorphism units (count x lanes). Every mix is first checked against the device's
resources with :func:`sim.synth.resources.fit_report` (LUT, FF, DSP, BRAM36, URAM from the
synthesised units, ``reports/synth.csv``) and the on-chip memory rule of the cycle model
(the NTT units' RAM comes out of ``on_chip_bytes``); mixes that fit are estimated on the
workload with the cycle model (:class:`sim.cycle.model.CompiledOps`, compiled once). The
search is a coarse grid (which always contains the device preset's own mix) followed by a
local refinement (steepest descent over single-parameter steps from the best few designs).

Output: the Pareto front (latency vs DSP and LUT use: no other fitting design is at least
as fast with no more DSPs and no more LUTs), the best fitting design with its bottleneck
(the unit kind, or ``memory``, that takes most of its cycles) and its units as a TOML
``[units]`` table, and a lower bound on the latency of any design on the device
(:func:`lower_bound`): the trace's modular multiplications over the most multipliers the
device's DSP slices hold, and its compulsory off-chip bytes over the bandwidth.

Workloads are those of ``fhesim report`` (:mod:`sim.report.sources`): ``resnet20`` ...
``resnet110`` (dry runs of :func:`sw.nn.trace.dry_run_trace`), ``bootstrap``,
``bootstrap-l8``, ``cmult``, ``rotate``, ``mulrot``. Rules and results:
``docs/cycle-model.md``, "Design-space exploration".
"""
from __future__ import annotations

import argparse
import json
import math
import sys
from dataclasses import asdict, dataclass, field, replace
from types import MappingProxyType

import pandas as pd

#: Devices the exploration knows: name -> the preset whose platform figures it uses (clock,
#: word size, bandwidth, on-chip bytes, multiplier, ``[device]`` budget).
DEVICES = {"u280": "u280"}

#: Coarse grids: NTT lanes P, NTT unit counts, modmul lanes, bconv lanes (0 = on the modmul
#: lanes); modadd lanes and the automorphism units start at the values below and are tuned
#: by the refinement.
GRIDS = {
    "default": dict(ntt_lanes=(32, 64, 128, 256, 512), ntt_count=(1, 2, 3, 4, 6, 8, 12, 16),
                    modmul=(64, 128, 256, 512), bconv=(0, 128, 256, 512), modadd=(256,),
                    automorphism=((1, 256),)),
    "small": dict(ntt_lanes=(64, 256), ntt_count=(1, 2, 4), modmul=(64, 256), bconv=(0, 256),
                  modadd=(256,), automorphism=((1, 256),)),
}
#: Designs the refinement starts from (the best fitting ones of the grid) and its step cap.
REFINE_STARTS = 3
REFINE_STEPS = 40
#: A refinement step must cut the latency by at least this fraction (no drifting into large
#: resource use for negligible gains).
REFINE_GAIN = 0.002


@dataclass(frozen=True, order=True)
class Design:
    """One unit mix. Elementwise units are one unit of ``lanes`` lanes each (their cost
    depends on the total lanes only); 0 lanes = the kernels run on the modmul lanes."""

    ntt_count: int
    ntt_lanes: int
    modmul: int
    modadd: int
    bconv: int
    auto_count: int
    auto_lanes: int

    def units(self, default_lanes: int) -> dict:
        from sim.cycle.config import UnitSpec

        def one(lanes):
            return UnitSpec(1, lanes) if lanes else UnitSpec(0, default_lanes)
        return {"ntt": UnitSpec(self.ntt_count, self.ntt_lanes), "modmul": UnitSpec(1, self.modmul),
                "modadd": one(self.modadd), "bconv": one(self.bconv),
                "automorphism": UnitSpec(self.auto_count, self.auto_lanes) if self.auto_count
                else UnitSpec(0, default_lanes)}

    @property
    def label(self) -> str:
        return (f"ntt {self.ntt_count}x{self.ntt_lanes}, modmul {self.modmul}, modadd {self.modadd}, "
                f"bconv {self.bconv}, auto {self.auto_count}x{self.auto_lanes}")

    def toml_units(self) -> str:
        """The ``[units]`` table of this design (``sim/configs/*.toml`` format)."""
        def one(lanes):
            return f"{{ count = 1, lanes = {lanes} }}" if lanes else "0"
        return "\n".join([
            "[units]",
            f"ntt = {{ count = {self.ntt_count}, lanes = {self.ntt_lanes} }}",
            f"modmul = {{ count = 1, lanes = {self.modmul} }}",
            f"modadd = {one(self.modadd)}",
            f"bconv = {one(self.bconv)}",
            "automorphism = " + (f"{{ count = {self.auto_count}, lanes = {self.auto_lanes} }}"
                                 if self.auto_count else "0"),
        ])

    @classmethod
    def from_config(cls, cfg) -> "Design":
        """The design of a configuration (elementwise units folded to their total lanes)."""
        u = cfg.units
        return cls(u["ntt"].count, u["ntt"].lanes, u["modmul"].total_lanes, u["modadd"].total_lanes,
                   u["bconv"].total_lanes, u["automorphism"].count,
                   u["automorphism"].lanes if u["automorphism"].count else 0)


#: Bytes of one RAMB36E2 (36 Kib) and one URAM288 (288 Kib).
BRAM36_BYTES, URAM_BYTES = 36 * 1024 // 8, 288 * 1024 // 8


def ram_bytes(device) -> int | None:
    """Block RAM plus UltraRAM of ``device`` in bytes (2,016 x 4,608 + 960 x 36,864 = 44.7 MB
    on the U280); ``None`` when the device does not budget them."""
    if device.bram36 is None or device.uram is None:
        return None
    return int(device.bram36 * BRAM36_BYTES + device.uram * URAM_BYTES)


def platform(device: str):
    """``(base configuration, Device budget)`` of a device name; ``ValueError`` naming it
    when unknown."""
    from sim.cycle.config import load_config
    from sim.synth.resources import U280, device_for

    if device not in DEVICES:
        raise ValueError(f"unknown device {device!r} (known devices: {', '.join(sorted(DEVICES))})")
    base = load_config(DEVICES[device])
    return base, (device_for(base) or U280)


def design_config(base, d: Design, *, execution: str | None = None, overlap: str | None = None):
    """``base`` (platform) with the units of ``d``; no validation (see :meth:`Explorer.fit`)."""
    return replace(base, units=MappingProxyType(d.units(base.lanes)), name=f"{base.name}-dse",
                   execution=execution or base.execution, overlap=overlap or base.overlap,
                   description=f"{base.name} platform, explored design: {d.label}")


# --- what a workload needs: modular multiplications and compulsory off-chip bytes -----------

def demand(compiled, word_bits: int) -> dict:
    """Modular multiplications and compulsory off-chip bytes of a compiled workload.

    Multiplications: an NTT/INTT row of ``n`` residues is ``(n/2) log2(n)`` butterflies, one
    multiplication each; ``modmul`` and ``mac`` one per residue; a basis conversion the
    ``count * n * src * (dst + 1)`` multiply-accumulates of the cycle model
    (:mod:`sim.cycle.units`). Additions and automorphisms need no multiplier. Bytes: the
    plaintext operands (read in full from off-chip memory, the cycle model's default), each
    distinct evaluation key once at its largest size, and every use of a key whose identity
    the trace does not give; ciphertexts are taken as staying on chip.
    """
    import numpy as np

    uses = np.bincount(compiled.kid, minlength=len(compiled.shape_list))
    mults: dict[str, int] = {}
    for (kind, n, primes, src, dst, count), k in zip(compiled.shape_list, uses):
        if not k:
            continue
        if kind in ("ntt", "intt"):
            m = primes * count * (n // 2) * int(math.log2(n))
        elif kind in ("modmul", "mac"):
            m = primes * count * n
        elif kind == "bconv":
            m = count * n * src * (dst + 1)
        else:
            continue
        mults[kind] = mults.get(kind, 0) + int(m) * int(k)
    pt_words = int((compiled.pt_polys * compiled.primes_in * compiled.n).sum())
    largest: dict[str, int] = {}
    unknown = 0
    for name, half in zip(compiled.key_name, compiled.key_half_words.tolist()):
        b = -(-2 * half * word_bits // 8)
        if name is None:
            unknown += b
        else:
            largest[name] = max(largest.get(name, 0), b)
    return {"modmuls": mults, "modmul_total": sum(mults.values()),
            "plaintext_bytes": -(-pt_words * word_bits // 8), "distinct_keys": len(largest),
            "key_bytes": sum(largest.values()) + unknown}


def lower_bound(compiled, base, device, rows: dict | None = None) -> dict:
    """A latency no design on ``device`` at ``base``'s clock and bandwidth can beat.

    ``compute_s`` = modular multiplications / (multipliers x clock), with the most multipliers
    the device's DSP slices hold: ``dsp // (DSP slices of one multiplier)``, one result per
    cycle each. Two multiplier costs: fhesim's RTL multiplier (``base.multiplier`` at
    ``base.word_bits``, synthesised: 11 DSP48E2 for a 32-bit Barrett lane), and the floor of
    any DSP-based design, one ``W x W`` product per modular multiplication with the reduction
    for free (:func:`sim.cycle.config.dsp_per_product`, 4 DSP48E2 at W = 32).
    ``memory_s`` = compulsory off-chip bytes (:func:`demand`) / bandwidth. ``bound_s`` =
    ``max(compute_s, memory_s)`` with the RTL multiplier; ``floor_s`` with the free reduction.
    """
    from sim.cycle.config import dsp_per_product
    from sim.synth.cache import read_cache
    from sim.synth.resources import UnitResources

    if rows is None:
        rows = read_cache()
    need = demand(compiled, base.word_bits)
    per_mult, src = UnitResources(rows).multiplier(base.multiplier, base.word_bits)
    dsp_rtl = int(per_mult["dsp"])
    dsp_floor = dsp_per_product(base.word_bits)
    m_rtl, m_floor = device.dsp // dsp_rtl, device.dsp // dsp_floor
    hz = base.clock_hz
    compute_s = need["modmul_total"] / (m_rtl * hz)
    floor_compute_s = need["modmul_total"] / (m_floor * hz)
    mem_bytes = need["plaintext_bytes"] + need["key_bytes"]
    memory_s = mem_bytes / (base.off_chip_gbps * 1e9)
    return {**need, "device": device.name, "dsp": device.dsp, "clock_mhz": base.clock_mhz,
            "off_chip_gbps": base.off_chip_gbps, "dsp_per_multiplier": dsp_rtl,
            "multiplier_source": f"{base.multiplier} W={base.word_bits} ({src})",
            "multipliers": m_rtl, "compute_s": compute_s, "memory_bytes": mem_bytes,
            "memory_s": memory_s, "bound_s": max(compute_s, memory_s),
            "dsp_per_product": dsp_floor, "multipliers_floor": m_floor,
            "floor_compute_s": floor_compute_s, "floor_s": max(floor_compute_s, memory_s)}


# --- the search ------------------------------------------------------------------------------

def _bottleneck(tot: dict) -> tuple[str, dict]:
    """The unit kind (or ``memory``) with the most cycles, and every part's share."""
    parts = dict(tot["unit_cycles"])
    parts["memory"] = tot["stall_cycles"]
    total = tot["cycles"] or 1
    shares = {k: v / total for k, v in parts.items()}
    return max(parts, key=lambda k: parts[k]), shares


@dataclass
class Explorer:
    """Fits and estimates designs on one device and workload, each design once."""

    base: object
    device: object
    compiled: object
    rows: dict | None = None
    util: float = 1.0
    execution: str | None = None
    overlap: str | None = None
    results: dict = field(default_factory=dict)

    def __post_init__(self):
        from sim.synth.cache import read_cache

        if self.rows is None:
            self.rows = read_cache()

    def config(self, d: Design):
        return design_config(self.base, d, execution=self.execution, overlap=self.overlap)

    def fit(self, d: Design) -> dict:
        """Resources of ``d`` against the device (scaled by ``util``) and the memory rule."""
        from sim.synth.resources import RESOURCES, fit_report

        cfg = self.config(d)
        rep = fit_report(cfg, self.device, self.rows)
        tot, budget = rep["totals"], rep["budget"]
        over = [r for r in RESOURCES if budget[r] is not None and tot[r] > self.util * budget[r]]
        data = cfg.data_capacity_bytes
        unit_ram = tot["bram36"] * BRAM36_BYTES + tot["uram"] * URAM_BYTES
        if data < 0:
            over.append("on_chip_bytes")
        ram = ram_bytes(self.device)
        if ram is not None and unit_ram + max(data, 0) > ram:
            over.append("ram")
        return {"fits": not over, "over": ",".join(over), **{r: tot[r] for r in RESOURCES},
                **{f"{r}_util": (tot[r] / budget[r] if budget[r] else float("nan")) for r in RESOURCES},
                "unit_ram_MB": unit_ram / 1e6, "data_MB": data / 1e6}

    def evaluate(self, d: Design) -> dict:
        """One row: the design, its resources, and (when it fits) its latency and bottleneck."""
        if d in self.results:
            return self.results[d]
        row = {"design": d.label, **asdict(d), **self.fit(d)}
        tot = None
        if row["fits"]:
            try:
                tot = self.compiled.totals(self.config(d))
            except ValueError as exc:       # e.g. no automorphism unit for a rotating workload
                row.update(fits=False, over=f"cannot run the workload: {exc}")
        if tot is not None:
            neck, shares = _bottleneck(tot)
            row.update(cycles=tot["cycles"], latency_s=tot["seconds"], bottleneck=neck,
                       offchip_GB=tot["offchip_bytes"] / 1e9,
                       **{f"{k}_share": v for k, v in shares.items()})
        else:
            row.update(cycles=math.nan, latency_s=math.nan, bottleneck="", offchip_GB=math.nan)
        self.results[d] = row
        return row

    def table(self) -> pd.DataFrame:
        return pd.DataFrame(list(self.results.values()))


def grid_designs(spec: dict, seed: Design | None = None) -> list[Design]:
    """The coarse grid (and ``seed``, the device preset's mix, first)."""
    out = [seed] if seed is not None else []
    for P in spec["ntt_lanes"]:
        for c in spec["ntt_count"]:
            for mm in spec["modmul"]:
                for bc in spec["bconv"]:
                    for ma in spec["modadd"]:
                        for ac, al in spec["automorphism"]:
                            d = Design(c, P, mm, ma, bc, ac, al)
                            if d not in out:
                                out.append(d)
    return out


def _lanes_steps(v: int, *, allow_zero: bool) -> list[int]:
    """Neighbouring lane counts: x 2, 1.25, 0.8, 0.5 and +-16, +-32, in multiples of 8
    (and 0, the kernels on the modmul lanes, if allowed)."""
    out = set()
    if v == 0:
        return [64] if allow_zero else []
    for w in [int(round(v * f / 8)) * 8 for f in (2.0, 1.25, 0.8, 0.5)] + [v - 32, v - 16, v + 16, v + 32]:
        if w >= 8 and w != v:
            out.add(w)
    if allow_zero:
        out.add(0)
    return sorted(out)


def neighbours(d: Design) -> list[Design]:
    """Single-parameter steps from ``d`` (the refinement's moves)."""
    out = []
    for c in (d.ntt_count - 1, d.ntt_count + 1):
        if c >= 1:
            out.append(replace(d, ntt_count=c))
    if d.ntt_lanes >= 16:
        out.append(replace(d, ntt_lanes=d.ntt_lanes // 2))
        out.append(replace(d, ntt_lanes=d.ntt_lanes // 2, ntt_count=2 * d.ntt_count))
    out.append(replace(d, ntt_lanes=d.ntt_lanes * 2))
    if d.ntt_count % 2 == 0:
        out.append(replace(d, ntt_lanes=d.ntt_lanes * 2, ntt_count=d.ntt_count // 2))
    out += [replace(d, modmul=v) for v in _lanes_steps(d.modmul, allow_zero=False)]
    out += [replace(d, bconv=v) for v in _lanes_steps(d.bconv, allow_zero=True)]
    # adders cost LUTs only: coarse steps (x2, /2, none), no drift for negligible gains
    out += [replace(d, modadd=v) for v in ((d.modadd * 2, d.modadd // 2, 0) if d.modadd else (256,))
            if v != d.modadd and (v == 0 or v >= 8)]
    if d.auto_count:
        out += [replace(d, auto_lanes=v) for v in (d.auto_lanes // 2, d.auto_lanes * 2) if v >= 8]
        out += [replace(d, auto_count=c) for c in (d.auto_count - 1, d.auto_count + 1) if c >= 1]
    return [n for n in out if n != d]


def _key(row: dict) -> tuple:
    return (row["cycles"], row["dsp"], row["lut"])


def pareto(df: pd.DataFrame) -> pd.DataFrame:
    """Fitting designs that no other fitting design dominates in (latency, DSP, LUT)."""
    fit = df[df["fits"]].sort_values(["latency_s", "dsp", "lut"], kind="stable")
    keep, seen = [], []
    for idx, r in fit.iterrows():
        if any(l <= r.latency_s and d <= r.dsp and u <= r.lut for l, d, u in seen):
            continue
        keep.append(idx)
        seen.append((r.latency_s, r.dsp, r.lut))
    return fit.loc[keep].sort_values("dsp", kind="stable").reset_index(drop=True)


def pick_best(fits: pd.DataFrame) -> pd.Series:
    """The best fitting design: the lowest latency, then the fewest DSP slices, then LUTs."""
    return fits.sort_values(["cycles", "dsp", "lut"], kind="stable").iloc[0]


def front_2d(df: pd.DataFrame, res: str) -> pd.DataFrame:
    """Designs of ``df`` that no other is at least as fast with no more of ``res``."""
    d = df.sort_values([res, "latency_s"], kind="stable")
    keep = d["latency_s"] < d["latency_s"].cummin().shift(fill_value=math.inf)
    return d[keep]


@dataclass
class ExploreResult:
    device: str
    workload: str
    base: object
    table: pd.DataFrame
    front: pd.DataFrame
    best: dict
    preset: dict
    bound: dict
    notes: list[str]
    budget: dict = field(default_factory=dict)

    def front_rows(self, top: int) -> pd.DataFrame:
        """At most about ``top`` rows of the front, evenly spaced in DSP, always with the best."""
        f = self.front
        if len(f) <= top:
            return f
        step = math.ceil(len(f) / max(1, top))
        keep = set(range(0, len(f), step)) | set(f.index[f["design"] == self.best["design"]])
        return f.loc[sorted(keep)]

    def summary(self) -> dict:
        def value(v):
            v = v.item() if hasattr(v, "item") else v
            return None if isinstance(v, float) and math.isnan(v) else v

        def clean(d):
            return {k: value(v) for k, v in d.items()}
        return {"device": self.device, "workload": self.workload,
                "clock_mhz": self.base.clock_mhz, "off_chip_gbps": self.base.off_chip_gbps,
                "execution": self.best.get("execution"), "overlap": self.best.get("overlap"),
                "evaluated": int(len(self.table)), "fitting": int(self.table["fits"].sum()),
                "best": clean(self.best), "preset": clean(self.preset), "bound": self.bound,
                "front": [clean(r) for r in self.front.to_dict("records")], "notes": self.notes}


def load_workload(name: str, traces_dir=None):
    """``(ops, notes)`` of a report workload (:mod:`sim.report.sources`)."""
    import warnings

    from sim.report.sources import discover

    found = {w.name: w for w in discover(traces_dir)}
    if name not in found:
        raise ValueError(f"unknown workload {name!r} (known: {', '.join(found)})")
    w = found[name]
    if not w.available:
        raise ValueError(f"workload {name!r} is not available: {w.missing}")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ops, notes = w.ops()
    return ops, [f"workload {name}: {w.description} ({w.source})", *notes]


def explore(device: str = "u280", workload: str = "resnet20", *, grid: str = "default",
            refine: bool = True, util: float = 1.0, execution: str | None = None,
            overlap: str | None = None, progress: bool = True, ops=None, rows: dict | None = None,
            traces_dir=None) -> ExploreResult:
    """Run the exploration (see the module docstring); ``ops`` overrides the workload's trace."""
    from tqdm import tqdm

    from sim.cycle.model import CompiledOps

    base, dev = platform(device)
    if grid not in GRIDS:
        raise ValueError(f"unknown grid {grid!r} (known: {', '.join(GRIDS)})")
    if not 0 < util <= 1:
        raise ValueError(f"--util must lie in (0, 1], got {util}")
    notes: list[str] = []
    if ops is None:
        ops, notes = load_workload(workload, traces_dir)
    compiled = ops if isinstance(ops, CompiledOps) else CompiledOps(ops)
    ex = Explorer(base, dev, compiled, rows, util, execution, overlap)
    seed = Design.from_config(base)
    designs = grid_designs(GRIDS[grid], seed)
    bar = tqdm(designs, desc=f"explore {device}/{workload} grid", unit="design", disable=not progress,
               leave=False)
    for d in bar:
        ex.evaluate(d)
    bar.close()
    if refine:
        fitting = sorted((r for r in ex.results.values() if r["fits"]), key=_key)
        starts = [Design(*(r[f] for f in Design.__dataclass_fields__)) for r in fitting[:REFINE_STARTS]]
        bar = tqdm(desc=f"explore {device}/{workload} refine", unit="design", disable=not progress,
                   leave=False)
        for cur in starts:
            for _ in range(REFINE_STEPS):
                best_n, best_row = None, ex.evaluate(cur)
                for n in neighbours(cur):
                    new = n not in ex.results
                    row = ex.evaluate(n)
                    if new:
                        bar.update(1)
                    if row["fits"] and row["cycles"] < best_row["cycles"] * (1 - REFINE_GAIN) \
                            and (best_n is None or _key(row) < _key(best_row)):
                        best_n, best_row = n, row
                if best_n is None:
                    break
                cur = best_n
        bar.close()
    table = ex.table()
    fits = table[table["fits"]]
    if not len(fits):
        raise ValueError(f"no explored design fits the {dev.name}")
    best = dict(pick_best(fits))
    best_design = Design(*(int(best[f]) for f in Design.__dataclass_fields__))
    cfg = ex.config(best_design)
    best.update(toml_units=best_design.toml_units(), execution=cfg.execution, overlap=cfg.overlap)
    preset = dict(ex.evaluate(seed))
    bound = lower_bound(compiled, base, dev, ex.rows)
    table = table.assign(on_front=table["design"].isin(set(pareto(table)["design"])))
    return ExploreResult(device, workload, base, table, pareto(table), best, preset, bound, notes,
                         dev.budget())


def plot_front(result: ExploreResult, path=None, *, anchors: dict | None = None, save=None) -> None:
    """Latency vs DSP and vs LUT of every fitting design, the Pareto fronts, the preset, the
    lower bound and (``anchors``: label -> seconds) reference latencies; written to ``path``,
    or handed to ``save(fig)``."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    t = result.table[result.table["fits"]]
    fig, axes = plt.subplots(1, 2, figsize=(12, 4.8), sharey=True)
    for ax, res in zip(axes, ("dsp", "lut")):
        budget = result.budget.get(res)
        f = front_2d(t, res)
        ax.scatter(t[res], t["latency_s"], s=8, color="0.7", label="fitting designs")
        ax.step(f[res], f["latency_s"], where="post", color="C0", lw=1)
        ax.plot(f[res], f["latency_s"], "o", color="C0", ms=4, label=f"Pareto front (latency vs {res.upper()})")
        b = result.best
        ax.scatter([b[res]], [b["latency_s"]], marker="*", s=160, color="C3", zorder=5,
                   label=f"best: {b['latency_s']:.3g} s")
        p = result.preset
        if p.get("fits"):
            ax.scatter([p[res]], [p["latency_s"]], marker="s", s=40, color="C2", zorder=5,
                       label=f"{result.device} preset: {p['latency_s']:.3g} s")
        ax.axhline(result.bound["bound_s"], color="k", ls="--", lw=1,
                   label=f"lower bound (RTL multiplier): {result.bound['bound_s']:.3g} s")
        ax.axhline(result.bound["floor_s"], color="k", ls=":", lw=1,
                   label=f"floor (1 product per mult): {result.bound['floor_s']:.3g} s")
        for i, (name, sec) in enumerate((anchors or {}).items()):
            ax.axhline(sec, color=f"C{4 + i}", ls="-.", lw=1, label=f"{name}: {sec:g} s")
        ax.set_yscale("log")
        ax.set_xlabel(f"{res.upper()} used" + (f" (of {budget:,})" if budget else ""))
        ax.grid(alpha=0.3, which="both")
    axes[0].set_ylabel(f"{result.workload} latency (s)")
    axes[1].legend(fontsize=7, loc="upper right")
    fig.suptitle(f"{result.workload} on {result.device} designs ({result.base.clock_mhz:g} MHz, "
                 f"{result.base.off_chip_gbps:g} GB/s): {int(len(t))} fitting of {len(result.table)} explored",
                 fontsize=10)
    fig.tight_layout()
    if save is not None:
        save(fig)
        return
    fig.savefig(path, dpi=110, bbox_inches="tight")
    plt.close(fig)


# --- command line ----------------------------------------------------------------------------

FRONT_COLS = ["design", "latency_s", "bottleneck", "dsp", "lut", "ff", "bram36", "uram",
              "dsp_util", "lut_util", "unit_ram_MB", "data_MB"]


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "explore", help="design-space exploration: unit mixes that fit an FPGA, Pareto front, best design",
        description="Enumerate accelerator unit mixes that fit the device's resources, estimate a "
                    "workload on each with the cycle model, print the Pareto front (latency vs DSP/LUT), "
                    "the best fitting design with its bottleneck, and a lower bound no design beats.")
    p.add_argument("--device", default="u280", help=f"FPGA device (known: {', '.join(sorted(DEVICES))})")
    p.add_argument("--workload", default="resnet20",
                   help="report workload: resnet20 ... resnet110, bootstrap, bootstrap-l8, cmult, rotate, mulrot")
    p.add_argument("--traces", default=None, help="directory of trace files (default reports/traces/)")
    p.add_argument("--grid", default="default", choices=sorted(GRIDS), help="coarse grid (default: default)")
    p.add_argument("--no-refine", action="store_true", help="coarse grid only, no local refinement")
    p.add_argument("--util", type=float, default=1.0,
                   help="largest fraction of each device resource a design may use (default 1.0)")
    p.add_argument("--execution", choices=["serial", "pipelined"], default=None,
                   help="execution within an operation (default: the device preset's)")
    p.add_argument("--overlap", choices=["op", "prefetch"], default=None,
                   help="transfer overlap (default: the device preset's)")
    p.add_argument("--top", type=int, default=12, help="Pareto rows to print (default 12; all with --json)")
    p.add_argument("--plot", default=None, metavar="FILE.png", help="write the Pareto plot")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.set_defaults(func=run)


def _fail(msg: str) -> int:
    print(f"fhesim explore: {msg}", file=sys.stderr)
    return 2


def run(args) -> int:
    try:
        res = explore(args.device, args.workload, grid=args.grid, refine=not args.no_refine,
                      util=args.util, execution=args.execution, overlap=args.overlap,
                      progress=not (args.no_progress or args.json), traces_dir=args.traces)
    except ImportError as exc:
        return _fail(f"the workload needs the CKKS layer (sw), which failed to import: {exc}")
    except ValueError as exc:
        return _fail(str(exc))
    if args.plot:
        plot_front(res, args.plot)
    if args.json:
        print(json.dumps(res.summary(), indent=1, default=str))
        return 0
    b, bd, p = res.best, res.bound, res.preset
    print(f"== fhesim explore: {res.workload} on {res.device} ({res.base.clock_mhz:g} MHz, "
          f"{res.base.word_bits}-bit, {res.base.off_chip_gbps:g} GB/s, "
          f"{res.base.on_chip_bytes / 1e6:g} MB on chip; execution {b['execution']}, overlap {b['overlap']}) ==")
    print(f"explored {len(res.table)} designs, {int(res.table['fits'].sum())} fit "
          f"(util <= {args.util:g} of each resource)")
    pd.set_option("display.width", 200)
    shown = res.front_rows(args.top)[FRONT_COLS]
    print(f"\nPareto front (latency vs DSP and LUT; {len(res.front)} designs"
          + (f", {len(shown)} shown, evenly spaced in DSP" if len(shown) < len(res.front) else "") + "):")
    print(shown.to_string(index=False, float_format=lambda v: f"{v:.4g}"))
    shares = ", ".join(f"{k} {b[f'{k}_share']:.0%}" for k in ("ntt", "modmul", "modadd", "bconv",
                                                              "automorphism", "memory") if b.get(f"{k}_share"))
    print(f"\nbest fitting design: {b['design']}")
    print(f"  {res.workload}: {b['latency_s']:.4g} s; bottleneck {b['bottleneck']} ({shares})")
    print(f"  resources: DSP {b['dsp']:,} ({b['dsp_util']:.0%}), LUT {b['lut']:,} ({b['lut_util']:.0%}), "
          f"FF {b['ff']:,} ({b['ff_util']:.0%}), BRAM36 {b['bram36']:g} ({b['bram36_util']:.0%}), "
          f"URAM {b['uram']:,} ({b['uram_util']:.0%}); unit RAM {b['unit_ram_MB']:.1f} MB, "
          f"data capacity {b['data_MB']:.1f} MB")
    if p.get("fits"):
        print(f"  device preset ({p['design']}): {p['latency_s']:.4g} s "
              f"({p['latency_s'] / b['latency_s']:.1f}x the best)")
    print("\n" + b["toml_units"])
    print(f"\nlower bound on {res.device}: {bd['modmul_total']:.4g} modular multiplications / "
          f"({bd['multipliers']} multipliers of {bd['dsp_per_multiplier']} DSP x {bd['clock_mhz']:g} MHz) "
          f"= {bd['compute_s']:.3g} s; compulsory off-chip {bd['memory_bytes'] / 1e9:.1f} GB / "
          f"{bd['off_chip_gbps']:g} GB/s = {bd['memory_s']:.3g} s; bound {bd['bound_s']:.3g} s")
    print(f"  floor with one {res.base.word_bits}-bit product per multiplication ({bd['dsp_per_product']} DSP, "
          f"reduction free): {bd['multipliers_floor']} multipliers, {bd['floor_s']:.3g} s")
    for n in res.notes[:1]:
        print(f"note: {n}")
    return 0
