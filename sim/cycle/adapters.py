"""Build the cycle model's :class:`~sim.cycle.events.Op` list from the CKKS op trace.

Input: an op trace of ``sw.trace`` in either format of ``docs/trace-format.md``
(``fhesim-trace-1``, nested events, ``rec.to_json()``; ``fhesim-trace-2``, compact,
``rec.to_json(version=2)``), as a file (``.json`` or ``.json.gz``), JSON text, the parsed
document or list of events, or a live recorder. Each top-level event (``depth 0``) becomes
one :class:`Op`; its kernels are all kernel calls of the event and of its
nested children (a ``rotate`` contains a ``keyswitch`` containing ``modup``/``moddown``).

What each operation kind reads and writes (ciphertext polynomials; a degree-1 ciphertext
has 2, a degree-2 one 3) is fixed by the kind, in ``sw.trace.kinds.OP_IO``, where every
operation kind is declared (a trace holding an undeclared kind is refused with a
``ValueError``). Key switches inside an event become :class:`KeyUse` entries: ``digits`` =
the ``digits`` of the key switch's ``modup`` (its ``info``; else its basis conversions, one
per digit), or, when the key switch has no ``modup`` of its own (a hoisted rotation: the
``rotate_hoisted`` event raises once for all its rotations), the ``digits`` of its own
``info`` (recorded since keys may differ in special primes), else those of the ``modup`` of
the nearest enclosing event that has one; ``special`` = the ``special`` of the ``moddown`` (its
``info``; else the source primes of its conversion, which with a fused rescale also holds the
dropped top primes), or, for a key switch that stops before its ModDown (double hoisting,
``sw.ckks.raised``), the ``special`` of the key switch's own ``info``; ``primes`` = the key switch's ``primes_in``. The key's identity is
``"relin"`` under ``cmult``/``relin``, ``"conj"`` under ``conjugate`` and ``"galois:<g>"`` when the event
(or its ``info``) carries its Galois element (``galois``); otherwise unknown (always loaded).

Plaintext operands: their identity is the event's ``info["plaintext"]`` (recorded by
``sw.ckks.Evaluator.mul_plain``/``mul_plain_acc`` when the caller names the plaintext, as the
bootstrapping linear transforms do); otherwise unknown (streamed, read at every use).

Client-side events (``encode``, ``decode``, ``encrypt``, ``decrypt``) at top level are not
accelerator work: they are skipped and counted in the notes.

Composite events (``sw.trace.kinds.COMPOSITE_KINDS``, e.g. ``bootstrap``) are not one
operation but a circuit of them: their children become the operations (labelled with their
own stage, e.g. ``bootstrap/cts``), recursively for nested composites; kernel calls attached
directly to the composite event become one extra operation of kind ``<kind>:glue``.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any, Iterable, Mapping

from sw.trace.kinds import CLIENT_KINDS, COMPOSITE_KINDS, OP_IO, check_op_kind

from .events import Kernel, KeyUse, Op

_RELIN_PARENTS = frozenset({"cmult", "relin"})


def _as_doc(trace: Any) -> dict:
    """The trace as a document of format 1 or 2 (``sw.trace.load``)."""
    from sw import trace as swtrace

    if hasattr(trace, "to_doc") and callable(trace.to_doc):
        return trace.to_doc()
    if hasattr(trace, "to_json") and callable(trace.to_json):
        trace = trace.to_json()
    if isinstance(trace, Mapping) and "format" not in trace:
        for key in ("events", "ops"):
            if key in trace:
                trace = trace[key]
                break
        else:
            raise ValueError("op trace: a JSON object must hold the events under 'events'")
    if isinstance(trace, Mapping):
        return swtrace.load(dict(trace))
    if isinstance(trace, list):
        return {"format": swtrace.FORMAT_V1, "events": trace}
    if isinstance(trace, (str, bytes, Path)):
        doc = swtrace.load(trace)
        if not isinstance(doc.get("events"), list):
            raise ValueError("op trace: a JSON object must hold the events under 'events'")
        return doc
    raise ValueError(f"op trace: expected a list of events, got {type(trace).__name__}")


def _as_events(trace: Any) -> list[Mapping[str, Any]]:
    """The nested (format 1) events of any accepted trace."""
    from sw import trace as swtrace

    return swtrace.events_v1(_as_doc(trace))


def _walk(ev: Mapping[str, Any]) -> Iterable[Mapping[str, Any]]:
    yield ev
    for child in ev.get("children", ()) or ():
        yield from _walk(child)


def _check_kinds(ev: Mapping[str, Any]) -> None:
    """``ValueError`` if ``ev`` or a nested event has an undeclared operation kind."""
    for sub in _walk(ev):
        check_op_kind(str(sub.get("kind")), "op trace")


def _kernel(raw: Mapping[str, Any], default_n: int) -> Kernel:
    count = raw.get("count")
    return Kernel(kind=raw["kind"], n=int(raw.get("n") or default_n), primes=int(raw.get("primes") or 0),
                  src_primes=int(raw.get("src_primes") or 0), dst_primes=int(raw.get("dst_primes") or 0),
                  count=1 if count is None else int(count))


def _key_identity(ks: Mapping[str, Any], parents: list[str]) -> str | None:
    for ev in [ks, *reversed(parents)]:
        for where in (ev, ev.get("info") or {}):
            if where.get("key") is not None:
                return str(where["key"])
            if where.get("galois") is not None:
                return f"galois:{int(where['galois'])}"
    kinds = [p.get("kind") for p in parents]
    if any(k in _RELIN_PARENTS for k in kinds):
        return "relin"
    if "conjugate" in kinds:
        return "conj"
    return None


def _modup_digits(ev: Mapping[str, Any]) -> int:
    """Digits of a ModUp event: the ``digits`` of its ``info`` (recorded by the CKKS layer),
    else its basis conversions (one per digit)."""
    info = ev.get("info") or {}
    if info.get("digits") is not None:
        return int(info["digits"])
    return sum(int(k.get("count") or 1) for k in ev.get("kernels", ()) or () if k.get("kind") == "bconv")


def _moddown_special(ev: Mapping[str, Any]) -> int:
    """Special primes of a ModDown event: the ``special`` of its ``info`` (recorded by the CKKS
    layer; a ModDown with a fused rescale also converts the dropped top primes), else the
    source primes of its basis conversion."""
    info = ev.get("info") or {}
    if info.get("special") is not None:
        return int(info["special"])
    return max((int(k.get("src_primes") or 0) for k in ev.get("kernels", ()) or ()
                if k.get("kind") == "bconv"), default=0)


def _keyswitches(ev: Mapping[str, Any], parents: list, shared: int = 0) -> list[KeyUse]:
    """Key switches in ``ev``. ``shared``: digits of a ModUp that an enclosing event made for
    its key switches (a hoisted rotation raises once, then switches per rotation)."""
    out: list[KeyUse] = []
    if ev.get("kind") == "keyswitch":
        digits = special = 0
        for sub in _walk(ev):
            if sub.get("kind") == "modup":
                digits += _modup_digits(sub)
            elif sub.get("kind") == "moddown":
                special = max(special, _moddown_special(sub))
        if not special:   # a raised key switch (double hoisting) has no ModDown of its own
            special = int((ev.get("info") or {}).get("special") or 0)
        primes = int(ev.get("primes_in") or 0)
        own = (ev.get("info") or {}).get("digits")   # recorded by a hoisted key switch
        digits = digits or (int(own) if own is not None else shared)
        info = ev.get("info") or {}
        out.append(KeyUse(_key_identity(ev, parents), max(digits, 1), primes, special,
                          int(info.get("klss_groups") or 0), int(info.get("klss_aux") or 0)))
        return out
    children = ev.get("children", ()) or ()
    shared = sum(_modup_digits(c) for c in children if c.get("kind") == "modup") or shared
    for child in children:
        out += _keyswitches(child, [*parents, ev], shared)
    return out


def _op_from_event(ev: Mapping[str, Any], label_prefix: str, kind: str | None = None,
                   kernels_of_self_only: bool = False) -> Op:
    kind = kind or str(ev["kind"])
    n = int(ev["n"])
    if kernels_of_self_only:
        kernels = [_kernel(k, n) for k in (ev.get("kernels", ()) or ())]
        keys: list[KeyUse] = []
    else:
        kernels = [_kernel(k, n) for sub in _walk(ev) for k in (sub.get("kernels", ()) or ())]
        keys = _keyswitches(ev, [])
    ct_in, ct_out, pt = OP_IO[str(ev["kind"])]
    if kind == "rotate_hoisted":
        ct_out = 2 * max(len(keys), 1)
    stage = ev.get("stage") or ""
    pin = ev.get("primes_in")
    pout = ev.get("primes_out")
    return Op(
        kind=kind, n=n, primes_in=int(pin if pin is not None else 0),
        primes_out=int(pout if pout is not None else (pin or 0)),
        kernels=kernels, label=f"{label_prefix}{stage}" if stage or label_prefix else kind,
        ct_in_polys=ct_in, ct_out_polys=ct_out, pt_polys=pt, keys=keys,
        source_id=ev.get("id"), pt_key=_plaintext_identity(ev) if pt else None,
    )


def _plaintext_identity(ev: Mapping[str, Any]) -> str | None:
    """The plaintext's name recorded by the evaluator (``info["plaintext"]``), if any."""
    pid = (ev.get("info") or {}).get("plaintext")
    return None if pid is None else str(pid)


