"""Helpers to drive ``hw`` stream components in Amaranth's built-in Python simulator.

Used by the quick unit tests (``tests/test_hw_*.py``); the Verilog-level
testbenches live in ``sim/`` and use cocotb instead.

Edge numbering: the testbench samples the settled signals of a cycle and then
awaits the rising edge that ends it; that edge gets the next index (the first
edge of a run is edge 0). A transfer "at edge ``e``" is one whose ``valid`` and
``ready`` were both high in the cycle ending at edge ``e``. With this numbering,
a unit's ``latency`` is ``out_edge - in_edge`` for the same beat.
"""
from __future__ import annotations

import random
from dataclasses import dataclass, field

from amaranth.hdl import ClockDomain, Module
from amaranth.lib import data
from amaranth.sim import Simulator

__all__ = ["set_value", "get_value", "StreamRun", "run_stream"]


def set_value(ctx, target, value) -> None:
    """Set a (possibly structured) simulation signal from nested dicts/lists/ints."""
    if isinstance(target, data.View):
        layout = target.shape()
        if isinstance(layout, data.ArrayLayout):
            for k, v in enumerate(value):
                set_value(ctx, target[k], v)
            return
        for name, v in value.items():
            set_value(ctx, getattr(target, name), v)
        return
    ctx.set(target, int(value))


def get_value(ctx, target):
    """Read a (possibly structured) simulation signal as nested dicts/lists/ints."""
    if isinstance(target, data.View):
        layout = target.shape()
        if isinstance(layout, data.ArrayLayout):
            return [get_value(ctx, target[k]) for k in range(layout.length)]
        return {name: get_value(ctx, getattr(target, name)) for name, _ in layout}
    return int(ctx.get(target))


@dataclass
class StreamRun:
    """Result of :func:`run_stream`: payloads and the edges at which they transferred."""

    outputs: list = field(default_factory=list)
    out_edges: list = field(default_factory=list)
    in_edges: list = field(default_factory=list)
    edges: int = 0


def run_stream(dut, inputs, n_outputs: int, *, p_gap: float = 0.0, p_stall: float = 0.0,
               seed: int = 0, max_edges: int = 200_000, reset_after: int | None = None,
               reset_delay: int = 3, on_cycle=None, vcd: str | None = None) -> StreamRun:
    """Stream ``inputs`` into ``dut.i`` and collect ``n_outputs`` payloads from ``dut.o``.

    Parameters
    ----------
    dut : component with stream members ``i`` and ``o`` (clocked by ``sync``).
    inputs : payload values (nested dict/list/int) in order.
    n_outputs : number of output beats to wait for.
    p_gap : probability that the driver holds ``i.valid`` low in a cycle.
    p_stall : probability that the sink holds ``o.ready`` low in a cycle.
    seed : seed of the random valid/ready patterns.
    max_edges : bound on simulated edges (raises ``RuntimeError`` when exceeded).
    reset_after : if given, after this many input beats have been accepted the driver
        idles ``reset_delay`` cycles and then asserts the synchronous reset for one
        cycle (no transfer in that cycle); everything collected so far is discarded,
        and the driver continues with the remaining inputs.
    on_cycle : optional ``callback(ctx, edge)`` called once per cycle after the inputs are
        set, before the edge (for monitors and debug taps).
    vcd : optional path of a VCD waveform to write.
    """
    rng = random.Random(seed)
    run = StreamRun()
    items = list(inputs)
    top = Module()
    top.domains.sync = cd = ClockDomain("sync")
    top.submodules.dut = dut

    async def bench(ctx):
        pos = 0
        edge = 0
        idle = None          # countdown to the reset cycle
        while len(run.outputs) < n_outputs:
            if edge >= max_edges:
                raise RuntimeError(
                    f"no completion after {max_edges} edges ({len(run.outputs)}/{n_outputs} outputs)")
            if reset_after is not None and idle is None and pos == reset_after:
                idle = reset_delay
            do_reset = idle == 0
            if do_reset:
                ctx.set(cd.rst, 1)
                ctx.set(dut.i.valid, 0)
                ctx.set(dut.o.ready, 0)
                await ctx.tick()
                ctx.set(cd.rst, 0)
                run.outputs.clear()
                run.out_edges.clear()
                run.in_edges.clear()
                idle = -1
                edge += 1
                continue
            if idle is not None and idle > 0:
                idle -= 1
                feed = False
            else:
                feed = pos < len(items) and rng.random() >= p_gap
            if feed:
                ctx.set(dut.i.valid, 1)
                set_value(ctx, dut.i.payload, items[pos])
            else:
                ctx.set(dut.i.valid, 0)
            ready = rng.random() >= p_stall
            ctx.set(dut.o.ready, int(ready))
            in_xfer = feed and ctx.get(dut.i.ready)
            out_xfer = ctx.get(dut.o.valid) and ready
            out_val = get_value(ctx, dut.o.payload) if out_xfer else None
            if on_cycle is not None:
                on_cycle(ctx, edge)
            await ctx.tick()
            if in_xfer:
                pos += 1
                run.in_edges.append(edge)
            if out_xfer:
                run.outputs.append(out_val)
                run.out_edges.append(edge)
            edge += 1
        run.edges = edge

    sim = Simulator(top)
    sim.add_clock(1e-8, domain="sync")
    sim.add_testbench(bench)
    if vcd:
        with sim.write_vcd(vcd):
            sim.run()
    else:
        sim.run()
    return run
