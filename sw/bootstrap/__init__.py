"""CKKS bootstrapping on top of :mod:`sw.ckks` and :mod:`sw.circuits` (see
``docs/bootstrapping.md``)."""
from .bootstrapper import (BootstrapConfig, BootstrapError, BootstrapKeys, Bootstrapper,
                           gen_bootstrap_keys, rotation_steps, with_levels_left)
from .evalmod import EvalModSpec, overflow_probability

__all__ = ["BootstrapConfig", "BootstrapError", "BootstrapKeys", "Bootstrapper", "EvalModSpec",
           "gen_bootstrap_keys", "overflow_probability", "rotation_steps", "with_levels_left"]
