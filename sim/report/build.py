"""``fhesim report``: regenerate ``reports/`` (Markdown + CSV + PNG) from the cycle model.

Contents (``report.md`` links everything):

1. workloads: which are available and from where, which are missing and why
   (:mod:`sim.report.sources`);
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

Files the previous run wrote (``manifest.json``) are deleted first; ``synth.csv`` (the
synthesis cache) and files this command did not write (``rtl_regression.*``) are kept.
"""
from __future__ import annotations

import json
import math
import time
from pathlib import Path

import pandas as pd

SWEEP_LANES = (2, 4, 8, 16, 64, 256, 1024)
SWEEP_GBPS = (115, 230, 460, 920, 1840)
QUICK_LANES = (8, 128)
QUICK_GBPS = (460, 1840)
BASE_NTT_LANES = 8
KEEP = {"synth.csv", "rtl_regression.csv", "rtl_regression.json"}


def _md_table(df: pd.DataFrame, floatfmt: str = "{:,.3f}") -> str:
    cols = list(df.columns)
    lines = ["| " + " | ".join(str(c) for c in cols) + " |", "|" + "---|" * len(cols)]
    for _, r in df.iterrows():
        cells = []
        for c in cols:
            v = r[c]
            if isinstance(v, float):
                cells.append("" if math.isnan(v) else floatfmt.format(v))
            elif isinstance(v, int) and not isinstance(v, bool):
                cells.append(f"{v:,}")
            else:
                cells.append(str(v))
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def _decompose(est) -> dict:
    ops = est.ops
    stall = int(ops["stall_cycles"].sum()) if len(ops) else 0
    return {"stall": stall, "fill": int(ops["fill_cycles"].sum()) if len(ops) else 0}


def _sweep_config(base, lanes: int, gbps: float):
    """The base preset with NTT lanes ``lanes``, the other units' lanes scaled by
    ``lanes / 8``, off-chip bandwidth ``gbps``; no DSP guard (fit is reported separately)."""
    from dataclasses import replace
    from types import MappingProxyType

    from sim.cycle.config import UnitSpec

    f = lanes / BASE_NTT_LANES
    units = {}
    for k, spec in base.units.items():
        if k == "ntt":
            units[k] = UnitSpec(spec.count, lanes)
        else:
            units[k] = UnitSpec(spec.count, max(1, int(round(spec.lanes * f))))
    return replace(base, units=MappingProxyType(units), off_chip_gbps=float(gbps), dsp_budget=None,
                   name=f"{base.name}-P{lanes}-{gbps:g}GBs")


