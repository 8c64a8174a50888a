"""Roll-up of a small synthetic workload, computed by hand; trace adapter; CLI.

Configuration (ASIC, so all 4,096 on-chip bytes hold data): 100 MHz, 32-bit words
(4 bytes), off-chip 0.4 GB/s = 4 bytes per cycle. NTT: 2 units, P = 2 lanes; at n = 16
an NttUnit has cycles_per_transform 65 and initiation interval 60 (derivation in
tests/test_cycle_units.py). modmul, modadd and automorphism: 1 unit x 4 lanes; bconv:
1 unit x 8 lanes. modmul and modadd are ``hw.elementwise.ElementwiseUnit`` lanes (latency
4 + 1 = 5, one beat per cycle); the basis conversion unit has latency 9 and takes 8
coefficients of all limbs per cycle; the automorphism unit (P = 4 banks) has initiation
interval n/P = 4 and cycles_per_row 2 * 4 + 1 = 9.
"""
from __future__ import annotations

import json

import pytest

from sim.cli import main as cli_main
from sim.cycle.adapters import ops_from_trace
from sim.cycle.config import loads_config
from sim.cycle.events import Kernel, KeyUse, Op
from sim.cycle.model import KeyCache, estimate
from sw import trace

CFG_TEXT = """
name = "tiny"
clock_mhz = 100
word_bits = 32
lanes = 4
on_chip_bytes = 4096
off_chip_gbps = 0.4
[units]
ntt = { count = 2, lanes = 2 }
modmul = 1
modadd = 1
bconv = { count = 1, lanes = 8 }
automorphism = 1
"""
N = 16


@pytest.fixture(scope="module")
def cfg():
    return loads_config(CFG_TEXT)


def _ops():
    relin = KeyUse("relin", digits=2, primes=3, special=1)   # 2*2*(3+1)*16 words = 1024 B
    return [
        # A: compute-bound, ciphertexts resident (4*3 + 2*3 rows * 16 * 4 B = 1,152 B <= 4,096)
        Op("cmult", N, 3, 3, label="layer1", ct_in_polys=4, ct_out_polys=2, kernels=[
            Kernel("ntt", N, 3),                       # ceil(3/2)=2 * 60 = 120, fill 5
            Kernel("modmul", N, 3),                    # 48/4 = 12, fill 5
            Kernel("modadd", N, 3),                    # 12, fill 5
            Kernel("bconv", N, 3, src_primes=2, dst_primes=3),  # 16*2*(3+1) multiplies / 8 = 16, fill 9
            Kernel("automorphism", N, 3),              # 3 rows * II 4 = 12, fill 9 - 4 = 5
        ]),
        # B: first use of the relin key (1,024 B) + one plaintext (3*16*4 = 192 B):
        #    1,216 B / 4 = 304 transfer cycles > 12 compute -> memory-bound, 304 + 5
        Op("pmult", N, 3, 3, label="layer1", ct_in_polys=2, ct_out_polys=2, pt_polys=1,
           keys=[relin], kernels=[Kernel("modmul", N, 3)]),
        # C: relin key now on chip; plaintext 192 B -> 48 cycles > 12 -> memory, 48 + 5
        Op("pmult", N, 3, 3, label="layer2", ct_in_polys=2, ct_out_polys=2, pt_polys=1,
           keys=[relin], kernels=[Kernel("modmul", N, 3)]),
        # D: (2*40 + 2*40) rows * 16 * 4 B = 10,240 B > 4,096: read + written off chip:
        #    2,560 cycles > 640/4 = 160 -> memory, 2,560 + 5
        Op("add", N, 40, 40, label="layer2", ct_in_polys=2, ct_out_polys=2,
           kernels=[Kernel("modadd", N, 40)]),
        # E: a key of unknown identity is always loaded: 1,024 B -> 256 cycles, twice
        Op("rotate", N, 3, 3, label="layer2", ct_in_polys=2, ct_out_polys=2,
           keys=[KeyUse(None, 2, 3, 1)], kernels=[Kernel("automorphism", N, 3)]),
        Op("rotate", N, 3, 3, label="layer2", ct_in_polys=2, ct_out_polys=2,
           keys=[KeyUse(None, 2, 3, 1)], kernels=[Kernel("automorphism", N, 3)]),
    ]


