"""Pipelined NTT butterflies: Cooley-Tukey, Gentleman-Sande, and a unified CT/GS datapath.

Arithmetic (all operands and results canonical in ``[0, q)``):

* Cooley-Tukey (forward NTT): ``x = (a + w*b) mod q``, ``y = (a - w*b) mod q``;
* Gentleman-Sande (inverse NTT): ``x = (a + b) mod q``, ``y = ((a - b) * w) mod q``.

The modular product uses the datapath named by ``multiplier``
(:mod:`hw.modmul`). With ``multiplier="montgomery"`` the twiddle ``w`` must be
given in Montgomery form ``w*2^W mod q`` (:func:`sw.modred.to_montgomery`,
:func:`sw.modred.twiddle_to_montgomery`); the product ``mont(b, w*2^W) = b*w
mod q`` is then plain, and so are ``a``, ``b``, ``x`` and ``y``.

Components share the interface::

    i: In(stream.Signature(StructLayout({"a": unsigned(W), "b": unsigned(W), "w": unsigned(W)})))
    o: Out(stream.Signature(StructLayout({"x": unsigned(W), "y": unsigned(W)})))

and the stream discipline of :mod:`hw.pipeline` (``throughput = 1.0``).
"""
from __future__ import annotations

from amaranth.hdl import Module, Mux, unsigned
from amaranth.lib import data, stream, wiring
from amaranth.lib.wiring import In, Out

from .modmul import make_datapath
from .pipeline import Pipe, canonical_add, canonical_sub, stream_pipeline

__all__ = ["CTButterfly", "GSButterfly", "UnifiedButterflyDatapath", "butterfly_layouts"]


def butterfly_layouts(width: int):
    """``(input_layout, output_layout)`` StructLayouts of the butterfly streams."""
    W = width
    return (data.StructLayout({"a": unsigned(W), "b": unsigned(W), "w": unsigned(W)}),
            data.StructLayout({"x": unsigned(W), "y": unsigned(W)}))


class UnifiedButterflyDatapath:
    """A CT or GS butterfly chosen per beat, ``multiplier latency + 2`` register stages.

    Stages:

    1. *pre*: GS: ``s = a+b mod q``, ``d = a-b mod q``; multiplier operand ``d``,
       bypass ``s``. CT: multiplier operand ``b``, bypass ``a``. ``w`` and the mode
       are registered alongside.
    2. .. ``1 + L``: the modular multiplier (``L`` stages) on ``operand * w``, the
       bypass and mode delayed alongside.
    ``L + 2``. *post*: GS: ``x = bypass``, ``y = product``. CT:
       ``x = bypass + product mod q``, ``y = bypass - product mod q``.

    Both modes have the same latency, so the mode can change from one beat to the next.
    """

    def __init__(self, q: int, width: int, multiplier: str = "barrett"):
        self.mul = make_datapath(multiplier, q, width)
        self.q, self.width = q, width

    @property
    def latency(self) -> int:
        return self.mul.latency + 2

    def build(self, pipe: Pipe, a, b, w, gs, name: str = "bf"):
        """Build the stages for operands ``a, b``, twiddle ``w``, mode ``gs`` (1 = GS); return ``(x, y)``."""
        q, W, L = self.q, self.width, self.mul.latency
        W_ = unsigned(W)
        opnd = pipe.reg(Mux(gs, canonical_sub(a, b, q, W), b), W_, f"{name}_opnd")
        byp = pipe.reg(Mux(gs, canonical_add(a, b, q, W), a), W_, f"{name}_byp")
        w1 = pipe.reg(w, W_, f"{name}_w")
        gs1 = pipe.reg(gs, 1, f"{name}_gs")
        prod = self.mul.build(pipe, opnd, w1, f"{name}_mul")
        byp_l = pipe.delay(byp, W_, L, f"{name}_byp")
        gs_l = pipe.delay(gs1, 1, L, f"{name}_gs")
        x = pipe.reg(Mux(gs_l, byp_l, canonical_add(byp_l, prod, q, W)), W_, f"{name}_x")
        y = pipe.reg(Mux(gs_l, prod, canonical_sub(byp_l, prod, q, W)), W_, f"{name}_y")
        return x, y


class _Butterfly(wiring.Component):
    def __init__(self, q: int, width: int, multiplier: str = "barrett"):
        self._mul = make_datapath(multiplier, q, width)   # validates q, width, multiplier
        self.q, self.width, self.multiplier = q, width, multiplier
        i_layout, o_layout = butterfly_layouts(width)
        super().__init__({
            "i": In(stream.Signature(i_layout)),
            "o": Out(stream.Signature(o_layout)),
        })

    @property
    def latency(self) -> int:
        """Rising edges from an input transfer to its output transfer: multiplier latency + 1."""
        return self._mul.latency + 1

    @property
    def throughput(self) -> float:
        """Beats (butterflies) per cycle in steady state."""
        return 1.0


class CTButterfly(_Butterfly):
    """Pipelined Cooley-Tukey butterfly ``x = a + w*b``, ``y = a - w*b`` (mod ``q``, canonical).

    Parameters
    ----------
    q : int
        Odd modulus, ``3 <= q < 2^width``.
    width : int
        Word width ``W`` in ``[16, 64]``.
    multiplier : {"barrett", "montgomery"}
        Modular multiplier; with ``"montgomery"`` the twiddle ``w`` is in Montgomery form.

    Stages: the multiplier on ``b*w`` (``a`` delayed alongside), then one add/subtract
    stage. ``latency = multiplier latency + 1`` (5 for both multipliers), ``throughput = 1.0``.
    """

    def elaborate(self, platform):
        m = Module()
        en = stream_pipeline(m, self.i, self.o, self.latency, "bf")
        pipe = Pipe(m, en, "bf")
        q, W, p = self.q, self.width, self.i.payload
        prod = self._mul.build(pipe, p.b, p.w, "bf_mul")
        a_l = pipe.delay(p.a, unsigned(W), self._mul.latency, "bf_a")
        x = pipe.reg(canonical_add(a_l, prod, q, W), unsigned(W), "bf_x")
        y = pipe.reg(canonical_sub(a_l, prod, q, W), unsigned(W), "bf_y")
        m.d.comb += [self.o.payload.x.eq(x), self.o.payload.y.eq(y)]
        return m


class GSButterfly(_Butterfly):
    """Pipelined Gentleman-Sande butterfly ``x = a + b``, ``y = (a - b)*w`` (mod ``q``, canonical).

    Parameters as :class:`CTButterfly`. Stages: one add/subtract stage, then the
    multiplier on ``(a-b)*w`` (``a+b`` delayed alongside).
    ``latency = 1 + multiplier latency`` (5), ``throughput = 1.0``.
    """

    def elaborate(self, platform):
        m = Module()
        en = stream_pipeline(m, self.i, self.o, self.latency, "bf")
        pipe = Pipe(m, en, "bf")
        q, W, p = self.q, self.width, self.i.payload
        s = pipe.reg(canonical_add(p.a, p.b, q, W), unsigned(W), "bf_s")
        d = pipe.reg(canonical_sub(p.a, p.b, q, W), unsigned(W), "bf_d")
        w = pipe.reg(p.w, unsigned(W), "bf_w")
        prod = self._mul.build(pipe, d, w, "bf_mul")
        x = pipe.delay(s, unsigned(W), self._mul.latency, "bf_s")
        m.d.comb += [self.o.payload.x.eq(x), self.o.payload.y.eq(prod)]
        return m
