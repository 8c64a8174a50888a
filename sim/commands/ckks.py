"""``fhesim ckks precision``: bits of precision of the CKKS software path, stage by stage.

Usage::

    fhesim ckks precision --params NAME [--json] [--allow-insecure] [--seed S]

For each stage the error against an independent NumPy reference is measured slot by
slot; ``bits = -log2(|error|)`` (errors below ``2^-60`` count as 60 bits). Reported:
``mean_bits`` (mean over slots of the per-slot bits), ``worst_bits`` (the worst slot,
i.e. ``-log2(max |error|)``) and ``max_abs_err``.

Stages (random complex slots with real and imaginary parts uniform in ``[-1, 1]``,
except the polynomial, whose inputs are real in ``[-1, 1]``):

* ``encode/decode``: encode at the top level and default scale, decode.
* ``encrypt/decrypt``: public-key encryption, decryption, decoding.
* ``mul+relin+rescale``: product of two fresh ciphertexts, relinearised and rescaled.
* ``rotate(1)``: left rotation by one slot of a fresh ciphertext.
* ``conjugate``: slot-wise complex conjugation.
* ``poly63 (vs polynomial)``: a degree-63 Chebyshev interpolant of
  ``f(x) = sin(3x) / (1 + x^2)`` on ``[-1, 1]``, evaluated by
  :class:`sw.circuits.polynomial.PolynomialEvaluator`, compared with the same
  polynomial in NumPy (the homomorphic error). The approximation error of the
  interpolant itself is given in ``notes``. It is evaluated from the highest level
  whose next six rescales each drop one prime (see :func:`poly_start_level`).
"""
from __future__ import annotations

import argparse
import json
import math
import sys
import warnings

import numpy as np

_FLOOR = 2.0 ** -60
POLY_DEGREE = 63


def _poly_function(x: np.ndarray) -> np.ndarray:
    return np.sin(3 * x) / (1 + x * x)


def _bits(err: np.ndarray) -> tuple[float, float, float]:
    e = np.maximum(np.abs(np.asarray(err)), _FLOOR)
    return float(np.mean(-np.log2(e))), float(-np.log2(e.max())), float(np.abs(err).max())


def poly_start_level(params, depth: int) -> int:
    """Highest level ``L <= max_level`` whose rescales ``L, L-1, ..., L-depth+1`` all drop a
    single prime (the default-scale regime of application levels; composite levels carry
    ~2^60 scales and serve bootstrapping).

    Falls back to ``max_level`` if no such window exists.
    """
    sizes = [len(g) for g in params.q_groups]
    for top in range(params.max_level, depth - 1, -1):
        if top - depth >= 0 and all(s == 1 for s in sizes[top - depth + 1: top + 1]):
            return top
    return params.max_level


