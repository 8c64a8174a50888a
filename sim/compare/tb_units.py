"""cocotb test: stream captured beats through the units of :mod:`sim.compare.unit_replay`.

Run through :func:`sim.compare.unit_replay.simulate` (configuration JSON in
``FHESIM_RTL_CONFIG``, stimulus ``.npz`` named there). Every unit ``k`` gets a
:class:`sim.rtl.stream.StreamDriver` on ``u<k>_i`` fed its packed input beats (``in<k>``,
a ``(beats, words)`` ``uint64`` matrix) and a :class:`sim.rtl.stream.StreamMonitor` on
``u<k>_o``; all are stepped from one :class:`sim.rtl.stream.ClockedBench` loop until every
unit has delivered its ``beats_out`` output beats. Nothing is compared here: the output
beats (``out<k>``, same word format) and the edge of each (``edge<k>``) go back to the host
(``rtl.npz``), where :mod:`sim.compare.engine` compares them with the software trace.
"""
from __future__ import annotations

import random

import cocotb
import numpy as np

from sim.rtl.stream import ClockedBench, StreamDriver, StreamMonitor
from sim.rtl.tb_common import run_returning_arrays


def _raw(words) -> int:
    raw = 0
    for w, x in enumerate(words.tolist()):
        raw |= int(x) << (64 * w)
    return raw


class _Collect:
    """Output beats of one unit, as word rows, with their edges."""

    def __init__(self, beats: int, words: int):
        self.words = words
        self.out = np.zeros((beats, words), np.uint64)
        self.edge = np.full(beats, -1, np.int64)
        self.count = 0

    def __call__(self, raw: int, edge: int) -> None:
        b = self.count
        if b >= self.out.shape[0]:
            raise AssertionError(f"unexpected output beat {b} at edge {edge}")
        for w in range(self.words):
            self.out[b, w] = (raw >> (64 * w)) & 0xFFFFFFFFFFFFFFFF
        self.edge[b] = edge
        self.count += 1


@cocotb.test()
async def replay_units(dut):
    await run_returning_arrays(dut, _replay)


async def _replay(dut, cfg: dict):
    from cocotb.simtime import get_sim_time

    rng = random.Random(int(cfg["seed"]))
    p_valid, p_ready = float(cfg["p_valid"]), float(cfg["p_ready"])
    bench = ClockedBench(dut)
    cols, total_in = [], 0
    with np.load(cfg["stimulus"]) as z:
        for k, u in enumerate(cfg["units"]):
            beats = z[f"in{k}"]
            total_in += beats.shape[0]
            drv = StreamDriver(dut, u["i"], random.Random(rng.random()), p_valid)
            drv.send((_raw(beats[b]), b) for b in range(beats.shape[0]))
            col = _Collect(int(u["beats_out"]), max(1, (int(u["o"]["width"]) + 63) // 64))
            mon = StreamMonitor(dut, u["o"], random.Random(rng.random()), p_ready, callback=col)
            bench.agents += [drv, mon]
            cols.append(col)
    await bench.start()
    e0, t0_ns = bench.edge, get_sim_time("ns")
    budget = int((total_in + 64 + sum(int(u["latency"]) for u in cfg["units"]))
                 * 2 / max(0.05, min(p_valid, p_ready))) + 2000
    done = await bench.run(lambda: all(c.count >= c.out.shape[0] for c in cols), budget)
    await bench.run(lambda: False, 32)      # nothing more may come out
    result = {"label": cfg["label"], "done": bool(done), "beats_in": total_in,
              "beats_out": [c.count for c in cols], "sim_cycles": bench.edge, "e0": e0,
              "t0_ns": float(t0_ns), "period_ns": bench.period_ns}
    if not done or any(c.count != c.out.shape[0] for c in cols):
        result["incomplete"] = True
    arrays = {}
    for k, c in enumerate(cols):
        arrays[f"out{k}"], arrays[f"edge{k}"] = c.out, c.edge
    return result, arrays
