"""Capture: run a real CKKS program and turn the integer data of its kernel calls into a trace.

The programs (``mulrot``, ``resnet-slice``) are those of :mod:`sim.compare.programs`. Each
slice is recorded with :func:`sw.trace.recording` and ``Keep(op=None, kernels=KINDS)``
over every top-level operation, so the data are those of the real software kernels
(numba back end); :func:`capture` converts them into the trace's kernels, each in the form
the RTL unit replaying it computes, and asserts at every split that the hardware steps give
the software kernel's own output bit for bit:

* transforms (``ntt``, ``intt``): the stage-by-stage arrays come from the software golden
  model (:func:`sw.ntt.forward_stages` / :func:`sw.ntt.inverse_stages`); their last stage
  must equal the kernel's output;
* elementwise multiplies (``modmul``): multiplier operands ``a``, ``b`` and the product:
  ``mul`` (``a*b``), ``mulconst`` (``b`` = the per-prime constant broadcast over the row),
  ``submulconst`` (the fused ``(x - y) * c`` of ModDown/rescale: ``a = (x - y) mod q`` is
  computed here -- the subtraction is a ``modadd`` and is not replayed -- and ``b = c``);
* the fused key-switching inner product (``ks_inner``): per digit an ``automorphism``
  kernel (when it applies one) and a ``mac`` kernel ``acc + digit * key`` (both key halves
  at once); the chain's last sum must equal the fused kernel's output;
* basis conversions (``bconv``): a fast conversion is one ``bconv`` kernel; an exact
  (float-corrected) conversion of ModDown / rescale is a ``bconv`` of form ``exact-fast``
  (the fast conversion, which :class:`hw.bconv.BconvUnit` computes) followed by a ``mac``
  of form ``msub``: ``fast - v * (Q mod p_j) mod p_j``, with ``v`` the per-coefficient
  overflow count that the software estimates in floating point (:func:`overflow_count`, a
  host step: no RTL unit computes ``v``); the two must give the software's exact output;
* automorphisms (``automorphism``) and multiply-accumulates (``mac``) as called.
"""
from __future__ import annotations

import copy
import time
import warnings

import numpy as np

from sw import ntt as swntt
from sw import trace as swtrace

from .programs import DEFAULT_PARAMS, PROGRAMS
from .tracefile import Kernel, Trace


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
    op, path = kind_path
    return Kernel(id=kid, kind="modmul", n=kc.n, primes=primes, op=op, op_path=path,
                  op_id=kc.op_id, form=form, arrays={"a": a, "b": b, "output": outp})


def _ks_kernels(kid0, kc, kind_path) -> list[Kernel]:
    """The fused key-switching inner product (``ks_inner``) as the RTL runs it: per digit
    ``i`` an ``automorphism`` kernel (when the inner product applies one, in evaluation
    order) of the raised digit, then one ``mac`` kernel ``acc_i = acc_(i-1) + e_i * key_i``
    over the ``2 R`` rows (key half ``b``, ``a`` x primes; ``acc_(-1) = 0``). Asserts that
    the permuted digits are the products' first operands and that the chain's last sum is
    the fused kernel's own output (``ks_sum``)."""
    d = kc.data
    R, n, nd = kc.primes, kc.n, int(d["ks_digits"])
    primes = tuple(int(q) for q in d["primes"])
    a = np.asarray(d["input"], dtype=np.uint64).reshape(nd, 2 * R, n)
    b = np.asarray(d["input_b"], dtype=np.uint64).reshape(nd, 2 * R, n)
    fused = np.asarray(d["ks_sum"], dtype=np.uint64)
    if len(primes) != 2 * nd * R or fused.shape != (2, R, n):
        raise AssertionError(f"capture: ks_inner data of {len(primes)} rows / fused shape "
                             f"{fused.shape} do not match {nd} digits x 2 x {R} primes")
    op, path = kind_path
    basis = primes[:R]
    q = np.array(basis * 2, dtype=np.uint64)[:, None]
    out, acc = [], np.zeros((2 * R, n), dtype=np.uint64)
    for i in range(nd):
        if "ks_ext" in d:
            inp = np.ascontiguousarray(d["ks_ext"][i], dtype=np.uint64)
            if not np.array_equal(inp[:, _eval_perm(n, int(d["ks_galois"]))], a[i, :R]):
                raise AssertionError("capture: the inner product's digit is not the automorphism "
                                     f"(galois {d['ks_galois']}) of the raised digit")
            out.append(Kernel(id=kid0 + len(out), kind="automorphism", n=n, primes=basis, op=op,
                              op_path=path, op_id=kc.op_id, galois=int(d["ks_galois"]),
                              order="eval", arrays={"input": inp, "output": a[i, :R].copy()}))
        new = (acc + a[i] * b[i] % q) % q          # residues < 2^31: no overflow
        out.append(Kernel(id=kid0 + len(out), kind="mac", n=n, primes=basis * 2, op=op,
                          op_path=path, op_id=kc.op_id, form="mac",
                          arrays={"a": a[i].copy(), "b": b[i].copy(), "acc": acc, "output": new}))
        acc = new
    if not np.array_equal(acc, fused.reshape(2 * R, n)):
        raise AssertionError("capture: the fused key-switching inner product differs from its "
                             "chain of multiply-accumulates")
    return out


