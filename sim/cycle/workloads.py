"""Built-in workloads for ``fhesim estimate --workload``: CKKS operation traces.

Each workload runs real ``sw.ckks`` code in the trace's dry-run mode (shapes only, no
arithmetic), at a named parameter set (default ``n16-128``: N = 2^16, 128-bit security),
and returns the recorded op trace. They are *operation-level* workloads, not a neural
network, and every output labels them as such. The encrypted ResNet traces (``resnet20`` ... ``resnet110``) come from
:func:`sw.nn.trace.dry_run_trace` (``fhesim trace``; the report's workloads,
:mod:`sim.report.sources`).
"""
from __future__ import annotations

from typing import Callable

from .adapters import ops_from_trace
from .events import Op

DEFAULT_PARAMS = "n16-128"


def _setup(params_name: str, rotations):
    from sw import trace
    from sw.ckks import CkksContext, Encoder, Encryptor, Evaluator, KeyGenerator, get_params

    insecure = params_name.startswith("toy")
    params = get_params(params_name, allow_insecure=insecure)
    with trace.recording(dry_run=True):
        ctx = CkksContext(params)
        keys = KeyGenerator(ctx, seed=1).gen_keyset(rotations=list(rotations))
        enc = Encoder(ctx)
        # operands at the top level's own scale, so that every product rescales back to a
        # usable scale whatever the size of the level (single prime or composite pair)
        top = params.level_scale(params.max_level)
        ct = Encryptor(ctx, keys.public, seed=2).encrypt(enc.encode([0.5], scale=top))
        pt = enc.encode([0.25], scale=top)
    return params, ctx, Evaluator(ctx, keys), ct, pt


def _cmult(ev, ct, pt):
    ev.rescale(ev.mul(ct, ct))


def _rotate(ev, ct, pt):
    ev.rotate(ct, 1)


def _mulrot(ev, ct, pt):
    # Four rounds of: square + relinearise + rescale, then a rotate-and-add (a reduction
    # step), then a plaintext multiply + rescale: 4 cmult, 4 rotate, 4 pmult, 8 rescale.
    x = ct
    for i in range(4):
        x = ev.rescale(ev.mul(x, x))
        x = ev.add(x, ev.rotate(x, 1 << i))
        x = ev.rescale(ev.mul_plain(x, pt))


WORKLOADS: dict[str, tuple[str, Callable, tuple[int, ...]]] = {
    "cmult": ("one ciphertext multiply + relinearise + rescale at the top level", _cmult, ()),
    "rotate": ("one rotation by 1 slot (key switch) at the top level", _rotate, (1,)),
    "mulrot": ("4 x (square+relin+rescale, rotate-and-add, plaintext multiply+rescale)",
               _mulrot, (1, 2, 4, 8)),
}


def workload_names() -> list[str]:
    return sorted(WORKLOADS)


def workload_ops(name: str, params_name: str = DEFAULT_PARAMS) -> tuple[list[Op], list[str]]:
    """Trace the built-in workload ``name`` (dry run) and convert it to cycle-model ops."""
    if name not in WORKLOADS:
        raise ValueError(f"unknown workload {name!r} (built-in: {', '.join(workload_names())})")
    from sw import trace

    help_text, body, rotations = WORKLOADS[name]
    params, ctx, ev, ct, pt = _setup(params_name, rotations)
    with trace.recording(dry_run=True) as rec:
        with trace.stage(name):
            body(ev, ct, pt)
    ops, notes = ops_from_trace(rec)
    notes.insert(0, f"workload '{name}': {help_text}; built-in CKKS operation trace (dry run, "
                    f"parameters {params_name}), not a neural-network trace")
    return ops, notes
