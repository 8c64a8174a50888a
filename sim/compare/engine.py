"""Compare: replay a trace through the RTL, prime by prime, and locate the first mismatch.

:func:`compare` groups every captured row (one prime, ``n`` words) by prime, builds one
:class:`sim.compare.rtl.ReplayTop` per prime (cached), streams that prime's transforms back
to back through the NTT unit and its elementwise products through the multiplier (in
simulations of at most :data:`TRANSFORMS_PER_SIMULATION` transforms, so that few primes
still spread over the workers), replays the ``bconv`` / ``automorphism`` / ``mac`` kernels
on their units (:mod:`sim.compare.unit_kernels`: per prime its ElementwiseUnit and
AutomorphismUnits, the BconvUnits of the distinct prime tuples), then compares on the host:

* transforms -- the array after every butterfly stage (debug tap) against the trace's
  software stages, then the output stream against the software kernel's output. The first
  difference of a row is the earliest stage with any difference; inside it, the row write
  that happened first (smallest clock edge), and inside that write the smallest element
  index. If every stage matches but the output differs, the place is the output scaler
  (``stage = "output"``).
* elementwise products -- each output against the software product;
* basis conversions, automorphisms, multiply-accumulates -- each output word against the
  trace's software output (smallest differing index first).

A *vector* is one row (one prime, ``n`` words) of a kernel; it mismatches if any of its
words (any stage) differs. The first mismatch of the whole trace is the first mismatching
row of the first mismatching kernel in trace (software) order; with ``waves=True`` that row
alone is replayed again with an FST waveform, and the report gives the file and the clock
edge / simulation time of its first differing write.

Fault injection (to show that a hardware error is found and located): ``fault`` builds the
NTT units with one twiddle-ROM bit flipped, ``butterfly_fault`` with one bit of one butterfly
output flipped (``(stage, index, bit, direction)``: element ``index`` of the array written
back by stage ``stage``); see :class:`hw.ntt.NttUnit` and docs/trace-format.md. A butterfly
fault shows as the first mismatch at exactly ``(stage, index)``, with ``actual == expected
^ 2^bit``.

Montgomery multiplier (``multiplier="montgomery"``): the RTL computes ``a*b*2^-W mod q``;
the replay feeds ``a`` and ``b*2^W mod q`` (the second operand in Montgomery form, as a
twiddle is stored), which gives exactly the canonical product ``a*b mod q`` of the software.
The NTT unit handles its own twiddle forms (inputs and outputs are plain residues).

Before any RTL runs, :func:`check_consistency` checks the trace against the software
kernels it records (transform output and every stage = the software NTT / inverse NTT of
the recorded input; product output = ``a*b mod q``) and raises
:class:`InconsistentTraceError` at the first kernel row that disagrees: a trace whose
golden values are wrong cannot judge the RTL.
"""
from __future__ import annotations

import os
import time
import warnings
from dataclasses import dataclass, field, replace

import numpy as np

from . import unit_kernels
from .rtl import ReplayError, ReplaySpec, simulate
from .tracefile import Trace
from .unit_kernels import UNIT_KINDS, unit_fault_report

__all__ = ["compare", "CompareOptions", "check_consistency", "InconsistentTraceError"]


class InconsistentTraceError(ValueError):
    """A trace's recorded output is not the software kernel applied to its recorded input."""


