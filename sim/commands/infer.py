"""``fhesim infer``: encrypted ResNet inference on digits test images.

Usage::

    fhesim infer --model resnet20 --geometry digits8 --params toy-boot-n11 --allow-insecure \\
                 --images 2 [--method composite|data-guided] [--degree 15] [--json]

For each image: the encrypted top-1 and the plaintext top-1 (exact ReLU), the largest
logit error of the decrypted logits against the plaintext model with the same polynomial
activations (the encryption error) and against the exact model, bootstraps, levels
consumed, wall time. Overall: top-1 agreement (encrypted vs plaintext) and accuracy.
Before encrypting, the plaintext check runs the images through the polynomial network and
warns, naming the layer, if an activation leaves its calibrated bound (nothing is clipped).
"""
from __future__ import annotations

import argparse
import json
import sys
import time
import warnings

import numpy as np


def _threads(n: int | None, params) -> None:
    try:
        import numba
        numba.set_num_threads(max(1, min(numba.config.NUMBA_NUM_THREADS,
                                         n if n else (1 if params.log_n <= 12 else numba.config.NUMBA_NUM_THREADS))))
    except Exception:  # pragma: no cover
        pass


def run_infer(model: str, geometry: str, params_name: str, images: int, *, method: str = "composite",
              degree: int = 15, allow_insecure: bool = False, start: int = 0, seed: int = 1,
              bootstrap: bool = True, progress: bool = True, threads: int | None = None,
              log=print, on_image=None, layer_times: bool = False,
              sparse_bootstrap: bool = False) -> dict:
    """Encrypted inference on test images ``start .. start + images - 1`` (see module
    docstring); ``on_image(row)`` is called as each image finishes (long runs keep their
    results even if stopped); ``layer_times``: each row also gets ``layer_seconds`` (layer ->
    seconds, bootstraps excluded) and ``boot_seconds`` (slot period -> seconds of each
    bootstrap); ``sparse_bootstrap``: each stage bootstraps at its own slot period."""
    from sw.nn.data import load_digits_split
    from sw.nn.encrypted import EncryptedResNet
    from sw.nn.models import load_model
    from sw.ckks import get_params
    from sw.nn.plain import BoundWarning, forward

    params = get_params(params_name, allow_insecure=allow_insecure)
    _threads(threads, params)
    net = load_model(model, geometry)
    xtr, _, xte, yte = load_digits_split(geometry)
    if not 1 <= images <= len(xte) - start:
        raise ValueError(f"--images {images}: between 1 and {len(xte) - start} test images")
    x, y = xte[start:start + images], yte[start:start + images]
    t0 = time.time()
    enn = EncryptedResNet(net, params, method=method, degree=degree, calibration=xtr[:256])
    compile_s = time.time() - t0
    # plaintext check: bound violations are reported by layer, not clipped
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", BoundWarning)
        plain_poly = enn.plain_logits(x, poly=True)
    bound_warnings = sorted({str(w.message) for w in caught if issubclass(w.category, BoundWarning)})
    for msg in bound_warnings:
        log(f"warning: {msg}")
    plain_exact = forward(net, x, graph=enn.graph)
    t0 = time.time()
    sess = enn.session(bootstrap=bootstrap, seed=seed, progress=progress, sparse_bootstrap=sparse_bootstrap)
    keygen_s = time.time() - t0
    fresh = sess.boot_level if sess.boot_level is not None else params.max_level
    plan = enn.plan(fresh, sess.boot_level)
    rows = []
    for i in range(images):
        ct = enn.encrypt(sess, x[i], fresh)
        out, st = enn.run(sess, ct, plan=plan, progress=progress, desc=f"image {i + 1}/{images}")
        lg = enn.decrypt_logits(sess, out)
        rows.append(dict(image=start + i, label=int(y[i]), top1_encrypted=int(np.argmax(lg)),
                         top1_plain=int(np.argmax(plain_exact[i])), top1_plain_poly=int(np.argmax(plain_poly[i])),
                         max_logit_err=float(np.max(np.abs(lg - plain_poly[i]))),
                         max_logit_err_vs_exact=float(np.max(np.abs(lg - plain_exact[i]))),
                         bootstraps=st.bootstraps, levels_used=st.levels_consumed, seconds=round(st.seconds, 2),
                         **{f"s_{k}": round(v, 2) for k, v in sorted(st.kind_seconds.items())}))
        if layer_times:
            rows[-1]["layer_seconds"] = {k: round(v, 3) for k, v in st.op_seconds.items()}
            rows[-1]["boot_seconds"] = {int(k): [round(t, 3) for t in v] for k, v in st.boot_seconds.items()}
        if on_image is not None:
            on_image(rows[-1])
    agree = float(np.mean([r["top1_encrypted"] == r["top1_plain"] for r in rows]))
    return dict(model=model, geometry=geometry, params=params_name, insecure=not params.is_secure,
                method=method, sparse_bootstrap=bool(sparse_bootstrap and bootstrap),
                boot_slots=sorted(sess.bootstrappers, reverse=True), degrees=list(next(iter(enn.acts.values())).degrees),
                levels_per_activation=next(iter(enn.acts.values())).depth, slots=enn.slots,
                bootstraps_planned=plan.n_bootstraps, compile_seconds=round(compile_s, 1),
                keygen_seconds=round(keygen_s, 1), rotation_keys=len(enn.rotation_steps()),
                key_gib=round(sess.key_bytes / 2 ** 30, 2), key_level=sess.key_level,
                images=rows, agreement=agree,
                accuracy_encrypted=float(np.mean([r["top1_encrypted"] == r["label"] for r in rows])),
                accuracy_plain=float(np.mean([r["top1_plain"] == r["label"] for r in rows])),
                max_logit_err=float(max(r["max_logit_err"] for r in rows)),
                mean_seconds=float(np.mean([r["seconds"] for r in rows])), bound_warnings=bound_warnings)


