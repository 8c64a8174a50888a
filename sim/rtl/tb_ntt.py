"""cocotb test: NTT units (``hw.ntt.NttUnit``; the bit-reversal self-test buffer).

A transform is ``R = n/P`` input beats (beat r, lane k = element r*P+k; the ``inverse`` flag
is meaningful on the first beat only -- later beats carry a random flag to check that it is
sampled there and nowhere else) and ``R`` output beats. Golden model: the textbook NTT of
:mod:`sim.rtl.golden` (forward: natural in, bit-reversed out; inverse: bit-reversed in,
natural out, scaled by n^-1). Phases:

1. ``stall``  -- ``transforms`` transforms (the first mixes 0, 1 and q-1 only, the rest are
   uniform) under random input gaps and output back-pressure;
2. ``reset``  -- for each reset point (``input``: part-way through loading; ``compute``: a
   random cycle after the last input beat, before the first output; ``output``: part-way
   through unloading) a transform is cut by a synchronous reset, then a clean
   transform must come out exactly, followed by silence;
3. ``timing`` -- two back-to-back transforms, input always valid, output always ready:
   transform 0 gives ``latency`` (last input -> first output) and ``cycles_per_transform``
   (first input -> last output, inclusive); the gap between the two first outputs gives
   ``initiation_interval`` when the unit models one (the period of a continuous stream: a
   double-buffered unit takes transform 1 long before that, while transform 0 computes;
   ``timing_transforms = 1`` runs only transform 0, to keep n = 2^16 short).

Structure (cocotb's ``examples/matrix_multiplier``): :class:`NttTestbench` owns a *driver*
(:class:`sim.rtl.stream.StreamDriver`: input beats with random gaps), a *monitor*
(:class:`sim.rtl.stream.StreamMonitor`: output beats under random back-pressure), the
*model* (:class:`NttModel`: the golden transform) and the *checker*
(:class:`sim.rtl.scoreboard.Scoreboard`: in-order comparison, first mismatch with phase,
transform, beat, element and the expected and actual lane values); :class:`BeatTimes`
records the edges that the timing verdict is measured from.

Other row units reuse the bench with their own model (:meth:`NttTestbench.make_model`,
:mod:`sim.rtl.tb_automorphism`): ``expected(t, coeffs)``, ``beat(coeffs, out, r, flag)``,
``out_codec``, ``inverse`` and ``q``.

Per-cycle Python work is one edge await, two handshake reads and at most one payload
read/write; beats are packed/compared as integers, so n = 2^16 is practical.
"""
from __future__ import annotations

import random

import cocotb

from sim.rtl import golden
from sim.rtl.scoreboard import Scoreboard
from sim.rtl.stream import ClockedBench, Codec, StreamDriver, StreamMonitor
from sim.rtl.tb_common import load_config, run_with_verdict, timing_verdict


def _lane_offsets(codec: Codec, prefix: str, lanes: int) -> list[int]:
    by_path = {p: off for p, off, _ in codec.fields}
    try:
        return [by_path[f"{prefix}[{k}]"] for k in range(lanes)]
    except KeyError as e:
        raise AssertionError(f"payload lacks lane {e}: fields {codec.paths}") from None


class NttModel:
    """The golden transform of one run, and how its inputs and outputs pack into beats.

    ``corrupt_expected`` (an element index) falsifies the expected value of transform 0
    there, to show that the checker is not vacuous.
    """

    def __init__(self, cfg: dict):
        self.q, self.lanes = int(cfg["q"]), int(cfg["lanes"])
        self.inverse = cfg["direction"] == "inverse"
        q = self.q
        if cfg["kind"] == "selftest_ntt":
            from sim.rtl.selftest import bitrev_reference
            self.ref = bitrev_reference
        elif self.inverse:
            self.ref = lambda a: golden.ntt_inverse(a, q)
        else:
            self.ref = lambda a: golden.ntt_forward(a, q)
        self.corrupt = cfg.get("corrupt_expected")
        ports = cfg["ports"]
        in_codec, self.out_codec = Codec(ports["i"]["fields"]), Codec(ports["o"]["fields"])
        self.in_off = _lane_offsets(in_codec, "data", self.lanes)
        self.inv_off = {p: off for p, off, _ in in_codec.fields}.get("inverse")
        if self.inv_off is None:
            raise AssertionError(f"input payload lacks the 'inverse' field: {in_codec.paths}")
        self.out_off = _lane_offsets(self.out_codec, "", self.lanes)

    def expected(self, t: int, coeffs: list[int]) -> list[int]:
        """Golden output of transform ``t`` on ``coeffs``."""
        out = self.ref(coeffs)
        if t == 0 and self.corrupt is not None:   # deliberately wrong golden value
            out = list(out)
            out[self.corrupt] = (out[self.corrupt] + 1) % self.q
        return out

    def beat(self, coeffs: list[int], out: list[int], r: int, flag: bool) -> tuple[int, int]:
        """Packed input beat ``r`` (with ``inverse = flag``) and its expected output beat."""
        base = r * self.lanes
        raw_in = 0
        raw_out = 0
        for k in range(self.lanes):
            raw_in |= coeffs[base + k] << self.in_off[k]
            raw_out |= out[base + k] << self.out_off[k]
        return raw_in | int(flag) << self.inv_off, raw_out