def _convert(ev: Mapping[str, Any], label_prefix: str, composite, ops: list, skipped: dict,
             expanded: dict) -> None:
    kind = str(ev["kind"])
    if kind in CLIENT_KINDS:
        skipped[kind] = skipped.get(kind, 0) + 1
        return
    if kind in composite:
        expanded[kind] = expanded.get(kind, 0) + 1
        if ev.get("kernels"):
            ops.append(_op_from_event(ev, label_prefix, f"{kind}:glue", kernels_of_self_only=True))
        for child in ev.get("children", ()) or ():
            if child.get("n") is None:
                child = {**child, "n": ev["n"]}
            _convert(child, label_prefix, composite, ops, skipped, expanded)
        return
    ops.append(_op_from_event(ev, label_prefix))


#: Stands for a top-level event's own stage while a format-2 shape is converted once.
_TOP = "\x00top"


def _real_stage(raw: str | None, top: str | None) -> str | None:
    if raw == _TOP:
        return top
    if raw is not None and raw.startswith(_TOP + "/"):
        rel = raw[len(_TOP) + 1:]
        return f"{top}/{rel}" if top else rel
    return raw


def _ops_v2(doc: Mapping[str, Any], label_prefix: str, composite, ops: list, skipped: dict,
            expanded: dict) -> None:
    """Format 2: each distinct shape is converted once (its stage left symbolic), then its
    operations are copied for every occurrence with their labels and source ids."""
    from sw import trace as swtrace

    shapes, stages = doc["shapes"], doc["stages"]
    kf = doc.get("kernel_fields") or swtrace.KERNEL_FIELDS
    cache: dict[int, tuple] = {}
    next_id = 0
    for s, st in doc["events"]:
        ent = cache.get(s)
        if ent is None:
            ev, size = swtrace.shape_events(shapes[s], _TOP, 0, kf)
            _check_kinds(ev)
            o: list = []
            sk: dict = {}
            ex: dict = {}
            _convert(ev, "", composite, o, sk, ex)
            by_id = {e["id"]: e.get("stage") for e in _walk(ev)}
            specs = [(op, by_id.get(op.source_id), op.source_id) for op in o]
            ent = cache[s] = (specs, size, sk, ex)
        specs, size, sk, ex = ent
        top = stages[st]
        for op, raw, rel_id in specs:
            new = object.__new__(Op)             # a shallow copy (copy.copy is slower)
            new.__dict__.update(op.__dict__)
            stage = _real_stage(raw, top) or ""
            new.label = f"{label_prefix}{stage}" if stage or label_prefix else op.kind
            new.source_id = None if rel_id is None else next_id + rel_id
            ops.append(new)
        for k, v in sk.items():
            skipped[k] = skipped.get(k, 0) + v
        for k, v in ex.items():
            expanded[k] = expanded.get(k, 0) + v
        next_id += size


