"""Negacyclic NTT over RNS primes: NumPy reference and numba back end, plus elementwise ops.

Roles of the NTT code:

* the ring layer's entry point is the kernel funnel :func:`sw.ring.kernels.ntt` /
  :func:`~sw.ring.kernels.intt` (and :meth:`sw.ring.RnsPoly.to_ntt` / ``to_coeff`` over
  it), which reports every transform to the trace; it calls this module;
* this module is the validated array-level engine below the funnel: plans (twiddles of
  :func:`sw.ntt_tables.ntt_tables`, constants of :mod:`sw.modulus`) and the dispatch to the
  numba kernels of :mod:`sw.kernels.ntt` (``backend="numba"``);
* ``backend="numpy"`` and :func:`forward_stages` / :func:`inverse_stages` are the golden
  model: the same lazy integers as the kernels after every stage, which
  :mod:`sim.compare.capture` compares with the RTL's stage memories
  (:mod:`sim.rtl.golden` holds a separate textbook transform).

Conventions (:mod:`sw.ntt_tables`): ``psi`` is the canonical primitive ``2n``-th
root; forward is Cooley-Tukey, natural order in, bit-reversed out; inverse is
Gentleman-Sande, bit-reversed in, natural out, scaled by ``n^-1``. Twiddles are the
bit-reversed tables of :func:`sw.ntt_tables.ntt_tables`; stage ``s`` of the forward
transform has ``m = 2^s`` groups of half-size ``t = n / 2^(s+1)`` and group ``i`` uses
``fwd[m + i]``; stage ``s`` of the inverse has ``h = n / 2^(s+1)`` groups of half-size
``t = 2^s`` and group ``i`` uses ``inv[h + i]``. Hence ``NTT(a)[k] = a(psi^(2 bitrev(k) + 1))``.

Arithmetic: every prime is below ``2^31``; the butterflies are Shoup (word width 32) with
lazy values in ``[0, 2q)`` between stages and a final correction to ``[0, q)``; see
:mod:`sw.kernels.ntt` for the exact butterfly, which the NumPy reference here repeats
operation for operation (so both back ends hold the same integers after every stage).

Public API
----------
forward(a, primes, *, backend="numba", out=None, check=False) -> ndarray
forward_subring(a, primes, n, *, backend="numba", check=False) -> ndarray
inverse(a, primes, *, backend="numba", out=None, check=False) -> ndarray
forward_stages(a_row, q, *, lazy=False) -> list[ndarray]
inverse_stages(a_row, q, *, lazy=False) -> list[ndarray]
pointwise_mul / pointwise_add / pointwise_sub (a, b, primes, *, out=None, check=False, backend="numba")
pointwise_mul_const(a, c, primes, *, out=None, check=False, backend="numba")
get_plan(n, primes) -> NttPlan
"""
from __future__ import annotations

import threading
from functools import lru_cache

import numpy as np

from .modulus import MAX_BITS, WORD, Modulus, modulus_arrays
from .primes import check_ntt_modulus

__all__ = [
    "BACKENDS",
    "NttPlan",
    "forward",
    "forward_stages",
    "forward_subring",
    "get_plan",
    "inverse",
    "inverse_stages",
    "pointwise_add",
    "pointwise_mul",
    "pointwise_mul_add",
    "pointwise_mul_const",
    "pointwise_sub",
]

BACKENDS = ("numpy", "numba")
MAX_PRIME_BITS = MAX_BITS  # every prime is below 2^31 (so 2q < 2^32; Shoup word width WORD = 32)
_U = np.uint64
_S32 = np.uint64(32)

# Below this many elements the numba elementwise kernels run serially (thread start-up
# costs more than the work).
_PAR_MIN_ELEMS = 1 << 15


# ======================================================================================
# validation helpers
# ======================================================================================


def _normalise_primes(primes, *, name: str = "primes") -> tuple[int, ...]:
    if isinstance(primes, (int, np.integer)) and not isinstance(primes, bool):
        primes = (primes,)
    try:
        out = tuple(primes)
    except TypeError:
        raise ValueError(f"{name} must be a sequence of ints, got {type(primes).__name__}") from None
    if not out:
        raise ValueError(f"{name} must contain at least one prime")
    res = []
    for i, q in enumerate(out):
        if isinstance(q, bool) or not isinstance(q, (int, np.integer)):
            raise ValueError(f"{name}[{i}]={q!r} is not an integer")
        q = int(q)
        if not 3 <= q < (1 << MAX_PRIME_BITS):
            raise ValueError(f"{name}[{i}]={q} must lie in [3, 2^{MAX_PRIME_BITS})")
        if q % 2 == 0:
            raise ValueError(f"{name}[{i}]={q} must be odd")
        res.append(q)
    return tuple(res)


