"""Homomorphic DFT matrices of CKKS bootstrapping, factored into sparse FFT stages.

Notation (``n`` slots, ``xi = exp(2 pi i / 4n)``, ``zeta_j = xi^(5^j mod 4n)``): a message
polynomial ``m'(Y) = sum_{k<2n} c_k Y^k`` (``Y = X^(N/2n)``, real ``c``) has the slots
``w_j = m'(zeta_j) = sum_{k<n} y_k zeta_j^k`` with ``y_k = c_k + i c_{k+n}`` (because
``zeta_j^n = i``). So decoding is the ``n x n`` matrix ``V[j, k] = zeta_j^k`` ("special
DFT", Cheon-Han-Kim-Kim-Song 2018) and ``V^-1 = V^H / n`` (inverse DFT over all ``2n``
primitive ``4n``-th roots; derivation in ``docs/bootstrapping.md``).

Factorisation (the special FFT, decimation in time): ``V = S_t ... S_2 S_1 P`` with ``P`` the
bit-reversal permutation and ``t = log2 n`` butterfly stages. Stage ``S_l`` (block length
``len = 2^l``, half ``h = len/2``) maps, for ``j = t mod len < h``::

    out[t]     = in[t] + tw_j in[t + h]          tw_j = exp(2 pi i (5^j mod 4 len) / (4 len))
    out[t + h] = in[t] - tw_j in[t + h]

so it has the three generalised diagonals ``0, +h, -h`` (rotations by ``h``). The
bit-reversal is never evaluated: coefficient-to-slot produces the coefficients in
bit-reversed order (``P y = V_nobr^H w / n``), the modular reduction is slot-wise, and
slot-to-coefficient consumes them in that order.

Merging: ``l`` consecutive stages multiply into one matrix with ``2^(l+1) - 1`` diagonals
(multiples of the smallest span): one level of the homomorphic transform. ``split_stages``
spreads the ``t`` stages over the requested number of levels.

Diagonal matrices are ``dict[int, ndarray]``: ``k -> d_k`` with ``M[r, (r + k) mod n] =
d_k[r]`` (the convention of :class:`sw.circuits.LinearTransform`).
"""
from __future__ import annotations

import numpy as np

Diag = dict


def bitrev_indices(n: int) -> np.ndarray:
    """Bit-reversal permutation of ``range(n)`` (``n`` a power of two)."""
    bits = n.bit_length() - 1
    idx = np.arange(n)
    out = np.zeros(n, dtype=np.int64)
    for b in range(bits):
        out |= ((idx >> b) & 1) << (bits - 1 - b)
    return out


def decode_matrix(n: int) -> np.ndarray:
    """Dense ``V[j, k] = zeta_j^k`` (tests only; ``O(n^2)``)."""
    e = np.array([pow(5, j, 4 * n) for j in range(n)], dtype=np.int64)
    k = np.arange(n)
    return np.exp(2j * np.pi * ((e[:, None] * k[None, :]) % (4 * n)) / (4 * n))


def stage(n: int, log_len: int) -> Diag:
    """Butterfly stage ``S_l`` (``len = 2^log_len``) as diagonals."""
    ln = 1 << log_len
    h = ln // 2
    r = np.arange(n)
    j = r % ln
    lo = j < h
    jj = np.where(lo, j, j - h)
    tw = np.exp(2j * np.pi * (np.array([pow(5, int(x), 4 * ln) for x in range(h)])[jj]) / (4 * ln))
    d0 = np.where(lo, 1.0 + 0j, -tw)
    dp = np.where(lo, tw, 0j)          # out[t] += tw * in[t + h]   (t in the low half)
    dm = np.where(lo, 0j, 1.0 + 0j)    # out[t] += in[t - h]        (t in the high half)
    out: Diag = {}
    _acc(out, 0, d0, n)
    _acc(out, h % n, dp, n)
    _acc(out, (-h) % n, dm, n)
    return out


def _acc(d: Diag, k: int, v: np.ndarray, n: int) -> None:
    k %= n
    d[k] = d[k] + v if k in d else np.array(v, dtype=np.complex128)


def matmul(a: Diag, b: Diag, n: int) -> Diag:
    """Diagonals of ``A @ B``: ``(AB)_{k1+k2} += a_k1 * roll(b_k2, -k1)``."""
    out: Diag = {}
    for k1, v1 in a.items():
        for k2, v2 in b.items():
            _acc(out, k1 + k2, v1 * np.roll(v2, -k1), n)
    return {k: v for k, v in out.items() if np.any(np.abs(v) > 1e-300)}


