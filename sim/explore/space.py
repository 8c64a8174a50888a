"""The design space of the exploration: unit mixes, the devices, the grids and the
refinement's moves (:mod:`sim.explore`)."""
from __future__ import annotations

from dataclasses import dataclass, replace
from types import MappingProxyType

#: Devices the exploration knows: name -> the preset whose platform figures it uses (clock,
#: word size, bandwidth, on-chip bytes, multiplier, ``[device]`` budget).
DEVICES = {"u280": "u280"}

#: Coarse grids: NTT lanes P, NTT unit counts, modmul lanes, bconv lanes (0 = on the modmul
#: lanes); modadd lanes and the automorphism units start at the values below and are tuned
#: by the refinement.
GRIDS = {
    "default": dict(ntt_lanes=(32, 64, 128, 256, 512), ntt_count=(1, 2, 3, 4, 6, 8, 12, 16),
                    modmul=(64, 128, 256, 512), bconv=(0, 128, 256, 512), modadd=(256,),
                    automorphism=((1, 256),)),
    "small": dict(ntt_lanes=(64, 256), ntt_count=(1, 2, 4), modmul=(64, 256), bconv=(0, 256),
                  modadd=(256,), automorphism=((1, 256),)),
}
#: Designs the refinement starts from (the best fitting ones of the grid) and its step cap.
REFINE_STARTS = 3
REFINE_STEPS = 40
#: Lane step of the refinement's fill move (:meth:`sim.explore.search.Explorer.filled`).
FILL_STEP = 8
#: A refinement step must cut the latency by at least this fraction (no drifting into large
#: resource use for negligible gains).
REFINE_GAIN = 0.002


@dataclass(frozen=True, order=True)
class Design:
    """One unit mix. Elementwise units are one unit of ``lanes`` lanes each (their cost
    depends on the total lanes only); 0 lanes = the kernels run on the modmul lanes."""

    ntt_count: int
    ntt_lanes: int
    modmul: int
    modadd: int
    bconv: int
    auto_count: int
    auto_lanes: int

    def units(self, default_lanes: int) -> dict:
        from sim.cycle.config import UnitSpec

        def one(lanes):
            return UnitSpec(1, lanes) if lanes else UnitSpec(0, default_lanes)
        return {"ntt": UnitSpec(self.ntt_count, self.ntt_lanes), "modmul": UnitSpec(1, self.modmul),
                "modadd": one(self.modadd), "bconv": one(self.bconv),
                "automorphism": UnitSpec(self.auto_count, self.auto_lanes) if self.auto_count
                else UnitSpec(0, default_lanes)}

    @property
    def label(self) -> str:
        return (f"ntt {self.ntt_count}x{self.ntt_lanes}, modmul {self.modmul}, modadd {self.modadd}, "
                f"bconv {self.bconv}, auto {self.auto_count}x{self.auto_lanes}")

    def toml_units(self) -> str:
        """The ``[units]`` table of this design (``sim/configs/*.toml`` format)."""
        def one(lanes):
            return f"{{ count = 1, lanes = {lanes} }}" if lanes else "0"
        return "\n".join([
            "[units]",
            f"ntt = {{ count = {self.ntt_count}, lanes = {self.ntt_lanes} }}",
            f"modmul = {{ count = 1, lanes = {self.modmul} }}",
            f"modadd = {one(self.modadd)}",
            f"bconv = {one(self.bconv)}",
            "automorphism = " + (f"{{ count = {self.auto_count}, lanes = {self.auto_lanes} }}"
                                 if self.auto_count else "0"),
        ])

    @classmethod
    def from_config(cls, cfg) -> "Design":
        """The design of a configuration (elementwise units folded to their total lanes)."""
        u = cfg.units
        return cls(u["ntt"].count, u["ntt"].lanes, u["modmul"].total_lanes, u["modadd"].total_lanes,
                   u["bconv"].total_lanes, u["automorphism"].count,
                   u["automorphism"].lanes if u["automorphism"].count else 0)


#: Bytes of one RAMB36E2 (36 Kib) and one URAM288 (288 Kib).
BRAM36_BYTES, URAM_BYTES = 36 * 1024 // 8, 288 * 1024 // 8


