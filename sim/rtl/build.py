"""Verilog emission with an on-disk cache, and the port/payload map the test bench needs.

``build_unit(spec)`` returns a :class:`Built` describing ``build/rtl/<kind>_<hash>/``:

* ``<top>.v``   -- ``amaranth.back.verilog.convert(component, name=top)``
* ``meta.json`` -- the unit's Python properties (latency, throughput, cycles_per_transform,
  initiation_interval, cycles_per_row where the unit has them),
  the Verilog port names and widths, and the bit offsets of every payload field.

The hash covers the spec's build fields and the source text of ``hw/``, ``sw/`` and the
self-test components, so editing a generator rebuilds; otherwise the cached Verilog (and
the Icarus ``.vvp`` compiled from it, which the cocotb runner keeps next to it) is reused.
Concurrent builders of the same key serialise on a lock file. :func:`cached_build` is that
cache for any component (the units here, the replay top of :mod:`sim.compare.rtl`).

Port names are *not* assumed: they are derived from the component's signature the way
Amaranth names them (``i__payload``, ``o__valid``, ...) and then checked against the
emitted module header (name present, declared width equal to the layout width).
"""
from __future__ import annotations

import fcntl
import hashlib
import json
import os
import re
from dataclasses import dataclass
from pathlib import Path

from sw.atomicio import atomic_write_text

from .units import UnitSpec, make_component

REPO_ROOT = Path(__file__).resolve().parents[2]
BUILD_ROOT = Path(os.environ.get("FHESIM_BUILD_DIR", REPO_ROOT / "build")) / "rtl"
BUILD_FORMAT = 2   # bump when meta.json layout changes


_IMPORT_RE = re.compile(r"^\s*(?:from\s+(\.*[\w.]*)\s+import\s+([\w, ()]+)|import\s+([\w.]+))", re.M)


def _dependency_files() -> list[Path]:
    """``hw/**/*.py``, this package's generator files, and the ``sw`` modules they import.

    Found by a static scan of import statements (transitively through ``sw``), so edits to
    unrelated software modules (CKKS, ResNet, ...) do not invalidate the Verilog cache.
    """
    todo = sorted((REPO_ROOT / "hw").rglob("*.py")) + [Path(__file__).with_name("selftest.py"),
                                                       Path(__file__).with_name("units.py"),
                                                       Path(__file__)]
    seen: set[Path] = set()
    while todo:
        f = todo.pop()
        if f in seen or not f.is_file():
            continue
        seen.add(f)
        pkg = f.parent
        for m in _IMPORT_RE.finditer(f.read_text()):
            mod, names, plain = m.group(1), m.group(2), m.group(3)
            mod = mod or plain
            if mod.startswith("."):
                dots = len(mod) - len(mod.lstrip("."))
                base = pkg
                for _ in range(dots - 1):
                    base = base.parent
                parts = [p for p in mod.lstrip(".").split(".") if p]
                cands = [base.joinpath(*parts)]
            else:
                parts = mod.split(".")
                if parts[0] not in ("sw", "hw"):
                    continue
                cands = [REPO_ROOT.joinpath(*parts)]
            names_l = [n.strip(" ()") for n in (names or "").split(",") if n.strip(" ()")]
            for c in cands:
                todo.append(c.with_suffix(".py"))
                todo.append(c / "__init__.py")
                for n in names_l:
                    todo.append(c / f"{n}.py")
    return sorted(seen)


def source_digest() -> str:
    h = hashlib.sha256()
    for f in _dependency_files():
        h.update(str(f.relative_to(REPO_ROOT)).encode())
        h.update(f.read_bytes())
    return h.hexdigest()


def layout_fields(shape, prefix: str = "", offset: int = 0) -> list[dict]:
    """Flatten an Amaranth shape/layout to ``[{"path", "offset", "width"}]`` leaves (LSB first)."""
    from amaranth import Shape
    from amaranth.lib import data

    if isinstance(shape, data.Layout):
        out = []
        for key, fld in shape:
            path = f"{prefix}[{key}]" if isinstance(key, int) else (f"{prefix}.{key}" if prefix else key)
            out += layout_fields(fld.shape, path, offset + fld.offset)
        return out
    return [{"path": prefix, "offset": offset, "width": Shape.cast(shape).width}]


