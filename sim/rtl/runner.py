"""Build a unit, simulate it with Icarus through ``cocotb_tools.runner``, return the verdict.

``run_rtl(spec, ...)`` is the one entry point used by pytest, ``sim/regression.py`` and the
``fhesim sim`` command:

1. :func:`sim.rtl.build.build_unit` emits (or reuses) the Verilog and the port map;
2. the Icarus ``.vvp`` is compiled into ``<build>/icarus`` (``icarus_waves`` when waves are
   requested: Icarus needs the dump module at compile time) -- cocotb's runner skips the
   compile when the ``.vvp`` is newer than the Verilog;
3. the run configuration is written to ``<run dir>/config.json`` and its path handed to the
   cocotb test in ``FHESIM_RTL_CONFIG`` (``extra_env``); the test writes ``result.json``;
4. the simulator log goes to ``<run dir>/sim.log``. The run directory is deleted after a
   passing run unless ``keep`` or ``waves`` is set (the waveform is ``<run dir>/<top>.fst``).
"""
from __future__ import annotations

import json
import logging
import shutil
import sys
import tempfile
import time
from pathlib import Path

from .build import REPO_ROOT, build_unit, log_tail
from .units import ELEMENTWISE, TRANSFORM, UnitSpec

TEST_MODULES = {**{k: "sim.rtl.tb_elementwise" for k in ELEMENTWISE},
                **{k: "sim.rtl.tb_ntt" for k in TRANSFORM}}



def _display_path(path: Path) -> str:
    """``path`` relative to the repository when it lies inside it (reports stay portable)."""
    try:
        return str(Path(path).resolve().relative_to(REPO_ROOT.resolve()))
    except ValueError:
        return str(path)

class RtlError(RuntimeError):
    """The simulation did not produce a verdict (build failure, simulator crash, ...)."""



def run_rtl(spec: UnitSpec, *, vectors: int = 200, seed: int = 1, direction: str = "forward",
            transforms: int = 2, p_valid: float = 0.7, p_ready: float = 0.6,
            phases: tuple[str, ...] = ("stall", "reset", "timing"),
            reset_points: tuple[str, ...] = ("input", "compute", "output"), timing_transforms: int = 2,
            corrupt_expected: int | None = None, waves: bool = False, keep: bool = False,
            verbose: bool = False) -> dict:
    """Simulate ``spec`` and return the result dictionary written by the cocotb test.

    ``vectors`` counts input vectors for elementwise units; ``transforms`` counts transforms
    in the stall phase of an NTT run; ``timing_transforms`` (NTT) is 2 to measure the
    initiation interval as well, 1 to keep an n = 2^16 run short. ``p_valid``/``p_ready``
    are the per-cycle probabilities of offering / accepting a beat in the stall and reset
    phases. ``corrupt_expected`` deliberately falsifies the golden value of that vector
    (elementwise) or element of transform 0 (NTT), to show the checker is not vacuous.
    ``waves`` dumps ``<run dir>/<top>.fst``.
    """
    from cocotb_tools.runner import get_runner

    if direction not in ("forward", "inverse"):
        raise ValueError(f"direction={direction!r} must be 'forward' or 'inverse'")
    t0 = time.perf_counter()
    built = build_unit(spec)
    t_build = time.perf_counter() - t0

    try:
        runner = get_runner("icarus")
    except SystemExit as e:      # cocotb exits when iverilog is not on PATH
        raise RtlError(f"cannot simulate {spec.label}: {e}") from None
    sim_dir = built.dir / ("icarus_waves" if waves else "icarus")
    # cocotb's runner logs every command at INFO; keep the console quiet unless verbose
    # cocotb's runner logs every command (and "Skipping compilation") on its own logger
    runner.log.setLevel(logging.INFO if verbose else logging.ERROR)
    with open(built.dir / ".lock", "w") as lock:
        import fcntl
        fcntl.flock(lock, fcntl.LOCK_EX)
        log = built.dir / "build.log"
        try:
            runner.build(sources=[built.sim_verilog], hdl_toplevel=built.top, build_dir=sim_dir,
                         timescale=("1ns", "1ps"), waves=waves, always=False,
                         log_file=log)
        except (RuntimeError, SystemExit) as e:
            raise RtlError(f"Icarus build of {spec.label} failed: {e}\n{log_tail(log)}") from None
    t_compile = time.perf_counter() - t0 - t_build

    runs = built.dir / "runs"
    runs.mkdir(exist_ok=True)
    run_dir = Path(tempfile.mkdtemp(prefix=f"{direction if spec.kind in TRANSFORM else 'run'}_s{seed}_",
                                    dir=runs))
    cfg = {
        "kind": spec.kind, "label": spec.label, "q": spec.q, "width": spec.width, "n": spec.n,
        "lanes": spec.lanes, "multiplier": spec.multiplier, "bug": spec.bug,
        "props": built.props, "ports": built.meta["ports"],
        "vectors": int(vectors), "transforms": int(transforms), "seed": int(seed),
        "direction": direction, "p_valid": float(p_valid), "p_ready": float(p_ready),
        "phases": list(phases), "reset_points": list(reset_points),
        "timing_transforms": int(timing_transforms),
        "corrupt_expected": corrupt_expected,
        "result_path": str(run_dir / "result.json"),
    }
    (run_dir / "config.json").write_text(json.dumps(cfg, indent=1))
    sim_log = run_dir / "sim.log"
    env = {"FHESIM_RTL_CONFIG": str(run_dir / "config.json")}
    if str(REPO_ROOT) not in sys.path:   # the simulator's Python imports sim.rtl from here
        sys.path.insert(0, str(REPO_ROOT))
    try:
        runner.test(test_module=TEST_MODULES[spec.kind], hdl_toplevel=built.top,
                    build_dir=sim_dir, test_dir=run_dir, extra_env=env, waves=waves,
                    seed=seed, results_xml=str(run_dir / "results.xml"), log_file=sim_log,
                    plusargs=[f"+dumpfile_path={run_dir / (built.top + '.fst')}"] if waves else [],
                    timescale=("1ns", "1ps"))
    except SystemExit:
        pass   # the cocotb runner exits on a failing test under pytest; the verdict is in result.json
    except RuntimeError as e:
        raise RtlError(f"simulation of {spec.label} failed to run: {e}\n{log_tail(sim_log)}") from None
    rfile = run_dir / "result.json"
    if not rfile.is_file():
        raise RtlError(f"simulation of {spec.label} wrote no result (crash or test error); "
                       f"log {sim_log}:\n{log_tail(sim_log)}")
    result = json.loads(rfile.read_text())
    result.update({
        "spec": {"kind": spec.kind, "n": spec.n, "q": spec.q, "width": spec.width,
                 "lanes": spec.lanes, "multiplier": spec.multiplier, "bug": spec.bug},
        "direction": direction if spec.kind in TRANSFORM else None,
        "props": built.props, "build_dir": _display_path(built.dir),
        "time_build_s": round(t_build, 3), "time_compile_s": round(t_compile, 3),
        "time_total_s": round(time.perf_counter() - t0, 3),
    })
    if waves or keep or not result.get("pass"):
        result["run_dir"] = str(run_dir)
        if waves:
            result["waves"] = str(run_dir / f"{built.top}.fst")
    else:
        shutil.rmtree(run_dir, ignore_errors=True)
    return result
