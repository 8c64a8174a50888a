"""The ``fhesim`` command line.

Every module in :mod:`sim.commands` contributes its subcommands through a function
``register(subparsers)``; each parser it adds sets ``func(args) -> int`` (the exit
code). Subcommands that print tables accept ``--json`` for machine-readable output.

Exit codes (docs/exit-codes.md): 0 ok, 1 mismatch found, 2 usage or input error, 3
inconsistent trace, 130 interrupted.
"""
from __future__ import annotations

import argparse
import importlib
import pkgutil
import sys

from sw.heap import heap_choice

from . import commands


def build_parser() -> argparse.ArgumentParser:
    """The top-level parser with every discovered subcommand registered."""
    parser = argparse.ArgumentParser(
        prog="fhesim",
        description="CKKS hardware/software co-design simulator: RTL verification, "
        "bit-exact software CKKS, cycle model and reports.",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True
    for info in sorted(pkgutil.iter_modules(commands.__path__), key=lambda m: m.name):
        module = importlib.import_module(f"{commands.__name__}.{info.name}")
        register = getattr(module, "register", None)
        if register is None:
            raise RuntimeError(f"sim.commands.{info.name} defines no register(subparsers)")
        register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Parse ``argv`` (default: ``sys.argv[1:]``), run the chosen subcommand, return its exit code."""
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        heap_choice()                   # a bad FHESIM_HEAP is refused before any work
    except ValueError as exc:
        print(f"fhesim: {exc}", file=sys.stderr)
        return 2
    try:
        return int(args.func(args) or 0)
    except KeyboardInterrupt:
        print("fhesim: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
