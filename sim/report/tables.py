"""The report's tables, computed as pandas DataFrames (one per section; rendered by
:mod:`sim.report.build`): workloads, latency and breakdowns of every workload on every
preset, the encrypted ResNets, the lanes x bandwidth sweep, anchors and FPGA resources."""
from __future__ import annotations

from dataclasses import dataclass, field

import pandas as pd

SWEEP_LANES = (2, 4, 8, 16, 64, 256, 1024)
SWEEP_GBPS = (115, 230, 460, 920, 1840)
QUICK_LANES = (8, 128)
QUICK_GBPS = (460, 1840)

#: Parts of a ResNet layer in the per-layer breakdown, in plotting order.
RESNET_PARTS = ("linear", "activation", "bootstrap", "add")
#: Stage groups of a ResNet, in order.
RESNET_STAGES = ("stem", "layer1", "layer2", "layer3", "head")
#: ResNet latencies that anchors.py does not hold (docs/sources.md, each with its source), and
#: this project's own measured CPU times (docs/resnet.md, "Encrypted runs"):
#: (system, kind, device, {model: seconds}, source).
RESNET_ANCHORS_EXTRA = (
    ("Lee et al. (ICML 2022), rerun by AutoFHE, amortized per image", "cpu",
     "96 vCPU, SEAL, 96 images at once", {"resnet20": 99.0, "resnet32": 176.0, "resnet44": 251.0},
     "AutoFHE, USENIX Security 2024 [V]"),
    ("Lee et al. (ICML 2022), rerun by AutoFHE, latency", "cpu", "96 vCPU, SEAL",
     {"resnet32": 16910.0, "resnet44": 24082.0},
     "AutoFHE, USENIX Security 2024 [V]; ResNet-20 in the row above"),
    ("OpenFHE, polynomial ReLU", "cpu", "CPU", {"resnet20": 1145.0}, "arXiv 2508.11575 [V]"),
    ("HyPHEN (IEEE Access 2023)", "gpu", "GPU", {"resnet20": 1.40}, "HyPHEN, IEEE Access 2023 [S]"),
    ("fhesim software, measured (toy-boot-n11: N = 2^11, INSECURE, not n16-128)", "cpu",
     "this project's machine, 2 shared cores, 1 thread", {"resnet20": 24.0, "resnet110": 113.0},
     "docs/resnet.md, Encrypted runs: fastest per-image time measured (up to 52 s for ResNet-20 "
     "and 237 s for ResNet-110 under load); n16-128 not run (48 GB of rotation keys)"),
)


def _decompose(est) -> dict:
    ops = est.ops
    stall = int(ops["stall_cycles"].sum()) if len(ops) else 0
    return {"stall": stall, "fill": int(ops["fill_cycles"].sum()) if len(ops) else 0}


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


def workload_table(workloads, log) -> tuple[pd.DataFrame, list]:
    """``workloads.csv`` (every workload, available or missing, and from where) and the
    available ones as ``(Workload, ops, notes)``; a broken provider is reported, not fatal."""
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
    return pd.DataFrame(wl_rows), available



@dataclass
class Estimates:
    """Every available workload estimated on every preset: ``latency``, ``kernel``, ``op``,
    ``label`` and ``layers`` (ResNet blocks) tables; ``results``: the estimates kept for the
    validation and anchors ((preset, workload) -> estimate); ``unsupported``: refused pairs;
    ``not_rtl``: kernels without RTL."""

    latency: pd.DataFrame
    kernel: pd.DataFrame
    op: pd.DataFrame
    label: pd.DataFrame
    layers: pd.DataFrame
    results: dict = field(default_factory=dict)
    unsupported: list = field(default_factory=list)
    not_rtl: set = field(default_factory=set)


def _latency_row(est, cfg, w) -> dict:
    tot, dec = est.total(), _decompose(est)
    mem_cycles = int(est.ops.loc[est.ops["bound"] == "memory", "cycles"].sum())
    return {
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
    }


def _breakdown_rows(est, cfg, w, kern_rows, op_rows, label_rows) -> None:
    dec = _decompose(est)
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


