"""``fhesim report``: regenerate ``reports/`` (Markdown + CSV + PNG) from the cycle model.

Contents (``report.md`` links everything):

1. workloads: which are available and from where, which are missing and why
   (the workload registry, :mod:`sim.cycle.workloads`);
2. projected latency of every available workload on every preset (``latency.csv``), with
   compute-bound vs memory-bound split;
3. breakdowns by kernel kind (plus the memory stall) and by operation kind / label
   (``breakdown_kernel.csv``, ``breakdown_op.csv``, ``breakdown_label.csv``, stacked-bar
   PNGs);
4. a sweep of lanes x off-chip bandwidth on the ``u280`` design point (``sweep.csv``, heat
   map), each point also checked against the U280's resources;
5. the anchors (published GPU / accelerator figures with their sources) beside the model,
   and the validation of presets that mimic a published design (``anchors.csv``,
   ``validation.csv``);
6. FPGA resources: the synthesis table (``reports/synth.csv``, never re-run here) and each
   preset's resource total against the U280 (``resources.csv``).

Decomposition of a workload's cycles (exact, per operation ``max(compute, transfer) + fill``):
``total = sum(kernel occupancy) + sum(fill) + memory stall``, with
``memory stall = sum(max(0, transfer - compute))``.

The tables are computed as DataFrames (:mod:`.tables`, :mod:`.validation`,
:mod:`.design_space`) and rendered afterwards: CSV, Markdown (:mod:`.markdown`) and PNG
figures (:mod:`.plots`).

Files the previous run wrote (``manifest.json``) are deleted first; ``synth.csv`` (the
synthesis cache) and files this command did not write (``rtl_regression.*``) are kept.
"""
from __future__ import annotations

import json
import time
from pathlib import Path

import pandas as pd

from .design_space import design_space, design_space_md
from .markdown import md_table
from .tables import (_resnet_tables, anchors_table, estimate_all, resources_tables, sweep_table,
                     sweep_workload, workload_table)
from .validation import VALIDATION_FACTOR, VALIDATION_WORKLOADS, validation_md, validation_table

KEEP = {"synth.csv", "rtl_regression.csv", "rtl_regression.json"}

__all__ = ["KEEP", "VALIDATION_FACTOR", "generate"]


def _validation(results: dict, available: set[str]) -> tuple[pd.DataFrame, list[str]]:
    """``validation.csv`` rows and the report's validation section (:mod:`.validation`)."""
    val = validation_table(results, available)
    return val, validation_md(val)


def _design_space(compiled: dict, quick: bool, rows: dict, save_csv, save_fig, log) -> list[str]:
    """Section 2c (:mod:`.design_space`): writes ``u280_design_space.csv``, ``u280_pareto.png``
    and ``u280_bound.csv``; returns the section's Markdown (empty without a workload)."""
    ds = design_space(compiled, quick, rows, log)
    if ds is None:
        return []
    save_csv(ds.result.table, "u280_design_space.csv")
    ds.plot(lambda fig: save_fig(fig, "u280_pareto.png"))
    save_csv(ds.bound, "u280_bound.csv")
    return design_space_md(ds, quick)


def _variants(log):
    """``variant(workload, options)`` for :func:`.tables.estimate_all`: the workload traced
    with a preset's ``[algorithm]`` options (:meth:`sim.cycle.workloads.Workload.ops_with`),
    compiled once per (workload, options)."""
    from sim.cycle.model import CompiledOps

    memo: dict = {}

    def variant(w, opts):
        key = (w.name, tuple(sorted(opts.request().items())))
        if key not in memo:
            log(f"report: tracing workload {w.name} with [algorithm] {opts.label()} ...")
            ops, notes = w.ops_with(opts)
            memo[key] = (CompiledOps(ops), notes)
        return memo[key]
    return variant


