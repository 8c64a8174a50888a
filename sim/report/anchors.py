"""Published figures the report compares against, each with its source (from ANCHORS.md).

``[V]``: read in the primary source; ``[S]``: from a follow-up paper's table (the HE^2 table
for the ASICs), as ANCHORS.md marks them. Times are for the benchmark definitions of those
tables: fully packed bootstrapping with 8 usable levels after it; ResNet-20 with multiplexed
packing, one 32x32x3 CIFAR-10 image.
"""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Anchor:
    system: str
    kind: str                   # gpu | asic | fpga | cpu
    device: str
    bootstrap_ms: float | None
    resnet20_s: float | None
    source: str


ANCHORS: tuple[Anchor, ...] = (
    Anchor("100x (Jung et al., TCHES 2021)", "gpu", "V100", 328.0, None, "TCHES 2021 [V] (ANCHORS.md)"),
    Anchor("TensorFHE (HPCA 2023)", "gpu", "A100", 250.0, 4.94, "Cheddar README [V] (ANCHORS.md)"),
    Anchor("Cheddar", "gpu", "A100-80", 40.0, 1.32, "Cheddar README [V] (ANCHORS.md)"),
    Anchor("Cheddar", "gpu", "H100", 31.2, 1.05, "Cheddar README [V] (ANCHORS.md)"),
    Anchor("Cheddar", "gpu", "RTX 5090", 22.1, 0.72, "Cheddar README [V] (ANCHORS.md)"),
    Anchor("BTS (ISCA 2022)", "asic", "simulated ASIC", 22.9, 1.910, "HE^2 table [S] (ANCHORS.md)"),
    Anchor("CraterLake (ISCA 2022)", "asic", "simulated ASIC", 6.32, 0.321, "HE^2 table [S] (ANCHORS.md)"),
    Anchor("ARK (MICRO 2022)", "asic", "simulated ASIC", 3.52, 0.125, "HE^2 table [S] (ANCHORS.md)"),
    Anchor("SHARP (ISCA 2023)", "asic", "simulated ASIC, 1 GHz", 3.12, 0.099, "HE^2 table [S] (ANCHORS.md)"),
    Anchor("Lee et al. (ICML 2022), rerun by AutoFHE", "cpu", "96 vCPU, SEAL", None, 9481.0,
           "AutoFHE, USENIX Security 2024 [V] (ANCHORS.md)"),
    Anchor("DESILO FHE 2.0 (this project's machine)", "cpu", "2 cores", 67_700.0, None,
           "measured here (ANCHORS.md)"),
)

#: Presets that mimic a published accelerator: preset name -> the anchor it is validated against.
#: Only designs whose stated hardware is known well enough to build a preset (ANCHORS.md,
#: docs/cycle-model.md "Validation"); BTS, CraterLake and ARK list only the word size there.
#: F1 has a preset (sim/configs/f1.toml) but no fully packed bootstrapping at N = 2^16.
VALIDATION: dict[str, str] = {"sharp": "SHARP (ISCA 2023)"}


def anchor(system: str) -> Anchor:
    for a in ANCHORS:
        if a.system == system:
            return a
    raise KeyError(system)
