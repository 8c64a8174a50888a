# amaranth: UnusedElaboratable=no
"""hw.ntt.NttUnit in Amaranth's simulator against a textbook Python-integer NTT (small n)."""
from __future__ import annotations

import random

import pytest
from amaranth.back import verilog

from hw.ntt import NttUnit
from hw.simtools import run_stream
from sw.ntt_tables import bit_reverse, ntt_tables
from sw.primes import ntt_primes


# ------------------------------------------------------------------ independent reference
def fwd_stage_arrays(a, q, n):
    """Textbook in-place CT (docs/architecture.md): the array after each stage."""
    tb = ntt_tables(q, n)
    a, out, m = list(a), [], 1
    while m < n:
        t = n // (2 * m)
        for i in range(m):
            w = tb.fwd[m + i]
            for j in range(2 * i * t, 2 * i * t + t):
                u, v = a[j], a[j + t] * w % q
                a[j], a[j + t] = (u + v) % q, (u - v) % q
        out.append(list(a))
        m *= 2
    return out


def inv_stage_arrays(a, q, n):
    """Textbook in-place GS (docs/architecture.md): the array after each stage, then the scaled result."""
    tb = ntt_tables(q, n)
    a, out, t = list(a), [], 1
    while t < n:
        h = n // (2 * t)
        for i in range(h):
            w = tb.inv[h + i]
            for j in range(2 * i * t, 2 * i * t + t):
                u, v = a[j], a[j + t]
                a[j], a[j + t] = (u + v) % q, (u - v) * w % q
        out.append(list(a))
        t *= 2
    out.append([x * tb.n_inv % q for x in a])
    return out


def ntt_ref(a, q, n):
    return fwd_stage_arrays(a, q, n)[-1]


def intt_ref(a, q, n):
    return inv_stage_arrays(a, q, n)[-1]


