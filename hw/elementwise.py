"""Elementwise unit: ``P`` lanes of modular multiply-accumulate, add and subtract.

Arithmetic (per lane, modulus ``q``, every operand and result canonical in ``[0, q)``),
the operation chosen per beat by the ``op`` field (:data:`sw.rtl_models.ELEMENTWISE_OPS`):

=======  ====  ===============  ==============================================
``op``   code  result           use
=======  ====  ===============  ==============================================
``mac``  0     ``c + a*b``      linear transforms, key-switching inner products
``msub`` 1     ``c - a*b``
``add``  2     ``c + a``        ciphertext addition
``sub``  3     ``c - a``
=======  ====  ===============  ==============================================

One datapath serves all four: the modular multiplier named ``multiplier``
(:mod:`hw.modmul`, ``Lm`` stages) computes ``a*m`` with ``m = b`` for ``mac``/``msub``
and ``m = 1`` (as the multiplier stores it: :meth:`hw.modmul.BarrettDatapath.one`) for
``add``/``sub``, while ``c`` and the op are delayed alongside; one final stage adds the
product to ``c`` or subtracts it, canonically. Every op therefore has the same latency and
the op may change from beat to beat.

The software kernel :func:`sw.ntt.pointwise_mul_add` reduces ``a*b + c`` in one Barrett
step; the unit reduces the product and then adds ``c`` canonically. Both results are the
canonical ``(a*b + c) mod q``, so the outputs are bit-exact; the stage values follow
:func:`sw.rtl_models.elementwise_model` (the multiplier's own stages are those of
:mod:`sw.modred`). Reducing the product first keeps each :mod:`hw.modmul` datapath
unchanged (a Montgomery REDC could not absorb an unscaled addend).

``b`` is given in the multiplier's stored form (:meth:`ElementwiseUnit.operand_fields`):
plain (Barrett), Montgomery form ``b*2^W mod q`` (Montgomery), or plain with the
companion ``b_shoup = floor(b*2^W/q)`` (Shoup; the multiplicand is then a precomputed
operand such as a plaintext diagonal, as in :class:`hw.modmul.ShoupMultiplier`).

Fault injection (``fault={"lane": l, "bit": b}``, elaboration time only,
:func:`hw.faults.check_fault`): bit ``b`` of output lane ``l`` is flipped in every beat;
without ``fault`` the unit has no fault logic.
"""
from __future__ import annotations

from amaranth.hdl import Module, Mux, unsigned
from amaranth.lib import data, stream, wiring
from amaranth.lib.wiring import In, Out

from sw.rtl_models import ELEMENTWISE_OPS

from .faults import check_fault
from .modmul import make_datapath
from .pipeline import Pipe, canonical_add, canonical_sub, stream_pipeline

__all__ = ["ElementwiseUnit", "ELEMENTWISE_OPS", "check_unit_lanes"]

#: Names of the multiplicand fields of a beat, by word index of the stored form.
OPERAND_FIELDS = ("b", "b_shoup")


def check_unit_lanes(lanes) -> int:
    """Validate ``P`` (an ``int >= 1``) and return it; raises ``ValueError`` naming ``lanes``."""
    if isinstance(lanes, bool) or not isinstance(lanes, int) or lanes < 1:
        raise ValueError(f"lanes={lanes!r} must be an integer >= 1")
    return lanes


