"""cocotb test: elementwise stream units (modular multipliers, CT/GS butterflies, self-test adder).

Run through :func:`sim.rtl.runner.run_rtl`; configuration arrives as JSON (see
:mod:`sim.rtl.tb_common`). Phases, all checked beat by beat against the golden model:

1. ``stall``  -- every corner combination of {0, 1, q-1} over the input fields, then random
   residues (70 % uniform, 30 % near boundaries), with random input gaps and random output
   back-pressure;
2. ``reset``  -- a stream is cut by a synchronous reset at a random point (some beats in
   flight), the scoreboard forgets what was in flight, then a clean stream must come out
   exactly (nothing stale, nothing lost), followed by idle cycles that must stay silent;
3. ``timing`` -- back-to-back beats with the output always ready: every beat's
   ``out_edge - in_edge`` must equal the ``latency`` property and the accepted beat rate
   must equal ``throughput``; ``phases["timing"]["stream_cycles"]`` records the span from
   the first input to the last output transfer of that stream, inclusive (what the cycle
   model charges for a kernel of that many beats).

Structure as in :mod:`sim.rtl.tb_ntt`: :class:`ElementwiseTestbench` owns the driver, the
monitor, the model (:class:`ElementwiseModel`) and the checker (a
:class:`sim.rtl.scoreboard.Scoreboard`), with one method per phase. Other beat-pipelined
units reuse it with their own model (:meth:`ElementwiseTestbench.make_model`;
:mod:`sim.rtl.tb_mac`, :mod:`sim.rtl.tb_bconv`): a model gives ``inputs`` (the input
fields it drives), ``q``, ``fn`` (logical inputs to the expected output fields),
``port_values``, ``corners`` and ``random``.
"""
from __future__ import annotations

import itertools
import random

import cocotb

from sim.rtl import golden
from sim.rtl.scoreboard import Scoreboard
from sim.rtl.stream import ClockedBench, Codec, StreamDriver, StreamMonitor
from sim.rtl.tb_common import corner_values, load_config, residue, run_with_verdict, timing_verdict


class ElementwiseModel:
    """Input fields, how logical inputs become port values, and the golden output fields."""

    def __init__(self, cfg: dict):
        self.kind, self.q, self.width = cfg["kind"], cfg["q"], cfg["width"]
        self.mont = cfg.get("multiplier") == "montgomery" and self.kind != "selftest"
        self.shoup = cfg.get("multiplier") == "shoup" and self.kind != "selftest"
        q, W = self.q, self.width
        if self.kind == "modmul" and self.shoup:
            self.inputs = ("a", "w")       # a: any W-bit word; w < q with its companion
        elif self.kind in ("modmul", "selftest"):
            self.inputs = ("a", "b")
        elif self.kind in ("ct", "gs"):
            self.inputs = ("a", "b", "w")
        else:
            raise ValueError(f"not an elementwise unit: {self.kind}")
        if self.kind == "modmul":
            if self.shoup:
                self.fn = lambda v: {"": golden.modmul_shoup(v["a"], v["w"], q)}
            elif self.mont:
                self.fn = lambda v: {"": golden.modmul_montgomery(v["a"], v["b"], q, W)}
            else:
                self.fn = lambda v: {"": golden.modmul_barrett(v["a"], v["b"], q)}
        elif self.kind == "selftest":
            self.fn = lambda v: {"": (v["a"] + v["b"]) % q}
        elif self.kind == "ct":
            self.fn = lambda v: dict(zip(("x", "y"), golden.ct_butterfly(v["a"], v["b"], v["w"], q)))
        else:
            self.fn = lambda v: dict(zip(("x", "y"), golden.gs_butterfly(v["a"], v["b"], v["w"], q)))

    def port_values(self, v: dict) -> dict:
        """Logical inputs -> port fields (twiddles go in Montgomery form to a Montgomery
        datapath; a Shoup datapath also gets the companion ``w_shoup`` of ``w``)."""
        if self.mont and "w" in v:
            return {**v, "w": golden.to_montgomery(v["w"], self.q, self.width)}
        if self.shoup and "w" in v:
            return {**v, "w_shoup": golden.shoup_companion(v["w"], self.q, self.width)}
        return v

    def corners(self) -> list[dict]:
        vals = corner_values(self.q)
        return [dict(zip(self.inputs, c)) for c in itertools.product(vals, repeat=len(self.inputs))]

    def random(self, rng: random.Random) -> dict:
        v = {f: residue(rng, self.q) for f in self.inputs}
        if self.kind == "modmul" and self.shoup and rng.random() < 0.2:
            # Shoup reduces any W-bit a, not only residues
            v["a"] = rng.choice((rng.randrange(self.q, 1 << self.width), (1 << self.width) - 1))
        return v