def _eval_perm(n: int, galois: int) -> np.ndarray:
    """``perm`` with ``out[k] = in[perm[k]]`` of ``X -> X^galois`` in evaluation order, from the
    unit's golden destinations (:func:`sw.rtl_models.automorphism_destinations`)."""
    from sw.rtl_models import automorphism_destinations
    perm = np.empty(n, dtype=np.int64)
    for i, (dst, _) in enumerate(automorphism_destinations(n, galois, "eval")):
        perm[dst] = i
    return perm


def _automorphism_kernel(kid, kc, kind_path) -> Kernel:
    d = kc.data
    op, path = kind_path
    return Kernel(id=kid, kind="automorphism", n=kc.n, primes=tuple(int(q) for q in d["primes"]),
                  op=op, op_path=path, op_id=kc.op_id, galois=int(d["galois"]), order=d["order"],
                  arrays={"input": np.ascontiguousarray(d["input"], dtype=np.uint64),
                          "output": np.ascontiguousarray(d["output"], dtype=np.uint64)})


def _mac_kernel(kid, kc, kind_path) -> Kernel:
    d = kc.data
    op, path = kind_path
    arrays = {"a": d["input"], "b": d["input_b"], "acc": d["acc"], "output": d["output"]}
    return Kernel(id=kid, kind="mac", n=kc.n, primes=tuple(int(q) for q in d["primes"]), op=op,
                  op_path=path, op_id=kc.op_id, form="mac",
                  arrays={k: np.ascontiguousarray(v, dtype=np.uint64) for k, v in arrays.items()})


def overflow_count(x, src) -> np.ndarray:
    """``v`` of the exact conversion of ``x`` (rows mod ``src``) as the software computes it
    on the host in float64 (:func:`sw.kernels.bconv.bconv_kernel` with ``exact``):
    ``t_i = x_i (Q/q_i)^-1 mod q_i``, ``v = floor(sum_i t_i * (1/q_i) + 1/2)``, summed in
    source order. Not a hardware step (no RTL unit computes it)."""
    from sw.kernels.bconv import bconv_constants
    qhinv, _ = bconv_constants(src, ())
    fsum = np.zeros(x.shape[1], dtype=np.float64)
    for i, q in enumerate(src):
        t = (x[i] * np.uint64(qhinv[i])) % np.uint64(q)     # both < 2^31: exact in uint64
        fsum += t.astype(np.int64).astype(np.float64) * np.float64(1.0 / q)
    return (fsum + 0.5).astype(np.int64).astype(np.uint64)


def _bconv_kernels(kid0, kc, kind_path) -> list[Kernel]:
    """A basis conversion: one ``bconv`` kernel (the fast conversion, the RTL's
    :class:`hw.bconv.BconvUnit`); an exact conversion is split into that fast conversion
    (form ``exact-fast``, output computed here by :func:`sw.kernels.bconv.bconv` with
    ``exact=False``) and its correction ``out_j = fast_j - v * (Q mod p_j) mod p_j`` as a
    ``mac`` kernel of form ``msub`` (``a = v`` from :func:`overflow_count`, a host step,
    ``b = Q mod p_j``, ``acc = fast``). Asserts that the two steps give the software's
    exact output bit for bit."""
    from sw.kernels.bconv import bconv
    d = kc.data
    src = tuple(int(q) for q in d["src_primes"])
    dst = tuple(int(q) for q in d["primes"])
    op, path = kind_path
    x = np.ascontiguousarray(d["input"], dtype=np.uint64)
    outp = np.ascontiguousarray(d["output"], dtype=np.uint64)
    common = dict(n=kc.n, primes=dst, op=op, op_path=path, op_id=kc.op_id, src_primes=src)
    if not d.get("exact"):
        return [Kernel(id=kid0, kind="bconv", form="fast", arrays={"input": x, "output": outp},
                       **common)]
    fast = bconv(x, src, dst, exact=False)
    v = overflow_count(x, src)
    Q = 1
    for q in src:
        Q *= q
    qd = np.array(dst, dtype=np.uint64)[:, None]
    a = np.broadcast_to(v[None, :], fast.shape).copy()
    b = np.broadcast_to(np.array([Q % p for p in dst], dtype=np.uint64)[:, None], fast.shape).copy()
    if (a >= qd).any():
        raise AssertionError("capture: an overflow count v is not below its destination prime")
    corrected = (fast + qd - a * b % qd) % qd
    if not np.array_equal(corrected, outp):
        raise AssertionError(f"capture: fast conversion {src} -> {dst} minus v*Q differs from the "
                             "software's exact conversion")
    return [Kernel(id=kid0, kind="bconv", form="exact-fast", arrays={"input": x, "output": fast},
                   **common),
            Kernel(id=kid0 + 1, kind="mac", n=kc.n, primes=dst, op=op, op_path=path,
                   op_id=kc.op_id, form="msub",
                   arrays={"a": a, "b": b, "acc": fast.copy(), "output": outp})]