def ram_bytes(device) -> int | None:
    """Block RAM plus UltraRAM of ``device`` in bytes (2,016 x 4,608 + 960 x 36,864 = 44.7 MB
    on the U280); ``None`` when the device does not budget them."""
    if device.bram36 is None or device.uram is None:
        return None
    return int(device.bram36 * BRAM36_BYTES + device.uram * URAM_BYTES)


def platform(device: str):
    """``(base configuration, Device budget)`` of a device name; ``ValueError`` naming it
    when unknown."""
    from sim.cycle.config import load_config
    from sim.synth.resources import U280, device_for

    if device not in DEVICES:
        raise ValueError(f"unknown device {device!r} (known devices: {', '.join(sorted(DEVICES))})")
    base = load_config(DEVICES[device])
    return base, (device_for(base) or U280)


def design_config(base, d: Design, *, execution: str | None = None, overlap: str | None = None):
    """``base`` (platform) with the units of ``d``, field-checked like a loaded file; whether it
    fits the device is :meth:`Explorer.fit`."""
    return replace(base, units=MappingProxyType(d.units(base.lanes)), name=f"{base.name}-dse",
                   execution=execution or base.execution, overlap=overlap or base.overlap,
                   description=f"{base.name} platform, explored design: {d.label}")


def grid_designs(spec: dict, seed: Design | None = None) -> list[Design]:
    """The coarse grid (and ``seed``, the device preset's mix, first)."""
    out = [seed] if seed is not None else []
    for P in spec["ntt_lanes"]:
        for c in spec["ntt_count"]:
            for mm in spec["modmul"]:
                for bc in spec["bconv"]:
                    for ma in spec["modadd"]:
                        for ac, al in spec["automorphism"]:
                            d = Design(c, P, mm, ma, bc, ac, al)
                            if d not in out:
                                out.append(d)
    return out


def _lanes_steps(v: int, *, allow_zero: bool) -> list[int]:
    """Neighbouring lane counts: x 2, 1.25, 0.8, 0.5 and +-16, +-32, in multiples of 8
    (and 0, the kernels on the modmul lanes, if allowed)."""
    out = set()
    if v == 0:
        return [64] if allow_zero else []
    for w in [int(round(v * f / 8)) * 8 for f in (2.0, 1.25, 0.8, 0.5)] + [v - 32, v - 16, v + 16, v + 32]:
        if w >= 8 and w != v:
            out.add(w)
    if allow_zero:
        out.add(0)
    return sorted(out)


def neighbours(d: Design) -> list[Design]:
    """Single-parameter steps from ``d`` (the refinement's moves)."""
    out = []
    for c in (d.ntt_count - 1, d.ntt_count + 1):
        if c >= 1:
            out.append(replace(d, ntt_count=c))
    if d.ntt_lanes >= 16:
        out.append(replace(d, ntt_lanes=d.ntt_lanes // 2))
        out.append(replace(d, ntt_lanes=d.ntt_lanes // 2, ntt_count=2 * d.ntt_count))
    out.append(replace(d, ntt_lanes=d.ntt_lanes * 2))
    if d.ntt_count % 2 == 0:
        out.append(replace(d, ntt_lanes=d.ntt_lanes * 2, ntt_count=d.ntt_count // 2))
    out += [replace(d, modmul=v) for v in _lanes_steps(d.modmul, allow_zero=False)]
    out += [replace(d, bconv=v) for v in _lanes_steps(d.bconv, allow_zero=True)]
    # adders cost LUTs only: coarse steps (x2, /2, none), no drift for negligible gains
    out += [replace(d, modadd=v) for v in ((d.modadd * 2, d.modadd // 2, 0) if d.modadd else (256,))
            if v != d.modadd and (v == 0 or v >= 8)]
    if d.auto_count:
        out += [replace(d, auto_lanes=v) for v in (d.auto_lanes // 2, d.auto_lanes * 2) if v >= 8]
        out += [replace(d, auto_count=c) for c in (d.auto_count - 1, d.auto_count + 1) if c >= 1]
    return [n for n in out if n != d]
