"""KLSS key switching (sw.ckks.klss): the inner product formed exactly over an auxiliary
modulus T gives the hybrid key switch's integers, so every key switch, and a whole bootstrap,
returns the same ciphertext bit for bit; T is sized by a bound checked with Python integers."""
from __future__ import annotations

import math
import warnings
from collections import Counter

import numpy as np
import pytest

from sw import trace
from sw.bootstrap import BootstrapConfig, Bootstrapper, gen_bootstrap_keys
from sw.ckks import CkksContext, Encoder, Encryptor, Evaluator, KeyGenerator, get_params
from sw.ckks import klss

STEPS = (1, 3, 5)


def _params(name="toy-boot-n10"):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return get_params(name, allow_insecure=True)


def _same(a, b) -> bool:
    return a.level == b.level and all(np.array_equal(x.data, y.data) for x, y in zip(a.polys, b.polys))


def _run(p, ks, group=None):
    ctx = CkksContext(p, key_switching=ks, klss_group=group)
    keys = KeyGenerator(ctx, seed=1).gen_keyset(rotations=list(STEPS), conjugation=True)
    enc = Encoder(ctx)
    x = np.random.default_rng(0).uniform(-1, 1, p.slots)
    ct = Encryptor(ctx, keys.public, seed=2).encrypt(enc.encode(x, scale=p.level_scale(p.max_level)))
    ev = Evaluator(ctx, keys)
    low = ev.drop_level(ct, 7)
    return [ev.mul(ct, ct, rescale=True), ev.mul(ct, ct), ev.rotate(ct, 3), ev.rotate(low, 1),
            ev.conjugate(low), *ev.rotate_hoisted(ct, [1, 5]).values()]


@pytest.fixture(scope="module")
def hybrid():
    return _run(_params(), "hybrid")


@pytest.mark.parametrize("group", [None, 1, 3, 60])
def test_every_key_switch_is_hybrids_bit_for_bit(hybrid, group):
    """Relinearisation (with and without the fused rescale), rotations at the top and at a
    lower level, conjugation, hoisted rotations; groups of alpha (default), 1, 3 primes and
    one group of all of Q P."""
    got = _run(_params(), "klss", group)
    assert len(got) == len(hybrid) == 7
    assert all(_same(a, b) for a, b in zip(got, hybrid))


def _both(build) -> dict:
    """``{method: build(params, ctx, kg)}`` for a hybrid and a KLSS context of toy-boot-n10,
    each with a key generator of seed 1 (the same keys)."""
    p = _params()
    out = {}
    for ks in klss.KEY_SWITCHING:
        ctx = CkksContext(p, key_switching=ks)
        out[ks] = build(p, ctx, KeyGenerator(ctx, seed=1))
    return out


@pytest.mark.parametrize("hoisting", ["single", "double"])
def test_a_bootstrap_is_hybrids_bit_for_bit(hoisting):
    def boot(p, ctx, kg):
        sk = kg.gen_secret_key()
        keys = gen_bootstrap_keys(kg, sk, BootstrapConfig(slots=p.slots, hoisting=hoisting))
        x = np.random.default_rng(1).uniform(-1, 1, p.slots)
        ct = Encryptor(ctx, sk, seed=2).encrypt(Encoder(ctx).encode(x, level=0))
        return Bootstrapper(ctx, keys).bootstrap(ct)
    out = _both(boot)
    assert out["hybrid"].level == 16
    assert _same(out["hybrid"], out["klss"])


@pytest.mark.parametrize("name, group", [("toy-boot-n10", None), ("toy-boot-n10", 1), ("n16-128", None),
                                         ("n16-128", 4)])
def test_t_exceeds_twice_the_largest_product_sum(name, group):
    """|Y| < beta N (alpha + 1) D_max B_max / 2 for digits D_j and groups B_i of the top level
    (exact products of the actual primes); T must exceed twice that."""
    p = _params(name)
    g = p.alpha if group is None else group
    T = math.prod(klss.aux_basis(p, g).primes)
    qp = list(p.q_primes) + list(p.p_primes)
    digits = p.digits_at(p.max_level)
    d_max = max(math.prod(p.q_primes[s0:s1]) for s0, s1 in digits)
    b_max = max(math.prod(qp[s0:s1]) for s0, s1 in klss.group_ranges(len(qp), g))
    bound = len(digits) * p.n * (p.alpha + 1) * d_max * b_max // 2
    assert T > 2 * bound
    assert not set(klss.aux_basis(p, g).primes) & set(qp)


