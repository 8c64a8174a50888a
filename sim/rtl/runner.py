"""Build a unit, simulate it (Icarus or Verilator) through ``cocotb_tools.runner``, return the verdict.

``run_rtl(spec, ...)`` is the one entry point used by pytest, ``sim/regression.py`` and the
``fhesim sim`` command:

1. :func:`sim.rtl.build.build_unit` emits (or reuses) the Verilog and the port map;
2. :func:`sim.rtl.simulator.start` compiles the simulator's model into
   ``<build>/<simulator>`` (``<simulator>_waves`` when waves are requested) and makes a
   run directory;
3. the run configuration is written to ``<run dir>/config.json`` and the cocotb test
   (:mod:`sim.rtl.tb_elementwise` or :mod:`sim.rtl.tb_ntt`) run on it; it writes
   ``result.json``;
4. the simulator log goes to ``<run dir>/sim.log``. The run directory is deleted after a
   passing run unless ``keep`` or ``waves`` is set (the waveform is ``<run dir>/<top>.fst``).
"""
from __future__ import annotations

import time
from pathlib import Path

from . import simulator as simulators
from .build import REPO_ROOT, build_unit
from .simulator import RtlError
from .units import ELEMENTWISE, TRANSFORM, UnitSpec

__all__ = ["RtlError", "TEST_MODULES", "run_rtl"]

TEST_MODULES = {**{k: "sim.rtl.tb_elementwise" for k in ELEMENTWISE},
                **{k: "sim.rtl.tb_ntt" for k in TRANSFORM},
                "mac": "sim.rtl.tb_mac", "bconv": "sim.rtl.tb_bconv",
                "automorphism": "sim.rtl.tb_automorphism"}


def _display_path(path: Path) -> str:
    """``path`` relative to the repository when it lies inside it (reports stay portable)."""
    try:
        return str(Path(path).resolve().relative_to(REPO_ROOT.resolve()))
    except ValueError:
        return str(path)


def run_rtl(spec: UnitSpec, *, vectors: int = 200, seed: int = 1, direction: str = "forward",
            transforms: int = 2, p_valid: float = 0.7, p_ready: float = 0.6,
            phases: tuple[str, ...] = ("stall", "reset", "timing"),
            reset_points: tuple[str, ...] = ("input", "compute", "output"), timing_transforms: int = 2,
            corrupt_expected: int | None = None, waves: bool = False, keep: bool = False,
            verbose: bool = False, simulator: str | None = None) -> dict:
    """Simulate ``spec`` and return the result dictionary written by the cocotb test.

    ``vectors`` counts input vectors for elementwise units; ``transforms`` counts transforms
    in the stall phase of an NTT run; ``timing_transforms`` (NTT) is 2 to measure the
    initiation interval as well, 1 to keep an n = 2^16 run short. ``p_valid``/``p_ready``
    are the per-cycle probabilities of offering / accepting a beat in the stall and reset
    phases. ``corrupt_expected`` deliberately falsifies the golden value of that vector
    (elementwise) or element of transform 0 (NTT), to show the checker is not vacuous.
    ``waves`` dumps ``<run dir>/<top>.fst`` (Verilator: ``dump.vcd``). ``simulator`` is
    ``icarus`` or ``verilator`` (default :func:`sim.rtl.simulator.default_simulator`).
    """
    if direction not in ("forward", "inverse"):
        raise ValueError(f"direction={direction!r} must be 'forward' or 'inverse'")
    t0 = time.perf_counter()
    built = build_unit(spec)
    t_build = time.perf_counter() - t0
    run = simulators.start(built.dir, built.sim_verilog, built.top, label=spec.label,
                           run_prefix=f"{direction if spec.kind in TRANSFORM else 'run'}_s{seed}_",
                           waves=waves, verbose=verbose, simulator=simulator,
                           verilog=built.verilog)
    run.write_config({
        "kind": spec.kind, "label": spec.label, "q": spec.q, "width": spec.width, "n": spec.n,
        "lanes": spec.lanes, "multiplier": spec.multiplier, "bug": spec.bug,
        "src_primes": list(spec.src_primes), "dst_primes": list(spec.dst_primes),
        "galois": spec.galois, "order": spec.order,
        "props": built.props, "ports": built.meta["ports"],
        "vectors": int(vectors), "transforms": int(transforms), "seed": int(seed),
        "direction": direction, "p_valid": float(p_valid), "p_ready": float(p_ready),
        "phases": list(phases), "reset_points": list(reset_points),
        "timing_transforms": int(timing_transforms),
        "corrupt_expected": corrupt_expected,
        "result_path": str(run.result_path),
    })
    result = run.test(TEST_MODULES[spec.kind], seed=seed)
    result.update({
        "spec": {"kind": spec.kind, "n": spec.n, "q": spec.q, "width": spec.width,
                 "lanes": spec.lanes, "multiplier": spec.multiplier, "bug": spec.bug,
                 "src_primes": list(spec.src_primes), "dst_primes": list(spec.dst_primes),
                 "galois": spec.galois, "order": spec.order},
        "direction": direction if spec.kind in TRANSFORM else None,
        "props": built.props, "build_dir": _display_path(built.dir), "simulator": run.simulator,
        "time_build_s": round(t_build, 3), "time_compile_s": round(run.compile_s, 3),
        "time_total_s": round(time.perf_counter() - t0, 3),
    })
    return run.finish(result, keep or not result.get("pass"))
