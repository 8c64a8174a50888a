"""Key traffic of hoisted rotations: each key switch reads a key of all its digits.

A hoisted rotation (``Evaluator.rotate_hoisted``) raises the ciphertext once (one ModUp, in
the ``rotate_hoisted`` event) and then key-switches per rotation without a ModUp of its
own; the cycle adapter must still cost every key switch with the level's digits.
"""
import math
from dataclasses import replace

import pytest

from sim.cycle.adapters import ops_from_trace
from sim.cycle.config import load_config
from sim.cycle.model import estimate
from sw import trace

STEPS = (1, 3)


@pytest.fixture(scope="module")
def env(ckks_env):
    return ckks_env("toy-n10", rotations=STEPS)


def _hoisted_op(env, ct):
    with trace.recording() as rec:
        env.ev.rotate_hoisted(ct, list(STEPS))
    (op,), _ = ops_from_trace(rec)
    assert op.kind == "rotate_hoisted"
    return op


def test_hoisted_key_words_at_the_top_level_are_the_stored_keys(env):
    ct = env.ct(env.vec())
    assert ct.level == env.p.max_level
    op = _hoisted_op(env, ct)
    # at the top level a key switch reads the whole key as generated: both digit stacks
    stored = []
    for s in STEPS:
        g, key = env.keys.rotation_key(s, ct.slots, "test")
        stored.append((f"galois:{g}", key.b.size + key.a.size))
    assert [(u.key, u.words(env.p.n)) for u in op.keys] == stored


@pytest.mark.parametrize("drop", [0, 3])
def test_hoisted_key_bytes_by_hand(env, drop):
    ct = env.ev.drop_level(env.ct(env.vec()), drop)
    op = _hoisted_op(env, ct)
    L, K, n = len(ct.primes), len(env.ctx.p_basis.primes), env.p.n
    digits = math.ceil(L / env.p.alpha)        # digits of alpha primes, the last one shorter
    assert digits > 1
    # per key switch: digits key pairs (b_i, a_i) over the L primes of the level and K special
    words = digits * 2 * (L + K) * n
    assert [(u.digits, u.primes, u.special) for u in op.keys] == [(digits, L, K)] * len(STEPS)
    # the trace's own limbs (sharp states 36-bit words: limbs="word" would regroup them)
    cfg = replace(load_config("sharp"), limbs="trace")
    est = estimate([op], cfg)
    per_key = math.ceil(words * cfg.word_bits / 8)
    assert int(est.ops.loc[0, "key_bytes"]) == len(STEPS) * per_key
