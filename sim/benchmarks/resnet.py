"""``fhesim bench resnet``: wall time of one encrypted ResNet inference, by layer kind.

Runs :func:`sw.nn.infer.run_infer` (the same code as ``fhesim infer``) on
``--images`` test images and reports, per image, key generation (once), encryption and the
seconds spent in convolutions, shortcuts, activations, additions, the pooled FC layer and
bootstrapping, with the top-1 agreement and the largest logit error against the plaintext
model with the same polynomial activations.

Default: ResNet-20 on ``cifar32`` at the 128-bit set ``n16-128`` (N = 2^16, 2^14 slots,
18 bootstraps): the issue's "one image on this machine" measurement. No peer runs a ResNet
here, so the published figures are printed beside ours, each labelled with its source and
machine: OpenFHE on CPU ~1,145 s per ResNet-20 image (arXiv 2508.11575); the
authors' SEAL code rerun by AutoFHE on 96 vCPUs: 9,481 s latency for 96 images in flight
(99 s amortized).

ResNet-110 at ``n16-128`` (108 bootstraps) runs the same way with ``--model resnet110``:
about an hour on 2 cores and 19 GB of memory (docs/resnet.md). ``--project resnet110``
adds a row *projected* (not measured) from this run: every layer of the deeper model is
timed as the measured layer of the same shape
(same stage, first or later block, same kind), plus its planned bootstraps at the measured
mean bootstrap time (with ``--sparse-bootstrap``: the mean of the same slot period, i.e.
stage).

Peer refusals (:data:`PEER_REFUSALS`) are printed as a row and a note, not run: Orion
(``orion-fhe``, Lattigo backend) at ring degree 2^16 exceeded this machine's 24 GB in its
compile step alone (killed at 24.3 GB after 6.4 minutes).

Orion at the same ring degree (:mod:`sim.benchmarks.peers.orion_peer`): when the set is an
INSECURE one of ring degree 2^12 (``toy-boot-n12``; or with ``--orion`` at any other ring
degree, ``--no-orion`` never), the same ResNet (our weights, folded batch norm, option-A
shortcuts as 0/1 strided 1x1 convolutions, Orion's own ReLU polynomials fitted on the same
256 calibration images through a batch-size-1 loader) runs once in Orion's environment on
the first test image, in one process of ``--orion-threads`` threads (default: as many as
ours, :func:`our_threads`), killed past ``--orion-max-gb`` (default 19 GB). Its row gives compile,
key generation and inference seconds, bootstraps, the peer process's peak memory, the
logit error against the same network in plaintext and ``ours_over_this`` (our inference
seconds over its, same run). When Orion cannot be installed or fails, a note names why and
the rest of the benchmark is printed (exit 0). At 2^12 our packing holds one tensor per
ciphertext (N/2 = 2048 slots), so ``cifar32`` (16 x 32 x 32 = 16384 values) does not fit
ours: the matched comparison is ``--geometry digits8``; with ``cifar32`` our row says why
it did not run and Orion's row is printed alone (Orion splits a tensor over ciphertexts).
"""
from __future__ import annotations

import os
import time

NAME = "resnet"
HELP = "one encrypted ResNet inference (default ResNet-20/cifar32 at n16-128): time by layer kind"

# published figures (not rerun here): (system, model, seconds per image latency, source)
ANCHORS = [
    ("OpenFHE, CPU", "resnet20", 1145.0, "arXiv 2508.11575"),
    ("SEAL (Lee et al. code), 96 vCPU, 96 images in flight", "resnet20", 9481.0, "AutoFHE, USENIX Sec. 2024"),
    ("SEAL (Lee et al. code), 96 vCPU, 96 images in flight", "resnet32", 16910.0, "AutoFHE, USENIX Sec. 2024"),
    ("SEAL (Lee et al. code), 96 vCPU, 96 images in flight", "resnet44", 24082.0, "AutoFHE, USENIX Sec. 2024"),
]

# peers that could run an encrypted ResNet here but do not: (system, note); printed, not run
PEER_REFUSALS = [
    ("Orion (orion-fhe, Lattigo backend)",
     "not run: at ring degree 2^16 its compile step alone exceeded this machine's 24 GB "
     "(killed at 24.3 GB after 6.4 minutes); at 2^12 with random weights it placed 178 bootstraps "
     "and ran 258 s single-threaded at 16.7 GB peak (docs/sources.md)"),
]

