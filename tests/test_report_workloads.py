"""The benchmark-definition bootstrapping workload's parameters (sim.cycle.workloads)."""
from __future__ import annotations

from sim.cycle.workloads import BENCH_L8, bench_l8_params, discover


def test_bench_l8_parameters():
    p = bench_l8_params()
    # q0 (2) + 8 app + StC 2+1+1 + EvalMod 8 x 2 + CtS 3 x 2 = 36 Q primes
    assert len(p.q_primes) == 2 + 8 + 4 + 16 + 6 == 36
    assert p.max_level == 22 and p.n == 2**16 and p.dnum == 4
    assert len(p.p_primes) == 9                 # alpha = ceil(36 / 4)
    assert p.is_secure                          # log2 QP ~ 1,361 <= 1,747 (N = 2^16 bound)
    assert BENCH_L8["security"] == 128


def test_bench_l8_listed_and_skipped_in_quick_mode():
    ws = {w.name: w for w in discover(quick=True)}
    assert "bootstrap-l8" in ws and not ws["bootstrap-l8"].available
    assert ws["bootstrap-l8"].missing == "skipped in --quick mode"
