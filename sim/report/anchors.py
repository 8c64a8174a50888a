"""Published figures the report compares against, each with its source (from docs/sources.md).

``[V]``: read in the primary source; ``[S]``: from a follow-up paper's table (the HE^2 table
for the ASICs), as docs/sources.md marks them. Times are for the benchmark definitions of those
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
    Anchor("100x (Jung et al., TCHES 2021)", "gpu", "V100", 328.0, None, "TCHES 2021 [V]"),
    Anchor("TensorFHE (HPCA 2023)", "gpu", "A100", 250.0, 4.94, "Cheddar README [V]"),
    Anchor("Cheddar", "gpu", "A100-80", 40.0, 1.32, "Cheddar README [V]"),
    Anchor("Cheddar", "gpu", "H100", 31.2, 1.05, "Cheddar README [V]"),
    Anchor("Cheddar", "gpu", "RTX 5090", 22.1, 0.72, "Cheddar README [V]"),
    Anchor("BTS (ISCA 2022)", "asic", "simulated ASIC", 22.9, 1.910, "HE^2 table [S]"),
    Anchor("CraterLake (ISCA 2022)", "asic", "simulated ASIC", 6.32, 0.321, "HE^2 table [S]"),
    Anchor("ARK (MICRO 2022)", "asic", "simulated ASIC", 3.52, 0.125, "HE^2 table [S]"),
    Anchor("SHARP (ISCA 2023)", "asic", "simulated ASIC, 1 GHz", 3.12, 0.099, "HE^2 table [S]"),
    Anchor("CraterLake (ISCA 2022), own paper", "asic", "simulated ASIC", 3.91, 0.24945,
           "the paper's results as summarised in Wang0206/FHE-Paper-HW-Architecture [S] "
           "(packed bootstrapping; its benchmark definition is not the HE^2 table's)"),
    Anchor("Lee et al. (ICML 2022), rerun by AutoFHE", "cpu", "96 vCPU, SEAL", None, 9481.0,
           "AutoFHE, USENIX Security 2024 [V]"),
    Anchor("DESILO FHE 2.0 (this project's machine)", "cpu", "2 cores", 67_700.0, None,
           "measured here (docs/sources.md)"),
)

@dataclass(frozen=True)
class Validation:
    """A preset that mimics a published design and the figures it is compared with.

    ``anchors``: anchor systems (first = the primary comparison, the HE^2 table's benchmark
    definition); ``hardware``: how the preset's hardware is grounded ([V], [S], [R] as in
    docs/sources.md; [R] = recalled, not re-read); ``note``: the gap analysis in one line
    (docs/cycle-model.md, "Validation against published designs", has the numbers).
    """

    preset: str
    anchors: tuple[str, ...]
    hardware: str
    note: str


#: Presets that mimic a published accelerator (sim/configs/*.toml cite each figure).
VALIDATIONS: tuple[Validation, ...] = (
    Validation("sharp", ("SHARP (ISCA 2023)",), "[S] HE^2 table + ForgeHomulator's SHARP config",
               "memory-bound: evaluation keys and plaintext diagonals are read in full (key_GB, "
               "plaintext_GB); whether SHARP generates key halves or plaintexts on chip, and its "
               "own bootstrapping parameters, are not in the sources"),
    Validation("ark", ("ARK (MICRO 2022)",), "[S] FHE_Accelerator_Sim (ARK Tables III/IV); MADU lanes assumed",
               "memory-bound on evaluation keys (key_GB): this trace's 45 limbs at the top level "
               "in 64-bit words, where ARK's own parameters have 30 (N = 2^16, L = 23, dnum 4), and "
               "ARK's Min-KS reorders the circuit to reuse keys; plaintexts are generated on chip"),
    Validation("craterlake", ("CraterLake (ISCA 2022)", "CraterLake (ISCA 2022), own paper"),
               "[S] lanes, word, register file, unit kinds; [R] clock, bandwidth, unit counts",
               "memory-bound at the recalled 1 TB/s (plaintexts, and key halves with the KSHGen); "
               "the model is faster than the HE^2 figure and within 2x of the paper's own figure, "
               "whose benchmark definition differs"),
)
#: preset -> primary anchor (kept for callers of the earlier single-anchor mapping).
VALIDATION: dict[str, str] = {v.preset: v.anchors[0] for v in VALIDATIONS}
#: Presets of published designs that cannot run the benchmark, with the reason.
NOT_COMPARABLE: dict[str, str] = {
    "f1": "F1's NTT units are built for N <= 2^14; the benchmark is N = 2^16 (no published "
          "F1 bootstrapping figure in docs/sources.md)",
}


def anchor(system: str) -> Anchor:
    for a in ANCHORS:
        if a.system == system:
            return a
    raise KeyError(system)
