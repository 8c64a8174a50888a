"""The key-switching kernels of a trace on the RTL: plan, stimulus, verdicts, consistency.

Kernels of kind ``bconv``, ``automorphism`` and ``mac`` replay through
:mod:`sim.compare.unit_replay`:

* ``mac`` (forms ``mac`` ``acc + a*b`` and ``msub`` ``acc - a*b``): every row (one prime)
  through the :class:`hw.elementwise.ElementwiseUnit` of its prime, ``P`` elements a beat
  (``a``, ``b`` in the multiplier's stored form, ``c = acc``, ``op`` the form's code);
* ``automorphism``: every row through the :class:`hw.automorphism.AutomorphismUnit` of its
  ``(prime, galois, order)`` (the Galois element is fixed when the unit is built);
* ``bconv``: the whole kernel (all ``len(src)`` input rows at once, a tile of ``P``
  coefficients across every limb a beat) through the :class:`hw.bconv.BconvUnit` of its
  ``(src_primes, dst_primes)``.

Groups (one build and one simulation each, :func:`plan`): per prime, its elementwise unit
and its automorphism units; the conversion units of the distinct ``(src_primes,
dst_primes)``, :data:`BCONV_PER_GROUP` to a group, in order of first use. A
*vector* is one output row (one prime, ``n`` words; for ``bconv`` one destination row).
The first difference of a row is its smallest element index (for ``bconv`` the
coefficient index of the destination row, for ``automorphism`` the output index).
"""
from __future__ import annotations

import numpy as np

from .unit_replay import UNIT_CLASSES, UNIT_KINDS, GroupSpec, UnitReplaySpec, simulate

#: Conversion units per replay group (fewer builds; each unit still has its own streams).
BCONV_PER_GROUP = 4

__all__ = ["UNIT_KINDS", "plan", "run_group", "collect", "check_kernel", "unit_fault_report"]


def _fault(kind: str, o, primes) -> tuple | None:
    """The ``fault`` of a unit of ``kind`` whose primes are ``primes`` (None: no fault)."""
    f = {"bconv": o.bconv_fault, "automorphism": o.automorphism_fault, "mac": o.mac_fault}[kind]
    if f is None or (o.fault_primes is not None and not set(primes) & set(o.fault_primes)):
        return None
    keys = {"bconv": ("dst", "lane", "bit"), "automorphism": ("index", "bit"),
            "mac": ("lane", "bit")}[kind]
    return tuple(zip(keys, (int(x) for x in f)))


def unit_fault_report(o) -> dict:
    """The injected unit faults for the report's ``rtl.fault`` entry."""
    out = {}
    for name, keys in (("bconv_fault", ("dst", "lane", "bit")),
                       ("automorphism_fault", ("index", "bit")), ("mac_fault", ("lane", "bit"))):
        f = getattr(o, name)
        if f is not None:
            out[name] = dict(zip(keys, (int(x) for x in f)))
    return out


def _unit_key(k, r, o) -> tuple:
    if k.kind == "bconv":
        return ("bconv", k.src_primes, k.primes)
    if k.kind == "automorphism":
        return ("automorphism", k.primes[r], k.galois, k.order)
    return ("mac", k.primes[r])


def _unit_spec(key, n, o) -> UnitReplaySpec:
    common = dict(width=o.width, lanes=o.lanes, multiplier=o.multiplier)
    if key[0] == "bconv":
        return UnitReplaySpec(kind="bconv", src_primes=key[1], dst_primes=key[2],
                              fault=_fault("bconv", o, key[2]), **common)
    if key[0] == "automorphism":
        return UnitReplaySpec(kind="automorphism", q=key[1], n=n, galois=key[2], order=key[3],
                              fault=_fault("automorphism", o, (key[1],)), **common)
    return UnitReplaySpec(kind="mac", q=key[1], fault=_fault("mac", o, (key[1],)), **common)


