"""Smoke test of the ``fhesim bench ntt`` module at a tiny size (no timing assertions)."""
from __future__ import annotations

import argparse

from sim.benchmarks import ntt as bench


def test_bench_ntt_module_runs_small():
    parser = argparse.ArgumentParser()
    bench.add_arguments(parser)
    args = parser.parse_args(["--log-n", "8", "--primes", "3", "--reps", "1", "--numpy-reps", "1",
                              "--threads", "1,2"])
    df = bench.run(args)
    assert bench.NAME == "ntt"
    assert set(df["backend"]) == {"numpy", "numba"}
    assert set(df["op"]) == {"forward", "inverse"}
    for col in ("ns_per_butterfly", "numpy_over_this", "anchor_ns_per_butterfly"):
        assert col in df.columns
    assert (df["ns_per_butterfly"] > 0).all()
    assert (df["anchor_ns_per_butterfly"] == 2.5).all()
    assert df.attrs["notes"]
