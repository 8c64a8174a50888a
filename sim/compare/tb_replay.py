"""cocotb test: replay captured kernels of one prime through :class:`sim.compare.rtl.ReplayTop`.

Run through :func:`sim.compare.rtl.simulate` (configuration JSON in ``FHESIM_RTL_CONFIG``,
stimulus ``.npz`` named there). Reuses the agents of :mod:`sim.rtl.stream` (one per-edge
loop, stream driver and monitor) and adds a *debug tap* agent on ``ntt_dbg``.

* The ``T`` transforms are streamed back to back into the NTT unit (``n/P`` beats each, the
  ``inverse`` flag on the first beat); the monitor collects the ``n/P`` output beats of each.
* Meanwhile the ``E`` elementwise operand pairs stream through the multiplier.
* The tap records every in-place write-back of the NTT unit: ``(stage, row_a, row_b,
  data_a, data_b)`` and the edge of the write. The ``B = n/(2P)`` writes per stage times
  ``log2(n)`` stages make one transform, in order, so write ``w`` belongs to transform
  ``w // (log2(n) B)``.

Nothing is compared here: the arrays go back to the host (``rtl.npz``), where
:mod:`sim.compare.engine` compares them with the software trace stage by stage:

``ntt_out`` (T, n), ``ntt_out_edge`` (T, R), ``stage_val`` (T, S, n), ``stage_edge`` (T, S, R)
(edge of the write of each row in each stage, -1 if never written), ``ntt_in_edge`` (T, 2)
(first and last input beat), ``mm_out`` (E,), ``mm_edge`` (E,).
Edges count rising clock edges from the start of the clock; ``result.json`` gives the
simulation time of edge ``e`` as ``t0_ns + (e - e0) * period_ns``.
"""
from __future__ import annotations

import random
import time

import cocotb
import numpy as np

from sim.rtl.stream import ClockedBench, Codec, StreamDriver, StreamMonitor
from sim.rtl.tb_common import load_config, write_result


class DebugTap:
    """Samples ``ntt_dbg`` at every edge and records write-backs (no outputs to drive)."""

    def __init__(self, dut, port: dict, lanes: int, on_write):
        self.sig = getattr(dut, port["signal"])
        off = {f["path"]: (f["offset"], f["width"]) for f in port["fields"]}
        self.valid_off = off["valid"][0]
        self.stage = off["stage"]
        self.row_a, self.row_b = off["row_a"], off["row_b"]
        self.da = [off[f"data_a[{k}]"] for k in range(lanes)]
        self.db = [off[f"data_b[{k}]"] for k in range(lanes)]
        self.on_write = on_write
        self.writes = 0

    def sample(self, edge: int) -> None:
        v = self.sig.value
        try:
            raw = v.to_unsigned()
        except ValueError:
            return          # X before reset settles: no write can be valid then
        if not (raw >> self.valid_off) & 1:
            return

        def f(o):
            return (raw >> o[0]) & ((1 << o[1]) - 1)

        self.writes += 1
        self.on_write(edge, f(self.stage), f(self.row_a), f(self.row_b),
                      [f(o) for o in self.da], [f(o) for o in self.db])

    def drive(self, edge: int) -> None:
        pass

    def idle(self) -> None:
        pass


@cocotb.test()
async def replay(dut):
    cfg = load_config()
    try:
        result, arrays = await _replay(dut, cfg)
    except Exception as e:
        write_result(cfg, {"label": cfg["label"], "error": f"{type(e).__name__}: {e}"})
        raise
    np.savez(cfg["result_npz"], **arrays)
    write_result(cfg, result)


