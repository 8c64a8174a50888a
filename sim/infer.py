"""Comparison of ReLU approximations for encrypted ResNets (the engine of ``fhesim infer --compare``).

Per approximation (``composite``, ``data-guided:<degree>``): degrees, levels per
activation, planned bootstraps, plaintext accuracy with the polynomials on all test
images, optionally the encrypted agreement on a few images (:func:`sw.nn.infer.run_infer`),
and the latency projected by the cycle model from a dry-run trace (docs/resnet.md).
"""
from __future__ import annotations

import sys

import numpy as np

from sw.nn.infer import run_infer


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
