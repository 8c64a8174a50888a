"""Limbs at a design's word size (sim.cycle.chain): each level group keeps words of its own,
checked against counts made by hand from the parameter set's primes (Python integers), and
against the chains the published designs state."""
from __future__ import annotations

import math
import warnings
from dataclasses import replace

import numpy as np
import pytest

from sim.cycle import workloads
from sim.cycle.chain import Chain, packed_limbs
from sim.cycle.config import load_config
from sim.cycle.model import estimate
from sw.ckks import get_params


def _by_hand(params, level: int, w: int) -> int:
    """Limbs of the level's modulus at ``w``-bit words: per group ``ceil(log2(M_g) / w)``
    with ``M_g`` the exact product of the group's primes."""
    return sum(math.ceil(math.log2(math.prod(g)) / w) for g in params.q_groups[:level + 1])


@pytest.fixture(scope="module")
def l8():
    return workloads.bench_l8_params()


@pytest.mark.parametrize("w", [28, 32, 36, 48, 64])
def test_every_level_needs_its_groups_words(l8, w):
    c = Chain.of_params(l8)
    for level in range(l8.max_level + 1):
        assert int(c.limbs([len(l8.primes_at(level))], w)[0]) == _by_hand(l8, level, w), level


def test_the_top_level_at_the_designs_word_sizes(l8):
    """bench-boot-l8 (36 Q primes: q0 of 2, 8 one-prime levels, StC 2 + 1 + 1, 11 two-prime
    levels; 9 special primes): 64-bit words hold each group in one limb (23; ARK states
    L = 23, 24 limbs), 36-bit words need two for each ~2^60 group and for q0 (36; SHARP states
    L = 35, 36 limbs), 32-bit words hold every prime in one (the trace's counts)."""
    c = Chain.of_params(l8)
    assert c.top_limbs(64) == (1 + 8 + 3 + 8 + 3, math.ceil(sum(map(math.log2, l8.p_primes)) / 64))
    assert c.top_limbs(64) == (23, 5)
    assert c.top_limbs(36) == (2 + 8 + 4 + 16 + 6, 8)
    assert c.top_limbs(32) == (36, 9)
    # 28-bit words: a ~2^30 level cannot fit one word
    assert c.top_limbs(28)[0] == 3 + 8 * 2 + (3 + 2 + 2) + 8 * 3 + 3 * 3
    # packed into words regardless of levels: fewer than any level-by-level chain
    assert int(packed_limbs(36, 64)) == 17 < 23


def test_special_primes_are_packed(l8):
    c = Chain.of_params(l8)
    bits = np.cumsum([math.log2(p) for p in l8.p_primes])
    for k in range(len(l8.p_primes) + 1):
        want = 0 if k == 0 else math.ceil(bits[k - 1] / 64)
        assert int(c.special_limbs([k], 64)[0]) == want
    with pytest.raises(ValueError, match="10 special primes, more than its 9"):
        c.special_limbs([10], 64)
    # beyond Q and P (another basis's rows as well): packed at 30 bits a prime
    top = int(c.limbs([45], 64)[0])
    assert int(c.limbs([45 + 7], 64)[0]) == top + math.ceil(7 * 30 / 64)
    with pytest.raises(ValueError, match="a negative prime count"):
        c.limbs([-1], 64)


def test_at_32_bit_words_every_count_is_the_traces():
    p = get_params("n16-128")
    c = Chain.of_params(p)
    counts = np.arange(len(p.q_primes) + 1)
    assert (c.limbs(counts, 32) == counts).all()
    assert (c.special_limbs(np.arange(len(p.p_primes) + 1), 32) == np.arange(len(p.p_primes) + 1)).all()


def test_workloads_carry_their_chain_and_the_model_counts_key_bytes_with_it(tmp_path, monkeypatch):
    """cmult at n16-128: one relinearisation key of 4 digits over 44 Q and 11 special primes.
    At 64-bit words and limbs = "word" it is 4 x 2 x (31 + 6) limbs of 2^16 words (the chain's
    groups: q0 1, 16 one-prime levels, StC 2 + 1 + 1 in 3, 11 two-prime levels in 11; the 11
    special primes in 6); "packed" gives 4 x 2 x (21 + 6)."""
    monkeypatch.setenv("FHESIM_CACHE_DIR", str(tmp_path))
    ops, _ = workloads.workload_ops("cmult", "n16-128")
    assert ops[0].chain == Chain.of_params(get_params("n16-128"))
    cfg = replace(load_config("ark"), limbs="word", evk_a_generated=False)
    n = 1 << 16
    key = int(estimate(ops, cfg).ops["key_bytes"].sum())
    assert key == 4 * 2 * (31 + 6) * n * 8
    packed = int(estimate(ops, replace(cfg, limbs="packed")).ops["key_bytes"].sum())
    assert packed == 4 * 2 * (math.ceil(44 * 30 / 64) + math.ceil(11 * 30 / 64)) * n * 8
    # ops without a chain (an op trace file) fall back to "packed", and say so
    bare = [replace(o, chain=None) for o in ops]
    est = estimate(bare, cfg)
    assert int(est.ops["key_bytes"].sum()) == packed
    assert any("needs the trace's modulus chain" in x for x in est.notes)
    assert not any("modulus chain" in x for x in estimate(ops, cfg).notes)


def test_ops_of_two_chains_are_refused(tmp_path, monkeypatch):
    monkeypatch.setenv("FHESIM_CACHE_DIR", str(tmp_path))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        a, _ = workloads.workload_ops("cmult", "n16-128")
        b, _ = workloads.workload_ops("cmult", "toy-boot-n10", allow_insecure=True)
    with pytest.raises(ValueError, match="ops of 2 modulus chains in one workload"):
        estimate(a + b, load_config("ark"))


def test_limb_rule_is_checked():
    from sim.cycle.config import loads_config

    text = open(load_config("ark").path).read().replace('limbs = "word"', 'limbs = "levels"')
    with pytest.raises(ValueError, match="field 'limbs' must be one of .*'packed'"):
        loads_config(text)
