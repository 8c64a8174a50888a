"""Validation of the presets that mimic a published design against its figures
(``validation.csv`` and the report's section; docs/cycle-model.md, "Validation against
published designs")."""
from __future__ import annotations

import pandas as pd

from .anchors import NO_PRESET, NOT_COMPARABLE, VALIDATIONS, anchor
from .markdown import md_table

#: Workloads compared with the published figures: (name, anchor field, unit, seconds -> unit).
VALIDATION_WORKLOADS = (("bootstrap-l8", "bootstrap_ms", "ms", 1e3),
                        ("bootstrap", "bootstrap_ms", "ms", 1e3),
                        ("resnet20", "resnet20_s", "s", 1.0),
                        ("cmult", "cmult_us", "us", 1e6),
                        ("rotate", "rotate_us", "us", 1e6))
#: Workloads compared only where the design's source gives the figure (no row otherwise).
_OPTIONAL = ("cmult", "rotate")
#: The anchor field of the published energy of each latency field.
_ENERGY_FIELD = {"bootstrap_ms": "bootstrap_j", "resnet20_s": "resnet20_j"}
#: The earlier target (column ``within_2x``): model within this factor of the published figure.
VALIDATION_FACTOR = 2.0
#: The current target (column ``within_target`` and the report's **Target** line).
TARGET_FACTOR = 1.5
#: Designs that must be within ``TARGET_FACTOR`` of their primary published figure, per workload.
#: ``bootstrapping`` counts each design's own ``Validation.bootstrap_workload``.
TARGET_DESIGNS = {"bootstrapping": 4, "resnet20": 5}


def validation_table(results: dict, available: set[str]) -> pd.DataFrame:
    """The rows of ``validation.csv``.

    One row per preset of a published design (:data:`sim.report.anchors.VALIDATIONS`),
    published figure and workload: model and published latency, ``ratio`` = model /
    published, ``factor`` = max(ratio, 1/ratio), and the model's own split of its cycles
    (compute, fill, exposed memory stall) and off-chip bytes (keys, plaintexts,
    ciphertexts), from which the gaps are explained. ``status``: ``compared``; ``workload
    missing`` (no trace); ``not estimated`` (the preset refused it, e.g. ring degree).
    ``primary``: the row the target counts (the design's first anchor, on its
    ``Validation.bootstrap_workload`` or ``resnet20``).
    """

    rows = []
    for v in VALIDATIONS:
        for system in v.anchors:
            a = anchor(system)
            for wname, field, unit, scale in VALIDATION_WORKLOADS:
                published = getattr(a, field)
                if published is None and wname in _OPTIONAL:
                    continue
                if field == "resnet20_s" and published is not None:
                    published = float(published)
                est = results.get((v.preset, wname))
                row = {"preset": v.preset, "published_design": system, "workload": wname,
                       "published": published, "model": float("nan"), "unit": unit,
                       "ratio_model_over_published": float("nan"), "factor": float("nan"),
                       "within_2x": False, "within_target": False,
                       "status": ("compared" if est else "not estimated" if wname in available
                                  else "workload missing"),
                       "hardware": v.hardware, "source": a.source,
                       "primary": system == v.anchors[0] and wname in (v.bootstrap_workload, "resnet20")}
                if est is not None:
                    model = est.total_seconds * scale
                    row["model"] = model
                    if published:
                        r = model / published
                        row.update(ratio_model_over_published=r, factor=max(r, 1 / r) if r else float("inf"),
                                   within_2x=bool(r and max(r, 1 / r) <= VALIDATION_FACTOR),
                                   within_target=bool(r and max(r, 1 / r) <= TARGET_FACTOR))
                    row.update(_memory_columns(est, scale))
                    row.update(_energy_columns(a, field, row["energy_j"]))
                    row["gap_reason"] = v.note
                    row.update(_split_columns(est))
                rows.append(row)
    for preset, why in NOT_COMPARABLE.items():
        # the model's own figures where the preset runs the workload (no published one)
        for wname, _, unit, scale in VALIDATION_WORKLOADS:
            if wname in _OPTIONAL:
                continue
            est = results.get((preset, wname))
            row = {"preset": preset, "published_design": "", "workload": wname,
                   "published": float("nan"), "model": float("nan"), "unit": unit,
                   "ratio_model_over_published": float("nan"), "factor": float("nan"),
                   "within_2x": False, "within_target": False, "status": f"not comparable: {why}",
                   "hardware": "", "source": "", "primary": False}
            if est is not None:
                row["model"] = est.total_seconds * scale
                row.update(_memory_columns(est, scale))
                row.update(_split_columns(est))
            rows.append(row)
    return pd.DataFrame(rows)


