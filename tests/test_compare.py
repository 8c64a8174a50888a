"""HW-vs-SW compare (issues 7, 13): capture a real multiply-and-rotate, replay it on the RTL.

* capture (``fhesim capture``): the trace file holds every NTT / INTT / modmul / basis
  conversion / automorphism / multiply-accumulate call of ``rotate(rescale(mul(a, b)), 1)``
  at toy-n10 level 2 (the key-switching inner products as chains of multiply-accumulates,
  the exact conversions of ModDown and rescale as fast conversion + msub correction), with
  consistent stage arrays, checked here against Python-integer references;
* the key-switching units (BconvUnit, AutomorphismUnit, ElementwiseUnit) replay their
  kernels with zero mismatches; a bit flip injected in each is reported at exactly its
  place (unit, prime, index) with actual == expected ^ 2^bit; a trace whose golden output
  of such a kernel is tampered is refused (exit 3); version 1 files still load;
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
    assert man["format"] == "fhesim-hwtrace" and man["version"] == 2
    assert man["params"] == "toy-n10" and man["insecure"] is True and man["n"] == N
    assert man["ops"] == ["cmult", "rescale", "rotate"]
    assert man["check"]["max_abs_error"] < 2 ** -10      # the captured run really decrypts
    # level 2: 4 Q primes + 4 special primes; 1 digit -> one NTT/INTT per ModUp / ModDown
    counts = trace.counts()
    assert counts["ntt"] == {"kernels": 8, "rows": 28}
    assert counts["intt"] == {"kernels": 8, "rows": 25}
    # modmul: tensor product 4 x 4 rows; ModDown 2 x 4; rescale 2 x 3; rotate's ModDown 2 x 3
    assert counts["modmul"] == {"kernels": 10, "rows": 16 + 8 + 6 + 6}
    # bconv (destination rows): ModUp 4 (P); ModDown 2 x 4; rescale 2 x 3; rotate: ModUp 4,
    # ModDown 2 x 3
    assert counts["bconv"] == {"kernels": 8, "rows": 4 + 8 + 6 + 4 + 6}
    # automorphism: rotate's c0 and c1 (3 rows each), before its key switch
    assert counts["automorphism"] == {"kernels": 2, "rows": 3 + 3}
    # mac: inner products 2 x (4 + 4) and 2 x (3 + 4) rows (1 digit); msub corrections of the
    # exact conversions 2 x 4 + 2 x 3 + 2 x 3
    assert counts["mac"] == {"kernels": 8, "rows": 16 + 14 + 8 + 6 + 6}
    assert len(trace.primes()) == 8
    mm = [k for k in trace.kernels if k.kind == "modmul"]
    assert [k.form for k in mm] == ["mul"] * 4 + ["submulconst"] * 6
    ks = [k for k in trace.kernels if k.kind == "mac" and k.form == "mac"]
    assert [(k.op_path, k.rows) for k in ks] == [("cmult/relin/keyswitch", 16), ("rotate/keyswitch", 14)]
    for k in ks:                       # rows: key half (b, a) x primes; 1 digit at level 2
        R = k.rows // 2
        assert k.primes[:R] == k.primes[R:]
        assert np.array_equal(k.arrays["a"][:R], k.arrays["a"][R:])
        assert not k.arrays["acc"].any()           # the first digit starts from zero
    assert [k.form for k in trace.kernels if k.kind == "bconv"] == \
        ["fast"] + ["exact-fast"] * 4 + ["fast"] + ["exact-fast"] * 2
    # every exact-fast conversion is followed by its msub correction
    for i, k in enumerate(trace.kernels):
        if k.form == "exact-fast":
            m = trace.kernels[i + 1]
            assert (m.kind, m.form, m.primes) == ("mac", "msub", k.primes)
            assert np.array_equal(m.arrays["acc"], k.arrays["output"])
            Q = 1
            for q in k.src_primes:
                Q *= q
            for c in range(0, N, 131):      # fast - v Q is the centred representative
                X = _crt(k.arrays["input"][:, c].tolist(), k.src_primes)
                centred = X if 2 * X < Q else X - Q
                assert m.arrays["output"][:, c].tolist() == [centred % p for p in k.primes]
    for k in trace.kernels:
        assert k.op_path.split("/")[0] in ("cmult", "rescale", "rotate")
        if k.kind in ("bconv", "automorphism", "mac"):
            _check_unit_kernel(k)
            continue
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


def _crt(residues, primes) -> int:
    Q = 1
    for q in primes:
        Q *= q
    return sum(int(x) * (Q // q) * pow(Q // q, -1, q) for x, q in zip(residues, primes)) % Q


def _check_unit_kernel(k, cols=range(0, N, 97)) -> None:
    """A few coefficients of a bconv / automorphism / mac kernel against Python integers."""
    if k.kind == "bconv":
        src, Q = k.src_primes, 1
        for q in src:
            Q *= q
        for c in cols:
            x = [int(v) for v in k.arrays["input"][:, c]]
            fast = sum((xi * pow(Q // q, -1, q) % q) * (Q // q) for xi, q in zip(x, src))
            X = _crt(x, src)
            assert (fast - X) % Q == 0 and 0 <= (fast - X) // Q < len(src)
            for j, p in enumerate(k.primes):
                assert int(k.arrays["output"][j, c]) == fast % p
    elif k.kind == "automorphism":
        assert k.order == "eval"
        g = k.galois
        for r, q in enumerate(k.primes):
            a = swntt.inverse(k.arrays["input"][r], q).tolist()
            out = [0] * N
            for i, v in enumerate(a):       # a(X^g) in coefficients: X^(i g), X^n = -1
                e = i * g % (2 * N)
                out[e % N] = (out[e % N] + (v if e < N else -v)) % q
            assert np.array_equal(swntt.forward(np.array(out, dtype=np.uint64), q),
                                  k.arrays["output"][r])
    else:
        for r, q in enumerate(k.primes):
            for c in cols:
                a, b, acc = (int(k.arrays[x][r, c]) for x in ("a", "b", "acc"))
                want = (acc + a * b) % q if k.form == "mac" else (acc - a * b) % q
                assert int(k.arrays["output"][r, c]) == want


def _q0(trace) -> int:
    """The first prime of the chain: it has rows in every kernel kind."""
    return next(k for k in trace.kernels if k.kind == "modmul").primes[0]


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
    """Every kernel row of one prime: 5 transforms (stage by stage), 6 product rows, 4
    multiply-accumulate rows and the basis conversions into it (all their destination rows)."""
    q = _q_small(trace)
    assert fhesim(["compare", "--trace", str(trace_path), "--primes", str(q), "--jobs", "1",
                   "--json"]) == 0
    rep = json.loads(capsys.readouterr().out)
    assert rep["pass"] and rep["first_mismatch"] is None
    assert {pp["q"] for pp in rep["per_prime"]} == {q}
    # the conversions into q replay whole (all their destination rows)
    assert rep["primes"] == len({q} | {p for k in trace.kernels if k.kind == "bconv" and q in k.primes
                                       for p in k.primes})
    rows = {kind: sum(1 for k in trace.kernels if k.kind == kind for p in k.primes if p == q)
            for kind in ("ntt", "intt", "modmul", "mac", "automorphism")}
    bc = sum(k.rows for k in trace.kernels if k.kind == "bconv" and q in k.primes)
    assert (rows["ntt"] + rows["intt"], rows["modmul"], rows["mac"], rows["automorphism"], bc) == \
        (5, 6, 4, 0, 8)
    tr_rows = rows["ntt"] + rows["intt"]
    other = rows["modmul"] + rows["mac"] + bc
    assert rep["totals"]["vectors"] == tr_rows + other
    assert rep["totals"]["mismatches"] == 0
    assert rep["totals"]["words"] == tr_rows * (LOG_N + 1) * N + other * N
    assert {k["kind"] for k in rep["kernels"]} == {"ntt", "intt", "modmul", "mac", "bconv"}
    assert {k["unit"] for k in rep["kernels"]} == {"NttUnit", "BarrettMultiplier",
                                                   "ElementwiseUnit", "BconvUnit"}


def test_replay_key_switching_units_zero_mismatches(trace):
    """Every bconv / automorphism / mac row of q0 (and the conversions into it) on the units;
    the Montgomery elementwise unit, fed b in Montgomery form, too (one kernel)."""
    q = _q0(trace)
    ids = tuple(k.id for k in trace.kernels if k.kind in ("bconv", "automorphism", "mac"))
    rep = compare(trace, CompareOptions(kernels=ids, primes=(q,), waves=False))
    assert rep["pass"], rep["first_mismatch"]
    b = rep["by_kind"]
    assert set(b) == {"bconv", "automorphism", "mac"}
    assert b["automorphism"] == {"kernels": 2, "vectors": 2, "words": 2 * N, "mismatches": 0}
    assert b["mac"]["vectors"] == 2 * 2 + 2 + 2 + 2       # inner products (b, a) + msub
    assert b["bconv"]["kernels"] == 6 and b["bconv"]["mismatches"] == 0   # ModDowns, rescales
    mac = next(k.id for k in trace.kernels if k.kind == "mac")
    rep = compare(trace, CompareOptions(multiplier="montgomery", kernels=(mac,), primes=(q,),
                                        waves=False))
    assert rep["pass"] and rep["totals"]["vectors"] == 2


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


def test_mac_fault_pinpointed(trace):
    """A bit flip on lane 1 of the ElementwiseUnit: first mismatch at index 1 of the first
    mac row, actual = expected ^ 2^5, and a waveform of the rerun."""
    q = _q0(trace)
    k = next(k for k in trace.kernels if k.kind == "mac" and q in k.primes)
    r = k.primes.index(q)
    rep = compare(trace, CompareOptions(mac_fault=(1, 5), primes=(q,), kernels=(k.id,)))
    assert not rep["pass"] and rep["rtl"]["fault"]["mac_fault"] == {"lane": 1, "bit": 5}
    f = rep["first_mismatch"]
    assert (f["kernel"], f["kind"], f["unit"], f["prime"], f["row"], f["index"]) == \
        (k.id, "mac", "ElementwiseUnit", q, r, 1)
    expected = (int(k.arrays["acc"][r, 1]) + int(k.arrays["a"][r, 1]) * int(k.arrays["b"][r, 1])) % q
    assert f["expected"] == expected and f["actual"] == expected ^ (1 << 5)
    assert f["mismatched_words"] == N // 2          # lane 1 of every beat
    w = f["waveform"]
    assert w["reproduced"] and w["index"] == 1 and Path(w["file"]).stat().st_size > 0


def test_automorphism_fault_pinpointed(trace):
    q = _q0(trace)
    k = next(k for k in trace.kernels if k.kind == "automorphism" and q in k.primes)
    r = k.primes.index(q)
    rep = compare(trace, CompareOptions(automorphism_fault=(37, 3), primes=(q,), kernels=(k.id,),
                                        waves=False))
    f = rep["first_mismatch"]
    assert (f["kernel"], f["kind"], f["unit"], f["prime"], f["index"]) == \
        (k.id, "automorphism", "AutomorphismUnit", q, 37)
    expected = int(k.arrays["output"][r, 37])
    assert f["expected"] == expected and f["actual"] == expected ^ (1 << 3)
    assert f["mismatched_words"] == 1 and f["galois"] == k.galois


def test_bconv_fault_pinpointed_cli(trace, trace_path, capsys):
    """--inject-bconv-fault DST:LANE:BIT: first mismatch at destination row DST, coefficient
    LANE of the first conversion, actual = expected ^ 2^BIT."""
    k = next(k for k in trace.kernels if k.kind == "bconv")
    assert fhesim(["compare", "--trace", str(trace_path), "--kernels", str(k.id), "--jobs", "1",
                   "--no-waves", "--json", "--inject-bconv-fault", "2:1:7"]) == 1
    rep = json.loads(capsys.readouterr().out)
    f = rep["first_mismatch"]
    assert (f["kernel"], f["kind"], f["unit"], f["row"], f["prime"], f["index"]) == \
        (k.id, "bconv", "BconvUnit", 2, k.primes[2], 1)
    x = [int(v) for v in k.arrays["input"][:, 1]]
    Q = 1
    for q in k.src_primes:
        Q *= q
    fast = sum((xi * pow(Q // q, -1, q) % q) * (Q // q) for xi, q in zip(x, k.src_primes))
    assert f["expected"] == fast % k.primes[2]
    assert f["actual"] == f["expected"] ^ (1 << 7)
    assert [e["mismatches"] for e in rep["kernels"]] == [1]       # only destination row 2
    assert fhesim(["compare", "--trace", str(trace_path), "--inject-bconv-fault", "1"]) == 2
    assert "DST:LANE" in capsys.readouterr().err


@pytest.mark.parametrize("kind,role", [("bconv", "output"), ("automorphism", "output"),
                                       ("mac", "acc")])
def test_tampered_unit_kernel_refused(trace, tmp_path, kind, role, capsys):
    """A trace whose golden data of a bconv / automorphism / mac kernel disagree with the
    software kernel is refused before any RTL runs (exit 3, naming the kernel)."""
    tr = tracefile.load(tracefile.save(trace, tmp_path / "copy.npz"))
    k = next(k for k in tr.kernels if k.kind == kind)
    k.arrays[role][0, 5] = (int(k.arrays[role][0, 5]) + 1) % k.primes[0]
    bad = tracefile.save(tr, tmp_path / f"bad-{kind}.npz")
    assert fhesim(["compare", "--trace", str(bad), "--kernels", str(k.id)]) == 3
    err = capsys.readouterr().err
    assert "inconsistent trace" in err and f"#{k.id} {kind}" in err


def test_version_1_files_still_load(trace, tmp_path):
    v1 = tracefile.Trace(meta=dict(trace.meta),
                         kernels=[k for k in trace.kernels if k.kind in ("ntt", "modmul")][:3])
    for i, k in enumerate(v1.kernels):
        k.id = i
    path = tracefile.save(v1, tmp_path / "v1.npz")
    with np.load(path) as z:
        arrays = {key: z[key] for key in z.files}
    man = json.loads(bytes(arrays["manifest"]).decode())
    man["version"] = 1
    arrays["manifest"] = np.frombuffer(json.dumps(man).encode(), np.uint8)
    np.savez(path, **arrays)
    got = tracefile.load(path)
    assert got.version == 1 and [k.kind for k in got.kernels] == [k.kind for k in v1.kernels]
    assert np.array_equal(got.kernels[0].arrays["output"], v1.kernels[0].arrays["output"])
    # a version 1 file cannot hold the kinds version 2 added
    man["kernels"][0]["kind"] = "mac"
    arrays["manifest"] = np.frombuffer(json.dumps(man).encode(), np.uint8)
    np.savez(path, **arrays)
    with pytest.raises(tracefile.TraceFormatError, match="not one of version 1"):
        tracefile.load(path)


def test_resnet_slice_capture(tmp_path):
    """The ResNet slice: a multiplexed convolution, one composite-ReLU polynomial, one
    CoeffsToSlots level at toy-boot-n11; every unit kind appears, only the two kept primes."""
    path = tmp_path / "resnet-slice.npz"
    assert fhesim(["capture", "--program", "resnet-slice", "--out", str(path), "--json"]) == 0
    tr = tracefile.load(path)
    assert tr.meta["params"] == "toy-boot-n11" and tr.meta["n"] == 2048
    assert tr.meta["slices"] == ["stem.conv", "stem.relu/p1", "bootstrap/cts0"]
    assert {k.op_path.split("/")[0] for k in tr.kernels} == {"stem.conv", "stem.relu", "bootstrap"}
    assert set(tr.primes()) == set(tr.meta["kept_primes"]) and len(tr.primes()) == 2
    counts = tr.counts()
    assert all(counts[kind]["rows"] > 0 for kind in tracefile.KINDS)
    for slice_ in ("stem.conv", "bootstrap/cts0"):
        kinds = {k.kind for k in tr.kernels if k.op_path.startswith(slice_)}
        assert kinds == set(tracefile.KINDS)
    assert tr.meta["check"]["relu_p1_max_abs_error"] < 2 ** -8
    assert tr.meta["check"]["cts0_max_abs_error"] < 2 ** -8