def beats(arr, lanes, inverse):
    return [{"data": list(arr[r * lanes:(r + 1) * lanes]), "inverse": int(inverse)}
            for r in range(len(arr) // lanes)]


def flat(outputs):
    return [x for row in outputs for x in row]


def prime(n, width):
    return ntt_primes(n, width, 1)[0]


def test_reference_is_negacyclic_evaluation():
    """The test reference itself: NTT(a)[k] = a(psi^(2*bitrev(k)+1)) and INTT inverts it."""
    n, q = 16, prime(16, 20)
    tb = ntt_tables(q, n)
    a = [random.Random(1).randrange(q) for _ in range(n)]
    A = ntt_ref(a, q, n)
    for k in range(n):
        x = pow(tb.psi, 2 * bit_reverse(k, 4) + 1, q)
        assert A[k] == sum(c * pow(x, j, q) for j, c in enumerate(a)) % q
    assert intt_ref(A, q, n) == a


# ------------------------------------------------------------------ functional
CONFIGS = [  # n, lanes, width, multiplier
    (8, 1, 16, "barrett"), (8, 4, 32, "montgomery"), (16, 2, 64, "barrett"),
    (32, 8, 32, "barrett"), (64, 4, 16, "montgomery"), (128, 1, 32, "montgomery"),
    (256, 8, 32, "barrett"),
    (8, 2, 16, "shoup"), (16, 1, 32, "shoup"), (32, 4, 64, "shoup"), (64, 8, 32, "shoup"),
]


@pytest.mark.parametrize("n,lanes,width,multiplier", CONFIGS)
def test_forward_then_inverse_with_gaps_and_backpressure(n, lanes, width, multiplier):
    q = prime(n, width)
    rng = random.Random(n * lanes)
    a = [rng.randrange(q) for _ in range(n)]
    a[0], a[1], a[-1] = 0, q - 1, 1
    A = ntt_ref(a, q, n)
    b = [rng.randrange(q) for _ in range(n)]
    dut = NttUnit(n, q, width, lanes, multiplier)
    # three back-to-back transforms through one unit: forward a, inverse A, forward b
    stream = beats(a, lanes, 0) + beats(A, lanes, 1) + beats(b, lanes, 0)
    run = run_stream(dut, stream, 3 * n // lanes, p_gap=0.3, p_stall=0.4, seed=n)
    out = flat(run.outputs)
    assert out[:n] == A
    assert out[n:2 * n] == a
    assert out[2 * n:] == ntt_ref(b, q, n)
    assert all(0 <= x < q for x in out)


@pytest.mark.parametrize("n,lanes,multiplier", [(8, 1, "barrett"), (16, 2, "montgomery"),
                                                 (32, 4, "barrett"), (64, 8, "montgomery"),
                                                 (128, 2, "barrett"), (8, 1, "shoup"),
                                                 (32, 4, "shoup"), (64, 2, "shoup")])
def test_timing_properties_exact(n, lanes, multiplier):
    q = prime(n, 30)
    dut = NttUnit(n, q, 32, lanes, multiplier)
    rng = random.Random(2)
    a = [rng.randrange(q) for _ in range(n)]
    R = n // lanes
    run = run_stream(dut, beats(a, lanes, 0) + beats(a, lanes, 1), 2 * R)
    assert flat(run.outputs[:R]) == ntt_ref(a, q, n)
    assert flat(run.outputs[R:]) == intt_ref(a, q, n)
    # input and output each move one beat per edge when never stalled
    assert run.in_edges[:R] == list(range(run.in_edges[0], run.in_edges[0] + R))
    assert run.out_edges[:R] == list(range(run.out_edges[0], run.out_edges[0] + R))
    assert run.out_edges[0] - run.in_edges[R - 1] == dut.latency
    assert run.out_edges[R - 1] - run.in_edges[0] + 1 == dut.cycles_per_transform
    assert run.in_edges[R] - run.in_edges[0] == dut.initiation_interval
    # the inverse transform has exactly the same timing
    assert run.out_edges[R] - run.in_edges[2 * R - 1] == dut.latency
    assert run.out_edges[2 * R - 1] - run.in_edges[R] + 1 == dut.cycles_per_transform
    assert dut.stages == n.bit_length() - 1
    assert dut.throughput == n / dut.cycles_per_transform
    T = n // (2 * lanes) + dut.butterfly_latency + 1
    assert dut.latency == dut.stages * T + dut.scaler_latency + 2
    assert dut.cycles_per_transform == 2 * R + dut.stages * T + dut.scaler_latency + 1
    # by hand: Barrett / Montgomery Lb = 6, Lm = 4; Shoup Lb = 5, Lm = 3
    Lb, Lm = (5, 3) if multiplier == "shoup" else (6, 4)
    assert (dut.butterfly_latency, dut.scaler_latency) == (Lb, Lm)
    B, log_n = n // (2 * lanes), n.bit_length() - 1
    assert dut.stage_cycles == B + Lb + 1
    assert dut.latency == log_n * (B + Lb + 1) + Lm + 2
    assert dut.initiation_interval == 2 * R + log_n * (B + Lb + 1)


@pytest.mark.parametrize("phase", ["load", "compute", "unload"])
def test_reset_mid_transform(phase):
    n, lanes, width = 32, 2, 32
    q = prime(n, width)
    dut = NttUnit(n, q, width, lanes)
    R = n // lanes
    rng = random.Random(7)
    x = [rng.randrange(q) for _ in range(n)]
    y = [rng.randrange(q) for _ in range(n)]
    if phase == "load":
        cut, delay = R // 2, 2
    elif phase == "compute":
        cut, delay = R, dut.stages * dut.stage_cycles // 2
    else:
        cut, delay = R, dut.latency + 4
    stream = beats(x, lanes, 0)[:cut] + beats(y, lanes, 1)
    run = run_stream(dut, stream, R, p_stall=0.3, reset_after=cut, reset_delay=delay, seed=3)
    assert flat(run.outputs) == intt_ref(y, q, n)


# ------------------------------------------------------------------ debug tap and fault injection
def collect_stage_arrays(dut, stream, n_out):
    """Run with the debug tap and rebuild the memory image after every stage."""
    n, P, R = dut.n, dut.lanes, dut.rows
    writes = {}

    def on_cycle(ctx, edge):
        if ctx.get(dut.dbg.valid):
            s = ctx.get(dut.dbg.stage)
            for row_f, data_f in (("row_a", "data_a"), ("row_b", "data_b")):
                row = ctx.get(getattr(dut.dbg, row_f))
                vals = [ctx.get(getattr(dut.dbg, data_f)[k]) for k in range(P)]
                assert row not in writes.setdefault(s, {}), "row written twice in one stage"
                writes[s][row] = vals

    run = run_stream(dut, stream, n_out, p_gap=0.2, p_stall=0.3, on_cycle=on_cycle, seed=11)
    arrays = []
    for s in range(dut.stages):
        assert sorted(writes[s]) == list(range(R))
        arrays.append([writes[s][r][k] for r in range(R) for k in range(P)])
    return run, arrays


@pytest.mark.parametrize("n,lanes,multiplier", [(16, 1, "barrett"), (32, 4, "montgomery"),
                                                 (64, 8, "barrett"), (32, 4, "shoup")])
def test_debug_tap_matches_textbook_stages(n, lanes, multiplier):
    q = prime(n, 31)
    dut = NttUnit(n, q, 32, lanes, multiplier, debug=True)
    rng = random.Random(n)
    a = [rng.randrange(q) for _ in range(n)]
    _, arrays = collect_stage_arrays(dut, beats(a, lanes, 0), n // lanes)
    assert arrays == fwd_stage_arrays(a, q, n)
    dut = NttUnit(n, q, 32, lanes, multiplier, debug=True)
    run, arrays = collect_stage_arrays(dut, beats(a, lanes, 1), n // lanes)
    ref = inv_stage_arrays(a, q, n)
    assert arrays == ref[:-1]
    assert flat(run.outputs) == ref[-1]


@pytest.mark.parametrize("address", [1, 5, 12])
def test_fault_injection_twiddle(address):
    n, lanes = 16, 2
    q = prime(n, 31)
    dut = NttUnit(n, q, 32, lanes, fault={"twiddle_address": address}, debug=True)
    assert dut.twiddle_table_words()[address] == ntt_tables(q, n).fwd[address] ^ 1
    a = [random.Random(address).randrange(1, q) for _ in range(n)]
    run, arrays = collect_stage_arrays(dut, beats(a, lanes, 0), n // lanes)
    good = fwd_stage_arrays(a, q, n)
    first_bad = next(s for s in range(dut.stages) if arrays[s] != good[s])
    assert first_bad == address.bit_length() - 1      # stage s uses fwd[2^s .. 2^(s+1)-1]
    assert flat(run.outputs) != good[-1]
    # the inverse table is untouched
    dut = NttUnit(n, q, 32, lanes, fault={"twiddle_address": address})
    run = run_stream(dut, beats(a, lanes, 1), n // lanes)
    assert flat(run.outputs) == intt_ref(a, q, n)


# ------------------------------------------------------------------ parameters and Verilog
@pytest.mark.parametrize("kwargs,word", [
    (dict(n=12, q=97, width=16, lanes=1), "n="),
    (dict(n=4, q=17, width=16, lanes=1), "n="),
    (dict(n=1 << 18, q=786433, width=32, lanes=1), "n="),
    (dict(n=8, q=97 * 113, width=16, lanes=1), "not prime"),
    (dict(n=8, q=65, width=16, lanes=1), "not prime"),
    (dict(n=16, q=113, width=16, lanes=1), "1 mod 2n"),
    (dict(n=8, q=65537, width=16, lanes=1), "width"),
    (dict(n=8, q=97, width=8, lanes=1), "width"),
    (dict(n=8, q=97, width=65, lanes=1), "width"),
    (dict(n=8, q=97, width=16, lanes=3), "lanes"),
    (dict(n=8, q=97, width=16, lanes=8), "lanes"),
    (dict(n=8, q=97, width=16, lanes=1, multiplier="karatsuba"), "multiplier='karatsuba'"),
    (dict(n=8, q=97, width=16, lanes=1, multiplier="SHOUP"), "multiplier='SHOUP'"),
    (dict(n=8, q=97, width=16, lanes=1, fault={"twiddle_address": 16}), "twiddle_address"),
    (dict(n=8, q=97, width=16, lanes=1, fault={"stuck": 1}), "unknown"),
    (dict(n=8, q=97, width=16, lanes=1, fault={}), "names no fault"),
    (dict(n=8, q=97, width=16, lanes=1, fault={"twiddle_address": 3, "twiddle_bit": 16}),
     "twiddle_bit"),
    (dict(n=8, q=97, width=16, lanes=1, multiplier="shoup",
          fault={"twiddle_address": 3, "twiddle_bit": 32}), "twiddle_bit"),
    (dict(n=8, q=97, width=16, lanes=1, fault={"butterfly_stage": 3, "butterfly_index": 0}),
     "butterfly_stage"),
    (dict(n=8, q=97, width=16, lanes=1, fault={"butterfly_stage": 0}), "butterfly_index"),
    (dict(n=8, q=97, width=16, lanes=1, fault={"butterfly_stage": 0, "butterfly_index": 8}),
     "butterfly_index"),
    (dict(n=8, q=97, width=16, lanes=1,
          fault={"butterfly_stage": 0, "butterfly_index": 1, "butterfly_bit": 16}), "butterfly_bit"),
    (dict(n=8, q=97, width=16, lanes=1,
          fault={"butterfly_stage": 0, "butterfly_index": 1, "butterfly_direction": "up"}),
     "butterfly_direction"),
    (dict(n=8, q=97, width=16, lanes=1, fault={"butterfly_index": 1}), "butterfly_stage"),
])
def test_bad_parameters(kwargs, word):
    with pytest.raises(ValueError, match=word):
        NttUnit(**kwargs)


def test_verilog_ports_and_packing():
    n, lanes, width = 16, 4, 16
    q = prime(n, width)
    dut = NttUnit(n, q, width, lanes)
    layout = dut.i.payload.shape()
    assert layout["data"].offset == 0 and layout["inverse"].offset == lanes * width
    assert [layout["data"].shape[k].offset for k in range(lanes)] == [k * width for k in range(lanes)]
    v = verilog.convert(dut, name="ntt")
    for decl in (f"input [{lanes * width}:0] i__payload;", "input i__valid;", "output i__ready;",
                 f"output [{lanes * width - 1}:0] o__payload;", "output o__valid;",
                 "input o__ready;", "input clk;", "input rst;"):
        assert decl in v


def test_twiddle_rom_layout():
    n, P = 32, 4
    q = prime(n, 31)
    dut = NttUnit(n, q, 32, P, "montgomery")
    tb = ntt_tables(q, n)
    mont = [w * (1 << 32) % q for w in tb.fwd + tb.inv]
    narrow, wide = dut.twiddle_rom_contents()
    R, B = n // P, n // (2 * P)
    assert narrow == mont[:R] + mont[n:n + R]
    assert len(wide) == 2 * 2 * B                       # 2 directions x log2(P) stages x B blocks
    assert wide[0] == [mont[16], mont[17], mont[18], mont[19]]         # t = 1, block 0
    assert wide[B + 1] == [mont[10], mont[10], mont[11], mont[11]]     # t = 2, block 1
    assert wide[2 * B] == [mont[n + 16 + k] for k in range(4)]         # inverse, t = 1
    assert NttUnit(n, q, 32, 1).twiddle_rom_contents() == (list(tb.fwd + tb.inv), [])


@pytest.mark.parametrize("n,lanes,multiplier", [(32, 2, "barrett"), (64, 4, "montgomery"),
                                                 (32, 2, "shoup"), (64, 8, "shoup"),
                                                 (16, 1, "shoup")])
def test_stages_equal_software_path(n, lanes, multiplier):
    """The RTL's per-stage memory equals sw.ntt's stage-by-stage arrays (the software path)."""
    from sw import ntt as sw_ntt

    q = prime(n, 30)
    a = [random.Random(n + 1).randrange(q) for _ in range(n)]
    for inverse, sw_stages in ((0, sw_ntt.forward_stages), (1, sw_ntt.inverse_stages)):
        dut = NttUnit(n, q, 32, lanes, multiplier, debug=True)
        run, arrays = collect_stage_arrays(dut, beats(a, lanes, inverse), n // lanes)
        ref = [[int(v) for v in st] for st in sw_stages(a, q)]
        assert arrays == ref[:dut.stages]
        assert flat(run.outputs) == ref[-1]


# ------------------------------------------------------------------ Shoup multiplier
def test_shoup_twiddle_roms_hold_companions():
    """With Shoup each stored twiddle is the 2W-bit word w | w' << W, w' = floor(w*2^W/q)
    (sw.ntt_tables' companions): twice the twiddle-ROM bits, same entries as Barrett."""
    n, P, W = 32, 4, 32
    q = prime(n, 31)
    tb = ntt_tables(q, n)
    dut = NttUnit(n, q, W, P, "shoup")
    comp = list(tb.fwd_shoup(W)) + list(tb.inv_shoup(W))
    assert dut.twiddle_table_words() == list(tb.fwd + tb.inv)
    assert dut.twiddle_companion_words() == comp == [(w << W) // q for w in tb.fwd + tb.inv]
    assert dut.twiddle_entries() == [w | (c << W) for w, c in zip(tb.fwd + tb.inv, comp)]
    narrow, small = dut.twiddle_roms()
    bnarrow, bsmall = NttUnit(n, q, W, P, "barrett").twiddle_roms()
    mask = (1 << W) - 1
    assert [e & mask for e in narrow] == bnarrow
    assert [[[e & mask for e in ent] for ent in rom] for rom in small] == bsmall
    assert [e >> W for e in narrow] == [(w << W) // q for w in bnarrow]
    assert dut.twiddle_rom_words == 4 * n and dut.memory_words == 5 * n
    assert dut.memory_shapes() == [("bank0", 4, P * W), ("bank1", 4, P * W),
                                   ("twiddle_rom_narrow", 16, 2 * W),
                                   ("twiddle_rom_t1", 8, 4 * 2 * W),
                                   ("twiddle_rom_t2", 8, 2 * 2 * W)]
    assert dut.twiddle_words == 2 and NttUnit(n, q, W, P).twiddle_words == 1
    one, ninv = dut.scale_constant_words()
    assert one == (1, (1 << W) // q) and ninv == (tb.n_inv, (tb.n_inv << W) // q)
    assert dut.scale_constants() == (1, tb.n_inv)
    assert NttUnit(n, q, W, P, "montgomery").scale_constant_words() == \
        (((1 << W) % q,), ((tb.n_inv << W) % q,))


@pytest.mark.parametrize("bit", [3, 32 + 5])
def test_shoup_twiddle_fault_value_or_companion(bit):
    """A twiddle fault flips a bit of the 2W-bit Shoup ROM word: bits >= W hit the companion."""
    n, P, W, addr = 16, 2, 32, 5
    q = prime(n, 31)
    tb = ntt_tables(q, n)
    dut = NttUnit(n, q, W, P, "shoup", fault={"twiddle_address": addr, "twiddle_bit": bit})
    good = NttUnit(n, q, W, P, "shoup")
    diff = [k for k, (x, y) in enumerate(zip(dut.twiddle_entries(), good.twiddle_entries()))
            if x != y]
    assert diff == [addr]
    assert dut.twiddle_entries()[addr] ^ good.twiddle_entries()[addr] == 1 << bit
    if bit < W:
        assert dut.twiddle_table_words()[addr] == tb.fwd[addr] ^ (1 << bit)
        assert dut.twiddle_companion_words() == good.twiddle_companion_words()
    else:
        assert dut.twiddle_table_words() == good.twiddle_table_words()
        assert dut.twiddle_companion_words()[addr] == (tb.fwd[addr] << W) // q ^ (1 << (bit - W))


# ------------------------------------------------------------------ butterfly-output fault
def sw_stage_arrays(a, q, inverse):
    from sw import ntt as sw_ntt
    f = sw_ntt.inverse_stages if inverse else sw_ntt.forward_stages
    return [[int(v) for v in st] for st in f(a, q)]


@pytest.mark.parametrize("n,lanes,multiplier,inverse,stage,index,bit", [
    (16, 2, "barrett", 0, 0, 5, 0),
    (16, 1, "barrett", 1, 3, 15, 29),
    (32, 4, "montgomery", 0, 2, 13, 7),
    (32, 4, "shoup", 1, 1, 2, 31),
    (32, 8, "shoup", 0, 4, 31, 3),       # t = 1 < P: the permuted crossbar of the last stage
])
def test_butterfly_output_fault_pinpointed(n, lanes, multiplier, inverse, stage, index, bit):
    """A bit flip on one butterfly output: the debug tap shows every stage before it equal to
    the sw golden model's stage arrays, and stage ``stage`` different in exactly element
    ``index``, by 2^bit."""
    q = prime(n, 30)
    rng = random.Random(n + stage + index)
    a = [rng.randrange(q) for _ in range(n)]
    fault = {"butterfly_stage": stage, "butterfly_index": index, "butterfly_bit": bit}
    dut = NttUnit(n, q, 32, lanes, multiplier, fault=fault, debug=True)
    assert dut.fault == {**fault, "butterfly_direction": "both"}
    _, arrays = collect_stage_arrays(dut, beats(a, lanes, inverse), n // lanes)
    ref = sw_stage_arrays(a, q, inverse)
    assert arrays[:stage] == ref[:stage]
    bad = [k for k in range(n) if arrays[stage][k] != ref[stage][k]]
    assert bad == [index]
    assert arrays[stage][index] == ref[stage][index] ^ (1 << bit)


def test_butterfly_output_fault_direction():
    """A fault restricted to one direction leaves the other direction exact."""
    n, lanes = 16, 2
    q = prime(n, 30)
    a = [random.Random(4).randrange(q) for _ in range(n)]
    fault = {"butterfly_stage": 1, "butterfly_index": 6, "butterfly_bit": 2,
             "butterfly_direction": "forward"}
    dut = NttUnit(n, q, 32, lanes, fault=fault)
    run = run_stream(dut, beats(a, lanes, 1) + beats(a, lanes, 0), 2 * n // lanes)
    out = flat(run.outputs)
    assert out[:n] == intt_ref(a, q, n)          # inverse: untouched
    assert out[n:] != ntt_ref(a, q, n)           # forward: faulty


def test_fault_logic_only_when_asked():
    """A fault is elaboration-time: without one the Verilog has no fault logic and does not
    depend on how 'no fault' was spelled; a butterfly fault adds the named XOR logic; a
    twiddle fault changes only ROM contents."""
    n, lanes, width = 16, 2, 32
    q = prime(n, width)
    base = verilog.convert(NttUnit(n, q, width, lanes), name="ntt")
    assert verilog.convert(NttUnit(n, q, width, lanes, fault=None), name="ntt") == base
    assert "fault" not in base
    bf = verilog.convert(NttUnit(n, q, width, lanes, fault={"butterfly_stage": 1,
                                                           "butterfly_index": 3}), name="ntt")
    assert "fault_bf_hit" in bf and "fault_wb_a" in bf
    tw = verilog.convert(NttUnit(n, q, width, lanes, fault={"twiddle_address": 3}), name="ntt")
    assert "fault" not in tw
    assert len(tw.splitlines()) == len(base.splitlines()) and tw != base
