"""Smoke test of the ``fhesim bench ckks`` module at a toy size, without its peers.

No wall-clock assertions: only that every operation row is there, our times are positive
and our decrypted results are correct (error column below a stated bound).
"""
from __future__ import annotations

import argparse
import math
import sys

import pytest

from sim.benchmarks import ckks as bench

# toy-n10 (scale ~2^30) decrypts these ops with max errors around 1e-5; 1e-3 leaves margin
# while still catching a wrong result (errors of order 1 for values in [-1, 1]).
ERR_BOUND = 1e-3
CHECKED = ("mul+relin+rescale", "rotate(1)", "pmul+rescale", "encrypt", "decode")


def _run(extra):
    parser = argparse.ArgumentParser()
    bench.add_arguments(parser)
    args = parser.parse_args(["--params", "toy-n10", "--allow-insecure", "--reps", "1", *extra])
    with pytest.warns(Warning, match="INSECURE"):
        return bench.run(args)


def _check_ours(df):
    assert bench.NAME == "ckks"
    assert list(df["op"]) == list(bench.OPS)
    assert (df["ours_s"] > 0).all() and (df["ours_median_s"] > 0).all()
    errs = df.set_index("op")["ours_err"]
    for op in CHECKED:
        assert 0 <= errs[op] < ERR_BOUND, (op, errs[op])
    assert any("toy-n10" in n and "N = 1024" in n for n in df.attrs["notes"])


def test_bench_ckks_no_peer():
    df = _run(["--no-peer"])
    _check_ours(df)
    for peer in ("desilo", "openfhe"):
        assert df[f"{peer}_s"].isna().all() and df[f"ours_over_{peer}"].isna().all()


def test_bench_ckks_peer_missing(monkeypatch):
    monkeypatch.setitem(sys.modules, "desilofhe", None)   # import fails as when not installed
    df = _run(["--no-openfhe"])
    _check_ours(df)
    assert all(math.isnan(v) for v in df["desilo_s"])
    assert any("DESILO FHE not importable" in n for n in df.attrs["notes"])


def test_core_ops_module_runs_at_a_toy_set():
    """``python -m sw.ckks.bench`` (the software-only timing) runs its product end to end:
    operands at the top level's rescale factor, so mul + relin + rescale is legal."""
    from sw.ckks.bench import time_core_ops

    r = time_core_ops("toy-n10", repeat=1)
    assert r["params"] == "toy-n10" and r["level"] > 0
    assert r["mul_relin_rescale_s"] > 0 and r["rotate_s"] > 0
