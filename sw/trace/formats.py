"""Op trace files: format ``fhesim-trace-1`` (nested events) and ``fhesim-trace-2`` (compact).

Version 1 writes every event in full; version 2 stores each distinct top-level event shape
once, then one ``[shape, stage]`` pair per top-level event. :func:`load` reads either (``.gz``
too) and :func:`events_v1` expands a document into the nested events of version 1. Format:
``docs/trace-format.md``.
"""
from __future__ import annotations

import gzip
import json
from pathlib import Path

from .events import OpEvent, join_stages
from .replay import _Replay

FORMAT_V1 = "fhesim-trace-1"
FORMAT_V2 = "fhesim-trace-2"
#: Field order of a kernel call in a version-2 shape.
KERNEL_FIELDS = ("kind", "primes", "n", "count", "src_primes", "dst_primes")
_KFIELDS = KERNEL_FIELDS   # former name, kept for readers


def _shape_dict(ev: OpEvent, top_stage: str | None, is_top: bool = True) -> dict:
    """Version-2 shape of ``ev`` (ids, parents, depths implicit; stages relative to the
    top-level event's own stage ``top_stage``)."""
    d: dict = {"kind": ev.kind}
    for k in ("n", "primes_in", "primes_out", "level_in", "level_out"):
        v = getattr(ev, k)
        if v is not None:
            d[k] = v
    if ev.info:
        d["info"] = ev.info
    if not is_top and ev.stage != top_stage:
        pre = (top_stage + "/") if top_stage else ""
        if ev.stage and ev.stage.startswith(pre):
            d["stage"] = ev.stage[len(pre):]
        else:
            d["stage_abs"] = ev.stage
    if ev.kernels:
        d["kernels"] = [[k.kind, k.primes, k.n, k.count, k.src_primes, k.dst_primes] for k in ev.kernels]
    if ev.children:
        d["children"] = [_shape_dict(c, top_stage, False) for c in ev.children]
    return d


def compact_doc(items, dry_run: bool) -> dict:
    """The version-2 document of a recorder's top-level ``items`` (events and replays, in
    order). Replays are not expanded: their shapes are computed once per template."""
    shapes: list[dict] = []
    shape_ix: dict[str, int] = {}
    stages: list[str | None] = []
    stage_ix: dict = {}
    seq: list[list[int]] = []

    def intern_shape(ev: OpEvent) -> int:
        d = _shape_dict(ev, ev.stage)
        key = json.dumps(d, separators=(",", ":"))
        i = shape_ix.get(key)
        if i is None:
            i = shape_ix[key] = len(shapes)
            shapes.append(d)
        return i

    def intern_stage(s: str | None) -> int:
        i = stage_ix.get(s)
        if i is None:
            i = stage_ix[s] = len(stages)
            stages.append(s)
        return i

    per_template: dict[int, list] = {}
    for item in items:
        if type(item) is _Replay:
            t = item.template
            lst = per_template.get(id(t))
            if lst is None:
                lst = per_template[id(t)] = [(intern_shape(e), t.suffix(e.stage)) for e in t.events]
            for shape, suf in lst:
                seq.append([shape, intern_stage(join_stages(item.stages, suf))])
        else:
            seq.append([intern_shape(item), intern_stage(item.stage)])
    return {"format": FORMAT_V2, "dry_run": dry_run, "kernel_fields": list(KERNEL_FIELDS),
            "shapes": shapes, "stages": stages, "events": seq}


def nested_doc(events, dry_run: bool, with_data: bool = False) -> dict:
    """The version-1 document of top-level ``events`` (kept data with ``with_data``)."""
    return {"format": FORMAT_V1, "dry_run": dry_run, "events": [e.as_dict(with_data) for e in events]}


def write_text(text: str, path) -> None:
    """Write ``text`` to ``path`` (gzip-compressed when ``path`` ends in ``.gz``)."""
    if str(path).endswith(".gz"):
        with gzip.open(path, "wt", compresslevel=6) as f:
            f.write(text)
    else:
        with open(path, "w") as f:
            f.write(text)


def load(source) -> dict:
    """A trace document from a path (``.json`` or ``.json.gz``), JSON text, or a parsed
    document; checks ``format`` (``fhesim-trace-1`` or ``fhesim-trace-2``)."""
    doc = source
    if isinstance(doc, Path) or (isinstance(doc, str) and not doc.lstrip().startswith(("[", "{"))):
        p = Path(doc)
        with (gzip.open(p, "rt") if p.suffix == ".gz" else open(p)) as f:
            doc = json.load(f)
    elif isinstance(doc, (str, bytes)):
        doc = json.loads(doc)
    if isinstance(doc, list):      # a bare list of version-1 events
        return {"format": FORMAT_V1, "events": doc}
    if not isinstance(doc, dict):
        raise ValueError(f"op trace: expected a JSON object, got {type(doc).__name__}")
    fmt = doc.get("format", FORMAT_V1 if "events" in doc else None)
    if fmt not in (FORMAT_V1, FORMAT_V2):
        raise ValueError(f"op trace: unknown format {fmt!r} (expected {FORMAT_V1} or {FORMAT_V2})")
    return doc


def shape_events(shape: dict, top_stage: str | None, id_base: int, kernel_fields=KERNEL_FIELDS) -> tuple[dict, int]:
    """Version-1 event dict of a version-2 ``shape`` placed at stage ``top_stage`` with first
    id ``id_base``; returns ``(event, number of events)``."""
    counter = [id_base]
    kf = tuple(kernel_fields)

    def build(s: dict, parent, depth) -> dict:
        eid = counter[0]
        counter[0] += 1
        if depth == 0:
            stage = top_stage
        elif "stage_abs" in s:
            stage = s["stage_abs"]
        elif "stage" in s:
            stage = join_stages(top_stage, s["stage"])
        else:
            stage = top_stage
        ev = {"id": eid, "kind": s["kind"], "parent": parent, "depth": depth, "stage": stage,
              "n": s.get("n"), "primes_in": s.get("primes_in"), "primes_out": s.get("primes_out"),
              "level_in": s.get("level_in"), "level_out": s.get("level_out"), "info": s.get("info", {})}
        ev["kernels"] = [dict(zip(kf, k), op_id=eid) for k in s.get("kernels", ())]
        ev["children"] = [build(c, eid, depth + 1) for c in s.get("children", ())]
        return ev

    ev = build(shape, None, 0)
    return ev, counter[0] - id_base


def shape_size(shape: dict) -> int:
    """Number of events in a version-2 shape (itself and all nested children)."""
    return 1 + sum(shape_size(c) for c in shape.get("children", ()))


def events_v1(source) -> list[dict]:
    """The nested version-1 events of any trace document (see :func:`load`); a malformed
    document raises ``ValueError``."""
    doc = load(source)
    if doc["format"] == FORMAT_V1:
        return doc["events"]
    try:
        shapes, stages = doc["shapes"], doc["stages"]
        kf = doc.get("kernel_fields", KERNEL_FIELDS)
        out, nid = [], 0
        for s, st in doc["events"]:
            ev, k = shape_events(shapes[s], stages[st], nid, kf)
            out.append(ev)
            nid += k
    except (KeyError, TypeError, IndexError, AttributeError, RecursionError) as e:
        raise ValueError(f"op trace: malformed {FORMAT_V2} document ({type(e).__name__}: {e})") from None
    return out