def _as_matrix(a, n_primes: int, *, name: str = "a") -> tuple[np.ndarray, bool]:
    """View/convert ``a`` as a C-contiguous uint64 (L, n) matrix; return it and whether ``a`` was 1-D."""
    arr = np.asarray(a)
    if arr.dtype.kind not in "ui":
        raise ValueError(f"{name} must be an integer array, got dtype {arr.dtype}")
    if arr.ndim == 1:
        if n_primes != 1:
            raise ValueError(
                f"{name} has shape {arr.shape} (one row) but {n_primes} primes were given; "
                f"pass shape ({n_primes}, n)")
        arr2 = arr.reshape(1, -1)
        flat = True
    elif arr.ndim == 2:
        if arr.shape[0] != n_primes:
            raise ValueError(f"{name} has shape {arr.shape}: expected {n_primes} rows, one per prime")
        arr2 = arr
        flat = False
    else:
        raise ValueError(f"{name} must have shape (len(primes), n) or (n,), got {arr.shape}")
    if arr2.shape[1] == 0:
        raise ValueError(f"{name} has no columns (shape {arr.shape})")
    if arr2.dtype != _U or not arr2.flags.c_contiguous:
        if arr2.dtype.kind == "i" and arr2.size and arr2.min() < 0:
            r, c = np.argwhere(arr2 < 0)[0]
            raise ValueError(f"{name}[{r}, {c}]={int(arr2[r, c])} is negative; residues lie in [0, q)")
        arr2 = np.ascontiguousarray(arr2, dtype=_U)
    return arr2, flat


def _check_range(A: np.ndarray, q_col: np.ndarray, *, name: str, bound: str = "q") -> None:
    bad = A >= q_col
    if bad.any():
        r, c = np.argwhere(bad)[0]
        raise ValueError(f"{name}[{r}, {c}]={int(A[r, c])} is not in [0, {bound}) = [0, {int(q_col[r, 0])})")


def _check_ring_degree(n: int, *, name: str = "a") -> int:
    if n < 2 or n & (n - 1):
        raise ValueError(f"{name} has length n={n}: the NTT length must be a power of two >= 2")
    return n.bit_length() - 1


def _check_backend(backend: str) -> str:
    if backend not in BACKENDS:
        raise ValueError(f"backend={backend!r} must be one of {BACKENDS}")
    return backend


def _target(A: np.ndarray, a_orig, out, *, name: str = "out") -> tuple[np.ndarray, bool]:
    """The C-contiguous uint64 (L, n) matrix to transform in place, and whether ``A`` must
    first be copied into it. Without ``out``: ``A`` itself when it is a private conversion,
    else a new array (``a`` is never modified). With ``out``: ``out`` viewed as (L, n)."""
    if out is None:
        if np.may_share_memory(A, a_orig):
            return np.empty_like(A), True
        return A, False
    if not isinstance(out, np.ndarray) or out.dtype != _U or not out.flags.c_contiguous \
            or not out.flags.writeable:
        raise ValueError(f"{name} must be a writeable C-contiguous uint64 ndarray")
    if out.size != A.size or out.ndim > 2 or (out.ndim == 2 and out.shape != A.shape):
        raise ValueError(f"{name} has shape {out.shape}, expected {A.shape}")
    O = out.reshape(A.shape)
    return O, O.ctypes.data != A.ctypes.data


# ======================================================================================
# plans: twiddles and Shoup companions, stored once per (n, prime)
# ======================================================================================