class _Output:
    """The output directory: removes the files of the previous run (``manifest.json``, except
    :data:`KEEP`), saves CSV files and figures and records what it wrote."""

    def __init__(self, out_dir, plt):
        self.out, self.plt, self.written = Path(out_dir), plt, []
        self.out.mkdir(parents=True, exist_ok=True)
        self.manifest = self.out / "manifest.json"
        if self.manifest.is_file():
            try:
                for name in json.loads(self.manifest.read_text()).get("files", []):
                    p = self.out / name
                    if p.name not in KEEP and p.is_file():
                        p.unlink()
            except (OSError, ValueError):
                pass

    def csv(self, df: pd.DataFrame, name: str) -> None:
        df.to_csv(self.out / name, index=False)
        self.written.append(name)

    def fig(self, fig, name: str) -> None:
        fig.savefig(self.out / name, dpi=110, bbox_inches="tight")
        self.plt.close(fig)
        self.written.append(name)


def _breakdown_figures(est, resnet_names: set, o: _Output) -> list[str]:
    """The stacked breakdowns and the ResNet figures; returns the ResNet figures' names."""
    from .plots import _resnet_plots, stacked

    def not_resnet(df):   # the ResNets have figures of their own (below)
        keep = df[~df["workload"].isin(resnet_names)] if len(df) else df
        return keep if len(keep) else df

    lat, plt = est.latency, o.plt
    stacked(not_resnet(est.kernel), "segment", "Latency by kernel kind (+ memory stall); total above each bar",
            "latency_by_kernel.png", lat, plt, o.fig)
    stacked(not_resnet(est.op), "op", "Latency by operation kind; total above each bar", "latency_by_op.png",
            lat, plt, o.fig)
    resnet_figs: list[str] = []
    if len(est.layers):
        o.csv(est.layers, "resnet_layers.csv")
        resnet_figs = _resnet_plots(est.layers, lat, plt, o.fig)
        rk = est.kernel[est.kernel["workload"].isin(resnet_names)]
        stacked(rk, "segment", "Encrypted ResNets: latency by kernel kind (+ memory stall); total above each bar",
                "resnet_by_kernel.png", lat, plt, o.fig)
        resnet_figs.insert(0, "resnet_by_kernel.png")
    return resnet_figs