#: The kernel kinds a capture keeps by default (every kind the RTL replays).
KINDS = ("ntt", "intt", "modmul", "bconv", "automorphism", "mac")


def _kernels(rec, primes=None) -> list[Kernel]:
    """The kept kernel calls of ``rec`` as trace kernels, in software order (ids 0, 1, ...);
    the stage arrays of a transform are computed for its rows of ``primes`` only (None: all)."""
    paths = _op_paths(rec)
    kernels: list[Kernel] = []
    for kc in rec.kept():
        kp = paths.get(kc.op_id, (None, None))
        kid = len(kernels)
        if kc.kind in ("ntt", "intt"):
            if primes is not None:
                rows = [r for r, q in enumerate(kc.data["primes"]) if q in primes]
                if not rows:
                    continue
                kc = copy.copy(kc)
                kc.data = {"primes": tuple(kc.data["primes"][r] for r in rows),
                           "input": kc.data["input"][rows], "output": kc.data["output"][rows]}
            kernels.append(_transform_kernel(kid, kc, kp))
        elif kc.kind == "modmul" and "ks_sum" in kc.data:
            kernels.extend(_ks_kernels(kid, kc, kp))
        elif kc.kind == "modmul":
            kernels.append(_modmul_kernel(kid, kc, kp))
        elif kc.kind == "bconv":
            kernels.extend(_bconv_kernels(kid, kc, kp))
        elif kc.kind == "automorphism":
            kernels.append(_automorphism_kernel(kid, kc, kp))
        elif kc.kind == "mac":
            kernels.append(_mac_kernel(kid, kc, kp))
    return kernels


def capture(params: str | None = None, program: str = "mulrot", *, level: int = 2, seed: int = 1,
            kinds: tuple[str, ...] = KINDS, first: int | None = None) -> Trace:
    """Run ``program`` at parameter set ``params`` (default :data:`DEFAULT_PARAMS` of the
    program) and return the captured :class:`Trace`; ``level`` is ``mulrot``'s only.

    ``first``: keep the data of the first ``first`` top-level operations only (default:
    every operation of the program)."""
    from sw.ckks import get_params

    from .programs import run_program

    if program not in PROGRAMS:
        raise ValueError(f"unknown program {program!r} (choose from {', '.join(PROGRAMS)})")
    bad = [k for k in kinds if k not in KINDS]
    if bad:
        raise ValueError(f"capture: kernel kinds {bad} cannot be captured (choose from {', '.join(KINDS)})")
    t0 = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        p = get_params(params or DEFAULT_PARAMS[program], allow_insecure=True)
    keep = swtrace.Keep(op=None, kernels=tuple(kinds), first=first or 10 ** 9)
    slices, check, extra, primes = run_program(program, p, level, seed, keep)
    kernels, ops = [], []
    for label, rec in slices:
        for k in _kernels(rec, primes):
            if label is not None:
                k.op_path = f"{label}/{k.op_path}"
            k = _restrict(k, primes)
            if k is not None:
                k.id = len(kernels)
                kernels.append(k)
        ops += [e.kind if label is None else f"{label}:{e.kind}" for e in rec.events]
    meta = {"params": p.name, "insecure": not p.is_secure, "n": p.n, "program": program,
            "level": level if program == "mulrot" else None, "seed": seed, "ops": ops,
            "word_bits_software": swntt.WORD, "check": check, **extra,
            "capture_s": round(time.perf_counter() - t0, 3)}
    return Trace(meta=meta, kernels=kernels)


def _restrict(k: Kernel, primes) -> Kernel | None:
    """``k`` with only its rows of ``primes`` (None: all rows); None when none is left. A
    ``bconv`` keeps every source row (its input) and the destination rows of ``primes``."""
    if primes is None:
        return k
    rows = [r for r, q in enumerate(k.primes) if q in primes]
    if not rows:
        return None
    if len(rows) == k.rows:
        return k
    arrays = {role: (a if (k.kind, role) == ("bconv", "input") else np.ascontiguousarray(a[rows]))
              for role, a in k.arrays.items()}
    return Kernel(id=k.id, kind=k.kind, n=k.n, primes=tuple(k.primes[r] for r in rows), op=k.op,
                  op_path=k.op_path, op_id=k.op_id, form=k.form, arrays=arrays,
                  src_primes=k.src_primes, galois=k.galois, order=k.order)
