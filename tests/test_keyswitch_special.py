"""Switching keys over fewer special primes (``special``, ``CkksParams.special_for``).

A key truncated to a low level whose one digit ``D`` has fewer than ``alpha`` primes needs
only the special primes ``P'`` that bring the worst-case ``d e / P'`` term below one unit.
The references: ``special_for`` against products of Python integers; the key-switching
error ``u0 + u1 s - c s'``, computed exactly (centred CRT), against the full key's
(rounding only), and one special prime fewer showing the term it avoids; rotations decrypted against ``np.roll``; trace events against the rows counted by
hand (``L + k`` raised rows, ``k`` special rows brought down).
"""
import json
import math

import numpy as np
import pytest

from sim.cycle.adapters import ops_from_trace
from sw import trace
from sw.ckks import Evaluator, KeyGenerator, KeySet
from sw.ckks.errors import LevelError
from sw.ckks.keyswitch import key_switch
from sw.ckks.raised import RaisedGiants
from sw.nn.evalkeys import KeyFileError, _load_swk, _swk_entry
from sw.ckks.serialize import SerializationError, dumps

pytestmark = pytest.mark.usefixtures("one_numba_thread")

LEVEL = 2          # toy-boot-n12 (the chain of n16-128): 4 primes, one digit; special_for = 5
FIT = (1, 3)       # steps with keys over 5 special primes
FULL = (5,)        # a step with a key over all 11


@pytest.fixture(scope="module")
def env(ckks_env):
    e = ckks_env("toy-boot-n12", rotations=())
    kg = KeyGenerator(e.ctx, seed=11)            # the environment's secret (seed 11)
    sk = e.keys.secret
    e.fit = kg.gen_rotation_keys(sk, FIT, level=LEVEL, special="fit")
    e.full = kg.gen_rotation_keys(sk, FIT + FULL, level=LEVEL)
    e.both = KeySet(e.ctx, sk, e.keys.public, e.keys.relin, dict(e.full), low_rotation=dict(e.fit))
    e.ev_fit = Evaluator(e.ctx, e.both)
    e.ev_full = Evaluator(e.ctx, KeySet(e.ctx, sk, e.keys.public, e.keys.relin, dict(e.full)))
    e.z = e.vec()
    e.ct2 = e.ev.drop_to_level(e.ct(e.z), LEVEL)
    return e


@pytest.mark.parametrize("name", ["toy-n10", "toy-boot-n12", "toy-n12"])
def test_special_for_is_the_fewest_special_primes_covering_every_digit(insecure_params, name):
    p = insecure_params(name)
    for level in range(p.max_level + 1):
        prims = p.primes_at(level)
        # worst raised digit (a primes: d + u D < a D) times n errors of at most 6 sigma
        need = sum((b - a) * math.prod(prims[a:b]) for a, b in p.digits_at(level)) * p.n * 20
        k = p.special_for(level)
        assert 1 <= k <= len(p.p_primes)
        if math.prod(p.p_primes[:k]) >= need:
            assert k == 1 or math.prod(p.p_primes[:k - 1]) < need     # fewest
        else:
            assert k == len(p.p_primes)                                # none suffice: all
        if len(prims) >= p.alpha:
            assert k == len(p.p_primes)                                # a full digit needs all


def test_fitted_key_has_the_rows_it_needs(env):
    p = env.p
    assert p.special_for(LEVEL) == 5
    g = env.ctx.galois_element(1)
    k = env.fit[g]
    assert k.special == 5 and k.level == LEVEL
    assert k.b.shape == (1, len(p.primes_at(LEVEL)) + 5, p.n)
    assert k.nbytes == 2 * 1 * (4 + 5) * p.n * 8 == k.b.nbytes + k.a.nbytes
    assert env.full[g].b.shape[1] == 4 + 11


def test_a_low_key_is_preferred_at_or_below_its_level_only(env):
    g = env.ctx.galois_element(1)
    assert env.both.rotation_key(1, level=LEVEL)[1] is env.fit[g]
    assert env.both.rotation_key(1, level=LEVEL - 1)[1] is env.fit[g]
    assert env.both.rotation_key(1)[1] is env.full[g]
    only_low = KeySet(env.ctx, low_rotation=dict(env.fit))
    assert only_low.rotation_key(1, level=LEVEL + 1)[1] is env.fit[g]    # its switch refuses
    with pytest.raises(LevelError, match="truncated to level 2"):
        Evaluator(env.ctx, only_low).rotate(env.ev.drop_to_level(env.ct(env.z), LEVEL + 1), 1)


def _ks_error(env, key, galois):
    """Exact ``u0 + u1 s - c1(X^g) s(X^g)`` of one key switch at LEVEL (centred integers)."""
    qb = env.ctx.q_basis(LEVEL)
    c1 = env.ct2.polys[1].automorphism(galois)
    s = env.keys.secret.poly.select(qb)
    sg = env.keys.secret.poly.automorphism(galois).select(qb)
    u0, u1 = key_switch(env.ctx, c1, LEVEL, key)
    err = u0.add(u1.mul(s)).sub(c1.mul(sg)).to_coeff().centered()
    return np.abs(err.astype(float))


