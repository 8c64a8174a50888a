"""``fhesim estimate``: projected accelerator latency of a workload on a configuration.

    fhesim estimate --config NAME_OR_PATH [--trace FILE | --workload NAME | --model RESNET]
                    [--geometry G] [--params SET] [--top K] [--json]
    fhesim estimate --list

``--config`` takes a preset name (``fhesim estimate --list``) or a TOML file
(``docs/accelerator-config.md``). ``--trace`` reads an op trace written by ``sw.trace``
(either format of ``docs/trace-format.md``, ``.gz`` too; e.g. ``fhesim trace --out F``);
``--workload`` traces a workload of the registry :mod:`sim.cycle.workloads` in dry-run mode
(the CKKS operation workloads ``cmult``, ``rotate``, ``mulrot``, labelled as such in the
output; ``bootstrap``, ``bootstrap-l8``; ``resnet20`` ... ``resnet110``); ``--model`` traces
one encrypted ResNet inference of the registry (``resnet20`` ... ``resnet110``, ``--geometry
cifar32``, ``--params n16-128`` by default) with :func:`sw.nn.trace.dry_run_trace`. Prints the total and the top
contributors by operation, label, ResNet block (``top_layers``) and kernel.
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
                     help="registry workload: cmult, rotate, mulrot (CKKS operations), bootstrap, "
                          "bootstrap-l8, resnet20 ... resnet110 (see --list)")
    src.add_argument("--model", metavar="RESNET",
                     choices=["resnet20", "resnet32", "resnet44", "resnet56", "resnet110"],
                     help="one encrypted ResNet inference, dry-run traced (resnet20 ... resnet110)")
    parser.add_argument("--geometry", default="cifar32", choices=["digits8", "cifar32"],
                        help="input geometry for --model (default cifar32)")
    parser.add_argument("--params", default=None,
                        help="CKKS parameter set for --workload / --model (default n16-128)")
    parser.add_argument("--allow-insecure", action="store_true",
                        help="allow an insecure toy parameter set for --model / --workload resnet*")
    parser.add_argument("--top", type=int, default=5, help="contributors to list (default 5)")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.add_argument("--list", action="store_true", help="list presets and workloads")
    parser.set_defaults(func=run)


def _by_layer(est):
    """Cycles per ResNet block (``sim.cycle.adapters.layer_of``) and part, for traces of
    ``sw.nn.trace`` (labels ``inference/...``); empty for other workloads."""
    import pandas as pd

    from sim.cycle.adapters import layer_of

    cols = ["block", "cycles", "seconds", "share", "linear", "activation", "bootstrap", "add"]
    bl = est.by_label()
    bl = bl[bl["label"].astype(str).str.startswith("inference/")]
    if not len(bl):
        return pd.DataFrame(columns=cols)
    parts = [layer_of(x) for x in bl["label"]]
    df = bl.assign(block=[p[1] for p in parts], part=[p[2] for p in parts])
    g = df.pivot_table(index="block", columns="part", values="cycles", aggfunc="sum", fill_value=0)
    for p in ("linear", "activation", "bootstrap", "add"):
        if p not in g.columns:
            g[p] = 0
    g["cycles"] = g[["linear", "activation", "bootstrap", "add"]].sum(axis=1)
    g["seconds"] = g["cycles"] / est.config.clock_hz
    total = est.total_cycles or 1
    g["share"] = g["cycles"] / total
    g = g.reset_index().sort_values("cycles", ascending=False, kind="stable")
    return g[cols].reset_index(drop=True)


def _load(args, algorithm=None):
    """``(ops, notes, workload label)`` of ``--trace``, ``--model`` or ``--workload``
    (registry entries of :mod:`sim.cycle.workloads`, traced with the preset's ``[algorithm]``
    options ``algorithm``; a trace file records its own)."""
    from sim.cycle import workloads

    if args.trace:
        from sim.cycle.adapters import ops_from_trace
        ops, notes = ops_from_trace(args.trace)
        notes.insert(0, f"trace file {args.trace}")
        if algorithm is not None and not algorithm.is_default:
            notes.insert(1, f"the config's [algorithm] {algorithm.label()} does not apply to a trace "
                            "file (it records the algorithm it was traced with)")
        return ops, notes, args.trace
    if args.model:
        import warnings

        params = args.params or workloads.DEFAULT_PARAMS
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            ops, notes = workloads.workload_ops(args.model, params, geometry=args.geometry,
                                                allow_insecure=args.allow_insecure,
                                                algorithm=algorithm)
        notes.insert(0, f"encrypted {args.model} ({args.geometry}, {params}, one image): dry-run trace "
                        "of sw.nn.trace.dry_run_trace")
        return ops, notes, f"{args.model}/{args.geometry}/{params}"
    name = args.workload or "mulrot"
    ops, notes = workloads.workload_ops(name, args.params, geometry=args.geometry,
                                        allow_insecure=args.allow_insecure, algorithm=algorithm)
    return ops, notes, name


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
            print(f"workload {name:10s} {workloads.WORKLOADS[name].help}")
        return 0
    if not args.config:
        return _fail("--config NAME_OR_PATH is required (see --list)")
    from sim.synth.fit import check_fit

    try:
        cfg = cfgmod.load_config(args.config)
        dsp = check_fit(cfg)
    except ValueError as exc:
        return _fail(str(exc))
    try:
        ops, notes, workload = _load(args, cfg.algorithm)
    except ImportError as exc:
        return _fail(f"built-in workloads trace the CKKS layer (sw.ckks), which failed to import: {exc}")
    except (ValueError, KeyError, OSError) as exc:
        return _fail(str(exc))
    from sim.cycle.model import estimate

    try:
        est = estimate(ops, cfg, notes=notes)
    except ValueError as exc:     # e.g. a ring degree beyond the design's NTT units
        print(f"fhesim estimate: {exc}", file=sys.stderr)
        return 2
    top = max(1, args.top)
    by_label = est.by_label().sort_values("cycles", ascending=False, kind="stable").head(top)
    by_op = est.by_op().sort_values("cycles", ascending=False, kind="stable").head(top)
    by_kernel = est.by_kernel().head(top)
    by_layer = _by_layer(est).head(top)
    if args.json:
        out = {
            "workload": workload,
            "config": cfg.summary(dsp_estimate=dsp["total"] if dsp else None),
            "total": est.total(),
            "top_ops": json.loads(by_op.to_json(orient="records")),
            "top_labels": json.loads(by_label.to_json(orient="records")),
            "top_kernels": json.loads(by_kernel.to_json(orient="records")),
            "top_layers": json.loads(by_layer.to_json(orient="records")),
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
    print("\ntop labels (stage / layer):")
    print(by_label[["label", *cols]].to_string(index=False))
    if len(by_layer):
        print("\ntop layers (encrypted ResNet blocks; bootstraps counted in the block that needs them):")
        print(by_layer.to_string(index=False))
    print("\ntop kernels (compute cycles):")
    print(by_kernel.to_string(index=False))
    for note in est.notes:
        print(f"note: {note}")
    return 0