def test_roll_up_by_hand(cfg):
    est = estimate(_ops(), cfg)
    ops = est.ops
    assert list(ops["compute_cycles"]) == [172, 12, 12, 160, 12, 12]
    assert list(ops["fill_cycles"]) == [29, 5, 5, 5, 5, 5]
    assert list(ops["offchip_bytes"]) == [0, 1216, 192, 10240, 1024, 1024]
    assert list(ops["key_offchip_bytes"]) == [0, 1024, 0, 0, 1024, 1024]
    assert list(ops["transfer_cycles"]) == [0, 304, 48, 2560, 256, 256]
    assert list(ops["cycles"]) == [201, 309, 53, 2565, 261, 261]
    assert list(ops["bound"]) == ["compute", "memory", "memory", "memory", "memory", "memory"]
    # every kernel kind is costed from an RTL unit's properties
    assert list(ops["rtl_backed"]) == [True] * 6
    assert est.total_cycles == 201 + 309 + 53 + 2565 + 261 + 261 == 3650
    assert est.total_seconds == pytest.approx(3650 / 100e6)

    lab = est.by_label().set_index("label")
    assert lab.loc["layer1", "cycles"] == 510 and lab.loc["layer2", "cycles"] == 3140
    assert lab.loc["layer2", "memory_bound_ops"] == 4 and lab.loc["layer1", "count"] == 2
    assert lab["share"].sum() == pytest.approx(1.0)

    ker = est.by_kernel().set_index("kernel")
    # modadd: 12 + 5 (A) and 160 + 5 (D); automorphism: (12 + 5) * 3; bconv: 16 + 9
    assert ker.loc["modadd", "cycles"] == 182 and ker.loc["automorphism", "cycles"] == 51
    assert ker.loc["bconv", "cycles"] == 25
    assert ker.loc["bconv", "rtl_backed"] and ker.loc["ntt", "rtl_backed"]
    tot = est.total()
    assert (tot["memory_bound_ops"], tot["compute_bound_ops"]) == (5, 1)
    assert tot["not_rtl_backed"] == []
    assert not any("not RTL-backed" in note for note in est.notes)


def test_key_cache_lru_by_hand():
    cache = KeyCache()
    assert cache.access("a", 1024, 2000) == 1024      # miss
    assert cache.access("a", 1024, 2000) == 0         # hit
    assert cache.access("b", 1024, 2000) == 1024      # evicts a (2,048 > 2,000)
    assert cache.access("a", 1024, 2000) == 1024      # a was evicted
    assert cache.access("c", 4096, 2000) == 4096 and cache.used <= 2000  # too big to keep
    assert cache.access(None, 10, 2000) == 10 and cache.access(None, 10, 2000) == 10


def test_adapter_from_recorded_trace(cfg):
    # Built with the real recorder API of sw.trace (what the CKKS layer calls).
    with trace.recording(dry_run=True) as rec:
        with trace.stage("blk"):
            with trace.op("rotate", n=N, primes_in=3, primes_out=3, galois=5):
                with trace.op("keyswitch", n=N, primes_in=3, primes_out=3):
                    with trace.op("modup", n=N, primes_in=3, primes_out=4):
                        trace.report_kernel("intt", 3, N)
                        trace.report_kernel("bconv", 3, N, src_primes=2, dst_primes=3, count=2)
                        trace.report_kernel("ntt", 4, N, count=2)
                    trace.report_kernel("modmul", 4, N, count=2)
                    with trace.op("moddown", n=N, primes_in=4, primes_out=3):
                        trace.report_kernel("bconv", 3, N, src_primes=1, dst_primes=3)
                trace.report_kernel("automorphism", 3, N)
            with trace.op("encode", n=N, primes_in=3, primes_out=3):
                trace.report_kernel("ntt", 3, N)
    ops, notes = ops_from_trace(rec)
    assert notes == ["skipped 1 client-side 'encode' event(s)"]
    (op,) = ops
    assert (op.kind, op.label, op.n, op.primes_in, op.ct_in_polys, op.ct_out_polys) == \
        ("rotate", "blk", N, 3, 2, 2)
    assert [k.kind for k in op.kernels] == ["automorphism", "modmul", "intt", "bconv", "ntt", "bconv"]
    # digits = the modup bconv's count (2); special = moddown bconv's source primes (1)
    assert op.keys == [KeyUse("galois:5", 2, 3, 1)]
    # the JSON form gives the same ops
    ops2, _ = ops_from_trace(rec.to_json())
    assert ops2[0].kernels == op.kernels and ops2[0].keys == op.keys

    est = estimate(ops, cfg)
    # automorphism 3 rows * 4 = 12, fill 5; modmul 8 rows*16/4 = 32 + 5; intt ceil(3/2)*60
    # = 120 + 5; bconv 2*16 coefficients * 2*(3+1) multiplies / 8 = 32, fill 9; ntt 8 rows ->
    # 4*60 = 240 + 5; bconv 16 * 1*(3+1) / 8 = 8, fill 9
    assert est.ops.loc[0, "compute_cycles"] == 12 + 32 + 120 + 32 + 240 + 8 == 444
    assert est.ops.loc[0, "fill_cycles"] == 5 + 5 + 5 + 9 + 5 + 9 == 38
    # key 2*2*(3+1)*16 words * 4 B = 1,024 B -> 256 cycles < 444: compute-bound
    assert est.ops.loc[0, "cycles"] == 482 and est.ops.loc[0, "bound"] == "compute"