def _port_map(component) -> dict:
    """Verilog port name, direction and width of every stream signal, from the signature."""
    from amaranth import Shape
    from amaranth.lib import data

    ports = {}
    for name in ("i", "o"):
        member = component.signature.members[name]
        sig = member.signature
        payload_shape = sig.members["payload"].shape
        width = payload_shape.size if isinstance(payload_shape, data.Layout) else Shape.cast(payload_shape).width
        ports[name] = {
            "payload": f"{name}__payload", "valid": f"{name}__valid", "ready": f"{name}__ready",
            "width": width,
            "fields": layout_fields(payload_shape),
        }
    return ports


def _check_ports(verilog: str, top: str, ports: dict) -> None:
    header = re.search(rf"module\s+{re.escape(top)}\s*\(([^)]*)\)", verilog)
    if not header:
        raise RuntimeError(f"module {top} not found in generated Verilog")
    names = {p.strip() for p in header.group(1).split(",")}
    for req in ("clk", "rst"):
        if req not in names:
            raise RuntimeError(f"port {req!r} missing from module {top} ports {sorted(names)}")
    for name, p in ports.items():
        for sig in ("payload", "valid", "ready"):
            if p[sig] not in names:
                raise RuntimeError(f"port {p[sig]!r} missing from module {top} ports {sorted(names)}")
        m = re.search(rf"\b(?:input|output)\s+(?:\[(\d+):0\]\s+)?{re.escape(p['payload'])}\s*;", verilog)
        declared = int(m.group(1)) + 1 if m and m.group(1) else 1
        if declared != p["width"]:
            raise RuntimeError(f"{p['payload']} declared {declared} bits, layout says {p['width']}")


_KICK_RE = re.compile(r"^(\s*)reg (\\\$auto\$verilog_backend\.cc:\d+:dump_module\$\d+ ) = 0;$", re.M)


def icarus_shim(verilog: str) -> str:
    """The Verilog handed to Icarus: the emitted text plus a time-zero kick.

    Yosys guards every ``always @*`` block with a dummy register declared ``= 0`` so that the
    block runs once at time zero. Under ``-g2012`` (which cocotb's runner forces) Icarus
    applies declaration initialisers without an event, so combinational outputs that depend
    only on registers that never change (an FSM sitting in its reset state) stay ``X``. Adding
    ``initial #0 <dummy> = 1;`` produces that event; the dummy has no other use.
    """
    return _KICK_RE.sub(lambda m: f"{m.group(0)}\n{m.group(1)}initial #0 {m.group(2)} = 1'h1;", verilog)


@dataclass(frozen=True)
class Built:
    spec: UnitSpec
    dir: Path
    top: str
    verilog: Path          # as emitted by Amaranth
    sim_verilog: Path      # what Icarus compiles (see icarus_shim)
    meta: dict

    @property
    def props(self) -> dict:
        return self.meta["props"]


def _props(component) -> dict:
    props = {}
    for name in ("latency", "throughput", "cycles_per_transform", "initiation_interval",
                 "cycles_per_row"):
        if hasattr(component, name):
            v = getattr(component, name)
            props[name] = float(v) if name == "throughput" else int(v)
    if "latency" not in props or "throughput" not in props:
        raise RuntimeError(f"{type(component).__name__} lacks the latency/throughput properties")
    return props


