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
from sim.rtl.tb_common import run_returning_arrays


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
    await run_returning_arrays(dut, _replay)


class ReplayCapture:
    """The arrays the replay sends back, filled by the agents' callbacks.

    ``T`` transforms of ``n`` elements on ``P`` lanes (``R = n/P`` beats, ``S`` stages,
    ``B = n/(2P)`` debug writes per stage) and ``E`` multiplier products.
    """

    def __init__(self, T: int, E: int, n: int, P: int, S: int, out_lane: list, mm_codec: Codec):
        self.T, self.E, self.P, self.S = T, E, P, S
        self.R = n // P
        self.per_transform = S * (n // (2 * P))
        self.out_lane, self.mm_codec = out_lane, mm_codec
        self.counts = {"ntt_out": 0, "mm_out": 0}
        self.writes = 0
        self.ntt_out = np.zeros((T, n), np.uint64)
        self.ntt_out_edge = np.full((T, self.R), -1, np.int64)
        self.stage_val = np.zeros((T, S, n), np.uint64)
        self.stage_edge = np.full((T, S, self.R), -1, np.int64)
        self.ntt_in_edge = np.full((T, 2), -1, np.int64)
        self.mm_out = np.zeros(E, np.uint64)
        self.mm_edge = np.full(E, -1, np.int64)

    def on_ntt_in(self, tok, edge: int) -> None:
        t, r = tok
        if r == 0:
            self.ntt_in_edge[t, 0] = edge
        if r == self.R - 1:
            self.ntt_in_edge[t, 1] = edge

    def on_ntt_out(self, raw: int, edge: int) -> None:
        b = self.counts["ntt_out"]
        self.counts["ntt_out"] += 1
        t, r = divmod(b, self.R)
        if t >= self.T:
            raise AssertionError(f"unexpected NTT output beat {b} at edge {edge}")
        for k, (o, w) in enumerate(self.out_lane):
            self.ntt_out[t, r * self.P + k] = (raw >> o) & ((1 << w) - 1)
        self.ntt_out_edge[t, r] = edge

    def on_mm_out(self, raw: int, edge: int) -> None:
        e = self.counts["mm_out"]
        self.counts["mm_out"] += 1
        if e >= self.E:
            raise AssertionError(f"unexpected multiplier output {e} at edge {edge}")
        self.mm_out[e] = self.mm_codec.unpack(raw)[""]
        self.mm_edge[e] = edge

    def on_write(self, edge: int, stage: int, ra: int, rb: int, da: list, db: list) -> None:
        w = self.writes
        self.writes += 1
        t = w // self.per_transform
        if t >= self.T or stage >= self.S:
            raise AssertionError(f"unexpected debug write {w} (stage {stage}) at edge {edge}")
        P = self.P
        for row, vals in ((ra, da), (rb, db)):
            self.stage_val[t, stage, row * P:(row + 1) * P] = vals
            self.stage_edge[t, stage, row] = edge

    @property
    def done(self) -> bool:
        return self.counts["ntt_out"] == self.T * self.R and self.counts["mm_out"] == self.E

    def arrays(self) -> dict:
        return {"ntt_out": self.ntt_out, "ntt_out_edge": self.ntt_out_edge,
                "stage_val": self.stage_val, "stage_edge": self.stage_edge,
                "ntt_in_edge": self.ntt_in_edge, "mm_out": self.mm_out, "mm_edge": self.mm_edge}


def _queue_stimulus(ndrv: StreamDriver, mdrv: StreamDriver, ports: dict, n: int, P: int,
                    ntt_in, ntt_inv, mm_a, mm_b) -> None:
    """Pack every transform into beats (``inverse`` on the first) and every operand pair."""
    in_off = {p: o for p, o, _ in Codec(ports["ntt_i"]["fields"]).fields}
    data_off = [in_off[f"data[{k}]"] for k in range(P)]
    inv_off = in_off["inverse"]
    R = n // P
    for t in range(int(ntt_in.shape[0])):
        row = [int(x) for x in ntt_in[t]]
        for r in range(R):
            raw = 0
            for k in range(P):
                raw |= row[r * P + k] << data_off[k]
            if r == 0 and ntt_inv[t]:
                raw |= 1 << inv_off
            ndrv.send(((raw, (t, r)),))
    mi = Codec(ports["mm_i"]["fields"])
    mdrv.send((mi.pack({"a": int(a), "b": int(b)}), e) for e, (a, b) in enumerate(zip(mm_a, mm_b)))


async def _run_timed(bench: ClockedBench, cap: ReplayCapture, budget: int) -> tuple[bool, dict]:
    """The loop of :meth:`ClockedBench.run` until ``cap.done``, timed: how much of the wall
    time the agents take (the rest is Icarus and cocotb's scheduler)."""
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
        done = cap.done
        if not done:
            for a in agents:
                a.drive(e)
        py += time.perf_counter() - p0
        if done:
            break
    return done, {"loop_wall_s": round(time.perf_counter() - w0, 3), "agents_python_s": round(py, 3)}


async def _replay(dut, cfg: dict):
    from cocotb.simtime import get_sim_time

    ports, n, P = cfg["ports"], int(cfg["n"]), int(cfg["lanes"])
    S, seed = int(cfg["ntt"]["stages"]), int(cfg["seed"])
    with np.load(cfg["stimulus"]) as z:
        ntt_in, ntt_inv = z["ntt_in"], z["ntt_inverse"]
        mm_a, mm_b = z["mm_a"], z["mm_b"]
    T, E = int(ntt_in.shape[0]), int(mm_a.shape[0])
    out_off = {p: (o, w) for p, o, w in Codec(ports["ntt_o"]["fields"]).fields}
    cap = ReplayCapture(T, E, n, P, S, [out_off[f"[{k}]"] for k in range(P)],
                        Codec(ports["mm_o"]["fields"]))

    bench = ClockedBench(dut)
    rng = random.Random(seed)
    p_valid, p_ready = float(cfg["p_valid"]), float(cfg["p_ready"])
    ndrv = StreamDriver(dut, ports["ntt_i"], random.Random(rng.random()), p_valid)
    mdrv = StreamDriver(dut, ports["mm_i"], random.Random(rng.random()), p_valid)
    nmon = StreamMonitor(dut, ports["ntt_o"], random.Random(rng.random()), p_ready, callback=cap.on_ntt_out)
    mmon = StreamMonitor(dut, ports["mm_o"], random.Random(rng.random()), p_ready, callback=cap.on_mm_out)
    tap = DebugTap(dut, ports["ntt_dbg"], P, cap.on_write)
    ndrv.on_transfer = cap.on_ntt_in
    bench.agents = [ndrv, mdrv, nmon, mmon] + ([tap] if cfg.get("tap", True) else [])
    _queue_stimulus(ndrv, mdrv, ports, n, P, ntt_in, ntt_inv, mm_a, mm_b)

    await bench.start()
    e0, t0_ns = bench.edge, get_sim_time("ns")
    cpt = int(cfg["ntt"]["cycles_per_transform"])
    budget = int((T * cpt + E + 64) * 2 / max(0.05, min(p_valid, p_ready))) + 2000
    done, prof = await _run_timed(bench, cap, budget)
    await bench.run(lambda: False, 32)      # nothing more may come out
    counts, R = cap.counts, cap.R
    result = {"label": cfg["label"], "transforms": T, "elements": E, "done": bool(done),
              "ntt_beats_out": counts["ntt_out"], "mm_out": counts["mm_out"],
              "debug_writes": tap.writes, "expected_debug_writes": T * cap.per_transform,
              "sim_cycles": bench.edge, "e0": e0, "t0_ns": float(t0_ns),
              "period_ns": bench.period_ns, "profile": prof}
    if counts["ntt_out"] != T * R or counts["mm_out"] != E or tap.writes != T * cap.per_transform:
        result["incomplete"] = True
    return result, cap.arrays()