KINDS = ("conv", "shortcut_a", "relu", "add", "fc", "bootstrap")


def add_arguments(parser) -> None:
    parser.add_argument("--model", default="resnet20",
                        choices=["resnet20", "resnet32", "resnet44", "resnet56", "resnet110"])
    parser.add_argument("--geometry", default="cifar32", choices=["digits8", "cifar32"])
    parser.add_argument("--params", default="n16-128", help="CKKS parameter set (default n16-128)")
    parser.add_argument("--images", type=int, default=1, help="test images (default 1)")
    parser.add_argument("--start", type=int, default=0, help="index of the first test image")
    parser.add_argument("--method", default="composite", choices=["composite", "data-guided"])
    parser.add_argument("--degree", type=int, default=15, help="data-guided degree")
    parser.add_argument("--threads", type=int, default=None,
                        help="numba threads (default: 1 for N <= 2^10, all otherwise; on a shared machine give 1 at N <= 2^12)")
    parser.add_argument("--allow-insecure", action="store_true", help="allow toy-* parameter sets")
    parser.add_argument("--no-progress", action="store_true", help="no tqdm progress bars")
    parser.add_argument("--sparse-bootstrap", action="store_true",
                        help="bootstrap each stage at its own slot period (see fhesim infer)")
    parser.add_argument("--giant-steps", choices=("keys", "min"), default="min",
                        help="bootstrapping DFT giant steps (see fhesim infer; min, the default: fewer keys)")
    parser.add_argument("--hoisting", choices=("single", "double", "double-cts"), default="double-cts",
                        help="bootstrapping DFT hoisting: single, double (baby and giant rotations "
                             "kept over Q P; faster, DFT diagonals cached with P rows) or double-cts "
                             "(the default: double in CoeffsToSlots only, half the extra memory; "
                             "ResNet-20 at n16-128 stays under 8 GB)")
    from sim.cluster import add_cluster_argument
    add_cluster_argument(parser, default_help="none: the images one after another in this process")
    parser.add_argument("--project", default="", metavar="MODELS",
                        help="comma-separated deeper models to project from this run's per-layer times "
                             "(e.g. resnet56,resnet110)")
    orion = parser.add_mutually_exclusive_group()
    orion.add_argument("--orion", dest="orion", action="store_true", default=None,
                       help="run the Orion peer at our ring degree (default: only at an INSECURE 2^12 set)")
    orion.add_argument("--no-orion", dest="orion", action="store_false", help="never run the Orion peer")
    parser.add_argument("--orion-threads", type=int, default=None,
                        help="threads of the Orion peer (GOMAXPROCS and torch; default: as many as ours)")
    parser.add_argument("--orion-max-gb", type=float, default=19.0,
                        help="stop the Orion peer when its resident memory passes this (GB, default 19)")
    parser.add_argument("--no-build-peers", action="store_true",
                        help="do not build the Orion environment when it is missing (note it instead)")


def _same_shape_layer(name: str) -> str:
    """``layerS.B.op`` -> the measured layer of the same shape: block 0 stays, later blocks map
    to block 1 (blocks >= 1 of a stage are identical in shape); stem/head names are kept."""
    parts = name.split(".")
    if len(parts) == 3 and parts[0].startswith("layer"):
        return f"{parts[0]}.{0 if parts[1] == '0' else 1}.{parts[2]}"
    return name


def project(model_name: str, geometry: str, params, layer_seconds: dict, boot_seconds,
            boot_level: int) -> dict:
    """Projected seconds of ``model_name`` from measured per-layer times (see module docstring).
    ``boot_seconds``: seconds per bootstrap, one number or a dict slot period -> seconds
    (sparse-slot bootstrapping: each planned bootstrap costs its tensor's period's time)."""
    from sw.nn.encrypted import EncryptedResNet
    from sw.nn.models import load_model
    enn = EncryptedResNet(load_model(model_name, geometry), params, dry_run=True)
    plan = enn.plan(boot_level, boot_level)
    missing = [op.name for op in enn.graph if _same_shape_layer(op.name) not in layer_seconds]
    if missing:
        raise ValueError(f"--project {model_name}: no measured layer of the same shape for {missing[:3]}")
    layers = sum(layer_seconds[_same_shape_layer(op.name)] for op in enn.graph)
    boot = 0.0
    for op in enn.graph:
        for t in plan.boots_before(op.name):
            if isinstance(boot_seconds, dict):
                period = enn.tensor_layout[t].period if t in enn.tensor_layout else enn.slots
                if period not in boot_seconds:
                    raise ValueError(f"--project {model_name}: no measured bootstrap at period {period}")
                boot += boot_seconds[period]
            else:
                boot += boot_seconds
    return dict(seconds=layers + boot, bootstraps=plan.n_bootstraps, bootstrap_s=boot)


