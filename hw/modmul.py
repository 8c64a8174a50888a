"""Pipelined modular multipliers (Barrett, Montgomery, Shoup) with stream interfaces.

Each multiplier exists in two forms:

* a *datapath* (:class:`BarrettDatapath`, :class:`MontgomeryDatapath`,
  :class:`ShoupDatapath`): the register stages alone, built into a caller's
  module under a caller's enable, reused by :mod:`hw.butterfly` and :mod:`hw.ntt`;
* a *component* (:class:`BarrettMultiplier`, :class:`MontgomeryMultiplier`,
  :class:`ShoupMultiplier`): the datapath wrapped with the stream handshake of
  :func:`hw.pipeline.stream_pipeline`.

The stage-by-stage arithmetic is exactly that of the golden models in
:mod:`sw.modred` (same constants, same lazy ranges, same single final
correction); the stage registers are named after the golden model's
intermediates (``x``, ``qhat``, ``r``, ``m``, ``t``, ``p``, ``out``).

Common interface of :class:`BarrettMultiplier` and :class:`MontgomeryMultiplier`::

    i: In(stream.Signature(StructLayout({"a": unsigned(W), "b": unsigned(W)})))
    o: Out(stream.Signature(unsigned(W)))

Inputs are in ``[0, q)``; outputs canonical in ``[0, q)``. ``latency`` (rising
edges from input transfer to output transfer with the output always ready) is
4 for both; ``throughput`` is 1.0 beat per cycle. :class:`ShoupMultiplier` takes a
third operand (the companion ``w_shoup`` of the constant ``w``) and has ``latency`` 3.

Constant operands (twiddles, scale factors)
-------------------------------------------
Butterflies and NTT units multiply by constants only, so they accept any of the three
datapaths by the name ``multiplier`` (:data:`MULTIPLIERS`, :func:`make_datapath`). Every
datapath describes how a plain constant ``c`` in ``[0, q)`` is *stored* for it
(:meth:`~BarrettDatapath.stored_constant`) and builds its product from those stored words
(:meth:`~BarrettDatapath.build_stored`):

=============  ===========================================  ==================  =======
multiplier     stored words of ``c``                        product             latency
=============  ===========================================  ==================  =======
``barrett``    ``(c,)``                                     ``a*c mod q``       4
``montgomery`` ``(c*2^W mod q,)`` (Montgomery form)         ``a*c mod q``       4
``shoup``      ``(c, floor(c*2^W/q))`` (value, companion)   ``a*c mod q``       3
=============  ===========================================  ==================  =======

The product of ``a`` with the stored form is the plain ``a*c mod q`` in every case, so
the data around the multiplier are plain residues whatever the choice.
"""
from __future__ import annotations

from amaranth.hdl import Module, Mux, unsigned
from amaranth.lib import data, stream, wiring
from amaranth.lib.wiring import In, Out

from sw.modred import (barrett_params, check_modulus, montgomery_params, shoup_companion,
                       to_montgomery)

from .pipeline import Pipe, stream_pipeline

__all__ = [
    "BarrettDatapath", "MontgomeryDatapath", "ShoupDatapath", "make_datapath",
    "BarrettMultiplier", "MontgomeryMultiplier", "ShoupMultiplier", "MULTIPLIERS",
]


def _csub(v, q: int, width: int):
    return Mux(v >= q, v - q, v)[:width]


class BarrettDatapath:
    """Four register stages computing ``a*b mod q`` by Barrett reduction (:func:`sw.modred.barrett_mul`).

    Stages (``k = q.bit_length()``, ``mu = floor(2^(2k+3)/q)``):

    1. ``x = a*b`` (``2W`` bits);
    2. ``qhat = ((x >> (k-2)) * mu) >> (k+5)``, with ``x`` carried along;
    3. ``r = (x - qhat*q) mod 2^(k+1)``, lazy in ``[0, 2q)``;
    4. ``out = r - q if r >= q else r``, canonical.

    Parameters
    ----------
    q : odd modulus, ``3 <= q < 2^width``.
    width : word width ``W`` in ``[16, 64]``.
    """

    #: Number of register stages from operands to the canonical product.
    latency = 4
    #: Register stage (1-based) holding each golden-model intermediate.
    stage_of = {"x": 1, "qhat": 2, "r": 3, "out": 4}
    #: ``W``-bit words stored per constant operand (see :meth:`stored_constant`).
    constant_words = 1

    def one(self) -> int:
        """Multiplier operand that leaves the other operand unchanged (1)."""
        return 1

    def stored_constant(self, c: int) -> tuple[int, ...]:
        """Words stored for the plain constant ``c`` in ``[0, q)``: ``(c,)``."""
        return (int(c),)

    def build_stored(self, pipe: Pipe, a, words, name: str):
        """``a * c mod q`` from the stored words of ``c`` (:meth:`stored_constant`)."""
        (b,) = words
        return self.build(pipe, a, b, name)

    def __init__(self, q: int, width: int):
        self.params = barrett_params(q, width)
        self.q, self.width = q, width

    def build(self, pipe: Pipe, a, b, name: str = "bar"):
        """Build the stages in ``pipe`` for operands ``a, b`` in ``[0, q)``; return the output register.

        The stage registers are kept in ``self.stages`` (last build) keyed by their
        golden-model names.
        """
        p, W, q = self.params, self.width, self.q
        x1 = pipe.reg(a * b, unsigned(2 * W), f"{name}_x")
        x2 = pipe.reg(x1, unsigned(2 * W), f"{name}_x2")
        qhat = pipe.reg(((x1 >> p.shift1) * p.mu) >> p.shift2, unsigned(p.k + 1), f"{name}_qhat")
        r = pipe.reg((x2 - qhat * q)[:p.r_bits], unsigned(p.r_bits), f"{name}_r")
        out = pipe.reg(_csub(r, q, W), unsigned(W), f"{name}_out")
        self.stages = {"x": x1, "qhat": qhat, "r": r, "out": out}
        return out


