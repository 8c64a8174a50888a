"""HW-vs-SW compare (issue 7): capture a real multiply-and-rotate, replay it on the RTL.

* capture (``fhesim capture``): the trace file holds every NTT / INTT / modmul call of
  ``rotate(rescale(mul(a, b)), 1)`` at toy-n10 level 2 (including the per-digit products of
  the fused key-switching inner products), with consistent stage arrays;
* replay: all kernels of one prime (transforms through the NTT unit with its debug tap,
  products through the multiplier) give zero mismatches on every stage and word; the
  Montgomery multiplier, fed the documented operand form, gives the same products;
* fault injection: an NTT unit built with one flipped twiddle bit (forward and inverse
  table) is pinpointed at exactly the stage and element the butterfly arithmetic predicts,
  with the faulty value the wrong twiddle produces, and a waveform of the rerun; one built
  with one flipped bit on a butterfly output (stage s, index i, bit b) is pinpointed at
  exactly (s, i), expected = the software stage value, actual = expected XOR 2^b.
"""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from sim.cli import main as fhesim
from sim.compare import tracefile
from sim.compare.engine import CompareOptions, compare
from sw import ntt as swntt
from sw.ntt_tables import ntt_tables

pytestmark = [pytest.mark.rtl, pytest.mark.slow]

N = 1024
LOG_N = 10