@dataclass
class CompareOptions:
    lanes: int = 2
    width: int = 32
    multiplier: str = "barrett"
    fault: tuple | None = None           # (twiddle_address, twiddle_bit) injected into NttUnit
    #: (stage, index[, bit[, direction]]): flip bit ``bit`` (default 0) of element ``index``
    #: of the array written back by butterfly stage ``stage``, in transforms of
    #: ``direction`` ("forward", "inverse" or "both", the default); see hw.ntt.NttUnit
    butterfly_fault: tuple | None = None
    #: (dst, lane[, bit]): flip bit ``bit`` of output residue ``dst`` (index into the
    #: destination primes) on lane ``lane`` of every beat of every BconvUnit
    bconv_fault: tuple | None = None
    #: (index[, bit]): flip bit ``bit`` of output element ``index`` of every row of every
    #: AutomorphismUnit
    automorphism_fault: tuple | None = None
    #: (lane[, bit]): flip bit ``bit`` of output lane ``lane`` of every ElementwiseUnit beat
    mac_fault: tuple | None = None
    fault_primes: tuple | None = None    # primes whose build gets the fault(s) (None: all)
    kernels: tuple | None = None         # kernel ids to replay (None: all)
    primes: tuple | None = None          # primes to replay (None: all)
    jobs: int = 1
    cluster: str | None = None           # --cluster spec (sim.cluster); None: ``jobs`` processes here
    waves: bool = True                   # rerun the first failing row with a waveform
    p_valid: float = 1.0
    p_ready: float = 1.0
    seed: int = 1
    #: ``icarus`` or ``verilator`` (None: :func:`sim.rtl.simulator.default_simulator`)
    simulator: str | None = None
    progress: object = None              # callable(str) for progress lines
    extra: dict = field(default_factory=dict)

    def __post_init__(self):
        # the replay feeds plain (Barrett) or Montgomery-form operands; a Shoup multiplier
        # would need each product's companion, which the replay does not make
        if self.multiplier not in ("barrett", "montgomery"):
            raise ValueError(f"CompareOptions: multiplier {self.multiplier!r} is not supported by the "
                             "replay (barrett, montgomery)")
        for name, size in (("bconv_fault", 2), ("automorphism_fault", 1), ("mac_fault", 1)):
            f = getattr(self, name)
            if f is None:
                continue
            try:
                f = tuple(int(x) for x in f)
            except (TypeError, ValueError):
                raise ValueError(f"CompareOptions: {name}={f!r} must be a tuple of integers") from None
            if len(f) not in (size, size + 1) or min(f) < 0:
                raise ValueError(f"CompareOptions: {name}={f!r} must be {size} or {size + 1} "
                                 "non-negative integers (the last one the bit, default 0)")
            setattr(self, name, f if len(f) == size + 1 else f + (0,))


def _butterfly_fault(o: CompareOptions) -> tuple | None:
    """``o.butterfly_fault`` with its defaults filled in: ``(stage, index, bit, direction)``."""
    f = o.butterfly_fault
    if f is None:
        return None
    f = tuple(f)
    if not 2 <= len(f) <= 4:
        raise ValueError(f"butterfly_fault={f!r} must be (stage, index[, bit[, direction]])")
    return (int(f[0]), int(f[1]), int(f[2]) if len(f) > 2 else 0,
            str(f[3]) if len(f) > 3 else "both")


def _spec(n: int, q: int, o: CompareOptions) -> ReplaySpec:
    fault = bf = None
    if o.fault_primes is None or q in o.fault_primes:
        if o.fault is not None:
            fault = (int(o.fault[0]), int(o.fault[1]) if len(o.fault) > 1 else 0)
        bf = _butterfly_fault(o)
    return ReplaySpec(n=n, q=q, width=o.width, lanes=o.lanes, multiplier=o.multiplier, fault=fault,
                      butterfly_fault=bf)


def _fault_report(o: CompareOptions) -> dict | None:
    """The ``rtl.fault`` entry of the report: the injected fault(s) and the primes they hit."""
    out = {}
    if o.fault is not None:
        out.update({"twiddle_address": o.fault[0],
                    "twiddle_bit": o.fault[1] if len(o.fault) > 1 else 0})
    bf = _butterfly_fault(o)
    if bf is not None:
        out.update(dict(zip(("butterfly_stage", "butterfly_index", "butterfly_bit",
                             "butterfly_direction"), bf)))
    out.update(unit_fault_report(o))
    if not out:
        return None
    out["primes"] = o.fault_primes
    return out


def _plan(trace: Trace, o: CompareOptions):
    """prime -> {"transforms": [(kernel index, row)], "products": [(kernel index, row)]}."""
    plan: dict[int, dict] = {}
    for ki, k in enumerate(trace.kernels):
        if o.kernels is not None and k.id not in o.kernels:
            continue
        if k.kind in UNIT_KINDS:
            continue
        for r, q in enumerate(k.primes):
            if o.primes is not None and q not in o.primes:
                continue
            slot = plan.setdefault(q, {"transforms": [], "products": []})
            slot["products" if k.kind == "modmul" else "transforms"].append((ki, r))
    return plan


#: Most transforms in one simulation: a prime's replay is split into chunks of the same
#: build, so that the simulations of few primes still balance over the workers.
TRANSFORMS_PER_SIMULATION = 24