def adjoint(a: Diag, n: int) -> Diag:
    """Diagonals of the conjugate transpose: ``(A^H)_k[r] = conj(a_{-k}[r + k])``."""
    return {(-k) % n: np.conj(np.roll(v, k)) for k, v in a.items()}


def scale_rows(a: Diag, d: np.ndarray) -> Diag:
    """``diag(d) @ A``."""
    return {k: v * d for k, v in a.items()}


def scale(a: Diag, c: complex) -> Diag:
    return {k: v * c for k, v in a.items()}


def tile(a: Diag, n: int, reps: int) -> Diag:
    """The same operator on a ``reps * n``-slot vector made of ``reps`` copies of an
    ``n``-periodic vector: diagonals repeated (rotation indices unchanged)."""
    return {k: np.tile(v, reps) for k, v in a.items()}


def to_dense(a: Diag, n: int) -> np.ndarray:
    m = np.zeros((n, n), dtype=np.complex128)
    r = np.arange(n)
    for k, v in a.items():
        m[r, (r + k) % n] += v
    return m


def apply(a: Diag, v: np.ndarray) -> np.ndarray:
    """``A v`` through the diagonals (plaintext reference)."""
    return sum(d * np.roll(v, -k) for k, d in a.items())


def split_stages(t: int, levels: int) -> list[int]:
    """Stage counts per level, ``levels`` parts as even as possible, larger parts first."""
    if levels < 1:
        raise ValueError(f"split_stages: levels={levels} must be >= 1")
    levels = min(levels, max(t, 1))
    base, extra = divmod(t, levels)
    return [base + (1 if i < extra else 0) for i in range(levels)]


def stc_factors(n: int, levels: int) -> list[Diag]:
    """Slot-to-coefficient ``V_nobr = S_t ... S_1`` as ``levels`` merged factors, in the
    order they are applied (first: the small spans)."""
    t = n.bit_length() - 1
    if t == 0:
        return [{0: np.ones(1, dtype=np.complex128)}]
    out, l = [], 1
    for cnt in split_stages(t, levels):
        m = stage(n, l)
        for s in range(l + 1, l + cnt):
            m = matmul(stage(n, s), m, n)
        out.append(m)
        l += cnt
    return out


def cts_factors(n: int, levels: int) -> list[Diag]:
    """Coefficient-to-slot ``V_nobr^H / n`` as merged factors in application order
    (first: the large spans); each stage carries ``1/2`` so values stay bounded."""
    f = stc_factors(n, levels)
    return [scale(adjoint(m, n), 0.5 ** _stages_in(m, n)) for m in reversed(f)]


def _stages_in(m: Diag, n: int) -> int:
    # number of stages merged in m = log2 of the number of nonzero entries per row
    nnz = len(m)
    span = min((k if k <= n // 2 else n - k) for k in m if k) if len(m) > 1 else 0
    # 2^(l+1) - 1 distinct diagonals for l merged stages of spans s..s 2^(l-1); for n small
    # the diagonals wrap, so count by rows instead
    row = np.zeros(n)
    for v in m.values():
        row += np.abs(v) > 1e-12
    del nnz, span
    return int(round(np.log2(row[0])))


def rotation_steps(m: Diag, n: int, n1: int) -> tuple[list[int], list[int]]:
    """(baby, giant) rotation steps of the centred BSGS split ``k = n1 g + b``."""
    babies, giants = set(), set()
    for k in m:
        k %= n
        kc = k if k <= n // 2 else k - n
        g, b = divmod(kc, n1)
        if b:
            babies.add(b)
        if g:
            giants.add(n1 * g)
    return sorted(babies), sorted(giants)


def best_n1(m: Diag, n: int, giant_cost: float = 1.0) -> int:
    """Power of two minimising ``babies + giant_cost * giants`` rotations (ties: larger n1).
    ``giant_cost``: what a giant-step rotation costs relative to a baby one (1: count
    rotations; a hoisted baby shares its decomposition, a giant step does not)."""
    best, cost = 1, None
    n1 = 1
    while n1 <= n:
        b, g = rotation_steps(m, n, n1)
        c = len(b) + giant_cost * len(g)
        if cost is None or c <= cost:
            best, cost = n1, c
        n1 *= 2
    return best
