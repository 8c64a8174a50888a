"""``fhesim sim`` (one RTL configuration) and ``fhesim regression`` (the RTL matrix).

``fhesim sim --unit {modmul,butterfly,ntt,intt} [--n N] [--q Q] [--width W] [--lanes P]
[--multiplier barrett|montgomery|shoup] [--butterfly ct|gs] [--vectors K] [--transforms T]
[--seed S] [--phases stall,reset,timing] [--waves] [--json]``

builds the unit (cached Verilog under ``build/rtl/``), simulates it with Icarus through
cocotb and checks every output against the golden model. ``q`` defaults to the largest
NTT-friendly prime (q = 1 mod 2n) below 2^W; ``n`` defaults to 2^16 for the elementwise
units (it only selects q) and to 256 for ``ntt``/``intt``. ``--multiplier`` picks the modular
multiplier of every unit (``shoup``: the constant operand -- twiddle, scale factor -- comes
with its precomputed companion ``floor(w*2^W/q)``, one stage shorter than the other two).
Exit status: 0 pass, 1 fail (mismatch or timing disagreement), 2 invalid parameters
(one-line message).

``fhesim regression [--quick] [--json] [--jobs J] [--only TEXT]`` runs
:func:`sim.regression.matrix` (``make sim``).
"""
from __future__ import annotations

import argparse
import json
import sys

UNITS = ("modmul", "butterfly", "ntt", "intt")


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser("sim", help="simulate one RTL unit against its golden model",
                              description="Build one unit, simulate it with Icarus + cocotb under "
                              "random stalls, back-pressure and a mid-stream reset, check every "
                              "output against the golden model and the measured latency/cycles "
                              "against the unit's properties. Exit 0 pass, 1 fail, 2 bad parameters.")
    p.add_argument("--unit", required=True, choices=UNITS)
    p.add_argument("--n", type=int, default=None, help="ring degree / NTT length (power of two)")
    p.add_argument("--q", type=int, default=None, help="modulus (default: largest NTT prime < 2^W)")
    p.add_argument("--width", type=int, default=32, help="word width W (16..64)")
    p.add_argument("--lanes", type=int, default=1, help="NTT lanes P (a power of two dividing n/2; the regression covers 1, 2, 4, 8)")
    from ..rtl.units import MULTIPLIERS
    p.add_argument("--multiplier", choices=MULTIPLIERS, default="barrett",
                   help="modular multiplier: barrett (default), montgomery or shoup "
                   "(latency 4, 4, 3)")
    p.add_argument("--butterfly", choices=("ct", "gs"), default="ct", help="butterfly kind")
    p.add_argument("--vectors", type=int, default=300, help="input vectors (elementwise units)")
    p.add_argument("--transforms", type=int, default=2, help="transforms in the stall phase (NTT)")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--phases", default="stall,reset,timing",
                   help="comma-separated subset of stall,reset,timing")
    p.add_argument("--p-valid", type=float, default=0.7, help="probability of offering a beat")
    p.add_argument("--p-ready", type=float, default=0.6, help="probability of accepting a beat")
    p.add_argument("--waves", action="store_true", help="dump an FST waveform (path printed)")
    p.add_argument("--json", action="store_true", help="print the full result as JSON")
    p.set_defaults(func=cmd_sim)

    r = subparsers.add_parser("regression", help="run the RTL regression matrix (make sim)")
    from ..regression import add_arguments, cmd_regression
    add_arguments(r)
    r.set_defaults(func=cmd_regression)


def _error(msg: str) -> int:
    print(f"fhesim sim: error: {msg}", file=sys.stderr)
    return 2


def cmd_sim(args) -> int:
    from ..rtl.runner import RtlError, run_rtl
    from ..rtl.units import SpecError, make_component, make_spec

    kind = {"modmul": "modmul", "butterfly": args.butterfly, "ntt": "ntt", "intt": "ntt"}[args.unit]
    n = args.n if args.n is not None else (256 if kind == "ntt" else 1 << 16)
    phases = tuple(p.strip() for p in args.phases.split(",") if p.strip())
    bad = set(phases) - {"stall", "reset", "timing"}
    if bad or not phases:
        return _error(f"--phases {args.phases!r}: choose from stall, reset, timing")
    if args.vectors < 1 or args.transforms < 1:
        return _error("--vectors and --transforms must be at least 1")
    if not (0 < args.p_valid <= 1 and 0 < args.p_ready <= 1):
        return _error("--p-valid and --p-ready must lie in (0, 1]")
    try:
        spec = make_spec(kind, width=args.width, n=n, q=args.q, lanes=args.lanes,
                         multiplier=args.multiplier)
        make_component(spec)   # let the generator reject what it does not support, up front
    except SpecError as e:
        return _error(str(e))
    try:
        res = run_rtl(spec, vectors=args.vectors, transforms=args.transforms, seed=args.seed,
                      direction="inverse" if args.unit == "intt" else "forward", phases=phases,
                      p_valid=args.p_valid, p_ready=args.p_ready, waves=args.waves)
    except RtlError as e:
        print(f"fhesim sim: {e}", file=sys.stderr)
        return 1
    if args.json:
        print(json.dumps(res, indent=1, default=str))
    else:
        _print_human(res)
    return 0 if res.get("pass") else 1


def _print_human(res: dict) -> None:
    d = f" {res['direction']}" if res.get("direction") else ""
    print(f"{res['label']}{d}: {'PASS' if res.get('pass') else 'FAIL'}")
    if res.get("error"):
        print(f"  error: {res['error']}")
    print(f"  checked {res.get('vectors_checked')} "
          f"{'transforms' if res.get('direction') else 'vectors'} "
          f"({res.get('words_checked')} words), mismatches {res.get('mismatches')} "
          f"(values {res.get('mismatched_beats')}, missing {res.get('missing_outputs')}, "
          f"unexpected {res.get('unexpected_outputs')}), {res.get('sim_cycles')} cycles simulated")
    for key, v in (res.get("timing") or {}).items():
        print(f"  {key:22s} modelled {v['modelled']!s:>24s}  measured {v['measured']!s:>24s}  "
              f"{'ok' if v['ok'] else 'DIFFERS'}")
    if res.get("first_mismatch"):
        print(f"  first mismatch: {json.dumps(res['first_mismatch'], default=str)}")
    if res.get("waves"):
        print(f"  waves: {res['waves']}")
    if res.get("run_dir"):
        print(f"  run directory: {res['run_dir']}")
