"""The replay DUT of the key-switching units: several stream units side by side, one simulation.

A *group* (:class:`GroupSpec`) is a tuple of :class:`UnitReplaySpec` -- a
:class:`hw.bconv.BconvUnit` (``bconv``), an :class:`hw.automorphism.AutomorphismUnit`
(``automorphism``) or an :class:`hw.elementwise.ElementwiseUnit` (``mac``), each with its
optional output bit-flip ``fault`` -- put side by side in one module (:func:`make_top`) with
their streams as ports ``u<k>_i`` and ``u<k>_o``::

    u<k>_i__payload/valid/ready   unit k input (the unit's own payload layout)
    u<k>_o__payload/valid/ready   unit k output

:func:`simulate` builds (cached, ``build/compare/units_<hash>/``, through
:func:`sim.rtl.build.cached_build` with the same source digest as the unit builds), compiles
with the simulator of :mod:`sim.rtl.simulator` and runs the cocotb test
:mod:`sim.compare.tb_units`, which streams every unit's captured input beats (packed here
on the host, :func:`pack`) concurrently and sends every output beat back, unpacked with
:func:`unpack`. Nothing is compared in the simulator.

Beats travel as ``uint64`` word matrices ``(beats, ceil(width / 64))``, little-endian words
of the payload's bits, so payloads of any width fit an ``.npz``.
"""
from __future__ import annotations

import hashlib
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from sim.rtl import icarus
from sim.rtl.build import cached_build, layout_fields, log_tail, source_digest

from .rtl import BUILD_ROOT, ReplayError

TOP = "fhesim_units_replay"
BUILD_FORMAT = 1
UNIT_KINDS = ("bconv", "automorphism", "mac")
#: The ``hw`` class behind each unit kind (named in reports).
UNIT_CLASSES = {"bconv": "BconvUnit", "automorphism": "AutomorphismUnit", "mac": "ElementwiseUnit"}


@dataclass(frozen=True)
class UnitReplaySpec:
    """One unit of a replay group (every field changes the Verilog)."""

    kind: str
    width: int = 32
    lanes: int = 2
    multiplier: str = "barrett"
    q: int = 0                               # automorphism, mac
    n: int = 0                               # automorphism
    galois: int = 0                          # automorphism
    order: str = ""                          # automorphism
    src_primes: tuple[int, ...] = ()         # bconv
    dst_primes: tuple[int, ...] = ()         # bconv
    fault: tuple | None = None               # ((key, value), ...) of the unit's fault dict

    def component(self):
        fault = dict(self.fault) if self.fault is not None else None
        if self.kind == "bconv":
            from hw.bconv import BconvUnit
            return BconvUnit(self.src_primes, self.dst_primes, self.width, self.lanes,
                             self.multiplier, fault=fault)
        if self.kind == "automorphism":
            from hw.automorphism import AutomorphismUnit
            return AutomorphismUnit(self.n, self.q, self.width, self.lanes, self.galois,
                                    self.order, fault=fault)
        if self.kind == "mac":
            from hw.elementwise import ElementwiseUnit
            return ElementwiseUnit(self.q, self.width, self.lanes, self.multiplier, fault=fault)
        raise ValueError(f"unit kind {self.kind!r} not in {UNIT_KINDS}")

    @property
    def label(self) -> str:
        if self.kind == "bconv":
            s = f"bconv_k{len(self.src_primes)}l{len(self.dst_primes)}_q{self.src_primes[0]}-{self.dst_primes[0]}"
        elif self.kind == "automorphism":
            s = f"automorphism_n{self.n}_q{self.q}_g{self.galois}_{self.order}"
        else:
            s = f"mac_q{self.q}"
        if self.fault is not None:
            s += "_fault-" + "-".join(f"{k}{v}" for k, v in self.fault)
        return s


@dataclass(frozen=True)
class GroupSpec:
    """The units of one replay simulation."""

    name: str
    units: tuple[UnitReplaySpec, ...]

    @property
    def label(self) -> str:
        return f"units_{self.name}" + ("_fault" if any(u.fault for u in self.units) else "")


def make_top(group: GroupSpec):
    """The component holding every unit of ``group`` (imports Amaranth and ``hw`` lazily)."""
    from amaranth.hdl import Module
    from amaranth.lib import wiring

    class UnitsReplayTop(wiring.Component):
        def __init__(self):
            self.units = [u.component() for u in group.units]
            members = {}
            for k, u in enumerate(self.units):
                members[f"u{k}_i"] = u.signature.members["i"]
                members[f"u{k}_o"] = u.signature.members["o"]
            super().__init__(members)

        def elaborate(self, platform):
            m = Module()
            for k, u in enumerate(self.units):
                m.submodules[f"u{k}"] = u
                wiring.connect(m, wiring.flipped(getattr(self, f"u{k}_i")), u.i)
                wiring.connect(m, u.o, wiring.flipped(getattr(self, f"u{k}_o")))
            return m

    return UnitsReplayTop()


def _port_map(top) -> dict:
    from amaranth import Shape
    from amaranth.lib import data

    ports = {}
    for name, member in top.signature.members.items():
        shape = member.signature.members["payload"].shape
        width = shape.size if isinstance(shape, data.Layout) else Shape.cast(shape).width
        ports[name] = {"payload": f"{name}__payload", "valid": f"{name}__valid",
                       "ready": f"{name}__ready", "width": width, "fields": layout_fields(shape)}
    return ports


