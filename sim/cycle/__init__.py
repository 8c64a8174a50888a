"""The cycle model: an op trace and an accelerator description in, cycles and seconds out.

* :mod:`sim.cycle.config`    accelerator descriptions (TOML), their declared field rules, presets;
* :mod:`sim.cycle.checks`    the field rules and the one function that checks them;
* :mod:`sim.cycle.algorithm` the ``[algorithm]`` table: sw options the workloads are traced with;
* :mod:`sim.cycle.hwprops`   timings and memories read from the ``hw`` components;
* :mod:`sim.cycle.events`    the model's workload format (operations and kernel calls);
* :mod:`sim.cycle.adapters`  conversion from the CKKS op trace (``sw.trace``);
* :mod:`sim.cycle.units`     kernel costs read from the ``hw`` components' properties;
* :mod:`sim.cycle.model`     roll-up per operation / label / total with data movement;
* :mod:`sim.cycle.workloads` built-in CKKS operation workloads (dry-run traces).

The rules are documented in ``docs/accelerator-config.md``.
"""
from .algorithm import AlgorithmOptions
from .config import AcceleratorConfig, UnitSpec, load_config, loads_config, preset_names
from .events import Kernel, KeyUse, Op
from .model import Estimate, estimate

__all__ = ["AlgorithmOptions", "AcceleratorConfig", "UnitSpec", "load_config", "loads_config", "preset_names",
           "Kernel", "KeyUse", "Op", "Estimate", "estimate"]
