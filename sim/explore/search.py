"""The search of :mod:`sim.explore`: fit and estimate each design once, a coarse grid then
a local refinement, the Pareto front and the best fitting design."""
from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field, replace

import pandas as pd

from .bound import lower_bound
from .space import (BRAM36_BYTES, FILL_STEP, GRIDS, REFINE_GAIN, REFINE_STARTS, REFINE_STEPS, URAM_BYTES, Design,
                    design_config, grid_designs, neighbours, platform, ram_bytes)

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

    def filled(self, d: Design) -> list[Design]:
        """``d`` with the DSP and LUTs it leaves free spent on elementwise multipliers: its
        modmul lanes (and, when it has a basis-conversion unit, separately its bconv lanes)
        raised in steps of :data:`~.space.FILL_STEP` to the most that still fit. A move
        that shrinks the NTT units frees multipliers no single-parameter step can use (a
        larger modmul alone does not fit before, a smaller NTT alone wastes them after);
        this pairs the two. Empty when ``d`` does not fit or nothing more fits."""
        if not self.fit(d)["fits"]:
            return []
        out = []
        for field_ in ("modmul", "bconv") if d.bconv else ("modmul",):
            lo = getattr(d, field_)

            def fits(v):
                return self.fit(replace(d, **{field_: v}))["fits"]
            hi = lo + FILL_STEP
            while fits(hi):                   # lo fits, hi does not: grow, then bisect
                lo, hi = hi, 2 * hi
            while hi - lo > FILL_STEP:
                mid = lo + (hi - lo) // 2 // FILL_STEP * FILL_STEP
                lo, hi = (mid, hi) if fits(mid) else (lo, mid)
            if lo != getattr(d, field_):
                out.append(replace(d, **{field_: lo}))
        return out

    def trimmed(self, d: Design) -> list[Design]:
        """``d`` with its modmul lanes lowered, in steps of :data:`~.space.FILL_STEP`, to the
        most that fit: the converse of :meth:`filled`. A move that grows the NTT units
        (or any other kind) past the DSP or LUT budget becomes a trade of modmul lanes for
        it. Empty when ``d`` fits, or does not fit even with the fewest modmul lanes."""
        if self.fit(d)["fits"]:
            return []

        def fits(v):
            return self.fit(replace(d, modmul=v))["fits"]
        lo, hi = FILL_STEP, d.modmul                     # hi does not fit
        if hi <= lo or not fits(lo):
            return []
        while hi - lo > FILL_STEP:                       # lo fits, hi does not: bisect
            mid = lo + (hi - lo) // 2 // FILL_STEP * FILL_STEP
            lo, hi = (mid, hi) if fits(mid) else (lo, mid)
        return [replace(d, modmul=lo)]

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


def load_workload(name: str, traces_dir=None, algorithm=None):
    """``(ops, notes)`` of a registry workload as found (:func:`sim.cycle.workloads.discover`:
    a trace file in ``traces_dir`` first, else the dry run), with the base design's
    ``[algorithm]`` options ``algorithm`` (:meth:`sim.cycle.workloads.Workload.ops_with`)."""
    import warnings

    from sim.cycle.workloads import discover

    found = {w.name: w for w in discover(traces_dir)}
    if name not in found:
        raise ValueError(f"unknown workload {name!r} (known: {', '.join(found)})")
    w = found[name]
    if not w.available:
        raise ValueError(f"workload {name!r} is not available: {w.missing}")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ops, notes = w.ops_with(algorithm)
    return ops, [f"workload {name}: {w.description} ({w.source})", *notes]


def _refine(ex: Explorer, bar) -> None:
    """Steepest descent from the best :data:`REFINE_STARTS` fitting designs of ``ex``: at most
    :data:`REFINE_STEPS` steps each, every step cutting the cycles by at least
    :data:`REFINE_GAIN`. A step is a single-parameter move (:func:`~.space.neighbours`), or
    such a move with the resources it frees spent on elementwise lanes
    (:meth:`Explorer.filled`), or with the modmul lanes it needs given up
    (:meth:`Explorer.trimmed`); ``bar`` (a progress bar) counts the new designs."""
    fitting = sorted((r for r in ex.results.values() if r["fits"]), key=_key)
    starts = [Design(*(r[f] for f in Design.__dataclass_fields__)) for r in fitting[:REFINE_STARTS]]
    for cur in starts:
        for _ in range(REFINE_STEPS):
            best_n, best_row = None, ex.evaluate(cur)
            moves = neighbours(cur)
            moves += [f for n in moves for f in ex.filled(n) + ex.trimmed(n) if f not in moves]
            for n in dict.fromkeys(moves):
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


def _evaluate_pair(job: tuple) -> dict:
    """``(explorer, design)`` -> the design's row (a cluster task of :func:`_evaluate_grid`)."""
    ex, d = job
    return ex.evaluate(d)


def _evaluate_grid(ex: Explorer, designs: list, cluster: str | None, bar) -> None:
    """Evaluate ``designs`` into ``ex.results`` in grid order, on ``cluster`` if given (the
    explorer is sent to every worker once)."""
    from sim.cluster import cluster_client, map_ordered

    with cluster_client(cluster or "serial") as client:
        if client is None:
            for d in designs:
                ex.evaluate(d)
                bar.update(1)
        else:
            shared = client.scatter(ex, broadcast=True, hash=False)
            rows = map_ordered(client, _evaluate_pair, [(shared, d) for d in designs],
                               on_result=lambda i, r: bar.update(1), key="explore-design")
            for d, row in zip(designs, rows):
                ex.results.setdefault(d, row)
    bar.close()


def explore(device: str = "u280", workload: str = "resnet20", *, grid: str = "default",
            refine: bool = True, util: float = 1.0, execution: str | None = None,
            overlap: str | None = None, progress: bool = True, ops=None, rows: dict | None = None,
            traces_dir=None, cluster: str | None = None) -> ExploreResult:
    """Run the exploration (see the module docstring); ``ops`` overrides the workload's trace;
    ``cluster``: where the coarse grid is evaluated (:mod:`sim.cluster`; ``None``: in this
    process; the refinement, a descent, stays here). The table is the same either way."""
    from tqdm import tqdm

    from sim.cycle.model import CompiledOps

    base, dev = platform(device)
    if grid not in GRIDS:
        raise ValueError(f"unknown grid {grid!r} (known: {', '.join(GRIDS)})")
    if not 0 < util <= 1:
        raise ValueError(f"--util must lie in (0, 1], got {util}")
    notes: list[str] = []
    if ops is None:
        ops, notes = load_workload(workload, traces_dir, base.algorithm)
    compiled = ops if isinstance(ops, CompiledOps) else CompiledOps(ops)
    ex = Explorer(base, dev, compiled, rows, util, execution, overlap)
    seed = Design.from_config(base)
    designs = grid_designs(GRIDS[grid], seed)
    _evaluate_grid(ex, designs, cluster, tqdm(total=len(designs), desc=f"explore {device}/{workload} grid",
                                              unit="design", disable=not progress, leave=False))
    if refine:
        _refine(ex, tqdm(desc=f"explore {device}/{workload} refine", unit="design",
                         disable=not progress, leave=False))
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