class MontgomeryDatapath:
    """Four register stages computing ``a*b*2^-W mod q`` by REDC (:func:`sw.modred.montgomery_mul`).

    Stages (``R = 2^W``, ``q' = -q^-1 mod R``):

    1. ``x = a*b``;
    2. ``m = ((x mod R) * q') mod R``, with ``x`` carried along;
    3. ``t = (x + m*q) >> W``, lazy in ``[0, 2q)``;
    4. ``out = t - q if t >= q else t``, canonical.

    Parameters
    ----------
    q : odd modulus, ``3 <= q < 2^width``.
    width : word width ``W`` in ``[16, 64]``.
    """

    latency = 4
    stage_of = {"x": 1, "m": 2, "t": 3, "out": 4}
    constant_words = 1

    def __init__(self, q: int, width: int):
        self.params = montgomery_params(q, width)
        self.q, self.width = q, width

    def one(self) -> int:
        """Montgomery form of 1 (``2^W mod q``): multiplying by it is the identity."""
        return self.params.r_mod_q

    def stored_constant(self, c: int) -> tuple[int, ...]:
        """Words stored for the plain constant ``c``: its Montgomery form ``(c*2^W mod q,)``."""
        return (to_montgomery(int(c), self.q, self.width),)

    def build_stored(self, pipe: Pipe, a, words, name: str):
        """``a * c mod q`` (plain) from the Montgomery form of ``c``."""
        (b,) = words
        return self.build(pipe, a, b, name)

    def build(self, pipe: Pipe, a, b, name: str = "mont"):
        """Build the stages in ``pipe`` for operands ``a, b`` in ``[0, q)``; return the output register."""
        p, W, q = self.params, self.width, self.q
        x1 = pipe.reg(a * b, unsigned(2 * W), f"{name}_x")
        x2 = pipe.reg(x1, unsigned(2 * W), f"{name}_x2")
        m = pipe.reg((x1[:W] * p.q_prime)[:W], unsigned(W), f"{name}_m")
        t = pipe.reg((x2 + m * q) >> W, unsigned(W + 1), f"{name}_t")
        out = pipe.reg(_csub(t, q, W), unsigned(W), f"{name}_out")
        self.stages = {"x": x1, "m": m, "t": t, "out": out}
        return out


class ShoupDatapath:
    """Three register stages computing ``a*w mod q`` with the companion ``w' = floor(w*2^W/q)``.

    Mirrors :func:`sw.modred.shoup_mul`:

    1. ``qhat = (a*w') >> W`` and ``p = (a*w) mod 2^(W+1)``;
    2. ``r = (p - qhat*q) mod 2^(W+1)``, lazy in ``[0, 2q)``;
    3. ``out = r - q if r >= q else r``, canonical.

    ``a`` may be any ``W``-bit value; ``w`` must be in ``[0, q)`` with its exact companion.
    """

    latency = 3
    stage_of = {"qhat": 1, "p": 1, "r": 2, "out": 3}
    constant_words = 2

    def __init__(self, q: int, width: int):
        check_modulus(q, width)
        self.q, self.width = q, width

    def one(self) -> int:
        """Multiplier operand that leaves the other operand unchanged (1)."""
        return 1

    def stored_constant(self, c: int) -> tuple[int, ...]:
        """Words stored for the plain constant ``c``: ``(c, floor(c*2^W/q))``."""
        c = int(c)
        return (c, shoup_companion(c, self.q, self.width))

    def build_stored(self, pipe: Pipe, a, words, name: str):
        """``a * c mod q`` from ``(c, companion)``."""
        w, w_shoup = words
        return self.build(pipe, a, w, w_shoup, name)

    def build(self, pipe: Pipe, a, w, w_shoup, name: str = "shoup"):
        W, q = self.width, self.q
        qhat = pipe.reg((a * w_shoup) >> W, unsigned(W), f"{name}_qhat")
        p = pipe.reg((a * w)[:W + 1], unsigned(W + 1), f"{name}_p")
        r = pipe.reg((p - qhat * q)[:W + 1], unsigned(W + 1), f"{name}_r")
        out = pipe.reg(_csub(r, q, W), unsigned(W), f"{name}_out")
        self.stages = {"qhat": qhat, "p": p, "r": r, "out": out}
        return out


