"""Whether an accelerator configuration fits its device: the explicit step after loading.

Loading (:func:`sim.cycle.config.load_config`) checks each field; it reads neither the
synthesis results nor ``hw``. Code that needs to know whether the units fit calls
:func:`check_fit` (``fhesim estimate`` does, for every configuration it is given):

* **DSP** (when ``[device].dsp`` is given): :func:`dsp_estimate` must not exceed it;
* **on-chip RAM** (``kind = "fpga"``): the RAM inside the NTT units
  (:func:`sim.cycle.config.unit_memory_bytes`) must leave a non-negative data capacity.

The full resource report (LUT, FF, BRAM36, URAM) is :func:`sim.synth.resources.fit_report`.
"""
from __future__ import annotations

from typing import Any, Mapping

from sim.cycle.checks import refuse
from sim.cycle.config import UNIT_KINDS, AcceleratorConfig, unit_memory_bytes

from .resources import UnitResources


def dsp_estimate(cfg: AcceleratorConfig, rows: Mapping[str, dict] | None = None) -> dict[str, Any]:
    """DSP slices the configuration's units need, per unit kind and in total.

    ``rows`` are synthesis results (``reports/synth.csv``, read when ``None``; pass ``{}`` for
    the rule alone). Per unit (:class:`sim.synth.resources.UnitResources`):

    * an NTT unit: the synthesised ``hw.ntt.NttUnit`` with the same multiplier, width and
      ``P``; other ``P`` from a line through the synthesised ones; without NTT rows,
      ``P`` butterflies + ``P`` output multipliers (none with ``ntt_scaling = "halving"``);
    * a modmul or basis-conversion lane: the synthesised multiplier of that width;
    * modular adders and the automorphism (a permutation) use no DSP slices.

    Without synthesised rows, the first-order rule: one modular multiplier =
    ``PRODUCTS_PER_MODMUL`` full-width products of ``ceil(W/26) * ceil(W/17)`` DSP48E2 slices
    (12 at W = 32), an NTT unit ``2P`` multipliers. ``out["source"]`` names the origin per kind.
    """
    if rows is None:
        from .cache import read_cache
        rows = read_cache()
    ur = UnitResources(rows)
    ntt, mm, bc = cfg.units["ntt"], cfg.units["modmul"], cfg.units["bconv"]
    ntt_res, ntt_src = ur.ntt_logic(cfg.multiplier, cfg.word_bits, ntt.lanes, cfg.ntt_scaling,
                                    cfg.ntt_buffering)
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


def check_fit(cfg: AcceleratorConfig, rows: Mapping[str, dict] | None = None) -> dict | None:
    """Refuse a configuration whose units exceed ``[device].dsp`` or (FPGA) the on-chip RAM.

    Parameters
    ----------
    cfg : AcceleratorConfig
        A loaded (field-checked) configuration.
    rows : mapping, optional
        Synthesis results for the DSP figures (``None``: ``reports/synth.csv``; ``{}``: the
        tiling rule only).

    Returns
    -------
    dict or None
        The :func:`dsp_estimate` when the configuration has a DSP budget, else ``None``.

    Raises
    ------
    sim.cycle.checks.ConfigError
        A ``ValueError`` naming the configuration, the budget and the largest consumer.
    """
    need = None
    if cfg.dsp_budget is not None:
        need = dsp_estimate(cfg, rows)
        if need["total"] > cfg.dsp_budget:
            worst = max(UNIT_KINDS, key=lambda k: need[k])
            src = need["source"].get(worst, "rule")
            kind = "synthesised figures" if src != "rule" else "tiling rule"
            raise refuse(cfg.origin, f"units need {need['total']} DSP slices but 'device.dsp' is "
                                     f"{cfg.dsp_budget} (largest consumer 'units.{worst}': "
                                     f"{need[worst]} slices, {kind} ({src}))")
    if cfg.kind == "fpga" and cfg.data_capacity_bytes < 0:
        ntt = cfg.units["ntt"]
        raise refuse(cfg.origin, f"'units.ntt' ({ntt.count} units x {ntt.lanes} lanes) needs "
                                 f"{unit_memory_bytes(cfg)} bytes of on-chip RAM at "
                                 f"n={cfg.max_ring_degree}, more than 'on_chip_bytes' = "
                                 f"{cfg.on_chip_bytes}")
    return need
