"""``fhesim trace``: the op trace of one encrypted ResNet inference, for the cycle model.

Usage::

    fhesim trace --model resnet110 --geometry cifar32 --params n16-128 --dry-run [--out FILE] [--json]

``--dry-run`` walks the same code path as ``fhesim infer`` (key generation, encryption,
every linear layer, activation and bootstrap) on shape-only placeholders
(``sw.trace.recording(dry_run=True)``): nothing is encrypted and no weights are needed, so
ResNet-110 at N = 2^16 is traced in seconds. Writes ``rec.to_json()`` (the input of
``sim.cycle.adapters.ops_from_trace``) to ``--out`` and prints a summary by layer kind.
"""
from __future__ import annotations

import argparse
import json
import sys
import time
import warnings


def run_trace(model: str, geometry: str, params_name: str, *, method: str = "composite", degree: int = 15,
              allow_insecure: bool = False, out: str | None = None, dry_run: bool = True) -> dict:
    from sw import trace
    from sw.nn.encrypted import EncryptedResNet
    from sw.nn.models import ResNet, load_model, weights_path
    from sw.ckks import get_params

    if not dry_run:
        raise ValueError("fhesim trace: only --dry-run is supported (use fhesim infer for real runs)")
    params = get_params(params_name, allow_insecure=allow_insecure)
    t0 = time.time()
    net = load_model(model, geometry) if weights_path(model, geometry).exists() else ResNet(model, geometry)
    with trace.recording(dry_run=True) as rec:
        enn = EncryptedResNet(net, params, method=method, degree=degree, dry_run=True)
        sess = enn.session(bootstrap=True)
        plan = enn.plan(sess.boot_level, sess.boot_level)
        ct = enn.encrypt(sess, _zeros(net), sess.boot_level)
        with trace.stage("inference"):
            enn.run(sess, ct, plan=plan)
    secs = time.time() - t0
    from collections import Counter
    counts = dict(Counter(e.kind for e in rec.events))
    n_events = sum(1 for _ in (e for top in rec.events for e in top.walk()))
    if out:
        rec.to_json(path=out)
    return dict(model=model, geometry=geometry, params=params_name, method=method,
                degrees=list(next(iter(enn.acts.values())).degrees), slots=enn.slots,
                bootstraps=plan.n_bootstraps, levels_consumed=plan.levels_consumed,
                rotation_keys=len(enn.rotation_steps()), events=int(n_events), top_level_ops=counts,
                kernels=rec.kernel_counts(), seconds=round(secs, 2), out=out)


def _zeros(net):
    import numpy as np
    return np.zeros(net.geometry.shape)


def _cmd(args: argparse.Namespace) -> int:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            res = run_trace(args.model, args.geometry, args.params, method=args.method, degree=args.degree,
                            allow_insecure=args.allow_insecure, out=args.out, dry_run=args.dry_run)
    except (ValueError, KeyError) as e:
        print(f"fhesim trace: error: {e}", file=sys.stderr)
        return 2
    if args.json:
        print(json.dumps(res, indent=2))
        return 0
    print(f"{res['model']} / {res['geometry']} on {res['params']} ({res['method']} {res['degrees']}): "
          f"{res['bootstraps']} bootstraps, {res['levels_consumed']} levels, {res['slots']} slots, "
          f"{res['rotation_keys']} CNN rotation keys; {res['events']} events in {res['seconds']} s"
          f"{'; written to ' + res['out'] if res['out'] else ''}")
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
    p.add_argument("--out", metavar="FILE", help="write the trace JSON here")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=_cmd)