def _chunks(by_prime: dict) -> list[tuple[int, dict]]:
    """``[(q, slots)]``: each prime's rows in simulations of at most
    :data:`TRANSFORMS_PER_SIMULATION` transforms (its products spread over them alike)."""
    out = []
    for q, slots in by_prime.items():
        tr, pr = slots["transforms"], slots["products"]
        k = max(1, -(-len(tr) // TRANSFORMS_PER_SIMULATION))
        for i in range(k):
            out.append((q, {"transforms": tr[i * len(tr) // k:(i + 1) * len(tr) // k],
                            "products": pr[i * len(pr) // k:(i + 1) * len(pr) // k]}))
    return out


def _stimulus(trace: Trace, q: int, slots: dict, o: CompareOptions) -> dict:
    ks = trace.kernels
    n = trace.kernels[0].n
    tr, pr = slots["transforms"], slots["products"]
    ntt_in = np.array([ks[ki].arrays["input"][r] for ki, r in tr], dtype=np.uint64).reshape(len(tr), n)
    inv = np.array([ks[ki].kind == "intt" for ki, r in tr], dtype=np.uint64)
    a = [ks[ki].arrays["a"][r] for ki, r in pr]
    b = [ks[ki].arrays["b"][r] for ki, r in pr]
    a = np.concatenate(a) if a else np.zeros(0, np.uint64)
    b = np.concatenate(b) if b else np.zeros(0, np.uint64)
    if o.multiplier == "montgomery" and b.size:
        b = np.array([(int(x) << o.width) % q for x in b.tolist()], dtype=np.uint64)
    return {"ntt_in": ntt_in, "ntt_inverse": inv, "mm_a": a, "mm_b": b}


def _job(trace, q, slots, o, waves):
    """Picklable arguments of one prime's replay (run in a worker process when jobs > 1)."""
    spec = _spec(trace.kernels[0].n, q, o)
    return (q, spec, _stimulus(trace, q, slots, o), waves, o.p_valid, o.p_ready, o.seed,
            o.simulator)


def _run_prime(job):
    q, spec, stim, waves, p_valid, p_ready, seed, simulator = job
    return q, spec, simulate(spec, stim, waves=waves, p_valid=p_valid, p_ready=p_ready, seed=seed,
                             simulator=simulator)


def _run_job(job):
    """One simulation: a prime's NTT/multiplier replay or a group of key-switching units."""
    if job[0] == "units":
        return unit_kernels.run_group(job)
    return _run_prime(job)


def _unit_selection(trace: Trace, o: CompareOptions) -> list:
    """``[(kernel index, rows)]`` of the selected unit-kind kernels (a ``bconv`` is selected
    as a whole when any of its destination primes is)."""
    out = []
    for ki, k in enumerate(trace.kernels):
        if k.kind not in UNIT_KINDS or (o.kernels is not None and k.id not in o.kernels):
            continue
        rows = [r for r, q in enumerate(k.primes) if o.primes is None or q in o.primes]
        if k.kind == "bconv" and rows:
            rows = list(range(k.rows))
        if rows:
            out.append((ki, rows))
    return out


def _edge_time(res: dict, edge: int) -> float:
    return float(res["t0_ns"]) + (int(edge) - int(res["e0"])) * float(res["period_ns"])


def _transform_diff(k, r, res, t, lanes):
    """Compare transform slot ``t`` of ``res`` with row ``r`` of kernel ``k``."""
    exp_st, act_st = k.arrays["stages"][r], res["stage_val"][t]
    exp_out, act_out = k.arrays["output"][r], res["ntt_out"][t]
    S = exp_st.shape[0]
    st_bad = exp_st != act_st
    out_bad = exp_out != act_out
    words = int(st_bad.sum() + out_bad.sum())
    per_stage = [int(x) for x in st_bad.sum(axis=1)] + [int(out_bad.sum())]
    if not words:
        return None
    stages_bad = np.flatnonzero(st_bad.any(axis=1))
    if stages_bad.size:
        s = int(stages_bad[0])
        bad_idx = np.flatnonzero(st_bad[s])
        rows = np.unique(bad_idx // lanes)
        edges = res["stage_edge"][t, s, rows]
        row = int(rows[np.argmin(edges)])
        edge = int(edges.min())
        idx = int(bad_idx[bad_idx // lanes == row].min())
        place = {"stage": s, "index": idx, "expected": int(exp_st[s, idx]),
                 "actual": int(act_st[s, idx]), "edge": edge, "where": "butterfly write-back"}
    else:
        bad_idx = np.flatnonzero(out_bad)
        idx = int(bad_idx[0])
        edge = int(res["ntt_out_edge"][t, idx // lanes])
        place = {"stage": "output", "index": idx, "expected": int(exp_out[idx]),
                 "actual": int(act_out[idx]), "edge": edge, "where": "output stream"}
    place.update({"mismatched_words": words, "mismatched_words_per_stage": per_stage,
                  "stages": S, "time_ns": _edge_time(res, place["edge"])})
    return place


def _product_diff(k, r, res, off):
    n = k.n
    exp, act = k.arrays["output"][r], res["mm_out"][off:off + n]
    bad = np.flatnonzero(exp != act)
    if not bad.size:
        return None
    i = int(bad[0])
    edge = int(res["mm_edge"][off + i])
    return {"stage": None, "index": i, "a": int(k.arrays["a"][r, i]), "b": int(k.arrays["b"][r, i]),
            "expected": int(exp[i]), "actual": int(act[i]), "edge": edge,
            "time_ns": _edge_time(res, edge), "where": "multiplier output",
            "mismatched_words": int(bad.size)}


def _collect(trace, q, slots, res, o, stats):
    """Per-row verdicts of one prime's replay into ``stats[(kernel index, row)]``."""
    for t, (ki, r) in enumerate(slots["transforms"]):
        k = trace.kernels[ki]
        stats[(ki, r)] = {"words": (k.log_n + 1) * k.n, "diff": _transform_diff(k, r, res, t, o.lanes)}
    off = 0
    for ki, r in slots["products"]:
        k = trace.kernels[ki]
        stats[(ki, r)] = {"words": k.n, "diff": _product_diff(k, r, res, off)}
        off += k.n


def _take(trace, q, slots, spec, res, o, stats, per_prime, say) -> None:
    if res.get("incomplete") or not res.get("done"):
        info = {k: v for k, v in res.items() if not isinstance(v, np.ndarray)}
        raise ReplayError(f"compare: replay of q={q} did not complete "
                          f"(outputs or debug writes missing): {info}")
    _collect(trace, q, slots, res, o, stats)
    bad = sum(1 for key in [*slots["transforms"], *slots["products"]] if stats[key]["diff"])
    per_prime.append({"q": q, "label": spec.label, "transforms": len(slots["transforms"]),
                      "product_rows": len(slots["products"]), "sim_cycles": int(res["sim_cycles"]),
                      "mismatched_vectors": bad, "time_s": res["time_total_s"],
                      "build_s": res["time_build_s"]})
    say(f"  q={q}: {len(slots['transforms'])} transforms, {len(slots['products'])} product rows, "
        f"{res['sim_cycles']} cycles, {bad} mismatching, {res['time_total_s']:.1f} s")


def _check_transform(k, rows) -> str | None:
    from sw import ntt as swntt
    fn, stages_fn = ((swntt.forward, swntt.forward_stages) if k.kind == "ntt"
                     else (swntt.inverse, swntt.inverse_stages))
    inp, outp, stages = k.arrays["input"], k.arrays["output"], k.arrays["stages"]
    for r in rows:
        q = k.primes[r]
        if not np.array_equal(fn(inp[r], q), outp[r]):
            return f"row {r} (q={q}): output != software {k.kind} of the recorded input"
        st = stages_fn(inp[r], q)[:k.log_n]
        for s, want in enumerate(st):
            if not np.array_equal(want, stages[r][s]):
                return f"row {r} (q={q}): stage {s} != software {k.kind} stage of the recorded input"
    return None


def _check_product(k, rows) -> str | None:
    for r in rows:
        q = np.uint64(k.primes[r])
        want = (k.arrays["a"][r] * k.arrays["b"][r]) % q   # residues < 2^31: no overflow
        if not np.array_equal(want, k.arrays["output"][r]):
            return f"row {r} (q={k.primes[r]}): output != a*b mod q"
    return None


def check_consistency(trace: Trace, options: CompareOptions | None = None) -> None:
    """Raise :class:`InconsistentTraceError` (naming the file, kernel, row and prime) unless
    every selected kernel row of ``trace`` (``options.kernels`` / ``options.primes``; default
    all) equals the software kernel applied to its recorded input (see module docstring)."""
    o = options or CompareOptions()
    where = f"{trace.path}: " if trace.path is not None else ""
    for k in trace.kernels:
        if o.kernels is not None and k.id not in o.kernels:
            continue
        rows = [r for r, q in enumerate(k.primes) if o.primes is None or q in o.primes]
        if max(k.primes, default=0) >= 1 << 32:
            raise InconsistentTraceError(f"{where}inconsistent trace: kernel {k.label}: prime above 2^32")
        if k.kind == "bconv" and rows:
            rows = list(range(k.rows))
        try:
            if k.kind in UNIT_KINDS:
                bad = unit_kernels.check_kernel(k, rows)
            elif k.kind == "modmul":
                bad = _check_product(k, rows)
            else:
                bad = _check_transform(k, rows)
        except ValueError as e:   # e.g. a recorded prime that is not an NTT prime for n
            bad = f"the software kernel refuses it ({e})"
        if bad:
            raise InconsistentTraceError(f"{where}inconsistent trace: kernel {k.label}: {bad}")


def compare(trace: Trace, options: CompareOptions | None = None, **kw) -> dict:
    """Replay ``trace`` through the RTL and compare (see module docstring); returns the report.
    Raises :class:`InconsistentTraceError` (before any simulation) for an inconsistent trace."""
    from ..rtl.simulator import simulator_choice

    o = options or CompareOptions(**kw)
    # resolve the simulator once, here, so that every worker process uses the same one
    o = replace(o, simulator=simulator_choice(o.simulator)[0])
    t0 = time.perf_counter()
    say = o.progress or (lambda s: None)
    by_prime = _plan(trace, o)
    plan = _chunks(by_prime)
    groups = unit_kernels.plan(trace, o, _unit_selection(trace, o))
    if not plan and not groups:
        raise ValueError("compare: nothing to replay (filters selected no kernel rows)")
    check_consistency(trace, o)
    stats: dict = {}
    per_prime, per_group = [], []
    # the transform replays (the longest) first, so that the last one to finish is short
    jobs = [_job(trace, q, slots, o, False) for q, slots in plan]
    jobs += [unit_kernels.group_job(trace, g, o) for g in groups]
    nj = max(1, min(int(o.jobs), len(jobs)))
    # where the replays run (sim.cluster): --cluster, else --jobs J = local:J
    where = o.cluster if o.cluster is not None else (f"local:{nj}" if nj > 1 else "serial")
    nvec = sum(len(r) for _, r in _unit_selection(trace, o))
    say(f"replaying {sum(len(s['transforms']) for _, s in plan)} transforms and "
        f"{sum(len(s['products']) for _, s in plan)} product rows over {len(by_prime)} primes "
        f"({len(plan)} simulations), "
        f"{nvec} bconv/automorphism/mac rows in {len(groups)} unit groups "
        f"(lanes={o.lanes}, {o.multiplier}, {o.simulator}, cluster {where})")
    from ..cluster import cluster_client, map_ordered
    with cluster_client(where) as client, warnings.catch_warnings():   # results in job order
        # the stimulus travels with each job (tens of MiB at most): not worth a Dask warning
        warnings.filterwarnings("ignore", message="Sending large graph")
        t_start = time.perf_counter()

        def done(i, res):        # a progress line as each simulation finishes
            name = (f"q={res[0]}" if i < len(plan) else res[0].label)
            say(f"  finished {name} ({i + 1 - len(plan) if i >= len(plan) else i + 1} of "
                f"{len(plan) if i < len(plan) else len(groups)} "
                f"{'transform replays' if i < len(plan) else 'unit groups'}, "
                f"{time.perf_counter() - t_start:.0f} s)")

        results = map_ordered(client, _run_job, jobs, key="replay", on_result=done)
    for (q, slots), (_, spec, res) in zip(plan, results[:len(plan)]):
        _take(trace, q, slots, spec, res, o, stats, per_prime, say)
    for entry, (g, res) in zip(groups, results[len(plan):]):
        bad = unit_kernels.collect(trace, entry, res, o, stats)
        per_group.append({"group": g.label, "units": [u.label for u in g.units],
                          "vectors": sum(len(s) for s in entry["slots"]),
                          "sim_cycles": int(res["sim_cycles"]), "mismatched_vectors": bad,
                          "time_s": res["time_total_s"], "build_s": res["time_build_s"]})
        say(f"  {g.label}: {len(g.units)} units, {res['sim_cycles']} cycles, {bad} mismatching, "
            f"{res['time_total_s']:.1f} s")

    kernels, first = [], None
    for ki, k in enumerate(trace.kernels):
        rows = [r for r in range(k.rows) if (ki, r) in stats]
        if not rows:
            continue
        diffs = [(r, stats[(ki, r)]["diff"]) for r in rows if stats[(ki, r)]["diff"]]
        entry = {"id": k.id, "kind": k.kind, "unit": _unit_name(k, o), "form": k.form,
                 "op_path": k.op_path,
                 "n": k.n, "vectors": len(rows), "words": sum(stats[(ki, r)]["words"] for r in rows),
                 "mismatches": len(diffs),
                 "mismatched_words": sum(d["mismatched_words"] for _, d in diffs)}
        if diffs:
            r, d = diffs[0]
            entry["first_mismatch"] = {"kernel": k.id, "kind": k.kind, "unit": _unit_name(k, o),
                                       "op_path": k.op_path, "row": r, "prime": k.primes[r], **d}
            if first is None:
                first = entry["first_mismatch"]
        kernels.append(entry)

    by_kind: dict[str, dict] = {}
    for e in kernels:
        b = by_kind.setdefault(e["kind"], {"kernels": 0, "vectors": 0, "words": 0, "mismatches": 0})
        b["kernels"] += 1
        b["vectors"] += e["vectors"]
        b["words"] += e["words"]
        b["mismatches"] += e["mismatches"]
    totals = {key: sum(b[key] for b in by_kind.values())
              for key in ("kernels", "vectors", "words", "mismatches")}

    if first is not None and o.waves:
        first["waveform"] = _waves_for(trace, first, o, say)

    return {"trace": str(trace.path) if trace.path else None,
            "params": trace.meta.get("params"), "insecure": trace.meta.get("insecure"),
            "program": trace.meta.get("program"), "level": trace.meta.get("level"),
            "n": trace.kernels[0].n,
            "rtl": {"lanes": o.lanes, "width": o.width, "multiplier": o.multiplier,
                    "simulator": o.simulator, "fault": _fault_report(o)},
            "primes": len({trace.kernels[ki].primes[r] for ki, r in stats}), "per_prime": per_prime, "unit_groups": per_group,
            "kernels": kernels, "by_kind": by_kind,
            "totals": totals, "first_mismatch": first, "pass": totals["mismatches"] == 0,
            "wall_s": round(time.perf_counter() - t0, 2)}


def _unit_name(k, o: CompareOptions) -> str:
    """The RTL unit a kernel replays on."""
    if k.kind in UNIT_KINDS:
        return unit_kernels.UNIT_CLASSES[k.kind]
    if k.kind == "modmul":
        return "MontgomeryMultiplier" if o.multiplier == "montgomery" else "BarrettMultiplier"
    return "NttUnit"


def _waves_for(trace: Trace, first: dict, o: CompareOptions, say) -> dict:
    """Replay the first failing row alone with an FST waveform; locate its first differing write."""
    ki = next(i for i, k in enumerate(trace.kernels) if k.id == first["kernel"])
    k, r, q = trace.kernels[ki], first["row"], first["prime"]
    say(f"rerunning kernel #{k.id} row {r} (q={q}) alone with waves")
    stats: dict = {}
    if k.kind in UNIT_KINDS:
        entry = unit_kernels.waves_entry(trace, ki, r, o)
        _, res = unit_kernels.run_group(unit_kernels.group_job(trace, entry, o, waves=True))
        unit_kernels.collect(trace, entry, res, o, stats)
    else:
        slots = {"transforms": [], "products": []}
        slots["products" if k.kind == "modmul" else "transforms"].append((ki, r))
        _, spec, res = _run_prime(_job(trace, q, slots, o, True))
        _collect(trace, q, slots, res, o, stats)
    d = stats[(ki, r)]["diff"] or {}
    return {"file": res.get("waves"), "kernel": k.id, "row": r, "prime": q,
            "cycle": d.get("edge"), "time_ns": d.get("time_ns"), "stage": d.get("stage"),
            "index": d.get("index"), "reproduced": bool(d),
            "note": "cycle = rising clock edges since the clock started (10 ns period, "
                    "reset released after edge 2); time_ns is the simulation time of that edge"}