class _TableStore:
    """Per ring degree ``n``: every prime's tables, stacked in growing (capacity, n) arrays.

    Storing each prime once (not once per prime subset) keeps memory bounded while CKKS
    walks many level-dependent prime subsets: 4 tables x 8 bytes x n per prime (2 MiB at
    n = 2^16).
    """

    def __init__(self, n: int):
        self.n = n
        self.rows: dict[int, int] = {}
        cap = 4
        # uint32 (every twiddle < q < 2^31 and every companion < 2^32): half the bytes the
        # kernels stream per transform
        self.fwd = np.zeros((cap, n), np.uint32)
        self.fwdp = np.zeros((cap, n), np.uint32)
        self.inv = np.zeros((cap, n), np.uint32)
        self.invp = np.zeros((cap, n), np.uint32)
        self.lock = threading.Lock()

    def row(self, q: int) -> int:
        r = self.rows.get(q)
        if r is not None:
            return r
        m = Modulus.get(q)
        tab = m.ntt_tables(self.n)  # validates q (prime, = 1 mod 2n)
        fwd = tab.fwd_array()
        inv = tab.inv_array()
        with self.lock:
            r = self.rows.get(q)
            if r is not None:
                return r
            r = len(self.rows)
            if r == self.fwd.shape[0]:
                for attr in ("fwd", "fwdp", "inv", "invp"):
                    old = getattr(self, attr)
                    new = np.zeros((2 * old.shape[0], self.n), old.dtype)
                    new[: old.shape[0]] = old
                    setattr(self, attr, new)
            self.fwd[r] = fwd
            self.fwdp[r] = m.shoup_array(fwd)
            self.inv[r] = inv
            self.invp[r] = m.shoup_array(inv)
            # (the NumPy reference converts rows back to uint64 as it uses them)
            self.rows[q] = r
        return r


_STORES: dict[int, _TableStore] = {}
_STORES_LOCK = threading.Lock()


def _store(n: int) -> _TableStore:
    s = _STORES.get(n)
    if s is None:
        with _STORES_LOCK:
            s = _STORES.setdefault(n, _TableStore(n))
    return s


class NttPlan:
    """Twiddle tables for ring degree ``n`` and an ordered tuple of primes.

    Attributes: ``n``, ``log_n``, ``primes`` (tuple of int), ``q`` (uint64 (L,)), ``n_inv`` and
    ``n_inv_shoup`` (uint64 (L,)), ``rows`` (int64 (L,), rows of the shared per-n store).
    Properties ``fwd``, ``fwd_shoup``, ``inv``, ``inv_shoup``: uint64 arrays of shape (L, n)
    (bit-reversed order; Shoup companions ``floor(w * 2^32 / q)``), read-only copies.

    Storage: each (n, prime) is stored once, in uint32, in a per-n store shared by every plan
    (so the many prime subsets of CKKS levels cost no table memory); the kernels index it
    with ``rows``.
    """

    def __init__(self, n: int, primes: tuple[int, ...]):
        self.n = n
        self.log_n = n.bit_length() - 1
        self.primes = primes
        store = _store(n)
        for i, q in enumerate(primes):
            try:
                check_ntt_modulus(q, n, width=MAX_PRIME_BITS)
            except ValueError as e:
                raise ValueError(f"primes[{i}]={q}: {e}") from None
        self._store = store
        self.rows = np.array([store.row(q) for q in primes], dtype=np.int64)
        consts = modulus_arrays(primes)
        self.q = consts.q
        self.n_inv, self.n_inv_shoup = consts.ntt_scale(n)
        self.rows.setflags(write=False)

    def table_rows(self, attr: str, r0: int = 0, r1: int | None = None) -> np.ndarray:
        """Rows ``r0:r1`` of table ``attr`` (``fwd``, ``fwdp``, ``inv``, ``invp``) as a new uint64 array."""
        full = getattr(self._store, attr)
        return full[self.rows[r0:r1]].astype(_U)

    def _table(self, attr: str) -> np.ndarray:
        t = self.table_rows(attr)
        t.setflags(write=False)
        return t

    # stacked (L, n) uint64 tables (copies of the shared uint32 store)
    fwd = property(lambda self: self._table("fwd"))
    fwd_shoup = property(lambda self: self._table("fwdp"))
    inv = property(lambda self: self._table("inv"))
    inv_shoup = property(lambda self: self._table("invp"))

    def __repr__(self) -> str:
        return f"NttPlan(n={self.n}, primes={len(self.primes)})"


@lru_cache(maxsize=1024)
def _plan_cached(n: int, primes: tuple[int, ...]) -> NttPlan:
    return NttPlan(n, primes)


def get_plan(n: int, primes) -> NttPlan:
    """The cached :class:`NttPlan` for ring degree ``n`` and ``primes`` (validated)."""
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)):
        raise ValueError(f"n={n!r} must be an int")
    _check_ring_degree(int(n), name="n")
    return _plan_cached(int(n), _normalise_primes(primes))