async def _replay(dut, cfg: dict):
    from cocotb.simtime import get_sim_time

    ports, n, P = cfg["ports"], int(cfg["n"]), int(cfg["lanes"])
    R, S = n // P, int(cfg["ntt"]["stages"])
    B = n // (2 * P)
    seed = int(cfg["seed"])
    with np.load(cfg["stimulus"]) as z:
        ntt_in, ntt_inv = z["ntt_in"], z["ntt_inverse"]
        mm_a, mm_b = z["mm_a"], z["mm_b"]
    T, E = int(ntt_in.shape[0]), int(mm_a.shape[0])

    ntt_out = np.zeros((T, n), np.uint64)
    ntt_out_edge = np.full((T, R), -1, np.int64)
    stage_val = np.zeros((T, S, n), np.uint64)
    stage_edge = np.full((T, S, R), -1, np.int64)
    ntt_in_edge = np.full((T, 2), -1, np.int64)
    mm_out = np.zeros(E, np.uint64)
    mm_edge = np.full(E, -1, np.int64)

    ci, co = Codec(ports["ntt_i"]["fields"]), Codec(ports["ntt_o"]["fields"])
    in_off = {p: o for p, o, _ in ci.fields}
    data_off = [in_off[f"data[{k}]"] for k in range(P)]
    inv_off = in_off["inverse"]
    out_off = {p: (o, w) for p, o, w in co.fields}
    out_lane = [out_off[f"[{k}]"] for k in range(P)]
    mi, mo = Codec(ports["mm_i"]["fields"]), Codec(ports["mm_o"]["fields"])

    bench = ClockedBench(dut)
    rng = random.Random(seed)
    p_valid, p_ready = float(cfg["p_valid"]), float(cfg["p_ready"])
    ndrv = StreamDriver(dut, ports["ntt_i"], random.Random(rng.random()), p_valid)
    mdrv = StreamDriver(dut, ports["mm_i"], random.Random(rng.random()), p_valid)
    counts = {"ntt_out": 0, "mm_out": 0}

    def on_ntt_out(raw, edge):
        b = counts["ntt_out"]
        counts["ntt_out"] += 1
        t, r = divmod(b, R)
        if t >= T:
            raise AssertionError(f"unexpected NTT output beat {b} at edge {edge}")
        for k, (o, w) in enumerate(out_lane):
            ntt_out[t, r * P + k] = (raw >> o) & ((1 << w) - 1)
        ntt_out_edge[t, r] = edge

    def on_mm_out(raw, edge):
        e = counts["mm_out"]
        counts["mm_out"] += 1
        if e >= E:
            raise AssertionError(f"unexpected multiplier output {e} at edge {edge}")
        mm_out[e] = mo.unpack(raw)[""]
        mm_edge[e] = edge

    nmon = StreamMonitor(dut, ports["ntt_o"], random.Random(rng.random()), p_ready, callback=on_ntt_out)
    mmon = StreamMonitor(dut, ports["mm_o"], random.Random(rng.random()), p_ready, callback=on_mm_out)
    per_transform = S * B

    def on_write(edge, stage, ra, rb, da, db):
        w = tap.writes - 1
        t = w // per_transform
        if t >= T or stage >= S:
            raise AssertionError(f"unexpected debug write {w} (stage {stage}) at edge {edge}")
        for row, vals in ((ra, da), (rb, db)):
            stage_val[t, stage, row * P:(row + 1) * P] = vals
            stage_edge[t, stage, row] = edge

    tap = DebugTap(dut, ports["ntt_dbg"], P, on_write)

    def on_in(tok, edge):
        t, r = tok
        if r == 0:
            ntt_in_edge[t, 0] = edge
        if r == R - 1:
            ntt_in_edge[t, 1] = edge

    ndrv.on_transfer = on_in
    bench.agents = [ndrv, mdrv, nmon, mmon] + ([tap] if cfg.get("tap", True) else [])

    for t in range(T):
        row = [int(x) for x in ntt_in[t]]
        for r in range(R):
            raw = 0
            for k in range(P):
                raw |= row[r * P + k] << data_off[k]
            if r == 0 and ntt_inv[t]:
                raw |= 1 << inv_off
            ndrv.send(((raw, (t, r)),))
    mdrv.send((mi.pack({"a": int(a), "b": int(b)}), e) for e, (a, b) in enumerate(zip(mm_a, mm_b)))

    await bench.start()
    e0, t0_ns = bench.edge, get_sim_time("ns")
    cpt = int(cfg["ntt"]["cycles_per_transform"])
    budget = int((T * cpt + E + 64) * 2 / max(0.05, min(p_valid, p_ready))) + 2000
    # the loop of ClockedBench.run, timed: how much of the wall time the agents take
    # (the rest is Icarus and cocotb's scheduler)
    w0, py = time.perf_counter(), 0.0
    agents, re, limit, done = bench.agents, bench._re, bench.edge + budget, False
    for a in agents:
        a.drive(bench.edge)
    while bench.edge < limit:
        await re
        p0 = time.perf_counter()
        bench.edge += 1
        e = bench.edge
        for a in agents:
            a.sample(e)
        done = counts["ntt_out"] == T * R and counts["mm_out"] == E
        if not done:
            for a in agents:
                a.drive(e)
        py += time.perf_counter() - p0
        if done:
            break
    prof = {"loop_wall_s": round(time.perf_counter() - w0, 3), "agents_python_s": round(py, 3)}
    await bench.run(lambda: False, 32)      # nothing more may come out
    result = {"label": cfg["label"], "transforms": T, "elements": E, "done": bool(done),
              "ntt_beats_out": counts["ntt_out"], "mm_out": counts["mm_out"],
              "debug_writes": tap.writes, "expected_debug_writes": T * per_transform,
              "sim_cycles": bench.edge, "e0": e0, "t0_ns": float(t0_ns),
              "period_ns": bench.period_ns, "profile": prof}
    if counts["ntt_out"] != T * R or counts["mm_out"] != E or tap.writes != T * per_transform:
        result["incomplete"] = True
    arrays = {"ntt_out": ntt_out, "ntt_out_edge": ntt_out_edge, "stage_val": stage_val,
              "stage_edge": stage_edge, "ntt_in_edge": ntt_in_edge, "mm_out": mm_out,
              "mm_edge": mm_edge}
    return result, arrays
