"""Workloads the report can use, and how each is found.

A workload is a list of cycle-model operations (:class:`sim.cycle.events.Op`). Sources, in
order of preference:

1. **A trace file** ``<traces dir>/<name>.json`` or ``<name>.json.gz`` (default
   ``reports/traces/``): an op trace of ``sw.trace`` in either format of
   ``docs/trace-format.md``, e.g. written by
   ``fhesim trace --model resnet20 --geometry cifar32 --params n16-128 --dry-run --out F``.
2. **A dry run** of the software path:

   * ResNet-``d`` (d = 20, 32, 44, 56, 110; workloads ``resnet20`` ... ``resnet110``):
     :func:`sw.nn.trace.dry_run_trace` ``(model="resnet20", geometry="cifar32",
     params="n16-128")``, one cifar32 inference with bootstrapping, composite ReLU;
   * bootstrapping: ``sw.bootstrap.dry_run_trace(params="n16-128")`` if it exists (returning
     a recorder, trace JSON text, a path or a list of events); otherwise the public API
     (``BootstrapConfig``, ``gen_bootstrap_keys``, ``Bootstrapper``) is driven here in
     dry-run mode, fully packed (``slots = N/2``, the benchmark definition of the published
     tables), default configuration.
3. The built-in CKKS operation workloads (:mod:`sim.cycle.workloads`), always available.

A workload that no source provides is listed as missing with the reason (import error,
no such callable, exception text); the report states it.
"""
from __future__ import annotations

import importlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

RESNET_DEPTHS = (20, 32, 44, 56, 110)
PARAMS = "n16-128"
GEOMETRY = "cifar32"
_BOOT_CALLABLES = ("sw.bootstrap:dry_run_trace",)


@dataclass
class Workload:
    name: str
    group: str                     # "ckks-ops" | "bootstrap" | "resnet"
    description: str
    load: Callable[[], tuple[list, list[str]]] | None = None
    source: str = ""
    missing: str = ""              # reason when unavailable
    _cache: tuple | None = field(default=None, repr=False)

    @property
    def available(self) -> bool:
        return self.load is not None

    def ops(self) -> tuple[list, list[str]]:
        if self._cache is None:
            self._cache = self.load()
        return self._cache


def _find(spec: str):
    mod, _, attr = spec.partition(":")
    try:
        m = importlib.import_module(mod)
    except Exception as exc:          # noqa: BLE001 - any import failure means "not available"
        return None, f"{mod}: {type(exc).__name__}: {exc}"
    f = getattr(m, attr, None)
    if not callable(f):
        return None, f"{mod} has no callable {attr}"
    return f, ""


def _from_trace(obj, label_prefix: str = ""):
    from sim.cycle.adapters import ops_from_trace
    return ops_from_trace(obj, label_prefix=label_prefix)


#: The published tables' benchmark (ANCHORS.md): fully packed bootstrapping with 8 usable
#: levels after it. Same layout as ``n16-128`` (sw/ckks/params.py, BOOT_LAYOUT: 2-prime q0,
#: StC 2+1+1 primes, EvalMod 8 x 2, CtS 3 x 2 primes of ~2^30) with 8 instead of 16
#: one-prime application levels; dnum 4 as n16-128. Built with the public
#: ``CkksParams.build`` and not registered (a model workload, not a named set).
BENCH_L8 = dict(name="bench-boot-l8", log_n=16, group_sizes=[1] * 8 + [2, 1, 1] + [2] * 8 + [2] * 3,
                dnum=4, security=128)


def bench_l8_params():
    """The :data:`BENCH_L8` parameter set (36 Q primes, 9 special primes, log2 QP ~ 1,361)."""
    from sw.ckks.params import CkksParams

    spec = dict(BENCH_L8)
    return CkksParams.build(spec.pop("name"), **spec)