#: Datapath classes by the ``multiplier=`` name accepted by butterflies and NTT units.
MULTIPLIERS = {"barrett": BarrettDatapath, "montgomery": MontgomeryDatapath,
               "shoup": ShoupDatapath}


def make_datapath(multiplier: str, q: int, width: int):
    """The datapath named ``multiplier`` (``"barrett"``, ``"montgomery"`` or ``"shoup"``).

    Raises ``ValueError`` naming the rejected value when ``multiplier`` is not one of them.
    """
    if not isinstance(multiplier, str) or multiplier not in MULTIPLIERS:
        raise ValueError(
            f"multiplier={multiplier!r} must be one of {sorted(MULTIPLIERS)}")
    return MULTIPLIERS[multiplier](q, width)


class _PipelinedMultiplier(wiring.Component):
    """Shared timing of the multiplier components: the datapath's depth, one beat per cycle."""

    @property
    def latency(self) -> int:
        """Rising edges from an input transfer to its output transfer (output always ready)."""
        return self._dp.latency

    @property
    def throughput(self) -> float:
        """Beats per cycle in steady state."""
        return 1.0


class _TwoOperandMultiplier(_PipelinedMultiplier):
    _datapath_cls = None

    def __init__(self, q: int, width: int):
        self._dp = self._datapath_cls(q, width)   # validates q and width
        self.q, self.width = q, width
        W = width
        super().__init__({
            "i": In(stream.Signature(data.StructLayout({"a": unsigned(W), "b": unsigned(W)}))),
            "o": Out(stream.Signature(unsigned(W))),
        })

    def elaborate(self, platform):
        m = Module()
        en = stream_pipeline(m, self.i, self.o, self.latency, "mm")
        out = self._dp.build(Pipe(m, en, "mm"), self.i.payload.a, self.i.payload.b)
        m.d.comb += self.o.payload.eq(out)
        return m


class BarrettMultiplier(_TwoOperandMultiplier):
    """Pipelined ``o = a*b mod q`` (Barrett reduction, see :class:`BarrettDatapath`).

    Parameters
    ----------
    q : int
        Odd modulus, ``3 <= q < 2^width``.
    width : int
        Word width ``W`` in ``[16, 64]``.

    Members
    -------
    i : ``In(stream.Signature(StructLayout({"a": unsigned(W), "b": unsigned(W)})))``
        Operands in ``[0, q)``.
    o : ``Out(stream.Signature(unsigned(W)))``
        ``a*b mod q``, canonical in ``[0, q)``.

    Properties: ``latency = 4``, ``throughput = 1.0``.
    """

    _datapath_cls = BarrettDatapath


class MontgomeryMultiplier(_TwoOperandMultiplier):
    """Pipelined ``o = a*b*2^-W mod q`` (Montgomery REDC, see :class:`MontgomeryDatapath`).

    Operands and result are in Montgomery form when used that way; convert with
    :func:`sw.modred.to_montgomery` / :func:`sw.modred.from_montgomery`.

    Parameters, members and properties as :class:`BarrettMultiplier`
    (``latency = 4``, ``throughput = 1.0``).
    """

    _datapath_cls = MontgomeryDatapath


class ShoupMultiplier(_PipelinedMultiplier):
    """Pipelined ``o = a*w mod q`` with a precomputed Shoup companion (see :class:`ShoupDatapath`).

    Members
    -------
    i : ``In(stream.Signature(StructLayout({"a": unsigned(W), "w": unsigned(W), "w_shoup": unsigned(W)})))``
        ``a`` any ``W``-bit value, ``w`` in ``[0, q)``, ``w_shoup = floor(w*2^W/q)``
        (:func:`sw.ntt_tables.shoup`).
    o : ``Out(stream.Signature(unsigned(W)))``
        ``a*w mod q`` canonical.

    Properties: ``latency = 3``, ``throughput = 1.0``.
    """

    def __init__(self, q: int, width: int):
        self._dp = ShoupDatapath(q, width)
        self.q, self.width = q, width
        W = width
        super().__init__({
            "i": In(stream.Signature(data.StructLayout(
                {"a": unsigned(W), "w": unsigned(W), "w_shoup": unsigned(W)}))),
            "o": Out(stream.Signature(unsigned(W))),
        })

    def elaborate(self, platform):
        m = Module()
        en = stream_pipeline(m, self.i, self.o, self.latency, "mm")
        p = self.i.payload
        out = self._dp.build(Pipe(m, en, "mm"), p.a, p.w, p.w_shoup)
        m.d.comb += self.o.payload.eq(out)
        return m
