"""cocotb test: the basis conversion unit (``hw.bconv.BconvUnit``, kind ``bconv``).

A beat is a tile of ``P`` coefficients across all limbs: input field ``[i][c]`` is the
residue of coefficient ``c`` mod ``src_primes[i]``, output field ``[j][c]`` its converted
residue mod ``dst_primes[j]``. Golden model: :func:`sw.rtl_models.bconv_model` per
coefficient (equal to :func:`sw.kernels.bconv.bconv` with ``exact=False``). Corner tiles
combine 0, 1 and ``q_i - 1`` over the source residues (every combination up to
:data:`MAX_CORNERS`, then a seeded sample that always keeps all-zero and all-maximal, the
largest exact sum). The phases are those of
:class:`sim.rtl.tb_elementwise.ElementwiseTestbench`, run with :class:`BconvModel`.
"""
from __future__ import annotations

import itertools
import random

import cocotb

from sim.rtl.tb_common import load_config, residue, run_with_verdict
from sim.rtl.tb_elementwise import ElementwiseTestbench
from sw.rtl_models import bconv_model

#: Most corner coefficients (3^k combinations are sampled beyond this).
MAX_CORNERS = 243


class BconvModel:
    """Logical tiles ``{"x": [[x_0 .. x_(k-1)] per coefficient]}``, port fields, golden outputs."""

    def __init__(self, cfg: dict):
        self.src, self.dst = tuple(cfg["src_primes"]), tuple(cfg["dst_primes"])
        self.width, self.lanes, self.multiplier = int(cfg["width"]), int(cfg["lanes"]), cfg["multiplier"]
        self.q = self.dst[0]          # the first output field is a residue mod dst_primes[0]
        self.seed = int(cfg["seed"])
        k = len(self.src)
        self.inputs = [f"[{i}][{c}]" for i in range(k) for c in range(self.lanes)]

    def fn(self, v: dict) -> dict:
        out = {}
        for c, x in enumerate(v["x"]):
            for j, r in enumerate(bconv_model(x, self.src, self.dst, self.width, self.multiplier)):
                out[f"[{j}][{c}]"] = r
        return out

    def port_values(self, v: dict) -> dict:
        return {f"[{i}][{c}]": xi for c, x in enumerate(v["x"]) for i, xi in enumerate(x)}

    def corners(self) -> list[dict]:
        vals = [(0, 1, q - 1) for q in self.src]
        if 3 ** len(self.src) <= MAX_CORNERS:
            coeffs = [list(t) for t in itertools.product(*vals)]
        else:
            rng = random.Random(self.seed * 11 + 3)
            coeffs = [[0] * len(self.src), [q - 1 for q in self.src]]
            coeffs += [[rng.choice(v) for v in vals] for _ in range(MAX_CORNERS - 2)]
        P = self.lanes
        return [{"x": [coeffs[(s + c) % len(coeffs)] for c in range(P)]}
                for s in range(0, len(coeffs), P)]

    def random(self, rng: random.Random) -> dict:
        return {"x": [[residue(rng, q) for q in self.src] for _ in range(self.lanes)]}


class BconvTestbench(ElementwiseTestbench):
    """:class:`ElementwiseTestbench` with the basis conversion unit's :class:`BconvModel`."""

    @staticmethod
    def make_model(cfg: dict):
        return BconvModel(cfg)


@cocotb.test()
async def bconv(dut):
    cfg = load_config()
    await run_with_verdict(dut, cfg, _bconv, cfg["label"])


async def _bconv(dut, cfg: dict) -> dict:
    return await BconvTestbench(dut, cfg).run()
