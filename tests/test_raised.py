"""Double hoisting (``sw.ckks.raised``): ciphertexts kept over ``Q_l + P``.

The references are exact: ``lower(raise(ct))`` is ``ct`` itself, and a raised rotation
brought down is, integer for integer, the rotation of ``Evaluator`` (one ModDown rounds
``(P phi(c0) + ks0) / P`` to ``phi(c0) + round(ks0 / P)``). Products are checked against
NumPy on the decrypted slots, the bootstrapping variant against the single-hoisted one and
the message, and the trace's key switches against a count by hand.
"""
import math
from dataclasses import replace

import numpy as np
import pytest

from sim.cycle.adapters import ops_from_trace
from sw import trace
from sw.bootstrap import BootstrapConfig, Bootstrapper, gen_bootstrap_keys
from sw.ckks import Decryptor, Encoder, Encryptor, KeyGenerator, CkksContext
from sw.ckks.errors import LevelMismatchError
from sw.ckks.raised import RaisedCiphertext, RaisedEvaluator, RaisedGiants

pytestmark = pytest.mark.usefixtures("one_numba_thread")

STEPS = (1, 3, -2)


@pytest.fixture(scope="module")
def env(ckks_env):
    e = ckks_env("toy-n10", rotations=STEPS)
    e.rev = RaisedEvaluator(e.ev)
    return e


def _same(a, b):
    assert a.level == b.level and a.primes == b.primes
    for pa, pb in zip(a.polys, b.polys):
        np.testing.assert_array_equal(pa.data, pb.data)


def test_lower_of_raise_is_the_ciphertext(env):
    ct = env.ct(env.vec())
    r = env.rev.raise_(ct)
    assert isinstance(r, RaisedCiphertext)
    assert len(r.primes) == len(ct.primes) + len(env.ctx.p_basis)
    assert not r.polys[0].data[len(ct.primes):].any()      # P ct vanishes modulo P
    _same(env.rev.lower(r), ct)


@pytest.mark.parametrize("drop", [0, 2])
def test_raised_hoisted_rotations_brought_down_equal_the_evaluators(env, drop):
    ct = env.ev.drop_level(env.ct(env.vec()), drop)
    raised = env.rev.rotate_hoisted(ct, [0, *STEPS])
    single = env.ev.rotate_hoisted(ct, list(STEPS))
    _same(env.rev.lower(raised[0]), ct)
    for s in STEPS:
        _same(env.rev.lower(raised[s]), single[s])


def test_raised_giant_rotation_brought_down_equals_rotate(env):
    ct = env.ct(env.vec())
    for s in STEPS:
        _same(env.rev.lower(env.rev.rotate(env.rev.raise_(ct), s)), env.ev.rotate(ct, s))


def test_raised_bsgs_sum_decrypts_to_numpy(env):
    """``rot(sum_i d_i rot(v, i), 3)`` with the rescale fused into the final ModDown."""
    z = env.vec()
    ct = env.ct(z)
    slots = ct.slots
    rng = np.random.default_rng(9)
    diags = {i: rng.uniform(-1, 1, slots) + 1j * rng.uniform(-1, 1, slots) for i in (0, 1, 3)}
    pt_scale = env.p.level_scale(ct.level)
    rots = env.rev.rotate_hoisted(ct, list(diags))
    acc = None
    for i, d in diags.items():
        pt = env.enc.encode(d, level=ct.level, scale=pt_scale, special=True)
        acc = env.rev.mul_plain(rots[i], pt) if acc is None else env.rev.mul_plain_acc(acc, rots[i], pt)
    out = env.rev.lower(env.rev.rotate(acc, 3), rescale=True)
    assert out.level == ct.level - 1
    assert math.isclose(out.scale, ct.scale, rel_tol=1e-9)
    want = np.roll(sum(d * np.roll(z, -i) for i, d in diags.items()), -3)
    err = np.abs(env.dec(out) - want).max()
    assert err < 2 ** -15, err


def test_raised_products_need_plaintexts_over_q_and_p(env):
    ct = env.ct(env.vec())
    r = env.rev.raise_(ct)
    pt = env.enc.encode(env.vec(), level=ct.level)
    with pytest.raises(LevelMismatchError, match=r"special=True"):
        env.rev.mul_plain(r, pt)
    with pytest.raises(TypeError, match="RaisedCiphertext"):
        env.rev.rotate(ct, 1)
    with pytest.raises(TypeError, match="RaisedCiphertext"):
        env.rev.lower(ct)


def test_raised_key_switches_are_costed_with_their_digits_and_special_primes(env):
    ct = env.ct(env.vec())
    with trace.recording() as rec:
        env.rev.rotate_hoisted(ct, list(STEPS))
    (op,), _ = ops_from_trace(rec)
    L, K = len(ct.primes), len(env.ctx.p_basis)
    digits = math.ceil(L / env.p.alpha)
    assert [(u.digits, u.primes, u.special) for u in op.keys] == [(digits, L, K)] * len(STEPS)
    # no ModDown at all: the only inverse NTT is the decomposition's (L rows)
    intt = sum(k.primes * k.count for k in op.kernels if k.kind == "intt")
    assert intt == L


