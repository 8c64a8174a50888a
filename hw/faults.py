"""Fault injection shared by the key-switching units: validate an output bit-flip ``fault=``.

:class:`hw.bconv.BconvUnit`, :class:`hw.automorphism.AutomorphismUnit` and
:class:`hw.elementwise.ElementwiseUnit` take an optional ``fault`` dict that flips one bit
of one output word (to show that the HW-vs-SW compare finds and locates a hardware error,
:mod:`sim.compare`). The fault is applied at elaboration time: a unit built without it has
no fault logic at all. :func:`check_fault` checks the dict against the keys a unit allows.
"""
from __future__ import annotations

__all__ = ["check_fault"]


def check_fault(fault, keys: dict[str, tuple[int, int]], width: int) -> dict | None:
    """Validate ``fault`` (``None`` or a dict) and return it with its defaults filled in.

    ``keys`` maps each allowed key but ``"bit"`` to its ``(lo, hi)`` range (``hi``
    excluded); ``"bit"`` (default 0) must lie in ``[0, width)``. Every key of ``keys`` is
    required. Raises ``ValueError`` naming the offending key.
    """
    if fault is None:
        return None
    if not isinstance(fault, dict):
        raise ValueError(f"fault={fault!r} must be a dict or None")
    allowed = set(keys) | {"bit"}
    unknown = set(fault) - allowed
    if unknown:
        raise ValueError(f"fault has unknown keys {sorted(unknown)}; allowed: {sorted(allowed)}")
    out = {}
    for key, (lo, hi) in {**keys, "bit": (0, width)}.items():
        if key not in fault and key != "bit":
            raise ValueError(f"fault={fault!r} lacks the key {key!r}")
        v = fault.get(key, 0)
        if isinstance(v, bool) or not isinstance(v, int) or not lo <= v < hi:
            raise ValueError(f"fault[{key!r}]={v!r} must be an int in [{lo}, {hi})")
        out[key] = v
    return out