def _peak_rss_bytes() -> int:
    """Peak resident set size of this process so far (``ru_maxrss`` is in KiB on Linux)."""
    import resource
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def orion_wanted(args, params) -> bool:
    """Orion runs with ``--orion``, never with ``--no-orion``, and by default only at an
    INSECURE set of ring degree 2^12 (its compile step at 2^16 is a reported refusal)."""
    if args.orion is not None:
        return bool(args.orion)
    return params.log_n == 12 and not params.is_secure


def ring_label(log_n: int, secure: bool) -> str:
    return f"2^{log_n}" + ("" if secure else " INSECURE")


def our_threads(args, params) -> int:
    """The numba threads ours runs with: ``--threads``, else the default for the ring degree."""
    from sw.nn.infer import resolve_threads
    return resolve_threads(args.threads, params)


def _orion_row(args, params, notes: list, our_row: dict | None) -> dict | None:
    """The Orion peer's row (one encrypted image at our ring degree), or None with a note."""
    from sw.nn.data import load_digits_split
    from sw.nn.models import load_model
    from sw.nn.plain import forward
    from .peers import orion_peer as op
    import numpy as np

    model = load_model(args.model, args.geometry)
    xtr, _, xte, _ = load_digits_split(args.geometry)
    test = xte[args.start:args.start + 1]
    try:
        ans = op.run_orion(model, xtr[:256], test, log_n=params.log_n, build=not args.no_build_peers,
                           threads=args.orion_threads or our_threads(args, params), max_rss_gb=args.orion_max_gb,
                           log=lambda m: notes.append(f"orion: {m}"))
    except op.PeerUnavailable as e:
        notes.append(f"Orion not run: {e}")
        return None
    exact = forward(model, test)[0]
    fhe = np.asarray(ans["logits"], dtype=np.float64).reshape(-1)
    clear = np.asarray(ans["logits_clear"], dtype=np.float64).reshape(-1)
    sec, p = ans["seconds"], ans["params"]
    peak = max(ans.get("peak_rss_bytes", 0), ans.get("polled_peak_rss_bytes", 0))
    row = dict(system=f"Orion {ans.get('version', '')} (orion-fhe, Lattigo; this machine)", model=args.model,
               image=args.start, ring_degree=ring_label(p["log_n"], False), seconds=round(sec["inference"], 2),
               bootstrap_s=round(sec["bootstrap"], 2), bootstraps=ans["bootstraps_run"],
               top1_agree=int(np.argmax(fhe)) == int(np.argmax(exact)),
               max_logit_err=float(np.max(np.abs(fhe - clear))),
               max_logit_err_vs_exact=float(np.max(np.abs(fhe - exact))),
               compile_s=round(sec["fit"] + sec["compile"], 1), keygen_s=round(sec["keygen"], 1),
               peak_gb=round(peak / 1e9, 2), source="measured (peer)")
    row["ours_over_this"] = op.ratio(our_row["seconds"], row["seconds"]) if our_row else float("nan")
    notes.append(
        f"Orion {ans.get('version', '')}: logN {p['log_n']} (INSECURE), {p['slots']} slots, LogQ {p['logq']} "
        f"(L_eff {p['levels']}), LogP {p['logp']}, bootstrapping LogP {p['boot_logp']}, scale 2^{p['log_scale']}, "
        f"h {p['h']}, {p['ring_type']} ring, {p['embedding']} embedding; {ans['threads']} thread(s) "
        f"(GOMAXPROCS, torch); {ans['bootstraps_placed']} bootstraps placed (bootstrappers at "
        f"{ans['bootstrapper_slots']} slots), {ans['bootstraps_run']} run (one per ciphertext); "
        f"fit {sec['fit']:.1f} s + compile {sec['compile']:.1f} s (keys excluded), key generation "
        f"{sec['keygen']:.1f} s ({ans['rotation_keys']} rotation keys {sec['rotation_keys']:.1f} s, "
        f"bootstrapping keys {sec['bootstrap_keys']:.1f} s), encrypt {sec['encrypt']:.2f} s, "
        f"inference {sec['inference']:.1f} s, decrypt {sec['decrypt']:.2f} s; peak {peak / 1e9:.2f} GB "
        f"(its process: getrusage ru_maxrss and /proc polling)")
    notes.append(f"Orion's activations are its own: {ans['relu']}; its plaintext network (max_logit_err) has the "
                 f"exact ReLU, so its max_logit_err includes its approximation error; its cleartext logits match "
                 f"ours (sw.nn.plain) to {float(np.max(np.abs(clear - exact))):.1e} (weight mapping check)")
    return row