def _prune_stale(current: Path, meta: dict) -> None:
    """Delete builds of the same spec made from older generator sources (they are large).

    A directory is only removed when its lock can be taken without waiting, so a build or
    simulation in progress elsewhere is never pulled from under its feet.
    """
    import shutil

    for other in current.parent.glob(f"{current.name.rsplit('_', 1)[0]}_*"):
        if other == current or not (other / "meta.json").is_file():
            continue
        try:
            ometa = json.loads((other / "meta.json").read_text())
        except (OSError, ValueError):
            continue
        if ometa.get("spec") != meta.get("spec") or ometa.get("src") == meta.get("src"):
            continue
        try:
            with open(other / ".lock", "a") as lk:
                fcntl.flock(lk, fcntl.LOCK_EX | fcntl.LOCK_NB)
                if not any((other / "runs").glob("*")):
                    shutil.rmtree(other, ignore_errors=True)
        except OSError:
            continue



def write_build_files(vfile: Path, sfile: Path, mfile: Path, text: str, meta: dict) -> None:
    """Store a build: the emitted Verilog, its Icarus-shimmed copy and the JSON metadata.

    Each is written atomically, so a reader (another job sharing the build cache) never
    sees a half-written file."""
    atomic_write_text(vfile, text)
    atomic_write_text(sfile, icarus_shim(text))
    atomic_write_text(mfile, json.dumps(meta, indent=1))


def log_tail(path: Path, lines: int = 30) -> str:
    """The last ``lines`` lines of a log file, or ``(no log)`` when it cannot be read."""
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"

@dataclass(frozen=True)
class CachedVerilog:
    """One directory of the Verilog cache (see :func:`cached_build`)."""

    dir: Path
    top: str
    verilog: Path          # as emitted by Amaranth
    sim_verilog: Path      # what Icarus compiles (see icarus_shim)
    meta: dict


def cached_build(root: Path, prefix: str, key: dict, top: str, make, *, check=None,
                 force: bool = False) -> CachedVerilog:
    """Emit (or reuse) the Verilog of a component under ``root/<prefix>_<hash of key>/``.

    Parameters
    ----------
    root : Path
        Cache root (``build/rtl``, ``build/compare``).
    prefix : str
        Directory name prefix (the unit kind, ``replay``).
    key : dict
        Everything the Verilog depends on (spec fields, source digest, format number).
    top : str
        Verilog module name.
    make : callable
        ``make() -> (component, meta)``; only called when the cache misses (or ``force``).
    check : callable, optional
        ``check(verilog_text, meta)`` raising on an inconsistent emission.
    force : bool
        Re-emit even when the cached files exist.

    Concurrent builders of the same key serialise on ``<dir>/.lock``; the files are written
    atomically, so a reader never sees half a file.
    """
    digest = hashlib.sha256(json.dumps(key, sort_keys=True).encode()).hexdigest()[:12]
    d = root / f"{prefix}_{digest}"
    vfile, mfile, sfile = d / f"{top}.v", d / "meta.json", d / f"{top}_icarus.v"
    d.mkdir(parents=True, exist_ok=True)
    with open(d / ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if force or not (vfile.is_file() and mfile.is_file() and sfile.is_file()):
            from amaranth.back import verilog

            component, meta = make()
            text = verilog.convert(component, name=top)
            if check is not None:
                check(text, meta)
            write_build_files(vfile, sfile, mfile, text, meta)
        meta = json.loads(mfile.read_text())
    return CachedVerilog(dir=d, top=top, verilog=vfile, sim_verilog=sfile, meta=meta)


def build_unit(spec: UnitSpec, *, force: bool = False) -> Built:
    """Emit (or reuse) the Verilog and port map of ``spec`` (see the module docstring)."""
    key = {"spec": spec.build_key(), "src": source_digest(), "fmt": BUILD_FORMAT}
    top = f"fhesim_{spec.kind}"

    def make():
        component = make_component(spec)
        return component, {"top": top, "spec": spec.build_key(), "label": spec.label,
                           "src": key["src"], "props": _props(component),
                           "ports": _port_map(component)}

    c = cached_build(BUILD_ROOT, spec.kind, key, top, make, force=force,
                     check=lambda text, meta: _check_ports(text, top, meta["ports"]))
    _prune_stale(c.dir, c.meta)
    return Built(spec=spec, dir=c.dir, top=top, verilog=c.verilog, sim_verilog=c.sim_verilog,
                 meta=c.meta)