def test_fitted_key_switch_errs_by_rounding_alone_and_one_prime_fewer_does_not(env, monkeypatch):
    g = env.ctx.galois_element(1)
    full = _ks_error(env, env.full[g], g)
    fit = _ks_error(env, env.fit[g], g)
    rms = lambda a: float(np.sqrt((a ** 2).mean()))
    # the full key's d e / P is below 2^-200 and the fitted key's below 1: both err by the
    # ModDown's rounding, the same distribution (over 11 and over 5 rounded rows)
    assert full.max() < 2 ** 7 and fit.max() < 2 ** 7
    assert 0.5 < rms(fit) / rms(full) < 2
    # one prime fewer (P' ~ 4 D, what P' >= D alone would allow) adds the d e / P' term
    monkeypatch.setattr(type(env.p), "special_for", lambda self, level: 4)
    short = KeyGenerator(env.ctx, seed=11).gen_galois_key(env.keys.secret, g, level=LEVEL, special=4)
    assert short.special == 4
    assert rms(_ks_error(env, short, g)) > 3 * rms(full)


def test_rotations_by_fitted_keys_decrypt_as_the_full_keys_do(env):
    for s in FIT:
        want = np.roll(env.z, -s)
        e_fit = np.abs(env.dec(env.ev_fit.rotate(env.ct2, s)) - want).max()
        e_full = np.abs(env.dec(env.ev_full.rotate(env.ct2, s)) - want).max()
        assert e_fit < 2 ** -12
        assert e_fit < 1.1 * e_full and e_full < 1.1 * e_fit   # both: the encryption noise                  # both are the encryption noise


def test_a_hoisted_group_with_both_kinds_of_key_decomposes_once_per_basis(env):
    steps = [*FIT, *FULL]
    with trace.recording() as rec:
        out = env.ev_fit.rotate_hoisted(env.ct2, steps)
    for s in steps:
        assert np.abs(env.dec(out[s]) - np.roll(env.z, -s)).max() < 2 ** -12
    doc = json.loads(rec.to_json())
    modups = sorted(ev["primes_out"] for ev in _walk(doc) if ev["kind"] == "modup")
    L = len(env.p.primes_at(LEVEL))
    assert modups == [L + 5, L + 11]
    (op,), _ = ops_from_trace(rec)
    assert sorted((k.digits, k.special) for k in op.keys) == [(1, 5), (1, 5), (1, 11)]


def _walk(evs):
    for ev in evs if isinstance(evs, list) else evs["events"]:
        yield ev
        yield from _walk(list(ev.get("children", ()) or ()))


def test_raised_giants_sum_over_keys_of_both_kinds(env):
    rg = RaisedGiants(env.ev_fit)
    acc = None
    for s in (*FIT, *FULL):
        r = rg.rotate(env.ct2, s)
        acc = r if acc is None else rg.add(acc, r)
    out = rg.finish(acc, rescale=False)
    want = sum(np.roll(env.z, -s) for s in (*FIT, *FULL))
    assert out.level == LEVEL and out.primes == env.ct2.primes
    assert np.abs(env.dec(out) - want).max() < 2 ** -11


@pytest.mark.parametrize("first, then", [(1, 5), (5, 3), (1, 3)])
def test_a_raised_rotation_by_a_key_of_other_special_primes(env, first, then):
    rg = RaisedGiants(env.ev_fit)
    out = rg.finish(rg.rotate(rg.rotate(env.ct2, first), then), rescale=False)
    assert np.abs(env.dec(out) - np.roll(env.z, -(first + then))).max() < 2 ** -12


@pytest.mark.parametrize("special, match", [(4, "special=4"), (12, "special=12"),
                                             ("all", "special='all'"), (True, "special=True")])
def test_too_few_or_bad_special_primes_are_refused(env, special, match):
    kg = KeyGenerator(env.ctx, seed=11)
    with pytest.raises(ValueError, match=match):
        kg.gen_galois_key(env.keys.secret, env.ctx.galois_element(1), level=LEVEL, special=special)


def test_a_fitted_key_round_trips_through_a_key_file_and_not_the_full_format(env):
    k = env.fit[env.ctx.galois_element(3)]
    arrays = {}
    entry = _swk_entry("rot/x", k, arrays)
    back = _load_swk(entry, arrays, env.p)
    assert back.special == 5 and back.level == LEVEL
    np.testing.assert_array_equal(back.b, k.b)
    with pytest.raises(KeyFileError, match="rows"):
        _load_swk(dict(entry, special=None), arrays, env.p)
    with pytest.raises(KeyFileError, match="special primes 4 at level 2"):
        _load_swk(dict(entry, special=4), arrays, env.p)
    with pytest.raises(SerializationError, match="truncated"):
        dumps(KeySet(env.ctx, None, None, None, {k.galois: k}))
    with pytest.raises(SerializationError, match="low_rotation"):
        dumps(KeySet(env.ctx, None, None, None, low_rotation={k.galois: k}))
