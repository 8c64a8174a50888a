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


# ---- validation against published designs (docs/cycle-model.md, "Validation") ----------
#: Workloads compared with the published figures: (name, anchor field, unit, seconds -> unit).
VALIDATION_WORKLOADS = (("bootstrap-l8", "bootstrap_ms", "ms", 1e3),
                        ("bootstrap", "bootstrap_ms", "ms", 1e3),
                        ("resnet20", "resnet20_s", "s", 1.0))
#: The issue's target: model within this factor of the published figure.
VALIDATION_FACTOR = 2.0


def _validation(results: dict, available: set[str]) -> tuple[pd.DataFrame, list[str]]:
    """``validation.csv`` rows and the report's validation section.

    One row per preset of a published design (:data:`sim.report.anchors.VALIDATIONS`),
    published figure and workload: model and published latency, ``ratio`` = model /
    published, ``factor`` = max(ratio, 1/ratio), and the model's own split of its cycles
    (compute, fill, exposed memory stall) and off-chip bytes (keys, plaintexts,
    ciphertexts), from which the gaps are explained. ``status``: ``compared``; ``workload
    missing`` (no trace); ``not estimated`` (the preset refused it, e.g. ring degree).
    """
    from .anchors import NOT_COMPARABLE, VALIDATIONS, anchor

    rows = []
    for v in VALIDATIONS:
        for system in v.anchors:
            a = anchor(system)
            for wname, field, unit, scale in VALIDATION_WORKLOADS:
                published = getattr(a, field)
                if field == "resnet20_s" and published is not None:
                    published = float(published)
                est = results.get((v.preset, wname))
                row = {"preset": v.preset, "published_design": system, "workload": wname,
                       "published": published, "model": float("nan"), "unit": unit,
                       "ratio_model_over_published": float("nan"), "factor": float("nan"),
                       "within_2x": False,
                       "status": ("compared" if est else "not estimated" if wname in available
                                  else "workload missing"),
                       "hardware": v.hardware, "source": a.source}
                if est is not None:
                    o = est.ops
                    cyc = est.total_cycles or 1
                    model = est.total_seconds * scale
                    row["model"] = model
                    if published:
                        r = model / published
                        row.update(ratio_model_over_published=r, factor=max(r, 1 / r) if r else float("inf"),
                                   within_2x=bool(r and max(r, 1 / r) <= VALIDATION_FACTOR))
                    row.update(
                        compute_share=float(o["compute_cycles"].sum()) / cyc,
                        fill_share=float(o["fill_cycles"].sum()) / cyc,
                        stall_share=float(o["stall_cycles"].sum()) / cyc,
                        serial_compute_ms=float(o["serial_compute_cycles"].sum()) / est.config.clock_hz * 1e3,
                        transfer_ms=float(o["transfer_cycles"].sum()) / est.config.clock_hz * 1e3,
                        key_GB=float(o["key_offchip_bytes"].sum()) / 1e9,
                        plaintext_GB=float(o["pt_offchip_bytes"].sum()) / 1e9,
                        ciphertext_GB=float(o["ct_offchip_bytes"].sum()) / 1e9)
                rows.append(row)
    for preset, why in NOT_COMPARABLE.items():
        rows.append({"preset": preset, "published_design": "", "workload": "bootstrap-l8",
                     "published": float("nan"), "model": float("nan"), "unit": "ms",
                     "ratio_model_over_published": float("nan"), "factor": float("nan"),
                     "within_2x": False, "status": f"not comparable: {why}", "hardware": "",
                     "source": ""})
    val = pd.DataFrame(rows)

    primary = {v.preset: v.anchors[0] for v in VALIDATIONS}
    compared = val[val["status"] == "compared"]
    is_primary = pd.Series([primary.get(p) == d for p, d in zip(compared["preset"], compared["published_design"])],
                           index=compared.index, dtype=bool)
    target = {}        # workload -> (presets within the factor, presets compared), primary anchors
    for wname in ("bootstrap-l8", "resnet20"):
        sub = compared[is_primary & (compared["workload"] == wname) & compared["published"].notna()]
        if len(sub):
            target[wname] = (sorted(sub.loc[sub["within_2x"], "preset"]), len(sub))
    md = ["### Validation of presets that mimic a published design", "",
          "Each preset is set from the design's stated hardware (sources per figure in "
          "`sim/configs/<preset>.toml`; [S] secondary source, [R] recalled, not re-read), never "
          "fitted to the figure. `ratio` = model / published; `factor` = max(ratio, 1/ratio).", ""]
    shown = val[val["status"] == "compared"]
    if len(shown):
        t = shown[["preset", "published_design", "workload", "published", "model", "unit",
                   "ratio_model_over_published", "factor", "compute_share", "stall_share",
                   "key_GB", "plaintext_GB"]].rename(
            columns={"ratio_model_over_published": "ratio", "published_design": "published design"})
        md += [_md_table(t), ""]
    else:
        md += ["(no validation workload available in this run)", ""]
    rest = val[val["status"] != "compared"]
    if len(rest):
        groups: dict[str, list[str]] = {}
        for r in rest.itertuples():
            groups.setdefault(r.status, [])
            if f"{r.preset}/{r.workload}" not in groups[r.status]:
                groups[r.status].append(f"{r.preset}/{r.workload}")
        md += ["Not compared in this run: " + "; ".join(
            f"{status}: {', '.join(names)}" for status, names in groups.items()) + ".", ""]
    if target:
        parts = [f"`{w}` {'met' if len(ok) >= 2 else 'not met'} ({len(ok)} of {n}"
                 f"{': ' + ', '.join(ok) if ok else ''})" for w, (ok, n) in target.items()]
        md += [f"**Target** (model within {VALIDATION_FACTOR:g}x of the primary published figure "
               f"for at least two designs): " + "; ".join(parts) + ".", ""]
    md += ["Gaps per design (numbers and causes: docs/cycle-model.md, \"Validation against "
           "published designs\"; `compute_share`/`stall_share`: shares of the model's cycles):", ""]
    md += [f"* **{v.preset}** ({v.hardware}): {v.note}." for v in VALIDATIONS]
    md += [f"* **{p}**: {why}." for p, why in NOT_COMPARABLE.items()]
    md += ["* BTS (ISCA 2022): no preset; its processing element's unit mix and its clock were not "
           "found in a readable source (docs/cycle-model.md).", ""]
    return val, md


