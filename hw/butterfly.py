"""Pipelined NTT butterflies: Cooley-Tukey, Gentleman-Sande, and a unified CT/GS datapath.

Arithmetic (all operands and results canonical in ``[0, q)``):

* Cooley-Tukey (forward NTT): ``x = (a + w*b) mod q``, ``y = (a - w*b) mod q``;
* Gentleman-Sande (inverse NTT): ``x = (a + b) mod q``, ``y = ((a - b) * w) mod q``.

The modular product uses the datapath named by ``multiplier`` (:mod:`hw.modmul`,
:data:`hw.modmul.MULTIPLIERS`); the twiddle ``w`` is given in the form that datapath stores
a constant in (:meth:`hw.modmul.BarrettDatapath.stored_constant`):

=============  ===============================================  ==========  ===========
multiplier     twiddle fields of the input beat                 CT / GS     unified
                                                                latency     datapath
=============  ===============================================  ==========  ===========
``barrett``    ``w`` plain                                      5           6
``montgomery`` ``w`` in Montgomery form ``w*2^W mod q``         5           6
               (:func:`sw.modred.to_montgomery`,
               :func:`sw.modred.twiddle_to_montgomery`)
``shoup``      ``w`` plain and ``w_shoup = floor(w*2^W/q)``     4           5
               (:func:`sw.ntt_tables.shoup`,
               :meth:`sw.ntt_tables.NttTables.fwd_shoup`)
=============  ===============================================  ==========  ===========

In every case the product is the plain ``b*w mod q`` (the Montgomery product
``mont(b, w*2^W) = b*w mod q``), so ``a``, ``b``, ``x`` and ``y`` are plain residues.

Components share the interface::

    i: In(stream.Signature(StructLayout({"a": unsigned(W), "b": unsigned(W), "w": unsigned(W)
                                          [, "w_shoup": unsigned(W)]})))
    o: Out(stream.Signature(StructLayout({"x": unsigned(W), "y": unsigned(W)})))

(``w_shoup`` only with ``multiplier="shoup"``) and the stream discipline of
:mod:`hw.pipeline` (``throughput = 1.0``).
"""
from __future__ import annotations

from amaranth.hdl import Mux, Module, unsigned
from amaranth.lib import data, stream, wiring
from amaranth.lib.wiring import In, Out

from .modmul import MULTIPLIERS, make_datapath
from .pipeline import Pipe, canonical_add, canonical_half, canonical_sub, stream_pipeline

__all__ = ["CTButterfly", "GSButterfly", "UnifiedButterflyDatapath", "butterfly_layouts",
           "TWIDDLE_FIELDS"]

#: Names of the twiddle fields of the input beat, by word index of the stored constant.
TWIDDLE_FIELDS = ("w", "w_shoup")


def butterfly_layouts(width: int, multiplier: str = "barrett"):
    """``(input_layout, output_layout)`` StructLayouts of the butterfly streams.

    The input has ``a``, ``b``, ``w`` and, with ``multiplier="shoup"``, ``w_shoup``.
    """
    W = width
    if not isinstance(multiplier, str) or multiplier not in MULTIPLIERS:
        raise ValueError(f"multiplier={multiplier!r} must be one of {sorted(MULTIPLIERS)}")
    words = MULTIPLIERS[multiplier].constant_words
    fields = {"a": unsigned(W), "b": unsigned(W)}
    fields.update({TWIDDLE_FIELDS[k]: unsigned(W) for k in range(words)})
    return (data.StructLayout(fields), data.StructLayout({"x": unsigned(W), "y": unsigned(W)}))