def generate(out_dir: str | Path = "reports", *, quick: bool = False,
             traces_dir: str | Path | None = None, synth_cache: str | Path | None = None,
             log=print, cluster: str | None = None) -> dict:
    """Write the report into ``out_dir``; return a summary dictionary. ``cluster``: where
    the sweep points are estimated (:mod:`sim.cluster`; ``None``: in this process)."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from sim.cycle.config import load_config, preset_names
    from sim.cycle.model import CompiledOps
    from sim.cycle.workloads import discover
    from sim.synth.cache import current_src, read_cache

    from .anchors import ANCHORS
    from .plots import sweep_plot

    t0 = time.perf_counter()
    o = _Output(out_dir, plt)
    presets = [load_config(n) for n in preset_names()]
    wl_df, available = workload_table(discover(traces_dir, quick=quick), log)
    o.csv(wl_df, "workloads.csv")
    # every workload compiled once (sim.cycle.model.CompiledOps), estimated on every preset
    compiled = {w.name: CompiledOps(ops) for w, ops, _ in available}
    est = estimate_all(presets, available, compiled, keep=lambda w: w.group != "resnet" or any(
        w.name == v[0] for v in VALIDATION_WORKLOADS), variant=_variants(log))
    for df, name in ((est.latency, "latency.csv"), (est.kernel, "breakdown_kernel.csv"),
                     (est.op, "breakdown_op.csv"), (est.label, "breakdown_label.csv")):
        o.csv(df, name)
    resnet_figs = _breakdown_figures(est, {w.name for w, _, _ in available if w.group == "resnet"}, o)
    rsum, rpiv, rcomp = (_resnet_tables(est.layers, est.latency, ANCHORS) if len(est.layers)
                         else (pd.DataFrame(),) * 3)
    dse_md = _design_space(compiled, quick, read_cache(synth_cache), o.csv, o.fig, log)
    if len(rsum):
        o.csv(rsum, "resnet.csv")
        o.csv(rcomp, "resnet_anchors.csv")
    base = load_config("u280")
    sweep_wl = sweep_workload(available, quick)
    rows_cache = read_cache(synth_cache)
    sweep = sweep_table(base, compiled, sweep_wl.name if sweep_wl else None, quick, rows_cache,
                        cluster=cluster)
    o.csv(sweep, "sweep.csv")
    if len(sweep):
        sweep_plot(sweep, sweep_wl.name, base.units["ntt"].lanes, plt, o.fig)
    anc_all = anchors_table(presets, est.results)
    o.csv(anc_all, "anchors.csv")
    val = validation_table(est.results, {w.name for w, _, _ in available})
    o.csv(val, "validation.csv")
    res_df, fitdf = resources_tables(presets, rows_cache)
    o.csv(res_df, "resources.csv")
    src = current_src()
    synth_df = pd.DataFrame(list(rows_cache.values()))
    md = (_md_workloads_latency(wl_df, est.latency, est.unsupported, quick)
          + _md_resnet(rsum, rpiv, rcomp, resnet_figs) + dse_md + _md_breakdown(est.label, est.not_rtl)
          + _md_sweep(sweep, sweep_wl.name if sweep_wl else "", base.units["ntt"].lanes)
          + _md_anchors(anc_all) + validation_md(val) + _md_resources(synth_df, src, fitdf))
    md.append(f"_Generated in {time.perf_counter() - t0:.0f} s._")
    (o.out / "report.md").write_text("\n".join(md) + "\n")
    o.written.append("report.md")
    o.manifest.write_text(json.dumps({"files": o.written, "quick": quick}, indent=1))
    return {"out": str(o.out), "files": o.written, "workloads": wl_df.to_dict("records"),
            "latency": est.latency.to_dict("records"), "validation": val.to_dict("records")}


# ---- Markdown sections ----------------------------------------------------------------------

def _md_workloads_latency(wl_df, lat, unsupported, quick: bool) -> list[str]:
    """Title, section 1 (workloads) and section 2 (projected latency)."""
    md = ["# fhesim report", ""]
    md.append(f"Generated by `fhesim report{' --quick' if quick else ''}`. Every figure is a "
              "projection of the cycle model (docs/cycle-model.md): RTL unit latencies and "
              "throughputs, data movement of ciphertexts, plaintexts and keys; not a measurement.")
    md += ["", "## 1. Workloads", "", md_table(wl_df[["workload", "group", "status", "ops", "source"]]), ""]
    miss = wl_df[wl_df["status"] == "missing"]
    if len(miss):
        md.append("**Missing workloads:** " + ", ".join(miss["workload"]) +
                  ". Their rows are absent below; the report picks them up as soon as a trace file "
                  "(`reports/traces/<name>.json`) or a dry-run callable exists (sim/cycle/workloads.py).")
        md.append("")
    if (wl_df["group"] == "ckks-ops").any():
        md.append("The `ckks-ops` workloads are CKKS operation traces, not neural networks.")
        md.append("")
    md += ["## 2. Projected latency", "",
           md_table(lat[["preset", "workload", "ops", "ms", "bound", "memory_bound_share",
                          "memory_bound_ops", "compute_bound_ops", "offchip_MB"]]) if len(lat) else "(none)", "",
           "`bound`: memory when memory-bound operations take more than half the cycles. "
           "`memory_bound_share`: share of cycles spent in memory-bound operations.", ""]
    if len(lat) and "algorithm" in lat and (lat["algorithm"].fillna("") != "").any():
        alg = lat[lat["algorithm"].fillna("") != ""]
        parts = [f"{p}: {', '.join(dict.fromkeys(g['workload']))} with [algorithm] "
                 f"{g['algorithm'].iloc[0]}" for p, g in alg.groupby("preset", sort=False)]
        md += ["Traced with a preset's own software options (`[algorithm]` in its TOML; the real "
               "`sw` path, sim/cycle/algorithm.py; column `algorithm` of latency.csv): "
               + "; ".join(parts) + ". Every other row is the default trace.", ""]
    if unsupported:
        md += ["Not estimated (the workload is outside the design's stated range):", "",
               md_table(pd.DataFrame(unsupported)), ""]
    return md


def _md_resnet(rsum, rpiv, rcomp, resnet_figs) -> list[str]:
    """Section 2b, the encrypted ResNets."""
    md: list[str] = []
    if len(rsum):
        md += ["## 2b. Encrypted ResNets (cifar32, n16-128)", "",
               "One CIFAR-style 32x32x3 image through ResNet-20 ... 110 (composite ReLU 15/15/27, "
               "multiplexed parallel convolutions, bootstrapping placed by the level planner): the "
               "dry-run op trace of the real software path (`sw.nn.trace.dry_run_trace`, "
               "docs/resnet.md) on each preset. Projected latency in seconds:", "",
               md_table(rpiv), "",
               "Compute vs memory bound and the share of each part of the network "
               "(`linear`: convolutions, shortcuts, FC; `activation`: polynomial ReLU; `bootstrap`; "
               "`add`: residual additions); `top_block`: the costliest block (`resnet.csv`, per block "
               "and part: `resnet_layers.csv`):", "",
               md_table(rsum.drop(columns=["offchip_GB"])), ""]
        for f in resnet_figs:
            md += [f"![{f}]({f})", ""]
        md += ["Comparison with published and measured figures (seconds per image; each row "
               "with its source; the published accelerator and GPU figures are ResNet-20 only, "
               "`resnet_anchors.csv`):", "", md_table(rcomp), ""]
    return md


def _md_breakdown(labdf, notes_all) -> list[str]:
    """Section 3, the breakdowns."""
    md: list[str] = []
    md += ["## 3. Breakdown", "", "![by kernel](latency_by_kernel.png)", "", "![by operation](latency_by_op.png)", "",
           "Per label (stage / layer), top 5 per preset and workload:", ""]
    if len(labdf):
        top = labdf.sort_values("cycles", ascending=False).groupby(["preset", "workload"], sort=False).head(5)
        md += [md_table(top[["preset", "workload", "label", "count", "ms", "share"]]), ""]
    md += ["Full tables: `breakdown_kernel.csv`, `breakdown_op.csv`, `breakdown_label.csv`.", ""]
    if notes_all:
        md += ["Kernels without RTL (model formulas, sim/cycle/units.py): " + ", ".join(sorted(notes_all))
               + ". Their cycles are projections of formulas, not of measured RTL.", ""]
    return md


def _md_sweep(sweep, name, base_lanes) -> list[str]:
    """Section 4, lanes x off-chip bandwidth."""
    md: list[str] = []
    md += ["## 4. Lanes x off-chip bandwidth", ""]
    if len(sweep):
        md += [f"Workload `{name}` on the `u280` design point (300 MHz, unit counts fixed); "
               f"NTT lanes P, all other units' lanes scaled by P/{base_lanes} (the preset's NTT lanes). `fits_u280`: the "
               "configuration's synthesised/extrapolated resources fit the U280 (section 6).", "",
               "![sweep](sweep_lanes_bandwidth.png)", "",
               md_table(sweep[["ntt_lanes", "off_chip_gbps", "ms", "memory_bound_ops", "fits_u280", "dsp", "lut"]]), ""]
    return md


def _md_anchors(anc_all) -> list[str]:
    """Section 5's published figures (the validation follows)."""
    md: list[str] = []
    md += ["## 5. Anchors and validation", "",
           "Published figures (docs/sources.md, each with its source) beside the model's projection:", "",
           md_table(anc_all), ""]
    return md


def _md_resources(synth_df, src, fitdf) -> list[str]:
    """Section 6, FPGA resources."""
    from sim.synth.resources import U280

    md: list[str] = []
    md += ["## 6. FPGA resources", "",
           f"Synthesis (`fhesim synth`, Yosys `synth_xilinx -family xcup`, cached in `synth.csv`; "
           f"current generator digest `{src}`):", ""]
    if len(synth_df):
        synth_df = synth_df.assign(stale=synth_df["src"] != src)
        md += [md_table(synth_df[["unit", "lut", "lut_mem", "ff", "dsp", "bram36", "uram", "latency", "stale"]]), ""]
    else:
        md += ["(no synthesis results cached: run `fhesim synth`)", ""]
    md += [f"Each preset's units in UltraScale+ resources (for an ASIC preset only as a size "
           f"indication: it is not meant for an FPGA), against the {U280.name} ({U280.source}): LUT {U280.lut:,}, FF {U280.ff:,}, "
           f"DSP {U280.dsp:,}, BRAM36 {U280.bram36:,}, URAM {U280.uram:,}.", "",
           md_table(fitdf), "", "Per unit: `resources.csv` (source: synth, synth-fit, composed or rule; "
           "rules in sim/synth/resources.py).", ""]
    return md