def _sweep_config(base, lanes: int, gbps: float):
    """The base preset with NTT lanes ``lanes``, the other units' lanes scaled by
    ``lanes / P0`` (``P0``: the preset's NTT lanes), off-chip bandwidth ``gbps``; no DSP guard
    (fit is reported separately)."""
    from dataclasses import replace
    from types import MappingProxyType

    from sim.cycle.config import UnitSpec

    f = lanes / base.units["ntt"].lanes
    units = {}
    for k, spec in base.units.items():
        if k == "ntt":
            units[k] = UnitSpec(spec.count, lanes)
        else:
            units[k] = UnitSpec(spec.count, max(1, int(round(spec.lanes * f))))
    return replace(base, units=MappingProxyType(units), off_chip_gbps=float(gbps), dsp_budget=None,
                   name=f"{base.name}-P{lanes}-{gbps:g}GBs")


# ---- encrypted ResNets (section 4 of report.md) -------------------------------------------
#: Parts of a ResNet layer in the per-layer breakdown, in plotting order.
RESNET_PARTS = ("linear", "activation", "bootstrap", "add")
#: Stage groups of a ResNet, in order.
RESNET_STAGES = ("stem", "layer1", "layer2", "layer3", "head")
#: ResNet latencies that anchors.py does not hold (ANCHORS.md, each with its source), and
#: this project's own measured CPU times (docs/resnet.md, "Encrypted runs"):
#: (system, kind, device, {model: seconds}, source).
RESNET_ANCHORS_EXTRA = (
    ("Lee et al. (ICML 2022), rerun by AutoFHE, amortized per image", "cpu",
     "96 vCPU, SEAL, 96 images at once", {"resnet20": 99.0, "resnet32": 176.0, "resnet44": 251.0},
     "AutoFHE, USENIX Security 2024 [V] (ANCHORS.md)"),
    ("Lee et al. (ICML 2022), rerun by AutoFHE, latency", "cpu", "96 vCPU, SEAL",
     {"resnet32": 16910.0, "resnet44": 24082.0},
     "AutoFHE, USENIX Security 2024 [V] (ANCHORS.md); ResNet-20 in the row above"),
    ("OpenFHE, polynomial ReLU", "cpu", "CPU", {"resnet20": 1145.0}, "arXiv 2508.11575 [V] (ANCHORS.md)"),
    ("HyPHEN (IEEE Access 2023)", "gpu", "GPU", {"resnet20": 1.40}, "ANCHORS.md"),
    ("fhesim software, measured (toy-boot-n11: N = 2^11, INSECURE, not n16-128)", "cpu",
     "this project's machine, 2 shared cores, 1 thread", {"resnet20": 24.0, "resnet110": 113.0},
     "docs/resnet.md, Encrypted runs: fastest per-image time measured (up to 52 s for ResNet-20 "
     "and 237 s for ResNet-110 under load); n16-128 not run (48 GB of rotation keys)"),
)