def plan(trace, o, selected) -> list[dict]:
    """The groups to simulate: ``[{"group": GroupSpec, "slots": [[(kernel index, row)] per
    unit]}]`` for the selected ``(kernel index, rows)`` of unit kinds (``selected``)."""
    n = trace.kernels[0].n
    units: dict[tuple, list] = {}
    for ki, rows in selected:
        k = trace.kernels[ki]
        if k.kind == "bconv":
            units.setdefault(_unit_key(k, 0, o), []).append((ki, None))
            continue
        for r in rows:
            units.setdefault(_unit_key(k, r, o), []).append((ki, r))
    groups: dict[str, list] = {}
    nb = 0
    for key in units:
        if key[0] == "bconv":      # BCONV_PER_GROUP conversion units to a build
            name = f"bconv{nb // BCONV_PER_GROUP}"
            nb += 1
        else:
            name = f"q{key[1]}"
        groups.setdefault(name, []).append(key)
    out = []
    for name, keys in groups.items():
        keys = sorted(keys, key=lambda t: (t[0] != "mac",) + tuple(str(x) for x in t))
        g = GroupSpec(name=name, units=tuple(_unit_spec(key, n, o) for key in keys))
        out.append({"group": g, "slots": [units[key] for key in keys]})
    return out


def _stored_b(b: np.ndarray, q: int, o) -> np.ndarray:
    if o.multiplier == "montgomery":
        return np.array([(int(x) << o.width) % q for x in b.tolist()], dtype=np.uint64)
    return b


