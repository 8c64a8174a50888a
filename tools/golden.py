#!/usr/bin/env python3
"""Golden outputs of a refactoring: record them before, check them after.

A restructuring of the code must not change a single result. This script records, from the
code on ``PYTHONPATH`` (or the installed package), the outputs that a user sees and that the
project's claims rest on, and later compares a second recording with the first:

* ``regression``: the ``fhesim regression`` table (every RTL case: vectors, mismatches,
  measured and modelled latency and cycles); ``--quick`` records the reduced matrix;
* ``compare``: the ``fhesim compare`` summary of the captured multiply-and-rotate slice;
* ``estimate-<preset>-<model>``: ``fhesim estimate --json`` for every accelerator preset on
  ResNet-20 and ResNet-110 (cifar32, n16-128, dry-run trace);
* ``trace-resnet20``: the ResNet-20 dry-run op trace (its compact document, hashed, and its
  summary);
* ``words``: SHA-256 of the ciphertext words of a seeded multiply, rotation and bootstrap
  at the small insecure sets.

Wall-clock fields (``time_s``, ``wall_time_s``, ``jobs``) are dropped before comparing.

Usage::

    python tools/golden.py record DIR [--skip regression,compare] [--quick]
    python tools/golden.py check DIR NEW_DIR      # compare two recordings, exit 1 on a change

``tools/golden/before/`` holds the recording made at the commit before the restructuring of
the trace, ring, configuration and runners (issue 12); the presets' ``source`` strings in it
cite ``docs/sources.md``, the file that now holds the figures they name.

The check prints one line per item (``same`` or the first differing paths with both values).
"""
from __future__ import annotations

import argparse
import hashlib
import json
import os
import subprocess
import sys
import tempfile
import warnings
from pathlib import Path

ITEMS = ("words", "trace", "estimate", "compare", "regression")
PRESETS = ("ark", "craterlake", "f1", "sharp", "u280")
MODELS = ("resnet20", "resnet110")
_VOLATILE = {"time_s", "wall_time_s", "jobs", "elapsed_s", "build_dir", "waves", "build_s", "sim_s",
             "wall_s", "seconds_wall"}


def _strip(obj):
    if isinstance(obj, dict):
        return {k: _strip(v) for k, v in obj.items() if k not in _VOLATILE}
    if isinstance(obj, list):
        return [_strip(v) for v in obj]
    return obj


def _cli(*args: str, tmp: str | None = None) -> dict:
    """Run ``fhesim ARGS --json`` in a subprocess; return its JSON output and exit code
    (the temporary directory ``tmp``, where it appears in the output, reads ``<tmp>``)."""
    proc = subprocess.run([sys.executable, "-m", "sim.cli", *args, "--json"], capture_output=True,
                          text=True, env=os.environ.copy())
    text = proc.stdout if tmp is None else proc.stdout.replace(tmp, "<tmp>")
    try:
        out = json.loads(text)
    except json.JSONDecodeError:
        out = {"stdout": text[-4000:], "stderr": proc.stderr[-4000:]}
    return {"exit": proc.returncode, "output": _strip(out)}


def _digest(arrays) -> str:
    import numpy as np

    h = hashlib.sha256()
    for a in arrays:
        a = np.ascontiguousarray(a, dtype=np.uint64)
        h.update(str(a.shape).encode())
        h.update(a.tobytes())
    return h.hexdigest()


def _ct_digest(ct) -> str:
    return _digest([p.data for p in ct.polys])