def _energy_columns(a, field: str, model_j: float) -> dict:
    """The published energy of the run (``Anchor.bootstrap_j`` / ``resnet20_j``) beside the
    model's, and their ratio (model / published; NaN where either is missing)."""
    pub = getattr(a, _ENERGY_FIELD[field]) if field in _ENERGY_FIELD else None
    out = {"published_energy_j": float("nan") if pub is None else float(pub),
           "energy_ratio": float("nan"), "energy_source": a.energy_source if pub is not None else ""}
    if pub and model_j == model_j:
        out["energy_ratio"] = model_j / pub
    return out


def _split_columns(est) -> dict:
    """The model's split of its cycles (compute, fill, exposed stall) and off-chip bytes."""
    o = est.ops
    cyc = est.total_cycles or 1
    return dict(
        compute_share=float(o["compute_cycles"].sum()) / cyc,
        fill_share=float(o["fill_cycles"].sum()) / cyc,
        stall_share=float(o["stall_cycles"].sum()) / cyc,
        serial_compute_ms=float(o["serial_compute_cycles"].sum()) / est.config.clock_hz * 1e3,
        transfer_ms=float(o["transfer_cycles"].sum()) / est.config.clock_hz * 1e3,
        key_GB=float(o["key_offchip_bytes"].sum()) / 1e9,
        plaintext_GB=float(o["pt_offchip_bytes"].sum()) / 1e9,
        ciphertext_GB=float(o["ct_offchip_bytes"].sum()) / 1e9)


def _memory_columns(est, scale: float) -> dict:
    """What bounds the estimate, its offline-optimal residency bound and its energy."""
    o = est.ops
    by = o.groupby("bound_class")["cycles"].sum() if "bound_class" in o else pd.Series(dtype=float)
    out = {"bound": str(by.idxmax()) if len(by) else "", "policy": est.config.policy,
           "min_policy_model": float("nan"), "energy_j": float("nan"), "edp_js": float("nan"),
           "energy_note": ""}
    if est.min_bound is not None:
        out["min_policy_model"] = est.min_bound["seconds"] * scale
    try:
        e = est.energy()
        out.update(energy_j=e["joules"], edp_js=e["edp_js"])
        if e["upper_bound"]:
            out["energy_note"] = (f"upper bound: the design states only a peak power "
                                  f"({e['power_w']:g} W), so energy_j and edp_js are at most these")
    except ValueError as exc:
        out["energy_note"] = str(exc).split(": ", 1)[-1]
    return out


