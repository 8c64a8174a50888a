"""Bootstrapping at the small insecure set ``toy-boot-n10`` (N = 2^10, same level layout as
n16-128): decrypted results against the plaintext message, levels, the imaginary-removing
behaviour, errors and the trace. The 128-bit figures come from ``fhesim bench bootstrap``.

Stated precision at toy-boot-n10 (scale 2^30), measured: real 512 slots 22.2 / 20.0 bits
(mean / worst), complex 512 22.2 / 19.9, complex 64 23.0 / 21.9, real 32 23.6 / 22.3: the
final rescale noise at 2^30 (docs/bootstrapping.md); asserted with ~1 bit of margin. Before
the union-of-intervals EvalMod fit the worst slot was ~4 bits lower (16.2 at 512 slots):
the cosine interpolant's error at the integers summed coherently into slot 0.
"""
import math
import warnings

import numpy as np
import pytest

from sw import trace
from sw.bootstrap import (BootstrapConfig, BootstrapError, Bootstrapper, gen_bootstrap_keys,
                          rotation_steps)
from sw.ckks import (CkksContext, Decryptor, Encoder, Encryptor, KeyGenerator, MissingKeyError,
                     SlotError, get_params)
from sw.circuits import Polynomial, PolynomialEvaluator

NAME = "toy-boot-n10"


pytestmark = pytest.mark.usefixtures("one_numba_thread")


class Env:
    def __init__(self, params, slots, **kw):
        self.p = params
        self.ctx = CkksContext(self.p)
        self.kg = KeyGenerator(self.ctx, seed=11)
        self.sk = self.kg.gen_secret_key()
        self.cfg = BootstrapConfig(slots=slots, **kw)
        self.keys = gen_bootstrap_keys(self.kg, self.sk, self.cfg)
        self.bt = Bootstrapper(self.ctx, self.keys)
        self.enc = Encoder(self.ctx)
        self.E = Encryptor(self.ctx, self.sk, seed=12)
        self.D = Decryptor(self.ctx, self.sk)
        self.slots = slots

    def ct(self, z, level=0):
        return self.E.encrypt(self.enc.encode(z, level=level, slots=self.slots))

    def dec(self, ct):
        return self.enc.decode(self.D.decrypt(ct))


def bits(err):
    e = np.abs(err)
    return -np.log2(e.mean()), -np.log2(e.max())


@pytest.fixture(scope="module")
def env(insecure_params):
    """``env(slots, **cfg)``: this module's one environment per bootstrap configuration;
    ``env.fresh(slots, **cfg)`` builds a new one."""
    envs = {}

    def get(slots, **kw):
        key = (slots, tuple(sorted(kw.items())))
        if key not in envs:
            envs[key] = Env(insecure_params(NAME), slots, **kw)
        return envs[key]

    get.fresh = lambda slots, **kw: Env(insecure_params(NAME), slots, **kw)
    return get


@pytest.mark.parametrize("slots,real,mean_min,worst_min", [
    (512, True, 21, 19),     # full slots, real messages (imaginary removed)
    (512, False, 21, 18.5),  # full slots, complex: two EvalMods
    (64, False, 22, 20.5),   # sparse complex: 2n real coefficients in one EvalMod
    (32, True, 22.5, 21),    # sparse real
])
def test_bootstrap_precision_and_levels(slots, real, mean_min, worst_min, env):
    e = env(slots, real=real)
    rng = np.random.default_rng(slots)
    z = rng.uniform(-1, 1, slots) + (0 if real else 1j * rng.uniform(-1, 1, slots))
    x = e.ct(z, level=0)
    out = e.bt.bootstrap(x)
    assert out.level == e.bt.output_level == 16 == e.p.max_level - e.cfg.depth
    assert out.scale == x.scale and out.slots == slots
    m, w = bits(e.dec(out) - z)
    assert m >= mean_min and w >= worst_min, (m, w)
    if real:
        assert np.max(np.abs(e.dec(out).imag)) < 2 ** -18


