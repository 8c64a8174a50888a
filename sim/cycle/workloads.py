"""The workload registry: every named workload of ``fhesim estimate``, ``fhesim explore`` and
``fhesim report``, as cycle-model operations.

A workload is a list of cycle-model operations (:class:`sim.cycle.events.Op`) and notes,
``(ops, notes)``, from real ``sw`` code run in the trace's dry-run mode (shapes only, no
arithmetic). Entries (:data:`WORKLOADS`), by group:

* ``ckks-ops``: ``cmult``, ``mulrot``, ``rotate``, built-in CKKS operation workloads at a
  named parameter set (default ``n16-128``: N = 2^16, 128-bit security). They are
  *operation-level* workloads, not a neural network, and every output labels them as such.
* ``bootstrap``: ``bootstrap``, fully packed bootstrapping (``slots = N/2``, the benchmark
  definition of the published tables), default configuration, at the parameter set
  (``sw.bootstrap.dry_run_trace(params=...)`` if it exists, otherwise the public API,
  ``BootstrapConfig``, ``gen_bootstrap_keys``, ``Bootstrapper``, driven here);
  ``bootstrap-l8``, the same with 8 usable levels after it, at its own parameter set
  :data:`BENCH_L8`.
* ``resnet``: ``resnet20`` ... ``resnet110``, one encrypted inference of
  :func:`sw.nn.trace.dry_run_trace` (geometry ``cifar32`` and ``n16-128`` by default,
  bootstrapping, composite ReLU).

:func:`workload_ops` traces one entry. :func:`discover` lists every entry as the report and
the exploration find it (:class:`Workload`): a trace file ``<traces dir>/<name>.json`` or
``<name>.json.gz`` (default ``reports/traces/``, either format of ``docs/trace-format.md``)
is preferred to the dry run; an entry no source provides is listed as missing with the
reason (import error, no such callable, exception text).

Every tracer takes the preset's software options (:class:`sim.cycle.algorithm.AlgorithmOptions`,
the ``[algorithm]`` table): ``giant_steps``, ``hoisting`` and ``baby_steps`` go to ``sw.bootstrap.BootstrapConfig`` (the
bootstrapping workloads, and the ResNets through ``EncryptedResNet.session``),
``ring_degree``, ``levels_left`` and ``dnum`` rebuild the parameter set
(:func:`sim.cycle.algorithm.algorithm_params`, refused naming the field before any trace when
the software cannot run it), ``key_switching`` and ``klss_group`` go to every
``sw.ckks.CkksContext`` a tracer makes. Every tracer sets the modulus chain of the set it
traced at on its ops (``Op.chain``, for ``limbs = "word"``). Only the options that
apply to a workload's group are part of its trace request and of the cache key
(:meth:`AlgorithmOptions.for_group`).
"""
from __future__ import annotations

import importlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from .adapters import ops_from_trace
from .algorithm import AlgorithmOptions, algorithm_params
from .cache import cached_pickle, paused_gc
from .chain import Chain
from .events import Op, with_chain

DEFAULT_PARAMS = "n16-128"
DEFAULT_GEOMETRY = "cifar32"
RESNET_DEPTHS = (20, 32, 44, 56, 110)
#: The ``ckks-ops`` workloads of ``discover(quick=True)``.
QUICK_OPS = ("cmult", "rotate")
_BOOT_CALLABLES = ("sw.bootstrap:dry_run_trace",)


# ---- ckks-ops: built-in CKKS operation workloads ------------------------------------------

