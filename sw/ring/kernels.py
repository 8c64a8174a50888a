"""The kernel funnel: every arithmetic step of the RNS ring layer goes through here.

Each function takes uint64 matrices of shape ``(len(basis), n)`` (rows in basis order,
canonical residues) and returns a new matrix; inputs are never modified (except by the
``*_inplace`` functions, which say so). Each call is
reported to the active :mod:`sw.trace` recorder as one :class:`sw.trace.KernelCall`
(``ntt``, ``intt``, ``bconv``, ``modmul``, ``modadd``, ``automorphism``, ``mac``), with the
integer inputs and outputs kept when the recorder asks for them. A recorder never changes
which computation runs: fused kernels run fused and are reported as what they are.

Dry run (``trace.recording(dry_run=True)``): the arithmetic is skipped, ``None`` is
returned in place of every matrix, and the call is still reported. Passing ``None``
outside a dry run raises :class:`sw.trace.DryRunError`.

Back ends: the NTT and the plain elementwise operations come from :mod:`sw.ntt` (numba);
basis conversion from :mod:`sw.kernels.bconv`; the fused key-switching inner product, the
ModDown tail and the automorphisms are the numba kernels of :mod:`sw.ring._nb`. Their
per-prime constants are those of the basis (``RnsBasis.consts``, :mod:`sw.modulus`).
"""
from __future__ import annotations

from functools import lru_cache

import numpy as np

from .. import ntt as _ntt
from .. import trace
from ..kernels.bconv import bconv_kernel, get_bconv_plan
from ..trace import DryRunError
from . import _nb
from .basis import RnsBasis

_U = np.uint64


def _live(op: str, *arrays) -> bool:
    """False in a dry run; raises when a placeholder reaches real arithmetic."""
    if trace.is_dry_run():
        return False
    for a in arrays:
        if a is None:
            raise DryRunError(f"{op}: a shape-only placeholder (created in a dry run) "
                              f"cannot be used for arithmetic outside trace.recording(dry_run=True)")
    return True


def _report(kind, basis: RnsBasis, a_in, out, *, count=1, src=None, dst=None, primes=None,
            extra=None):
    data = None
    if out is not None and trace.wants_data(kind):
        data = {"primes": basis.primes, "input": np.array(a_in, copy=True),
                "output": np.array(out, copy=True)}
        if extra is not None:   # further operands (mul, mulconst, submulconst): a callable,
            # evaluated only when data are kept
            data.update({k: (np.array(v, copy=True) if isinstance(v, np.ndarray) else v)
                         for k, v in extra().items()})
    trace.report_kernel(kind, len(basis) if primes is None else primes, basis.n, count=count,
                        src_primes=src, dst_primes=dst, data=data)


# ---------------------------------------------------------------------------------------
# NTT
# ---------------------------------------------------------------------------------------

def ntt(a, basis: RnsBasis, inplace: bool = False):
    """Forward NTT of every row (natural -> bit-reversed evaluation order). ``inplace``: the
    caller owns ``a`` (C-contiguous uint64) and lets it be overwritten."""
    out = None
    if _live("ntt", a):
        if inplace:   # the caller owns ``a``: transform it where it lies
            src = a.copy() if trace.wants_data("ntt") else a
            out = _ntt.forward(a, basis.primes, out=a)
            a = src
        else:         # a new array; the kernel copies each row as it transforms it
            out = _ntt.forward(a, basis.primes)
    _report("ntt", basis, a, out)
    return out


