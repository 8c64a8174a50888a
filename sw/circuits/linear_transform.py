"""Homomorphic slot-linear transforms: diagonal method with baby-step giant-step.

A :class:`LinearTransform` computes ``y = M v`` on an encrypted slot vector ``v`` of
``slots`` entries, for a complex ``slots x slots`` matrix ``M``.

Diagonal method (Halevi-Shoup, CRYPTO 2014)
--------------------------------------------
With the generalised diagonals ``d_k[t] = M[t, (t + k) mod n]`` (``n = slots``) and
``rot(v, k)[t] = v[(t + k) mod n]`` (the evaluator's left rotation),
``M v = sum_k d_k * rot(v, k)``.

Baby-step giant-step (Halevi-Shoup 2018; Bossuat et al. 2021)
--------------------------------------------------------------
Write ``k = n1 * j + i`` with ``0 <= i < n1`` (baby step) and ``j`` (giant step). Since
``d_k * rot(v, n1 j + i) = rot(rot(d_k, -n1 j) * rot(v, i), n1 j)``::

    M v = sum_j rot( sum_i d'_{j,i} * rot(v, i), n1 j ),   d'_{j,i} = rot(d_{n1 j + i}, -n1 j)

The plaintext diagonals are stored pre-rotated (``d'``), the baby rotations
``rot(v, i)`` share one key-switch decomposition (``Evaluator.rotate_hoisted``), and
only one rotation per giant step remains: ``|{i != 0}| + |{j != 0}|`` key switches
instead of one per diagonal. ``n1`` defaults to the value minimising that count
(``n1 * n2 >= number of diagonals`` always holds since every used ``k`` is covered).

Levels and scale
----------------
One level: all plaintext products are accumulated at the input level and rescaled once.
The diagonals are encoded at the input level with scale
``target_scale * level_scale(level) / ct.scale`` (default target: ``ct.scale``), so the
result lands exactly on the target scale. Encoded diagonals are cached per
(level, input scale, target scale).

Sparse packing: ``slots`` may be any power of two up to ``N/2``; rotation steps act on
the ``slots``-vector, and :meth:`LinearTransform.rotation_steps` returns the steps in
``(0, slots)`` that :meth:`~LinearTransform.apply` uses, so key generation can make
exactly those keys.
"""
from __future__ import annotations

from typing import Any, Mapping

import numpy as np

__all__ = ["LinearTransform"]


def _is_pow2(n: int) -> bool:
    return n > 0 and n & (n - 1) == 0


