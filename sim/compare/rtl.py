"""The replay DUT: one NTT unit (with its debug tap) and one modular multiplier per prime.

:class:`ReplayTop` puts :class:`hw.ntt.NttUnit` (``debug=True``, optional ``fault``) and the
matching :mod:`hw.modmul` multiplier (Barrett or Montgomery, same ``q`` and width) side by
side in one module, so that every kernel of one prime -- forward and inverse transforms and
elementwise products -- replays in a single simulation (Icarus or Verilator). Verilog ports::

    ntt_i__payload/valid/ready   NttUnit.i   (data[0..P-1], inverse)
    ntt_o__payload/valid/ready   NttUnit.o   (P words)
    ntt_dbg                      NttUnit.dbg (valid, stage, row_a, row_b, data_a[], data_b[])
    mm_i__payload/valid/ready    multiplier i (a, b)
    mm_o__payload/valid/ready    multiplier o

:func:`build_replay` emits the Verilog once per ``(n, q, width, lanes, multiplier, fault,
butterfly_fault)``
and generator sources (cache ``build/compare/replay_<hash>/``, through
:func:`sim.rtl.build.cached_build` with the same source digest and Icarus shim as the unit
builds); :func:`simulate` compiles it with the chosen simulator and runs the cocotb test
:mod:`sim.compare.tb_replay` through :mod:`sim.rtl.simulator` (the path :mod:`sim.rtl.runner`
uses too), optionally with a waveform.
"""
from __future__ import annotations

import hashlib
import os
import time
from dataclasses import asdict, dataclass
from pathlib import Path

from sim.rtl import icarus
from sim.rtl.build import REPO_ROOT, cached_build, layout_fields, log_tail, source_digest

BUILD_ROOT = Path(os.environ.get("FHESIM_BUILD_DIR", REPO_ROOT / "build")) / "compare"
TOP = "fhesim_replay"
BUILD_FORMAT = 1


@dataclass(frozen=True)
class ReplaySpec:
    """What one replay build is made of (all of it changes the Verilog)."""

    n: int
    q: int
    width: int = 32
    lanes: int = 4
    multiplier: str = "barrett"
    fault: tuple | None = None      # (twiddle_address, twiddle_bit) for NttUnit(fault=...)
    #: (stage, index, bit, direction): a bit flip on a butterfly output, NttUnit(fault=...)
    butterfly_fault: tuple | None = None

    @property
    def fault_dict(self) -> dict | None:
        out = {}
        if self.fault is not None:
            out.update({"twiddle_address": int(self.fault[0]), "twiddle_bit": int(self.fault[1])})
        if self.butterfly_fault is not None:
            s, i, b, d = self.butterfly_fault
            out.update({"butterfly_stage": int(s), "butterfly_index": int(i),
                        "butterfly_bit": int(b), "butterfly_direction": str(d)})
        return out or None

    @property
    def label(self) -> str:
        s = f"replay_n{self.n}_P{self.lanes}_W{self.width}_q{self.q}_{self.multiplier}"
        if self.fault is not None:
            s += f"_fault-tw{self.fault[0]}b{self.fault[1]}"
        if self.butterfly_fault is not None:
            st, i, b, d = self.butterfly_fault
            s += f"_fault-bf{d}-s{st}i{i}b{b}"
        return s


def make_top(spec: ReplaySpec):
    """The :class:`ReplayTop` component for ``spec`` (imports Amaranth and ``hw`` lazily)."""
    from amaranth.hdl import Module
    from amaranth.lib import wiring

    from hw import modmul
    from hw.ntt import NttUnit

    class ReplayTop(wiring.Component):
        def __init__(self):
            self.ntt = NttUnit(spec.n, spec.q, spec.width, spec.lanes, spec.multiplier,
                               fault=spec.fault_dict, debug=True)
            cls = modmul.BarrettMultiplier if spec.multiplier == "barrett" else modmul.MontgomeryMultiplier
            self.mm = cls(spec.q, spec.width)
            nm, mm = self.ntt.signature.members, self.mm.signature.members
            super().__init__({"ntt_i": nm["i"], "ntt_o": nm["o"], "ntt_dbg": nm["dbg"],
                              "mm_i": mm["i"], "mm_o": mm["o"]})

        def elaborate(self, platform):
            m = Module()
            m.submodules.ntt = self.ntt
            m.submodules.mm = self.mm
            wiring.connect(m, wiring.flipped(self.ntt_i), self.ntt.i)
            wiring.connect(m, self.ntt.o, wiring.flipped(self.ntt_o))
            wiring.connect(m, wiring.flipped(self.mm_i), self.mm.i)
            wiring.connect(m, self.mm.o, wiring.flipped(self.mm_o))
            m.d.comb += self.ntt_dbg.eq(self.ntt.dbg)
            return m

    return ReplayTop()


