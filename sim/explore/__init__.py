"""Design-space exploration of an FPGA accelerator for one workload (``fhesim explore``).

Enumerates unit mixes at the device's clock, word size, off-chip bandwidth and on-chip
memory (taken from the device's preset, ``sim/configs/<device>.toml``): NTT units (count x
lanes ``P``), modular-multiplier lanes, modular-adder lanes, basis-conversion lanes and
automorphism units (count x lanes). Every mix is first checked against the device's
resources with :func:`sim.synth.resources.fit_report` (LUT, FF, DSP, BRAM36, URAM from the
synthesised units, ``reports/synth.csv``) and the on-chip memory rule of the cycle model
(the NTT units' RAM comes out of ``on_chip_bytes``); mixes that fit are estimated on the
workload with the cycle model (:class:`sim.cycle.model.CompiledOps`, compiled once). The
search is a coarse grid (which always contains the device preset's own mix) followed by a
local refinement (steepest descent from the best few designs over single-parameter steps,
each also tried with the DSP and LUTs it frees spent on more elementwise lanes).

Output: the Pareto front (latency vs DSP and LUT use: no other fitting design is at least
as fast with no more DSPs and no more LUTs), the best fitting design with its bottleneck
(the unit kind, or ``memory``, that takes most of its cycles) and its units as a TOML
``[units]`` table, and a lower bound on the latency of any design on the device
(:func:`~sim.explore.bound.lower_bound`): the trace's modular multiplications over the most multipliers the
device's DSP slices hold, and its compulsory off-chip bytes over the bandwidth.

Workloads are those of the workload registry (:mod:`sim.cycle.workloads`): ``resnet20`` ...
``resnet110`` (dry runs of :func:`sw.nn.trace.dry_run_trace`), ``bootstrap``,
``bootstrap-l8``, ``cmult``, ``rotate``, ``mulrot``. Rules and results:
``docs/cycle-model.md``, "Design-space exploration".

Modules: :mod:`.space` (designs, devices, grids, refinement moves), :mod:`.bound`
(demand and lower bound), :mod:`.search` (fitting, estimating, the search, the Pareto
front), :mod:`.plot` (the Pareto plot).
"""
from __future__ import annotations

from .bound import demand, lower_bound
from .plot import plot_front
from .search import ExploreResult, Explorer, explore, front_2d, load_workload, pareto, pick_best
from .space import (BRAM36_BYTES, DEVICES, FILL_STEP, GRIDS, REFINE_GAIN, REFINE_STARTS, REFINE_STEPS, URAM_BYTES,
                    Design, design_config, grid_designs, neighbours, platform, ram_bytes)

__all__ = ["BRAM36_BYTES", "DEVICES", "FILL_STEP", "GRIDS", "REFINE_GAIN", "REFINE_STARTS", "REFINE_STEPS", "URAM_BYTES",
           "Design", "ExploreResult", "Explorer", "demand", "design_config", "explore", "front_2d",
           "grid_designs", "load_workload", "lower_bound", "neighbours", "pareto", "pick_best", "platform",
           "plot_front", "ram_bytes"]
