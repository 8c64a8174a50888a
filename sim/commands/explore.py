"""``fhesim explore``: design-space exploration of an FPGA accelerator for one workload.

    fhesim explore [--device u280] [--workload resnet20] [--grid default|small]
                   [--util 1.0] [--execution serial|pipelined] [--overlap op|prefetch]
                   [--no-refine] [--top 12] [--plot FILE.png] [--json] [--no-progress]

The engine is the library :mod:`sim.explore` (design space, fitting, search, Pareto front,
lower bound; rules and results: ``docs/cycle-model.md``, "Design-space exploration"); this
module parses the arguments, calls :func:`sim.explore.explore` and prints.
"""
from __future__ import annotations

import argparse
import json
import sys

from sim.explore import DEVICES, GRIDS

FRONT_COLS = ["design", "latency_s", "bottleneck", "dsp", "lut", "ff", "bram36", "uram",
              "dsp_util", "lut_util", "unit_ram_MB", "data_MB"]


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "explore", help="design-space exploration: unit mixes that fit an FPGA, Pareto front, best design",
        description="Enumerate accelerator unit mixes that fit the device's resources, estimate a "
                    "workload on each with the cycle model, print the Pareto front (latency vs DSP/LUT), "
                    "the best fitting design with its bottleneck, and a lower bound no design beats.")
    p.add_argument("--device", default="u280", help=f"FPGA device (known: {', '.join(sorted(DEVICES))})")
    p.add_argument("--workload", default="resnet20",
                   help="report workload: resnet20 ... resnet110, bootstrap, bootstrap-l8, cmult, rotate, mulrot")
    p.add_argument("--traces", default=None, help="directory of trace files (default reports/traces/)")
    p.add_argument("--grid", default="default", choices=sorted(GRIDS), help="coarse grid (default: default)")
    p.add_argument("--no-refine", action="store_true", help="coarse grid only, no local refinement")
    p.add_argument("--util", type=float, default=1.0,
                   help="largest fraction of each device resource a design may use (default 1.0)")
    p.add_argument("--execution", choices=["serial", "pipelined"], default=None,
                   help="execution within an operation (default: the device preset's)")
    p.add_argument("--overlap", choices=["op", "prefetch"], default=None,
                   help="transfer overlap (default: the device preset's)")
    p.add_argument("--top", type=int, default=12, help="Pareto rows to print (default 12; all with --json)")
    p.add_argument("--plot", default=None, metavar="FILE.png", help="write the Pareto plot")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    from sim.cluster import add_cluster_argument
    add_cluster_argument(p, default_help="none: the grid in this process")
    p.set_defaults(func=run)


def _fail(msg: str) -> int:
    print(f"fhesim explore: {msg}", file=sys.stderr)
    return 2


def run(args) -> int:
    from sim.explore import explore, plot_front

    try:
        res = explore(args.device, args.workload, grid=args.grid, refine=not args.no_refine,
                      util=args.util, execution=args.execution, overlap=args.overlap,
                      progress=not (args.no_progress or args.json), traces_dir=args.traces,
                      cluster=args.cluster)
    except ImportError as exc:
        return _fail(f"the workload needs the CKKS layer (sw), which failed to import: {exc}")
    except ValueError as exc:
        return _fail(str(exc))
    if args.plot:
        plot_front(res, args.plot)
    if args.json:
        print(json.dumps(res.summary(), indent=1, default=str))
        return 0
    _print(res, args.util, args.top)
    return 0


def _print(res, util: float, top: int) -> None:
    """The text output of ``fhesim explore`` (front, best design, lower bound)."""
    import pandas as pd

    b, bd, p = res.best, res.bound, res.preset
    print(f"== fhesim explore: {res.workload} on {res.device} ({res.base.clock_mhz:g} MHz, "
          f"{res.base.word_bits}-bit, {res.base.off_chip_gbps:g} GB/s, "
          f"{res.base.on_chip_bytes / 1e6:g} MB on chip; execution {b['execution']}, overlap {b['overlap']}) ==")
    print(f"explored {len(res.table)} designs, {int(res.table['fits'].sum())} fit "
          f"(util <= {util:g} of each resource)")
    pd.set_option("display.width", 200)
    shown = res.front_rows(top)[FRONT_COLS]
    print(f"\nPareto front (latency vs DSP and LUT; {len(res.front)} designs"
          + (f", {len(shown)} shown, evenly spaced in DSP" if len(shown) < len(res.front) else "") + "):")
    print(shown.to_string(index=False, float_format=lambda v: f"{v:.4g}"))
    shares = ", ".join(f"{k} {b[f'{k}_share']:.0%}" for k in ("ntt", "modmul", "modadd", "bconv",
                                                              "automorphism", "memory") if b.get(f"{k}_share"))
    print(f"\nbest fitting design: {b['design']}")
    print(f"  {res.workload}: {b['latency_s']:.4g} s; bottleneck {b['bottleneck']} ({shares})")
    print(f"  resources: DSP {b['dsp']:,} ({b['dsp_util']:.0%}), LUT {b['lut']:,} ({b['lut_util']:.0%}), "
          f"FF {b['ff']:,} ({b['ff_util']:.0%}), BRAM36 {b['bram36']:g} ({b['bram36_util']:.0%}), "
          f"URAM {b['uram']:,} ({b['uram_util']:.0%}); unit RAM {b['unit_ram_MB']:.1f} MB, "
          f"data capacity {b['data_MB']:.1f} MB")
    if p.get("fits"):
        print(f"  device preset ({p['design']}): {p['latency_s']:.4g} s "
              f"({p['latency_s'] / b['latency_s']:.1f}x the best)")
    print("\n" + b["toml_units"])
    print(f"\nlower bound on {res.device}: {bd['modmul_total']:.4g} modular multiplications / "
          f"({bd['multipliers']} multipliers of {bd['dsp_per_multiplier']} DSP x {bd['clock_mhz']:g} MHz) "
          f"= {bd['compute_s']:.3g} s; compulsory off-chip {bd['memory_bytes'] / 1e9:.1f} GB / "
          f"{bd['off_chip_gbps']:g} GB/s = {bd['memory_s']:.3g} s; bound {bd['bound_s']:.3g} s")
    print(f"  floor with one {res.base.word_bits}-bit product per multiplication ({bd['dsp_per_product']} DSP, "
          f"reduction free): {bd['multipliers_floor']} multipliers, {bd['floor_s']:.3g} s")
    for n in res.notes[:1]:
        print(f"note: {n}")