@dataclass(frozen=True)
class BuiltUnits:
    group: GroupSpec
    dir: Path
    sim_verilog: Path
    verilog: Path
    meta: dict


def build_units(group: GroupSpec) -> BuiltUnits:
    """Emit (or reuse) the Verilog of ``group``; returns the build directory and port map."""
    key = {"group": asdict(group), "fmt": BUILD_FORMAT,
           "src": source_digest() + hashlib.sha256(Path(__file__).read_bytes()).hexdigest()}

    def make():
        top = make_top(group)
        props = [{"latency": int(u.latency)} for u in top.units]
        return top, {"top": TOP, "group": asdict(group), "label": group.label, "src": key["src"],
                     "ports": _port_map(top), "units": props}

    c = cached_build(BUILD_ROOT, "units", key, TOP, make)
    return BuiltUnits(group=group, dir=c.dir, sim_verilog=c.sim_verilog, verilog=c.verilog,
                      meta=c.meta)


def words_of(width: int) -> int:
    return max(1, (width + 63) // 64)


def pack(fields: list[dict], values: dict, beats: int) -> np.ndarray:
    """Word matrix ``(beats, words)`` of payloads whose field ``path`` holds ``values[path]``
    (``uint64`` arrays of ``beats`` values, each below ``2^width`` of its field; absent
    fields are 0)."""
    width = max(f["offset"] + f["width"] for f in fields)
    out = np.zeros((beats, words_of(width)), dtype=np.uint64)
    for f in fields:
        if f["path"] not in values:
            continue
        v = np.asarray(values[f["path"]], dtype=np.uint64)
        if f["width"] < 64 and (v >> np.uint64(f["width"])).any():
            raise ValueError(f"pack: field {f['path']!r} holds a value wider than {f['width']} bits")
        w, s = divmod(f["offset"], 64)
        out[:, w] |= v << np.uint64(s)
        if s and s + f["width"] > 64:
            out[:, w + 1] |= v >> np.uint64(64 - s)
    return out


def unpack(fields: list[dict], words: np.ndarray) -> dict:
    """Inverse of :func:`pack`: ``path -> uint64`` array of one value per beat."""
    out = {}
    for f in fields:
        w, s = divmod(f["offset"], 64)
        v = words[:, w] >> np.uint64(s)
        if s and s + f["width"] > 64:
            v = v | (words[:, w + 1] << np.uint64(64 - s))
        if f["width"] < 64:
            v = v & np.uint64((1 << f["width"]) - 1)
        out[f["path"]] = v
    return out


def simulate(group: GroupSpec, stimulus: list[dict], *, waves: bool = False, keep: bool = False,
             p_valid: float = 1.0, p_ready: float = 1.0, seed: int = 1,
             simulator: str | None = None) -> dict:
    """Replay ``stimulus`` through the units of ``group``.

    ``stimulus[k]``: ``{"values": {path: uint64 array}, "beats": B, "beats_out": B_out}``,
    the input field values of unit ``k`` (packed here with the built port layout).
    Returns ``{"outputs": [{path: uint64 array} per unit], "edges": [int64 array per unit],
    ...}`` plus timings, ``sim_cycles`` and ``waves`` (the waveform file when ``waves``).
    ``simulator``: ``icarus`` or ``verilator`` (default
    :func:`sim.rtl.simulator.default_simulator`).
    """
    t0 = time.perf_counter()
    built = build_units(group)
    t_build = time.perf_counter() - t0
    ports = built.meta["ports"]
    run = icarus.start(built.dir, built.sim_verilog, TOP, label=group.label,
                       run_prefix="waves_" if waves else "run_", waves=waves,
                       error=ReplayError, what="unit replay", verilog=built.verilog,
                       simulator=simulator)
    run_dir = run.run_dir
    arrays, units = {}, []
    for k, st in enumerate(stimulus):
        pi, po = ports[f"u{k}_i"], ports[f"u{k}_o"]
        arrays[f"in{k}"] = pack(pi["fields"], st["values"], int(st["beats"]))
        units.append({"i": pi, "o": po, "beats_out": int(st["beats_out"]),
                      "latency": built.meta["units"][k]["latency"]})
    np.savez(run_dir / "stimulus.npz", **arrays)
    run.write_config({"label": group.label, "units": units, "p_valid": p_valid, "p_ready": p_ready,
                      "seed": seed, "stimulus": str(run_dir / "stimulus.npz"),
                      "result_npz": str(run_dir / "rtl.npz"), "result_path": str(run.result_path)})
    result = run.test("sim.compare.tb_units", seed=seed)
    if result.get("error"):
        raise ReplayError(f"unit replay of {group.label}: {result['error']}\n{log_tail(run.sim_log)}")
    outputs, edges = [], []
    with np.load(run_dir / "rtl.npz") as z:
        for k, u in enumerate(units):
            outputs.append(unpack(u["o"]["fields"], z[f"out{k}"]))
            edges.append(z[f"edge{k}"])
    result.update({"outputs": outputs, "edges": edges, "time_build_s": round(t_build, 3),
                   "time_compile_s": round(run.compile_s, 3),
                   "time_total_s": round(time.perf_counter() - t0, 3), "build_dir": str(built.dir)})
    return run.finish(result, keep)