class TraceInputError(ValueError):
    """An op trace that cannot be read or converted (names the file when there is one)."""


# what a damaged (gzip) JSON document can raise while being read or converted
_BAD_INPUT = (ValueError, KeyError, TypeError, IndexError, AttributeError, OSError, EOFError,
              OverflowError, RecursionError)


def ops_from_trace(trace: Any, *, label_prefix: str = "",
                   composite: frozenset[str] | set[str] = COMPOSITE_KINDS) -> tuple[list[Op], list[str]]:
    """Convert an op trace to ``(ops, notes)``; see the module docstring for the rules.
    Operations converted from the same format-2 shape share their ``kernels`` and ``keys``
    lists (read-only). A trace that cannot be read or converted raises
    :class:`TraceInputError` (a ``ValueError``), naming the file when ``trace`` is a path."""
    is_path = isinstance(trace, Path) or (isinstance(trace, str) and not trace.lstrip().startswith(("[", "{")))
    where = f"op trace {trace}" if is_path else "op trace"
    try:
        return _ops_from_trace(trace, label_prefix, composite)
    except TraceInputError:
        raise
    except FileNotFoundError:
        raise TraceInputError(f"{where}: no such file") from None
    except _BAD_INPUT as e:
        msg = str(e) if str(e).startswith("op trace") else f"{type(e).__name__}: {e}"
        if is_path and msg.startswith("op trace"):
            msg = msg[len("op trace"):].lstrip(": ")
        raise TraceInputError(f"{where}: unreadable or malformed ({msg or 'empty file'})") from None


