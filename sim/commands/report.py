"""``fhesim report``: regenerate the reports directory (``make report``).

    fhesim report [--out reports/] [--quick] [--traces DIR] [--json]

``--quick``: two CKKS operation workloads, a 2 x 2 sweep, no bootstrapping or ResNet
traces (for tests and a fast look). Synthesis results are read from ``reports/synth.csv``
(``fhesim synth``), never re-run. See :mod:`sim.report.build` for the contents.
"""
from __future__ import annotations

import argparse
import json
import sys


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser("report", help="regenerate reports/ (latency, breakdowns, sweep, anchors, resources)",
                              description=__doc__.split("\n\n")[0])
    p.add_argument("--out", default="reports", help="output directory (default reports/)")
    p.add_argument("--quick", action="store_true", help="small and fast: CKKS op workloads, 2x2 sweep")
    p.add_argument("--traces", default=None, help="directory of trace JSON files (default reports/traces/)")
    p.add_argument("--synth-cache", default=None, help="synthesis cache (default reports/synth.csv)")
    p.add_argument("--json", action="store_true", help="print a JSON summary")
    from sim.cluster import add_cluster_argument
    add_cluster_argument(p, default_help="none: the sweep in this process")
    p.set_defaults(func=run)


def run(args) -> int:
    from sim.report.build import generate

    log = (lambda *a, **k: None) if args.json else (lambda msg: print(msg, file=sys.stderr))
    try:
        summary = generate(args.out, quick=args.quick, traces_dir=args.traces,
                           synth_cache=args.synth_cache, log=log, cluster=args.cluster)
    except (ValueError, OSError) as exc:
        print(f"fhesim report: {exc}", file=sys.stderr)
        return 2
    if args.json:
        print(json.dumps(summary, indent=1, default=str))
        return 0
    missing = [w["workload"] for w in summary["workloads"] if w["status"] == "missing"]
    print(f"wrote {len(summary['files'])} files to {summary['out']}/ (report.md)")
    if missing:
        print(f"missing workloads: {', '.join(missing)}")
    return 0
