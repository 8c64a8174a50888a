"""The cycle model's input: homomorphic operations and the kernel calls they break into.

These small dataclasses are the model's own workload format. :mod:`sim.cycle.adapters`
builds them from the CKKS op trace (``sw.trace``); tests and sweeps may build them by hand.

Sizes follow the op trace (``docs/ckks-api.md`` section 6): a kernel call processes
``primes`` residue rows of ``n`` coefficients; a basis conversion reads ``src_primes`` rows
and writes ``dst_primes`` rows.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sw.trace.kinds import KERNEL_KINDS as TRACE_KERNEL_KINDS

#: The accelerator unit each kernel kind of the op trace (``sw.trace.KERNEL_KINDS``) runs on.
_TRACE_KERNEL_UNIT: dict[str, str] = {
    "ntt": "ntt",
    "intt": "ntt",
    "modmul": "modmul",
    "modadd": "modadd",
    "bconv": "bconv",
    "automorphism": "automorphism",
    "mac": "modmul",          # fused multiply-accumulate: the multiplier lanes, adder following
}
if set(_TRACE_KERNEL_UNIT) != set(TRACE_KERNEL_KINDS):   # a kernel kind declared without a unit
    raise RuntimeError(f"sim.cycle.events: units of kernel kinds {sorted(TRACE_KERNEL_KINDS)} "
                       f"expected, got {sorted(_TRACE_KERNEL_UNIT)}")
#: Kernel kinds of the cycle model and their units: those of the op trace, plus ``ptgen``
#: (not in the op trace: the model adds it for on-chip plaintext generation,
#: ``plaintexts = "generated"``, sim.cycle.model; it runs on the NTT units).
KERNEL_UNIT: dict[str, str] = {**{k: _TRACE_KERNEL_UNIT[k] for k in TRACE_KERNEL_KINDS}, "ptgen": "ntt"}
KERNEL_KINDS: tuple[str, ...] = tuple(KERNEL_UNIT)


@dataclass(frozen=True)
class Kernel:
    """One kernel call: ``primes * count`` rows of ``n`` residues.

    ``count`` is the op trace's multiplicity (a fused inner product over ``d`` digits is one
    ``modmul`` call with ``count = d``). ``bconv`` converts ``count`` times from
    ``src_primes`` to ``dst_primes`` rows (its ``primes`` is the target count).
    """

    kind: str
    n: int
    primes: int
    src_primes: int = 0
    dst_primes: int = 0
    count: int = 1

    def __post_init__(self):
        if self.kind not in KERNEL_UNIT:
            raise ValueError(f"kernel: unknown kind {self.kind!r} (known: {', '.join(KERNEL_KINDS)})")
        if self.n < 1 or self.primes < 0 or self.count < 0:
            raise ValueError(f"kernel {self.kind}: n={self.n}, primes={self.primes} and "
                             f"count={self.count} must not be negative (n >= 1)")
        if self.kind == "bconv" and (self.src_primes < 1 or self.dst_primes < 1):
            raise ValueError(f"kernel bconv: src_primes={self.src_primes} and "
                             f"dst_primes={self.dst_primes} must be at least 1")

    @property
    def rows(self) -> int:
        """Rows of ``n`` residues produced (``bconv``: ``dst_primes * count``)."""
        if self.kind == "bconv":
            return self.dst_primes * self.count
        return self.primes * self.count

    @property
    def elements(self) -> int:
        """Residues produced: ``rows * n``."""
        return self.rows * self.n


@dataclass(frozen=True)
class KeyUse:
    """An evaluation key that one key switch reads.

    Its size is ``digits * 2 * (primes + special) * n`` words: ``digits`` (the ``dnum``
    digits in use at this level) key pairs ``(b_i, a_i)``, each over the ``primes`` of the
    ciphertext's level plus the ``special`` primes. A KLSS key (``groups > 0``,
    :mod:`sw.ckks.klss`) holds instead, per digit and half, ``groups`` parts over the ``aux``
    primes of ``T``: ``digits * 2 * groups * aux * n`` words. ``key`` names the key
    (``"relin"``, ``"galois:5"``, ...) so that a key already on chip is not loaded again;
    ``None`` means the identity is unknown and the key is always loaded.
    """

    key: str | None
    digits: int
    primes: int
    special: int
    groups: int = 0
    aux: int = 0

    def words(self, n: int, *, a_generated: bool = False) -> int:
        """Words read for this key; ``a_generated``: only the ``b_i`` halves (the ``a_i`` come
        from an on-chip PRNG seed), ``digits * (primes + special) * n`` (KLSS:
        ``digits * groups * aux * n``)."""
        halves = 1 if a_generated else 2
        per = self.groups * self.aux if self.groups else self.primes + self.special
        return self.digits * halves * per * n


@dataclass
class Op:
    """One homomorphic operation with everything it computes and moves.

    ``ct_in_polys`` / ``ct_out_polys``: ciphertext polynomials read (over ``primes_in``) and
    written (over ``primes_out``): 2 per degree-1 ciphertext, 3 for a degree-2 one.
    ``pt_polys``: plaintext operand polynomials read (over ``primes_in``); ``pt_key``: the
    plaintext's identity (the trace event's ``info["plaintext"]``), or ``None`` when the trace
    does not name it (then it is streamed: read each time, never held on chip).
    ``chain``: the modulus chain the trace was made at (:class:`sim.cycle.chain.Chain`,
    shared by every op of a workload; set by :func:`with_chain`), or ``None`` (an op trace
    file records no chain).
    """

    kind: str
    n: int
    primes_in: int
    primes_out: int
    kernels: list[Kernel] = field(default_factory=list)
    label: str = ""
    ct_in_polys: int = 0
    ct_out_polys: int = 0
    pt_polys: int = 0
    keys: list[KeyUse] = field(default_factory=list)
    source_id: int | None = None   # id of the op-trace event this came from, if any
    pt_key: str | None = None
    chain: Any = field(default=None, compare=False, repr=False)


def with_chain(ops: list[Op], chain: Any) -> list[Op]:
    """``ops`` with ``chain`` (a :class:`sim.cycle.chain.Chain`) set on every op; returned."""
    for op in ops:
        op.chain = chain
    return ops
