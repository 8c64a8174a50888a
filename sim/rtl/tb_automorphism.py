"""cocotb test: the automorphism unit (``hw.automorphism.AutomorphismUnit``).

A row is ``R = n/P`` input beats (beat ``r`` lane ``l`` = element ``rP + l``) and ``R``
output beats of ``a(X^galois)`` in the same order: coefficient order with the sign flips,
or the NTT's bit-reversed evaluation order (a pure permutation). Golden model:
:func:`sw.rtl_models.automorphism_model` (equal to :func:`sw.ring.kernels.automorphism`).

The phases are those of :class:`sim.rtl.tb_ntt.NttTestbench` (rows with corner values
0, 1, q-1 and uniform rows under random gaps and back-pressure; a reset while loading,
between the last input and the first output, and while unloading, each followed by a clean
row; two back-to-back rows without stalls), with :class:`AutomorphismModel`. The timing
verdict compares ``latency`` (last input to first output of row 0), ``cycles_per_row``
(first input to last output of row 0, inclusive), ``initiation_interval`` (first inputs of
rows 0 and 1) and ``throughput`` (``n / initiation_interval`` elements per cycle) with the
unit's properties.
"""
from __future__ import annotations

import cocotb

from sim.rtl.stream import Codec
from sim.rtl.tb_common import load_config, run_with_verdict, timing_verdict
from sim.rtl.tb_ntt import NttTestbench, _lane_offsets
from sw.rtl_models import automorphism_model


class AutomorphismModel:
    """The golden permutation of one run and how rows pack into beats."""

    inverse = False            # no per-row flag: the bench's flag argument is ignored

    def __init__(self, cfg: dict):
        self.q, self.lanes = int(cfg["q"]), int(cfg["lanes"])
        self.galois, self.order = int(cfg["galois"]), cfg["order"]
        self.corrupt = cfg.get("corrupt_expected")
        ports = cfg["ports"]
        in_codec, self.out_codec = Codec(ports["i"]["fields"]), Codec(ports["o"]["fields"])
        self.in_off = _lane_offsets(in_codec, "", self.lanes)
        self.out_off = _lane_offsets(self.out_codec, "", self.lanes)

    def expected(self, t: int, coeffs: list[int]) -> list[int]:
        """Golden output row of row ``t``."""
        out = automorphism_model(coeffs, self.q, self.galois, self.order)
        if t == 0 and self.corrupt is not None:   # deliberately wrong golden value
            out[self.corrupt] = (out[self.corrupt] + 1) % self.q
        return out

    def beat(self, coeffs: list[int], out: list[int], r: int, flag: bool) -> tuple[int, int]:
        """Packed input beat ``r`` and its expected output beat (``flag`` unused)."""
        base = r * self.lanes
        raw_in = raw_out = 0
        for k in range(self.lanes):
            raw_in |= coeffs[base + k] << self.in_off[k]
            raw_out |= out[base + k] << self.out_off[k]
        return raw_in, raw_out


class AutomorphismTestbench(NttTestbench):
    """:class:`NttTestbench` with :class:`AutomorphismModel` and the row timing verdict."""

    @staticmethod
    def make_model(cfg: dict):
        return AutomorphismModel(cfg)

    async def timing_phase(self) -> dict:
        """Back-to-back rows without stalls; the measured timing against the properties."""
        count = max(1, int(self.cfg.get("timing_transforms", 2)))
        toks = await self.run_phase("timing", [self.uniform() for _ in range(count)], 1.0, 1.0)
        t0, t1 = toks[0], toks[-1]
        measured = {"latency": self.times.latency(t0), "cycles_per_row": self.times.cycles(t0)}
        if t1 != t0:
            ii = self.times.interval(t0, t1)
            measured["initiation_interval"] = ii
            measured["throughput"] = self.n / ii if ii else None
            self.phases["timing"]["stream_cycles"] = (
                self.times.last_out[t1] - self.times.first_in[t0] + 1
                if t1 in self.times.last_out and t0 in self.times.first_in else None)
        return timing_verdict(self.props, measured)


@cocotb.test()
async def automorphism(dut):
    cfg = load_config()
    await run_with_verdict(dut, cfg, _automorphism, cfg["label"])


async def _automorphism(dut, cfg: dict) -> dict:
    return await AutomorphismTestbench(dut, cfg).run()
