"""fhesim compare refuses unreadable, corrupt and inconsistent trace files with a clear
error and a distinct exit code, before any RTL runs; trace files carry a checksum."""
import json
import zipfile

import numpy as np
import pytest

from sim.cli import main as fhesim
from sim.compare import tracefile
from sim.compare.engine import InconsistentTraceError, check_consistency


@pytest.fixture(scope="module")
def trace_path(tmp_path_factory):
    path = tmp_path_factory.mktemp("robust") / "mulrot.npz"
    assert fhesim(["capture", "--params", "toy-n10", "--program", "mulrot", "--level", "1",
                   "--out", str(path), "--json"]) == 0
    return path


def _compare(path, capsys):
    rc = fhesim(["compare", "--trace", str(path), "--no-waves"])
    return rc, capsys.readouterr().err


def test_empty_truncated_flipped_files_exit_2(trace_path, tmp_path, capsys):
    data = trace_path.read_bytes()
    cases = {"empty.npz": b"", "trunc.npz": data[: len(data) // 2], "head.npz": data[:30]}
    flipped = bytearray(data)
    flipped[len(data) // 3] ^= 0xFF
    cases["flip.npz"] = bytes(flipped)
    for name, blob in cases.items():
        p = tmp_path / name
        p.write_bytes(blob)
        rc, err = _compare(p, capsys)
        assert rc == 2, (name, err)
        assert str(p) in err and "Traceback" not in err


def _rewrite(src, dst, mutate):
    """Copy the trace archive, letting ``mutate(name, array)`` change entries."""
    with np.load(src) as z:
        entries = {k: mutate(k, z[k].copy()) for k in z.files}
    np.savez_compressed(dst, **entries)


def test_checksum_detects_modified_arrays(trace_path, tmp_path, capsys):
    man = tracefile.read_manifest(trace_path)
    assert man["checksum"]["algorithm"] == "sha256"
    key = man["kernels"][0]["arrays"]["output"]
    bad = tmp_path / "mod.npz"

    def mutate(k, a):
        if k == key:
            a[0, 0] = (int(a[0, 0]) + 1) % man["kernels"][0]["primes"][0]
        return a
    _rewrite(trace_path, bad, mutate)
    with pytest.raises(tracefile.TraceFormatError, match="checksum mismatch"):
        tracefile.load(bad)
    rc, err = _compare(bad, capsys)
    assert rc == 2 and "checksum mismatch" in err and str(bad) in err


def _without_checksum(man):
    man = dict(man)
    man.pop("checksum")
    return np.frombuffer(json.dumps(man).encode(), dtype=np.uint8)


def test_old_file_without_checksum_loads(trace_path, tmp_path):
    man = tracefile.read_manifest(trace_path)
    old = tmp_path / "old.npz"
    _rewrite(trace_path, old, lambda k, a: _without_checksum(man) if k == "manifest" else a)
    tr = tracefile.load(old)
    assert len(tr.kernels) == len(man["kernels"])
    check_consistency(tr)


@pytest.mark.parametrize("kind", ["ntt", "modmul"])
def test_inconsistent_trace_exit_3(trace_path, tmp_path, capsys, kind):
    man = tracefile.read_manifest(trace_path)
    e = next(k for k in man["kernels"] if k["kind"] == kind)
    key = e["arrays"]["output"]

    def mutate(k, a):
        if k == key:
            a[0, 5] = (int(a[0, 5]) + 1) % e["primes"][0]
        return a
    bad = tmp_path / f"incons-{kind}.npz"
    _rewrite(trace_path, bad, lambda k, a: _without_checksum(man) if k == "manifest" else mutate(k, a))
    tr = tracefile.load(bad)          # well-formed, no checksum: loads
    with pytest.raises(InconsistentTraceError, match=f"inconsistent trace: kernel #{e['id']} {kind}"):
        check_consistency(tr)
    rc, err = _compare(bad, capsys)
    assert rc == 3 and "inconsistent trace" in err and str(bad) in err


def test_not_a_zip_member_errors_are_trace_errors(tmp_path):
    p = tmp_path / "x.npz"
    with zipfile.ZipFile(p, "w") as z:
        z.writestr("manifest.npy", b"\x93NUMPY garbage")
    with pytest.raises(tracefile.TraceFormatError, match=str(p)):
        tracefile.load(p)


@pytest.mark.parametrize("argv", [["capture", "--out", "{bad}"], ["compare", "--capture", "--trace", "{bad}"],
                                  ["trace", "--dry-run", "--out", "{bad}"]])
def test_unwritable_output_refused_before_work(tmp_path, capsys, monkeypatch, argv):
    from sim.compare import capture
    import sim.commands.trace as trace_cmd

    def boom(*a, **k):
        raise AssertionError("work started")
    monkeypatch.setattr(capture, "capture", boom)
    monkeypatch.setattr(trace_cmd, "run_trace", boom)
    blocker = tmp_path / "plain-file"
    blocker.write_text("x")
    bad = str(blocker / "out.npz")
    assert fhesim([a.format(bad=bad) for a in argv]) == 2
    err = capsys.readouterr().err
    assert bad in err and "cannot create" in err


def test_exit_codes_documented_and_linked():
    from pathlib import Path
    root = Path(__file__).resolve().parents[1]
    doc = (root / "docs" / "exit-codes.md").read_text()
    for code in ("| 0 |", "| 1 |", "| 2 |", "| 3 |", "| 130 |"):
        assert code in doc
    assert "docs/exit-codes.md" in (root / "README.md").read_text()