class LinearTransform:
    """A plaintext ``slots x slots`` complex matrix applied to encrypted slot vectors.

    Parameters
    ----------
    diagonals : mapping int -> array_like
        Nonzero generalised diagonals ``d_k`` (``k`` taken mod ``slots``, length-``slots``
        complex vectors). Use :meth:`from_matrix` for a dense matrix.
    slots : int
        Slot count, a power of two (``1 <= slots <= N/2`` of the parameters used).
    n1 : int, optional
        Baby-step count (``1 <= n1 <= slots``). Default: the ``n1`` minimising the number
        of rotations for these diagonals (ties -> larger ``n1``: hoisted baby steps
        are cheaper than giant steps).

    Attributes
    ----------
    diagonals : dict[int, numpy.ndarray]
        ``k -> d_k`` (complex128, read-only), ``0 <= k < slots``.
    n1 : int
        Baby-step size.
    """

    def __init__(self, diagonals: Mapping[int, Any], slots: int, *, n1: int | None = None) -> None:
        if not isinstance(slots, (int, np.integer)) or not _is_pow2(int(slots)):
            raise ValueError(f"LinearTransform: slots={slots!r} must be a power of two")
        self.slots = n = int(slots)
        diags: dict[int, np.ndarray] = {}
        for k, d in diagonals.items():
            v = np.asarray(d, dtype=np.complex128)
            if v.shape != (n,):
                raise ValueError(f"LinearTransform: diagonal {k} has shape {v.shape}, expected ({n},)")
            if not np.all(np.isfinite(v)):
                raise ValueError(f"LinearTransform: diagonal {k} is not finite")
            kk = int(k) % n
            diags[kk] = diags[kk] + v if kk in diags else v.copy()
        diags = {k: v for k, v in sorted(diags.items()) if np.any(v != 0)}
        if not diags:
            raise ValueError("LinearTransform: all diagonals are zero")
        for v in diags.values():
            v.setflags(write=False)
        self.diagonals = diags
        if n1 is None:
            n1 = self._best_n1()
        if not 1 <= int(n1) <= n:
            raise ValueError(f"LinearTransform: n1={n1} must lie in [1, slots={n}]")
        self.n1 = int(n1)
        self._cache: dict[tuple, dict[int, dict[int, Any]]] = {}

    # -- constructors ---------------------------------------------------------------
    @classmethod
    def from_matrix(cls, matrix: Any, *, n1: int | None = None, tol: float = 0.0) -> "LinearTransform":
        """Build from a dense square matrix (``slots x slots``, real or complex).

        Diagonals whose entries are all ``<= tol`` in absolute value are dropped.
        """
        m = np.asarray(matrix, dtype=np.complex128)
        if m.ndim != 2 or m.shape[0] != m.shape[1]:
            raise ValueError(f"LinearTransform.from_matrix: matrix must be square, got shape {m.shape}")
        n = m.shape[0]
        t = np.arange(n)
        diags = {k: m[t, (t + k) % n] for k in range(n)}
        diags = {k: d for k, d in diags.items() if np.max(np.abs(d)) > tol}
        return cls(diags, n, n1=n1)

    # -- plain views ----------------------------------------------------------------
    def matrix(self) -> np.ndarray:
        """The dense ``slots x slots`` matrix (complex128)."""
        n = self.slots
        m = np.zeros((n, n), dtype=np.complex128)
        t = np.arange(n)
        for k, d in self.diagonals.items():
            m[t, (t + k) % n] = d
        return m

    def apply_plain(self, v: Any) -> np.ndarray:
        """Plaintext reference ``M v`` computed through the diagonals (NumPy)."""
        v = np.asarray(v, dtype=np.complex128)
        return sum(d * np.roll(v, -k) for k, d in self.diagonals.items())

    def _split(self, n1: int) -> dict[int, list[int]]:
        """Giant index ``j`` -> baby indices ``i`` with ``n1 j + i`` a used diagonal."""
        g: dict[int, list[int]] = {}
        for k in self.diagonals:
            g.setdefault(k // n1, []).append(k % n1)
        return g

    def _rotations_for(self, n1: int) -> tuple[list[int], list[int]]:
        g = self._split(n1)
        babies = sorted({i for ii in g.values() for i in ii if i})
        giants = sorted({n1 * j for j in g if j})
        return babies, giants

    def _best_n1(self) -> int:
        best, best_cost = 1, None
        n1 = 1
        while n1 <= self.slots:
            b, gs = self._rotations_for(n1)
            cost = len(b) + len(gs)
            if best_cost is None or cost <= best_cost:  # ties: more hoisted baby steps
                best, best_cost = n1, cost
            n1 *= 2
        return best

    def rotation_steps(self) -> list[int]:
        """Rotation steps ``apply`` uses (baby and giant, in ``(0, slots)``), sorted.

        Pass them to ``KeyGenerator.gen_keyset(rotations=...)``.
        """
        b, gs = self._rotations_for(self.n1)
        return sorted(set(b) | set(gs))

    @property
    def baby_steps(self) -> list[int]:
        """Nonzero baby-step rotations (hoisted)."""
        return self._rotations_for(self.n1)[0]

    @property
    def giant_steps(self) -> list[int]:
        """Nonzero giant-step rotations."""
        return self._rotations_for(self.n1)[1]

    @property
    def depth(self) -> int:
        """Levels consumed by :meth:`apply` (always 1)."""
        return 1

    # -- encrypted ------------------------------------------------------------------
    def encode(self, encoder: Any, level: int, scale: float) -> dict[int, dict[int, Any]]:
        """Plaintexts ``d'_{j,i}`` at ``level`` and ``scale``: ``{j: {i: Plaintext}}`` (cached)."""
        key = (int(level), float(scale))
        if key not in self._cache:
            out: dict[int, dict[int, Any]] = {}
            for j, ii in self._split(self.n1).items():
                out[j] = {}
                for i in ii:
                    d = np.roll(self.diagonals[self.n1 * j + i], self.n1 * j)  # rot(d, -n1 j)
                    out[j][i] = encoder.encode(d, level=level, scale=scale, slots=self.slots)
            self._cache[key] = out
        return self._cache[key]

    def apply(self, evaluator: Any, ct: Any, *, encoder: Any = None,
              target_scale: float | None = None, rescale: bool = True) -> Any:
        """Encryption of ``M v`` for ``ct`` an encryption of ``v``.

        Parameters
        ----------
        evaluator : sw.ckks.Evaluator
            With rotation keys for :meth:`rotation_steps`.
        ct : Ciphertext
            Level ``>= 1``, ``ct.slots == self.slots``.
        encoder : sw.ckks.Encoder, optional
            Default: the evaluator's ``encoder`` (or a new one on its context).
        target_scale : float, optional
            Scale of the result (default ``ct.scale``).
        rescale : bool
            If False, return the accumulated product before the rescale (level unchanged,
            scale ``target_scale * level_scale(level)``).

        Returns
        -------
        Ciphertext
            At level ``ct.level - 1`` (or ``ct.level`` if ``rescale=False``).
        """
        if ct.slots != self.slots:
            raise ValueError(f"LinearTransform.apply: ciphertext has {ct.slots} slots, "
                             f"the transform is {self.slots} x {self.slots}")
        if ct.level < 1:
            raise ValueError("LinearTransform.apply: needs a ciphertext with level >= 1 "
                             f"(one rescale), got level {ct.level}")
        if encoder is None:
            encoder = getattr(evaluator, "encoder", None)
        if encoder is None:
            from sw.ckks import Encoder
            encoder = Encoder(evaluator.ctx)
        level = int(ct.level)
        target = float(ct.scale if target_scale is None else target_scale)
        pt_scale = target * float(ct.params.level_scale(level)) / float(ct.scale)
        pts = self.encode(encoder, level, pt_scale)
        babies, _ = self._rotations_for(self.n1)
        rots = {0: ct}
        if babies:
            if hasattr(evaluator, "rotate_hoisted"):
                rots.update(evaluator.rotate_hoisted(ct, babies))
            else:
                rots.update({i: evaluator.rotate(ct, i) for i in babies})
        fused = getattr(evaluator, "mul_plain_acc", None)
        acc = None
        for j in sorted(pts):
            inner = None
            for i in sorted(pts[j]):
                if inner is None:
                    inner = evaluator.mul_plain(rots[i], pts[j][i])
                elif fused is not None:
                    inner = fused(inner, rots[i], pts[j][i])
                else:
                    inner = evaluator.add(inner, evaluator.mul_plain(rots[i], pts[j][i]))
            if j:
                inner = evaluator.rotate(inner, self.n1 * j)
            acc = inner if acc is None else evaluator.add(acc, inner)
        return evaluator.rescale(acc) if rescale else acc

    def __repr__(self) -> str:
        return (f"LinearTransform(slots={self.slots}, diagonals={len(self.diagonals)}, n1={self.n1}, "
                f"rotations={len(self.rotation_steps())})")