def _intt_rows(rec):
    ops, _ = ops_from_trace(rec)
    return sum(k.primes * k.count for o in ops for k in o.kernels if k.kind == "intt")


def test_raised_giants_sum_equals_the_evaluators_with_fewer_moddowns(env):
    """``sum_g rot(sum_b d_{g,b} rot(v, b), g)`` with single-hoisted babies: the giant
    rotations summed raised (``RaisedGiants``) decrypt to the evaluator's sum, and save
    ``2 K (g - 1)`` inverse-NTT rows (the giant rotations' ModDowns but one, counted by hand)."""
    z = env.vec()
    ct = env.ct(z)
    rng = np.random.default_rng(5)
    babies, giants = (0, 1), (0, 3, -2)
    diags = {(g, b): rng.uniform(-1, 1, ct.slots) for g in giants for b in babies}
    pt_scale = env.p.level_scale(ct.level)
    rots = {0: ct, **env.ev.rotate_hoisted(ct, [1])}

    def bsgs(gev, finish):
        acc = None
        for g in giants:
            inner = None
            for b in babies:
                pt = env.enc.encode(diags[g, b], level=ct.level, scale=pt_scale)
                inner = (env.ev.mul_plain(rots[b], pt) if inner is None
                         else env.ev.mul_plain_acc(inner, rots[b], pt))
            if g:
                inner = gev.rotate(inner, g)
            acc = inner if acc is None else gev.add(acc, inner)
        return finish(acc)

    gev = RaisedGiants(env.ev)
    with trace.recording() as rec_raised:
        raised = bsgs(gev, gev.finish)
    with trace.recording() as rec_plain:
        plain = bsgs(env.ev, env.ev.rescale)
    assert (raised.level, raised.primes) == (plain.level, plain.primes) == (ct.level - 1, plain.primes)
    assert math.isclose(raised.scale, plain.scale, rel_tol=1e-12)
    want = sum(np.roll(d * np.roll(z, -b), -g) for (g, b), d in diags.items())
    for out in (raised, plain):
        assert np.abs(env.dec(out) - want).max() < 2 ** -14
    assert np.abs(env.dec(raised) - env.dec(plain)).max() < 2 ** -18
    K, moved = len(env.ctx.p_basis), sum(1 for g in giants if g)
    assert _intt_rows(rec_plain) - _intt_rows(rec_raised) == 2 * K * (moved - 1)

# -- bootstrapping ----------------------------------------------------------------------

class _Boot:
    def __init__(self, insecure_params, slots, **kw):
        self.p = insecure_params("toy-boot-n10")
        self.ctx = CkksContext(self.p)
        kg = KeyGenerator(self.ctx, seed=11)
        sk = kg.gen_secret_key()
        self.enc = Encoder(self.ctx)
        self.E = Encryptor(self.ctx, sk, seed=12)
        self.D = Decryptor(self.ctx, sk)
        keys = gen_bootstrap_keys(kg, sk, BootstrapConfig(slots=slots, **kw))
        # the hoisting does not change the keys: one key set, a bootstrapper per variant
        self.bt = {h: Bootstrapper(self.ctx, replace(keys, config=BootstrapConfig(slots=slots, hoisting=h, **kw)))
                   for h in ("single", "double", "double-cts")}
        self.slots = slots


@pytest.mark.parametrize("slots,kw", [(512, {}), (64, {"real": False}), (32, {"giant_steps": "min"})])
def test_double_hoisted_bootstrap_matches_single(insecure_params, slots, kw):
    b = _Boot(insecure_params, slots, **kw)
    z = np.random.default_rng(slots).uniform(-1, 1, slots)
    if not kw.get("real", True):
        z = z + 1j * np.random.default_rng(slots + 1).uniform(-1, 1, slots)
    ct = b.E.encrypt(b.enc.encode(z, level=0, slots=slots))
    out = {}
    ntt_rows = {}
    for h, bt in b.bt.items():
        with trace.recording() as rec:
            y = bt.bootstrap(ct)
        assert y.level == bt.output_level and math.isclose(y.scale, ct.scale, rel_tol=1e-9)
        out[h] = b.enc.decode(b.D.decrypt(y))
        ops, _ = ops_from_trace(rec)
        ntt_rows[h] = sum(k.primes * k.count for o in ops for k in o.kernels if k.kind in ("ntt", "intt"))
        keys = [u for o in ops for u in o.keys]
        assert all(u.special > 0 and u.digits >= 1 for u in keys)
        out[h + "/ks"] = len(keys)
    err = np.abs(out["double"] - z)
    assert -np.log2(err.mean()) > 21 and -np.log2(err.max()) > 18.5
    # the same key switches, fewer transforms, and the same message to the rounding noise
    assert out["double/ks"] == out["double-cts/ks"] == out["single/ks"]
    assert ntt_rows["double"] < ntt_rows["double-cts"] < ntt_rows["single"]
    assert ntt_rows["double"] < 0.9 * ntt_rows["single"]
    for h in ("double", "double-cts"):
        assert np.abs(out[h] - out["single"]).max() < 2 ** -18


def test_bootstrap_config_refuses_an_unknown_hoisting():
    with pytest.raises(ValueError, match="hoisting='triple'"):
        BootstrapConfig(slots=32, hoisting="triple")
