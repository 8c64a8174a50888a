"""Op trace: the compact format (fhesim-trace-2), lazy replay (trace.Replayer), readers."""
import gzip
import json
from dataclasses import asdict

import pytest

from sw import trace
from sim.cycle.adapters import layer_of, ops_from_trace

N = 16


def _rotate(level=3, galois=5):
    with trace.op("rotate", n=N, primes_in=level, primes_out=level, level_in=level, level_out=level,
                  galois=galois) as ev:
        trace.report_kernel("automorphism", level, N)
        with trace.op("keyswitch", n=N, primes_in=level, primes_out=level):
            with trace.op("modup", n=N, primes_in=level, primes_out=level + 1):
                trace.report_kernel("intt", level, N)
                trace.report_kernel("bconv", level + 1, N, src_primes=1, dst_primes=level + 1, count=2)
            trace.report_kernel("modmul", level + 1, N, count=4)
            with trace.op("moddown", n=N, primes_in=level + 1, primes_out=level):
                trace.report_kernel("bconv", level, N, src_primes=1, dst_primes=level)
        ev.set_out(primes=level, level=level)


def _bootstrap():
    with trace.op("bootstrap", n=N, primes_in=1, level_in=0, slots=8) as top:
        trace.report_kernel("modadd", 2, N)          # glue kernel of the composite event
        with trace.stage("bootstrap/cts"):
            _rotate(5, 3)
        with trace.stage("bootstrap/stc"):
            with trace.op("rescale", n=N, primes_in=5, primes_out=4):
                trace.report_kernel("ntt", 4, N)
        top.set_out(primes=4, level=3)


def _layer(k):
    """A 'layer': some top-level operations, a client-side encode, a bootstrap."""
    with trace.op("encode", n=N, primes_in=3, primes_out=3):
        trace.report_kernel("ntt", 3, N)
    for _ in range(k):
        with trace.op("add", n=N, primes_in=3, primes_out=3):
            trace.report_kernel("modadd", 3, N, count=2)
    _rotate()
    _bootstrap()
    return ("result", k)


def _program(rp=None):
    """The same events with and without a replayer; stages differ between calls."""
    outs = []
    with trace.stage("net"):
        for i in range(5):
            with trace.stage(f"block{i}/x"):       # labels may contain '/'
                outs.append(_layer(2) if rp is None else rp.call(("layer", 2), _layer, 2))
        with trace.op("add", n=N, primes_in=3, primes_out=3):
            trace.report_kernel("modadd", 3, N)
    for _ in range(2):     # no stage at all
        outs.append(_layer(1) if rp is None else rp.call(("layer", 1), _layer, 1))
    return outs


def test_replay_gives_the_recorded_trace():
    with trace.recording(dry_run=True) as slow:
        ref = _program()
    rp = trace.Replayer(confirm=2)
    with trace.recording(dry_run=True) as fast:
        out = _program(rp)
        summary = fast.summary()          # before anything is expanded
    assert out == ref
    assert (rp.misses, rp.hits) == (2 + 2, 3 + 0)     # key 1 is recorded twice and never replayed
    assert fast.to_json() == slow.to_json()            # every event, id, stage, kernel
    assert summary == slow.summary()
    assert summary["events"] == len(slow.all_events())
    assert fast.kernel_counts() == slow.kernel_counts()
    assert fast.to_doc() == slow.to_doc()


def test_replay_waits_for_two_equal_recordings():
    calls = []

    def warm(k):             # the first call records one event more (a warm-up cache)
        calls.append(k)
        if len(calls) == 1:
            with trace.op("encode", n=N):
                pass
        return _layer(k)

    rp = trace.Replayer(confirm=2)
    with trace.recording(dry_run=True) as rec:
        for i in range(5):
            with trace.stage(f"b{i}"):
                rp.call("k", warm, 1)
    assert len(calls) == 3 and rp.hits == 2          # recorded, recorded (differs), recorded (agrees)
    with trace.recording(dry_run=True) as ref:
        calls.clear()
        for i in range(5):
            with trace.stage(f"b{i}"):
                warm(1)
    assert rec.to_json() == ref.to_json()


