"""Unit costs: cycles of one kernel call on an accelerator configuration.

Where the RTL has the unit, the numbers are read from the constructed ``hw`` component's
Python properties (``latency``, ``throughput``, ``cycles_per_transform``;
:mod:`sim.cycle.hwprops`): the model has no constants of its own for those units. The cocotb benches of ``sim/rtl`` measure the same
properties in simulation. Units the RTL does not have yet (basis conversion, automorphism,
stand-alone modular adder) use the formulas below and are flagged ``rtl_backed=False``.

Every kernel cost has two parts (see ``docs/accelerator-config.md``, "Cycle model"):

* ``occupancy``: cycles the unit kind is busy with the call (its throughput bound);
* ``fill``: the pipeline latency before the first result, paid once per call.

Formulas (``c`` = unit count, ``L`` = lanes per unit, ``rows = primes * count`` of the
call, ``E = rows * n`` residues):

=============  ==========================================================  ==========
kernel         occupancy / fill                                            RTL-backed
=============  ==========================================================  ==========
ntt, intt      ``ceil(rows / c) * NttUnit(n, q, W, L).initiation_interval``      yes
               fill ``cycles_per_transform - initiation_interval`` (``k``
               back-to-back transforms on one unit take ``(k-1) * II + cpt``);
               ``ptgen`` (on-chip plaintext generation, sim.cycle.model) the same
modmul         ``ceil(E / (c * L * thr))``, fill ``latency`` of the          yes
               ``BarrettMultiplier`` / ``MontgomeryMultiplier`` (``thr`` its throughput)
modadd         ``ceil(E / (c * L))``, fill ``MODADD_LATENCY`` = 1            no
mac            fused ``acc + a * b``: on the modmul lanes, the adder following  no
               the multiplier: ``ceil(E / (c * L * thr))`` (the multiplier's
               throughput), fill multiplier ``latency + MODADD_LATENCY``
bconv          ``ceil(count * n * src * (dst + 1) / (c * L))`` multiply-accumulates  no
               (``src`` scalings by ``qhat_i^-1`` then ``src * dst`` MACs),
               fill = multiplier latency + ``src`` (serial accumulation)
automorphism   ``ceil(E / (c * L))``, fill ``n / L`` (a whole row is         no
               buffered before the first permuted word leaves)
=============  ==========================================================  ==========

A unit kind with ``count = 0`` that is allowed to be absent runs its kernels on a
fallback unit: ``modadd`` and ``bconv`` on the ``modmul`` lanes (same formulas with the
modmul unit's count and lanes).
"""
from __future__ import annotations

import math
from dataclasses import dataclass

from .config import AcceleratorConfig
from .events import KERNEL_UNIT, Kernel
from .hwprops import multiplier_props, ntt_props, unit_modulus  # noqa: F401 (re-exported)

#: Latency of the (not yet RTL-backed) modular adder: one registered add-and-correct stage.
MODADD_LATENCY = 1
#: Units that may be absent, and where their kernels then run.
FALLBACK_UNIT = {"modadd": "modmul", "bconv": "modmul"}
#: Whether the kernel kinds' costs come from RTL components.
RTL_BACKED = {"ntt": True, "intt": True, "ptgen": True, "modmul": True,
              "modadd": False, "bconv": False, "automorphism": False, "mac": False}


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

    def modmul_props(self) -> tuple[int, float]:
        return multiplier_props(self.cfg.multiplier, self.cfg.word_bits)

    def ntt_props(self, n: int) -> tuple[int, int]:
        """Properties of the NTT unit at length ``n``. A unit of ``P`` lanes transforms a
        ring smaller than ``2P`` with ``n/2`` lanes (the RTL's limit ``P <= n/2``)."""
        lanes = min(self.cfg.units["ntt"].lanes, max(1, n // 2))
        return ntt_props(n, self.cfg.word_bits, lanes, self.cfg.multiplier)

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
        mm_latency, mm_thr = self.modmul_props()
        if k.kind == "modmul":
            occ = math.ceil(k.elements / (spec.count * spec.lanes * mm_thr))
            return KernelCost(k.kind, unit, occ, mm_latency if k.elements else 0, backed)
        if k.kind == "mac":   # one multiply and one add per element, the adder chained behind
            occ = math.ceil(k.elements / (spec.count * spec.lanes * mm_thr))
            fill = mm_latency + MODADD_LATENCY if k.elements else 0
            return KernelCost(k.kind, unit, occ, fill, backed)
        if k.kind == "modadd":
            occ = math.ceil(k.elements / spec.total_lanes)
            fill = MODADD_LATENCY if unit == "modadd" else mm_latency
            return KernelCost(k.kind, unit, occ, fill if k.elements else 0, backed)
        if k.kind == "bconv":
            macs = k.count * k.n * k.src_primes * (k.dst_primes + 1)
            occ = math.ceil(macs / spec.total_lanes)
            return KernelCost(k.kind, unit, occ, mm_latency + k.src_primes, backed)
        if k.kind == "automorphism":
            occ = math.ceil(k.elements / spec.total_lanes)
            fill = math.ceil(k.n / spec.lanes) if k.elements else 0
            return KernelCost(k.kind, unit, occ, fill, backed)
        raise AssertionError(f"unhandled kernel kind {k.kind}")  # pragma: no cover
