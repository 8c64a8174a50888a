"""Enable-gated register pipelines and their stream wrapper.

Every arithmetic unit in :mod:`hw` is a chain of register stages that all advance
together on one enable signal. :class:`Pipe` builds such stages inside an
elaborating module; :func:`stream_pipeline` adds one valid bit per stage and
connects the enable to a pair of :mod:`amaranth.lib.stream` interfaces.

Stream discipline (used by every unit, see docs/architecture.md):

* the pipeline advances (``en``) when its last stage is empty or its output is
  accepted: ``en = ~o.valid | o.ready``;
* the input is accepted whenever the pipeline advances: ``i.ready = en``
  (``i.ready`` therefore depends combinationally on ``o.ready``, which the stream
  rules allow);
* a beat accepted at rising edge ``k`` sits in stage ``j`` (1-based) after edge
  ``k + j - 1``, so with the output always ready it is transferred at edge
  ``k + latency`` where ``latency`` is the number of stages. One beat per cycle
  is accepted in steady state (throughput 1.0).

Nothing is lost or duplicated under any valid/ready pattern: a beat only moves
when ``en`` is high, and ``en`` is low exactly when the last stage holds a beat
that the consumer is refusing. Bubbles are not squeezed out while stalled (a
global stall), which keeps the latency a constant.
"""
from __future__ import annotations

from amaranth.hdl import Const, Module, Mux, Signal, Value
from amaranth.lib import stream

__all__ = ["Pipe", "stream_pipeline", "canonical_add", "canonical_sub", "canonical_half"]


class Pipe:
    """Builder of enable-gated registers in the ``sync`` domain.

    Parameters
    ----------
    m : Module
        The module being elaborated.
    en : Value
        One-bit enable; every register built here loads only while it is high.
    prefix : str
        Prefix of the generated signal names (visible in waveforms and Verilog).
    """

    def __init__(self, m: Module, en, prefix: str):
        self.m = m
        self.en = Value.cast(en)
        self.prefix = prefix
        self._count = 0

    def reg(self, value, shape, name: str) -> Signal:
        """A register of ``shape`` that loads ``value`` when enabled; returns the register."""
        sig = Signal(shape, name=f"{self.prefix}_{name}")
        if isinstance(self.en, Const) and self.en.value == 1:
            self.m.d.sync += sig.eq(value)
        else:
            with self.m.If(self.en):
                self.m.d.sync += sig.eq(value)
        return sig

    def delay(self, value, shape, depth: int, name: str):
        """``value`` delayed by ``depth`` enabled cycles (``depth = 0`` returns ``value``)."""
        cur = value
        for j in range(depth):
            cur = self.reg(cur, shape, f"{name}_d{j + 1}")
        return cur


def stream_pipeline(m: Module, i: stream.Interface, o: stream.Interface, latency: int,
                    prefix: str) -> Value:
    """Add the valid bits and handshake of a ``latency``-stage pipeline; return its enable.

    The caller builds the datapath with ``Pipe(m, en, ...)``, feeding it
    ``i.payload`` and driving ``o.payload`` from its last stage (exactly
    ``latency`` registers deep).
    """
    if latency < 1:
        raise ValueError(f"latency={latency} must be at least 1")
    en = Signal(name=f"{prefix}_en")
    valid = [Signal(name=f"{prefix}_valid{j + 1}") for j in range(latency)]
    m.d.comb += [
        en.eq(~valid[-1] | o.ready),
        i.ready.eq(en),
        o.valid.eq(valid[-1]),
    ]
    with m.If(en):
        m.d.sync += valid[0].eq(i.valid)
        for j in range(1, latency):
            m.d.sync += valid[j].eq(valid[j - 1])
    return en


def canonical_add(a, b, q: int, width: int):
    """Combinational ``(a + b) mod q`` for ``a, b`` in ``[0, q)``; result ``unsigned(width)``."""
    s = a + b
    return Value.cast(Mux(s >= q, s - q, s))[:width]


def canonical_sub(a, b, q: int, width: int):
    """Combinational ``(a - b) mod q`` for ``a, b`` in ``[0, q)``; result ``unsigned(width)``."""
    d = a - b
    return Value.cast(Mux(a >= b, d, d + q))[:width]


def canonical_half(a, q: int, width: int):
    """Combinational ``a * 2^-1 mod q`` for ``a`` in ``[0, q)`` and odd ``q``, without a
    multiplier: ``a >> 1`` when ``a`` is even, else ``(a >> 1) + (q + 1) / 2`` (that is
    ``(a + q) / 2``); the result is below ``q`` either way. ``unsigned(width)``."""
    a = Value.cast(a)
    return Value.cast((a >> 1) + Mux(a[0], (q + 1) >> 1, 0))[:width]
