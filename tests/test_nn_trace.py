"""The ResNet dry-run trace (sw.nn.trace): the replayed trace equals the one recorded call by
call, and the command line writes it in the compact format for the cycle model."""
import json
import warnings
from dataclasses import asdict

import pytest

from sim.cli import main as cli_main
from sim.cycle.adapters import ops_from_trace
from sw.nn.trace import dry_run_trace, trace_resnet

CASE = dict(model="resnet20", geometry="digits8", params="toy-boot-n11", allow_insecure=True)


@pytest.fixture(scope="module")
def traces():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fast = trace_resnet(**CASE)                   # layers and bootstraps replayed
        slow = trace_resnet(**CASE, replay=False)     # every call recorded
    return fast, slow


def _top(rec):
    return [(e.kind, e.stage, e.level_in, e.level_out, e.primes_in, e.primes_out,
             tuple(sorted(e.kernel_counts(True).items()))) for e in rec.events]


def test_replayed_trace_equals_the_recorded_one(traces):
    fast, slow = traces
    assert fast.replay_hits > 0 and slow.replay_hits == 0
    assert fast.bootstraps == slow.bootstraps == 18
    # operations: kind, stage, levels, primes and kernel counts of every top-level event
    assert _top(fast.recorder) == _top(slow.recorder)
    assert fast.recorder.kernel_counts() == slow.recorder.kernel_counts()
    assert fast.recorder.summary() == slow.recorder.summary()
    # ... and every nested event, id and kernel call
    assert fast.recorder.to_json() == slow.recorder.to_json()
    # the cycle model's input is the same (live recorder, compact file of the fast path)
    ops_f, notes_f = ops_from_trace(json.loads(fast.recorder.to_json(version=2)))
    ops_s, notes_s = ops_from_trace(slow.recorder.to_json())
    assert [asdict(o) for o in ops_f] == [asdict(o) for o in ops_s] and notes_f == notes_s
    kinds = {o.kind for o in ops_f}
    assert {"rotate", "rotate_hoisted", "pmult", "cmult", "rescale"} <= kinds
    labels = {o.label for o in ops_f}
    assert "inference/layer1.0.conv1" in labels
    assert any(lab.endswith("/bootstrap/bootstrap/cts") for lab in labels)


def test_dry_run_trace_returns_the_recorder(traces):
    rec = dry_run_trace(**CASE)
    assert rec.summary() == traces[0].recorder.summary()


def test_cli_trace_and_estimate(tmp_path, capsys):
    out = tmp_path / "r20.json.gz"
    assert cli_main(["trace", "--model", "resnet20", "--geometry", "digits8", "--params", "toy-boot-n11",
                     "--allow-insecure", "--dry-run", "--out", str(out), "--json"]) == 0
    res = json.loads(capsys.readouterr().out)
    assert res["format"] == "fhesim-trace-2" and res["bootstraps"] == 18 and res["replayed_calls"] > 0
    assert res["events"] > 1000 and res["top_level_ops"]["bootstrap"] == 18
    assert cli_main(["estimate", "--config", "sharp", "--trace", str(out), "--json", "--top", "3"]) == 0
    est = json.loads(capsys.readouterr().out)
    assert est["total"]["seconds"] > 0 and len(est["top_labels"]) == 3
    cyc = [r["cycles"] for r in est["top_labels"]]
    assert cyc == sorted(cyc, reverse=True)
    blocks = [r["block"] for r in est["top_layers"]]
    assert len(blocks) == 3 and all(b.startswith(("layer", "stem", "head")) for b in blocks)


def test_cli_estimate_model(capsys):
    # sharp's preset runs minimum key switching ([algorithm] giant_steps = "min", baby_steps =
    # "chain"): the estimate traces the network with it (the chained babies are separate
    # rotations, so the op count is that trace's and no other)
    assert cli_main(["estimate", "--model", "resnet20", "--geometry", "digits8", "--params", "toy-boot-n11",
                     "--allow-insecure", "--config", "sharp", "--json"]) == 0
    est = json.loads(capsys.readouterr().out)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ops, _ = ops_from_trace(trace_resnet(**CASE, giant_steps="min", baby_steps="chain").recorder)
        hoisted, _ = ops_from_trace(trace_resnet(**CASE, giant_steps="min").recorder)
    assert len(ops) > len(hoisted)
    assert est["workload"] == "resnet20/digits8/toy-boot-n11" and est["total"]["ops"] == len(ops)
    assert {r["block"] for r in est["top_layers"]} <= {"stem", "head"} | {
        f"layer{s}.{b}" for s in (1, 2, 3) for b in range(3)}