class BeatTimes:
    """Edges of the first and last input and output beat of every transform."""

    def __init__(self, beats: int):
        self.last = beats - 1
        self.first_in: dict[int, int] = {}
        self.last_in: dict[int, int] = {}
        self.first_out: dict[int, int] = {}
        self.last_out: dict[int, int] = {}

    def on_in(self, tok, edge: int) -> None:
        t, r = tok
        if r == 0:
            self.first_in[t] = edge
        if r == self.last:
            self.last_in[t] = edge

    def on_out(self, info: dict, edge: int) -> None:
        t, r = info["transform"], info["beat"]
        if r == 0:
            self.first_out[t] = edge
        if r == self.last:
            self.last_out[t] = edge

    def latency(self, t: int) -> int | None:
        """Last input beat to first output beat of transform ``t``."""
        return self.first_out[t] - self.last_in[t] if t in self.first_out and t in self.last_in else None

    def cycles(self, t: int) -> int | None:
        """First input beat to last output beat of transform ``t``, inclusive."""
        return self.last_out[t] - self.first_in[t] + 1 if t in self.last_out and t in self.first_in else None

    def interval(self, t0: int, t1: int) -> int | None:
        """First input beat of ``t0`` to first input beat of ``t1``."""
        return self.first_in[t1] - self.first_in[t0] if t1 in self.first_in and t0 in self.first_in else None

    def output_interval(self, t0: int, t1: int) -> int | None:
        """First output beat of ``t0`` to first output beat of ``t1``."""
        return (self.first_out[t1] - self.first_out[t0]
                if t1 in self.first_out and t0 in self.first_out else None)