# ======================================================================================
# NumPy reference (vectorised over primes and over every butterfly of a stage)
# ======================================================================================


def _np_ct(X, Y, w, wp, q, q2, T1, T2):
    """Cooley-Tukey butterflies on views X, Y (values in [0, 2q)), in place; T1, T2 scratch."""
    np.multiply(Y, wp, out=T1)
    np.right_shift(T1, _S32, out=T1)
    np.multiply(T1, q, out=T1)
    np.multiply(Y, w, out=T2)
    np.subtract(T2, T1, out=T2)      # T = Shoup(y, w) in [0, 2q)
    np.subtract(X, T2, out=T1)       # x - T (wraps when negative)
    np.add(T1, q2, out=Y)
    np.minimum(Y, T1, out=Y)         # y' = x - T + 2q reduced to [0, 2q)
    np.add(X, T2, out=X)
    np.subtract(X, q2, out=T1)
    np.minimum(X, T1, out=X)         # x' = x + T reduced to [0, 2q)


def _np_gs(X, Y, w, wp, q, q2, T1, T2):
    """Gentleman-Sande butterflies on views X, Y (values in [0, 2q)), in place."""
    np.subtract(X, Y, out=T1)        # x - y (wraps)
    np.add(T1, q2, out=T2)
    np.minimum(T2, T1, out=T2)       # d = x - y + 2q reduced to [0, 2q)
    np.add(X, Y, out=X)
    np.subtract(X, q2, out=T1)
    np.minimum(X, T1, out=X)         # x' = x + y reduced to [0, 2q)
    np.multiply(T2, wp, out=T1)
    np.right_shift(T1, _S32, out=T1)
    np.multiply(T1, q, out=T1)
    np.multiply(T2, w, out=Y)
    np.subtract(Y, T1, out=Y)        # y' = Shoup(d, w) in [0, 2q)


def _np_stage_natural(kind, A, W, WP, q3, q23, s, T1buf, T2buf):
    """Stage ``s`` on A (k, n) in natural layout; W/WP (k, n) tables; q3, q23 shaped (k, 1, 1)."""
    k, n = A.shape
    if kind == "ct":
        m = 1 << s
        t = n >> (s + 1)
    else:
        t = 1 << s
        m = n >> (s + 1)      # number of groups (h in the docs)
    A4 = A.reshape(k, m, 2, t)
    T1 = T1buf[: k * m * t].reshape(k, m, t)
    T2 = T2buf[: k * m * t].reshape(k, m, t)
    w = W[:, m:2 * m, None]
    wp = WP[:, m:2 * m, None]
    (_np_ct if kind == "ct" else _np_gs)(A4[:, :, 0, :], A4[:, :, 1, :], w, wp, q3, q23, T1, T2)


def _np_stage_transposed(kind, C, Wt, WPt, q4, q24, s, n, T1buf, T2buf):
    """Stage ``s`` on C (k, B, G) with C[:, u, g] = A[:, g*B + u] (all butterflies inside a block).

    ``Wt``/``WPt`` are the tables permuted by :func:`_transposed_table_perm`, so that the
    twiddles of stage ``s`` are contiguous in (group-in-block, block) order.
    """
    k, B, G = C.shape
    if kind == "ct":
        t = n >> (s + 1)
        m = 1 << s
    else:
        t = 1 << s
        m = n >> (s + 1)
    P = B // (2 * t)                     # groups per block
    C5 = C.reshape(k, P, 2, t, G)
    # group i = g * P + p uses table[m + i], stored at Wt[m + p * G + g]
    w = Wt[:, m:2 * m].reshape(k, P, 1, G)
    wp = WPt[:, m:2 * m].reshape(k, P, 1, G)
    T1 = T1buf[: k * P * t * G].reshape(k, P, t, G)
    T2 = T2buf[: k * P * t * G].reshape(k, P, t, G)
    (_np_ct if kind == "ct" else _np_gs)(C5[:, :, 0], C5[:, :, 1], w, wp, q4, q24, T1, T2)