def measure_precision(name: str, *, allow_insecure: bool = False, seed: int = 0,
                      slots: int | None = None):
    """Run every stage at parameter set ``name`` and return a ``pandas.DataFrame``.

    Columns: ``stage, level, log2_scale, mean_bits, worst_bits, max_abs_err``;
    ``df.attrs["notes"]`` holds remarks (approximation error, parameter set facts).
    """
    import pandas as pd

    from sw.ckks import (CkksContext, Decryptor, Encoder, Encryptor, Evaluator, KeyGenerator,
                         get_params)
    from sw.circuits.polynomial import Polynomial, PolynomialEvaluator

    params = get_params(name, allow_insecure=allow_insecure)
    ctx = CkksContext(params)
    kg = KeyGenerator(ctx, seed=seed)
    keys = kg.gen_keyset(rotations=[1], conjugation=True)
    enc = Encoder(ctx)
    encryptor = Encryptor(ctx, keys.public, seed=seed + 1)
    dec = Decryptor(ctx, keys.secret)
    ev = Evaluator(ctx, keys)
    rng = np.random.default_rng(seed)
    n = params.slots if slots is None else int(slots)

    def rand() -> np.ndarray:
        return rng.uniform(-1, 1, n) + 1j * rng.uniform(-1, 1, n)

    rows = []

    def row(stage: str, got: np.ndarray, want: np.ndarray, obj) -> None:
        mean_b, worst_b, mx = _bits(np.asarray(got) - np.asarray(want))
        rows.append({"stage": stage, "level": int(obj.level), "log2_scale": round(math.log2(obj.scale), 3),
                     "mean_bits": round(mean_b, 2), "worst_bits": round(worst_b, 2), "max_abs_err": mx})

    a, b = rand(), rand()
    pa = enc.encode(a, slots=n)
    row("encode/decode", enc.decode(pa), a, pa)
    ca = encryptor.encrypt(pa)
    row("encrypt/decrypt", enc.decode(dec.decrypt(ca)), a, ca)
    # the product's operands at the top level's rescale factor (a 2-prime group in the
    # bootstrapping layouts), so that it rescales back to that scale
    top_scale = params.level_scale(params.max_level)
    ma = encryptor.encrypt(enc.encode(a, slots=n, scale=top_scale))
    mb = encryptor.encrypt(enc.encode(b, slots=n, scale=top_scale))
    cm = ev.mul(ma, mb, rescale=True)
    row("mul+relin+rescale", enc.decode(dec.decrypt(cm)), a * b, cm)
    cr = ev.rotate(ca, 1)
    row("rotate(1)", enc.decode(dec.decrypt(cr)), np.roll(a, -1), cr)
    cc = ev.conjugate(ca)
    row("conjugate", enc.decode(dec.decrypt(cc)), np.conj(a), cc)

    poly = Polynomial.from_function(_poly_function, POLY_DEGREE, (-1.0, 1.0))
    x = rng.uniform(-1, 1, n)
    start = poly_start_level(params, poly.depth)
    cx = encryptor.encrypt(enc.encode(x, level=start, slots=n))
    cp = PolynomialEvaluator(ev).evaluate(cx, poly)
    row(f"poly{POLY_DEGREE} (vs polynomial)", enc.decode(dec.decrypt(cp)), poly(x), cp)

    df = pd.DataFrame(rows)
    approx = float(np.max(np.abs(poly(x) - _poly_function(x))))
    df.attrs["notes"] = [
        f"params {params.name}: N = 2^{params.log_n}, slots = {n}, max_level = {params.max_level}, "
        f"default scale 2^{math.log2(params.default_scale):g}, secure = {params.is_secure}",
        f"poly{POLY_DEGREE}: Chebyshev interpolant of sin(3x)/(1+x^2) on [-1, 1], depth {poly.depth}, "
        f"levels {start} -> {cp.level}; its own approximation error max {approx:.3g} "
        f"({-math.log2(max(approx, _FLOOR)):.1f} bits)",
        "bits = -log2|error| per slot; mean over slots and worst slot",
    ]
    return df


def _run_precision(args: argparse.Namespace) -> int:
    from sw.ckks.errors import CkksError

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # the INSECURE banner is printed to stderr anyway
            df = measure_precision(args.params, allow_insecure=args.allow_insecure, seed=args.seed)
    except (CkksError, KeyError) as exc:  # insecure without opt-in, unknown parameter set, ...
        print(f"fhesim ckks precision: {exc.args[0] if exc.args else exc}", file=sys.stderr)
        return 2
    notes = df.attrs.get("notes", [])
    if args.json:
        print(json.dumps({"command": "ckks precision", "params": args.params, "seed": args.seed,
                          "rows": json.loads(df.to_json(orient="records")), "notes": notes}, indent=2))
    else:
        print(f"== fhesim ckks precision --params {args.params} ==")
        print(df.to_string(index=False))
        for note in notes:
            print(f"note: {note}")
    return 0


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add ``fhesim ckks ...`` subcommands to the top-level parser."""
    parser = subparsers.add_parser("ckks", help="CKKS software path: precision report")
    sub = parser.add_subparsers(dest="ckks_command", metavar="SUBCOMMAND")
    sub.required = True
    p = sub.add_parser("precision", help="bits of precision after each CKKS stage")
    p.add_argument("--params", required=True, metavar="NAME", help="parameter set, e.g. toy-n10, n16-128")
    p.add_argument("--json", action="store_true", help="print JSON instead of a table")
    p.add_argument("--allow-insecure", action="store_true",
                   help="allow insecure toy parameter sets (they are labelled INSECURE)")
    p.add_argument("--seed", type=int, default=0, help="seed for keys, encryption and test vectors")
    p.set_defaults(func=_run_precision)
