"""Reusable cocotb agents for ``amaranth.lib.stream`` interfaces (runs inside the simulator).

Structure follows cocotb's ``examples/matrix_multiplier``: a *driver* feeds input
transactions, a *monitor* collects output transactions, a *model* (golden function, in the
test modules) predicts outputs, a *scoreboard* (:mod:`sim.rtl.scoreboard`) compares.

To keep per-cycle Python work small (an N = 2^16 NTT is tens of thousands of beats), all
agents are stepped from one loop, :class:`ClockedBench`, that awaits each rising edge once:

1. ``sample(edge)`` -- every agent looks at the values that were present *at* this edge
   (cocotb resumes on the edge before non-blocking updates land) and records transfers
   (``valid & ready``);
2. ``drive(edge)``  -- every agent sets its outputs for the next cycle.

Handshake rules imposed on the stimulus (AXI/Amaranth stream discipline): once the driver
raises ``valid`` it holds it and the payload until the transfer; gaps are inserted *between*
beats with probability ``1 - p_valid``. The monitor's ``ready`` is random every cycle with
probability ``p_ready`` (independent of ``valid``). Both draw from a seeded
:class:`random.Random`, so a run is reproducible from its seed.
"""
from __future__ import annotations

import random
from collections import deque
from collections.abc import Callable, Iterable

from cocotb.clock import Clock
from cocotb.triggers import RisingEdge


class ProtocolError(AssertionError):
    """A handshake or payload signal is not a clean 0/1 value when it is sampled."""


def _bit(handle, edge: int) -> bool:
    v = handle.value
    try:
        return bool(v)
    except ValueError:
        raise ProtocolError(f"{handle._name} is {v!s} at rising edge {edge}") from None


class Codec:
    """Pack/unpack a payload from its flattened layout ``[{"path","offset","width"}]``."""

    def __init__(self, fields: list[dict]):
        self.fields = [(f["path"], f["offset"], f["width"]) for f in fields]
        self.paths = [p for p, _, _ in self.fields]
        self.width = max((o + w for _, o, w in self.fields), default=0)

    def pack(self, values: dict) -> int:
        raw = 0
        for path, off, w in self.fields:
            v = int(values.get(path, 0))
            if not 0 <= v < (1 << w):
                raise ValueError(f"field {path!r}={v} does not fit in {w} bits")
            raw |= v << off
        return raw

    def unpack(self, raw: int) -> dict:
        return {path: (raw >> off) & ((1 << w) - 1) for path, off, w in self.fields}


class StreamDriver:
    """Drives ``valid``/``payload`` of a DUT input stream from a queue of ``(raw, token)``."""

    def __init__(self, dut, port: dict, rng: random.Random, p_valid: float = 1.0):
        self.valid = getattr(dut, port["valid"])
        self.ready = getattr(dut, port["ready"])
        self.payload = getattr(dut, port["payload"])
        self.rng, self.p_valid = rng, p_valid
        self.queue: deque = deque()
        self.on_transfer: Callable[[object, int], None] | None = None
        self.transfers = 0
        self.enabled = True
        self._valid = False              # valid offered for the current cycle
        self._driven = None              # last value written to the valid signal
        self._raw = None                 # last value written to the payload signal

    def send(self, items: Iterable[tuple[int, object]]) -> None:
        self.queue.extend(items)

    def sample(self, edge: int) -> None:
        if self._valid and _bit(self.ready, edge):
            _, token = self.queue.popleft()
            self.transfers += 1
            self._valid = False          # must be re-decided in drive()
            if self.on_transfer is not None:
                self.on_transfer(token, edge)

    def drive(self, edge: int) -> None:
        if self._valid:                  # holding an offered beat: keep valid and payload
            return
        want = self.enabled and bool(self.queue) and (
            self.p_valid >= 1.0 or self.rng.random() < self.p_valid)
        if want:
            raw = self.queue[0][0]
            if raw != self._raw:
                self.payload.value = raw
                self._raw = raw
        self._set_valid(want)

    def _set_valid(self, v: bool) -> None:
        if v != self._driven:
            self.valid.value = int(v)
            self._driven = v
        self._valid = v

    def idle(self) -> None:
        """Withdraw ``valid`` (only used around reset, where the stream is abandoned)."""
        self._set_valid(False)

    def flush(self) -> int:
        dropped = len(self.queue)
        self.queue.clear()
        self._valid = False
        return dropped


class StreamMonitor:
    """Drives ``ready`` of a DUT output stream and reports each transfer ``(raw, edge)``."""

    def __init__(self, dut, port: dict, rng: random.Random, p_ready: float = 1.0,
                 callback: Callable[[int, int], None] | None = None):
        self.valid = getattr(dut, port["valid"])
        self.ready = getattr(dut, port["ready"])
        self.payload = getattr(dut, port["payload"])
        self.rng, self.p_ready = rng, p_ready
        self.callback = callback
        self.enabled = True
        self.transfers = 0
        self._ready = None

    def sample(self, edge: int) -> None:
        if self._ready and _bit(self.valid, edge):
            self.transfers += 1
            v = self.payload.value
            try:
                raw = v.to_unsigned()
            except ValueError:
                raise ProtocolError(f"{self.payload._name} = {v!s} (not 0/1) on a transfer at "
                                    f"rising edge {edge}") from None
            if self.callback is not None:
                self.callback(raw, edge)

    def drive(self, edge: int) -> None:
        want = self.enabled and (self.p_ready >= 1.0 or self.rng.random() < self.p_ready)
        if want != self._ready:
            self.ready.value = int(want)
            self._ready = want

    def idle(self) -> None:
        if self._ready is not False:
            self.ready.value = 0
            self._ready = False


class ClockedBench:
    """Clock, reset and the single per-edge loop that steps every agent."""

    def __init__(self, dut, period_ns: int = 10):
        self.dut = dut
        self.clk, self.rst = dut.clk, dut.rst
        self.period_ns = period_ns
        self.edge = 0                    # rising edges seen since start()
        self.agents: list = []
        self._re = None

    async def start(self, reset_cycles: int = 2) -> None:
        self.rst.value = 1
        Clock(self.clk, self.period_ns, unit="ns", impl="gpi").start()
        self._re = RisingEdge(self.clk)
        for a in self.agents:
            a.idle()
        for _ in range(reset_cycles):
            await self._re
            self.edge += 1
        self.rst.value = 0

    async def reset(self, cycles: int = 2) -> None:
        """Synchronous reset in the middle of traffic: inputs withdrawn, outputs not accepted."""
        for a in self.agents:
            a.idle()
        self.rst.value = 1
        for _ in range(cycles):
            await self._re
            self.edge += 1
        self.rst.value = 0

    async def run(self, until: Callable[[], bool], max_cycles: int) -> bool:
        """Step agents edge by edge until ``until()`` (checked after sampling) or the limit.

        Returns True when ``until()`` became true, False on timeout.
        """
        agents = self.agents
        samplers = [a.sample for a in agents]
        drivers = [a.drive for a in agents]
        re = self._re
        limit = self.edge + max_cycles
        for d in drivers:
            d(self.edge)
        while self.edge < limit:
            await re
            self.edge += 1
            e = self.edge
            for s in samplers:
                s(e)
            if until():
                return True
            for d in drivers:
                d(e)
        return False