def _resnet_layer_rows(est, preset: str, workload: str) -> list[dict]:
    """Cycles per (block, part) of a ResNet estimate (:func:`sim.cycle.adapters.layer_of`)."""
    from sim.cycle.adapters import layer_of

    bl = est.by_label()
    acc: dict[tuple, dict] = {}
    for r in bl.itertuples():
        stage, block, part = layer_of(r.label)
        k = (stage, block, part)
        row = acc.get(k)
        if row is None:
            row = acc[k] = {"preset": preset, "workload": workload, "stage": stage, "block": block,
                            "part": part, "ops": 0, "cycles": 0, "ms": 0.0, "memory_bound_ops": 0}
        row["ops"] += int(r.count)
        row["cycles"] += int(r.cycles)
        row["ms"] += float(r.seconds) * 1e3
        row["memory_bound_ops"] += int(r.memory_bound_ops)
    return list(acc.values())


def _block_key(block: str) -> tuple:
    if block == "stem":
        return (0, 0, 0)
    if block.startswith("layer"):
        s, _, i = block[5:].partition(".")
        return (1, int(s or 0), int(i or 0))
    return (2, 0, 0)


def _resnet_plots(layers: pd.DataFrame, lat: pd.DataFrame, plt, save_fig) -> list[str]:
    """Stacked bars of the ResNet workloads: by stage group x part (shares, every preset and
    model) and per block (absolute, one figure per preset). Returns the figure names."""
    names = []
    if not len(layers):
        return names
    models = sorted(set(layers["workload"]), key=lambda m: int(m[6:]) if m[6:].isdigit() else 0)
    presets = list(dict.fromkeys(layers["preset"]))
    part_shade = {"linear": 0.85, "activation": 0.65, "bootstrap": 0.45, "add": 0.25}
    stage_cmap = {"stem": "Greys", "layer1": "Blues", "layer2": "Greens", "layer3": "Oranges", "head": "Purples"}

    # shares by stage group x part, one bar per (preset, model)
    seg = layers.assign(segment=layers["stage"] + " " + layers["part"],
                        bar=layers["preset"] + "\n" + layers["workload"])
    bars = [f"{p}\n{m}" for p in presets for m in models if ((seg["preset"] == p) & (seg["workload"] == m)).any()]
    piv = seg.pivot_table(index="bar", columns="segment", values="cycles", aggfunc="sum", fill_value=0).loc[bars]
    share = piv.div(piv.sum(axis=1), axis=0) * 100
    cols = [f"{s} {p}" for s in RESNET_STAGES for p in RESNET_PARTS if f"{s} {p}" in share.columns]
    fig, ax = plt.subplots(figsize=(max(8, 0.55 * len(bars) + 4), 5.5))
    bottom = pd.Series(0.0, index=share.index)
    for col in cols:
        s, p = col.split(" ")
        ax.bar(range(len(share)), share[col], bottom=bottom, label=col,
               color=plt.get_cmap(stage_cmap[s])(part_shade[p]), edgecolor="white", linewidth=0.3)
        bottom += share[col]
    tot = lat.assign(bar=lat["preset"] + "\n" + lat["workload"]).set_index("bar")["ms"]
    for i, b in enumerate(share.index):
        v = tot.get(b, float("nan")) / 1e3
        ax.text(i, 101, f"{v:.3g} s", ha="center", va="bottom", fontsize=6, rotation=90)
    ax.set_xticks(range(len(share)))
    ax.set_xticklabels([b.replace("resnet", "R") for b in share.index], fontsize=6)
    ax.set_ylabel("share of projected latency (%)")
    ax.set_ylim(0, 118)
    ax.set_title("Encrypted ResNets (cifar32, n16-128): latency by stage and part; total above each bar")
    ax.legend(fontsize=6, bbox_to_anchor=(1.01, 1), loc="upper left", ncol=1)
    save_fig(fig, "resnet_by_stage.png")
    names.append("resnet_by_stage.png")

    # per block, absolute, one figure per preset
    colors = {"linear": "#4C72B0", "activation": "#DD8452", "bootstrap": "#C44E52", "add": "#8C8C8C"}
    for preset in presets:
        sub = layers[layers["preset"] == preset]
        ms = [m for m in models if (sub["workload"] == m).any()]
        if not ms:
            continue
        fig, axes = plt.subplots(len(ms), 1, figsize=(14, 2.3 * len(ms) + 0.6), squeeze=False)
        for ax, m in zip(axes[:, 0], ms):
            d = sub[sub["workload"] == m]
            piv = d.pivot_table(index="block", columns="part", values="ms", aggfunc="sum", fill_value=0.0)
            piv = piv.loc[sorted(piv.index, key=_block_key)]
            bottom = pd.Series(0.0, index=piv.index)
            for p in RESNET_PARTS:
                if p in piv.columns:
                    ax.bar(range(len(piv)), piv[p], bottom=bottom, color=colors[p], label=p, width=0.85)
                    bottom += piv[p]
            total = float(d["ms"].sum())
            ax.set_xlim(-0.6, len(piv) - 0.4)
            ax.set_xticks(range(len(piv)))
            ax.set_xticklabels([b.replace("layer", "") for b in piv.index], fontsize=6 if len(piv) > 30 else 7,
                               rotation=90)
            ax.set_ylabel("ms", fontsize=7)
            ax.tick_params(axis="y", labelsize=7)
            ax.set_title(f"{m}: {total / 1e3:.3g} s on {preset}; ms per block (stem, <stage>.<block>, "
                         f"head = pooling + FC); a bootstrap counts in the block that needs it",
                         fontsize=8, loc="left")
        handles, labels_ = axes[0, 0].get_legend_handles_labels()
        fig.tight_layout(rect=(0, 0, 1, 1 - 0.35 / fig.get_figheight()))
        fig.legend(handles, labels_, fontsize=8, ncol=len(labels_), loc="upper center",
                   bbox_to_anchor=(0.5, 1.0), frameon=False)
        name = f"resnet_layers_{preset}.png"
        save_fig(fig, name)
        names.append(name)
    return names