def _setup(params_name: str, rotations, algorithm: AlgorithmOptions = AlgorithmOptions()):
    from sw import trace
    from sw.ckks import CkksContext, Encoder, Encryptor, Evaluator, KeyGenerator, get_params

    insecure = params_name.startswith("toy")
    params = algorithm_params(get_params(params_name, allow_insecure=insecure), algorithm)
    with trace.recording(dry_run=True):
        ctx = CkksContext(params, key_switching=algorithm.key_switching,
                          klss_group=_klss_group(algorithm.klss_group))
        keys = KeyGenerator(ctx, seed=1).gen_keyset(rotations=list(rotations))
        enc = Encoder(ctx)
        # operands at the top level's own scale, so that every product rescales back to a
        # usable scale whatever the size of the level (single prime or composite pair)
        top = params.level_scale(params.max_level)
        ct = Encryptor(ctx, keys.public, seed=2).encrypt(enc.encode([0.5], scale=top))
        pt = enc.encode([0.25], scale=top)
    return params, ctx, Evaluator(ctx, keys), ct, pt


def _cmult(ev, ct, pt):
    ev.mul(ct, ct, rescale=True)     # the rescale fused into the relinearisation's ModDown


def _rotate(ev, ct, pt):
    ev.rotate(ct, 1)


def _mulrot(ev, ct, pt):
    # Four rounds of: square + relinearise + rescale (fused), then a rotate-and-add (a
    # reduction step), then a plaintext multiply + rescale: 4 cmult, 4 rotate, 4 pmult,
    # 4 rescale.
    x = ct
    for i in range(4):
        x = ev.mul(x, x, rescale=True)
        x = ev.add(x, ev.rotate(x, 1 << i))
        x = ev.rescale(ev.mul_plain(x, pt))


def _ckks_ops(name: str, help_text: str, body: Callable, rotations: tuple[int, ...]):
    """The tracer of a built-in CKKS operation workload."""
    def trace_ops(params_name: str, geometry=None, allow_insecure: bool = False,
                  algorithm: AlgorithmOptions = AlgorithmOptions()):
        from sw import trace

        params, ctx, ev, ct, pt = _setup(params_name, rotations, algorithm)
        with trace.recording(dry_run=True) as rec:
            with trace.stage(name):
                body(ev, ct, pt)
        ops, notes = _chained(ops_from_trace(rec), params)
        notes.insert(0, f"workload '{name}': {help_text}; built-in CKKS operation trace (dry run, "
                        f"parameters {params.name}), not a neural-network trace")
        return ops, notes
    return trace_ops


# ---- bootstrapping ------------------------------------------------------------------------

#: The published tables' benchmark: fully packed bootstrapping with 8 usable
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


def _chained(ops_notes: tuple[list[Op], list[str]], params) -> tuple[list[Op], list[str]]:
    """``(ops, notes)`` with the chain of ``params`` (a ``CkksParams``) set on every op."""
    ops, notes = ops_notes
    return with_chain(ops, Chain.of_params(params)), notes


def _params_of(params_name, algorithm: AlgorithmOptions, allow_insecure: bool = False):
    """The ``CkksParams`` of a set name (or a ``CkksParams``) with the options' ``ring_degree``,
    ``levels_left`` and ``dnum``."""
    from sw.ckks import get_params

    params = (get_params(params_name, allow_insecure=allow_insecure) if isinstance(params_name, str)
              else params_name)
    return algorithm_params(params, algorithm)


def _klss_group(group):
    """``CkksContext(klss_group=)`` of the option (``"alpha"``: the context's default)."""
    return None if group == "alpha" else int(group)


def _bootstrap_via_api(params_name, giant_steps: str = "keys", hoisting: str = "single",
                       baby_steps: str = "hoisted", key_switching: str = "hybrid",
                       klss_group=None):
    """Dry-run bootstrapping trace; ``params_name``: a set name or a ``CkksParams``;
    ``giant_steps``, ``hoisting``, ``baby_steps``: those of :class:`sw.bootstrap.BootstrapConfig`;
    ``key_switching``: that of :class:`sw.ckks.CkksContext`."""
    from sw import trace
    from sw.bootstrap import BootstrapConfig, Bootstrapper, gen_bootstrap_keys
    from sw.ckks import CkksContext, Encoder, Encryptor, KeyGenerator, get_params

    params = get_params(params_name) if isinstance(params_name, str) else params_name
    with trace.recording(dry_run=True):
        ctx = CkksContext(params, key_switching=key_switching, klss_group=klss_group)
        kg = KeyGenerator(ctx, seed=1)
        ks = kg.gen_keyset()
        keys = gen_bootstrap_keys(kg, ks.secret, BootstrapConfig(slots=params.n // 2, giant_steps=giant_steps,
                                                                  hoisting=hoisting, baby_steps=baby_steps),
                                  keyset=ks)
        ct = Encryptor(ctx, ks.public, seed=2).encrypt(Encoder(ctx).encode([0.5]))
        boot = Bootstrapper(ctx, keys)
    with trace.recording(dry_run=True) as rec:
        boot.bootstrap(ct)
    return rec


