"""Section 2c of the report: the U280 design space (:mod:`sim.explore`), its Pareto front
and lower bound beside the GPU figures (``u280_design_space.csv``, ``u280_bound.csv``,
``u280_pareto.png``)."""
from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from .anchors import ANCHORS
from .markdown import md_table

#: Workloads the design-space section explores, in order of preference.
DSE_WORKLOADS = ("resnet20", "bootstrap", "mulrot", "cmult")

@dataclass
class DesignSpace:
    """The explored workload, the exploration (:class:`sim.explore.ExploreResult`), the GPU
    figures it is set against (label -> seconds), the lower-bound table and the best
    design's other figures (``others``: Markdown phrases; ``what_if``: its cycle-model
    totals pipelined with prefetch)."""

    workload: str
    result: object
    gpus: dict
    bound: pd.DataFrame
    others: list
    what_if: dict

    def plot(self, save) -> None:
        """The Pareto plot, handed to ``save(fig)``."""
        from sim.explore import plot_front

        plot_front(self.result, anchors=self.gpus if self.workload == "resnet20" else None, save=save)


def design_space(compiled: dict, quick: bool, rows: dict, log) -> DesignSpace | None:
    """``fhesim explore --device u280`` on ResNet-20 (the first available of
    :data:`DSE_WORKLOADS`; ``None`` if none is): the explored designs, the lower bound
    beside the GPU figures and the best design's other figures. ``quick``: the small grid,
    no refinement."""
    import dataclasses

    from sim.explore import Design, explore

    wname = next((w for w in DSE_WORKLOADS if w in compiled), None)
    if wname is None:
        return None
    log(f"report: exploring the U280 design space on {wname} ...")
    res = explore("u280", wname, grid="small" if quick else "default", refine=not quick,
                  progress=False, ops=compiled[wname], rows=rows)
    gpus = {f"Cheddar {a.device}": float(a.resnet20_s) for a in ANCHORS
            if a.system == "Cheddar" and a.device in ("H100", "RTX 5090") and a.resnet20_s}
    b, bd = res.best, res.bound
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
        *({"quantity": k, "value": v, "unit": "s", "note": "Cheddar README [V]"} for k, v in gpus.items()),
    ]
    return DesignSpace(wname, res, gpus, pd.DataFrame(bound_rows), others, what_if)


def design_space_md(ds: DesignSpace, quick: bool) -> list[str]:
    """The report's section 2c (Markdown lines) from :func:`design_space`."""
    wname, res, gpus, others, what_if = ds.workload, ds.result, ds.gpus, ds.others, ds.what_if
    is_resnet20 = wname == "resnet20"
    b, bd, p = res.best, res.bound, res.preset
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
          "![u280_pareto.png](u280_pareto.png)", "", md_table(front, "{:,.4g}"), "",
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