def _bootstrap_via_api(params_name):
    """Dry-run bootstrapping trace; ``params_name``: a set name or a ``CkksParams``."""
    from sw import trace
    from sw.bootstrap import BootstrapConfig, Bootstrapper, gen_bootstrap_keys
    from sw.ckks import CkksContext, Encoder, Encryptor, KeyGenerator, get_params

    params = get_params(params_name) if isinstance(params_name, str) else params_name
    with trace.recording(dry_run=True):
        ctx = CkksContext(params)
        kg = KeyGenerator(ctx, seed=1)
        ks = kg.gen_keyset()
        keys = gen_bootstrap_keys(kg, ks.secret, BootstrapConfig(slots=params.n // 2), keyset=ks)
        ct = Encryptor(ctx, ks.public, seed=2).encrypt(Encoder(ctx).encode([0.5]))
        boot = Bootstrapper(ctx, keys)
    with trace.recording(dry_run=True) as rec:
        boot.bootstrap(ct)
    return rec


def discover(traces_dir: str | Path | None = None, *, quick: bool = False,
             params: str = PARAMS) -> list[Workload]:
    """Every workload the report knows of, available or not (see the module docstring)."""
    from sim.cycle import workloads as builtin

    tdir = Path(traces_dir) if traces_dir else Path(__file__).resolve().parents[2] / "reports" / "traces"
    out: list[Workload] = []
    names = ("cmult", "rotate") if quick else tuple(builtin.workload_names())
    for name in names:
        out.append(Workload(name, "ckks-ops", builtin.WORKLOADS[name][0] + " (CKKS operation trace)",
                            load=lambda name=name: builtin.workload_ops(name, params),
                            source=f"built-in dry-run trace, {params}"))

    # bootstrapping
    desc = f"fully packed bootstrapping (slots = N/2), dry-run trace at {params}"
    boot = Workload("bootstrap", "bootstrap", desc)
    f = _trace_file(tdir, "bootstrap")
    if f is not None:
        boot.load, boot.source = (lambda f=f: _from_trace(f)), f"trace file {f}"
    elif quick:
        boot.missing = "skipped in --quick mode"
    else:
        reasons = []
        for spec in _BOOT_CALLABLES:
            fn, why = _find(spec)
            if fn:
                boot.load = lambda fn=fn: _from_trace(fn(params=params))
                boot.source = spec
                break
            reasons.append(why)
        if boot.load is None:
            fn, why = _find("sw.bootstrap:Bootstrapper")
            if fn:
                boot.load = lambda: _from_trace(_bootstrap_via_api(params))
                boot.source = "sw.bootstrap public API (Bootstrapper), driven by sim.report.sources"
            else:
                boot.missing = "; ".join(reasons + [why])
    out.append(boot)

    # bootstrapping at the published tables' benchmark definition (8 levels left)
    bl8 = Workload("bootstrap-l8", "bootstrap",
                   "fully packed bootstrapping, 8 usable levels after it (the published tables' "
                   "benchmark), dry-run trace at bench-boot-l8 (n16-128 layout, 8 app levels, dnum 4)")
    f = _trace_file(tdir, "bootstrap-l8")
    if f is not None:
        bl8.load, bl8.source = (lambda f=f: _from_trace(f)), f"trace file {f}"
    elif quick:
        bl8.missing = "skipped in --quick mode"
    else:
        fn, why = _find("sw.bootstrap:Bootstrapper")
        if fn:
            bl8.load = lambda: _from_trace(_bootstrap_via_api(bench_l8_params()))
            bl8.source = "sw.bootstrap public API at CkksParams.build(bench-boot-l8), sim.report.sources"
        else:
            bl8.missing = why
    out.append(bl8)

    # ResNets
    for depth in RESNET_DEPTHS:
        name = f"resnet{depth}"
        w = Workload(name, "resnet", f"encrypted ResNet-{depth}, {GEOMETRY}, one image, dry-run trace at {params}")
        f = _trace_file(tdir, name)
        if f is not None:
            w.load, w.source = (lambda f=f: _from_trace(f)), f"trace file {f}"
        elif quick:
            w.missing = "skipped in --quick mode"
        else:
            try:
                from sw.nn.trace import dry_run_trace
            except Exception as exc:      # noqa: BLE001 - reported as the reason
                w.missing = f"no ResNet trace (no trace file; sw.nn.trace: {type(exc).__name__}: {exc})"
            else:
                w.load = lambda name=name: _from_trace(dry_run_trace(model=name, geometry=GEOMETRY, params=params))
                w.source = f"dry run sw.nn.trace.dry_run_trace ({GEOMETRY}, {params})"
        out.append(w)
    return out


def _trace_file(tdir: Path, name: str) -> Path | None:
    for f in (tdir / f"{name}.json", tdir / f"{name}.json.gz"):
        if f.is_file():
            return f
    return None