def _resnet_tables(layers: pd.DataFrame, lat: pd.DataFrame, anchors) -> tuple[pd.DataFrame, pd.DataFrame,
                                                                                pd.DataFrame]:
    """``(summary, latency pivot, comparison)`` of the ResNet workloads."""
    rl = lat[lat["group"] == "resnet"]
    rows = []
    for r in rl.itertuples():
        d = layers[(layers["preset"] == r.preset) & (layers["workload"] == r.workload)]
        cyc = float(d["cycles"].sum()) or 1.0
        parts = d.groupby("part")["cycles"].sum()
        blocks = d.groupby("block")["cycles"].sum().sort_values(ascending=False)
        rows.append({"preset": r.preset, "model": r.workload, "latency_s": r.ms / 1e3, "bound": r.bound,
                     "memory_bound_share": r.memory_bound_share, "offchip_GB": r.offchip_MB / 1e3,
                     **{f"{p}_share": float(parts.get(p, 0)) / cyc for p in RESNET_PARTS},
                     "top_block": f"{blocks.index[0]} ({blocks.iloc[0] / cyc:.1%})" if len(blocks) else ""})
    summary = pd.DataFrame(rows)
    piv = pd.DataFrame()
    if len(summary):
        piv = summary.pivot_table(index="model", columns="preset", values="latency_s", aggfunc="first")
        piv = piv.loc[sorted(piv.index, key=lambda m: int(m[6:]))].reset_index()
        piv.columns.name = None
    models = [f"resnet{d}" for d in (20, 32, 44, 56, 110)]
    comp = []
    for a in anchors:
        if a.resnet20_s is None:
            continue
        comp.append({"system": a.system, "kind": a.kind, "device": a.device,
                     **{m: (float(a.resnet20_s) if m == "resnet20" else float("nan")) for m in models},
                     "source": a.source})
    for system, kind, device, vals, source in RESNET_ANCHORS_EXTRA:
        comp.append({"system": system, "kind": kind, "device": device,
                     **{m: float(vals.get(m, float("nan"))) for m in models}, "source": source})
    for preset in dict.fromkeys(summary["preset"]) if len(summary) else ():
        s = summary[summary["preset"] == preset].set_index("model")["latency_s"]
        comp.append({"system": f"fhesim model: {preset}", "kind": "model", "device": preset,
                     **{m: float(s.get(m, float("nan"))) for m in models},
                     "source": "this report (cycle model, dry-run trace at n16-128)"})
    return summary, piv, pd.DataFrame(comp)