def _find(spec: str):
    """``(callable, "")`` of ``"module:attr"``, or ``(None, reason)``."""
    mod, _, attr = spec.partition(":")
    try:
        m = importlib.import_module(mod)
    except Exception as exc:          # noqa: BLE001 - any import failure means "not available"
        return None, f"{mod}: {type(exc).__name__}: {exc}"
    f = getattr(m, attr, None)
    if not callable(f):
        return None, f"{mod} has no callable {attr}"
    return f, ""


def _bootstrap_source() -> tuple[Callable | None, str, str]:
    """How the ``bootstrap`` dry run is made: ``(tracer(params, algorithm), source, missing
    reason)``."""
    reasons = []
    for spec in _BOOT_CALLABLES:
        fn, why = _find(spec)
        if fn:
            def via_module(params, algorithm, insecure=False, fn=fn):
                p = _params_of(params, algorithm, insecure)
                return _chained(ops_from_trace(fn(params=p, giant_steps=algorithm.giant_steps,
                                                  hoisting=algorithm.hoisting,
                                                  baby_steps=algorithm.baby_steps,
                                                  key_switching=algorithm.key_switching,
                                                  klss_group=_klss_group(algorithm.klss_group))), p)
            return via_module, spec, ""
        reasons.append(why)
    fn, why = _find("sw.bootstrap:Bootstrapper")
    if fn:
        def via_api(params, algorithm, insecure=False):
            p = _params_of(params, algorithm, insecure)
            return _chained(ops_from_trace(_bootstrap_via_api(p, algorithm.giant_steps, algorithm.hoisting,
                                                              algorithm.baby_steps,
                                                              algorithm.key_switching,
                                                              _klss_group(algorithm.klss_group))), p)
        return via_api, "sw.bootstrap public API (Bootstrapper), driven by sim.cycle.workloads", ""
    return None, "", "; ".join(reasons + [why])


def _bootstrap(params_name: str, geometry=None, allow_insecure: bool = False,
               algorithm: AlgorithmOptions = AlgorithmOptions()):
    trace_ops, _, missing = _bootstrap_source()
    if trace_ops is None:
        raise ValueError(f"workload 'bootstrap' is not available: {missing}")
    return trace_ops(params_name, algorithm, allow_insecure)


def _bootstrap_l8(params_name=None, geometry=None, allow_insecure: bool = False,
                  algorithm: AlgorithmOptions = AlgorithmOptions()):
    p = _params_of(bench_l8_params(), algorithm)
    return _chained(ops_from_trace(_bootstrap_via_api(p, algorithm.giant_steps, algorithm.hoisting,
                                                      algorithm.baby_steps,
                                                      algorithm.key_switching,
                                                      _klss_group(algorithm.klss_group))), p)


# ---- encrypted ResNets --------------------------------------------------------------------

def _resnet(name: str):
    """The tracer of one encrypted ``name`` inference (:func:`sw.nn.trace.dry_run_trace`)."""
    def trace_ops(params_name: str, geometry: str | None = None, allow_insecure: bool = False,
                  algorithm: AlgorithmOptions = AlgorithmOptions()):
        from sw.nn.trace import dry_run_trace

        params = _params_of(params_name, algorithm, allow_insecure)
        rec = dry_run_trace(model=name, geometry=geometry or DEFAULT_GEOMETRY, params=params,
                            allow_insecure=allow_insecure, giant_steps=algorithm.giant_steps,
                            hoisting=algorithm.hoisting, baby_steps=algorithm.baby_steps,
                            fit_special=algorithm.low_special == "fit",
                            key_switching=algorithm.key_switching,
                            klss_group=_klss_group(algorithm.klss_group))
        return _chained(ops_from_trace(rec), params)
    return trace_ops