def test_plaintext_cache_keeps_one_word_per_subring_run(env):
    """Cached DFT diagonals (32 slots of N = 2^10: sub-ring gap g = 16) hold N/g uint32
    words per prime, and a second bootstrap, served from the cache, gives the same words."""
    from sw.ring import kernels as K
    e = env.fresh(32, real=True)
    x = e.ct(np.linspace(-0.9, 0.9, 32))
    first = e.bt.bootstrap(x)
    g = e.p.n // (2 * 32)
    assert e.bt._pt_cache and all(v.dtype == np.uint32 and v.shape[1] == e.p.n // g
                                  for v in e.bt._pt_cache.values())
    assert e.bt.cache_bytes == sum(v.shape[0] for v in e.bt._pt_cache.values()) * (e.p.n // g) * 4
    again = e.bt.bootstrap(x)
    for a, b in zip(first.polys, again.polys):
        np.testing.assert_array_equal(a.data, b.data)
    pt = e.enc.encode(np.arange(32.0), slots=32)
    np.testing.assert_array_equal(K.subring_expand(K.subring_compact(pt.poly.data, g), g), pt.poly.data)
    with pytest.raises(ValueError, match="not a polynomial in X"):
        K.subring_compact(e.enc.encode(np.arange(512.0), slots=512).poly.data, 2)


def test_shared_encapsulation_keys_serve_another_slot_count(env):
    """A 32-slot bootstrapper reusing the 512-slot one's encapsulation and decapsulation keys
    (``share``) is as precise as one with its own; other sparse-secret settings are refused."""
    e = env(512, real=True)
    cfg = BootstrapConfig(slots=32, real=True)
    keys = gen_bootstrap_keys(e.kg, e.sk, cfg, share=e.keys)
    assert keys.from_sparse is e.keys.from_sparse and keys.to_sparse is e.keys.to_sparse
    bt = Bootstrapper(e.ctx, keys)
    z = np.random.default_rng(7).uniform(-1, 1, 32)
    out = bt.bootstrap(e.E.encrypt(e.enc.encode(z, level=0, slots=32)))
    m, w = bits(e.enc.decode(e.D.decrypt(out)) - z)
    assert m >= 22.5 and w >= 21, (m, w)
    with pytest.raises(ValueError, match="h_sparse"):
        gen_bootstrap_keys(e.kg, e.sk, BootstrapConfig(slots=32, h_sparse=16), share=e.keys)


def test_bootstrap_accepts_any_input_level_and_result_computes(env):
    e = env(32, real=True)
    z = np.linspace(-0.9, 0.9, 32)
    out = e.bt.bootstrap(e.ct(z, level=5))
    sq = e.bt.ev.rescale(e.bt.ev.mul(out, out))
    assert np.max(np.abs(e.dec(sq) - z * z)) < 2 ** -14


def _cycles(e, z, cycles):
    """bootstrap -> 0.99 T_15 (odd Chebyshev, degree 15, depth 4) repeated; returns the
    per-cycle decrypted values and the plaintext reference 0.99 T_15(Re(previous value)).
    The factor 0.99 keeps the real parts off the edges +-1, where T_15 has slope 225 and a
    noise of 1e-7 past the edge would leave [-1, 1] within three cycles."""
    poly = Polynomial(0.99 * np.eye(16)[15], "chebyshev")
    pe = PolynomialEvaluator(e.bt.ev)
    x = e.ct(z)
    out = []
    prev = z.astype(complex)
    for _ in range(cycles):
        x = e.bt.bootstrap(e.bt.ev.drop_to_level(x, 0))
        x = pe.evaluate(x, poly)
        got = e.dec(x)
        out.append((got, poly(prev.real)))
        prev = got
        if np.max(np.abs(got)) > 2:    # diverged: stop before the next bootstrap overflows
            break
    return out


def test_imaginary_removing_keeps_cycles_bounded(env):
    """T_15(cos a) = cos(15 a): real parts stay in [-1, 1], but an imaginary part y grows by
    |0.99 T_15'(x)| (about 15 on average) per cycle. Without imaginary removal the bootstrap noise's
    imaginary part is carried along and blows up; with it, it is reset every cycle."""
    z = np.cos(np.linspace(0.1, 3.0, 64))
    keep = _cycles(env(64, real=False), z, 6)               # plain complex bootstrapping
    drop = _cycles(env(64, real=False, remove_imaginary=True), z, 6)
    drop_real = _cycles(env(64, real=True), z, 6)
    im_keep = [np.max(np.abs(g.imag)) for g, _ in keep]
    assert im_keep[-1] > 1e-2 and im_keep[-1] > 1e3 * im_keep[0], im_keep
    for run in (drop, drop_real):
        assert len(run) == 6
        for got, ref in run:
            assert np.max(np.abs(got.imag)) < 2 ** -12    # the polynomial's own noise only
            assert np.max(np.abs(got.real)) <= 1 + 2 ** -10
            # one cycle's error (bootstrap + polynomial) against the plaintext polynomial
            assert np.max(np.abs(got.real - ref)) < 2 ** -8


def test_rotation_keys_are_exactly_the_needed_steps(env):
    e = env(32, real=True)
    steps = rotation_steps(e.p, e.cfg)
    assert e.keys.steps == steps
    gal = {e.ctx.galois_element(s) for s in steps}
    assert set(e.keys.keyset.rotation) == gal
    rep = e.keys.report()
    assert rep["rotation_keys"] == len(gal)
    assert rep["rotation_bytes"] == sum(k.nbytes for k in e.keys.keyset.rotation.values())
    assert rep["total_bytes"] > rep["rotation_bytes"]


def test_errors(env):
    e = env(32, real=True)
    with pytest.raises(SlotError, match="ciphertext has 64 slots.*built for 32"):
        e.bt.bootstrap(e.E.encrypt(e.enc.encode([0.1], level=0, slots=64)))
    ks = e.keys
    del_step = ks.steps[0]
    g = e.ctx.galois_element(del_step)
    saved = ks.keyset.rotation.pop(g)
    try:
        with pytest.raises(MissingKeyError, match="rotation keys missing for steps"):
            Bootstrapper(e.ctx, ks)
    finally:
        ks.keyset.rotation[g] = saved
    with pytest.raises(SlotError, match="slots=48"):
        rotation_steps(e.p, BootstrapConfig(slots=48))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        small = get_params("toy-n10", allow_insecure=True)
    ctx = CkksContext(small)
    with trace.recording(dry_run=True):
        kg = KeyGenerator(ctx, seed=1)
        k2 = gen_bootstrap_keys(kg, kg.gen_secret_key(), BootstrapConfig(slots=8))
    with pytest.raises(BootstrapError, match="has 12 levels, bootstrapping needs"):
        Bootstrapper(ctx, k2)
    # a message too large for the modular-reduction range is refused from its scale
    big = e.E.encrypt(e.enc.encode([0.5], level=0, slots=32, scale=2.0 ** 61))
    with pytest.raises(BootstrapError, match="too large for q0"):
        e.bt.bootstrap(big)
    assert e.bt.max_input_magnitude(2.0 ** 30) > 100


def test_trace_stages_real_run(env):
    e = env(32, real=True)
    x = e.ct(np.full(32, 0.25))
    with trace.recording() as rec:
        out = e.bt.bootstrap(x)
    assert np.max(np.abs(e.dec(out) - 0.25)) < 2 ** -14
    df = rec.to_dataframe()
    top = df[df.depth == 0]
    assert list(top.kind) == ["bootstrap"]
    kinds = set(df.kind)
    assert {"modraise", "keyswitch", "keyswitch_ct", "rotate", "rotate_hoisted", "pmult", "cmult",
            "conjugate", "rescale"} <= kinds
    stages = set(df.stage.dropna())
    assert {"bootstrap/modraise", "bootstrap/cts", "bootstrap/evalmod", "bootstrap/stc"} <= stages
    per = df[df.depth == 1].groupby("stage")["ntt_total"].sum()
    assert all(per[s] > 0 for s in ("bootstrap/cts", "bootstrap/evalmod", "bootstrap/stc"))
    assert int(top.level_out.iloc[0]) == 16


def test_dry_run_trace_n16_128():
    """The cycle model's bootstrapping trace at the 128-bit set, without arithmetic."""
    p = get_params("n16-128")
    ctx = CkksContext(p)
    with trace.recording(dry_run=True) as rec:
        kg = KeyGenerator(ctx, seed=1)
        sk = kg.gen_secret_key()
        keys = gen_bootstrap_keys(kg, sk, BootstrapConfig(slots=p.slots, real=True))
        bt = Bootstrapper(ctx, keys)
        out = bt.bootstrap(Encryptor(ctx, sk).encrypt(Encoder(ctx).encode([0.5], level=0)))
    assert out.is_placeholder and out.level == bt.output_level >= 16
    df = rec.to_dataframe()
    assert set(df[df.depth == 1].stage) == {"bootstrap/modraise", "bootstrap/cts",
                                            "bootstrap/evalmod", "bootstrap/stc"}
    assert keys.report()["rotation_keys"] == len({ctx.galois_element(s) for s in keys.steps})


# ------------------------------------------------------------------ minimum key switching


@pytest.mark.parametrize("slots,real,mean_min,worst_min,saved", [
    (512, True, 21, 19, 2),      # full real slots: giant steps -2..2 and -4..3 become +-n1
    (64, False, 22, 20.5, 0),    # sparse complex: giant steps +-1 or with gaps, nothing saved
])
def test_min_key_switching_is_as_precise_with_fewer_keys(slots, real, mean_min, worst_min, saved, env):
    """``giant_steps="min"`` (ARK): the giant steps of every DFT level are Horner steps by
    ``+-n1``, so the key set is the baby steps, ``+-n1`` of each level and the trace steps
    (derived here from the DFT factors, independently of the plan's own step set); the
    result is as precise as one giant-step key per step, with the same key-switch count."""
    from sw.bootstrap import dft
    from sw.bootstrap.bootstrapper import _Plan
    e = env(slots, real=real, giant_steps="min")
    ref = env(slots, real=real)
    plan = _Plan(e.p, e.cfg)
    want = set(plan.trace_steps)
    for f, n1, per in list(zip(plan.cts, plan.cts_n1, plan.cts_period)) + \
            list(zip(plan.stc, plan.stc_n1, plan.stc_period)):
        b, g = dft.rotation_steps(f, per, n1)
        want |= set(b)
        for sign in (1, -1):
            side = sorted(abs(x) // n1 for x in g if x * sign > 0)
            d = math.gcd(*side) if side else 0
            if side and side == list(range(d, side[-1] + 1, d)):
                want.add(sign * d * n1)
            else:
                want |= {x for x in g if x * sign > 0}
    want = {s for s in want if s % plan.view or s in plan.trace_steps}
    gal = {e.ctx.galois_element(s) for s in want}
    assert set(e.keys.keyset.rotation) == gal
    assert len(ref.keys.keyset.rotation) - len(gal) == saved
    rng = np.random.default_rng(slots + 1)
    z = rng.uniform(-1, 1, slots) + (0 if real else 1j * rng.uniform(-1, 1, slots))
    x = e.ct(z, level=0)
    with trace.recording() as rec:
        out = e.bt.bootstrap(x)
    with trace.recording() as rec_ref:
        out_ref = ref.bt.bootstrap(ref.ct(z, level=0))
    assert out.level == out_ref.level == 16 and out.scale == x.scale
    m, w = bits(e.dec(out) - z)
    m_ref, w_ref = bits(ref.dec(out_ref) - z)
    assert m >= mean_min and w >= worst_min, (m, w)
    assert m >= m_ref - 0.5 and w >= w_ref - 0.5, (m, w, m_ref, w_ref)

    def switches(r):
        df = r.to_dataframe()
        return int((df.kind == "keyswitch").sum())
    assert switches(rec) == switches(rec_ref)


@pytest.mark.parametrize("dnum", [2, 11])
def test_other_digit_counts_bootstrap_as_precisely(dnum, env, insecure_params):
    """The ``dnum`` option of the cycle model's ``[algorithm]`` table rebuilds the set with
    :meth:`CkksParams.with_dnum` (same Q chain): bootstrapping keeps its 16 levels left and
    its precision (within 0.5 bit of dnum 4) with 2 digits of 22 primes (22 special primes)
    and with 11 digits of 4 (4 special primes)."""
    p = insecure_params(NAME).with_dnum(dnum)
    assert (p.dnum, len(p.p_primes), p.q_groups) == (dnum, 44 // dnum, insecure_params(NAME).q_groups)
    e, ref = Env(p, 512, real=True), env(512, real=True)
    rng = np.random.default_rng(5)
    z = rng.uniform(-1, 1, 512)
    out = e.bt.bootstrap(e.ct(z, level=0))
    out_ref = ref.bt.bootstrap(ref.ct(z, level=0))
    assert out.level == out_ref.level == 16
    assert len(p.digits_at(p.max_level)) == dnum
    m, w = bits(e.dec(out) - z)
    m_ref, w_ref = bits(ref.dec(out_ref) - z)
    assert m >= m_ref - 0.5 and w >= w_ref - 0.5, (m, w, m_ref, w_ref)
    print(f"dnum {dnum}: {m:.2f} / {w:.2f} bits (dnum 4: {m_ref:.2f} / {w_ref:.2f}), 16 levels left")


def test_giant_steps_option_is_checked():
    with pytest.raises(ValueError, match="giant_steps='few' must be one of keys, min"):
        BootstrapConfig(slots=32, giant_steps="few")


def test_high_precision_layout_gains_the_rescale_noise_bits(env, insecure_params):
    """``toy-boot-hp-n10`` (the ``n16-128-hp`` layout at N = 2^10): application levels of two
    primes near 2^25 (scale ~2^50) instead of one near 2^30. The output lands on the input's
    2^50 scale, so the last StC rescale adds ~2^-20 less noise; the same circuit on the same
    message gains at least 3 bits over ``toy-boot-n10`` (measured: see docs/bootstrapping.md),
    with 10 levels left."""
    p = insecure_params("toy-boot-hp-n10")
    assert abs(math.log2(p.default_scale) - 50) < 1e-9
    assert all(len(p.q_groups[lv]) == 2 and abs(math.log2(p.level_scale(lv)) - 50) < 0.5
               for lv in range(1, 11))
    e, ref = Env(p, 512, real=True), env(512, real=True)
    rng = np.random.default_rng(7)
    z = rng.uniform(-1, 1, 512)
    x = e.ct(z, level=0)
    out = e.bt.bootstrap(x)
    out_ref = ref.bt.bootstrap(ref.ct(z, level=0))
    assert out.level == e.bt.output_level == 10 and out.scale == x.scale
    m, w = bits(e.dec(out) - z)
    m_ref, w_ref = bits(ref.dec(out_ref) - z)
    print(f"hp layout: {m:.2f} / {w:.2f} bits, 10 levels left (standard: {m_ref:.2f} / {w_ref:.2f}, 16)")
    assert m >= m_ref + 3 and w >= w_ref + 3, (m, w, m_ref, w_ref)


def test_six_level_high_precision_layout_keeps_the_precision(insecure_params):
    """``n16-128-hp6`` is ``n16-128-hp`` with 6 application levels instead of 10: the same
    bootstrapping levels, so at N = 2^10 (its group sizes and prime sizes, insecure) the same
    circuit on the same message decrypts within half a bit of ``toy-boot-hp-n10``, and 6
    levels are left. The 2^16 set itself is 128-bit with 40 Q and 10 special primes."""
    from sw.ckks.params import CkksParams
    from sw.ckks import security
    full = get_params("n16-128-hp6")
    hp = get_params("n16-128-hp")
    assert full.is_secure and full.log_qp <= security.max_log_qp(1 << 16)
    assert (len(full.q_primes), len(full.p_primes), full.max_level) == (40, 10, 20)
    # the bootstrapping groups (q0 aside) are hp's top 14, prime for prime
    assert full.q_groups[7:] == hp.q_groups[11:]
    sizes = [len(g) for g in full.q_groups[1:]]
    gbits = [round(math.log2(g[0])) for g in full.q_groups[1:]]
    p6 = CkksParams.build("hp6-n10", 10, sizes, group_bits=gbits, log_scale=50.0, dnum=4,
                          allow_insecure=True)
    ref_p = insecure_params("toy-boot-hp-n10")
    z = np.random.default_rng(7).uniform(-1, 1, 512)
    e, ref = Env(p6, 512, real=True), Env(ref_p, 512, real=True)
    out, out_ref = e.bt.bootstrap(e.ct(z, level=0)), ref.bt.bootstrap(ref.ct(z, level=0))
    assert out.level == e.bt.output_level == 6 and out_ref.level == 10
    m, w = bits(e.dec(out) - z)
    m_ref, w_ref = bits(ref.dec(out_ref) - z)
    print(f"hp6 layout: {m:.2f} / {w:.2f} bits, 6 left (hp: {m_ref:.2f} / {w_ref:.2f}, 10 left)")
    assert abs(m - m_ref) <= 0.5 and w >= w_ref - 1, (m, w, m_ref, w_ref)


# ------------------------------------------------------- chained baby steps (ARK's Min-KS)


def test_chain_steps_are_the_differences_of_consecutive_babies():
    from sw.bootstrap.bootstrapper import chain_steps
    assert chain_steps([1, 2, 3]) == [1]
    assert chain_steps([12, 4, 8]) == [4]            # order does not matter
    assert chain_steps([1, 2, 5, 6]) == [1, 3]
    assert chain_steps([3]) == [3] and chain_steps([]) == []


@pytest.mark.parametrize("slots,real", [(512, True), (64, False)])
def test_chained_baby_steps_are_as_precise_with_fewer_keys(slots, real, env):
    """``baby_steps="chain"`` (ARK's minimum key switching for the babies): every baby
    rotation is a full rotation of the previous one, so the keys of the babies are the
    differences of consecutive baby steps (here derived with ``np.diff`` from the DFT
    factors). The same key switches as hoisted babies, one decomposition per baby instead of
    one per level, and the same precision and levels left."""
    from sw.bootstrap import dft
    from sw.bootstrap.bootstrapper import _Plan
    e = env(slots, real=real, giant_steps="min", baby_steps="chain")
    ref = env(slots, real=real, giant_steps="min")
    plan = _Plan(e.p, e.cfg)
    hoisted_babies, chained, extra_decomp = set(), set(), 0
    for f, n1, per in list(zip(plan.cts, plan.cts_n1, plan.cts_period)) + \
            list(zip(plan.stc, plan.stc_n1, plan.stc_period)):
        b, _ = dft.rotation_steps(f, per, n1)
        hoisted_babies |= set(b)
        chained |= set(np.diff([0] + sorted(b)).tolist())
        extra_decomp += max(len(b) - 1, 0)
    gal = lambda steps: {e.ctx.galois_element(s) for s in steps if s % plan.view or s in plan.trace_steps}
    want = set(ref.keys.keyset.rotation) - gal(hoisted_babies - chained) | gal(chained)
    assert set(e.keys.keyset.rotation) == want
    assert len(want) < len(ref.keys.keyset.rotation)
    rng = np.random.default_rng(slots + 2)
    z = rng.uniform(-1, 1, slots) + (0 if real else 1j * rng.uniform(-1, 1, slots))
    with trace.recording() as rec:
        out = e.bt.bootstrap(e.ct(z, level=0))
    with trace.recording() as rec_ref:
        out_ref = ref.bt.bootstrap(ref.ct(z, level=0))
    assert out.level == out_ref.level == 16 and out.scale == out_ref.scale
    m, w = bits(e.dec(out) - z)
    m_ref, w_ref = bits(ref.dec(out_ref) - z)
    assert m >= m_ref - 0.5 and w >= w_ref - 0.5, (m, w, m_ref, w_ref)

    def count(r, kind):
        df = r.to_dataframe()
        return int((df.kind == kind).sum())
    assert count(rec, "keyswitch") == count(rec_ref, "keyswitch")
    assert count(rec, "modup") == count(rec_ref, "modup") + extra_decomp


def test_baby_steps_option_is_checked():
    with pytest.raises(ValueError, match="baby_steps='tree' must be one of hoisted, chain"):
        BootstrapConfig(slots=32, baby_steps="tree")
    with pytest.raises(ValueError, match="baby_steps='chain'.*hoisting='double'"):
        BootstrapConfig(slots=32, baby_steps="chain", hoisting="double")


# ------------------------------------------------------- the BSGS split's giant-step weight


def test_weighted_split_takes_fewer_giant_steps_for_more_babies():
    """``best_n1(m, n, giant_cost)`` against an exhaustive count over every power of two:
    the weight 1 minimises babies + giants (the default split), a larger weight never takes
    more giant steps."""
    from sw.bootstrap import dft
    from sw.bootstrap.bootstrapper import _Plan
    p = get_params("n16-128")
    plan = _Plan(p, BootstrapConfig(slots=1 << 14))
    for f, per in zip(plan.cts + plan.stc, plan.cts_period + plan.stc_period):
        counts = {}
        n1 = 1
        while n1 <= per:
            b, g = dft.rotation_steps(f, per, n1)
            counts[n1] = (len(b), len(g))
            n1 *= 2
        for w in (1.0, 5.0):
            best = min(counts, key=lambda k: (counts[k][0] + w * counts[k][1], -k))
            assert dft.best_n1(f, per, w) == best, w
        assert counts[dft.best_n1(f, per, 5.0)][1] <= counts[dft.best_n1(f, per)][1]


def test_weighted_split_bootstraps_as_precisely(env):
    """``giant_cost=5`` moves the split of the wide DFT levels to larger ``n1`` (toy-boot-n10,
    512 real slots) and keeps the 16 levels and the precision (within 0.5 bit)."""
    e, ref = env(512, real=True, giant_cost=5.0), env(512, real=True)
    assert e.bt.plan.cts_n1 != ref.bt.plan.cts_n1 or e.bt.plan.stc_n1 != ref.bt.plan.stc_n1
    assert all(a >= b for a, b in zip(e.bt.plan.cts_n1 + e.bt.plan.stc_n1,
                                      ref.bt.plan.cts_n1 + ref.bt.plan.stc_n1))
    rng = np.random.default_rng(9)
    z = rng.uniform(-1, 1, 512)
    out, out_ref = e.bt.bootstrap(e.ct(z, level=0)), ref.bt.bootstrap(ref.ct(z, level=0))
    assert out.level == out_ref.level == 16
    m, w = bits(e.dec(out) - z)
    m_ref, w_ref = bits(ref.dec(out_ref) - z)
    assert m >= m_ref - 0.5 and w >= w_ref - 0.5, (m, w, m_ref, w_ref)
    assert set(e.keys.steps) == set(rotation_steps(e.p, e.cfg))


@pytest.mark.parametrize("cost", [0, -1.0, float("nan"), "5", True])
def test_giant_cost_must_be_a_positive_number(cost):
    with pytest.raises(ValueError, match="giant_cost=.* must be a positive number"):
        BootstrapConfig(slots=32, giant_cost=cost)