def _ops_from_trace(trace, label_prefix, composite) -> tuple[list[Op], list[str]]:
    from sw import trace as swtrace

    ops: list[Op] = []
    skipped: dict[str, int] = {}
    expanded: dict[str, int] = {}
    doc = _as_doc(trace)
    if doc["format"] == swtrace.FORMAT_V2:
        _ops_v2(doc, label_prefix, composite, ops, skipped, expanded)
    else:
        for ev in doc["events"]:
            if int(ev.get("depth") or 0) != 0 or ev.get("parent") is not None:
                continue
            _check_kinds(ev)
            _convert(ev, label_prefix, composite, ops, skipped, expanded)
    notes = [f"skipped {count} client-side '{kind}' event(s)" for kind, count in sorted(skipped.items())]
    notes += [f"expanded {count} composite '{kind}' event(s) into their operations"
              for kind, count in sorted(expanded.items())]
    return ops, notes


def layer_of(label: str) -> tuple[str, str, str]:
    """``(stage group, block, part)`` of an encrypted-ResNet trace label (sw/nn/trace.py) such as
    ``inference/layer2.0.conv1``, ``inference/layer1.0.relu1/bootstrap/bootstrap/cts``,
    ``inference/stem.conv`` or ``inference/fc``."""
    parts = str(label).split("/")
    if parts and parts[0] == "inference":
        parts = parts[1:]
    if not parts or not parts[0]:
        return "head", "other", "linear"
    name = parts[0]
    boot = len(parts) > 1 and parts[1] == "bootstrap"
    segs = name.split(".")
    if segs[0].startswith("layer") and len(segs) >= 3:
        stage, block, op = segs[0], f"{segs[0]}.{segs[1]}", segs[2]
    elif segs[0] in ("stem", "conv1", "relu1", "bn1"):
        stage = block = "stem"
        op = segs[-1]
    else:
        stage = block = "head"
        op = segs[-1]
    if boot:
        part = "bootstrap"
    elif op.startswith("relu"):
        part = "activation"
    elif op.startswith("add"):
        part = "add"
    else:
        part = "linear"        # conv, shortcut, avgpool (rotate-and-sum), fc
    return stage, block, part