class UnifiedButterflyDatapath:
    """A CT or GS butterfly chosen per beat, ``multiplier latency + 2`` register stages.

    Stages:

    1. *pre*: GS: ``s = a+b mod q``, ``d = a-b mod q``; multiplier operand ``d``,
       bypass ``s``. CT: multiplier operand ``b``, bypass ``a``. The twiddle words
       (``w``, and its Shoup companion with ``multiplier="shoup"``) and the mode are
       registered alongside.
    2. .. ``1 + L``: the modular multiplier (``L`` stages) on ``operand * w``, the
       bypass and mode delayed alongside.
    ``L + 2``. *post*: GS: ``x = bypass``, ``y = product``. CT:
       ``x = bypass + product mod q``, ``y = bypass - product mod q``.

    Both modes have the same latency, so the mode can change from one beat to the next.
    ``latency`` = 6 (Barrett, Montgomery) or 5 (Shoup).

    With ``halving=True`` the GS mode is the *halving* Gentleman-Sande butterfly
    ``x = (a + b)/2``, ``y = (a - b)*w`` mod ``q``: the sum is halved in the *pre* stage
    without a multiplier (:func:`hw.pipeline.canonical_half`), and the caller stores the
    twiddles of the inverse transform as ``w*2^-1 mod q``, so that both outputs carry a
    factor ``1/2``. After ``log2(n)`` such stages an inverse NTT is scaled by ``n^-1``
    with no output multiplier (:class:`hw.ntt.NttUnit`, ``scaling="halving"``). The CT
    mode and the latency are unchanged.
    """

    def __init__(self, q: int, width: int, multiplier: str = "barrett", *, halving: bool = False):
        self.mul = make_datapath(multiplier, q, width)
        self.q, self.width, self.multiplier = q, width, multiplier
        self.halving = bool(halving)

    @property
    def latency(self) -> int:
        return self.mul.latency + 2

    @property
    def twiddle_words(self) -> int:
        """``W``-bit words per twiddle (2 with Shoup: value and companion, else 1)."""
        return self.mul.constant_words

    def build(self, pipe: Pipe, a, b, w, gs, name: str = "bf"):
        """Build the stages for operands ``a, b``, twiddle ``w``, mode ``gs`` (1 = GS); return ``(x, y)``.

        ``w`` is the stored twiddle: one value, or a sequence of :attr:`twiddle_words`
        values (``(w, w_shoup)`` with Shoup).
        """
        q, W, L = self.q, self.width, self.mul.latency
        W_ = unsigned(W)
        ws = tuple(w) if isinstance(w, (tuple, list)) else (w,)
        if len(ws) != self.twiddle_words:
            raise ValueError(f"{self.multiplier} butterfly needs {self.twiddle_words} twiddle "
                             f"word(s), got {len(ws)}")
        opnd = pipe.reg(Mux(gs, canonical_sub(a, b, q, W), b), W_, f"{name}_opnd")
        total = canonical_add(a, b, q, W)
        if self.halving:
            total = canonical_half(total, q, W)
        byp = pipe.reg(Mux(gs, total, a), W_, f"{name}_byp")
        w1 = [pipe.reg(v, W_, f"{name}_{TWIDDLE_FIELDS[k]}") for k, v in enumerate(ws)]
        gs1 = pipe.reg(gs, 1, f"{name}_gs")
        prod = self.mul.build_stored(pipe, opnd, w1, f"{name}_mul")
        byp_l = pipe.delay(byp, W_, L, f"{name}_byp")
        gs_l = pipe.delay(gs1, 1, L, f"{name}_gs")
        x = pipe.reg(Mux(gs_l, byp_l, canonical_add(byp_l, prod, q, W)), W_, f"{name}_x")
        y = pipe.reg(Mux(gs_l, prod, canonical_sub(byp_l, prod, q, W)), W_, f"{name}_y")
        return x, y


