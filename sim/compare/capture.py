"""Capture: run a real CKKS program and keep the integer data of its NTT / INTT / modmul calls.

Programs (``PROGRAMS``):

* ``mulrot`` -- at level ``level`` (default 2): ``c = rotate(rescale(mul(a, b)), 1)`` on two
  fresh encryptions of random complex vectors, i.e. a ciphertext multiplication with
  relinearisation (tensor product + key switching), a rescale and a rotation (automorphism +
  key switching). The result is decrypted and checked against ``roll(z*w, -1)``; the error
  is stored in the manifest (``check``).

The run is recorded with :func:`sw.trace.recording` and ``Keep(op=None, kernels=("ntt",
"intt", "modmul"))`` over every top-level operation of the program, so the data are those
of the real software kernels (numba back end). For every transform the stage-by-stage
arrays come from the software golden model (:func:`sw.ntt.forward_stages` /
:func:`sw.ntt.inverse_stages`); capture asserts that its last stage equals the kernel's own
output, so the golden stages and the kernel cannot silently disagree.

Elementwise multiplies are stored as multiplier operands ``a``, ``b`` and the product:
``mul`` (``a*b``), ``mulconst`` (``b`` = the per-prime constant broadcast over the row),
``submulconst`` (the fused ``(x - y) * c`` of ModDown/rescale: ``a = (x - y) mod q``
is computed here -- the subtraction is a ``modadd`` and is not replayed -- and
``b = c``). The fused key-switching inner product (``ks_inner``) is kept as one ``mul``
kernel holding its ``2 * digits`` per-digit products (``a`` = digit row after any
automorphism, ``b`` = key row), after asserting that their modular sum over the digits is
the fused kernel's own output.
"""
from __future__ import annotations

import time
import warnings

import numpy as np

from sw import ntt as swntt
from sw import trace as swtrace

from .tracefile import Kernel, Trace

PROGRAMS = ("mulrot",)


def _op_paths(rec) -> dict[int, tuple[str, str]]:
    """op id -> (innermost kind, "outer/.../inner" path)."""
    by_id = {e.id: e for e in rec.all_events()}
    out = {}
    for e in by_id.values():
        path, cur = [], e
        while cur is not None:
            path.append(cur.kind)
            cur = by_id.get(cur.parent) if cur.parent is not None else None
        out[e.id] = (e.kind, "/".join(reversed(path)))
    return out


def _transform_kernel(kid, kc, kind_path) -> Kernel:
    d = kc.data
    primes = tuple(int(q) for q in d["primes"])
    inp = np.ascontiguousarray(d["input"], dtype=np.uint64)
    outp = np.ascontiguousarray(d["output"], dtype=np.uint64)
    fn = swntt.forward_stages if kc.kind == "ntt" else swntt.inverse_stages
    stages = []
    for r, q in enumerate(primes):
        st = fn(inp[r], q)
        final = st[-1]
        if not np.array_equal(final, outp[r]):
            raise AssertionError(f"capture: {kc.kind} row {r} (q={q}): the stage model's result "
                                 f"differs from the software kernel's output")
        stages.append(np.stack(st[: kc.n.bit_length() - 1]))
    op, path = kind_path
    return Kernel(id=kid, kind=kc.kind, n=kc.n, primes=primes, op=op, op_path=path,
                  op_id=kc.op_id, arrays={"input": inp, "output": outp,
                                          "stages": np.stack(stages).astype(np.uint64)})


def _modmul_kernel(kid, kc, kind_path) -> Kernel:
    d = kc.data
    primes = tuple(int(q) for q in d["primes"])
    form = d.get("form")
    q = np.array(primes, dtype=np.uint64)[:, None]
    x = np.ascontiguousarray(d["input"], dtype=np.uint64)
    outp = np.ascontiguousarray(d["output"], dtype=np.uint64)
    if form == "mul":
        a, b = x, np.ascontiguousarray(d["input_b"], dtype=np.uint64)
    elif form == "mulconst":
        a, b = x, np.broadcast_to(np.array(d["consts"], dtype=np.uint64)[:, None], x.shape).copy()
    elif form == "submulconst":
        y = np.asarray(d["input_b"], dtype=np.uint64)
        a = (x + q - y) % q
        b = np.broadcast_to(np.array(d["consts"], dtype=np.uint64)[:, None], x.shape).copy()
    else:
        raise ValueError(f"capture: modmul data without a known form ({form!r}); "
                         "sw.ring.kernels must record 'form'")
    # (the exact product, as a cross-check of the software kernel; Python ints per prime)
    for r, qi in enumerate(primes):
        ref = np.array([int(u) * int(v) % qi for u, v in zip(a[r].tolist(), b[r].tolist())],
                       dtype=np.uint64)
        if not np.array_equal(ref, outp[r]):
            raise AssertionError(f"capture: modmul/{form} row {r} (q={qi}) is not a*b mod q")
    if "ks_sum" in d:
        _check_ks_sum(kc, primes, outp, np.asarray(d["ks_sum"], dtype=np.uint64), int(d["ks_digits"]))
    op, path = kind_path
    return Kernel(id=kid, kind="modmul", n=kc.n, primes=primes, op=op, op_path=path,
                  op_id=kc.op_id, form=form, arrays={"a": a, "b": b, "output": outp})


