"""What the op trace records: operation events, kernel calls, and the data-keeping selector.

One :class:`OpEvent` per homomorphic operation, nested as the operations nest; each lists
the :class:`KernelCall` s made directly inside it. :class:`Keep` selects the kernel calls
whose integer data a recorder keeps (for replay on the RTL).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Iterator

import numpy as np

from .kinds import KERNEL_KINDS


def join_stages(a: str | None, b: str | None) -> str | None:
    """Stage labels ``a`` and ``b`` joined with '/' (None when both are empty)."""
    return f"{a}/{b}" if a and b else (a or b or None)


@dataclass(frozen=True)
class Keep:
    """Selects kernel calls whose integer data is kept.

    Parameters
    ----------
    op : str or None
        Operation kind (``OpEvent.kind``) whose kernels are kept, at any nesting depth
        below it; ``None`` matches any outermost operation.
    kernels : tuple of str
        Kernel kinds to keep (subset of :data:`KERNEL_KINDS`).
    first : int
        Keep data only inside the first ``first`` events matching ``op`` (>= 1).
    """

    op: str | None = None
    kernels: tuple[str, ...] = ("ntt", "intt")
    first: int = 1

    def __post_init__(self):
        bad = [k for k in self.kernels if k not in KERNEL_KINDS]
        if bad:
            raise ValueError(f"trace.Keep: unknown kernel kinds {bad}; expected a subset of {KERNEL_KINDS}")
        if self.first < 1:
            raise ValueError(f"trace.Keep: first={self.first} must be >= 1")
@dataclass(slots=True)
class KernelCall:
    """One call of a ring-layer kernel.

    Attributes
    ----------
    kind : one of :data:`KERNEL_KINDS`.
    primes : number of rows (RNS primes) processed; for ``bconv`` the target count.
    n : ring degree (coefficients per row).
    src_primes, dst_primes : for ``bconv``: source and target prime counts (else None).
    count : how many elementwise operations of this kind the call stands for, in rows
        (``modmul`` of a fused inner product over ``d`` digits reports ``primes * d``).
    op_id : id of the innermost enclosing :class:`OpEvent` (None outside any op).
    data : kept data (``{"primes": tuple, "input": ndarray, "output": ndarray}``) or None.
        ``modmul`` data also carry ``"form"`` (``"mul"``, ``"mulconst"`` or ``"submulconst"``)
        and the further operands: ``"input_b"`` (ndarray; ``mul``: the second factor,
        ``submulconst``: the subtrahend of ``(input - input_b) * consts``) and/or
        ``"consts"`` (tuple, one constant per prime, reduced mod q). The fused key-switching
        inner product (count ``2 * digits``) keeps its per-digit products as one ``"mul"`` of
        ``2 * digits * primes`` data rows (``"primes"`` repeats the basis per product) plus
        ``"ks_sum"`` (its fused result, shape (2, primes, n)) and ``"ks_digits"``; the call's
        ``primes`` and ``count`` (what the op trace counts) are unchanged. ``mac`` data
        carry ``"form"`` ``"mac"``, ``"input_b"`` and ``"acc"`` (the sum before the call):
        ``output = acc + input * input_b``. ``bconv`` data carry ``"src_primes"`` and
        ``"exact"`` (``output`` in destination order); ``automorphism`` data ``"galois"`` and
        ``"order"`` (``"eval"`` or ``"coeff"``); the inner product's data, when it applies an
        automorphism, ``"ks_ext"`` (the digits before it) and ``"ks_galois"``.
    """

    kind: str
    primes: int
    n: int
    src_primes: int | None = None
    dst_primes: int | None = None
    count: int = 1
    op_id: int | None = None
    data: dict | None = None

    @property
    def rows(self) -> int:
        """Rows of ``n`` elements processed (``primes * count``)."""
        return self.primes * self.count

    def as_dict(self, with_data: bool = False) -> dict:
        d = {"kind": self.kind, "primes": self.primes, "n": self.n, "count": self.count,
             "src_primes": self.src_primes, "dst_primes": self.dst_primes, "op_id": self.op_id}
        if with_data and self.data is not None:
            d["data"] = {k: (v.tolist() if isinstance(v, np.ndarray) else list(v) if isinstance(v, tuple) else v)
                         for k, v in self.data.items()}
        return d


@dataclass(slots=True)
class OpEvent:
    """One homomorphic operation: its kind (:data:`sw.trace.kinds.OP_KINDS`), place in the
    nesting (``parent``, ``depth``), stage labels, sizes and levels in and out, further
    attributes (``info``), the kernel calls made directly in it and the nested events."""

    id: int
    kind: str
    parent: int | None = None
    depth: int = 0
    stage: str | None = None
    n: int | None = None
    primes_in: int | None = None
    primes_out: int | None = None
    level_in: int | None = None
    level_out: int | None = None
    info: dict = field(default_factory=dict)
    kernels: list[KernelCall] = field(default_factory=list)
    children: list["OpEvent"] = field(default_factory=list)
    keep_data: bool = False

    def set_out(self, *, primes: int | None = None, level: int | None = None) -> None:
        """Record the output size of the operation."""
        if primes is not None:
            self.primes_out = primes
        if level is not None:
            self.level_out = level

    def kernel_counts(self, inclusive: bool = True) -> dict[str, int]:
        """Number of kernel calls per kind (``inclusive``: including nested operations)."""
        out = {k: 0 for k in KERNEL_KINDS}
        for kc in self.iter_kernels(inclusive):
            out[kc.kind] += kc.count
        return out

    def iter_kernels(self, inclusive: bool = True) -> Iterator[KernelCall]:
        yield from self.kernels
        if inclusive:
            for c in self.children:
                yield from c.iter_kernels(True)

    def walk(self) -> Iterator["OpEvent"]:
        yield self
        for c in self.children:
            yield from c.walk()

    def as_dict(self, with_data: bool = False) -> dict:
        return {"id": self.id, "kind": self.kind, "parent": self.parent, "depth": self.depth,
                "stage": self.stage, "n": self.n, "primes_in": self.primes_in,
                "primes_out": self.primes_out, "level_in": self.level_in,
                "level_out": self.level_out, "info": self.info,
                "kernels": [k.as_dict(with_data) for k in self.kernels],
                "children": [c.as_dict(with_data) for c in self.children]}
