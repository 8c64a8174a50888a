"""Unit costs: cycles of one kernel call on an accelerator configuration.

Every kernel kind runs on an RTL unit, and its cost is read from the constructed ``hw``
component's Python properties (``latency``, ``throughput``, ``cycles_per_transform``,
``initiation_interval``, ``cycles_per_row``; :mod:`sim.cycle.hwprops`): the model has no
timing constants of its own. The cocotb benches of ``sim/rtl`` measure the same properties
in simulation, and ``tests/test_cycle_rtl.py`` checks that the costs below equal the
measured cycles.

Every kernel cost has two parts (see ``docs/cycle-model.md``):

* ``occupancy``: cycles the unit kind is busy with the call (its throughput bound);
* ``fill``: the pipeline latency before the first result, paid once per call.

Formulas (``c`` = unit count, ``L`` = lanes per unit, ``rows = primes * count`` of the
call, ``E = rows * n`` residues; ``Lat``/``thr`` the unit's ``latency`` and
``throughput`` in beats per cycle):

=============  ==========================================================  ==================
kernel         occupancy / fill                                            unit (``hw``)
=============  ==========================================================  ==================
ntt, intt      ``ceil(rows / c) * initiation_interval``, fill               ``NttUnit(n, q, W, L)``
               ``cycles_per_transform - initiation_interval`` (``k``
               back-to-back transforms on one unit take ``(k-1) * II + cpt``);
               ``ptgen`` (on-chip plaintext generation, sim.cycle.model) the same
modmul, mac,   ``ceil(E / (c * L * thr))`` beats of ``L`` lanes, fill ``Lat``   ``ElementwiseUnit(q, W, L)``
modadd         (``Lm + 1``: every op -- ``c + a*b``, ``a*b`` as ``0 + a*b``,
               ``c + a`` -- has the same latency); on the ``modadd`` unit when it
               exists, else on the ``modmul`` unit's lanes
bconv          ``ceil(count * n * src * (dst + 1) / (c * L * thr))`` beats:    ``BconvUnit(src, dst, W, P)``
               ``L`` counts the unit's modular multipliers (multiply-
               accumulators), as designs state them; ``BconvUnit`` of ``P``
               lanes has ``P * src * (dst + 1)`` of them (``src`` scalings and
               ``src * dst`` MACs per coefficient) and takes ``P`` coefficients
               a beat, so it is ``L = P * src * (dst + 1)``; fill ``Lat``
               (``Lm + 5``)
bconv on the   ``ceil(count * n * src * (dst + 1) / (c * L * thr))``: ``src``  ``ElementwiseUnit``
modmul lanes   scalings ``x_i * qhat_i^-1`` then ``src * dst`` MACs; fill
               ``(src + 1) * Lat`` (the dependent chain of one coefficient)
automorphism   ``ceil(rows / c) * initiation_interval`` (``n / P`` per row,     ``AutomorphismUnit(n, q, W, P)``
               ``P = gcd(L, n)`` banks), fill ``cycles_per_row -
               initiation_interval`` (``n / P + 1``: one row buffered, then read)
=============  ==========================================================  ==================

A unit kind with ``count = 0`` that is allowed to be absent runs its kernels on a
fallback unit: ``modadd`` and ``bconv`` on the ``modmul`` lanes.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

from .config import AcceleratorConfig
from .events import KERNEL_UNIT, Kernel
from .hwprops import (automorphism_props, bconv_props, elementwise_props,  # noqa: F401
                      multiplier_props, ntt_props, unit_modulus)

#: Units that may be absent, and where their kernels then run.
FALLBACK_UNIT = {"modadd": "modmul", "bconv": "modmul"}
#: Whether the kernel kinds' costs come from RTL components (all of them do).
RTL_BACKED = {"ntt": True, "intt": True, "ptgen": True, "modmul": True,
              "modadd": True, "bconv": True, "automorphism": True, "mac": True}


@dataclass(frozen=True)
class KernelCost:
    """Cycles of one kernel call: ``occupancy`` (throughput-bound) plus ``fill`` (latency)."""

    kernel: str
    unit: str
    occupancy: int
    fill: int
    rtl_backed: bool

    @property
    def cycles(self) -> int:
        return self.occupancy + self.fill


class UnitCosts:
    """Kernel costs on one accelerator configuration (properties read once and cached)."""

    def __init__(self, cfg: AcceleratorConfig):
        self.cfg = cfg

    # -- helpers ---------------------------------------------------------------------------
    def _unit_for(self, kernel_kind: str) -> str:
        unit = KERNEL_UNIT[kernel_kind]
        if self.cfg.units[unit].count == 0:
            if unit not in FALLBACK_UNIT:
                raise ValueError(f"accelerator {self.cfg.name!r} has no {unit} unit "
                                 f"(units.{unit}.count = 0) but the workload has {kernel_kind} kernels")
            unit = FALLBACK_UNIT[unit]
        return unit

    def elementwise_props(self, unit: str) -> tuple[int, float]:
        """``(latency, throughput)`` of the ``ElementwiseUnit`` of unit kind ``unit`` (beats
        per cycle; independent of its lanes, :data:`sim.cycle.hwprops.PROPS_LANES`)."""
        return elementwise_props(self.cfg.multiplier, self.cfg.word_bits)

    def modmul_props(self) -> tuple[int, float]:
        """``(latency, throughput)`` of the ``modmul`` unit (an ``ElementwiseUnit``)."""
        return self.elementwise_props("modmul")

    def ntt_props(self, n: int) -> tuple[int, int]:
        """Properties of the NTT unit at length ``n``. A unit of ``P`` lanes transforms a
        ring smaller than ``2P`` with ``n/2`` lanes (the RTL's limit ``P <= n/2``)."""
        lanes = min(self.cfg.units["ntt"].lanes, max(1, n // 2))
        return ntt_props(n, self.cfg.word_bits, lanes, self.cfg.multiplier, self.cfg.ntt_scaling,
                         self.cfg.ntt_buffering)

    def automorphism_props(self, n: int) -> tuple[int, int]:
        """``(cycles_per_row, initiation_interval)`` of the automorphism unit on rows of
        ``n``: ``gcd(L, n)`` banks (the RTL needs the lanes to divide the row)."""
        lanes = math.gcd(self.cfg.units["automorphism"].lanes, n)
        return automorphism_props(n, self.cfg.word_bits, lanes)

    # -- the cost of one kernel call -------------------------------------------------------
    def cost(self, k: Kernel) -> KernelCost:
        unit = self._unit_for(k.kind)
        spec = self.cfg.units[unit]
        backed = RTL_BACKED[k.kind]
        if k.kind in ("ntt", "intt", "ptgen"):
            if k.rows == 0:
                return KernelCost(k.kind, unit, 0, 0, backed)
            cpt, ii = self.ntt_props(k.n)
            occ = math.ceil(k.rows / spec.count) * ii
            return KernelCost(k.kind, unit, occ, cpt - ii, backed)
        if k.kind == "automorphism":
            if k.rows == 0:
                return KernelCost(k.kind, unit, 0, 0, backed)
            cpr, ii = self.automorphism_props(k.n)
            return KernelCost(k.kind, unit, math.ceil(k.rows / spec.count) * ii, cpr - ii, backed)
        if k.kind == "bconv":
            return self._bconv_cost(k, unit, backed)
        if k.kind in ("modmul", "mac", "modadd"):
            latency, thr = self.elementwise_props(unit)
            occ = math.ceil(k.elements / (spec.count * spec.lanes * thr))
            return KernelCost(k.kind, unit, occ, latency if k.elements else 0, backed)
        raise AssertionError(f"unhandled kernel kind {k.kind}")  # pragma: no cover

    def _bconv_cost(self, k: Kernel, unit: str, backed: bool) -> KernelCost:
        """A basis conversion on the ``BconvUnit``, or as MACs on the elementwise lanes."""
        spec = self.cfg.units[unit]
        coeffs = k.count * k.n
        ops = coeffs * k.src_primes * (k.dst_primes + 1)     # scalings + MACs
        if unit == "bconv":   # L multipliers: a BconvUnit of L / (src (dst + 1)) lanes
            latency, thr = bconv_props(k.src_primes, k.dst_primes, self.cfg.word_bits,
                                       self.cfg.multiplier)
            occ = math.ceil(ops / (spec.count * spec.lanes * thr))
            return KernelCost(k.kind, unit, occ, latency if coeffs else 0, backed)
        latency, thr = self.elementwise_props(unit)
        occ = math.ceil(ops / (spec.count * spec.lanes * thr))
        return KernelCost(k.kind, unit, occ, (k.src_primes + 1) * latency if coeffs else 0, backed)
