"""Energy of a cycle-model estimate from a design's stated power.

Rule: ``energy = power_w x seconds`` per operation, per label and per workload, with
``power_w`` the design's stated *average* power (SHARP: 94.7 W, Kim et al., ISCA 2023,
docs/sources.md); the energy-delay product is ``energy x seconds``. A stated average power
already averages the design's activity over its benchmarks; the model does not re-weight it
by the activity of each operation (that needs per-unit energies, which the sources used
here do not give). A configuration that states no power is refused with a message naming
the field ``power_w``: there is no default. A design that states only its peak power
(``power_basis = "peak"``) gets the same product as an *upper bound*, labelled so wherever
it is reported. An FPGA's power depends on its placed design (resources and toggle rates);
no cited coefficients for such a model are in docs/sources.md, so an FPGA preset states a
``power_w`` only where its paper gives one (``poseidon``: the mean of its benchmarks'
stated energy / time, docs/accelerator-config.md), and ``u280`` states none: its energy is
refused the same way.
"""
from __future__ import annotations

from .config import AcceleratorConfig


def energy_of(cfg: AcceleratorConfig, seconds: float) -> dict:
    """``{"power_w", "joules", "edp_js", "basis", "upper_bound"}`` of ``seconds`` on ``cfg``.

    ``basis`` is ``cfg.power_basis``: with ``"peak"`` (the design states only a maximum, e.g.
    BTS's "up to 163.2 W") ``joules`` and ``edp_js`` are upper bounds and ``upper_bound`` is
    true; with ``"average"`` they are the estimate of the module docstring.

    Raises
    ------
    ValueError
        ``cfg.power_w`` is not stated.
    """
    if cfg.power_w is None:
        raise ValueError(f"accelerator config {cfg.origin}: energy needs field 'power_w' (the "
                         f"design's stated average power in W), which this {cfg.kind} preset does not state")
    joules = cfg.power_w * seconds
    return {"power_w": cfg.power_w, "joules": joules, "edp_js": joules * seconds,
            "basis": cfg.power_basis, "upper_bound": cfg.power_basis == "peak"}
