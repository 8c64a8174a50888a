"""FPGA resources of an accelerator configuration, from synthesised units where available.

Every unit kind of a configuration (``sim.cycle.config``) is costed per instance and
multiplied by its count. Each line says where its figures come from (``source``):

``synth``
    the unit's own row in ``reports/synth.csv`` (``fhesim synth``).
``synth-fit``
    NTT units with a lane count ``P`` that was not synthesised: LUT, FF and DSP are a
    least-squares line ``a + b*P`` through the synthesised NTT units of the same multiplier
    and width (n = 1024). The crossbar grows faster than linearly (``P log P`` muxes), so for
    ``P`` well above the synthesised range this is a lower bound on LUTs.
``composed``
    built from synthesised rows by structure: an NTT unit without NTT rows = ``P`` CT
    butterflies + ``P`` multipliers (+ memory); a basis-conversion lane = one multiplier
    plus one modular adder; a modular-adder lane = half of (CT butterfly - multiplier) LUTs
    (a butterfly is one multiplier, one modular add and one modular subtract) and ``W``
    output flip-flops.
``rule``
    nothing synthesised for that multiplier and width: DSP by the tiling rule
    (:func:`dsp_per_modmul`), LUT and FF unknown (0, flagged).

Logic of the NTT unit is taken at the synthesised ``n = 1024`` (it depends on ``n`` only
through counters and address widths, a few dozen LUTs). Its RAM is computed at the
configuration's ``max_ring_degree`` from :meth:`hw.ntt.NttUnit.memory_shapes` with the
block-RAM packing rule :func:`bram36_for` (UltraScale+ RAMB36E2 aspect ratios, from 32K x 1
to 512 x 72); when the block RAM of the device is exhausted, the largest memories move to
UltraRAM (:func:`uram_for`: 4K x 72 per URAM288). The automorphism unit has no RTL: its
``n``-word row buffer is counted as RAM and its ``L``-lane permutation as
``L * W * ceil(log2(L) / 2)`` LUTs (4:1 mux levels), ``rule``.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import pandas as pd

RESOURCES = ("lut", "ff", "dsp", "bram36", "uram")
#: RAMB36E2 shapes (depth, width) in simple dual-port mode.
BRAM36_SHAPES = ((32768, 1), (16384, 2), (8192, 4), (4096, 9), (2048, 18), (1024, 36), (512, 72))
URAM_DEPTH, URAM_WIDTH = 4096, 72

# --- DSP tiling rule (documented in docs/accelerator-config.md, "Resource check") --------
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


#: RAMB18E2 shapes (half a RAMB36E2 each).
BRAM18_SHAPES = ((16384, 1), (8192, 2), (4096, 4), (2048, 9), (1024, 18), (512, 36))


def bram36_for(depth: int, width: int) -> float:
    """36-Kb block RAMs for one ``depth x width`` memory: the best single aspect ratio, tiled,
    of RAMB36E2 (1 each) or RAMB18E2 (0.5 each)."""
    b36 = min(math.ceil(depth / d) * math.ceil(width / w) for d, w in BRAM36_SHAPES)
    b18 = min(math.ceil(depth / d) * math.ceil(width / w) for d, w in BRAM18_SHAPES) / 2
    return min(b36, b18)


def uram_for(depth: int, width: int) -> int:
    """URAM288 blocks (4K x 72) for one ``depth x width`` memory."""
    return math.ceil(depth / URAM_DEPTH) * math.ceil(width / URAM_WIDTH)


@dataclass(frozen=True)
class Device:
    """Resource budget of an FPGA (``None`` = not budgeted)."""

    name: str
    lut: int | None = None
    ff: int | None = None
    dsp: int | None = None
    bram36: float | None = None
    uram: int | None = None
    source: str = ""

    def budget(self) -> dict:
        return {r: getattr(self, r) for r in RESOURCES}


def _ntt_memories(n: int, lanes: int, width: int, multiplier: str,
                  buffering: str = "single") -> tuple:
    """Memories of one NTT unit (:func:`sim.cycle.hwprops.ntt_memory_shapes`; a ring smaller
    than ``2P`` is transformed with ``n/2`` lanes)."""
    from sim.cycle.hwprops import ntt_memory_shapes

    return ntt_memory_shapes(n, min(lanes, n // 2), width, multiplier, buffering)


def _fit(points: list[tuple[int, float]], x: int) -> float:
    if len(points) == 1:
        (x0, y0), = points
        return y0 * x / x0
    xs, ys = [p[0] for p in points], [p[1] for p in points]
    mx, my = sum(xs) / len(xs), sum(ys) / len(ys)
    b = sum((a - mx) * (c - my) for a, c in zip(xs, ys)) / sum((a - mx) ** 2 for a in xs)
    return my + b * (x - mx)


class UnitResources:
    """Per-instance resources of each unit kind, looked up in the synthesis rows."""

    def __init__(self, rows: dict[str, dict] | None):
        self.rows = rows or {}

    def _row(self, name: str) -> dict | None:
        return self.rows.get(name)

    def multiplier(self, multiplier: str, width: int) -> tuple[dict, str]:
        """One modular multiplier lane."""
        row = self._row(f"modmul-{multiplier}-w{width}")
        if row:
            return {"lut": row["lut"], "ff": row["ff"], "dsp": row["dsp"]}, "synth"
        return {"lut": 0, "ff": 0, "dsp": dsp_per_modmul(width)}, "rule"

    def modadd(self, multiplier: str, width: int) -> tuple[dict, str]:
        ct, mm = self._row(f"ct-{multiplier}-w{width}"), self._row(f"modmul-{multiplier}-w{width}")
        if ct and mm:
            return {"lut": max(0, (ct["lut"] - mm["lut"]) // 2), "ff": width, "dsp": 0}, "composed"
        return {"lut": 0, "ff": 0, "dsp": 0}, "rule"

    def ntt_logic(self, multiplier: str, width: int, lanes: int,
                  scaling: str = "multiplier", buffering: str = "single") -> tuple[dict, str]:
        """One NTT unit's logic: the synthesised row of these lanes (scaling and buffering),
        a line through the synthesised lane counts, else composed from the butterfly (and,
        with ``scaling="multiplier"``, the output multiplier) of each lane (which leaves out
        the control and the memory multiplexers)."""
        rows = [r for r in self.rows.values() if r["kind"] == "ntt" and r["multiplier"] == multiplier
                and r["width"] == width and (r.get("scaling") or "multiplier") == scaling
                and (r.get("buffering") or "single") == buffering]
        exact = [r for r in rows if r["lanes"] == lanes]
        if exact:
            r = max(exact, key=lambda r: r["n"])
            return {"lut": r["lut_logic"], "ff": r["ff"], "dsp": r["dsp"]}, "synth"
        if rows:
            out = {k: max(0, round(_fit([(r["lanes"], r["lut_logic" if k == "lut" else k])
                                          for r in rows], lanes))) for k in ("lut", "ff", "dsp")}
            return out, "synth-fit"
        mm, src = self.multiplier(multiplier, width)
        ct = self._row(f"ct-{multiplier}-w{width}")
        scalers = 0 if scaling == "halving" else 1      # output multipliers per lane
        if ct and src == "synth":
            return {k: lanes * (ct[k] + scalers * mm[k]) for k in ("lut", "ff", "dsp")}, "composed"
        return {k: (1 + scalers) * lanes * mm[k] for k in ("lut", "ff", "dsp")}, "rule"


def ram_blocks(shapes) -> tuple[int, int]:
    """``(bram36, bits)`` of a list of ``(name, depth, width)`` memories."""
    return sum(bram36_for(d, w) for _, d, w in shapes), sum(d * w for _, d, w in shapes)


def resource_table(cfg, rows: dict[str, dict] | None = None) -> pd.DataFrame:
    """One row per unit kind (count > 0): per-instance and total resources and their source."""
    from sim.synth.cache import read_cache

    if rows is None:
        rows = read_cache()
    ur = UnitResources(rows)
    W, mult = cfg.word_bits, cfg.multiplier
    out = []

    def add(kind, count, lanes, per, src, shapes=(), note=""):
        bram, bits = ram_blocks(shapes)
        rec = {"unit": kind, "count": count, "lanes": lanes, "source": src, "note": note,
               "ram_bits": count * bits, "_shapes": [s for s in shapes for _ in range(count)]}
        for r in ("lut", "ff", "dsp"):
            rec[f"{r}_each"] = per.get(r, 0)
            rec[r] = count * per.get(r, 0)
        rec["bram36"] = count * bram
        rec["uram"] = 0
        out.append(rec)

    ntt = cfg.units["ntt"]
    per, src = ur.ntt_logic(mult, W, ntt.lanes, cfg.ntt_scaling, cfg.ntt_buffering)
    add("ntt", ntt.count, ntt.lanes, per, src,
        _ntt_memories(cfg.max_ring_degree, ntt.lanes, W, mult, cfg.ntt_buffering),
        "logic at n=1024, RAM at max_ring_degree")
    mm = cfg.units["modmul"]
    per, src = ur.multiplier(mult, W)
    add("modmul", mm.count, mm.lanes, {k: v * mm.lanes for k, v in per.items()}, src)
    ma = cfg.units["modadd"]
    if ma.count:
        per, src = ur.modadd(mult, W)
        add("modadd", ma.count, ma.lanes, {k: v * ma.lanes for k, v in per.items()}, src)
    bc = cfg.units["bconv"]
    if bc.count:
        pm, s1 = ur.multiplier(mult, W)
        pa, s2 = ur.modadd(mult, W)
        src = "composed" if s1 == "synth" and s2 != "rule" else "rule"
        add("bconv", bc.count, bc.lanes, {k: bc.lanes * (pm[k] + pa[k]) for k in ("lut", "ff", "dsp")}, src,
            note="lane = multiplier + modular adder")
    au = cfg.units["automorphism"]
    if au.count:
        L = au.lanes
        lut = L * W * max(1, math.ceil(math.log2(max(L, 2)) / 2))
        depth = max(1, cfg.max_ring_degree // L)
        add("automorphism", au.count, L, {"lut": lut, "ff": L * W, "dsp": 0}, "rule",
            [("row_buffer", depth, L * W)], "no RTL: permutation network + one-row buffer")
    df = pd.DataFrame(out)
    return df


def fit_report(cfg, device: Device, rows: dict[str, dict] | None = None) -> dict:
    """Totals against ``device``; block RAM overflows into UltraRAM, largest memories first."""
    df = resource_table(cfg, rows)
    shapes = sorted((s for lst in df["_shapes"] for s in lst), key=lambda s: -s[1] * s[2])
    bram = sum(bram36_for(d, w) for _, d, w in shapes)
    uram = 0
    if device.bram36 is not None:
        for _, d, w in shapes:
            if bram <= device.bram36:
                break
            bram -= bram36_for(d, w)
            uram += uram_for(d, w)
    totals = {"lut": int(df["lut"].sum()), "ff": int(df["ff"].sum()), "dsp": int(df["dsp"].sum()),
              "bram36": bram, "uram": uram}
    budget = device.budget()
    verdict = {r: (budget[r] is None or totals[r] <= budget[r]) for r in RESOURCES}
    util = {r: (totals[r] / budget[r] if budget[r] else None) for r in RESOURCES}
    unknown = sorted(set(df.loc[df["source"] == "rule", "unit"]))
    return {"device": device.name, "device_source": device.source, "totals": totals,
            "budget": budget, "utilisation": util, "fits_each": verdict,
            "fits": all(verdict.values()), "rule_only_units": unknown,
            "table": df.drop(columns=["_shapes"])}


#: Xilinx Alveo U280 (device XCU280). DSP slices and the HBM bandwidth are in docs/sources.md
#: (9,024 DSP; HBM2 460 GB/s, also UG1393 "HBM Configuration and Use": 32 x 14.375 GB/s);
#: LUT, FF, block RAM and UltraRAM counts as stated by the product documentation (UG1314,
#: Alveo U280 card features: 1,304K LUTs, 2,607K registers, 2,016 36-Kb block RAMs,
#: 960 UltraRAMs) -- see docs/cycle-model.md for the status of each figure.
U280 = Device("Alveo U280 (XCU280)", lut=1_303_680, ff=2_607_360, dsp=9_024, bram36=2_016,
              uram=960, source="docs/sources.md (DSP, HBM); Xilinx UG1314 / product table (LUT, FF, BRAM, URAM)")


def device_for(cfg) -> Device | None:
    """The budget a configuration declares in ``[device]`` (``None`` when it has none)."""
    b = getattr(cfg, "device_budget", None) or {}
    if not b:
        return None
    return Device(name=b.get("name", cfg.name), lut=b.get("lut"), ff=b.get("ff"), dsp=b.get("dsp"),
                  bram36=b.get("bram36"), uram=b.get("uram"), source=cfg.source)