def ntt_subring(a, basis: RnsBasis):
    """Forward NTT of a polynomial of the sub-ring ``Z[X^g]`` given by its ``n / g``
    coefficients ``a`` (rows in basis order; see :func:`sw.ntt.forward_subring`): the
    ``(len(basis), n)`` result of :func:`ntt` on the zero-filled polynomial, at ``1/g`` of
    the cost. Reported as that ``ntt``."""
    out = None
    full = None
    if _live("ntt", a):
        out = _ntt.forward_subring(a, basis.primes, basis.n)
        if trace.wants_data("ntt"):
            full = np.zeros((len(basis), basis.n), dtype=_U)
            full[:, ::basis.n // a.shape[1]] = a
    _report("ntt", basis, full, out)
    return out


def intt(a, basis: RnsBasis, inplace: bool = False):
    """Inverse NTT of every row (bit-reversed evaluation -> natural coefficient order)."""
    out = None
    if _live("intt", a):
        if inplace:   # the caller owns ``a``: transform it where it lies
            src = a.copy() if trace.wants_data("intt") else a
            out = _ntt.inverse(a, basis.primes, out=a)
            a = src
        else:         # a new array; the kernel copies each row as it transforms it
            out = _ntt.inverse(a, basis.primes)
    _report("intt", basis, a, out)
    return out


# ---------------------------------------------------------------------------------------
# elementwise
# ---------------------------------------------------------------------------------------

def mul(a, b, basis: RnsBasis):
    """``a * b`` row by row."""
    out = _ntt.pointwise_mul(a, b, basis.primes) if _live("modmul", a, b) else None
    _report("modmul", basis, a, out, extra=lambda: {"form": "mul", "input_b": b})
    return out


def mul_add_inplace(acc, a, b, basis: RnsBasis):
    """``acc <- acc + a * b`` row by row, in one pass (kernel ``mac``), recording or not.
    Kept data: ``input`` (``a``), ``input_b`` (``b``), ``acc`` (``acc`` before), ``output``
    (``acc`` after), ``form`` ``"mac"``."""
    before = acc.copy() if acc is not None and trace.wants_data("mac") else None
    if _live("mac", acc, a, b):
        _ntt.pointwise_mul_add(a, b, acc, basis.primes, out=acc)
    _report("mac", basis, a, acc, extra=lambda: {"form": "mac", "input_b": b, "acc": before})
    return acc


def add(a, b, basis: RnsBasis, out=None):
    """``a + b`` row by row (into ``out`` if given, which may be ``a`` or ``b``)."""
    out = _ntt.pointwise_add(a, b, basis.primes, out=out) if _live("modadd", a, b) else None
    _report("modadd", basis, a, out)
    return out


def sub(a, b, basis: RnsBasis):
    """``a - b`` row by row (reported as ``modadd``)."""
    out = _ntt.pointwise_sub(a, b, basis.primes) if _live("modadd", a, b) else None
    _report("modadd", basis, a, out)
    return out


def neg(a, basis: RnsBasis):
    """``-a`` row by row (reported as ``modadd``)."""
    out = None
    if _live("modadd", a):
        out = np.empty_like(a)
        _nb.neg_rows(a, basis.q, out)
    _report("modadd", basis, a, out)
    return out


def mulconst(a, consts, basis: RnsBasis):
    """``a[i] * consts[i] mod q_i`` (one Python-int constant per row, any size)."""
    out = None
    if _live("modmul", a):
        out = _ntt.pointwise_mul_const(a, [int(c) % q for c, q in zip(consts, basis.primes)],
                                       basis.primes)
    _report("modmul", basis, a, out, extra=lambda: {"form": "mulconst", "consts": tuple(
        int(c) % q for c, q in zip(consts, basis.primes))})
    return out


def addmulconst_inplace(acc, a, consts, basis: RnsBasis):
    """``acc[i] += a[i] * consts[i] mod q_i`` in place, in one pass (reported as the
    ``modmul`` and ``modadd`` it fuses); ``acc`` may be a row slice of a larger array."""
    if _live("modmul", acc, a):
        w, wp = basis.consts.const_pair(consts)
        _nb.addmulconst_rows(acc, a, w, wp, basis.q)
    _report("modmul", basis, a, None)
    _report("modadd", basis, a, None)
    return acc


def submulconst(a, b, consts, basis: RnsBasis):
    """``(a[i] - b[i]) * consts[i] mod q_i`` (fused; reported as one ``modadd`` and one ``modmul``)."""
    out = None
    if _live("modmul", a, b):
        w, wp = basis.consts.const_pair(consts)
        out = np.empty_like(a)
        _nb.submulconst_rows(a, b, w, wp, basis.q, out)
    _report("modadd", basis, a, None)
    _report("modmul", basis, a, out, extra=lambda: {"form": "submulconst", "input_b": b, "consts": tuple(
        int(c) % q for c, q in zip(consts, basis.primes))})
    return out


# ---------------------------------------------------------------------------------------
# basis conversion
# ---------------------------------------------------------------------------------------

class BasisConverter:
    """Fast basis conversion from ``src`` to ``dst`` (coefficient form): the ring's handle on
    the cached :class:`sw.kernels.bconv.BconvPlan` of the two prime tuples.

    ``conv(x) = sum_i [x_i (Q/q_i)^-1]_{q_i} (Q/q_i) mod p_j``, which equals ``x + u Q`` for an
    integer ``0 <= u < len(src)`` (Halevi-Polyakov-Shoup 2019; Cheon-Han-Kim-Kim-Song 2019).
    """

    __slots__ = ("src", "dst", "plan")

    def __init__(self, src: RnsBasis, dst: RnsBasis):
        if src.n != dst.n:
            raise ValueError(f"BasisConverter: degrees differ (src n={src.n}, dst n={dst.n})")
        common = set(src.primes) & set(dst.primes)
        if common:
            raise ValueError(f"BasisConverter: src and dst share primes {sorted(common)}")
        self.src, self.dst = src, dst
        self.plan = get_bconv_plan(src.primes, dst.primes)

    @staticmethod
    @lru_cache(maxsize=4096)
    def get(src: RnsBasis, dst: RnsBasis) -> "BasisConverter":
        """Cached converter."""
        return BasisConverter(src, dst)


def bconv(a, conv: BasisConverter, exact: bool = False, out=None, rowidx=None):
    """Basis conversion of ``a`` (coefficient form, rows in ``conv.src``) to ``conv.dst``.

    ``exact=False``: fast conversion (``x + u Q_src``, ``0 <= u < len(src)``).
    ``exact=True``: the centered representative of ``x`` mod ``Q_src`` (float-corrected).
    ``out``/``rowidx``: write target row ``j`` into ``out[rowidx[j]]`` (else a new array).
    Kernel: :func:`sw.kernels.bconv.bconv_kernel`. Kept data: ``input`` (the ``src`` rows),
    ``output`` (the ``dst`` rows, in ``dst`` order), ``src_primes`` and ``exact``.
    """
    if _live("bconv", a):
        pl = conv.plan
        if out is None:
            out = np.empty((len(conv.dst), conv.dst.n), dtype=_U)
            rowidx = pl.rows
        bconv_kernel(np.ascontiguousarray(a), pl.qsrc, pl.qhinv, pl.qhinvp, pl.cmat, pl.qdst,
                     pl.r32, pl.r32p, pl.r64, pl.mu, pl.s1, pl.s2, out, bool(exact), pl.qinvf,
                     pl.pmod, rowidx)
    else:
        out = None
    rows = conv.plan.rows if rowidx is None else rowidx
    _report("bconv", conv.dst, a, out, src=len(conv.src), dst=len(conv.dst),
            extra=lambda: {"output": out[rows], "src_primes": conv.src.primes, "exact": bool(exact)})
    return out


# ---------------------------------------------------------------------------------------
# key switching inner product and automorphisms
# ---------------------------------------------------------------------------------------

#: Columns of the blocks :func:`ks_inner` walks a row in (its two sums of a block stay in
#: cache over all digits; 2,048-8,192 ran alike at N = 2^16, and 25 % faster than whole rows
#: with an automorphism).
KS_CHUNK = 4096


def ks_inner(ext, basis: RnsBasis, kb, ka, rowmap: np.ndarray, ndigits: int, perm=None,
             galois: int | None = None):
    """Fused ``(sum_i ext_i * kb_i, sum_i ext_i * ka_i)`` over ``ndigits`` digits.

    ``ext``: (ndigits, len(basis), n) digits in evaluation form; ``kb``, ``ka``: key digit
    stacks (D >= ndigits, rows, n), uint64 or compact uint32 words, of which rows
    ``rowmap`` match ``basis``; ``perm``: an optional evaluation-form automorphism applied
    to the digits first. Reported as
    ``automorphism`` (ndigits x rows, if ``perm``), ``modmul`` (2 x ndigits) and ``modadd``
    (2 x (ndigits - 1)). When the recorder keeps ``modmul``, ``mac`` or ``automorphism``
    data, the per-digit products are computed separately and attached to the ``modmul``
    report (see :func:`_ks_inner_data`); ``galois`` (the Galois element of ``perm``) is
    only recorded there.
    """
    o0 = o1 = None
    data = None
    if _live("keyswitch", ext, kb, ka):
        R, n = len(basis), basis.n
        o0 = np.empty((R, n), dtype=_U)
        o1 = np.empty((R, n), dtype=_U)
        use = perm is not None
        _nb.ks_inner(ext, perm if use else np.zeros(1, np.int64), use, kb, ka, rowmap,
                     basis.q, basis.consts.r32, basis.mu, basis.s1, basis.s2, o0, o1,
                     min(KS_CHUNK, n))
        if (trace.wants_data("modmul") or trace.wants_data("mac")
                or trace.wants_data("automorphism")):   # only when kept: off the hot path
            data = _ks_inner_data(ext, basis, kb, ka, rowmap, ndigits, perm, o0, o1)
            if perm is not None:
                data.update({"ks_ext": np.array(ext[:ndigits], copy=True), "ks_galois": galois})
    if perm is not None:
        trace.report_kernel("automorphism", len(basis), basis.n, count=ndigits)
    trace.report_kernel("modmul", len(basis), basis.n, count=2 * ndigits, data=data)
    if ndigits > 1:
        trace.report_kernel("modadd", len(basis), basis.n, count=2 * (ndigits - 1))
    return o0, o1


def _ks_inner_data(ext, basis: RnsBasis, kb, ka, rowmap, ndigits: int, perm, o0, o1) -> dict:
    """Kept data of :func:`ks_inner`: its ``2 * ndigits`` per-digit products as one ``mul``
    of ``2 * ndigits * R`` rows, ordered digit ``i`` -> key half ``j`` (0: ``kb``, 1: ``ka``)
    -> row ``r`` (row ``(2 i + j) R + r`` has prime ``basis.primes[r]``). ``input`` is the
    digit as the multiplier sees it (after the automorphism ``perm``), ``input_b`` the key
    row, ``output`` the product ``mod q``. ``ks_sum`` (2, R, n) is the fused kernel's own
    result (``o0``, ``o1``): the modular sum of the products over the digits (checked by the
    capture); ``ks_digits`` = ``ndigits``. With ``perm``, :func:`ks_inner` adds ``ks_ext``
    (the digits before the automorphism, (ndigits, R, n)) and ``ks_galois``."""
    q = basis.q[:, None]
    rm = np.asarray(rowmap, dtype=np.int64)
    a_rows, b_rows = [], []
    for i in range(ndigits):
        e = ext[i] if perm is None else ext[i][:, perm]
        for key in (kb, ka):
            a_rows.append(e)
            b_rows.append(key[i][rm])
    a = np.ascontiguousarray(np.concatenate(a_rows), dtype=_U)
    b = np.ascontiguousarray(np.concatenate(b_rows), dtype=_U)
    qq = np.tile(q, (2 * ndigits, 1))
    out = (a * b) % qq           # canonical operands < 2^32: the product fits in 64 bits
    return {"primes": tuple(basis.primes) * (2 * ndigits), "input": a, "output": out,
            "form": "mul", "input_b": b, "ks_sum": np.stack([o0, o1]).copy(),
            "ks_digits": int(ndigits)}


def ntt_segments(a, segments, basis: RnsBasis):
    """In-place forward NTT of row ranges ``segments`` (list of ``(start, stop)``) of the
    owned matrix ``a`` whose rows follow ``basis``; reported as one call over all rows."""
    rows = sum(e - s for s, e in segments)
    data = None
    if _live("ntt", a):
        keep = trace.wants_data("ntt")
        idx = [r for s, e in segments for r in range(s, e)]
        before = a[idx].copy() if keep else None
        for s, e in segments:
            if e > s:
                _ntt.forward(a[s:e], basis.primes[s:e], out=a[s:e])
        if keep:
            data = {"primes": tuple(basis.primes[r] for r in idx), "input": before, "output": a[idx].copy()}
    trace.report_kernel("ntt", rows, basis.n, data=data)
    return a


@lru_cache(maxsize=512)
def eval_permutation(n: int, galois: int) -> np.ndarray:
    """Index map ``perm`` of ``X -> X^galois`` in evaluation form: ``out[k] = in[perm[k]]``.

    Slot ``k`` holds ``a(psi^(2 bitrev(k) + 1))``; ``a(X^g)`` there equals ``a`` at exponent
    ``g (2 bitrev(k) + 1) mod 2n``, i.e. ``perm[k] = bitrev((g e_k mod 2n - 1) / 2)``.
    """
    from ..ntt_tables import bitrev_permutation
    _check_galois(n, galois)
    rev = bitrev_permutation(n)
    e = 2 * rev + 1
    e2 = (e * galois) % (2 * n)
    perm = rev[(e2 - 1) // 2].astype(np.int64)
    perm.setflags(write=False)
    return perm


@lru_cache(maxsize=512)
def coeff_permutation(n: int, galois: int) -> tuple[np.ndarray, np.ndarray]:
    """``(dst, neg)`` of ``X -> X^galois`` in coefficient form: coefficient ``i`` moves to
    ``dst[i] = i g mod n``, negated when ``i g mod 2n >= n``."""
    _check_galois(n, galois)
    i = np.arange(n, dtype=np.int64)
    e = (i * galois) % (2 * n)
    dst = (e % n).astype(np.int64)
    neg = (e >= n)
    for x in (dst, neg):
        x.setflags(write=False)
    return dst, neg


def _check_galois(n: int, galois: int) -> None:
    if galois % 2 == 0 or not 0 < galois < 2 * n:
        raise ValueError(f"automorphism: galois element {galois} must be odd and in (0, 2n={2 * n})")


def automorphism(a, basis: RnsBasis, galois: int, is_ntt: bool):
    """``a(X) -> a(X^galois)`` in evaluation (``is_ntt``) or coefficient form."""
    out = None
    if _live("automorphism", a):
        out = np.empty_like(a)
        if is_ntt:
            _nb.permute_rows(a, eval_permutation(basis.n, galois), out)
        else:
            dst, negm = coeff_permutation(basis.n, galois)
            _nb.permute_sign_rows(a, dst, negm, basis.q, out)
    _report("automorphism", basis, a, out,
            extra=lambda: {"galois": int(galois), "order": "eval" if is_ntt else "coeff"})
    return out


# ---------------------------------------------------------------------------------------
# data movement (not arithmetic: not reported)
# ---------------------------------------------------------------------------------------

def take_rows(a, start: int, stop: int):
    """Rows ``[start:stop]`` (a view), or None in a dry run."""
    return None if a is None else a[start:stop]


def concat_rows(parts):
    """Row-wise concatenation (None if any part is None)."""
    if any(p is None for p in parts):
        return None
    return np.concatenate(parts, axis=0)


# ---------------------------------------------------------------------------------------
# compact storage of sub-ring polynomials (not arithmetic: not reported to the trace)
# ---------------------------------------------------------------------------------------

def subring_compact(a, g: int) -> np.ndarray:
    """Evaluation-form rows of a polynomial of the sub-ring ``Z[X^g]`` (e.g. a CKKS
    plaintext with ``n / 2g`` slots) hold each value ``g`` times in a row
    (:func:`sw.ntt.forward_subring`): keep every ``g``-th one, as uint32 words (residues
    are below ``2^31``). Raises ``ValueError`` if ``a`` is not of that form."""
    if g > 1 and not all(np.array_equal(a[:, 0::g], a[:, k::g]) for k in range(1, g)):
        raise ValueError(f"subring_compact: the rows do not repeat each value {g} times "
                         f"(not a polynomial in X^{g})")
    return np.ascontiguousarray(a[:, ::g], dtype=np.uint32)


def subring_expand(c: np.ndarray, g: int) -> np.ndarray:
    """Inverse of :func:`subring_compact`: the full uint64 evaluation-form rows."""
    out = np.empty((c.shape[0], c.shape[1] * g), dtype=_U)
    _nb.widen_repeat_rows(c, g, out)
    return out


#: Columns per block of :func:`dot_plain` (32 KB of a row: the block's sums stay in cache).
DOT_CHUNK = 4096


def dot_plain(a0s, a1s, ws, g: int, basis: RnsBasis):
    """``(sum_t a0s[t] * w_t, sum_t a1s[t] * w_t)`` row by row in one pass (the BSGS inner
    sums of a linear transform), ``w_t`` the evaluation-form rows ``ws[t]`` (uint64, ``g =
    1``) or their sub-ring compaction (:func:`subring_compact`, uint32, ``g > 1``), read as
    stored. Returns two new ``(R, n)`` arrays (None in a dry run).

    Reports nothing: the caller records the operations it stands for (one ``pmult`` and
    ``mul_plain_acc`` per term, :meth:`sw.ckks.Evaluator.dot_plain`)."""
    if not a0s or not (len(a0s) == len(a1s) == len(ws)):
        raise ValueError(f"dot_plain: {len(a0s)}, {len(a1s)} and {len(ws)} operands (need equal, >= 1)")
    if not _live("mac", *a0s, *a1s, *ws):
        return None, None
    R, n = len(basis), basis.n
    chunk = min(DOT_CHUNK, n)
    if n % g or chunk % g:
        raise ValueError(f"dot_plain: gap g={g} does not divide n={n} and the block {chunk}")
    for a in (*a0s, *a1s):
        if a.shape != (R, n) or a.dtype != _U:
            raise ValueError(f"dot_plain: ciphertext rows of shape {a.shape} ({a.dtype}), expected ({R}, {n}) uint64")
    dt = ws[0].dtype
    for w in ws:
        if w.shape != (R, n // g) or w.dtype != dt:
            raise ValueError(f"dot_plain: plaintext rows of shape {w.shape} ({w.dtype}), expected "
                             f"({R}, {n // g}) {dt}")
    from numba.typed import List

    o0 = np.empty((R, n), dtype=_U)
    o1 = np.empty((R, n), dtype=_U)
    _nb.dot_plain_rows(List(a0s), List(a1s), List(ws), int(g), chunk, basis.q, basis.consts.r32,
                       basis.mu, basis.s1, basis.s2, o0, o1)
    return o0, o1

