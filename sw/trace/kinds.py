"""The declared kinds of the op trace: operation kinds and kernel kinds, each named once.

Every :func:`sw.trace.op` scope names an *operation kind*, every kernel call reported by the
ring layer's kernel funnel (:mod:`sw.ring.kernels`) a *kernel kind*. Both are declared here
and nowhere else; recording an undeclared operation kind, or a reader meeting one in a trace
file (:mod:`sim.cycle.adapters`), is an error (:func:`check_op_kind`).

Operation kinds come in three roles:

* accelerator operations (:data:`OP_IO`): homomorphic operations the accelerator executes,
  each with the ciphertext polynomials it reads and writes and the plaintext polynomials it
  reads (a degree-1 ciphertext has 2 polynomials, a degree-2 one 3). The cycle model moves
  that data (``sim.cycle``);
* client kinds (:data:`CLIENT_KINDS`): encoding, decoding, encryption and decryption, not
  accelerator work;
* composite kinds (:data:`COMPOSITE_KINDS`): circuits of operations (a bootstrap), whose
  nested events are the operations. Their own ``OP_IO`` entry sizes kernel calls made
  directly inside them.
"""
from __future__ import annotations

#: Kernel kinds and what one element of a call computes (``a``, ``b``, ``acc``: residues
#: of one prime). Reported by :mod:`sw.ring.kernels`; :class:`sw.trace.KernelCall.kind`.
KERNELS: dict[str, str] = {
    "ntt": "forward negacyclic NTT of a row (natural -> bit-reversed evaluation order)",
    "intt": "inverse NTT of a row (bit-reversed evaluation -> natural order, scaled by 1/n)",
    "bconv": "fast basis conversion of src_primes rows to dst_primes rows",
    "modmul": "a * b mod q",
    "modadd": "a + b, a - b or -a mod q",
    "automorphism": "X -> X^g permutation of a row (sign changes in coefficient form)",
    "mac": "acc + a * b mod q (fused multiply-accumulate, one pass)",
}
#: The kernel kinds, in report order.
KERNEL_KINDS: tuple[str, ...] = tuple(KERNELS)

#: ``kind -> (ciphertext polys read, ciphertext polys written, plaintext polys read)`` of the
#: accelerator operations (and of the composite kinds, for their direct kernel calls).
OP_IO: dict[str, tuple[int, int, int]] = {
    "add": (4, 2, 0), "sub": (4, 2, 0), "neg": (2, 2, 0),
    "add_plain": (2, 2, 1), "sub_plain": (2, 2, 1), "add_const": (2, 2, 0),
    "pmult": (2, 2, 1), "cmult_const": (2, 2, 0), "mul_int": (2, 2, 0),
    # acc + ct * pt (Evaluator.mul_plain_acc): reads ct (2) and the running sum acc (2),
    # writes the sum (2, in place of acc), reads the plaintext (1); one pass of kernel mac
    # per polynomial instead of pmult (2, 2, 1) followed by add (4, 2, 0)
    "mul_plain_acc": (4, 2, 1),
    "cmult": (4, 2, 0), "relin": (3, 2, 0), "rescale": (2, 2, 0), "drop_level": (2, 2, 0),
    "rotate": (2, 2, 0), "conjugate": (2, 2, 0), "keyswitch": (2, 2, 0),
    # Evaluator.key_switch: a ciphertext re-encrypted under another secret
    "keyswitch_ct": (2, 2, 0),
    "modup": (1, 1, 0), "moddown": (1, 1, 0),
    # double hoisting (sw.ckks.raised): a ciphertext multiplied by P over Q_l + P, and the
    # ModDown of both polynomials of a raised ciphertext back to Q_l (a rescale fused or not)
    "raise": (2, 2, 0), "moddown_ct": (2, 2, 0),
    # rotate_hoisted writes one ciphertext per key switch (sim.cycle.adapters counts them)
    "rotate_hoisted": (2, 0, 0),
    # bootstrap: the two polynomials raised from q0 to the full modulus
    "modraise": (2, 2, 0),
    "bootstrap": (2, 2, 0),
}
#: Client-side kinds (not accelerator work).
CLIENT_KINDS: frozenset[str] = frozenset({"encode", "decode", "encrypt", "decrypt"})
#: Kinds that are circuits of operations: readers expand them into their children.
COMPOSITE_KINDS: frozenset[str] = frozenset({"bootstrap"})
#: Every declared operation kind.
OP_KINDS: frozenset[str] = frozenset(OP_IO) | CLIENT_KINDS | COMPOSITE_KINDS


def check_op_kind(kind: str, where: str = "trace.op") -> str:
    """``kind`` if it is a declared operation kind; else ``ValueError`` naming it and the
    declared ones (``where``: the caller, for the message)."""
    if kind not in OP_KINDS:
        raise ValueError(f"{where}: undeclared operation kind {kind!r}; declared kinds "
                         f"(sw.trace.kinds): {', '.join(sorted(OP_KINDS))}")
    return kind


def check_kernel_kind(kind: str, where: str = "trace") -> str:
    """``kind`` if it is a declared kernel kind; else ``ValueError``."""
    if kind not in KERNELS:
        raise ValueError(f"{where}: unknown kernel kind {kind!r}; declared kernel kinds: "
                         f"{', '.join(KERNEL_KINDS)}")
    return kind