def record_words() -> dict:
    """Words of a seeded multiply, rotation and bootstrap (toy-n10 and toy-boot-n10)."""
    import numpy as np

    from sw.bootstrap import BootstrapConfig, Bootstrapper, gen_bootstrap_keys
    from sw.ckks import (CkksContext, Decryptor, Encoder, Encryptor, Evaluator, KeyGenerator,
                         get_params)

    out = {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        p = get_params("toy-n10", allow_insecure=True)
    ctx = CkksContext(p)
    kg = KeyGenerator(ctx, seed=11)
    keys = kg.gen_keyset(rotations=(1, 3), conjugation=True)
    enc, E = Encoder(ctx), Encryptor(ctx, keys.public, seed=12)
    ev = Evaluator(ctx, keys)
    rng = np.random.default_rng(5)
    z = rng.uniform(-1, 1, p.slots) + 1j * rng.uniform(-1, 1, p.slots)
    a = E.encrypt(enc.encode(z))
    b = E.encrypt(enc.encode(z[::-1]))
    pt = enc.encode(z * 0.5, level=a.level)
    out["toy-n10/encrypt"] = _ct_digest(a)
    out["toy-n10/mul"] = _ct_digest(ev.mul(a, b))
    out["toy-n10/mul_rescale"] = _ct_digest(ev.rescale(ev.mul(a, b)))
    out["toy-n10/rotate3"] = _ct_digest(ev.rotate(a, 3))
    out["toy-n10/conjugate"] = _ct_digest(ev.conjugate(a))
    out["toy-n10/rotate_hoisted"] = _digest([q.data for s, c in sorted(ev.rotate_hoisted(a, [1, 3]).items())
                                             for q in c.polys])
    out["toy-n10/mul_plain_acc"] = _ct_digest(ev.mul_plain_acc(ev.mul_plain(b, pt), a, pt))
    out["toy-n10/decrypt"] = _digest([Decryptor(ctx, keys.secret).decrypt(a).poly.data])

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        pb = get_params("toy-boot-n10", allow_insecure=True)
    bctx = CkksContext(pb)
    bkg = KeyGenerator(bctx, seed=11)
    sk = bkg.gen_secret_key()
    cfg = BootstrapConfig(slots=64)
    bkeys = gen_bootstrap_keys(bkg, sk, cfg)
    bt = Bootstrapper(bctx, bkeys)
    benc, bE = Encoder(bctx), Encryptor(bctx, sk, seed=12)
    zb = rng.uniform(-1, 1, 64) + 1j * rng.uniform(-1, 1, 64)
    ct = bE.encrypt(benc.encode(zb, level=0, slots=64))
    out["toy-boot-n10/bootstrap64"] = _ct_digest(bt.bootstrap(ct))
    return out


def record_trace() -> dict:
    from sw.nn.trace import dry_run_trace

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        rec = dry_run_trace(model="resnet20", geometry="cifar32", params="n16-128")
    doc = rec.to_doc()
    text = json.dumps(doc, sort_keys=True, separators=(",", ":"))
    return {"sha256": hashlib.sha256(text.encode()).hexdigest(), "summary": rec.summary()}


def record(outdir: Path, skip: set[str], quick: bool) -> None:
    outdir.mkdir(parents=True, exist_ok=True)

    def put(name, value):
        (outdir / f"{name}.json").write_text(json.dumps(value, indent=1, sort_keys=True))
        print(f"recorded {name}", flush=True)

    if "words" not in skip:
        put("words", record_words())
    if "trace" not in skip:
        put("trace-resnet20", record_trace())
    if "estimate" not in skip:
        for preset in PRESETS:
            for model in MODELS:
                put(f"estimate-{preset}-{model}",
                    _cli("estimate", "--config", preset, "--model", model, "--geometry", "cifar32",
                         "--params", "n16-128", "--top", "1000"))
    if "compare" not in skip:
        with tempfile.TemporaryDirectory() as tmp:
            put("compare", _cli("compare", "--capture", "--trace", str(Path(tmp) / "mulrot.npz"),
                                "--params", "toy-n10", "--program", "mulrot", "--level", "2",
                                "--no-waves", tmp=tmp))
    if "regression" not in skip:
        with tempfile.TemporaryDirectory() as tmp:
            args = ["regression", "--out", str(Path(tmp) / "rtl")] + (["--quick"] if quick else [])
            put("regression", _cli(*args, tmp=tmp))


def _diff(a, b, path="", out=None, limit=8):
    out = [] if out is None else out
    if len(out) >= limit:
        return out
    if isinstance(a, dict) and isinstance(b, dict):
        for k in sorted(set(a) | set(b)):
            if k not in a or k not in b:
                out.append(f"{path}/{k}: only in {'new' if k in b else 'old'}")
            else:
                _diff(a[k], b[k], f"{path}/{k}", out, limit)
    elif isinstance(a, list) and isinstance(b, list) and len(a) == len(b):
        for i, (x, y) in enumerate(zip(a, b)):
            _diff(x, y, f"{path}[{i}]", out, limit)
    elif a != b:
        out.append(f"{path}: {a!r} -> {b!r}"[:400])
    return out


def check(old: Path, new: Path) -> int:
    changed = 0
    for f in sorted(old.glob("*.json")):
        g = new / f.name
        if not g.exists():
            print(f"{f.stem:32s} not recorded in {new}")
            continue
        d = _diff(_strip(json.loads(f.read_text())), _strip(json.loads(g.read_text())))
        print(f"{f.stem:32s} {'same' if not d else 'CHANGED'}")
        for line in d:
            print(f"    {line}")
        changed += bool(d)
    return 1 if changed else 0


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    r = sub.add_parser("record")
    r.add_argument("dir", type=Path)
    r.add_argument("--skip", default="", help=f"comma-separated items to skip of {','.join(ITEMS)}")
    r.add_argument("--quick", action="store_true", help="record the quick RTL regression")
    c = sub.add_parser("check")
    c.add_argument("old", type=Path)
    c.add_argument("new", type=Path)
    a = ap.parse_args(argv)
    if a.cmd == "record":
        skip = {s for s in a.skip.split(",") if s}
        bad = skip - set(ITEMS)
        if bad:
            ap.error(f"--skip: unknown items {sorted(bad)} (known: {', '.join(ITEMS)})")
        record(a.dir, skip, a.quick)
        return 0
    return check(a.old, a.new)


if __name__ == "__main__":
    sys.exit(main())