# ---- U280 design space (section 2c; fhesim explore) -----------------------------------------
#: Workloads the design-space section explores, in order of preference.
DSE_WORKLOADS = ("resnet20", "bootstrap", "mulrot", "cmult")


def _design_space(compiled: dict, quick: bool, rows: dict, save_csv, save_fig, log) -> list[str]:
    """``fhesim explore --device u280`` on ResNet-20 (the first available of
    :data:`DSE_WORKLOADS`): every explored design (``u280_design_space.csv``), the Pareto plot
    (``u280_pareto.png``), the lower bound beside the GPU figures (``u280_bound.csv``) and the
    section's Markdown. ``quick``: the small grid, no refinement."""
    import dataclasses

    from sim.explore import Design, explore, plot_front

    from .anchors import ANCHORS

    wname = next((w for w in DSE_WORKLOADS if w in compiled), None)
    if wname is None:
        return []
    log(f"report: exploring the U280 design space on {wname} ...")
    res = explore("u280", wname, grid="small" if quick else "default", refine=not quick,
                  progress=False, ops=compiled[wname], rows=rows)
    save_csv(res.table, "u280_design_space.csv")
    gpus = {f"Cheddar {a.device}": float(a.resnet20_s) for a in ANCHORS
            if a.system == "Cheddar" and a.device in ("H100", "RTX 5090") and a.resnet20_s}
    is_resnet20 = wname == "resnet20"
    plot_front(res, anchors=gpus if is_resnet20 else None, save=lambda fig: save_fig(fig, "u280_pareto.png"))
    b, bd, p = res.best, res.bound, res.preset
    design = Design(*(int(b[f]) for f in Design.__dataclass_fields__))
    cfg = dataclasses.replace(res.base, units=design.units(res.base.lanes))
    others = []
    if "bootstrap" in compiled and wname != "bootstrap":
        t = compiled["bootstrap"].totals(cfg)
        others.append(f"bootstrapping (`bootstrap`, n16-128) {t['seconds'] * 1e3:.0f} ms")
    what_if = compiled[wname].totals(dataclasses.replace(cfg, execution="pipelined", overlap="prefetch"))
    bound_rows = [
        {"quantity": "modular multiplications", "value": bd["modmul_total"], "unit": "",
         "note": ", ".join(f"{k} {v:.3g}" for k, v in bd["modmuls"].items())},
        {"quantity": "multipliers (fhesim RTL)", "value": bd["multipliers"], "unit": "",
         "note": f"{bd['dsp']:,} DSP // {bd['dsp_per_multiplier']} per {bd['multiplier_source']}"},
        {"quantity": "compute bound", "value": bd["compute_s"], "unit": "s", "note": f"at {bd['clock_mhz']:g} MHz"},
        {"quantity": "compulsory off-chip bytes", "value": bd["memory_bytes"], "unit": "B",
         "note": f"plaintexts {bd['plaintext_bytes'] / 1e9:.1f} GB + {bd['distinct_keys']} distinct keys once"},
        {"quantity": "memory bound", "value": bd["memory_s"], "unit": "s", "note": f"at {bd['off_chip_gbps']:g} GB/s"},
        {"quantity": "lower bound", "value": bd["bound_s"], "unit": "s", "note": "max(compute, memory)"},
        {"quantity": "floor, 1 product per multiplication", "value": bd["floor_s"], "unit": "s",
         "note": f"{bd['multipliers_floor']} multipliers of {bd['dsp_per_product']} DSP, reduction free"},
        {"quantity": "best fitting design", "value": float(b["latency_s"]), "unit": "s", "note": b["design"]},
        *({"quantity": k, "value": v, "unit": "s", "note": "ANCHORS.md [V]"} for k, v in gpus.items()),
    ]
    save_csv(pd.DataFrame(bound_rows), "u280_bound.csv")
    front = res.front_rows(12)[["design", "latency_s", "bottleneck", "dsp", "lut", "ff", "bram36", "uram",
                                "unit_ram_MB", "data_MB"]]
    md = ["## 2c. U280 design space", "",
          f"`fhesim explore --device u280 --workload {wname}`"
          + (" (quick: small grid, no refinement)" if quick else "") +
          f": {len(res.table)} unit mixes at 300 MHz and 460 GB/s, {int(res.table['fits'].sum())} of which "
          "fit the U280's LUT, FF, DSP, BRAM36 and URAM (synthesised units, section 6) and its on-chip RAM "
          "(units' RAM blocks + the model's data capacity); each estimated with the cycle model "
          f"(execution `{b['execution']}`, overlap `{b['overlap']}`, as the `u280` preset). "
          "Pareto front (latency vs DSP and LUT, every design in `u280_design_space.csv`):", "",
          "![u280_pareto.png](u280_pareto.png)", "", _md_table(front, "{:,.4g}"), "",
          f"**Best fitting design** ({b['design']}): {wname} {float(b['latency_s']):.3g} s"
          + ("; " + "; ".join(others) if others else "") +
          f"; bottleneck `{b['bottleneck']}`; DSP {int(b['dsp']):,} ({float(b['dsp_util']):.0%}), LUT "
          f"{int(b['lut']):,} ({float(b['lut_util']):.0%}), BRAM36 {float(b['bram36']):g}, URAM {int(b['uram'])}. "
          f"The `u280` preset ({p['design']}) projects {float(p['latency_s']):.3g} s"
          + (" (it is this design: `sim/configs/u280.toml` was set from this exploration)"
             if p["design"] == b["design"] else "") + ". "
          f"The same units with concurrent unit kinds and prefetched transfers (`execution = \"pipelined\"`, "
          f"`overlap = \"prefetch\"`, not in the RTL) would take {what_if['seconds']:.3g} s.", "",
          f"**Lower bound** (`u280_bound.csv`): the trace needs {bd['modmul_total']:.3g} modular multiplications; "
          f"the U280's {bd['dsp']:,} DSP slices hold at most {bd['multipliers']} of fhesim's multipliers "
          f"({bd['dsp_per_multiplier']} DSP each, {bd['multiplier_source']}), so no design built from them "
          f"runs {wname} in less than {bd['compute_s']:.3g} s at {bd['clock_mhz']:g} MHz; the compulsory "
          f"off-chip traffic ({bd['memory_bytes'] / 1e9:.1f} GB) takes {bd['memory_s']:.3g} s at "
          f"{bd['off_chip_gbps']:g} GB/s. Bound: {bd['bound_s']:.3g} s. With one {res.base.word_bits}-bit "
          f"product per multiplication ({bd['dsp_per_product']} DSP, the reduction for free in LUTs) the "
          f"floor is {bd['floor_s']:.3g} s.", ""]
    if is_resnet20 and gpus:
        best_gpu, h100 = min(gpus.values()), max(gpus.values())
        lat_b = float(b["latency_s"])
        if bd["bound_s"] > h100:
            verdict = (f"cannot beat them: the lower bound {bd['bound_s']:.3g} s is already "
                       f"{bd['bound_s'] / h100:.1f}x the slower GPU figure ({h100:g} s)")
        elif bd["bound_s"] > best_gpu:
            verdict = (f"cannot beat the fastest GPU figure ({best_gpu:g} s, below the lower bound "
                       f"{bd['bound_s']:.3g} s); the bound does not exclude the {h100:g} s figure")
        else:
            verdict = f"is not excluded from beating them by the lower bound ({bd['bound_s']:.3g} s)"
        md += [f"**Against the GPU figures** ({', '.join(f'{k} {v:g} s' for k, v in gpus.items())}): the "
               f"best U280 design projects {lat_b:.3g} s ({lat_b / best_gpu:.1f}x the fastest GPU figure; "
               f"{'it does not beat' if lat_b > best_gpu else 'it beats'} the GPU figure). A U280 built from "
               f"fhesim's units {verdict}. The cause is the multiplier budget: {bd['multipliers']} "
               f"{res.base.word_bits}-bit modular multipliers at {bd['clock_mhz']:g} MHz "
               f"({bd['multipliers'] * bd['clock_mhz'] / 1e6:.3f} T multiplications/s) against "
               f"{bd['modmul_total'] / 1e12:.2f} T multiplications; the memory alone would allow "
               f"{bd['memory_s']:.2f} s. The best design is a further {lat_b / bd['bound_s']:.1f}x above the "
               "bound: the iterative NTT unit spends two multipliers per lane (butterfly and output "
               "multiplier) for about 0.8 butterflies per cycle, the unit kinds run one after another, and "
               "memory stalls remain. Only multipliers of about "
               f"{bd['dsp_per_product']} DSP (special primes, reduction in LUTs), busy at every cycle, would "
               f"bring the floor ({bd['floor_s']:.3g} s) to the GPU figures.", ""]
    return md