def estimate_all(presets, available, compiled: dict, keep, variant=None) -> Estimates:
    """Estimate every available workload (``compiled``: name -> ``CompiledOps``) on every
    preset; ``keep(workload)``: whether its estimates are kept in ``results``.
    ``variant(workload, options) -> (CompiledOps, notes)``: the workload traced with a
    preset's ``[algorithm]`` options (:class:`sim.cycle.algorithm.AlgorithmOptions`, those
    that apply to its group) when they are not the defaults; a refusal (``ValueError``) is
    listed in ``unsupported`` like a ring degree the preset cannot run."""
    from sim.cycle.model import estimate

    lat_rows, kern_rows, op_rows, label_rows, layer_rows = [], [], [], [], []
    out = Estimates(*(pd.DataFrame(),) * 5)
    for cfg in presets:
        for w, ops, notes in available:
            opts = cfg.algorithm.for_group(w.group)
            try:
                src, wnotes = compiled[w.name], notes
                if not opts.is_default:
                    if variant is None:
                        raise ValueError(f"[algorithm] {opts.label()}: no variant tracer given")
                    src, wnotes = variant(w, opts)
                est = estimate(src, cfg, notes=wnotes)
            except ValueError as exc:     # e.g. ring degree beyond the design's NTT units
                out.unsupported.append({"preset": cfg.name, "workload": w.name, "reason": str(exc)})
                continue
            if keep(w):
                out.results[(cfg.name, w.name)] = est    # (the deeper ResNets' frames are large)
            if w.group == "resnet":
                layer_rows += _resnet_layer_rows(est, cfg.name, w.name)
            lat_rows.append({**_latency_row(est, cfg, w), "algorithm": opts.label()})
            out.not_rtl.update(est.total()["not_rtl_backed"])
            _breakdown_rows(est, cfg, w, kern_rows, op_rows, label_rows)
    out.latency, out.kernel, out.op = pd.DataFrame(lat_rows), pd.DataFrame(kern_rows), pd.DataFrame(op_rows)
    out.label, out.layers = pd.DataFrame(label_rows), pd.DataFrame(layer_rows)
    return out



def sweep_workload(available, quick: bool):
    """The sweep's workload: ``bootstrap``, else ``mulrot`` (``cmult`` when quick), else the
    first available; ``None`` when there is none."""
    return next((w for w, ops, _ in available if w.name == "bootstrap"), None) or \
        next((w for w, ops, _ in available if w.name == ("mulrot" if not quick else "cmult")), None) or \
        (available[0][0] if available else None)


def _sweep_point(job: tuple) -> dict:
    """One point of :func:`sweep_table`: ``(base, ops, name, lanes, gbps, rows_cache)`` -> row."""
    from sim.cycle.model import estimate
    from sim.synth.resources import U280, fit_report

    base, ops, name, P, g, rows_cache = job
    cfg = _sweep_config(base, P, g)
    tot = estimate(ops, cfg).total()
    fit = fit_report(cfg, U280, rows_cache)
    return {"workload": name, "ntt_lanes": P, "lane_scale": P / base.units["ntt"].lanes,
            "off_chip_gbps": g, "cycles": tot["cycles"], "ms": tot["seconds"] * 1e3,
            "memory_bound_ops": tot["memory_bound_ops"], "fits_u280": fit["fits"],
            "dsp": fit["totals"]["dsp"], "lut": fit["totals"]["lut"]}


def sweep_table(base, compiled: dict, name: str | None, quick: bool, rows_cache: dict,
                cluster: str | None = None) -> pd.DataFrame:
    """``sweep.csv``: workload ``name`` on :func:`_sweep_config` of ``base`` over lanes x
    bandwidth, each point also checked against the U280's resources; ``cluster``: where the
    points are estimated (:mod:`sim.cluster`; ``None``: in this process). Same rows, same
    order, wherever they run."""
    from sim.cluster import cluster_client, map_ordered

    if not name:
        return pd.DataFrame([])
    jobs = [(base, compiled[name], name, P, g, rows_cache)
            for P in (QUICK_LANES if quick else SWEEP_LANES) for g in (QUICK_GBPS if quick else SWEEP_GBPS)]
    with cluster_client(cluster or "serial") as client:
        return pd.DataFrame(map_ordered(client, _sweep_point, jobs, key="report-sweep"))


def anchors_table(presets, results: dict) -> pd.DataFrame:
    """``anchors.csv``: the published figures (:data:`sim.report.anchors.ANCHORS`) and each
    preset's bootstrapping and ResNet-20 projections."""
    from .anchors import ANCHORS

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
    return pd.concat([anc, pd.DataFrame(model_rows)], ignore_index=True)


def resources_tables(presets, rows_cache: dict) -> tuple[pd.DataFrame, pd.DataFrame]:
    """``resources.csv`` (per preset and unit) and each preset's totals against the U280."""
    from sim.synth.resources import U280, fit_report

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
    return pd.DataFrame(res_rows), pd.DataFrame(fit_rows)
