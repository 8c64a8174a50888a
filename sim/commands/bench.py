"""``fhesim bench TARGET [--json]``: run one benchmark and print its table.

Targets are the modules of :mod:`sim.benchmarks`; each defines ``NAME``, ``HELP``,
``add_arguments(parser)`` and ``run(args) -> pandas.DataFrame``. Free-text remarks
(skipped peers, machine notes) travel in ``df.attrs["notes"]`` and are printed under
the table, or included as ``"notes"`` in the JSON object.
"""
from __future__ import annotations

import argparse
import importlib
import json
import pkgutil

from .. import benchmarks


def _targets() -> dict:
    found = {}
    for info in pkgutil.iter_modules(benchmarks.__path__):
        module = importlib.import_module(f"{benchmarks.__name__}.{info.name}")
        found[getattr(module, "NAME", info.name)] = module
    return dict(sorted(found.items()))


def emit_table(df, *, as_json: bool, title: str) -> None:
    """Print a benchmark DataFrame as text (with notes) or as one JSON object."""
    notes = list(df.attrs.get("notes", []))
    if as_json:
        print(json.dumps({"benchmark": title, "rows": json.loads(df.to_json(orient="records")),
                          "notes": notes}, indent=2))
        return
    print(f"== fhesim bench {title} ==")
    print(df.to_string(index=False))
    for note in notes:
        print(f"note: {note}")


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("bench", help="run a benchmark beside its peer and print a table")
    targets = parser.add_subparsers(dest="target", metavar="TARGET")
    targets.required = True
    for name, module in _targets().items():
        sub = targets.add_parser(name, help=getattr(module, "HELP", ""))
        sub.add_argument("--json", action="store_true", help="print JSON instead of a table")
        module.add_arguments(sub)
        sub.set_defaults(func=lambda args, m=module, n=name: _run(m, n, args))


def _run(module, name: str, args) -> int:
    import sys

    from sim.cluster import ClusterError
    try:
        df = module.run(args)
    except (ValueError, KeyError, FileNotFoundError, ClusterError) as e:
        print(f"fhesim bench {name}: error: {e}", file=sys.stderr)
        return 2
    emit_table(df, as_json=args.json, title=name)
    return 0
