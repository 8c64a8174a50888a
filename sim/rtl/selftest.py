"""Known-good (and deliberately broken) stream components that exercise the RTL test bench.

They have exactly the stream shapes of the ``hw`` units (docs/architecture.md, Amaranth 0.5
``wiring.Component`` + ``lib.stream``), so the driver/monitor/scoreboard and the cocotb
runner can be validated without depending on the hardware under test:

* :class:`RegisteredAdder` -- elementwise, ``i`` {"a","b"} -> ``o`` = (a+b) mod q, two register
  stages, ``latency = 2``, ``throughput = 1``. ``bug="drop_on_stall"`` loses a beat when the
  output is back-pressured (the bench must flag it); ``bug="slow"`` adds one cycle of latency
  without updating the ``latency`` property (the timing check must flag it).
* :class:`BitrevBuffer` -- NTT-shaped: ``i`` {"data": P words, "inverse": 1}, collects n/P beats
  and returns them in bit-reversed element order (what a forward NTT's output ordering looks
  like). Used to test the transform bench at tiny n.

Nothing in ``hw`` imports this module; it is test-bench infrastructure only.
"""
from __future__ import annotations

from amaranth import Array, Module, Mux, Signal, unsigned
from amaranth.lib import data, stream, wiring
from amaranth.lib.wiring import In, Out

from sw.ntt_tables import bit_reverse


class RegisteredAdder(wiring.Component):
    def __init__(self, q: int, width: int, *, bug: str | None = None):
        if not 0 < q < (1 << width):
            raise ValueError(f"q={q} does not fit in W={width} bits")
        self.q, self.width, self.bug = q, width, bug
        super().__init__({
            "i": In(stream.Signature(data.StructLayout({"a": unsigned(width), "b": unsigned(width)}))),
            "o": Out(stream.Signature(unsigned(width))),
        })

    @property
    def latency(self) -> int:
        return 2

    @property
    def throughput(self) -> float:
        return 1.0

    def elaborate(self, platform):
        m = Module()
        w, q = self.width, self.q
        v1 = Signal()
        s1 = Signal(w + 1)
        ready2 = Signal()
        ready1 = Signal()
        m.d.comb += [
            ready2.eq(self.o.ready | ~self.o.valid),
            ready1.eq(ready2 | ~v1),
            self.i.ready.eq(ready1),
        ]
        with m.If(ready1):
            m.d.sync += [v1.eq(self.i.valid), s1.eq(self.i.payload.a + self.i.payload.b)]
        reduced = Mux(s1 >= q, s1 - q, s1)[:w]
        if self.bug == "slow":
            v_extra = Signal()
            d_extra = Signal(w)
            with m.If(ready2):
                m.d.sync += [v_extra.eq(v1), d_extra.eq(reduced)]
            with m.If(self.o.ready | ~self.o.valid):
                m.d.sync += [self.o.valid.eq(v_extra), self.o.payload.eq(d_extra)]
            # keep the pipeline honest: stage 1 only advances when the extra stage can take it
            m.d.comb += ready2.eq((self.o.ready | ~self.o.valid) | ~v_extra)
        elif self.bug == "drop_on_stall":
            # wrong: stage 2 overwrites its held output even when the consumer is not ready
            m.d.sync += [self.o.valid.eq(v1), self.o.payload.eq(reduced)]
        else:
            with m.If(ready2):
                m.d.sync += [self.o.valid.eq(v1), self.o.payload.eq(reduced)]
        return m


class BitrevBuffer(wiring.Component):
    """Store n elements (n/P beats of P lanes), then emit element ``bitrev(j)`` at position j."""

    def __init__(self, n: int, width: int, lanes: int):
        if n % lanes or n < 2 * lanes:
            raise ValueError(f"lanes P={lanes} must divide n={n} with at least 2 beats")
        self.n, self.width, self.lanes = n, width, lanes
        super().__init__({
            "i": In(stream.Signature(data.StructLayout({
                "data": data.ArrayLayout(unsigned(width), lanes), "inverse": unsigned(1)}))),
            "o": Out(stream.Signature(data.ArrayLayout(unsigned(width), lanes))),
        })

    @property
    def beats(self) -> int:
        return self.n // self.lanes

    @property
    def latency(self) -> int:
        return 1

    @property
    def cycles_per_transform(self) -> int:
        return 2 * self.beats - 1 + self.latency

    @property
    def throughput(self) -> float:
        return self.n / self.cycles_per_transform

    def elaborate(self, platform):
        m = Module()
        n, P, W = self.n, self.lanes, self.width
        bits = n.bit_length() - 1
        mem = Array(Signal(W, name=f"mem{k}") for k in range(n))
        count = Signal(range(self.beats + 1))
        inverse = Signal()
        with m.FSM():
            with m.State("LOAD"):
                m.d.comb += self.i.ready.eq(1)
                with m.If(self.i.valid):
                    for k in range(P):
                        m.d.sync += mem[count * P + k].eq(self.i.payload.data[k])
                    with m.If(count == 0):
                        m.d.sync += inverse.eq(self.i.payload.inverse)
                    with m.If(count == self.beats - 1):
                        m.d.sync += count.eq(0)
                        m.next = "EMIT"
                    with m.Else():
                        m.d.sync += count.eq(count + 1)
            with m.State("EMIT"):
                m.d.comb += self.o.valid.eq(1)
                # bitrev(count*P + k): build it from the bits of the element index
                for k in range(P):
                    idx = Signal(bits, name=f"idx{k}")
                    j = Signal(bits, name=f"j{k}")
                    m.d.comb += j.eq(count * P + k)
                    m.d.comb += idx.eq(j[::-1])
                    m.d.comb += self.o.payload[k].eq(mem[idx])
                with m.If(self.o.ready):
                    with m.If(count == self.beats - 1):
                        m.d.sync += count.eq(0)
                        m.next = "LOAD"
                    with m.Else():
                        m.d.sync += count.eq(count + 1)
        return m


def bitrev_reference(a: list[int]) -> list[int]:
    n = len(a)
    bits = n.bit_length() - 1
    return [a[bit_reverse(j, bits)] for j in range(n)]
