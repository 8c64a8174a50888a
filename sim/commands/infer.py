"""``fhesim infer``: encrypted ResNet inference on digits test images.

Usage::

    fhesim infer --model resnet20 --geometry digits8 --params toy-boot-n11 --allow-insecure \\
                 --images 2 [--method composite|data-guided] [--degree 15] [--json]
                 [--jsonl FILE [--resume]]

For each image: the encrypted top-1 and the plaintext top-1 (exact ReLU), the largest
logit error of the decrypted logits against the plaintext model with the same polynomial
activations (the encryption error) and against the exact model, bootstraps, levels
consumed, wall time. Overall: top-1 agreement (encrypted vs plaintext) and accuracy.
Before encrypting, the plaintext check runs the images through the polynomial network and
warns, naming the layer, if an activation leaves its calibrated bound (nothing is clipped).

The engines: :func:`sw.nn.infer.run_infer` and :func:`sim.infer.run_compare` (``--compare``);
this module parses the arguments, calls them and prints.

Arguments are checked before any work (exit code 2, naming the option and the valid
range): ``--start`` / ``--images`` against the test set, and the ``--jsonl`` file
(writable; if it already holds rows, ``--resume`` is needed, which skips the images in it
and refuses a file of another model, geometry, parameter set, method or degree).
"""
from __future__ import annotations

import argparse
import json
import sys


def _cmd(args: argparse.Namespace) -> int:
    if getattr(args, "cluster", None) and not args.compare:
        return _cmd_cluster(args)
    import pandas as pd

    if args.compare:
        from sim.infer import run_compare
        if args.images < 0:
            print(f"fhesim infer: error: --images {args.images} must be >= 0 with --compare", file=sys.stderr)
            return 2
        try:
            rows = run_compare(args.model, args.geometry, args.params, args.images, args.compare.split(","),
                               allow_insecure=args.allow_insecure, trace_params=args.trace_params,
                               config=args.config, log=lambda m: print(m, file=sys.stderr))
        except (ValueError, KeyError, FileNotFoundError) as e:
            print(f"fhesim infer: error: {e}", file=sys.stderr)
            return 2
        if args.json:
            print(json.dumps(rows, indent=2))
        else:
            print(pd.DataFrame(rows).to_markdown(index=False) if _has_tabulate() else pd.DataFrame(rows).to_string())
        return 0
    try:
        res = _run(args)
    except (ValueError, KeyError, FileNotFoundError) as e:
        print(f"fhesim infer: error: {e}", file=sys.stderr)
        return 2
    if res is None:
        return 0
    if args.json:
        print(json.dumps(res, indent=2))
        return 0
    df = pd.DataFrame(res["images"])
    print(f"{res['model']} / {res['geometry']} on {res['params']}"
          f"{' (INSECURE)' if res['insecure'] else ''}: {res['method']} ReLU {res['degrees']}, "
          f"{res['levels_per_activation']} levels per activation, {res['slots']} slots, "
          f"{'bootstrapping at ' + '/'.join(map(str, res['boot_slots'])) + ' slots, ' if res['sparse_bootstrap'] else ''}"
          f"{res['rotation_keys']} rotation keys (truncated to level {res['key_level']}); compile "
          f"{res['compile_seconds']} s, keys {res['keygen_seconds']} s, {res['key_gib']} GiB")
    print(df.to_string(index=False))
    print(f"agreement {res['agreement']:.3f}  accuracy encrypted {res['accuracy_encrypted']:.3f}  "
          f"plain {res['accuracy_plain']:.3f}  max logit error {res['max_logit_err']:.3g}  "
          f"mean {res['mean_seconds']:.1f} s/image")
    return 0


def _rows(args: argparse.Namespace):
    """Check the image range and the ``--jsonl`` file before any work: ``(prior rows in the
    range, images to skip, on_image callback or None)`` (``--resume`` skips the images
    already in the file; without it a file holding rows is refused)."""
    from sw.nn.infer import available_images, check_image_range, jsonl_appender, open_jsonl
    check_image_range(args.start, args.images, available_images(args.geometry))
    if args.resume and not args.jsonl:
        raise ValueError("--resume needs --jsonl FILE (the file of the interrupted run)")
    fields = dict(model=args.model, geometry=args.geometry, params=args.params, method=args.method,
                  degree=args.degree)
    prior, on_image = [], None
    if args.jsonl:
        prior = open_jsonl(args.jsonl, fields, resume=args.resume)
        on_image = jsonl_appender(args.jsonl, done={r["image"] for r in prior}, **fields)
    want = range(args.start, args.start + args.images)
    prior = [r for r in prior if r["image"] in want]
    skip = {r["image"] for r in prior}
    if len(skip) == args.images:
        print(f"fhesim infer: all {args.images} images are already in {args.jsonl}; nothing to do",
              file=sys.stderr)
    elif prior:
        print(f"fhesim infer: resuming: {len(skip)} images already in {args.jsonl} are skipped",
              file=sys.stderr)
    return prior, skip, on_image


def _merge_prior(res: dict, prior: list[dict]) -> dict:
    """``res`` with the rows of a resumed run's earlier images, ordered by image index."""
    if prior:
        from sw.nn.infer import summarize
        res["images"] = sorted(prior + res["images"], key=lambda r: r["image"])
        res.update(summarize(res["images"]))
    return res