def validation_md(val: pd.DataFrame) -> list[str]:
    """The report's validation section (Markdown lines) from :func:`validation_table`."""

    primary = {v.preset: v.anchors[0] for v in VALIDATIONS}
    compared = val[val["status"] == "compared"]
    is_primary = pd.Series([primary.get(p) == d for p, d in zip(compared["preset"], compared["published_design"])],
                           index=compared.index, dtype=bool)
    target = {}        # kind -> (presets within the factor, presets compared), primary rows
    is_resnet = compared["workload"] == "resnet20"
    for kind in TARGET_DESIGNS:
        sub = compared[compared["primary"] & (is_resnet if kind == "resnet20" else ~is_resnet)
                       & compared["published"].notna()]
        if len(sub):
            target[kind] = (sorted(sub.loc[sub["within_target"], "preset"]), len(sub))
    md = ["### Validation of presets that mimic a published design", "",
          "Each preset is set from the design's stated hardware (sources per figure in "
          "`sim/configs/<preset>.toml`; [V] read in the primary source, [S] secondary source, "
          "[R] recalled, not re-read), never fitted to the figure. `ratio` = model / published; "
          "`factor` = max(ratio, 1/ratio); `bound`: the class (compute, onchip, keys, plaintexts, "
          "ciphertexts) that bounds most cycles; `min_policy_model`: the latency with the offline-"
          "optimal residency (Belady's MIN) beside the preset's policy; `energy_j`: stated average "
          "power x latency (empty where the design states no power; `energy_note` in "
          "validation.csv names the missing field; an upper bound, marked `<=`, where the "
          "design states only its peak power); `published_energy_j`: the energy the source "
          "gives for the same run (or its energy-delay product / latency; `energy_source` in "
          "validation.csv), `energy_ratio` = model / published. Rows `cmult` and `rotate` "
          "(one multiply + relinearise + rescale, one rotation, at N = 2^16 and the top level) "
          "only where the source gives the operation's latency.", ""]
    shown = val[val["status"] == "compared"]
    if len(shown):
        t = shown[["preset", "published_design", "workload", "primary", "published", "model", "unit",
                   "ratio_model_over_published", "factor", "bound", "min_policy_model",
                   "compute_share", "stall_share", "key_GB", "plaintext_GB", "ciphertext_GB",
                   "energy_j", "published_energy_j", "energy_ratio"]].rename(
            columns={"ratio_model_over_published": "ratio", "published_design": "published design"})
        upper = shown["energy_note"].fillna("").str.startswith("upper bound")
        if upper.any():
            t["energy_j"] = [f"<= {v:.4g}" if u else v for v, u in zip(t["energy_j"], upper)]
        md += [md_table(t), ""]
    else:
        md += ["(no validation workload available in this run)", ""]
    own = val[val["status"].str.startswith("not comparable") & val["model"].notna()]
    if len(own):
        t = own[["preset", "workload", "model", "unit", "bound", "min_policy_model", "compute_share",
                 "stall_share", "key_GB", "plaintext_GB", "ciphertext_GB"]]
        md += ["Presets without a published figure of these workloads (the model's own figures; "
               "reasons below):", "", md_table(t), ""]
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
        parts = [f"`{w}` {'met' if len(ok) >= TARGET_DESIGNS[w] else 'not met'} ({len(ok)} of {n}"
                 f"{': ' + ', '.join(ok) if ok else ''}; at least {TARGET_DESIGNS[w]} asked)"
                 for w, (ok, n) in target.items()]
        md += [f"**Target** (model within {TARGET_FACTOR:g}x of the primary published figure; "
               "bootstrapping on each design's workload closest to its published benchmark, "
               "`primary` in the table): " + "; ".join(parts) + ".", ""]
    md += _program_ratio_md(compared[is_primary])
    md += ["Gaps per design (numbers and causes: docs/cycle-model.md, \"Validation against "
           "published designs\"; `compute_share`/`stall_share`: shares of the model's cycles):", ""]
    md += [f"* **{v.preset}** ({v.hardware}): {v.note}." for v in VALIDATIONS]
    md += [f"* **{p}**: {why}." for p, why in NOT_COMPARABLE.items()]
    md += [f"* {d}: no preset; {why}." for d, why in NO_PRESET.items()]
    md += [""]
    return md


def _program_ratio_md(primary: pd.DataFrame) -> list[str]:
    """One line comparing, per design, ResNet-20 / ``bootstrap-l8`` as published and as
    modelled: the model runs one program on every preset, so a spread of the published ratio
    that the model does not show is a difference of the programs, not of the hardware
    (docs/cycle-model.md, "ResNet-20 against bootstrapping")."""
    parts = []
    for preset, g in primary.groupby("preset", sort=False):
        by = g.set_index("workload")
        if not {"bootstrap-l8", "resnet20"} <= set(by.index):
            continue
        b, r = by.loc["bootstrap-l8"], by.loc["resnet20"]
        if not (b["published"] and r["published"]) or pd.isna(b["model"]) or pd.isna(r["model"]):
            continue
        pub = r["published"] / (b["published"] / 1e3)          # s / (ms -> s)
        mod = r["model"] / (b["model"] / 1e3)
        parts.append(f"{preset} {pub:.0f} published, {mod:.0f} modelled")
    if not parts:
        return []
    return ["ResNet-20 in units of the design's own `bootstrap-l8`: " + "; ".join(parts) + ". "
            "The model runs one program on every preset; where the published ratios differ "
            "from each other and from the model's, the published ResNet-20s are different "
            "programs, and the ResNet-20 ratio of a design differs from its bootstrapping "
            "ratio by that factor, whatever its hardware.", ""]