def _port_map(top) -> dict:
    from amaranth import Shape
    from amaranth.lib import data

    def width(shape):
        return shape.size if isinstance(shape, data.Layout) else Shape.cast(shape).width

    ports = {}
    for name in ("ntt_i", "ntt_o", "mm_i", "mm_o"):
        shape = top.signature.members[name].signature.members["payload"].shape
        ports[name] = {"payload": f"{name}__payload", "valid": f"{name}__valid",
                       "ready": f"{name}__ready", "width": width(shape),
                       "fields": layout_fields(shape)}
    shape = top.signature.members["ntt_dbg"].shape
    ports["ntt_dbg"] = {"signal": "ntt_dbg", "width": width(shape), "fields": layout_fields(shape)}
    return ports


@dataclass(frozen=True)
class BuiltReplay:
    spec: ReplaySpec
    dir: Path
    sim_verilog: Path
    verilog: Path          # as emitted (what Verilator compiles)
    meta: dict


def build_replay(spec: ReplaySpec) -> BuiltReplay:
    """Emit (or reuse) the Verilog of ``spec``; returns the build directory and port map."""
    key = {"spec": asdict(spec), "fmt": BUILD_FORMAT,
           "src": source_digest() + hashlib.sha256(Path(__file__).read_bytes()).hexdigest()}

    def make():
        top = make_top(spec)
        u = top.ntt
        return top, {"top": TOP, "spec": asdict(spec), "label": spec.label, "src": key["src"],
                     "ports": _port_map(top),
                     "ntt": {"latency": u.latency, "cycles_per_transform": u.cycles_per_transform,
                             "initiation_interval": u.initiation_interval,
                             "stage_cycles": u.stage_cycles, "blocks_per_stage": u.blocks_per_stage,
                             "rows": u.rows, "stages": u.stages},
                     "modmul": {"latency": top.mm.latency}}

    c = cached_build(BUILD_ROOT, "replay", key, TOP, make)
    return BuiltReplay(spec=spec, dir=c.dir, sim_verilog=c.sim_verilog, verilog=c.verilog,
                       meta=c.meta)


class ReplayError(icarus.RtlError):
    """The replay simulation produced no result (build failure, simulator crash)."""


def simulate(spec: ReplaySpec, stimulus: dict, *, waves: bool = False, keep: bool = False,
             p_valid: float = 1.0, p_ready: float = 1.0, seed: int = 1, tap: bool = True,
             simulator: str | None = None) -> dict:
    """Replay ``stimulus`` through the DUT of ``spec``; return the captured RTL data.

    ``stimulus``: ``ntt_in`` (T, n) uint64 transform inputs, ``ntt_inverse`` (T,) flags,
    ``mm_a``, ``mm_b`` (E,) multiplier operands (already in the form the multiplier wants).
    Returns a dict of arrays (see :mod:`sim.compare.tb_replay`) plus ``run_dir``, ``waves``
    (FST path when ``waves``) and timings. ``tap=False`` skips sampling the debug tap (the
    stage arrays then stay empty; only for measuring the tap's cost). ``simulator``:
    ``icarus`` or ``verilator`` (default :func:`sim.rtl.simulator.default_simulator`).
    """
    import numpy as np

    t0 = time.perf_counter()
    built = build_replay(spec)
    t_build = time.perf_counter() - t0
    run = icarus.start(built.dir, built.sim_verilog, TOP, label=spec.label,
                       run_prefix="waves_" if waves else "run_", waves=waves,
                       error=ReplayError, what="replay", verilog=built.verilog,
                       simulator=simulator)
    run_dir = run.run_dir
    np.savez(run_dir / "stimulus.npz", **{k: np.asarray(v, dtype=np.uint64) for k, v in stimulus.items()})
    run.write_config({
        "label": spec.label, "n": spec.n, "q": spec.q, "lanes": spec.lanes,
        "width": spec.width, "ports": built.meta["ports"], "ntt": built.meta["ntt"],
        "modmul": built.meta["modmul"], "p_valid": p_valid, "p_ready": p_ready,
        "seed": seed, "tap": tap, "stimulus": str(run_dir / "stimulus.npz"),
        "result_npz": str(run_dir / "rtl.npz"), "result_path": str(run.result_path)})
    result = run.test("sim.compare.tb_replay", seed=seed)
    if result.get("error"):
        raise ReplayError(f"replay of {spec.label}: {result['error']}\n{log_tail(run.sim_log)}")
    with np.load(run_dir / "rtl.npz") as z:
        result.update({k: z[k] for k in z.files})
    result.update({"time_build_s": round(t_build, 3), "time_compile_s": round(run.compile_s, 3),
                   "time_total_s": round(time.perf_counter() - t0, 3), "build_dir": str(built.dir)})
    return run.finish(result, keep)
