"""cocotb test: the elementwise unit (``hw.elementwise.ElementwiseUnit``, kind ``mac``).

A beat is ``P`` lanes of ``(a, b, c)`` and one ``op`` for the beat (``mac`` ``c + a*b``,
``msub`` ``c - a*b``, ``add`` ``c + a``, ``sub`` ``c - a``); ``b`` goes to the port in the
multiplier's stored form (plain, Montgomery form ``b*2^W mod q``, or plain with the Shoup
companion ``floor(b*2^W/q)``). Golden model: :func:`sw.rtl_models.elementwise_model`, lane
by lane. The phases (random gaps and back-pressure with every corner combination of
{0, 1, q-1} for every op; a reset mid-stream followed by a clean stream; the no-stall
timing phase measuring ``latency`` and ``throughput``) are those of
:class:`sim.rtl.tb_elementwise.ElementwiseTestbench`, which this bench runs with
:class:`MacModel`.
"""
from __future__ import annotations

import itertools
import random

import cocotb

from sim.rtl.tb_common import corner_values, load_config, residue, run_with_verdict
from sim.rtl.tb_elementwise import ElementwiseTestbench
from sw.modred import to_montgomery
from sw.ntt_tables import shoup
from sw.rtl_models import ELEMENTWISE_OPS, elementwise_model

OPS = tuple(ELEMENTWISE_OPS)


class MacModel:
    """Logical beats ``{"op", "a", "b", "c"}`` (lists of ``P`` plain residues), their port
    fields and the golden output lanes."""

    def __init__(self, cfg: dict):
        self.q, self.width, self.lanes = int(cfg["q"]), int(cfg["width"]), int(cfg["lanes"])
        self.multiplier = cfg["multiplier"]
        fields = ["a", "b", "c"] + (["b_shoup"] if self.multiplier == "shoup" else [])
        self.inputs = [f"{f}[{l}]" for f in fields for l in range(self.lanes)] + ["op"]

    def fn(self, v: dict) -> dict:
        q, W, m = self.q, self.width, self.multiplier
        return {f"[{l}]": elementwise_model(v["op"], v["a"][l], v["b"][l], v["c"][l], q, W, m)
                for l in range(self.lanes)}

    def _stored_b(self, b: int) -> dict:
        if self.multiplier == "montgomery":
            return {"b": to_montgomery(b, self.q, self.width)}
        if self.multiplier == "shoup":
            return {"b": b, "b_shoup": shoup(b, self.q, self.width)}
        return {"b": b}

    def port_values(self, v: dict) -> dict:
        out = {"op": ELEMENTWISE_OPS[v["op"]]}
        for l in range(self.lanes):
            out[f"a[{l}]"], out[f"c[{l}]"] = v["a"][l], v["c"][l]
            for name, word in self._stored_b(v["b"][l]).items():
                out[f"{name}[{l}]"] = word
        return out

    def corners(self) -> list[dict]:
        """Every op with every ``(a, b, c)`` in ``{0, 1, q-1}^3``, ``P`` lanes to a beat."""
        combos = list(itertools.product(corner_values(self.q), repeat=3))
        beats = []
        for op in OPS:
            for s in range(0, len(combos), self.lanes):
                chunk = [combos[(s + l) % len(combos)] for l in range(self.lanes)]
                beats.append({"op": op, "a": [c[0] for c in chunk], "b": [c[1] for c in chunk],
                              "c": [c[2] for c in chunk]})
        return beats

    def random(self, rng: random.Random) -> dict:
        q, P = self.q, self.lanes
        return {"op": rng.choice(OPS), "a": [residue(rng, q) for _ in range(P)],
                "b": [residue(rng, q) for _ in range(P)], "c": [residue(rng, q) for _ in range(P)]}


class MacTestbench(ElementwiseTestbench):
    """:class:`ElementwiseTestbench` with the elementwise unit's :class:`MacModel`."""

    @staticmethod
    def make_model(cfg: dict):
        return MacModel(cfg)


@cocotb.test()
async def mac(dut):
    cfg = load_config()
    await run_with_verdict(dut, cfg, _mac, cfg["label"])


async def _mac(dut, cfg: dict) -> dict:
    return await MacTestbench(dut, cfg).run()
