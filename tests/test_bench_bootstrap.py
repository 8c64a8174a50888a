"""``fhesim bench bootstrap`` at a toy size, without DESILO FHE.

No wall-clock assertions: the row must carry a correct bootstrap (levels left, precision)
and a stage breakdown that accounts for the measured bootstrap.
"""
from __future__ import annotations

import argparse

import pytest

from sim.benchmarks import bootstrap as bench

STAGES = ("modraise_s", "cts_s", "evalmod_s", "stc_s")


def test_ring_degree_and_dnum_rebuild_our_set():
    parser = argparse.ArgumentParser()
    bench.add_arguments(parser)
    p = bench._our_params(parser.parse_args(["--ring-degree", "131072", "--dnum", "1"]))
    assert (p.name, p.n, p.dnum, len(p.p_primes)) == ("n16-128-n17-dnum1", 1 << 17, 1, 44)
    assert p.is_secure
    assert bench._our_params(parser.parse_args([])).name == "n16-128"
    # a secure set keeps its label only where the bound admits it
    with pytest.raises(ValueError, match=r"--ring-degree 32768: .*exceeds the 128-bit bound 881"):
        bench._our_params(parser.parse_args(["--ring-degree", "32768"]))
    with pytest.raises(ValueError, match=r"--dnum 1: .*exceeds the 128-bit bound 1747"):
        bench._our_params(parser.parse_args(["--dnum", "1"]))


def test_stage_seconds_are_differences_of_marks():
    marks = [("modraise", 1.0), ("cts", 1.5), ("evalmod", 3.0), ("stc", 7.0), ("done", 8.25)]
    assert bench._stage_seconds(marks) == {"modraise_s": 0.5, "cts_s": 1.5, "evalmod_s": 4.0,
                                            "stc_s": 1.25}


def test_bench_bootstrap_toy_has_stage_breakdown():
    parser = argparse.ArgumentParser()
    bench.add_arguments(parser)
    args = parser.parse_args(["--params", "toy-boot-n10", "--allow-insecure", "--no-peer",
                              "--no-progress"])
    with pytest.warns(Warning, match="INSECURE"):
        df = bench.run(args)
    row = df.iloc[0]
    assert row["system"] == "fhesim (ours)" and row["slots"] == 512
    assert row["levels_left"] == 16
    assert row["mean_bits"] > 18 and row["worst_bits"] > 15
    parts = [float(row[c]) for c in STAGES]
    assert all(p >= 0 for p in parts) and parts[2] > 0   # rounded to 0.01 s
    # the stages run between the first and last progress marks, inside the timed call
    # (both rounded to 0.01 s in the table)
    assert sum(parts) <= row["bootstrap_s"] + 0.05


@pytest.mark.parametrize("opts, match", [
    (["--giant-cost", "0"], "giant_cost=0.0 must be a positive number"),
    (["--baby-steps", "chain"], "baby_steps='chain'.*hoisting='double'"),
    (["--ring-degree", "262144"], r"--ring-degree 262144: .*log_n=18 must be an integer in \[1, 17\]"),
    (["--ring-degree", "3000"], "--ring-degree 3000: must be a power of two"),
    (["--dnum", "45"], r"--dnum 45: .*dnum=45 not in \[1, 44\]"),
])
def test_bad_options_are_refused_before_the_peers_run(opts, match, monkeypatch):
    """Our configuration is built first: an option it refuses stops the run before any
    peer's minutes of work."""
    ran = []
    monkeypatch.setattr(bench, "_peer_isolated", lambda *a: ran.append("desilo"))
    monkeypatch.setattr(bench, "_openfhe", lambda *a: ran.append("openfhe") or [])
    parser = argparse.ArgumentParser()
    bench.add_arguments(parser)
    args = parser.parse_args(["--params", "toy-boot-n10", "--allow-insecure", "--no-progress", *opts])
    with pytest.warns(Warning, match="INSECURE"), pytest.raises(ValueError, match=match):
        bench.run(args)
    assert ran == []
