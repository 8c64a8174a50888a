"""HW-vs-SW compare: capture kernel data from a real CKKS run, replay it on the RTL, locate mismatches.

* :mod:`sim.compare.tracefile`    -- the trace file (``.npz`` + JSON manifest, docs/trace-format.md);
* :mod:`sim.compare.programs`     -- the captured programs (``mulrot``, ``resnet-slice``);
* :mod:`sim.compare.capture`      -- run a program and turn its kept kernel data into trace
  kernels (NTT / INTT / modmul / bconv / automorphism / mac) in the RTL's form;
* :mod:`sim.compare.rtl`          -- the NTT + multiplier replay DUT, its cached build and run;
* :mod:`sim.compare.tb_replay`    -- its cocotb test module (reuses :mod:`sim.rtl.stream`);
* :mod:`sim.compare.unit_replay`  -- the replay DUT of the key-switching units (BconvUnit,
  AutomorphismUnit, ElementwiseUnit side by side), its build and run;
* :mod:`sim.compare.tb_units`     -- its cocotb test module;
* :mod:`sim.compare.unit_kernels` -- which unit replays which bconv / automorphism / mac row,
  their stimulus, verdicts and consistency checks;
* :mod:`sim.compare.engine`       -- :func:`compare`: the replays, stage-by-stage comparison,
  first mismatch, waveform rerun.

Command line: ``fhesim capture`` and ``fhesim compare`` (:mod:`sim.commands.compare`).
"""
from .engine import CompareOptions, compare
from .tracefile import Trace, TraceFormatError, load, save

__all__ = ["CompareOptions", "compare", "Trace", "TraceFormatError", "load", "save"]