def _run(args: argparse.Namespace) -> dict | None:
    """Check the arguments and the ``--jsonl`` file, then run (skipping images already in
    the file with ``--resume``); ``None`` when every image is already done."""
    from sw.nn.infer import run_infer
    prior, skip, on_image = _rows(args)
    if len(skip) == args.images:
        return None
    res = run_infer(args.model, args.geometry, args.params, args.images, method=args.method,
                    degree=args.degree, allow_insecure=args.allow_insecure, start=args.start,
                    seed=args.seed, bootstrap=not args.no_bootstrap, progress=not args.json,
                    threads=args.threads, log=lambda m: print(m, file=sys.stderr), on_image=on_image,
                    sparse_bootstrap=args.sparse_bootstrap, skip=skip, giant_steps=args.giant_steps)
    return _merge_prior(res, prior)


def _cmd_cluster(args: argparse.Namespace) -> int:
    """``fhesim infer --cluster SPEC``: the same table, computed on a Dask cluster
    (:func:`sim.infer_cluster.run_infer_cluster`); rows stream to ``--jsonl``."""
    from sim.infer_cluster import run_infer_cluster
    from sw.ckks.serialize import SerializationError
    try:
        prior, skip, on_image = _rows(args)
        if len(skip) == args.images:
            return 0
        res = run_infer_cluster(args.model, args.geometry, args.params, args.images, cluster=args.cluster,
                                method=args.method, degree=args.degree, allow_insecure=args.allow_insecure,
                                start=args.start, seed=args.seed, bootstrap=not args.no_bootstrap,
                                threads=args.threads, log=lambda m: print(m, file=sys.stderr),
                                on_image=on_image, sparse_bootstrap=args.sparse_bootstrap,
                                keys_path=args.keys, skip=skip, giant_steps=args.giant_steps)
        res = _merge_prior(res, prior)
    except (ValueError, KeyError, FileNotFoundError, SerializationError) as e:
        print(f"fhesim infer: error: {e}", file=sys.stderr)
        return 2
    if args.json:
        print(json.dumps(res, indent=2))
        return 0
    import pandas as pd
    print(f"{res['model']} / {res['geometry']} on {res['params']}{' (INSECURE)' if res['insecure'] else ''} "
          f"on cluster {res['cluster']}: {res['method']} ReLU {res['degrees']}, {res['key_gib']} GiB of keys, "
          f"about {res['worker_bytes_needed'] / 2 ** 30:.2f} GiB per worker")
    print(pd.DataFrame(res["images"]).to_string(index=False))
    print(f"agreement {res['agreement']:.3f}  accuracy encrypted {res['accuracy_encrypted']:.3f}  "
          f"plain {res['accuracy_plain']:.3f}  max logit error {res['max_logit_err']:.3g}  "
          f"mean {res['mean_seconds']:.1f} s/image; {res['images_per_hour']} images/hour on the cluster "
          f"({res['eval_wall_seconds']} s from the first submission to the last result)")
    return 0


def _has_tabulate() -> bool:
    try:
        import tabulate  # noqa: F401
        return True
    except ImportError:
        return False


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser("infer", help="encrypted ResNet inference on digits test images")
    p.add_argument("--model", default="resnet20", choices=["resnet20", "resnet32", "resnet44", "resnet56", "resnet110"])
    p.add_argument("--geometry", default="digits8", choices=["digits8", "cifar32"])
    p.add_argument("--params", default="toy-boot-n11", metavar="NAME",
                   help="CKKS parameter set (toy-boot-n11 for digits8, n16-128 for cifar32)")
    p.add_argument("--images", type=int, default=2, metavar="K", help="number of test images")
    p.add_argument("--start", type=int, default=0, help="index of the first test image")
    p.add_argument("--method", default="composite", choices=["composite", "data-guided"])
    p.add_argument("--degree", type=int, default=15, help="degree of the data-guided polynomials")
    p.add_argument("--no-bootstrap", action="store_true", help="no bootstrapping (needs enough levels)")
    p.add_argument("--sparse-bootstrap", action="store_true",
                   help="bootstrap each stage at its own slot period (cifar32: 16384/8192/4096; ~4%% "
                        "faster bootstraps on a CPU, ~1.5 GB more memory at n16-128)")
    p.add_argument("--giant-steps", choices=("keys", "min"), default="min",
                   help="bootstrapping DFT giant steps: ARK's minimum key switching (min, the default: "
                        "Horner steps by +-n1, same key switches, fewer keys; n16-128 at 2^14 slots: 24 "
                        "instead of 36 bootstrapping rotation keys) or one key per step (keys)")
    p.add_argument("--allow-insecure", action="store_true", help="allow insecure toy parameter sets")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--threads", type=int, help="numba threads (default: 1 for N <= 2^10, all otherwise; on a shared machine give 1 at N <= 2^12)")
    p.add_argument("--json", action="store_true", help="print JSON instead of a table")
    p.add_argument("--jsonl", metavar="FILE", help="append one JSON line per image as it finishes "
                   "(refused if the file already holds rows, unless --resume)")
    p.add_argument("--resume", action="store_true",
                   help="with --jsonl: skip the images already in FILE (same model, geometry, params, "
                   "method and degree required)")
    p.add_argument("--compare", metavar="METHODS",
                   help="comparison table instead, e.g. composite,data-guided:7,data-guided:15 "
                        "(plaintext-with-polynomials accuracy on all test images, encrypted agreement "
                        "on --images images, projected latency from a dry-run trace)")
    p.add_argument("--trace-params", default="n16-128", help="parameter set of the projection (--compare)")
    p.add_argument("--config", default="sharp", help="accelerator preset of the projection (--compare)")
    from sim.cluster import add_cluster_argument
    add_cluster_argument(p, default_help="none: this process, one image after another")
    p.add_argument("--keys", metavar="FILE", default=None,
                   help="with --cluster: write the evaluation keys here (a path every worker can read); "
                        "default a temporary file (local clusters) or the bytes sent to every worker")
    p.set_defaults(func=_cmd)