class _Butterfly(wiring.Component):
    def __init__(self, q: int, width: int, multiplier: str = "barrett"):
        self._mul = make_datapath(multiplier, q, width)   # validates q, width, multiplier
        self.q, self.width, self.multiplier = q, width, multiplier
        i_layout, o_layout = butterfly_layouts(width, multiplier)
        super().__init__({
            "i": In(stream.Signature(i_layout)),
            "o": Out(stream.Signature(o_layout)),
        })

    @property
    def latency(self) -> int:
        """Rising edges from an input transfer to its output transfer: multiplier latency + 1.

        5 with Barrett or Montgomery, 4 with Shoup.
        """
        return self._mul.latency + 1

    @property
    def throughput(self) -> float:
        """Beats (butterflies) per cycle in steady state."""
        return 1.0

    @property
    def twiddle_words(self) -> int:
        """``W``-bit twiddle fields per beat: 2 with Shoup (``w``, ``w_shoup``), else 1."""
        return self._mul.constant_words

    def twiddle_fields(self, w: int) -> dict:
        """The twiddle fields of an input beat for the plain twiddle ``w`` in ``[0, q)``.

        ``{"w": w}`` (Barrett), ``{"w": w*2^W mod q}`` (Montgomery),
        ``{"w": w, "w_shoup": floor(w*2^W/q)}`` (Shoup).
        """
        return dict(zip(TWIDDLE_FIELDS, self._mul.stored_constant(w)))

    def _twiddle(self, p):
        return [getattr(p, TWIDDLE_FIELDS[k]) for k in range(self.twiddle_words)]


class CTButterfly(_Butterfly):
    """Pipelined Cooley-Tukey butterfly ``x = a + w*b``, ``y = a - w*b`` (mod ``q``, canonical).

    Parameters
    ----------
    q : int
        Odd modulus, ``3 <= q < 2^width``.
    width : int
        Word width ``W`` in ``[16, 64]``.
    multiplier : {"barrett", "montgomery", "shoup"}
        Modular multiplier; with ``"montgomery"`` the twiddle ``w`` is in Montgomery form,
        with ``"shoup"`` the input beat also carries ``w_shoup = floor(w*2^W/q)``
        (:meth:`twiddle_fields` gives the fields for a plain twiddle).

    Stages: the multiplier on ``b*w`` (``a`` delayed alongside), then one add/subtract
    stage. ``latency = multiplier latency + 1`` (5 for Barrett and Montgomery, 4 for Shoup),
    ``throughput = 1.0``.
    """

    def elaborate(self, platform):
        m = Module()
        en = stream_pipeline(m, self.i, self.o, self.latency, "bf")
        pipe = Pipe(m, en, "bf")
        q, W, p = self.q, self.width, self.i.payload
        prod = self._mul.build_stored(pipe, p.b, self._twiddle(p), "bf_mul")
        a_l = pipe.delay(p.a, unsigned(W), self._mul.latency, "bf_a")
        x = pipe.reg(canonical_add(a_l, prod, q, W), unsigned(W), "bf_x")
        y = pipe.reg(canonical_sub(a_l, prod, q, W), unsigned(W), "bf_y")
        m.d.comb += [self.o.payload.x.eq(x), self.o.payload.y.eq(y)]
        return m


class GSButterfly(_Butterfly):
    """Pipelined Gentleman-Sande butterfly ``x = a + b``, ``y = (a - b)*w`` (mod ``q``, canonical).

    Parameters as :class:`CTButterfly`. Stages: one add/subtract stage (the twiddle fields
    registered alongside), then the multiplier on ``(a-b)*w`` (``a+b`` delayed alongside).
    ``latency = 1 + multiplier latency`` (5 for Barrett and Montgomery, 4 for Shoup),
    ``throughput = 1.0``.
    """

    def elaborate(self, platform):
        m = Module()
        en = stream_pipeline(m, self.i, self.o, self.latency, "bf")
        pipe = Pipe(m, en, "bf")
        q, W, p = self.q, self.width, self.i.payload
        s = pipe.reg(canonical_add(p.a, p.b, q, W), unsigned(W), "bf_s")
        d = pipe.reg(canonical_sub(p.a, p.b, q, W), unsigned(W), "bf_d")
        w = [pipe.reg(v, unsigned(W), f"bf_{TWIDDLE_FIELDS[k]}")
             for k, v in enumerate(self._twiddle(p))]
        prod = self._mul.build_stored(pipe, d, w, "bf_mul")
        x = pipe.delay(s, unsigned(W), self._mul.latency, "bf_s")
        m.d.comb += [self.o.payload.x.eq(x), self.o.payload.y.eq(prod)]
        return m
