"""``reports/synth.csv``: synthesised resources per unit, so reports never re-run Yosys.

One row per unit name (:mod:`sim.synth.units`); a new synthesis of a unit replaces its row.
``src`` is the digest of the generator sources (:func:`sim.rtl.build.source_digest`) at
synthesis time: rows whose digest differs from the current sources are reported as
``stale`` (still used, flagged in every output).
"""
from __future__ import annotations

import csv
from pathlib import Path

from sw.atomicio import atomic_open

from .units import parse_unit

REPO_ROOT = Path(__file__).resolve().parents[2]
DEFAULT_CACHE = REPO_ROOT / "reports" / "synth.csv"
COLUMNS = ["unit", "kind", "multiplier", "width", "n", "lanes", "q", "lut", "lut_logic",
           "lut_mem", "ff", "dsp", "bram36", "uram", "carry", "cells", "unknown_cells",
           "latency", "throughput", "yosys", "src", "seconds", "scaling", "buffering"]
_INT = {"width", "n", "lanes", "q", "lut", "lut_logic", "lut_mem", "ff", "dsp", "uram",
        "carry", "cells", "latency"}
_FLOAT = {"bram36", "throughput", "seconds"}


def current_src() -> str:
    from sim.rtl.build import source_digest
    return source_digest()[:16]


def _integer(text) -> int:
    if text in ("", None):
        return 0
    try:
        return int(text)
    except ValueError:
        return int(float(text))


def read_cache(path: str | Path | None = None) -> dict[str, dict]:
    """``{unit name: row}`` from the CSV (empty when the file does not exist)."""
    p = Path(path) if path else DEFAULT_CACHE
    if not p.is_file():
        return {}
    rows = {}
    with open(p, newline="") as f:
        for raw in csv.DictReader(f):
            row = {}
            for k, v in raw.items():
                if k in _INT:      # int() first: a 64-bit q does not survive float()
                    row[k] = _integer(v)
                elif k in _FLOAT:
                    row[k] = float(v) if v not in ("", None) else 0.0
                else:
                    row[k] = v or ""
            rows[row["unit"]] = row
    return rows


def write_cache(rows: dict[str, dict], path: str | Path | None = None) -> Path:
    p = Path(path) if path else DEFAULT_CACHE
    p.parent.mkdir(parents=True, exist_ok=True)
    with atomic_open(p, "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=COLUMNS, extrasaction="ignore")
        w.writeheader()
        for name in sorted(rows, key=_order):
            w.writerow(rows[name])
    return p


def _order(name: str):
    u = parse_unit(name)
    kinds = {"modmul": 0, "ct": 1, "gs": 2, "ntt": 3, "mac": 4, "bconv": 5, "automorphism": 6}
    return (kinds[u.kind], u.multiplier, u.scaling, u.buffering, u.width, u.n, u.lanes, u.src,
            u.dst)


def synthesize_unit(unit, *, timeout: float = 1800) -> dict:
    """Synthesise one :class:`~sim.synth.units.SynthUnit`; return its cache row."""
    from .yosys import resources_from_cells, synthesize_rtlil_flow, yosys_version

    comp = unit.component()
    props = {"latency": int(comp.latency), "throughput": float(comp.throughput)}
    # abc9 (Yosys 0.70) asserts on the NTT units after minutes of work: go straight to abc
    flows = ("abc",) if unit.kind == "ntt" else ("abc9", "abc")
    cells, seconds, flow = synthesize_rtlil_flow(unit.rtlil(comp), timeout=timeout, flows=flows)
    row = {"unit": unit.name, "kind": unit.kind, "multiplier": unit.multiplier,
           "width": unit.width, "n": unit.n, "lanes": unit.lanes, "q": unit.spec().q,
           **resources_from_cells(cells), **props, "yosys": f"{yosys_version()} ({flow})",
           "src": current_src(), "seconds": round(seconds, 1),
           "scaling": unit.scaling if unit.kind == "ntt" else "",
           "buffering": unit.buffering if unit.kind == "ntt" else ""}
    return row