class ElementwiseUnit(wiring.Component):
    """``P`` lanes of ``c +- a*b`` / ``c +- a`` mod ``q``, one beat per cycle.

    Parameters
    ----------
    q : int
        Odd modulus, ``3 <= q < 2^width`` (a prime of the RNS basis).
    width : int
        Word width ``W`` in ``[16, 64]``.
    lanes : int
        ``P >= 1``, coefficients per beat.
    multiplier : {"barrett", "montgomery", "shoup"}
        Modular multiplier of every lane (:mod:`hw.modmul`).
    fault : dict, optional
        ``{"lane": l, "bit": b}`` (``b`` default 0): flip bit ``b`` of output lane ``l`` of
        every beat (fault injection; see the module docstring).

    Members
    -------
    i : ``In(stream.Signature(StructLayout({"a": A, "b": A[, "b_shoup": A], "c": A, "op": unsigned(2)})))``
        ``A = ArrayLayout(unsigned(W), P)``; lane ``l`` of each array is coefficient ``l``
        of the beat. ``b`` (and ``b_shoup`` with Shoup) is the multiplicand in stored form
        (:meth:`operand_fields`); ``op`` is one code of :data:`ELEMENTWISE_OPS` for all lanes.
    o : ``Out(stream.Signature(ArrayLayout(unsigned(W), P)))``
        The results, canonical.

    Properties: ``latency = Lm + 1`` (5 with Barrett or Montgomery, 4 with Shoup),
    ``throughput = 1.0`` beat (``P`` coefficients) per cycle.
    """

    def __init__(self, q: int, width: int, lanes: int, multiplier: str = "barrett",
                 fault: dict | None = None):
        self._mul = make_datapath(multiplier, q, width)   # validates q, width, multiplier
        self.lanes = check_unit_lanes(lanes)
        self.fault = check_fault(fault, {"lane": (0, self.lanes)}, width)
        self.q, self.width, self.multiplier = q, width, multiplier
        W, P = width, lanes
        arr = data.ArrayLayout(unsigned(W), P)
        fields = {"a": arr}
        fields.update({OPERAND_FIELDS[k]: arr for k in range(self._mul.constant_words)})
        fields.update({"c": arr, "op": unsigned(2)})
        super().__init__({
            "i": In(stream.Signature(data.StructLayout(fields))),
            "o": Out(stream.Signature(arr)),
        })

    @property
    def latency(self) -> int:
        """Rising edges from an input transfer to its output transfer: multiplier latency + 1."""
        return self._mul.latency + 1

    @property
    def throughput(self) -> float:
        """Beats per cycle in steady state (each beat is ``P`` coefficients)."""
        return 1.0

    @property
    def elements_per_cycle(self) -> int:
        """Coefficients per cycle in steady state: ``P``."""
        return self.lanes

    def operand_fields(self, b: int) -> dict:
        """The multiplicand fields of one lane for the plain value ``b`` in ``[0, q)``:
        ``{"b": b}``, ``{"b": b*2^W mod q}`` or ``{"b": b, "b_shoup": floor(b*2^W/q)}``."""
        return dict(zip(OPERAND_FIELDS, self._mul.stored_constant(b)))

    def beat(self, op: str, a, b, c) -> dict:
        """An input beat for ``op`` (name) with the plain per-lane operands ``a``, ``b``, ``c``."""
        if op not in ELEMENTWISE_OPS:
            raise ValueError(f"op={op!r} must be one of {sorted(ELEMENTWISE_OPS)}")
        words = [self.operand_fields(int(x)) for x in b]
        out = {"a": [int(x) for x in a], "c": [int(x) for x in c], "op": ELEMENTWISE_OPS[op]}
        for name in words[0]:
            out[name] = [w[name] for w in words]
        return out

    def elaborate(self, platform):
        m = Module()
        en = stream_pipeline(m, self.i, self.o, self.latency, "ew")
        pipe = Pipe(m, en, "ew")
        q, W, p = self.q, self.width, self.i.payload
        L, nwords = self._mul.latency, self._mul.constant_words
        one = self._mul.stored_constant(1)    # 1 as stored: 1, R mod q, or (1, companion)
        bypass = p.op[1]                      # add / sub: multiply by one
        op_d = pipe.delay(p.op[0], 1, L, "ew_sub")
        for lane in range(self.lanes):
            words = [Mux(bypass, one[k], getattr(p, OPERAND_FIELDS[k])[lane])
                     for k in range(nwords)]
            prod = self._mul.build_stored(pipe, p.a[lane], words, f"ew{lane}_mul")
            c_d = pipe.delay(p.c[lane], unsigned(W), L, f"ew{lane}_c")
            res = pipe.reg(Mux(op_d, canonical_sub(c_d, prod, q, W),
                               canonical_add(c_d, prod, q, W)), unsigned(W), f"ew{lane}_out")
            if self.fault is not None and self.fault["lane"] == lane:
                m.d.comb += self.o.payload[lane].eq(res ^ (1 << self.fault["bit"]))
            else:
                m.d.comb += self.o.payload[lane].eq(res)
        return m
