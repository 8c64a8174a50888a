"""``fhesim estimate``: projected accelerator latency of a workload on a configuration.

    fhesim estimate --config NAME_OR_PATH [--trace FILE | --workload NAME] [--params SET]
                    [--top K] [--json]
    fhesim estimate --list

``--config`` takes a preset name (``fhesim estimate --list``) or a TOML file
(``docs/accelerator-config.md``). ``--trace`` reads an op-trace JSON written by
``sw.trace`` (``rec.to_json()``); ``--workload`` traces a built-in CKKS operation workload
in dry-run mode (``cmult``, ``rotate``, ``mulrot``; labelled as such in the output).
"""
from __future__ import annotations

import argparse
import json
import sys


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "estimate", help="projected latency of a workload on an accelerator configuration",
        description="Cycle model: kernel costs from the RTL units' properties, data movement "
                    "from ciphertext, plaintext and key bytes that do not fit on chip.")
    parser.add_argument("--config", help="preset name or path to an accelerator TOML file")
    src = parser.add_mutually_exclusive_group()
    src.add_argument("--trace", metavar="FILE", help="op-trace JSON written by sw.trace")
    src.add_argument("--workload", metavar="NAME",
                     help="built-in CKKS operation workload (cmult, rotate, mulrot)")
    parser.add_argument("--params", default=None,
                        help="CKKS parameter set for --workload (default n16-128)")
    parser.add_argument("--top", type=int, default=5, help="contributors to list (default 5)")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.add_argument("--list", action="store_true", help="list presets and workloads")
    parser.set_defaults(func=run)


def _fail(msg: str) -> int:
    print(f"fhesim estimate: {msg}", file=sys.stderr)
    return 2


def run(args) -> int:
    from sim.cycle import config as cfgmod
    from sim.cycle import workloads

    if args.list:
        for name in cfgmod.preset_names():
            cfg = cfgmod.load_config(name)
            print(f"preset   {name:10s} {cfg.description}")
        for name in workloads.workload_names():
            print(f"workload {name:10s} {workloads.WORKLOADS[name][0]}")
        return 0
    if not args.config:
        return _fail("--config NAME_OR_PATH is required (see --list)")
    try:
        cfg = cfgmod.load_config(args.config)
    except ValueError as exc:
        return _fail(str(exc))
    try:
        if args.trace:
            from sim.cycle.adapters import ops_from_trace
            ops, notes = ops_from_trace(args.trace)
            notes.insert(0, f"trace file {args.trace}")
            workload = args.trace
        else:
            name = args.workload or "mulrot"
            ops, notes = workloads.workload_ops(name, args.params or workloads.DEFAULT_PARAMS)
            workload = name
    except ImportError as exc:
        return _fail(f"built-in workloads trace the CKKS layer (sw.ckks), which failed to import: {exc}")
    except (ValueError, OSError) as exc:
        return _fail(str(exc))
    from sim.cycle.model import estimate

    try:
        est = estimate(ops, cfg, notes=notes)
    except ValueError as exc:     # e.g. a ring degree beyond the design's NTT units
        print(f"fhesim estimate: {exc}", file=sys.stderr)
        return 2
    top = max(1, args.top)
    by_label = est.by_label().head(top)
    by_op = est.by_op().sort_values("cycles", ascending=False, kind="stable").head(top)
    by_kernel = est.by_kernel().head(top)
    if args.json:
        out = {
            "workload": workload,
            "config": cfg.summary(),
            "total": est.total(),
            "top_ops": json.loads(by_op.to_json(orient="records")),
            "top_labels": json.loads(by_label.to_json(orient="records")),
            "top_kernels": json.loads(by_kernel.to_json(orient="records")),
            "notes": est.notes,
        }
        print(json.dumps(out, indent=2))
        return 0
    tot = est.total()
    print(f"== fhesim estimate: {workload} on {cfg.name} ==")
    print(f"config: {cfg.clock_mhz:g} MHz, {cfg.word_bits}-bit words, on chip "
          f"{cfg.on_chip_bytes / 1e6:g} MB, off chip {cfg.off_chip_gbps:g} GB/s"
          + (f"; source: {cfg.source}" if cfg.source else ""))
    print(f"total: {tot['cycles']:,} cycles = {tot['seconds'] * 1e3:.4f} ms over {tot['ops']} ops "
          f"({tot['memory_bound_ops']} memory-bound, {tot['compute_bound_ops']} compute-bound); "
          f"off-chip {tot['offchip_bytes'] / 1e6:.2f} MB")
    cols = ["count", "cycles", "seconds", "share", "memory_bound_ops", "rtl_backed"]
    print("\ntop operations:")
    print(by_op[["op", *cols]].to_string(index=False))
    print("\ntop labels:")
    print(by_label[["label", *cols]].to_string(index=False))
    print("\ntop kernels (compute cycles):")
    print(by_kernel.to_string(index=False))
    for note in est.notes:
        print(f"note: {note}")
    return 0