def _projected_seconds(enn_kwargs: dict, model, params, config: str) -> tuple[float | None, int]:
    """Dry-run trace of one inference on ``params`` -> (cycle-model seconds on ``config``, key switches)."""
    from sw.nn.trace import dry_run_trace
    rec = dry_run_trace(model, model.geometry.name, params, **enn_kwargs)
    ks = sum(1 for top in rec.events for e in top.walk() if e.kind == "keyswitch")
    try:
        from sim.cycle import config as cfgmod
        from sim.cycle.adapters import ops_from_trace
        from sim.cycle.model import estimate
        ops, notes = ops_from_trace(rec)
        return float(estimate(ops, cfgmod.load_config(config), notes=notes).total_seconds), ks
    except Exception as e:  # the cycle model is optional here: fall back to key-switch counts
        print(f"fhesim infer --compare: cycle model unavailable ({e}); using key-switch counts", file=sys.stderr)
        return None, ks


def run_compare(model: str, geometry: str, params_name: str, images: int, methods: list[str], *,
                allow_insecure: bool = False, trace_params: str = "n16-128", config: str = "sharp",
                log=print) -> list[dict]:
    """The comparison table of activation approximations (see docs/resnet.md)."""
    from sw.nn.data import load_digits_split
    from sw.nn.encrypted import EncryptedResNet
    from sw.nn.models import load_model
    from sw.ckks import get_params
    from sw.nn.plain import forward

    net = load_model(model, geometry)
    xtr, _, xte, yte = load_digits_split(geometry)
    exact = np.argmax(forward(net, xte), 1)
    tparams = get_params(trace_params, allow_insecure=True)
    rows = []
    for spec in methods:
        method, _, deg = spec.partition(":")
        degree = int(deg or 15)
        kw = dict(method=method, degree=degree)
        enn = EncryptedResNet(net, tparams if images == 0 else get_params(params_name, allow_insecure),
                              calibration=xtr[:256], **kw)
        act = next(iter(enn.acts.values()))
        poly = np.argmax(enn.plain_logits(xte), 1)
        row = dict(method=method, degrees="/".join(map(str, act.degrees)), levels_per_activation=act.depth,
                   bootstraps=enn.plan(16, 16).n_bootstraps,
                   plain_accuracy=float(np.mean(exact == yte)),
                   poly_accuracy=float(np.mean(poly == yte)), poly_agreement=float(np.mean(poly == exact)))
        if images > 0:
            r = run_infer(model, geometry, params_name, images, method=method, degree=degree,
                          allow_insecure=allow_insecure, progress=False, log=log)
            row.update(encrypted_agreement=r["agreement"], encrypted_images=images,
                       max_logit_err=r["max_logit_err"], toy_seconds_per_image=r["mean_seconds"])
        secs, ks = _projected_seconds(kw, net, tparams, config)
        row.update(projected_seconds=secs, keyswitches=ks)
        rows.append(row)
        log(f"{spec}: {row}")
    base = rows[0]
    for r in rows:
        if base.get("projected_seconds") and r.get("projected_seconds"):
            r["latency_change"] = r["projected_seconds"] / base["projected_seconds"] - 1.0
        r["keyswitch_change"] = r["keyswitches"] / base["keyswitches"] - 1.0
    return rows


def _cmd(args: argparse.Namespace) -> int:
    import pandas as pd
    if args.compare:
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
    on_image = None
    if args.jsonl:
        def on_image(row, path=args.jsonl):
            with open(path, "a") as f:
                f.write(json.dumps(dict(model=args.model, geometry=args.geometry, params=args.params,
                                        method=args.method, **row)) + "\n")
    try:
        res = run_infer(args.model, args.geometry, args.params, args.images, method=args.method,
                        degree=args.degree, allow_insecure=args.allow_insecure, start=args.start,
                        seed=args.seed, bootstrap=not args.no_bootstrap, progress=not args.json,
                        threads=args.threads, log=lambda m: print(m, file=sys.stderr), on_image=on_image,
                        sparse_bootstrap=args.sparse_bootstrap)
    except (ValueError, KeyError, FileNotFoundError) as e:
        print(f"fhesim infer: error: {e}", file=sys.stderr)
        return 2
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
    p.add_argument("--allow-insecure", action="store_true", help="allow insecure toy parameter sets")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--threads", type=int, help="numba threads (default: 1 for N <= 2^12)")
    p.add_argument("--json", action="store_true", help="print JSON instead of a table")
    p.add_argument("--jsonl", metavar="FILE", help="append one JSON line per image as it finishes")
    p.add_argument("--compare", metavar="METHODS",
                   help="comparison table instead, e.g. composite,data-guided:7,data-guided:15 "
                        "(plaintext-with-polynomials accuracy on all test images, encrypted agreement "
                        "on --images images, projected latency from a dry-run trace)")
    p.add_argument("--trace-params", default="n16-128", help="parameter set of the projection (--compare)")
    p.add_argument("--config", default="sharp", help="accelerator preset of the projection (--compare)")
    p.set_defaults(func=_cmd)