class NttTestbench:
    """Driver, monitor, model and checker of one NTT run, and its three phases."""

    def __init__(self, dut, cfg: dict, model=None):
        self.cfg = cfg
        self.props = cfg["props"]
        self.n, self.q, self.P = int(cfg["n"]), int(cfg["q"]), int(cfg["lanes"])
        self.R = self.n // self.P
        self.seed = int(cfg["seed"])
        self.rng = random.Random(self.seed)
        self.model = model if model is not None else self.make_model(cfg)
        self.checker = Scoreboard(self.model.out_codec)
        self.bench = ClockedBench(dut)
        ports = cfg["ports"]
        self.driver = StreamDriver(dut, ports["i"], random.Random(self.seed * 7 + 1), cfg["p_valid"])
        self.monitor = StreamMonitor(dut, ports["o"], random.Random(self.seed * 7 + 2),
                                     cfg["p_ready"], callback=self.checker.observe)
        self.bench.agents = [self.driver, self.monitor]
        self.times = BeatTimes(self.R)
        self.driver.on_transfer = self.times.on_in
        self.checker.on_match = self.times.on_out
        self.transform_phase: dict[int, str] = {}
        self.phases: dict[str, dict] = {}
        self.resets: list[dict] = []
        self.latency = int(self.props["latency"])
        self.cpt = int(self.props.get("cycles_per_transform",
                                      self.props.get("cycles_per_row", 2 * self.R + self.latency)))

    @staticmethod
    def make_model(cfg: dict):
        """The model of ``cfg``'s unit (row benches of other units override it)."""
        return NttModel(cfg)

    # ----------------------------------------------------------------- stimulus
    def uniform(self) -> list[int]:
        return [self.rng.randrange(self.q) for _ in range(self.n)]

    def corners(self) -> list[int]:
        vals = (0, 1, self.q - 1)
        return [vals[self.rng.randrange(3)] for _ in range(self.n)]

    def enqueue(self, phase: str, coeffs: list[int]) -> int:
        """Queue one transform on the driver and its expected beats on the checker."""
        t = len(self.transform_phase)
        self.transform_phase[t] = phase
        out = self.model.expected(t, coeffs)
        for r in range(self.R):
            flag = self.model.inverse if r == 0 else self.rng.random() < 0.5
            raw_in, raw_out = self.model.beat(coeffs, out, r, flag)
            self.driver.send(((raw_in, (t, r)),))
            self.checker.expect(raw_out, {"phase": phase, "transform": t, "beat": r,
                                          "first_element": r * self.P})
        return t

    def budget(self, transforms: int, p: float) -> int:
        return int(transforms * (self.cpt + 2 * self.R) * 3 / max(0.05, p)) + 2000

    # ----------------------------------------------------------------- phases
    async def run_phase(self, name: str, data: list[list[int]], p_valid: float,
                        p_ready: float) -> list[int]:
        """Stream ``data`` through, wait for it to drain, then check that nothing more comes."""
        drv, sb, bench = self.driver, self.checker, self.bench
        drv.p_valid, self.monitor.p_ready = p_valid, p_ready
        start, before = bench.edge, sb.beats_checked
        toks = [self.enqueue(name, a) for a in data]
        done = await bench.run(lambda: not drv.queue and not sb.expected,
                               self.budget(len(data), min(p_valid, p_ready)))
        await bench.run(lambda: False, min(self.latency, 64) + 16)   # idle: nothing more may appear
        sb.close_phase(name)
        self.phases[name] = {"transforms": len(data), "beats_checked": sb.beats_checked - before,
                             "cycles": bench.edge - start, "timeout": not done}
        return toks

    async def reset_phase(self, point: str) -> None:
        """Cut a transform by a reset at ``point`` (input/compute/output), then a clean one."""
        cfg, drv, sb, bench, R = self.cfg, self.driver, self.checker, self.bench, self.R
        drv.p_valid, self.monitor.p_ready = cfg["p_valid"], cfg["p_ready"]
        start = bench.edge
        in0, out0 = drv.transfers, sb.beats_checked
        self.enqueue(f"reset-{point}", self.uniform())
        cut = self.rng.randint(1, max(1, R - 1))
        if point == "input":
            cond = (lambda: drv.transfers - in0 >= cut)
        elif point == "compute":
            cond = (lambda: drv.transfers - in0 >= R)
        elif point == "output":
            cond = (lambda: sb.beats_checked - out0 >= cut)
        else:
            raise ValueError(f"unknown reset point {point!r}")
        reached = await bench.run(cond, self.budget(1, min(cfg["p_valid"], cfg["p_ready"])))
        if point == "compute":    # somewhere inside the butterfly stages, before any output
            await bench.run(lambda: sb.beats_checked > out0, self.rng.randint(1, max(1, self.latency - 2)))
        info = {"point": point, "inputs_before_reset": drv.transfers - in0,
                "outputs_before_reset": sb.beats_checked - out0, "reset_edge": bench.edge,
                "trigger_reached": reached}
        await bench.reset(2)
        drv.flush()
        info["beats_dropped"] = sb.flush()
        self.resets.append(info)
        self.phases[f"reset-{point}-cut"] = {"transforms": 1, "beats_checked": sb.beats_checked - out0,
                                             "cycles": bench.edge - start, "timeout": not reached}
        await self.run_phase(f"reset-{point}-clean", [self.uniform()], cfg["p_valid"], cfg["p_ready"])

    async def timing_phase(self) -> dict:
        """Back-to-back transforms without stalls; the measured timing against the model."""
        count = max(1, int(self.cfg.get("timing_transforms", 2)))
        toks = await self.run_phase("timing", [self.uniform() for _ in range(count)], 1.0, 1.0)
        t0, t1 = toks[0], toks[-1]
        measured = {"latency": self.times.latency(t0),
                    "cycles_per_transform": self.times.cycles(t0)}
        cycles = measured["cycles_per_transform"]
        measured["throughput"] = self.n / cycles if cycles else None
        if "initiation_interval" in self.props and t1 != t0:
            measured["initiation_interval"] = self.times.output_interval(t0, t1)
        return timing_verdict(self.props, measured)

    # ----------------------------------------------------------------- run and verdict
    async def run(self) -> dict:
        """All requested phases, then the verdict."""
        cfg = self.cfg
        await self.bench.start()
        todo = cfg.get("phases", ["stall", "reset", "timing"])
        T = max(1, int(cfg["transforms"]))
        if "stall" in todo:
            await self.run_phase("stall", [self.corners()] + [self.uniform() for _ in range(T - 1)],
                                 cfg["p_valid"], cfg["p_ready"])
        if "reset" in todo:
            for point in cfg.get("reset_points", ["input", "compute", "output"]):
                await self.reset_phase(point)
        timing = await self.timing_phase() if "timing" in todo else None
        return self.verdict(timing)

    def verdict(self, timing: dict | None) -> dict:
        """The result dictionary the runner reads (``result.json``)."""
        cfg = self.cfg
        summary = self.checker.summary()
        timeouts = [k for k, v in self.phases.items() if v["timeout"]]
        timing_ok = timing is None or all(v["ok"] for v in timing.values())
        per_transform = {t: {"phase": self.transform_phase[t], "latency": self.times.latency(t),
                             "cycles": self.times.cycles(t)}
                         for t in sorted(self.transform_phase)}
        checked = sum(1 for t in per_transform if t in self.times.last_out)
        return {
            "kind": cfg["kind"], "label": cfg["label"], "seed": self.seed, "direction": cfg["direction"],
            "vectors_checked": checked, "transforms_checked": checked,
            **summary, "timing": timing, "timing_ok": timing_ok,
            "per_transform": per_transform, "phases": self.phases, "resets": self.resets,
            "timeouts": timeouts, "sim_cycles": self.bench.edge,
            "pass": summary["mismatches"] == 0 and not timeouts and timing_ok,
        }


@cocotb.test()
async def transform(dut):
    cfg = load_config()
    await run_with_verdict(dut, cfg, _transform, f"{cfg['label']} {cfg['direction']}")


async def _transform(dut, cfg: dict) -> dict:
    return await NttTestbench(dut, cfg).run()