def _params_quietly(get_params, args):
    """``get_params(args.params)`` without repeating the insecure-set warning run_infer prints."""
    import contextlib
    import io
    import warnings
    with warnings.catch_warnings(), contextlib.redirect_stderr(io.StringIO()):
        warnings.simplefilter("ignore")
        return get_params(args.params, allow_insecure=args.allow_insecure)


def run(args):
    import pandas as pd
    from sw.ckks import get_params
    from sw.nn.encrypted import SlotCapacityError
    from sw.nn.infer import run_infer

    params = _params_quietly(get_params, args)   # run_infer warns about an insecure set itself
    with_orion = orion_wanted(args, params)
    load0 = os.getloadavg()[0]
    t0 = time.time()
    kw = dict(method=args.method, degree=args.degree, allow_insecure=args.allow_insecure, start=args.start,
              threads=args.threads, log=lambda m: None, layer_times=True, sparse_bootstrap=args.sparse_bootstrap)
    kw["giant_steps"] = args.giant_steps
    if args.hoisting != "single":
        kw["hoisting"] = args.hoisting
    if getattr(args, "cluster", None):   # several images at once on a Dask cluster
        # the workers rebuild their sessions from the key file, with single hoisting; the
        # note below then says so
        kw.pop("hoisting", None)
        args.hoisting = "single"
        from sim.infer_cluster import run_infer_cluster
        res = run_infer_cluster(args.model, args.geometry, args.params, args.images, cluster=args.cluster, **kw)
    else:
        try:
            res = run_infer(args.model, args.geometry, args.params, args.images,
                            progress=not args.no_progress, rerun_if_compiled=True, **kw)
        except SlotCapacityError as e:
            if not with_orion:
                raise
            return _orion_alone(args, params, str(e), load0)
    wall = time.time() - t0
    peak_gb = _peak_rss_bytes() / 1e9
    rows = []
    ring = ring_label(params.log_n, params.is_secure)
    for r in res["images"]:
        row = dict(system="fhesim (this machine)", model=args.model, image=r["image"], ring_degree=ring,
                   seconds=r["seconds"])
        row.update({f"{k}_s": r.get(f"s_{k}", 0.0) for k in KINDS})
        row.update(bootstraps=r["bootstraps"], top1_agree=r["top1_encrypted"] == r["top1_plain"],
                   max_logit_err=r["max_logit_err"], max_logit_err_vs_exact=r.get("max_logit_err_vs_exact"),
                   compile_s=res["compile_seconds"], keygen_s=res["keygen_seconds"],
                   peak_gb=round(peak_gb, 2), source="measured")
        rows.append(row)
    first = res["images"][0]
    orion_notes: list = []
    if with_orion:
        orow = _orion_row(args, params, orion_notes, first)
        if orow is not None:
            rows[0]["ours_over_this"] = 1.0
            rows.append(orow)
    targets = [m.strip() for m in args.project.split(",") if m.strip()]
    if targets:
        boot = {int(k): sum(v) / len(v) for k, v in first.get("boot_seconds", {}).items() if v} or \
            first.get("s_bootstrap", 0.0) / max(1, first["bootstraps"])
        for m in targets:
            pr = project(m, args.geometry, params, first["layer_seconds"], boot, res["key_level"])
            rows.append(dict(system="fhesim (this machine), PROJECTED from the measured layers", model=m,
                             seconds=round(pr["seconds"], 1), bootstrap_s=round(pr["bootstrap_s"], 1),
                             bootstraps=pr["bootstraps"], source="projected"))
    for system, model, secs, src in ANCHORS:
        if model == args.model or model in targets:
            rows.append(dict(system=system, model=model, seconds=secs, source=f"published: {src}"))
    for system, why in PEER_REFUSALS:
        rows.append(dict(system=system, model=args.model, ring_degree="2^16",
                         source=f"peer {why.split(':')[0]}"))
    df = pd.DataFrame(rows)
    ours = df[df.source == "measured"]["seconds"].mean()
    df["ratio_to_ours"] = df["seconds"] / ours
    df.attrs["notes"] = [
        f"{res['params']}{' (INSECURE)' if res['insecure'] else ''}, {res['slots']} slots, "
        f"{res['method']} ReLU {res['degrees']}, {res['bootstraps_planned']} bootstraps planned "
        f"(at {'/'.join(map(str, res['boot_slots']))} slots); "
        f"compile {res['compile_seconds']} s, key generation {res['keygen_seconds']} s, "
        f"warm-up {res.get('warmup_seconds', 0.0)} s (one bootstrap of a zero per bootstrapper: "
        f"encodes the bootstrapping diagonals every image reuses) "
        f"({res['rotation_keys']} network rotation steps; the network's own keys by the level they "
        f"are truncated to: {res.get('network_key_levels', {})}, with special primes "
        f"{res.get('network_key_special', {})} of {len(params.p_primes)}; "
        f"{res['key_gib']} GiB of evaluation keys); bootstrapping giant steps {args.giant_steps}, {args.hoisting} hoisting; "
        f"whole run {wall:.0f} s; peak_gb: this process's peak resident memory (getrusage ru_maxrss, "
        f"{'all images and workers not included' if getattr(args, 'cluster', None) else 'whole run'})",
        f"machine: {os.cpu_count()} CPUs, load average {load0:.1f} at the start, {os.getloadavg()[0]:.1f} at the end; " +
        ("" if getattr(args, "cluster", None) else f"ours ran with {our_threads(args, params)} numba thread(s); ") +
        "published rows are not rerun here (different machines)",
    ] + _jit_notes(res) + _column_notes(with_orion) + orion_notes + \
        [f"{system}: {why}" for system, why in PEER_REFUSALS]
    return df