def _check_ks_sum(kc, primes, products, fused, digits) -> None:
    """The fused key-switching inner product (``ks_inner``) equals the modular sum over the
    digits of its reported products (rows ordered digit -> key half -> prime)."""
    R = kc.primes
    if len(primes) != 2 * digits * R or fused.shape != (2, R, kc.n):
        raise AssertionError(f"capture: ks_inner data of {len(primes)} rows / fused shape "
                             f"{fused.shape} do not match {digits} digits x 2 x {R} primes")
    q = np.array(primes[:R], dtype=np.uint64)[None, :, None]
    p = products.reshape(digits, 2, R, kc.n)
    total = np.zeros((2, R, kc.n), dtype=np.uint64)
    for i in range(digits):          # each partial sum < 2q < 2^32: no overflow
        total = (total + p[i]) % q
    if not np.array_equal(total, fused):
        raise AssertionError("capture: the fused key-switching inner product differs from the "
                             "modular sum of its per-digit products")


def capture(params: str = "toy-n10", program: str = "mulrot", *, level: int = 2, seed: int = 1,
            kinds: tuple[str, ...] = ("ntt", "intt", "modmul")) -> Trace:
    """Run ``program`` at parameter set ``params`` and return the captured :class:`Trace`."""
    from sw.ckks import (CkksContext, Decryptor, Encoder, Encryptor, Evaluator, KeyGenerator,
                         get_params)

    if program not in PROGRAMS:
        raise ValueError(f"unknown program {program!r} (choose from {', '.join(PROGRAMS)})")
    t0 = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        p = get_params(params, allow_insecure=True)
    if not 1 <= level <= p.max_level:
        raise ValueError(f"level={level} must lie in [1, {p.max_level}] for {params} "
                         "(mul + rescale needs a level to consume)")
    ctx = CkksContext(p)
    keys = KeyGenerator(ctx, seed=seed).gen_keyset(rotations=[1])
    enc, ev = Encoder(ctx), Evaluator(ctx, keys)
    E = Encryptor(ctx, keys.public, seed=seed + 1)
    rng = np.random.default_rng(seed)
    z = rng.uniform(-1, 1, p.slots) + 1j * rng.uniform(-1, 1, p.slots)
    w = rng.uniform(-1, 1, p.slots) + 1j * rng.uniform(-1, 1, p.slots)
    a = E.encrypt(enc.encode(z, level=level))
    b = E.encrypt(enc.encode(w, level=level))
    keep = swtrace.Keep(op=None, kernels=tuple(kinds), first=3)
    with swtrace.recording(keep=keep) as rec:
        c = ev.rotate(ev.rescale(ev.mul(a, b)), 1)
    err = float(np.max(np.abs(enc.decode(Decryptor(ctx, keys.secret).decrypt(c))
                              - np.roll(z * w, -1))))
    if not err < 2 ** -8:
        raise AssertionError(f"capture: program {program} decrypted with error {err}")
    paths = _op_paths(rec)
    kernels = []
    for kc in rec.kept():
        kp = paths.get(kc.op_id, (None, None))
        if kc.kind in ("ntt", "intt"):
            kernels.append(_transform_kernel(len(kernels), kc, kp))
        elif kc.kind == "modmul":
            kernels.append(_modmul_kernel(len(kernels), kc, kp))
    meta = {"params": p.name, "insecure": not p.is_secure, "n": p.n, "program": program,
            "level": level, "seed": seed, "ops": [e.kind for e in rec.events],
            "word_bits_software": swntt.WORD,
            "check": {"max_abs_error": err, "expected": "roll(z*w, -1)"},
            "capture_s": round(time.perf_counter() - t0, 3)}
    return Trace(meta=meta, kernels=kernels)