@lru_cache(maxsize=64)
def _transposed_table_perm(n: int, tb: int) -> np.ndarray:
    """Index map that makes the twiddles of every stage with half-size ``t <= 2^tb``
    contiguous in the transposed layout: ``perm[m + p*G + g] = m + g*P + p`` on each segment
    ``[m, 2m)`` with ``m = n / (2t)``, ``P = 2^(tb+1) / (2t)``, ``G = n / 2^(tb+1)``."""
    B = 2 << tb
    G = n // B
    perm = np.arange(n, dtype=np.int64)
    t = 1
    while t <= (1 << tb) and t < n:
        m = n // (2 * t)
        P = B // (2 * t)
        perm[m:2 * m] = m + np.arange(m, dtype=np.int64).reshape(G, P).T.reshape(-1)
        t *= 2
    perm.setflags(write=False)
    return perm


def _np_transform(kind: str, A: np.ndarray, W, WP, Q: np.ndarray) -> None:
    """In-place lazy transform (all stages, values left in [0, 2q)) of A (k, n)."""
    k, n = A.shape
    log_n = n.bit_length() - 1
    # stages with half-size t <= 2^tb run in a transposed layout so that NumPy's inner
    # loops stay long: blocks of B = 2^(tb+1) elements, G = n / B blocks
    tb = max(0, (log_n - 2) // 2)
    B = 2 << tb
    G = n // B
    q3 = Q.reshape(k, 1, 1)
    q23 = q3 * _U(2)
    q4 = Q.reshape(k, 1, 1, 1)
    q24 = q4 * _U(2)
    T1buf = np.empty(k * n // 2, _U)
    T2buf = np.empty(k * n // 2, _U)
    if kind == "ct":
        small = [s for s in range(log_n) if (n >> (s + 1)) <= (1 << tb)]
        big = [s for s in range(log_n) if s not in small]
        for s in big:
            _np_stage_natural("ct", A, W, WP, q3, q23, s, T1buf, T2buf)
        if small:
            perm = _transposed_table_perm(n, tb)
            Wt, WPt = W[:, perm], WP[:, perm]
            C = np.ascontiguousarray(A.reshape(k, G, B).transpose(0, 2, 1))
            for s in small:
                _np_stage_transposed("ct", C, Wt, WPt, q4, q24, s, n, T1buf, T2buf)
            A.reshape(k, G, B)[...] = C.transpose(0, 2, 1)
    else:
        small = [s for s in range(log_n) if (1 << s) <= (1 << tb)]
        big = [s for s in range(log_n) if s not in small]
        if small:
            perm = _transposed_table_perm(n, tb)
            Wt, WPt = W[:, perm], WP[:, perm]
            C = np.ascontiguousarray(A.reshape(k, G, B).transpose(0, 2, 1))
            for s in small:
                _np_stage_transposed("gs", C, Wt, WPt, q4, q24, s, n, T1buf, T2buf)
            A.reshape(k, G, B)[...] = C.transpose(0, 2, 1)
        for s in big:
            _np_stage_natural("gs", A, W, WP, q3, q23, s, T1buf, T2buf)


def _np_reduce_once(A: np.ndarray, q_col: np.ndarray) -> None:
    """[0, 2q) -> [0, q) in place."""
    np.minimum(A, A - q_col, out=A)


def _np_shoup_const(A: np.ndarray, c_col, cp_col, q_col) -> None:
    """A <- A * c mod q (A in [0, 2q) or canonical; result in [0, 2q)), Shoup W = 32."""
    t = A * cp_col
    np.right_shift(t, _S32, out=t)
    np.multiply(t, q_col, out=t)
    np.multiply(A, c_col, out=A)
    np.subtract(A, t, out=A)


# Process the NumPy reference in chunks of primes whose working set fits in L2.
_NP_CHUNK_ELEMS = 1 << 16


def _np_forward(A: np.ndarray, plan: NttPlan) -> None:
    k, n = A.shape
    Q = plan.q
    step = max(1, _NP_CHUNK_ELEMS // n)
    for r0 in range(0, k, step):
        r1 = min(k, r0 + step)
        Ac = A[r0:r1]
        _np_transform("ct", Ac, plan.table_rows("fwd", r0, r1), plan.table_rows("fwdp", r0, r1),
                      Q[r0:r1])
        _np_reduce_once(Ac, Q[r0:r1, None])


def _np_inverse(A: np.ndarray, plan: NttPlan) -> None:
    k, n = A.shape
    Q = plan.q
    step = max(1, _NP_CHUNK_ELEMS // n)
    for r0 in range(0, k, step):
        r1 = min(k, r0 + step)
        Ac = A[r0:r1]
        _np_transform("gs", Ac, plan.table_rows("inv", r0, r1), plan.table_rows("invp", r0, r1),
                      Q[r0:r1])
        qc = Q[r0:r1, None]
        _np_shoup_const(Ac, plan.n_inv[r0:r1, None], plan.n_inv_shoup[r0:r1, None], qc)
        _np_reduce_once(Ac, qc)


# ======================================================================================
# public transforms
# ======================================================================================


def _transform(kind, a, primes, backend, out, check):
    _check_backend(backend)
    P = _normalise_primes(primes)
    A, flat = _as_matrix(a, len(P))
    n = A.shape[1]
    _check_ring_degree(n)
    plan = get_plan(n, P)
    if check:
        _check_range(A, plan.q[:, None], name="a")
    O, copy = _target(A, a, out)
    if backend == "numpy":
        if copy:
            O[...] = A
        (_np_forward if kind == "fwd" else _np_inverse)(O, plan)
    else:
        from .kernels import ntt as K
        store = plan._store
        if O.shape[0] == 1:
            r = int(plan.rows[0])
            if copy:
                O[...] = A
            if kind == "fwd":
                K.forward_row(O[0], store.fwd[r], store.fwdp[r], plan.q[0])
            else:
                K.inverse_row(O[0], store.inv[r], store.invp[r], plan.q[0],
                              plan.n_inv[0], plan.n_inv_shoup[0])
        elif kind == "fwd":
            K.forward_rows(A, O, store.fwd, store.fwdp, plan.q, plan.rows, copy)
        else:
            K.inverse_rows(A, O, store.inv, store.invp, plan.q, plan.n_inv,
                           plan.n_inv_shoup, plan.rows, copy)
    if out is not None:
        return out
    return O.reshape(-1) if flat else O


def forward(a, primes, *, backend: str = "numba", out=None, check: bool = False) -> np.ndarray:
    """Forward negacyclic NTT of every row of ``a`` (natural order in, bit-reversed out).

    ``a``: integer array of shape (len(primes), n), row ``i`` in ``[0, primes[i])``, or shape
    (n,) with a single prime (``primes`` may then be an int). ``out``: optional C-contiguous
    uint64 array of the same shape (may be ``a`` itself for an in-place transform); ``a`` is
    never modified otherwise. ``check=True`` verifies the input range. Returns the uint64
    result, canonical in ``[0, q)``; both back ends return identical arrays.
    """
    return _transform("fwd", a, primes, backend, out, check)


def forward_subring(a, primes, n: int, *, backend: str = "numba", check: bool = False) -> np.ndarray:
    """Forward NTT of a length-``n`` polynomial of the sub-ring ``Z_q[X^g]``.

    ``a``: shape (len(primes), n / g) (or (n / g,) with one prime): the coefficients of
    ``X^0, X^g, X^2g, ...`` (all others are zero; ``g`` a power of two). Returns the (L, n)
    result of :func:`forward` on the zero-filled polynomial, identical word for word, at
    ``1/g`` of the cost: the first ``log2(n/g)`` Cooley-Tukey stages only ever combine
    coefficients of the sub-ring, and those stages are the length-``n/g`` transform whose
    twiddles are the first ``n/g`` entries of the length-``n`` table (``psi^2g`` is its
    root); each of the remaining ``log2 g`` stages pairs a value with a zero, so every
    output is repeated ``g`` times in bit-reversed order. (CKKS plaintexts with
    ``slots < n/2`` are such polynomials, ``g = n / (2 slots)``.)
    """
    _check_backend(backend)
    P = _normalise_primes(primes)
    A, flat = _as_matrix(a, len(P))
    m = A.shape[1]
    _check_ring_degree(int(n), name="n")
    if m > n or n % m or m & (m - 1):
        raise ValueError(f"a has {m} coefficients: a sub-ring of degree n={n} needs a power "
                         f"of two dividing n")
    if backend == "numpy" or m == 1:
        full = np.zeros((len(P), n), dtype=_U)
        full[:, ::n // m] = A
        out = forward(full, P, backend="numpy" if backend == "numpy" else "numba", check=check)
        return out.reshape(-1) if flat else out
    plan = get_plan(n, P)
    if check:
        _check_range(A, plan.q[:, None], name="a")
    from .kernels import ntt as K
    store = plan._store
    out = np.empty((len(P), n), dtype=_U)
    K.forward_rows_subring(A, out, store.fwd, store.fwdp, plan.q, plan.rows)
    return out.reshape(-1) if flat else out


def inverse(a, primes, *, backend: str = "numba", out=None, check: bool = False) -> np.ndarray:
    """Inverse negacyclic NTT (bit-reversed order in, natural out, scaled by ``n^-1``).

    Same arguments and guarantees as :func:`forward`; ``inverse(forward(a)) == a``.
    """
    return _transform("inv", a, primes, backend, out, check)


def _stages(kind: str, a_row, q, lazy: bool) -> list[np.ndarray]:
    P = _normalise_primes(q, name="q")
    if len(P) != 1:
        raise ValueError(f"q must be a single prime, got {len(P)}")
    qi = P[0]
    arr = np.asarray(a_row)
    if arr.ndim != 1:
        raise ValueError(f"a_row must be 1-D, got shape {arr.shape}")
    A, _ = _as_matrix(arr, 1, name="a_row")
    n = A.shape[1]
    _check_ring_degree(n, name="a_row")
    plan = get_plan(n, P)
    _check_range(A, plan.q[:, None], name="a_row")
    A = A.copy()
    q3 = plan.q.reshape(1, 1, 1)
    q23 = q3 * _U(2)
    T1 = np.empty(n // 2, _U)
    T2 = np.empty(n // 2, _U)
    W, WP = (plan.fwd, plan.fwd_shoup) if kind == "ct" else (plan.inv, plan.inv_shoup)
    res = []
    for s in range(plan.log_n):
        _np_stage_natural(kind, A, W, WP, q3, q23, s, T1, T2)
        res.append(A[0].copy() if lazy else A[0] % _U(qi))
    if kind == "gs":
        _np_shoup_const(A, plan.n_inv[:, None], plan.n_inv_shoup[:, None], plan.q[:, None])
        res.append(A[0].copy() if lazy else A[0] % _U(qi))
    return res


def forward_stages(a_row, q, *, lazy: bool = False) -> list[np.ndarray]:
    """The forward NTT of one row, stage by stage (for comparison with the RTL).

    Returns ``log2(n)`` uint64 arrays: entry ``s`` is the whole array after stage ``s``
    (Cooley-Tukey, twiddle ``fwd[2^s + i]`` for group ``i``). Values are canonical residues in
    ``[0, q)`` unless ``lazy=True``, which returns the software kernels' own lazy values in
    ``[0, 2q)`` (each congruent mod q to the canonical one). The last entry reduced mod q
    equals ``forward(a_row, q)``. Input values must lie in ``[0, q)``.
    """
    return _stages("ct", a_row, q, lazy)


def inverse_stages(a_row, q, *, lazy: bool = False) -> list[np.ndarray]:
    """The inverse NTT of one row, stage by stage: ``log2(n)`` Gentleman-Sande stages (group
    ``i`` of stage ``s`` uses ``inv[n / 2^(s+1) + i]``) and a final entry after the ``n^-1``
    scaling, which (reduced mod q) equals ``inverse(a_row, q)``. ``lazy`` as in
    :func:`forward_stages`.
    """
    return _stages("gs", a_row, q, lazy)


# ======================================================================================
# elementwise modular operations
# ======================================================================================


def _row_consts(primes: tuple[int, ...]):
    c = modulus_arrays(primes)
    return c.q, c.mu, c.bits


def _elementwise_setup(a, b, primes, out, check, backend, names=("a", "b")):
    _check_backend(backend)
    P = _normalise_primes(primes)
    A, flat = _as_matrix(a, len(P), name=names[0])
    Bm = None
    if b is not None:
        Bm, _ = _as_matrix(b, len(P), name=names[1])
        if Bm.shape != A.shape:
            raise ValueError(f"{names[1]} has shape {np.shape(b)}, {names[0]} has shape {np.shape(a)}")
    Q, MU, K = _row_consts(P)
    if check:
        _check_range(A, Q[:, None], name=names[0])
        if Bm is not None:
            _check_range(Bm, Q[:, None], name=names[1])
    if out is None:
        O = np.empty_like(A)
    else:
        if not isinstance(out, np.ndarray) or out.dtype != _U or not out.flags.c_contiguous \
                or not out.flags.writeable:
            raise ValueError("out must be a writeable C-contiguous uint64 ndarray")
        if out.size != A.size or out.ndim > 2 or (out.ndim == 2 and out.shape != A.shape):
            raise ValueError(f"out has shape {out.shape}, expected {A.shape}")
        O = out.reshape(A.shape)
    return P, A, Bm, O, flat, Q, MU, K


def _ret(O, out, flat):
    if out is not None:
        return out
    return O.reshape(-1) if flat else O


def pointwise_add(a, b, primes, *, out=None, check: bool = False, backend: str = "numba") -> np.ndarray:
    """``(a + b) mod q_i`` row by row; canonical inputs and outputs; ``out`` may alias a or b."""
    P, A, Bm, O, flat, Q, MU, K = _elementwise_setup(a, b, primes, out, check, backend)
    if backend == "numpy":
        s = A + Bm
        np.minimum(s, s - Q[:, None], out=O)
    else:
        from .kernels import elementwise as E
        (E.add_rows_par if A.size >= _PAR_MIN_ELEMS else E.add_rows)(A, Bm, O, Q)
    return _ret(O, out, flat)


def pointwise_sub(a, b, primes, *, out=None, check: bool = False, backend: str = "numba") -> np.ndarray:
    """``(a - b) mod q_i`` row by row; canonical inputs and outputs; ``out`` may alias a or b."""
    P, A, Bm, O, flat, Q, MU, K = _elementwise_setup(a, b, primes, out, check, backend)
    if backend == "numpy":
        d = A - Bm
        np.minimum(d + Q[:, None], d, out=O)
    else:
        from .kernels import elementwise as E
        (E.sub_rows_par if A.size >= _PAR_MIN_ELEMS else E.sub_rows)(A, Bm, O, Q)
    return _ret(O, out, flat)


def pointwise_mul(a, b, primes, *, out=None, check: bool = False, backend: str = "numba") -> np.ndarray:
    """``(a * b) mod q_i`` row by row (Barrett); canonical inputs and outputs."""
    P, A, Bm, O, flat, Q, MU, K = _elementwise_setup(a, b, primes, out, check, backend)
    if backend == "numpy":
        np.remainder(A * Bm, Q[:, None], out=O)
    else:
        from .kernels import elementwise as E
        (E.mul_rows_par if A.size >= _PAR_MIN_ELEMS else E.mul_rows)(A, Bm, O, Q, MU, K)
    return _ret(O, out, flat)


def pointwise_mul_add(a, b, c, primes, *, out=None, check: bool = False,
                      backend: str = "numba") -> np.ndarray:
    """``(a * b + c) mod q_i`` row by row in one pass (Barrett); canonical inputs and
    outputs; ``out`` may alias any operand (``out=c`` accumulates in place)."""
    P, A, Bm, O, flat, Q, MU, K = _elementwise_setup(a, b, primes, out, check, backend)
    Cm, _ = _as_matrix(c, len(P), name="c")
    if Cm.shape != A.shape:
        raise ValueError(f"c has shape {np.shape(c)}, a has shape {np.shape(a)}")
    if check:
        _check_range(Cm, Q[:, None], name="c")
    if backend == "numpy":
        np.remainder(A * Bm + Cm, Q[:, None], out=O)
    else:
        from .kernels import elementwise as E
        (E.mul_add_rows_par if A.size >= _PAR_MIN_ELEMS else E.mul_add_rows)(A, Bm, Cm, O, Q, MU, K)
    return _ret(O, out, flat)


def pointwise_mul_const(a, c, primes, *, out=None, check: bool = False,
                        backend: str = "numba") -> np.ndarray:
    """``(a * c_i) mod q_i`` with one constant per row (``c``: sequence of len(primes) ints,
    any size, reduced mod q_i first; a scalar is allowed with a single prime). Shoup."""
    P, A, _, O, flat, Q, MU, K = _elementwise_setup(a, None, primes, out, check, backend)
    if isinstance(c, (int, np.integer)) and not isinstance(c, bool):
        c = [c]
    try:
        cl = [int(x) for x in c]
    except (TypeError, ValueError):
        raise ValueError(f"c must be a sequence of {len(P)} integers") from None
    if len(cl) != len(P):
        raise ValueError(f"c has {len(cl)} constants, expected one per prime ({len(P)})")
    C, CP = modulus_arrays(P).const_pair(cl)
    if backend == "numpy":
        np.remainder(A * C[:, None], Q[:, None], out=O)
    else:
        from .kernels import elementwise as E
        (E.mul_const_rows_par if A.size >= _PAR_MIN_ELEMS else E.mul_const_rows)(A, O, Q, C, CP)
    return _ret(O, out, flat)