def _jit_notes(res: dict) -> list[str]:
    """Say when numba compiled kernels inside a timed inference (a first run after an install)."""
    notes = []
    if res.get("jit_first_seconds") is not None:
        notes.append(f"the first inference compiled numba kernels and took {res['jit_first_seconds']} s; "
                     "the image was run again and that second run is the one reported")
    late = {r["image"]: r.get("jit_seconds") for r in res["images"] if r.get("jit_compiled")}
    if late:
        notes.append("seconds that include compiling numba kernels (image: compile seconds): "
                     + ", ".join(f"{i}: {s}" for i, s in late.items()))
    return notes


def _column_notes(with_orion: bool) -> list:
    if not with_orion:
        return []
    return ["seconds: one encrypted inference (keys, compile, encryption excluded); max_logit_err: against the "
            "same network in plaintext with the system's own plaintext activations (ours: our polynomials; "
            "Orion's: exact ReLU); max_logit_err_vs_exact: against our exact-ReLU plaintext (sw.nn.plain); "
            "top1_agree: encrypted top-1 = exact plaintext top-1; ours_over_this: our seconds / that row's "
            "seconds, same run; peak_gb: each system's own process"]


def _orion_alone(args, params, why: str, load0: float):
    """Our network does not fit this ring (``why``): Orion's row alone, with the reason."""
    import pandas as pd
    notes: list = []
    rows = [dict(system="fhesim (this machine)", model=args.model, ring_degree=ring_label(params.log_n, False),
                 source="not run: does not fit")]
    orow = _orion_row(args, params, notes, None)
    if orow is not None:
        rows.append(orow)
    for system, why_not in PEER_REFUSALS:
        rows.append(dict(system=system, model=args.model, ring_degree="2^16", source=f"peer {why_not.split(':')[0]}"))
    df = pd.DataFrame(rows)
    df.attrs["notes"] = [f"fhesim not run: {why}",
                         f"machine: {os.cpu_count()} CPUs, load average {load0:.1f} at the start, "
                         f"{os.getloadavg()[0]:.1f} at the end"] + \
        _column_notes(True) + notes + [f"{s}: {w}" for s, w in PEER_REFUSALS]
    return df