def generate(out_dir: str | Path = "reports", *, quick: bool = False,
             traces_dir: str | Path | None = None, synth_cache: str | Path | None = None,
             log=print) -> dict:
    """Write the report into ``out_dir``; return a summary dictionary."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from sim.cycle.config import load_config, preset_names
    from sim.cycle.model import CompiledOps, estimate
    from sim.cycle.workloads import discover
    from sim.synth.cache import current_src, read_cache
    from sim.synth.resources import U280, fit_report

    from .anchors import ANCHORS

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

    # every workload compiled once (sim.cycle.model.CompiledOps), estimated on every preset
    compiled = {w.name: CompiledOps(ops) for w, ops, _ in available}

    # ---- latency and breakdowns
    lat_rows, kern_rows, op_rows, label_rows, notes_all = [], [], [], [], set()
    layer_rows: list[dict] = []
    results = {}
    unsupported = []
    for cfg in presets:
        for w, ops, notes in available:
            try:
                est = estimate(compiled[w.name], cfg, notes=notes)
            except ValueError as exc:     # e.g. ring degree beyond the design's NTT units
                unsupported.append({"preset": cfg.name, "workload": w.name, "reason": str(exc)})
                continue
            if w.group != "resnet" or any(w.name == v[0] for v in VALIDATION_WORKLOADS):
                results[(cfg.name, w.name)] = est    # (the deeper ResNets' frames are large)
            if w.group == "resnet":
                layer_rows += _resnet_layer_rows(est, cfg.name, w.name)
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

    resnet_names = {w.name for w, _, _ in available if w.group == "resnet"}

    def not_resnet(df):   # the ResNets have figures of their own (below)
        keep = df[~df["workload"].isin(resnet_names)] if len(df) else df
        return keep if len(keep) else df

    stacked(not_resnet(kern), "segment", "Latency by kernel kind (+ memory stall); total above each bar",
            "latency_by_kernel.png")
    stacked(not_resnet(opdf), "op", "Latency by operation kind; total above each bar", "latency_by_op.png")

    # ---- encrypted ResNets: per stage / block / part, kernels, anchors
    layers = pd.DataFrame(layer_rows)
    resnet_figs: list[str] = []
    if len(layers):
        save_csv(layers, "resnet_layers.csv")
        resnet_figs = _resnet_plots(layers, lat, plt, save_fig)
        rk = kern[kern["workload"].isin(resnet_names)]
        stacked(rk, "segment", "Encrypted ResNets: latency by kernel kind (+ memory stall); total above each bar",
                "resnet_by_kernel.png")
        resnet_figs.insert(0, "resnet_by_kernel.png")
    rsum, rpiv, rcomp = _resnet_tables(layers, lat, ANCHORS) if len(layers) else (pd.DataFrame(),) * 3
    dse_md = _design_space(compiled, quick, read_cache(synth_cache), save_csv, save_fig, log)
    if len(rsum):
        save_csv(rsum, "resnet.csv")
        save_csv(rcomp, "resnet_anchors.csv")

    # ---- sweep
    base = load_config("u280")
    base_lanes = base.units["ntt"].lanes
    sweep_wl = next(((w, ops) for w, ops, _ in available if w.name == "bootstrap"), None) or \
        next(((w, ops) for w, ops, _ in available if w.name == ("mulrot" if not quick else "cmult")), None) or \
        ((available[0][0], available[0][1]) if available else None)
    sweep_rows = []
    rows_cache = read_cache(synth_cache)
    if sweep_wl:
        for P in (QUICK_LANES if quick else SWEEP_LANES):
            for g in (QUICK_GBPS if quick else SWEEP_GBPS):
                cfg = _sweep_config(base, P, g)
                est = estimate(compiled[sweep_wl[0].name], cfg)
                fit = fit_report(cfg, U280, rows_cache)
                tot = est.total()
                sweep_rows.append({"workload": sweep_wl[0].name, "ntt_lanes": P, "lane_scale": P / base_lanes,
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
        ax.set_ylabel(f"NTT lanes P (other units' lanes x P/{base_lanes})")
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
    val, val_md = _validation(results, {w.name for w, _, _ in available})
    val_rows = val.to_dict("records")
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
                  "(`reports/traces/<name>.json`) or a dry-run callable exists (sim/cycle/workloads.py).")
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
    if len(rsum):
        md += ["## 2b. Encrypted ResNets (cifar32, n16-128)", "",
               "One CIFAR-style 32x32x3 image through ResNet-20 ... 110 (composite ReLU 15/15/27, "
               "multiplexed parallel convolutions, bootstrapping placed by the level planner): the "
               "dry-run op trace of the real software path (`sw.nn.trace.dry_run_trace`, "
               "docs/resnet.md) on each preset. Projected latency in seconds:", "",
               _md_table(rpiv), "",
               "Compute vs memory bound and the share of each part of the network "
               "(`linear`: convolutions, shortcuts, FC; `activation`: polynomial ReLU; `bootstrap`; "
               "`add`: residual additions); `top_block`: the costliest block (`resnet.csv`, per block "
               "and part: `resnet_layers.csv`):", "",
               _md_table(rsum.drop(columns=["offchip_GB"])), ""]
        for f in resnet_figs:
            md += [f"![{f}]({f})", ""]
        md += ["Comparison with published and measured figures (seconds per image; each row "
               "with its source; the published accelerator and GPU figures are ResNet-20 only, "
               "`resnet_anchors.csv`):", "", _md_table(rcomp), ""]
    md += dse_md
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
               f"NTT lanes P, all other units' lanes scaled by P/{base_lanes} (the preset's NTT lanes). `fits_u280`: the "
               "configuration's synthesised/extrapolated resources fit the U280 (section 6).", "",
               "![sweep](sweep_lanes_bandwidth.png)", "",
               _md_table(sweep[["ntt_lanes", "off_chip_gbps", "ms", "memory_bound_ops", "fits_u280", "dsp", "lut"]]), ""]
    md += ["## 5. Anchors and validation", "",
           "Published figures (ANCHORS.md, each with its source) beside the model's projection:", "",
           _md_table(anc_all), ""]
    md += val_md
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