# ---- the registry -------------------------------------------------------------------------

@dataclass(frozen=True)
class WorkloadSpec:
    """One named workload.

    ``help``: one line (``fhesim estimate --list``); ``description``: the report's line, a
    template of ``{params}`` and ``{geometry}``; ``trace(params, geometry, allow_insecure,
    algorithm) -> (ops, notes)``; ``own_params``: the parameter set the workload always uses (no
    ``params`` choice); ``needs``: ``"module:attr"`` its dry run imports.
    """

    name: str
    group: str                     # "ckks-ops" | "bootstrap" | "resnet"
    help: str
    description: str
    trace: Callable
    own_params: str | None = None
    needs: str = ""

    def describe(self, params: str = DEFAULT_PARAMS, geometry: str = DEFAULT_GEOMETRY) -> str:
        return self.description.format(params=params, geometry=geometry)


def _registry() -> dict[str, WorkloadSpec]:
    out: dict[str, WorkloadSpec] = {}
    for name, help_text, body, rotations in (
            ("cmult", "one ciphertext multiply + relinearise + rescale at the top level", _cmult, ()),
            ("mulrot", "4 x (square+relin+rescale, rotate-and-add, plaintext multiply+rescale)",
             _mulrot, (1, 2, 4, 8)),
            ("rotate", "one rotation by 1 slot (key switch) at the top level", _rotate, (1,))):
        out[name] = WorkloadSpec(name, "ckks-ops", help_text, help_text + " (CKKS operation trace)",
                                 _ckks_ops(name, help_text, body, rotations))
    out["bootstrap"] = WorkloadSpec(
        "bootstrap", "bootstrap", "fully packed bootstrapping (slots = N/2), dry run",
        "fully packed bootstrapping (slots = N/2), dry-run trace at {params}", _bootstrap)
    out["bootstrap-l8"] = WorkloadSpec(
        "bootstrap-l8", "bootstrap", "fully packed bootstrapping, 8 levels left (bench-boot-l8), dry run",
        "fully packed bootstrapping, 8 usable levels after it (the published tables' "
        "benchmark), dry-run trace at bench-boot-l8 (n16-128 layout, 8 app levels, dnum 4)",
        _bootstrap_l8, own_params=BENCH_L8["name"], needs="sw.bootstrap:Bootstrapper")
    for depth in RESNET_DEPTHS:
        name = f"resnet{depth}"
        out[name] = WorkloadSpec(
            name, "resnet", f"one encrypted ResNet-{depth} inference, dry run (sw.nn.trace)",
            f"encrypted ResNet-{depth}, {{geometry}}, one image, dry-run trace at {{params}}",
            _resnet(name), needs="sw.nn.trace:dry_run_trace")
    return out


#: Every named workload, in the report's order.
WORKLOADS: dict[str, WorkloadSpec] = _registry()


def workload_names(group: str | None = None) -> list[str]:
    """Names of the registry's workloads (of ``group`` only, if given), in registry order."""
    return [n for n, w in WORKLOADS.items() if group is None or w.group == group]


def get_workload(name: str) -> WorkloadSpec:
    """The entry ``name``; ``ValueError`` naming the known ones when unknown."""
    if name not in WORKLOADS:
        raise ValueError(f"unknown workload {name!r} (built-in: {', '.join(workload_names())})")
    return WORKLOADS[name]


