"""HW-vs-SW compare: capture kernel data from a real CKKS run, replay it on the RTL, locate mismatches.

* :mod:`sim.compare.tracefile` -- the trace file (``.npz`` + JSON manifest, docs/trace-format.md);
* :mod:`sim.compare.capture`   -- run a program (``mulrot``) and capture NTT / INTT / modmul data;
* :mod:`sim.compare.rtl`       -- the replay DUT (NTT unit with debug tap + multiplier), its
  cached build and the cocotb run;
* :mod:`sim.compare.tb_replay` -- the cocotb test module (reuses :mod:`sim.rtl.stream`);
* :mod:`sim.compare.engine`    -- :func:`compare`: per-prime replay, stage-by-stage comparison,
  first mismatch, waveform rerun.

Command line: ``fhesim capture`` and ``fhesim compare`` (:mod:`sim.commands.compare`).
"""
from .engine import CompareOptions, compare
from .tracefile import Trace, TraceFormatError, load, save

__all__ = ["CompareOptions", "compare", "Trace", "TraceFormatError", "load", "save"]