def test_cli_estimate_trace_json(tmp_path, capsys):
    cfg_path = tmp_path / "tiny.toml"
    cfg_path.write_text(CFG_TEXT)
    with trace.recording(dry_run=True) as rec:
        with trace.op("add", n=N, primes_in=40, primes_out=40):
            trace.report_kernel("modadd", 40, N)
    trace_path = tmp_path / "t.json"
    rec.to_json(str(trace_path))
    assert cli_main(["estimate", "--config", str(cfg_path), "--trace", str(trace_path), "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    # the adapter's 'add' reads two ciphertexts (4 polys) and writes one (2 polys):
    # (4*40 + 2*40) rows * 16 * 4 B = 15,360 B > 4,096 -> 3,840 transfer cycles > 160
    # compute (640 adds / 4 lanes); + elementwise unit fill 5 = 3,845, memory-bound
    assert out["total"]["cycles"] == 3845 and out["total"]["memory_bound_ops"] == 1
    assert out["config"]["name"] == "tiny" and out["top_ops"][0]["op"] == "add"
    assert not any("not RTL-backed" in n for n in out["notes"])   # modadd: ElementwiseUnit


def test_cli_reports_bad_config(tmp_path, capsys):
    p = tmp_path / "bad.toml"
    p.write_text(CFG_TEXT.replace("clock_mhz = 100", "clock_mhz = -1"))
    assert cli_main(["estimate", "--config", str(p), "--workload", "cmult"]) == 2
    assert "'clock_mhz' must not be negative" in capsys.readouterr().err


def test_builtin_workload_cmult_key_and_ciphertext_bytes(capsys):
    # The parameter set is read, not hard-coded (it is being extended by the CKKS owner):
    # L = primes at the top level, dnum digits, alpha = len(p_primes) special primes.
    from sim.cycle import load_config
    from sim.cycle.workloads import workload_ops
    from sw.ckks import get_params

    params = get_params("n16-128")
    L, d, a = len(params.q_primes), len(params.digits_at(params.max_level)), len(params.p_primes)
    ops, notes = workload_ops("cmult")
    assert [o.kind for o in ops] == ["cmult"]          # the rescale is fused into the relinearisation
    assert ops[0].keys == [KeyUse("relin", d, L, a)]
    assert "not a neural-network trace" in notes[0]
    cfg = load_config("u280")
    est = estimate(ops, cfg)
    row = est.ops.iloc[0]
    # relin key: d * 2 * (L + alpha) * 2^16 words * 4 B, far more than the u280's data
    # capacity: loaded in full
    assert row["key_offchip_bytes"] == d * 2 * (L + a) * 65536 * 4 > cfg.data_capacity_bytes
    # cmult reads two ciphertexts and writes one, rescaled (the top group of k primes
    # dropped): (4 L + 2 (L - k)) * 2^16 * 4 B
    k = len(params.q_groups[params.max_level])
    assert row["ct_bytes"] == row["ct_offchip_bytes"] == (4 * L + 2 * (L - k)) * 65536 * 4
    assert cli_main(["estimate", "--config", "u280", "--workload", "cmult", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["total"]["cycles"] == est.total_cycles and out["workload"] == "cmult"