#: The source files a dry-run workload's ops depend on: the ``sw`` code that is traced and
#: the conversion to ops. A change to any of them invalidates the cached traces.
TRACE_CODE = ("sw", "sim/cycle/adapters.py", "sim/cycle/events.py", "sim/cycle/workloads.py",
              "sim/cycle/cache.py", "sim/cycle/algorithm.py", "sim/cycle/checks.py")


def _weights_digest(model: str, geometry: str) -> str | None:
    """SHA-256 of ``sw/nn/weights/<model>_<geometry>.npz``, or None when it is absent."""
    import hashlib

    try:
        from sw.nn.models import weights_path
    except ImportError:
        return None
    p = weights_path(model, geometry)
    return hashlib.sha256(p.read_bytes()).hexdigest() if p.is_file() else None


def trace_request(spec: WorkloadSpec, params_name: str | None, geometry: str | None = None,
                  allow_insecure: bool = False,
                  algorithm: AlgorithmOptions | None = None) -> dict:
    """What the trace of ``spec`` depends on besides the code (the cache's request): the
    workload, parameter set, geometry, the insecure opt-in, the software options that apply
    to the workload's group (:meth:`AlgorithmOptions.for_group`) and, for a ResNet, the
    digest of its weights file."""
    if spec.group != "resnet":
        geometry = None                      # only the ResNets have a geometry
    opts = (algorithm or AlgorithmOptions()).for_group(spec.group)
    request = dict(workload=spec.name, params=params_name, geometry=geometry,
                   allow_insecure=bool(allow_insecure), algorithm=opts.request())
    if spec.group == "resnet":
        # the dry run reads the committed weights when present (data, not code): key on them
        request["weights"] = _weights_digest(spec.name, geometry or DEFAULT_GEOMETRY)
    return request


def traced(spec: WorkloadSpec, params_name: str | None, geometry: str | None = None,
           allow_insecure: bool = False,
           algorithm: AlgorithmOptions | None = None) -> tuple[list[Op], list[str]]:
    """``spec.trace(params_name, geometry, allow_insecure, algorithm)``, cached on disk
    (:func:`sim.cycle.cache.cached_pickle`, keyed by :func:`trace_request` and
    :data:`TRACE_CODE`). Only the options that apply to the workload's group reach it."""
    if spec.group != "resnet":
        geometry = None
    opts = (algorithm or AlgorithmOptions()).for_group(spec.group)
    request = trace_request(spec, params_name, geometry, allow_insecure, opts)

    def compute():
        with paused_gc():
            ops, notes = spec.trace(params_name, geometry, allow_insecure, opts)
        if not opts.is_default:
            notes.insert(0, f"workload '{spec.name}' traced with the software options "
                            f"[algorithm] {opts.label()} (sim.cycle.algorithm)")
        return ops, notes
    return cached_pickle("traces", request, TRACE_CODE, compute)


def workload_ops(name: str, params_name: str | None = None, *, geometry: str | None = None,
                 allow_insecure: bool = False,
                 algorithm: AlgorithmOptions | None = None) -> tuple[list[Op], list[str]]:
    """Trace the workload ``name`` (dry run) at ``params_name`` (default
    :data:`DEFAULT_PARAMS`) and, for a ResNet, ``geometry``, with the software options
    ``algorithm`` (a preset's ``cfg.algorithm``; default: none); convert it to cycle-model
    ops. The result is cached on disk (:func:`traced`)."""
    w = get_workload(name)
    if w.own_params is not None:
        if params_name not in (None, w.own_params):
            raise ValueError(f"workload {name!r} has its own parameter set {w.own_params}")
        return traced(w, None, geometry, allow_insecure, algorithm)
    return traced(w, params_name or DEFAULT_PARAMS, geometry, allow_insecure, algorithm)


# ---- as found by the report and the exploration: trace files first ------------------------

