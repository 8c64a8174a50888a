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
   (first input -> last output, inclusive); the gap between the two first inputs gives
   ``initiation_interval`` when the unit models one (``timing_transforms = 1`` runs only
   transform 0, to keep n = 2^16 short).

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


@cocotb.test()
async def transform(dut):
    cfg = load_config()
    await run_with_verdict(dut, cfg, _transform, f"{cfg['label']} {cfg['direction']}")


async def _transform(dut, cfg: dict) -> dict:
    props, ports = cfg["props"], cfg["ports"]
    n, q, P = int(cfg["n"]), int(cfg["q"]), int(cfg["lanes"])
    R = n // P
    seed = int(cfg["seed"])
    rng = random.Random(seed)
    inverse = cfg["direction"] == "inverse"
    if cfg["kind"] == "selftest_ntt":
        from sim.rtl.selftest import bitrev_reference
        ref = bitrev_reference
    else:
        ref = (lambda a: golden.ntt_inverse(a, q)) if inverse else (lambda a: golden.ntt_forward(a, q))

    in_codec, out_codec = Codec(ports["i"]["fields"]), Codec(ports["o"]["fields"])
    in_off = _lane_offsets(in_codec, "data", P)
    inv_off = {p: off for p, off, _ in in_codec.fields}.get("inverse")
    if inv_off is None:
        raise AssertionError(f"input payload lacks the 'inverse' field: {in_codec.paths}")
    out_off = _lane_offsets(out_codec, "", P)

    sb = Scoreboard(out_codec)
    bench = ClockedBench(dut)
    drv = StreamDriver(dut, ports["i"], random.Random(seed * 7 + 1), cfg["p_valid"])
    mon = StreamMonitor(dut, ports["o"], random.Random(seed * 7 + 2), cfg["p_ready"], callback=sb.observe)
    bench.agents = [drv, mon]

    first_in: dict[int, int] = {}
    last_in: dict[int, int] = {}
    first_out: dict[int, int] = {}
    last_out: dict[int, int] = {}

    def on_in(tok, e):
        t, r = tok
        if r == 0:
            first_in[t] = e
        if r == R - 1:
            last_in[t] = e

    def on_out(info, e):
        t, r = info["transform"], info["beat"]
        if r == 0:
            first_out[t] = e
        if r == R - 1:
            last_out[t] = e

    drv.on_transfer = on_in
    sb.on_match = on_out
    corrupt = cfg.get("corrupt_expected")
    counter = [0]
    transform_phase: dict[int, str] = {}

    def enqueue(phase: str, coeffs: list[int]) -> int:
        t = counter[0]
        counter[0] += 1
        transform_phase[t] = phase
        out = ref(coeffs)
        if t == 0 and corrupt is not None:   # deliberately wrong golden value
            out = list(out)
            out[corrupt] = (out[corrupt] + 1) % q
        for r in range(R):
            base = r * P
            raw_in = 0
            raw_out = 0
            for k in range(P):
                raw_in |= coeffs[base + k] << in_off[k]
                raw_out |= out[base + k] << out_off[k]
            flag = inverse if r == 0 else rng.random() < 0.5
            raw_in |= int(flag) << inv_off
            drv.send(((raw_in, (t, r)),))
            sb.expect(raw_out, {"phase": phase, "transform": t, "beat": r, "first_element": base})
        return t

    phases: dict[str, dict] = {}
    latency = int(props["latency"])
    cpt = int(props.get("cycles_per_transform", 2 * R + latency))

    def budget(transforms: int, p: float) -> int:
        return int(transforms * (cpt + 2 * R) * 3 / max(0.05, p)) + 2000

    async def run_phase(name: str, data: list[list[int]], p_valid: float, p_ready: float) -> list[int]:
        drv.p_valid, mon.p_ready = p_valid, p_ready
        start, before = bench.edge, sb.beats_checked
        toks = [enqueue(name, a) for a in data]
        done = await bench.run(lambda: not drv.queue and not sb.expected,
                               budget(len(data), min(p_valid, p_ready)))
        await bench.run(lambda: False, min(latency, 64) + 16)   # idle: nothing more may appear
        sb.close_phase(name)
        phases[name] = {"transforms": len(data), "beats_checked": sb.beats_checked - before,
                        "cycles": bench.edge - start, "timeout": not done}
        return toks

    def uniform() -> list[int]:
        return [rng.randrange(q) for _ in range(n)]

    def corners() -> list[int]:
        vals = (0, 1, q - 1)
        return [vals[rng.randrange(3)] for _ in range(n)]

    await bench.start()
    todo = cfg.get("phases", ["stall", "reset", "timing"])
    T = max(1, int(cfg["transforms"]))

    if "stall" in todo:
        await run_phase("stall", [corners()] + [uniform() for _ in range(T - 1)],
                        cfg["p_valid"], cfg["p_ready"])

    resets = []
    if "reset" in todo:
        for point in cfg.get("reset_points", ["input", "compute", "output"]):
            drv.p_valid, mon.p_ready = cfg["p_valid"], cfg["p_ready"]
            start = bench.edge
            in0, out0 = drv.transfers, sb.beats_checked
            enqueue(f"reset-{point}", uniform())
            cut = rng.randint(1, max(1, R - 1))
            if point == "input":
                cond = (lambda: drv.transfers - in0 >= cut)
            elif point == "compute":
                cond = (lambda: drv.transfers - in0 >= R)
            elif point == "output":
                cond = (lambda: sb.beats_checked - out0 >= cut)
            else:
                raise ValueError(f"unknown reset point {point!r}")
            reached = await bench.run(cond, budget(1, min(cfg["p_valid"], cfg["p_ready"])))
            if point == "compute":    # somewhere inside the butterfly stages, before any output
                await bench.run(lambda: sb.beats_checked > out0, rng.randint(1, max(1, latency - 2)))
            info = {"point": point, "inputs_before_reset": drv.transfers - in0,
                    "outputs_before_reset": sb.beats_checked - out0, "reset_edge": bench.edge,
                    "trigger_reached": reached}
            await bench.reset(2)
            drv.flush()
            info["beats_dropped"] = sb.flush()
            resets.append(info)
            phases[f"reset-{point}-cut"] = {"transforms": 1, "beats_checked": sb.beats_checked - out0,
                                            "cycles": bench.edge - start, "timeout": not reached}
            await run_phase(f"reset-{point}-clean", [uniform()], cfg["p_valid"], cfg["p_ready"])

    timing = None
    if "timing" in todo:
        toks = await run_phase("timing", [uniform() for _ in range(max(1, int(cfg.get("timing_transforms", 2))))],
                               1.0, 1.0)
        t0, t1 = toks[0], toks[-1]
        measured = {
            "latency": first_out[t0] - last_in[t0] if t0 in first_out and t0 in last_in else None,
            "cycles_per_transform": (last_out[t0] - first_in[t0] + 1
                                     if t0 in last_out and t0 in first_in else None),
        }
        cycles = measured["cycles_per_transform"]
        measured["throughput"] = n / cycles if cycles else None
        if "initiation_interval" in props and t1 != t0:
            measured["initiation_interval"] = (first_in[t1] - first_in[t0]
                                               if t1 in first_in and t0 in first_in else None)
        timing = timing_verdict(props, measured)

    summary = sb.summary()
    timeouts = [k for k, v in phases.items() if v["timeout"]]
    timing_ok = timing is None or all(v["ok"] for v in timing.values())
    per_transform = {t: {"phase": transform_phase[t],
                         "latency": first_out[t] - last_in[t] if t in first_out and t in last_in else None,
                         "cycles": last_out[t] - first_in[t] + 1 if t in last_out and t in first_in else None}
                     for t in sorted(transform_phase)}
    checked = sum(1 for t in per_transform if t in last_out)
    return {
        "kind": cfg["kind"], "label": cfg["label"], "seed": seed, "direction": cfg["direction"],
        "vectors_checked": checked, "transforms_checked": checked,
        **summary, "timing": timing, "timing_ok": timing_ok,
        "per_transform": per_transform, "phases": phases, "resets": resets,
        "timeouts": timeouts, "sim_cycles": bench.edge,
        "pass": summary["mismatches"] == 0 and not timeouts and timing_ok,
    }