def test_key_size_against_hybrid():
    """n16-128, groups of alpha = 11: 4 digits x 5 groups of Q P's 55 primes x 2 halves x t
    aux primes, against hybrid's 4 x 2 x 55."""
    p = _params("n16-128")
    k = klss.key_limbs(p, 11)
    t = klss.aux_count(p, 11)
    assert (k["digits"], k["groups"], k["aux"]) == (4, 5, t)
    assert k["limbs"] == 4 * 5 * 2 * t and k["hybrid_limbs"] == 4 * 2 * 55
    # dnum 44 (alpha 1), groups of 4: small T, many groups
    p44 = p.with_dnum(44)
    k44 = klss.key_limbs(p44, 4)
    assert (k44["digits"], k44["groups"]) == (44, math.ceil(45 / 4))
    assert k44["aux"] == klss.aux_count(p44, 4) < t


def test_dry_run_reports_the_klss_kernels():
    """One relinearisation at toy-boot-n10's top level (44 Q primes, 4 digits of 11, 11
    special primes, groups of 11: 5 groups, t aux primes): ModUp raises each digit to T
    (4 NTTs of t rows), the inner product multiplies 4 digits x 5 groups x 2 halves over T,
    and each group comes back by an exact conversion T -> its 11 primes."""
    p = _params()
    t = klss.aux_count(p, p.alpha)
    with trace.recording(dry_run=True):
        ctx = CkksContext(p, key_switching="klss")
        keys = KeyGenerator(ctx, seed=1).gen_keyset()
        ct = Encryptor(ctx, keys.public, seed=2).encrypt(
            Encoder(ctx).encode([0.5], scale=p.level_scale(p.max_level)))
        ev = Evaluator(ctx, keys)
    with trace.recording(dry_run=True) as rec:
        ev.relinearize(ev.mul(ct, ct, relin=False))
    calls = [k for e in rec.events for k in _kernels(e)]
    bconv = Counter((k.src_primes, k.dst_primes) for k in calls if k.kind == "bconv")
    # digits -> T; 2 halves x 5 groups back, exact; ModDown's 2 (11 special -> 44)
    assert bconv == Counter({(11, t): 4, (t, 11): 10, (11, 44): 2})
    ntt_t = [k for k in calls if k.kind == "ntt" and k.primes == t]
    assert len(ntt_t) == 4
    mul_t = [k for k in calls if k.kind == "modmul" and k.primes == t]
    assert sum(k.count for k in mul_t) == 4 * 5 * 2


def _kernels(ev):
    yield from ev.kernels
    for c in ev.children:
        yield from _kernels(c)


def test_bad_key_switching_options_are_refused():
    p = _params()
    with pytest.raises(ValueError, match="key_switching='gadget' must be one of hybrid, klss"):
        CkksContext(p, key_switching="gadget")
    with pytest.raises(ValueError, match="klss_group=0 must be a positive integer"):
        CkksContext(p, key_switching="klss", klss_group=0)


@pytest.mark.parametrize("key_level, special", [(2, None), (2, "fit"), (1, 4), (9, "fit")])
def test_truncated_keys_over_fewer_special_primes_are_hybrids_too(key_level, special):
    """The ResNets' network keys: truncated to a low level, over the special primes their
    digit needs (KeySet.low_rotation). A rotation at that level and one below it."""
    def rotations(p, ctx, kg):
        keys = kg.gen_keyset()
        g = ctx.galois_element(3)
        keys.low_rotation[g] = kg.gen_galois_key(keys.secret, g, level=key_level, special=special)
        ev = Evaluator(ctx, keys)
        x = np.random.default_rng(4).uniform(-1, 1, p.slots)
        ct = Encryptor(ctx, keys.public, seed=2).encrypt(Encoder(ctx).encode(x))
        at = ev.drop_level(ct, p.max_level - key_level)
        return [ev.rotate(at, 3), ev.rotate(ev.drop_level(at, 1), 3)]
    got = _both(rotations)
    assert all(_same(a, b) for a, b in zip(got["hybrid"], got["klss"]))