def test_replayer_is_transparent_outside_a_dry_run():
    rp = trace.Replayer()
    with trace.recording() as rec:             # not a dry run: always calls
        for _ in range(3):
            rp.call("k", _layer, 1)
    assert rp.hits == 0 and len(rec.events) == 3 * 4
    assert rp.call("k", lambda: 7) == 7        # no recorder at all


def test_v2_roundtrip_and_files(tmp_path):
    rp = trace.Replayer()
    with trace.recording(dry_run=True) as rec:
        _program(rp)
    v1 = json.loads(rec.to_json())
    doc = json.loads(rec.to_json(version=2))
    assert doc["format"] == "fhesim-trace-2" and v1["format"] == "fhesim-trace-1"
    assert trace.events_v1(doc) == v1["events"]
    assert len(doc["shapes"]) < len(doc["events"])
    # files: plain and gzip, both versions
    for name, version in (("a.json", 1), ("b.json.gz", 2), ("c.json.gz", 1), ("d.json", 2)):
        rec.to_json(str(tmp_path / name), version=version)
        assert trace.events_v1(str(tmp_path / name)) == v1["events"]
    with gzip.open(tmp_path / "b.json.gz", "rt") as f:
        assert json.load(f)["format"] == "fhesim-trace-2"
    with pytest.raises(ValueError, match="unknown format"):
        trace.load({"format": "fhesim-trace-9", "events": []})
    with pytest.raises(ValueError, match="version 2 holds no kept data"):
        rec.to_json(version=2, with_data=True)


def test_adapter_reads_every_form_identically(tmp_path):
    rp = trace.Replayer()
    with trace.recording(dry_run=True) as rec:
        _program(rp)
    rec.to_json(str(tmp_path / "t1.json"))
    rec.to_json(str(tmp_path / "t2.json.gz"), version=2)
    forms = [rec, str(tmp_path / "t1.json"), tmp_path / "t2.json.gz", rec.to_json(),
             json.loads(rec.to_json())["events"], json.loads(rec.to_json(version=2))]
    results = [ops_from_trace(f) for f in forms]
    ref_ops, ref_notes = results[0]
    for ops, notes in results[1:]:
        assert [asdict(o) for o in ops] == [asdict(o) for o in ref_ops]
        assert notes == ref_notes
    # labels: top stage, composite children with their own stage, glue, no stage -> kind
    labels = [o.label for o in ref_ops]
    assert labels[:5] == ["net/block0/x", "net/block0/x", "net/block0/x", "net/block0/x",
                          "net/block0/x/bootstrap/cts"]
    assert [o.kind for o in ref_ops[:7]] == ["add", "add", "rotate", "bootstrap:glue", "rotate",
                                             "rescale", "add"]
    assert ref_ops[5].label == "net/block0/x/bootstrap/stc"
    assert [o.label for o in ref_ops[-5:]] == ["add", "rotate", "bootstrap:glue", "bootstrap/cts",
                                               "bootstrap/stc"]
    assert "skipped 7 client-side 'encode' event(s)" in ref_notes
    # source ids are the event ids of the expanded trace
    ids = {e.id: e.kind for e in rec.all_events()}
    assert all(ids[o.source_id] == o.kind.split(":")[0] for o in ref_ops)


def test_layer_of():
    assert layer_of("inference/layer2.0.conv1") == ("layer2", "layer2.0", "linear")
    assert layer_of("inference/layer1.3.relu1/bootstrap/bootstrap/cts") == ("layer1", "layer1.3", "bootstrap")
    assert layer_of("inference/layer3.17.add") == ("layer3", "layer3.17", "add")
    assert layer_of("inference/layer3.0.shortcut") == ("layer3", "layer3.0", "linear")
    assert layer_of("inference/stem.relu") == ("stem", "stem", "activation")
    assert layer_of("inference/fc") == ("head", "head", "linear")
