"""Helpers shared by the cocotb test modules (config in, results out, stimulus values).

The runner (:mod:`sim.rtl.runner`) writes the run configuration to a JSON file and passes
its path in ``FHESIM_RTL_CONFIG``; the test writes its verdict to ``cfg["result_path"]``.
"""
from __future__ import annotations

import json
import os
import random
from pathlib import Path

from sw.atomicio import atomic_write_text


def load_config() -> dict:
    path = os.environ.get("FHESIM_RTL_CONFIG")
    if not path:
        raise RuntimeError("FHESIM_RTL_CONFIG is not set: run this test through sim.rtl.runner")
    return json.loads(Path(path).read_text())


def write_result(cfg: dict, result: dict) -> None:
    atomic_write_text(cfg["result_path"], json.dumps(result, indent=1, default=int))



async def run_with_verdict(dut, cfg: dict, body, describe: str) -> None:
    """Run the bench coroutine ``body(dut, cfg)`` and always leave a verdict.

    The result JSON is written whether ``body`` returns (its result dict) or raises (an
    infrastructure or protocol failure, recorded with ``pass = False`` and the error); the
    cocotb test then fails unless the result passed. ``describe`` names the case in the
    failure message.
    """
    try:
        result = await body(dut, cfg)
    except Exception as e:
        write_result(cfg, {"kind": cfg["kind"], "label": cfg["label"], "seed": cfg["seed"],
                           "pass": False, "error": f"{type(e).__name__}: {e}",
                           "vectors_checked": 0, "mismatches": None})
        raise
    write_result(cfg, result)
    assert result["pass"], (f"{describe}: {result['mismatches']} mismatches, "
                            f"timeouts={result['timeouts']}, timing={result['timing']}; "
                            f"first: {result['first_mismatch']}")

async def run_returning_arrays(dut, body) -> None:
    """A replay test: ``(result, arrays) = await body(dut, cfg)``; the arrays go to
    ``cfg["result_npz"]`` and the result to ``result.json``. A failure writes its error as
    the result (so the host reports it) and is raised again for cocotb."""
    import numpy as np

    cfg = load_config()
    try:
        result, arrays = await body(dut, cfg)
    except Exception as e:
        write_result(cfg, {"label": cfg["label"], "error": f"{type(e).__name__}: {e}"})
        raise
    np.savez(cfg["result_npz"], **arrays)
    write_result(cfg, result)


def corner_values(q: int) -> tuple[int, ...]:
    return (0, 1, q - 1)


def edge_value(rng: random.Random, q: int) -> int:
    """A value near the interesting boundaries of [0, q)."""
    small = min(q, 1 << 16)
    c = rng.randrange(8)
    if c == 0:
        return rng.randrange(small)
    if c == 1:
        return q - 1 - rng.randrange(small)
    if c == 2:
        return (1 << rng.randrange(q.bit_length())) % q
    if c == 3:
        return (q >> 1) + rng.randrange(-2, 3)
    return rng.choice((0, 1, 2, q - 1, q - 2, q - 3))


def residue(rng: random.Random, q: int) -> int:
    """70 % uniform in [0, q), 30 % near a boundary."""
    return rng.randrange(q) if rng.random() < 0.7 else edge_value(rng, q)


def timing_verdict(props: dict, measured: dict) -> dict:
    """Compare measured timing numbers with the unit's modelled properties."""
    out = {}
    for key, mval in measured.items():
        model = props.get(key)
        if model is None or mval is None:
            out[key] = {"modelled": model, "measured": mval, "ok": False}
            continue
        if isinstance(model, float) or isinstance(mval, float):
            ok = abs(float(mval) - float(model)) <= 1e-9 * max(1.0, abs(float(model)))
        else:
            ok = int(mval) == int(model)
        out[key] = {"modelled": model, "measured": mval, "ok": ok}
    return out