@pytest.fixture(scope="module")
def trace_path(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("compare") / "mulrot.npz"
    assert fhesim(["capture", "--params", "toy-n10", "--program", "mulrot", "--level", "2",
                   "--out", str(path), "--json"]) == 0
    return path


@pytest.fixture(scope="module")
def trace(trace_path):
    return tracefile.load(trace_path)


def _q_small(trace) -> int:
    """The prime that the rescale drops (its INTT is a one-row call): 5 transforms, 8 product
    rows (4 tensor products, 2 key-switching inner-product rows, 2 ModDown sub-muls)."""
    return next(k for k in trace.kernels if k.kind == "intt" and k.op_path == "rescale").primes[0]


def test_capture_file(trace, trace_path):
    man = tracefile.read_manifest(trace_path)
    assert man["format"] == "fhesim-hwtrace" and man["version"] == 1
    assert man["params"] == "toy-n10" and man["insecure"] is True and man["n"] == N
    assert man["ops"] == ["cmult", "rescale", "rotate"]
    assert man["check"]["max_abs_error"] < 2 ** -10      # the captured run really decrypts
    # level 2: 4 Q primes + 4 special primes; 1 digit -> one NTT/INTT per ModUp / ModDown
    counts = trace.counts()
    assert counts["ntt"] == {"kernels": 8, "rows": 28}
    assert counts["intt"] == {"kernels": 8, "rows": 25}
    # modmul: tensor product 4 x 4 rows; relin inner product 2 x 1 digit x (4 + 4) rows;
    # ModDown 2 x 4; rescale 2 x 3; rotate inner product 2 x 1 x (3 + 4); ModDown 2 x 3
    assert counts["modmul"] == {"kernels": 12, "rows": 16 + 16 + 8 + 6 + 14 + 6}
    assert len(trace.primes()) == 8
    mm = [k for k in trace.kernels if k.kind == "modmul"]
    assert [k.form for k in mm] == ["mul"] * 5 + ["submulconst"] * 4 + ["mul"] + ["submulconst"] * 2
    ks = [k for k in mm if k.op == "keyswitch"]
    assert [(k.op_path, k.rows) for k in ks] == [("cmult/relin/keyswitch", 16), ("rotate/keyswitch", 14)]
    for k in ks:                       # rows: key half (b, a) x primes; 1 digit at level 2
        R = k.rows // 2
        assert k.primes[:R] == k.primes[R:]
        assert np.array_equal(k.arrays["a"][:R], k.arrays["a"][R:])
    for k in trace.kernels:
        assert k.op_path.split("/")[0] in ("cmult", "rescale", "rotate")
        for r, q in enumerate(k.primes):
            if k.kind == "modmul":
                a, b = k.arrays["a"][r], k.arrays["b"][r]
                ref = [int(x) * int(y) % q for x, y in zip(a[:64].tolist(), b[:64].tolist())]
                assert k.arrays["output"][r, :64].tolist() == ref
            else:
                f = swntt.forward if k.kind == "ntt" else swntt.inverse
                assert np.array_equal(f(k.arrays["input"][r], q), k.arrays["output"][r])
                st = k.arrays["stages"][r]
                assert st.shape == (LOG_N, N)
                if k.kind == "ntt":
                    assert np.array_equal(st[-1], k.arrays["output"][r])
                else:
                    ninv = ntt_tables(q, N).n_inv
                    assert [int(x) * ninv % q for x in st[-1][:32].tolist()] == \
                        k.arrays["output"][r, :32].tolist()


def test_trace_file_checks(trace_path, tmp_path):
    bad = tmp_path / "bad.npz"
    with np.load(trace_path) as z:
        arrays = {k: z[k] for k in z.files}
    man = json.loads(bytes(arrays["manifest"]).decode())
    man["version"] = 99
    arrays["manifest"] = np.frombuffer(json.dumps(man).encode(), np.uint8)
    np.savez(bad, **arrays)
    with pytest.raises(tracefile.TraceFormatError, match="version 99"):
        tracefile.load(bad)
    assert fhesim(["compare", "--trace", str(bad)]) == 2
    assert fhesim(["compare", "--trace", str(tmp_path / "missing.npz")]) == 2


def test_replay_one_prime_zero_mismatches(trace, trace_path, capsys):
    """Every kernel row of one prime: 5 transforms (stage by stage) and 8 product rows."""
    q = _q_small(trace)
    assert fhesim(["compare", "--trace", str(trace_path), "--primes", str(q), "--jobs", "1",
                   "--json"]) == 0
    rep = json.loads(capsys.readouterr().out)
    assert rep["pass"] and rep["first_mismatch"] is None
    assert rep["primes"] == 1 and rep["per_prime"][0]["q"] == q
    tr_rows = sum(1 for k in trace.kernels if k.kind != "modmul" for p in k.primes if p == q)
    mm_rows = sum(1 for k in trace.kernels if k.kind == "modmul" for p in k.primes if p == q)
    assert (tr_rows, mm_rows) == (5, 8)
    assert rep["totals"]["vectors"] == tr_rows + mm_rows
    assert rep["totals"]["mismatches"] == 0
    assert rep["totals"]["words"] == tr_rows * (LOG_N + 1) * N + mm_rows * N
    assert {k["kind"] for k in rep["kernels"]} == {"ntt", "intt", "modmul"}


def test_replay_montgomery_products(trace):
    """The Montgomery multiplier, fed (a, b*2^W mod q), reproduces the software products."""
    q = _q_small(trace)
    mul_ids = tuple(k.id for k in trace.kernels if k.kind == "modmul" and k.form == "mul")[:1]
    rep = compare(trace, CompareOptions(multiplier="montgomery", primes=(q,), kernels=mul_ids))
    assert rep["pass"], rep["first_mismatch"]
    assert rep["totals"] == {"kernels": 1, "vectors": 1, "words": N, "mismatches": 0}


def _stage_input(k, r, s):
    """The array entering stage ``s`` of row ``r`` of transform kernel ``k``."""
    return k.arrays["input"][r] if s == 0 else k.arrays["stages"][r][s - 1]


@pytest.mark.parametrize("direction,addr,bit", [("forward", 37, 3), ("inverse", N + 300, 0)])
def test_fault_injection_pinpoints_stage_and_index(trace, direction, addr, bit):
    q = _q_small(trace)
    kind = "ntt" if direction == "forward" else "intt"
    k = next(k for k in trace.kernels if k.kind == kind and q in k.primes)
    r = k.primes.index(q)
    tab = ntt_tables(q, N)
    # where the butterfly arithmetic says the wrong twiddle first shows
    if direction == "forward":     # CT stage s uses fwd[2^s + i] for group i of half-size t
        s = addr.bit_length() - 1
        t, i = N >> (s + 1), addr - (1 << s)
        w_bad = tab.fwd[addr] ^ (1 << bit)
        prev = _stage_input(k, r, s)
        a, b = int(prev[2 * i * t]), int(prev[2 * i * t + t])
        assert b != 0                  # (else this butterfly's x output would not change)
        index, actual = 2 * i * t, (a + w_bad * b) % q
    else:                          # GS stage s uses inv[n/2^(s+1) + i], half-size t = 2^s
        kk = addr - N
        s = LOG_N - 1 - (kk.bit_length() - 1)
        t, i = 1 << s, kk - (N >> (s + 1))
        w_bad = tab.inv[kk] ^ (1 << bit)
        prev = _stage_input(k, r, s)
        a, b = int(prev[2 * i * t]), int(prev[2 * i * t + t])
        assert a != b
        index, actual = 2 * i * t + t, (a - b) * w_bad % q
    rep = compare(trace, CompareOptions(fault=(addr, bit), primes=(q,), kernels=(k.id,)))
    assert not rep["pass"]
    f = rep["first_mismatch"]
    assert (f["kernel"], f["kind"], f["prime"], f["row"]) == (k.id, kind, q, r)
    assert (f["stage"], f["index"]) == (s, index)
    assert f["expected"] == int(k.arrays["stages"][r][s][index])
    assert f["actual"] == actual != f["expected"]
    per_stage = f["mismatched_words_per_stage"]
    assert per_stage[:s] == [0] * s and per_stage[s] > 0
    # only the faulty group differs in the faulty stage: at most its 2t elements
    assert per_stage[s] <= 2 * t
    w = f["waveform"]
    assert w["reproduced"] and (w["stage"], w["index"]) == (s, index)
    assert Path(w["file"]).is_file() and Path(w["file"]).stat().st_size > 0
    assert isinstance(w["cycle"], int) and w["cycle"] > 0


@pytest.mark.parametrize("direction,stage,index,bit,cli", [
    ("forward", 3, 517, 30, False),
    ("inverse", 6, 77, 0, True),
])
def test_butterfly_output_fault_pinpointed(trace, trace_path, capsys, direction, stage, index,
                                           bit, cli):
    """A bit flip on one butterfly output is reported at exactly that stage and index, with
    the software model's value as expected and that value XOR 2^bit as actual."""
    q = _q_small(trace)
    kind = "ntt" if direction == "forward" else "intt"
    k = next(k for k in trace.kernels if k.kind == kind and q in k.primes)
    r = k.primes.index(q)
    if cli:
        assert fhesim(["compare", "--trace", str(trace_path), "--primes", str(q),
                       "--kernels", str(k.id), "--jobs", "1", "--json",
                       "--inject-butterfly-fault", f"{stage}:{index}:{bit}:{direction}"]) == 1
        rep = json.loads(capsys.readouterr().out)
    else:
        rep = compare(trace, CompareOptions(butterfly_fault=(stage, index, bit, direction),
                                            primes=(q,), kernels=(k.id,)))
    assert not rep["pass"]
    assert rep["rtl"]["fault"] == {"butterfly_stage": stage, "butterfly_index": index,
                                   "butterfly_bit": bit, "butterfly_direction": direction,
                                   "primes": None}
    f = rep["first_mismatch"]
    assert (f["kernel"], f["kind"], f["prime"], f["row"]) == (k.id, kind, q, r)
    assert (f["stage"], f["index"]) == (stage, index)
    expected = int(k.arrays["stages"][r][stage][index])
    assert f["expected"] == expected
    assert f["actual"] == expected ^ (1 << bit)
    per_stage = f["mismatched_words_per_stage"]
    assert per_stage[:stage] == [0] * stage and per_stage[stage] == 1
    w = f["waveform"]
    assert w["reproduced"] and (w["stage"], w["index"]) == (stage, index)
    assert Path(w["file"]).is_file() and Path(w["file"]).stat().st_size > 0


def test_butterfly_fault_bad_arguments(trace_path, capsys):
    assert fhesim(["compare", "--trace", str(trace_path), "--inject-butterfly-fault", "3"]) == 2
    assert "STAGE:INDEX" in capsys.readouterr().err
    assert fhesim(["compare", "--trace", str(trace_path), "--primes", "12289",
                   "--inject-butterfly-fault", "x:1"]) == 2


def test_compare_refuses_unsupported_multiplier():
    """A Shoup product multiplier needs companions the replay does not make: refused, not
    silently replaced."""
    from sim.compare.engine import CompareOptions
    with pytest.raises(ValueError, match="'shoup' is not supported"):
        CompareOptions(multiplier="shoup")