def _stimulus(trace, spec: UnitReplaySpec, slots, o) -> dict:
    from sw.rtl_models import ELEMENTWISE_OPS

    ks, P = trace.kernels, o.lanes
    n = ks[0].n
    if spec.kind == "bconv":
        x = np.concatenate([ks[ki].arrays["input"] for ki, _ in slots], axis=1)
        beats = x.shape[1] // P
        vals = {f"[{i}][{c}]": x[i, c::P] for i in range(x.shape[0]) for c in range(P)}
        return {"values": vals, "beats": beats, "beats_out": beats}
    if spec.kind == "automorphism":
        x = np.concatenate([ks[ki].arrays["input"][r] for ki, r in slots])
        beats = x.size // P
        return {"values": {f"[{l}]": x[l::P] for l in range(P)}, "beats": beats, "beats_out": beats}
    a = np.concatenate([ks[ki].arrays["a"][r] for ki, r in slots])
    b = _stored_b(np.concatenate([ks[ki].arrays["b"][r] for ki, r in slots]), spec.q, o)
    c = np.concatenate([ks[ki].arrays["acc"][r] for ki, r in slots])
    op = np.concatenate([np.full(n // P, ELEMENTWISE_OPS[ks[ki].form], np.uint64) for ki, _ in slots])
    vals = {"op": op}
    for l in range(P):
        vals[f"a[{l}]"], vals[f"b[{l}]"], vals[f"c[{l}]"] = a[l::P], b[l::P], c[l::P]
    return {"values": vals, "beats": a.size // P, "beats_out": a.size // P}


def group_job(trace, entry, o, waves: bool = False) -> tuple:
    """Picklable arguments of one group's replay."""
    g = entry["group"]
    stim = [_stimulus(trace, spec, slots, o) for spec, slots in zip(g.units, entry["slots"])]
    return ("units", g, stim, waves, o.p_valid, o.p_ready, o.seed, o.simulator)


def run_group(job):
    _, g, stim, waves, p_valid, p_ready, seed, simulator = job
    return g, simulate(g, stim, waves=waves, p_valid=p_valid, p_ready=p_ready, seed=seed,
                       simulator=simulator)


def _rows_out(spec, out: dict, P: int) -> np.ndarray:
    """The unit's output beats as rows: (len(dst), total) for bconv, (total,) otherwise."""
    if spec.kind == "bconv":
        l = len(spec.dst_primes)
        beats = out["[0][0]"].size
        rows = np.empty((l, beats * P), np.uint64)
        for j in range(l):
            for c in range(P):
                rows[j, c::P] = out[f"[{j}][{c}]"]
        return rows
    beats = out["[0]"].size
    row = np.empty(beats * P, np.uint64)
    for l in range(P):
        row[l::P] = out[f"[{l}]"]
    return row


def _edge_time(res: dict, edge: int) -> float:
    return float(res["t0_ns"]) + (int(edge) - int(res["e0"])) * float(res["period_ns"])


def _diff(k, r, exp, act, edges, off, P, res, spec) -> dict | None:
    bad = np.flatnonzero(exp != act)
    if not bad.size:
        return None
    i = int(bad[0])
    edge = int(edges[(off + i) // P])
    d = {"stage": None, "index": i, "expected": int(exp[i]), "actual": int(act[i]), "edge": edge,
         "time_ns": _edge_time(res, edge), "unit": UNIT_CLASSES[k.kind],
         "where": f"{UNIT_CLASSES[k.kind]} output", "mismatched_words": int(bad.size)}
    if k.kind == "mac":
        d.update({"op": k.form, "a": int(k.arrays["a"][r, i]), "b": int(k.arrays["b"][r, i]),
                  "acc": int(k.arrays["acc"][r, i])})
    if k.kind == "automorphism":
        d.update({"galois": k.galois, "order": k.order})
    if k.kind == "bconv":
        d.update({"src_primes": list(k.src_primes), "dst_index": r})
    return d


def collect(trace, entry, res, o, stats) -> int:
    """Per-row verdicts of one group's replay into ``stats[(kernel index, row)]``; returns
    the number of mismatching vectors."""
    if res.get("incomplete") or not res.get("done"):
        from .rtl import ReplayError
        info = {k: v for k, v in res.items() if not isinstance(v, (np.ndarray, list))}
        raise ReplayError(f"compare: replay of {entry['group'].label} did not complete: {info}")
    bad = 0
    for spec, slots, out, edges in zip(entry["group"].units, entry["slots"], res["outputs"],
                                       res["edges"]):
        rows = _rows_out(spec, out, o.lanes)
        off = 0
        for ki, r in slots:
            k = trace.kernels[ki]
            n = k.n
            if k.kind == "bconv":
                for j in range(k.rows):
                    d = _diff(k, j, k.arrays["output"][j], rows[j, off:off + n], edges, off,
                              o.lanes, res, spec)
                    stats[(ki, j)] = {"words": n, "diff": d}
                    bad += d is not None
            else:
                d = _diff(k, r, k.arrays["output"][r], rows[off:off + n], edges, off, o.lanes,
                          res, spec)
                stats[(ki, r)] = {"words": n, "diff": d}
                bad += d is not None
            off += n
    return bad


def waves_entry(trace, ki: int, r: int, o) -> dict:
    """A one-unit group replaying row ``r`` of kernel ``ki`` alone (whole kernel for bconv)."""
    k = trace.kernels[ki]
    spec = _unit_spec(_unit_key(k, r, o), k.n, o)
    return {"group": GroupSpec(name="waves", units=(spec,)),
            "slots": [[(ki, None if k.kind == "bconv" else r)]]}


# ---------------------------------------------------------------------------- consistency

def _automorphism_ref(row: np.ndarray, q: int, galois: int, order: str) -> np.ndarray:
    from sw.rtl_models import automorphism_destinations
    dest = automorphism_destinations(row.size, galois, order)
    dst = np.array([d for d, _ in dest], dtype=np.int64)
    neg = np.array([g for _, g in dest], dtype=bool)
    out = np.empty_like(row)
    val = np.where(neg & (row != 0), np.uint64(q) - row, row)
    out[dst] = val
    return out


def check_kernel(k, rows) -> str | None:
    """Why row ``r`` of unit kernel ``k`` is not the software kernel of its recorded input
    (None when consistent): ``mac`` ``acc +- a*b mod q``; ``automorphism`` the unit's golden
    destinations (:func:`sw.rtl_models.automorphism_destinations`); ``bconv`` the fast
    conversion :func:`sw.kernels.bconv.bconv` (``exact=False``)."""
    if k.kind == "bconv":
        from sw.kernels.bconv import bconv
        want = bconv(k.arrays["input"], k.src_primes, k.primes, exact=False)
        for r in rows:
            if not np.array_equal(want[r], k.arrays["output"][r]):
                return (f"row {r} (dst prime {k.primes[r]}): output != fast conversion of the "
                        f"recorded input from {list(k.src_primes)}")
        return None
    for r in rows:
        q = k.primes[r]
        if k.kind == "automorphism":
            want = _automorphism_ref(k.arrays["input"][r], q, k.galois, k.order)
            what = f"X -> X^{k.galois} ({k.order}) of the recorded input"
        else:
            qq = np.uint64(q)
            prod = (k.arrays["a"][r] * k.arrays["b"][r]) % qq   # residues < 2^32
            acc = k.arrays["acc"][r]
            want = (acc + prod) % qq if k.form == "mac" else (acc + qq - prod) % qq
            what = f"acc {'+' if k.form == 'mac' else '-'} a*b mod q"
        if not np.array_equal(want, k.arrays["output"][r]):
            return f"row {r} (q={q}): output != {what}"
    return None
