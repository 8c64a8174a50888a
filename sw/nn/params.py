"""Parameter sets for the encrypted ResNets.

Named sets come from :func:`sw.ckks.get_params`. ``toy-boot-n11`` (N = 2^11, the
bootstrapping layout of ``toy-boot-n10``/``n16-128``: 16 application levels after
bootstrapping, 1024 slots) is the smallest ring whose N/2 slots hold the 8x8x16 multiplexed
tensor of the ``digits8`` ResNets; until it is added to :mod:`sw.ckks.params` it is built
here with the same shape. It is INSECURE and needs the same explicit opt-in.
"""
from __future__ import annotations

import sys
import warnings

from sw.ckks import CkksParams, get_params, list_params
from sw.ckks.errors import InsecureParametersError, InsecureParametersWarning

__all__ = ["resolve_params", "EXTRA_SETS"]

EXTRA_SETS = {"toy-boot-n11": 11}
_BUILT: dict = {}


def resolve_params(name: str, allow_insecure: bool = False) -> CkksParams:
    if name in list_params():
        return get_params(name, allow_insecure=allow_insecure)
    if name not in EXTRA_SETS:
        raise KeyError(f"unknown parameter set {name!r}; known: {list_params() + list(EXTRA_SETS)}")
    if not allow_insecure:
        raise InsecureParametersError(f"{name!r} is INSECURE (N=2^{EXTRA_SETS[name]}); pass "
                                      "allow_insecure=True (--allow-insecure) to use it for tests")
    if name not in _BUILT:
        from sw.ckks import params as _p
        shape = getattr(_p, "_BOOT_SHAPE_V2", None)
        if shape is None:   # the layout of docs/bootstrapping.md
            shape = [1] * 16 + [2, 1, 1] + [2] * 8 + [2] * 3
        _BUILT[name] = CkksParams.build(name, EXTRA_SETS[name], shape, dnum=4, security=None)
    p = _BUILT[name]
    msg = f"fhesim: INSECURE CKKS parameters {name!r} (n=2^{p.log_n}, log2 QP={p.log_qp:.0f}): tests only"
    warnings.warn(msg, InsecureParametersWarning, stacklevel=2)
    print(msg, file=sys.stderr)
    return p