class ElementwiseTestbench:
    """Driver, monitor, model and checker of one elementwise run, and its three phases."""

    def __init__(self, dut, cfg: dict, model=None):
        self.cfg, self.props, ports = cfg, cfg["props"], cfg["ports"]
        self.seed = int(cfg["seed"])
        self.rng = random.Random(self.seed)
        self.model = model = model if model is not None else self.make_model(cfg)
        self.in_codec, self.out_codec = Codec(ports["i"]["fields"]), Codec(ports["o"]["fields"])
        missing_fields = set(model.inputs) - set(self.in_codec.paths)
        if missing_fields:
            raise AssertionError(f"input payload lacks fields {sorted(missing_fields)}: {self.in_codec.paths}")
        undriven = set(self.in_codec.paths) - set(model.port_values(model.random(random.Random(0))))
        if undriven:   # e.g. a Shoup companion the model does not provide
            raise AssertionError(f"the bench does not drive input fields {sorted(undriven)}")
        self.checker = Scoreboard(self.out_codec)
        self.bench = ClockedBench(dut)
        self.driver = StreamDriver(dut, ports["i"], random.Random(self.seed * 7 + 1), cfg["p_valid"])
        self.monitor = StreamMonitor(dut, ports["o"], random.Random(self.seed * 7 + 2), cfg["p_ready"],
                                     callback=self.checker.observe)
        self.bench.agents = [self.driver, self.monitor]
        self.in_edge: dict[int, int] = {}
        self.out_edge: dict[int, int] = {}
        self.lat_by_phase: dict[str, list[int]] = {}
        self.driver.on_transfer = lambda tok, e: self.in_edge.__setitem__(tok, e)
        self.checker.on_match = self._on_match
        self.counter = itertools.count()
        self.corrupt = cfg.get("corrupt_expected")
        self.latency = int(self.props["latency"])
        self.phases: dict[str, dict] = {}

    @staticmethod
    def make_model(cfg: dict):
        """The model of ``cfg``'s unit (subclasses of this bench override it)."""
        return ElementwiseModel(cfg)

    def _on_match(self, info: dict, edge: int) -> None:
        self.out_edge[info["vector"]] = edge
        self.lat_by_phase.setdefault(info["phase"], []).append(edge - self.in_edge[info["vector"]])

    def enqueue(self, phase: str, vectors: list[dict]) -> list[int]:
        """Queue ``vectors`` on the driver and their golden outputs on the checker."""
        toks = []
        for v in vectors:
            idx = next(self.counter)
            out = self.model.fn(v)
            if idx == self.corrupt:   # deliberately wrong golden value: the checker must flag it
                first = self.out_codec.paths[0]
                out[first] = (out[first] + 1) % self.model.q
            self.checker.expect(self.out_codec.pack(out), {"phase": phase, "vector": idx, "inputs": v})
            self.driver.send([(self.in_codec.pack(self.model.port_values(v)), idx)])
            toks.append(idx)
        return toks

    async def run_phase(self, name: str, vectors: list[dict], p_valid: float, p_ready: float) -> list[int]:
        """Stream ``vectors`` through, wait for them to drain, then check that nothing more comes."""
        drv, sb, bench = self.driver, self.checker, self.bench
        drv.p_valid, self.monitor.p_ready = p_valid, p_ready
        start, before = bench.edge, sb.beats_checked
        toks = self.enqueue(name, vectors)
        budget = int(len(vectors) * 4 / max(0.05, min(p_valid, p_ready))) + 8 * self.latency + 200
        done = await bench.run(lambda: not drv.queue and not sb.expected, budget)
        await bench.run(lambda: False, self.latency + 8)   # idle: no further output may appear
        sb.close_phase(name)
        self.phases[name] = {"vectors": len(vectors), "checked": sb.beats_checked - before,
                             "cycles": bench.edge - start, "timeout": not done}
        return toks

    async def reset_phase(self, K: int) -> dict:
        """Cut a stream by a reset at a random point, then a clean stream; the reset's record."""
        cfg, drv, sb, bench, model, rng = self.cfg, self.driver, self.checker, self.bench, self.model, self.rng
        k = max(4, min(K, 64))
        drv.p_valid, self.monitor.p_ready = cfg["p_valid"], cfg["p_ready"]
        start = bench.edge
        before_in, before_out = drv.transfers, sb.beats_checked
        self.enqueue("reset-cut", [model.random(rng) for _ in range(k)])
        cut_after = rng.randint(1, k - 1)
        done = await bench.run(lambda: drv.transfers - before_in >= cut_after, 40 * k + 200)
        await bench.run(lambda: False, rng.randint(0, self.latency))
        reset_info = {"inputs_before_reset": drv.transfers - before_in,
                      "outputs_before_reset": sb.beats_checked - before_out,
                      "reset_edge": bench.edge, "trigger_reached": done}
        await bench.reset(2)
        drv.flush()
        reset_info["in_flight_dropped"] = sb.flush()
        self.phases["reset-cut"] = {"vectors": k, "checked": sb.beats_checked - before_out,
                                    "cycles": bench.edge - start, "timeout": not done}
        await self.run_phase("reset-clean", [model.random(rng) for _ in range(k)], cfg["p_valid"], cfg["p_ready"])
        return reset_info

    async def timing_phase(self, K: int) -> dict:
        """Back-to-back vectors, output always ready: latency and throughput against the model."""
        k = max(8, min(K, 64))
        toks = await self.run_phase("timing", [self.model.random(self.rng) for _ in range(k)], 1.0, 1.0)
        lats = self.lat_by_phase.get("timing", [])
        edges = [self.in_edge[t] for t in toks if t in self.in_edge]
        thr = (len(edges) - 1) / (edges[-1] - edges[0]) if len(edges) > 1 and edges[-1] > edges[0] else None
        measured = {"latency": (lats[0] if lats and min(lats) == max(lats) else
                                (f"{min(lats)}..{max(lats)}" if lats else None)),
                    "throughput": thr}
        outs = [self.out_edge[t] for t in toks if t in self.out_edge]
        if edges and outs:   # first input to last output of the back-to-back stream, inclusive
            self.phases["timing"]["stream_cycles"] = max(outs) - edges[0] + 1
        return timing_verdict(self.props, measured)

    async def run(self) -> dict:
        """All requested phases, then the verdict (the runner's ``result.json``)."""
        cfg, model = self.cfg, self.model
        await self.bench.start()
        K = int(cfg["vectors"])
        todo = cfg.get("phases", ["stall", "reset", "timing"])
        if "stall" in todo:
            vecs = model.corners()
            vecs += [model.random(self.rng) for _ in range(max(0, K - len(vecs)))]
            await self.run_phase("stall", vecs, cfg["p_valid"], cfg["p_ready"])
        reset_info = await self.reset_phase(K) if "reset" in todo else None
        timing = await self.timing_phase(K) if "timing" in todo else None
        summary = self.checker.summary()
        timeouts = [n for n, p in self.phases.items() if p["timeout"]]
        timing_ok = timing is None or all(v["ok"] for v in timing.values())
        return {
            "kind": cfg["kind"], "label": cfg["label"], "seed": self.seed,
            "vectors_checked": summary["beats_checked"], **summary,
            "timing": timing, "timing_ok": timing_ok,
            "latency_under_stalls": {n: [min(v), max(v)] for n, v in self.lat_by_phase.items() if v},
            "phases": self.phases, "reset": reset_info, "timeouts": timeouts,
            "sim_cycles": self.bench.edge,
            "pass": summary["mismatches"] == 0 and not timeouts and timing_ok,
        }


@cocotb.test()
async def elementwise(dut):
    cfg = load_config()
    await run_with_verdict(dut, cfg, _elementwise, cfg["label"])


async def _elementwise(dut, cfg: dict) -> dict:
    return await ElementwiseTestbench(dut, cfg).run()