def generate(out_dir: str | Path = "reports", *, quick: bool = False,
             traces_dir: str | Path | None = None, synth_cache: str | Path | None = None,
             log=print) -> dict:
    """Write the report into ``out_dir``; return a summary dictionary."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from sim.cycle.config import load_config, preset_names
    from sim.cycle.model import estimate
    from sim.synth.cache import current_src, read_cache
    from sim.synth.resources import U280, fit_report

    from .anchors import ANCHORS, VALIDATION, anchor
    from .sources import discover

    t0 = time.perf_counter()
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    manifest = out / "manifest.json"
    if manifest.is_file():
        try:
            for name in json.loads(manifest.read_text()).get("files", []):
                p = out / name
                if p.name not in KEEP and p.is_file():
                    p.unlink()
        except (OSError, ValueError):
            pass
    written: list[str] = []

    def save_csv(df: pd.DataFrame, name: str) -> None:
        df.to_csv(out / name, index=False)
        written.append(name)

    def save_fig(fig, name: str) -> None:
        fig.savefig(out / name, dpi=110, bbox_inches="tight")
        plt.close(fig)
        written.append(name)

    presets = [load_config(n) for n in preset_names()]
    workloads = discover(traces_dir, quick=quick)
    wl_rows, available = [], []
    for w in workloads:
        if w.available:
            try:
                log(f"report: tracing workload {w.name} ({w.source}) ...")
                ops, notes = w.ops()
                available.append((w, ops, notes))
                wl_rows.append({"workload": w.name, "group": w.group, "status": "available",
                                "ops": len(ops), "source": w.source, "description": w.description})
                continue
            except Exception as exc:   # noqa: BLE001 - a broken provider is reported, not fatal
                w.missing = f"trace failed: {type(exc).__name__}: {exc}"
        wl_rows.append({"workload": w.name, "group": w.group, "status": "missing", "ops": 0,
                        "source": w.missing, "description": w.description})
    wl_df = pd.DataFrame(wl_rows)
    save_csv(wl_df, "workloads.csv")

    # ---- latency and breakdowns
    lat_rows, kern_rows, op_rows, label_rows, notes_all = [], [], [], [], set()
    results = {}
    unsupported = []
    for cfg in presets:
        for w, ops, notes in available:
            try:
                est = estimate(ops, cfg, notes=notes)
            except ValueError as exc:     # e.g. ring degree beyond the design's NTT units
                unsupported.append({"preset": cfg.name, "workload": w.name, "reason": str(exc)})
                continue
            results[(cfg.name, w.name)] = est
            tot, dec = est.total(), _decompose(est)
            mem_cycles = int(est.ops.loc[est.ops["bound"] == "memory", "cycles"].sum())
            lat_rows.append({
                "preset": cfg.name, "workload": w.name, "group": w.group, "ops": tot["ops"],
                "cycles": tot["cycles"], "ms": tot["seconds"] * 1e3,
                "compute_cycles": tot["compute_cycles"], "fill_cycles": tot["fill_cycles"],
                "memory_stall_cycles": dec["stall"], "overlap": cfg.overlap,
                "memory_bound_ops": tot["memory_bound_ops"],
                "compute_bound_ops": tot["compute_bound_ops"],
                "memory_bound_share": mem_cycles / tot["cycles"] if tot["cycles"] else 0.0,
                "offchip_MB": tot["offchip_bytes"] / 1e6,
                "bound": "memory" if mem_cycles * 2 > tot["cycles"] else "compute",
                "not_rtl_backed": ",".join(tot["not_rtl_backed"]),
            })
            notes_all.update(tot["not_rtl_backed"])
            bk = est.by_kernel()
            for _, r in bk.iterrows():
                kern_rows.append({"preset": cfg.name, "workload": w.name, "segment": r["kernel"],
                                  "cycles": int(r["cycles"]), "rtl_backed": bool(r["rtl_backed"])})
            kern_rows.append({"preset": cfg.name, "workload": w.name, "segment": "memory stall",
                              "cycles": dec["stall"], "rtl_backed": True})
            for _, r in est.by_op().iterrows():
                op_rows.append({"preset": cfg.name, "workload": w.name, "op": r["op"],
                                "count": int(r["count"]), "cycles": int(r["cycles"]),
                                "share": float(r["share"]), "memory_bound_ops": int(r["memory_bound_ops"])})
            for _, r in est.by_label().iterrows():
                label_rows.append({"preset": cfg.name, "workload": w.name, "label": r["label"],
                                   "count": int(r["count"]), "cycles": int(r["cycles"]),
                                   "ms": float(r["seconds"]) * 1e3, "share": float(r["share"]),
                                   "memory_bound_ops": int(r["memory_bound_ops"])})
    lat = pd.DataFrame(lat_rows)
    kern = pd.DataFrame(kern_rows)
    opdf = pd.DataFrame(op_rows)
    labdf = pd.DataFrame(label_rows)
    save_csv(lat, "latency.csv")
    save_csv(kern, "breakdown_kernel.csv")
    save_csv(opdf, "breakdown_op.csv")
    save_csv(labdf, "breakdown_label.csv")

    def stacked(df, seg_col, title, name):
        if not len(df):
            return
        df = df.assign(bar=df["preset"] + "\n" + df["workload"])
        piv = df.pivot_table(index="bar", columns=seg_col, values="cycles", aggfunc="sum", fill_value=0)
        order = list(dict.fromkeys(df["bar"]))
        piv = piv.loc[order]
        share = piv.div(piv.sum(axis=1), axis=0) * 100
        top = share.sum().sort_values(ascending=False).index.tolist()
        if len(top) > 12:
            share["other"] = share[top[12:]].sum(axis=1)
            share = share[top[:12] + ["other"]]
        else:
            share = share[top]
        fig, ax = plt.subplots(figsize=(max(6, 0.9 * len(order) + 3), 5))
        bottom = pd.Series(0.0, index=share.index)
        cmap = plt.get_cmap("tab20")
        for i, col in enumerate(share.columns):
            ax.bar(range(len(share)), share[col], bottom=bottom, label=str(col), color=cmap(i % 20))
            bottom += share[col]
        totals = lat.assign(bar=lat["preset"] + "\n" + lat["workload"]).set_index("bar")["ms"]
        for i, b in enumerate(share.index):
            ax.text(i, 101, f"{totals[b]:.3g} ms", ha="center", va="bottom", fontsize=7)
        ax.set_xticks(range(len(share)))
        ax.set_xticklabels(share.index, fontsize=7)
        ax.set_ylabel("share of projected latency (%)")
        ax.set_ylim(0, 110)
        ax.set_title(title)
        ax.legend(fontsize=7, bbox_to_anchor=(1.01, 1), loc="upper left")
        save_fig(fig, name)

    stacked(kern, "segment", "Latency by kernel kind (+ memory stall); total above each bar",
            "latency_by_kernel.png")
    stacked(opdf, "op", "Latency by operation kind; total above each bar", "latency_by_op.png")

    # ---- sweep
    base = load_config("u280")
    sweep_wl = next(((w, ops) for w, ops, _ in available if w.name == "bootstrap"), None) or \
        next(((w, ops) for w, ops, _ in available if w.name == ("mulrot" if not quick else "cmult")), None) or \
        ((available[0][0], available[0][1]) if available else None)
    sweep_rows = []
    rows_cache = read_cache(synth_cache)
    if sweep_wl:
        for P in (QUICK_LANES if quick else SWEEP_LANES):
            for g in (QUICK_GBPS if quick else SWEEP_GBPS):
                cfg = _sweep_config(base, P, g)
                est = estimate(sweep_wl[1], cfg)
                fit = fit_report(cfg, U280, rows_cache)
                tot = est.total()
                sweep_rows.append({"workload": sweep_wl[0].name, "ntt_lanes": P, "lane_scale": P / BASE_NTT_LANES,
                                   "off_chip_gbps": g, "cycles": tot["cycles"], "ms": tot["seconds"] * 1e3,
                                   "memory_bound_ops": tot["memory_bound_ops"], "fits_u280": fit["fits"],
                                   "dsp": fit["totals"]["dsp"], "lut": fit["totals"]["lut"]})
    sweep = pd.DataFrame(sweep_rows)
    save_csv(sweep, "sweep.csv")
    if len(sweep):
        piv = sweep.pivot(index="ntt_lanes", columns="off_chip_gbps", values="ms")
        fits = sweep.pivot(index="ntt_lanes", columns="off_chip_gbps", values="fits_u280")
        fig, ax = plt.subplots(figsize=(7, 5))
        im = ax.imshow([[math.log10(v) for v in row] for row in piv.values], cmap="viridis_r",
                       aspect="auto", origin="lower")
        for i, P in enumerate(piv.index):
            for j, g in enumerate(piv.columns):
                mark = "" if fits.loc[P, g] else "\n(no fit)"
                ax.text(j, i, f"{piv.loc[P, g]:.3g} ms{mark}", ha="center", va="center", fontsize=7,
                        color="white")
        ax.set_xticks(range(len(piv.columns)))
        ax.set_xticklabels([f"{g:g}" for g in piv.columns])
        ax.set_yticks(range(len(piv.index)))
        ax.set_yticklabels([str(p) for p in piv.index])
        ax.set_xlabel("off-chip bandwidth (GB/s)")
        ax.set_ylabel(f"NTT lanes P (other units' lanes x P/{BASE_NTT_LANES})")
        ax.set_title(f"{sweep_wl[0].name} on the u280 design point, 300 MHz (log colour)")
        fig.colorbar(im, ax=ax, label="log10(ms)")
        save_fig(fig, "sweep_lanes_bandwidth.png")

    # ---- anchors and validation
    anc = pd.DataFrame([{"system": a.system, "kind": a.kind, "device": a.device,
                         "bootstrap_ms": a.bootstrap_ms, "resnet20_s": a.resnet20_s, "source": a.source}
                        for a in ANCHORS])
    model_rows = []
    for cfg in presets:
        b = results.get((cfg.name, "bootstrap-l8")) or results.get((cfg.name, "bootstrap"))
        r = results.get((cfg.name, "resnet20"))
        model_rows.append({"system": f"fhesim model: {cfg.name}", "kind": f"model ({cfg.kind})",
                           "device": f"{cfg.clock_mhz:g} MHz, {cfg.word_bits}-bit",
                           "bootstrap_ms": b.total_seconds * 1e3 if b else float("nan"),
                           "resnet20_s": r.total_seconds if r else float("nan"),
                           "source": "this report (cycle model)"})
    anc_all = pd.concat([anc, pd.DataFrame(model_rows)], ignore_index=True)
    save_csv(anc_all, "anchors.csv")
    val_rows = []
    for preset, system in VALIDATION.items():
        a = anchor(system)
        for wname, published, unit, scale in (("bootstrap-l8", a.bootstrap_ms, "ms", 1e3),
                                             ("bootstrap", a.bootstrap_ms, "ms", 1e3),
                                             ("resnet20", a.resnet20_s, "s", 1.0)):
            est = results.get((preset, wname))
            model = est.total_seconds * scale if est else float("nan")
            val_rows.append({"preset": preset, "published_design": system, "workload": wname,
                             "published": published, "model": model, "unit": unit,
                             "ratio_model_over_published": model / published if est and published else float("nan"),
                             "status": "compared" if est else "workload missing",
                             "source": a.source})
    val = pd.DataFrame(val_rows)
    save_csv(val, "validation.csv")

    # ---- resources
    res_rows, fit_rows = [], []
    for cfg in presets:
        rep = fit_report(cfg, U280, rows_cache)
        t = rep["table"]
        for _, r in t.iterrows():
            res_rows.append({"preset": cfg.name, "unit": r["unit"], "count": int(r["count"]),
                             "lanes": int(r["lanes"]), "lut": int(r["lut"]), "ff": int(r["ff"]),
                             "dsp": int(r["dsp"]), "bram36": int(r["bram36"]), "source": r["source"]})
        fpga = cfg.kind == "fpga"
        fit_rows.append({"preset": cfg.name, "kind": cfg.kind, **{k: v for k, v in rep["totals"].items()},
                         "fits_u280": rep["fits"] if fpga else "n/a (ASIC)",
                         "over": ",".join(k for k, ok in rep["fits_each"].items() if not ok) if fpga else "",
                         "rule_only": ",".join(rep["rule_only_units"])})
    save_csv(pd.DataFrame(res_rows), "resources.csv")
    fitdf = pd.DataFrame(fit_rows)
    src = current_src()
    synth_rows = list(rows_cache.values())
    synth_df = pd.DataFrame(synth_rows)

    # ---- markdown
    md = ["# fhesim report", ""]
    md.append(f"Generated by `fhesim report{' --quick' if quick else ''}`. Every figure is a "
              "projection of the cycle model (docs/cycle-model.md): RTL unit latencies and "
              "throughputs, data movement of ciphertexts, plaintexts and keys; not a measurement.")
    md += ["", "## 1. Workloads", "", _md_table(wl_df[["workload", "group", "status", "ops", "source"]]), ""]
    miss = wl_df[wl_df["status"] == "missing"]
    if len(miss):
        md.append("**Missing workloads:** " + ", ".join(miss["workload"]) +
                  ". Their rows are absent below; the report picks them up as soon as a trace file "
                  "(`reports/traces/<name>.json`) or a dry-run callable exists (sim/report/sources.py).")
        md.append("")
    if (wl_df["group"] == "ckks-ops").any():
        md.append("The `ckks-ops` workloads are CKKS operation traces, not neural networks.")
        md.append("")
    md += ["## 2. Projected latency", "",
           _md_table(lat[["preset", "workload", "ops", "ms", "bound", "memory_bound_share",
                          "memory_bound_ops", "compute_bound_ops", "offchip_MB"]]) if len(lat) else "(none)", "",
           "`bound`: memory when memory-bound operations take more than half the cycles. "
           "`memory_bound_share`: share of cycles spent in memory-bound operations.", ""]
    if unsupported:
        md += ["Not estimated (the workload is outside the design's stated range):", "",
               _md_table(pd.DataFrame(unsupported)), ""]
    md += ["## 3. Breakdown", "", "![by kernel](latency_by_kernel.png)", "", "![by operation](latency_by_op.png)", "",
           "Per label (stage / layer), top 5 per preset and workload:", ""]
    if len(labdf):
        top = labdf.sort_values("cycles", ascending=False).groupby(["preset", "workload"], sort=False).head(5)
        md += [_md_table(top[["preset", "workload", "label", "count", "ms", "share"]]), ""]
    md += ["Full tables: `breakdown_kernel.csv`, `breakdown_op.csv`, `breakdown_label.csv`.", ""]
    if notes_all:
        md += ["Kernels without RTL (model formulas, sim/cycle/units.py): " + ", ".join(sorted(notes_all))
               + ". Their cycles are projections of formulas, not of measured RTL.", ""]
    md += ["## 4. Lanes x off-chip bandwidth", ""]
    if len(sweep):
        md += [f"Workload `{sweep_wl[0].name}` on the `u280` design point (300 MHz, unit counts fixed); "
               f"NTT lanes P, all other units' lanes scaled by P/{BASE_NTT_LANES}. `fits_u280`: the "
               "configuration's synthesised/extrapolated resources fit the U280 (section 6).", "",
               "![sweep](sweep_lanes_bandwidth.png)", "",
               _md_table(sweep[["ntt_lanes", "off_chip_gbps", "ms", "memory_bound_ops", "fits_u280", "dsp", "lut"]]), ""]
    md += ["## 5. Anchors and validation", "",
           "Published figures (ANCHORS.md, each with its source) beside the model's projection:", "",
           _md_table(anc_all), ""]
    md += ["### Validation of presets that mimic a published design", "", _md_table(val), ""]
    md += ["Primary comparison: `bootstrap-l8` (fully packed, 8 usable levels after it: the published "
           "tables' benchmark definition). Per design (not tuned away; docs/cycle-model.md, \"Validation\"):", "",
           "* **SHARP** (preset from the stated hardware, [S]): the model is slower by the ratio above. "
           "(1) Kernels of an operation run one after another on one unit kind at a time; SHARP "
           "pipelines NTT, BConv and elementwise units, so the per-op time approaches the busiest unit "
           "(elementwise modmul+modadd alone is about 56 % of the model's compute cycles). (2) Off-chip "
           "traffic: plaintext diagonals (~2.2 GB) are read from HBM for every CtS/StC pmult and "
           "evaluation keys stream in full (~3.4 GB after LRU reuse); SHARP, like ARK and CraterLake, "
           "generates half of each key from a PRNG seed and reuses keys/plaintexts by scheduling, "
           "neither modelled. (3) Workload: 31-bit primes on a 36-bit datapath (about 14 % more rows "
           "than 36-bit primes would need), fhesim's own CtS/EvalMod/StC split and dnum 4; SHARP's own "
           "parameters were not read. (4) NTT, multiplier RTL-backed; BConv, automorphism, modadd formulas.",
           "* **F1** (preset from recalled hardware, [R]): N <= 2^14, cannot run the N = 2^16 "
           "benchmark; no published bootstrapping figure to compare.",
           "* **BTS, CraterLake, ARK**: no preset. Their hardware tables (lanes, unit mix, on-chip "
           "memory, bandwidth) could not be read in the primary sources in this session, and a preset "
           "from guessed lane counts would validate nothing.", ""]
    md += ["## 6. FPGA resources", "",
           f"Synthesis (`fhesim synth`, Yosys `synth_xilinx -family xcup`, cached in `synth.csv`; "
           f"current generator digest `{src}`):", ""]
    if len(synth_df):
        synth_df = synth_df.assign(stale=synth_df["src"] != src)
        md += [_md_table(synth_df[["unit", "lut", "lut_mem", "ff", "dsp", "bram36", "uram", "latency", "stale"]]), ""]
    else:
        md += ["(no synthesis results cached: run `fhesim synth`)", ""]
    md += [f"Each preset's units in UltraScale+ resources (for an ASIC preset only as a size "
           f"indication: it is not meant for an FPGA), against the {U280.name} ({U280.source}): LUT {U280.lut:,}, FF {U280.ff:,}, "
           f"DSP {U280.dsp:,}, BRAM36 {U280.bram36:,}, URAM {U280.uram:,}.", "",
           _md_table(fitdf), "", "Per unit: `resources.csv` (source: synth, synth-fit, composed or rule; "
           "rules in sim/synth/resources.py).", ""]
    md.append(f"_Generated in {time.perf_counter() - t0:.0f} s._")
    (out / "report.md").write_text("\n".join(md) + "\n")
    written.append("report.md")
    manifest.write_text(json.dumps({"files": written, "quick": quick}, indent=1))
    return {"out": str(out), "files": written, "workloads": wl_rows,
            "latency": lat_rows, "validation": val_rows}