@dataclass
class Workload:
    """A registry entry as found: where its ops come from (``source``), or why it is
    ``missing``; :meth:`ops` loads them once. ``load_with(algorithm)``: the dry run with a
    preset's software options (``None`` for a trace file, which records one algorithm);
    :meth:`ops_with` loads each variant once."""

    name: str
    group: str                     # "ckks-ops" | "bootstrap" | "resnet"
    description: str
    load: Callable[[], tuple[list, list[str]]] | None = None
    source: str = ""
    missing: str = ""              # reason when unavailable
    load_with: Callable[[AlgorithmOptions], tuple[list, list[str]]] | None = None
    _cache: tuple | None = field(default=None, repr=False)
    _variants: dict = field(default_factory=dict, repr=False)

    @property
    def available(self) -> bool:
        return self.load is not None

    def ops(self) -> tuple[list, list[str]]:
        if self._cache is None:
            self._cache = self.load()
        return self._cache

    def ops_with(self, algorithm: AlgorithmOptions | None) -> tuple[list, list[str]]:
        """The ops with ``algorithm`` (those options that apply to the group; the default
        options give :meth:`ops`). A trace file cannot be re-traced: ``ValueError`` naming the
        file and the ``[algorithm]`` fields it would ignore."""
        opts = (algorithm or AlgorithmOptions()).for_group(self.group)
        if opts.is_default:
            return self.ops()
        if self.load_with is None:
            raise ValueError(f"workload {self.name!r} comes from {self.source or 'no source'}, which "
                             f"records one algorithm; the preset's [algorithm] {opts.label()} needs "
                             f"the dry run (remove the trace file or the option)")
        key = tuple(sorted(opts.request().items()))
        if key not in self._variants:
            self._variants[key] = self.load_with(opts)
        return self._variants[key]


def _trace_file(tdir: Path, name: str) -> Path | None:
    for f in (tdir / f"{name}.json", tdir / f"{name}.json.gz"):
        if f.is_file():
            return f
    return None


def _dry_run(spec: WorkloadSpec, params: str) -> tuple[Callable | None, str, str]:
    """``(load(algorithm=None), source, missing)`` of the dry run of ``spec`` at ``params``."""
    if spec.group == "ckks-ops":
        return (lambda a=None: traced(spec, params, algorithm=a)), f"built-in dry-run trace, {params}", ""
    if spec.name == "bootstrap":
        trace_ops, source, missing = _bootstrap_source()
        return ((lambda a=None: traced(spec, params, algorithm=a)) if trace_ops else None), source, missing
    fn, why = _find(spec.needs)
    if spec.group == "resnet":
        if fn is None:
            return None, "", f"no ResNet trace (no trace file; {why})"
        return ((lambda a=None: traced(spec, params, DEFAULT_GEOMETRY, algorithm=a)),
                f"dry run sw.nn.trace.dry_run_trace ({DEFAULT_GEOMETRY}, {params})", "")
    if fn is None:
        return None, "", why
    return ((lambda a=None: traced(spec, None, algorithm=a)),
            "sw.bootstrap public API at CkksParams.build(bench-boot-l8), sim.cycle.workloads", "")


def discover(traces_dir: str | Path | None = None, *, quick: bool = False,
             params: str = DEFAULT_PARAMS) -> list[Workload]:
    """Every registry workload, available or not (see the module docstring); ``quick``: the
    ``ckks-ops`` of :data:`QUICK_OPS` only, the others listed as skipped."""
    tdir = Path(traces_dir) if traces_dir else Path(__file__).resolve().parents[2] / "reports" / "traces"
    out: list[Workload] = []
    for spec in WORKLOADS.values():
        if spec.group == "ckks-ops" and quick and spec.name not in QUICK_OPS:
            continue
        w = Workload(spec.name, spec.group, spec.describe(params, DEFAULT_GEOMETRY))
        f = _trace_file(tdir, spec.name) if spec.group != "ckks-ops" else None
        if f is not None:
            w.load, w.source = (lambda f=f: ops_from_trace(f)), f"trace file {f}"
        elif quick and spec.group != "ckks-ops":
            w.missing = "skipped in --quick mode"
        else:
            w.load, w.source, w.missing = _dry_run(spec, params)
            w.load_with = w.load
        out.append(w)
    return out
