"""``fhesim trace``: the op trace of one encrypted ResNet inference, for the cycle model.

Usage::

    fhesim trace --model resnet110 --geometry cifar32 --params n16-128 --dry-run [--out FILE]
                 [--format 2|1] [--no-replay] [--json]

``--dry-run`` walks the same code path as ``fhesim infer`` (key generation, encryption,
every linear layer, activation and bootstrap) on shape-only placeholders
(:func:`sw.nn.trace.trace_resnet`): nothing is encrypted and no weights are needed.
Identical layers and bootstraps are recorded once and replayed (``--no-replay``: record
every call; same trace, slower), so ResNet-110 at N = 2^16 is traced in seconds.

``--out FILE`` writes the trace (``docs/trace-format.md``): format ``fhesim-trace-2``
(compact: each distinct event shape once; the default) or ``--format 1`` (nested events,
``fhesim-trace-1``); gzip-compressed when FILE ends in ``.gz``. Both are read by
``fhesim estimate --trace`` and ``sim.cycle.adapters.ops_from_trace``. Prints a summary by
operation kind.
"""
from __future__ import annotations

import argparse
import json
import sys
import time
import warnings

from . import check_output_path


def run_trace(model: str, geometry: str, params_name: str, *, method: str = "composite", degree: int = 15,
              allow_insecure: bool = False, out: str | None = None, dry_run: bool = True,
              version: int = 2, replay: bool = True, sparse_bootstrap: bool = False) -> dict:
    from sw.nn.trace import trace_resnet

    if not dry_run:
        raise ValueError("fhesim trace: only --dry-run is supported (use fhesim infer for real runs)")
    t0 = time.time()
    tr = trace_resnet(model, geometry, params_name, method=method, degree=degree,
                      allow_insecure=allow_insecure, replay=replay, sparse_bootstrap=sparse_bootstrap)
    rec = tr.recorder
    summary = rec.summary()
    write_s = None
    if out:
        t1 = time.time()
        rec.to_json(path=out, version=version)
        write_s = round(time.time() - t1, 2)
    return dict(model=model, geometry=geometry, params=params_name, method=method, degrees=tr.degrees,
                slots=tr.slots, bootstraps=tr.bootstraps, levels_consumed=tr.levels_consumed,
                rotation_keys=tr.rotation_keys, events=int(summary["events"]),
                top_level_ops=summary["top_level_ops"], kernels=summary["kernels"],
                seconds=round(tr.seconds, 2), write_seconds=write_s, total_seconds=round(time.time() - t0, 2),
                replayed_calls=tr.replay_hits, recorded_calls=tr.replay_misses,
                format=f"fhesim-trace-{version}" if out else None, out=out)


def _cmd(args: argparse.Namespace) -> int:
    try:
        if args.out:
            check_output_path(args.out, "--out")
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            res = run_trace(args.model, args.geometry, args.params, method=args.method, degree=args.degree,
                            allow_insecure=args.allow_insecure, out=args.out, dry_run=args.dry_run,
                            version=args.format, replay=not args.no_replay,
                            sparse_bootstrap=args.sparse_bootstrap)
    except (ValueError, KeyError, OSError) as e:
        print(f"fhesim trace: error: {e}", file=sys.stderr)
        return 2
    if args.json:
        print(json.dumps(res, indent=2))
        return 0
    print(f"{res['model']} / {res['geometry']} on {res['params']} ({res['method']} {res['degrees']}): "
          f"{res['bootstraps']} bootstraps, {res['levels_consumed']} levels, {res['slots']} slots, "
          f"{res['rotation_keys']} CNN rotation keys; {res['events']} events in {res['seconds']} s "
          f"({res['recorded_calls']} calls recorded, {res['replayed_calls']} replayed)"
          + (f"; {res['format']} written to {res['out']} in {res['write_seconds']} s" if res["out"] else ""))
    print("top-level ops:", ", ".join(f"{k} {v}" for k, v in sorted(res["top_level_ops"].items())))
    print("kernels:", ", ".join(f"{k} {v}" for k, v in sorted(res["kernels"].items())))
    return 0


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser("trace", help="op trace of one encrypted ResNet inference (dry run)")
    p.add_argument("--model", default="resnet20", choices=["resnet20", "resnet32", "resnet44", "resnet56", "resnet110"])
    p.add_argument("--geometry", default="cifar32", choices=["digits8", "cifar32"])
    p.add_argument("--params", default="n16-128", metavar="NAME")
    p.add_argument("--method", default="composite", choices=["composite", "data-guided"])
    p.add_argument("--degree", type=int, default=15)
    p.add_argument("--dry-run", action="store_true", help="shape-only run (required)")
    p.add_argument("--allow-insecure", action="store_true")
    p.add_argument("--out", metavar="FILE", help="write the trace here (.gz: gzip-compressed)")
    p.add_argument("--format", type=int, choices=[1, 2], default=2,
                   help="trace file format: 2 = compact fhesim-trace-2 (default), 1 = nested fhesim-trace-1")
    p.add_argument("--no-replay", action="store_true",
                   help="record every layer and bootstrap instead of replaying identical ones (slow)")
    p.add_argument("--sparse-bootstrap", action="store_true",
                   help="bootstrap each stage at its own slot period (as fhesim infer --sparse-bootstrap)")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=_cmd)
