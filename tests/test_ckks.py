"""CKKS scheme at the small insecure sets: every operation decrypts to the plaintext result.

Stated precision: at ``toy-n10`` / ``toy-n12`` (scale 2^30, uniform ternary secret), slot
values of magnitude <= 1 decrypt within ``TOL = 2^-12`` absolute after any single operation
chain used here (measured errors are ~1e-5 .. 1e-4).
"""
import numpy as np
import pytest


TOL = 2.0 ** -12


@pytest.fixture(scope="module")
def env(ckks_env):
    return ckks_env("toy-n10")


def err(a, b):
    return float(np.max(np.abs(np.asarray(a) - np.asarray(b))))


@pytest.mark.parametrize("slots", [512, 64, 4, 1])
def test_encode_decode_roundtrip(env, slots):
    z = env.vec(slots)
    for level, scale in [(env.p.max_level, 2.0 ** 30), (0, 2.0 ** 45), (10, 2.0 ** 80)]:
        pt = env.enc.encode(z, level=level, scale=scale, slots=slots)
        assert pt.level == level and pt.slots == slots and pt.scale == scale
        assert err(env.enc.decode(pt), z) < 1e-7


def test_encode_is_canonical_embedding(env):
    # m(zeta^(5^j)) = scale * z_j with zeta = exp(i pi / n)
    n = env.p.n
    z = env.vec()
    pt = env.enc.encode(z, scale=2.0 ** 20)
    m = np.array([float(v) for v in pt.poly.centered()])
    for j in (0, 1, 7, 200):
        root = np.exp(1j * np.pi * pow(5, j, 2 * n) / n)
        assert abs(np.polyval(m[::-1], root) / 2.0 ** 20 - z[j]) < 1e-4


@pytest.mark.parametrize("slots", [1, 2, 8, 256])
def test_slots_to_coeffs_evaluates_to_the_slots(slots):
    """The half-length FFT against the definition: ``m'(xi^(5^j)) = z_j``, ``xi = exp(i pi /
    (2 slots))``, evaluated term by term; and ``coeffs_to_slots`` inverts it."""
    from sw.ckks.encoder import coeffs_to_slots, slots_to_coeffs
    rng = np.random.default_rng(slots)
    z = rng.uniform(-1, 1, slots) + 1j * rng.uniform(-1, 1, slots)
    m = slots_to_coeffs(z, slots)
    n2 = 2 * slots
    assert m.shape == (n2,) and m.dtype == np.float64
    for j in range(slots):
        root = np.exp(1j * np.pi * pow(5, j, 2 * n2) / n2)
        assert abs(sum(m[t] * root ** t for t in range(n2)) - z[j]) < 1e-12
    assert np.abs(coeffs_to_slots(m, slots) - z).max() < 1e-12


def test_encrypt_public_and_secret(env):
    z = env.vec()
    assert err(env.dec(env.ct(z)), z) < TOL
    assert err(env.dec(env.Es.encrypt(env.enc.encode(z))), z) < TOL
    assert env.ct(z).primes == env.p.primes_at(env.p.max_level)


def test_additive_ops(env):
    z, w = env.vec(), env.vec()
    a, b = env.ct(z), env.ct(w)
    ev = env.ev
    assert err(env.dec(ev.add(a, b)), z + w) < TOL
    assert err(env.dec(ev.sub(a, b)), z - w) < TOL
    assert err(env.dec(ev.neg(a)), -z) < TOL
    pt = env.enc.encode(w)
    assert err(env.dec(ev.add_plain(a, pt)), z + w) < TOL
    assert err(env.dec(ev.sub_plain(a, pt)), z - w) < TOL
    assert err(env.dec(ev.add_const(a, 0.25 - 0.5j)), z + 0.25 - 0.5j) < TOL
    assert err(env.dec(ev.sub_const(a, 2)), z - 2) < TOL


def test_multiplicative_ops(env):
    z, w = env.vec(), env.vec()
    a, b = env.ct(z), env.ct(w)
    ev = env.ev
    L = env.p.max_level
    m = ev.mul(a, b)
    assert m.degree == 1 and m.level == L and m.scale == a.scale * b.scale
    r = ev.rescale(m)
    assert r.level == L - 1 and r.scale == pytest.approx(a.scale * b.scale / env.p.level_scale(L), rel=1e-15)
    assert err(env.dec(r), z * w) < TOL
    assert err(env.dec(ev.rescale(ev.square(a))), z * z) < TOL
    m3 = ev.mul(a, b, relin=False)
    assert m3.degree == 2
    assert err(env.dec(ev.rescale(m3)), z * w) < TOL            # decrypts with s^2 as well
    assert err(env.dec(ev.rescale(ev.relinearize(m3))), z * w) < TOL
    assert err(env.dec(ev.rescale(ev.mul_plain(a, env.enc.encode(w)))), z * w) < TOL
    c = ev.rescale(ev.mul_const(a, 0.75))
    assert c.scale == a.scale and err(env.dec(c), 0.75 * z) < TOL
    c = ev.rescale(ev.mul_const(a, -0.3 + 0.6j))
    assert err(env.dec(c), (-0.3 + 0.6j) * z) < TOL
    assert err(env.dec(ev.mul_int(a, -3)), -3 * z) < 3 * TOL
    # target scale: land exactly on 2^29 after rescale
    s = ev.plain_scale_for(a, 2.0 ** 29)
    t = ev.rescale(ev.mul_plain(a, env.enc.encode(w, scale=s)))
    assert t.scale == pytest.approx(2.0 ** 29, rel=1e-12) and err(env.dec(t), z * w) < TOL


def test_deep_chain_to_level_zero(env):
    # z on the unit circle: z^(2^k) stays on it; square at every level down to 0
    th = env.rng.uniform(0, 2 * np.pi, env.p.slots)
    z = np.exp(1j * th)
    ct, ref = env.ct(z), z
    ev = env.ev
    nsq = 0
    while ct.level > 0:
        if ct.level in (9, 10):   # composite (two-prime) groups of toy-n10: keep the scale matched
            ct = ev.rescale(ev.mul_const(ct, 1.0))
            continue
        ct = ev.rescale(ev.square(ct))
        ref = ref * ref
        nsq += 1
        e = err(env.dec(ct), ref)
        # squaring doubles the relative error: allow TOL * 2^(number of squarings)
        assert e < TOL * 2.0 ** nsq, (ct.level, nsq, e)
    assert ct.level == 0


def test_composite_level_scaling(env):
    # encode at the composite level 10 with scale ~ its two-prime product (~2^61)
    p, ev = env.p, env.ev
    assert len(p.q_groups[10]) == 2 and len(p.q_groups[9]) == 2
    z, w = env.vec(), env.vec()
    s10 = p.level_scale(10)
    a = env.ct(z, level=10, scale=s10)
    b = env.ct(w, level=10, scale=s10)
    r = ev.rescale(ev.mul(a, b))
    assert r.level == 9 and r.scale == pytest.approx(s10, rel=1e-15)
    assert err(env.dec(r), z * w) < 1e-6                          # 2^61 scale: far better precision
    r2 = ev.rescale(ev.mul(r, ev.drop_level(ev.rescale(ev.mul_const(b, 1.0)), 0)))
    assert r2.level == 8 and err(env.dec(r2), z * w * w) < 1e-6


def test_rotations_and_conjugation(env):
    z = env.vec()
    a = env.ct(z)
    ev = env.ev
    for k in (1, -1, 3, 5, 100):
        assert err(env.dec(ev.rotate(a, k)), np.roll(z, -k)) < TOL, k
    assert err(env.dec(ev.conjugate(a)), np.conj(z)) < TOL
    h = ev.rotate_hoisted(a, [1, 3, -1, 0])
    for k in (1, 3, -1, 0):
        assert err(env.dec(h[k]), np.roll(z, -k)) < TOL
    # rotation at a lower level
    low = ev.drop_level(a, 5)
    assert err(env.dec(ev.rotate(low, 3)), np.roll(z, -3)) < TOL


def test_sparse_slots_rotate(env):
    z = env.vec(16)
    a = env.ct(z, slots=16)
    assert a.slots == 16
    assert err(env.dec(a), z) < TOL
    for k in (1, 3, -1, 5):
        assert err(env.dec(env.ev.rotate(a, k)), np.roll(z, -k)) < TOL
    # step 17 == 1 mod 16: served by the key of step 1
    assert err(env.dec(env.ev.rotate(a, 17)), np.roll(z, -1)) < TOL
    assert err(env.dec(env.ev.conjugate(a)), np.conj(z)) < TOL


def test_drop_level(env):
    z = env.vec()
    a = env.ct(z)
    d = env.ev.drop_level(a, 4)
    assert d.level == a.level - 4 and d.scale == a.scale and len(d.primes) == len(env.p.primes_at(d.level))
    assert err(env.dec(d), z) < TOL
    assert env.ev.drop_to_level(a, 0).level == 0


def test_toy_n12_ops(ckks_env):
    e = ckks_env("toy-n12", rotations=(1, 7))
    z, w = e.vec(), e.vec()
    a, b = e.ct(z), e.ct(w)
    r = e.ev.rescale(e.ev.mul(a, b))
    assert err(e.dec(r), z * w) < TOL
    assert err(e.dec(e.ev.rotate(r, 7)), np.roll(z * w, -7)) < TOL
    assert err(e.dec(e.ev.conjugate(a)), np.conj(z)) < TOL
    # composite EvalMod-style levels of toy-n12 (groups 18..26 hold two primes)
    lvl = 20
    assert len(e.p.q_groups[lvl]) == 2
    s = e.p.level_scale(lvl)
    c = e.ev.rescale(e.ev.mul(e.ct(z, level=lvl, scale=s), e.ct(w, level=lvl, scale=s)))
    assert c.level == lvl - 1 and err(e.dec(c), z * w) < 1e-6


def test_compact_keys_switch_bit_identically(ckks_env):
    """A key stored as uint32 words gives exactly the words of its uint64 original, for a
    plain and a hoisted rotation and at a lower level (the kernel widens as it reads)."""
    e = ckks_env("toy-n10", rotations=(3, -5))
    gs = [e.ctx.galois_element(s) for s in (3, -5)]
    z = e.vec()
    cts = [e.E.encrypt(e.enc.encode(z, level=lvl)) for lvl in (e.p.max_level, 2)]
    ref = [(e.ev.rotate(c, 3), e.ev.rotate_hoisted(c, [3, -5])) for c in cts]
    for g in gs:
        e.keys.rotation[g] = e.keys.rotation[g].compact()
        assert e.keys.rotation[g].b.dtype == np.uint32
    for c, (r1, rh) in zip(cts, ref):
        got1, goth = e.ev.rotate(c, 3), e.ev.rotate_hoisted(c, [3, -5])
        for a, b in zip(r1.polys, got1.polys):
            assert np.array_equal(a.data, b.data)
        for s in (3, -5):
            for a, b in zip(rh[s].polys, goth[s].polys):
                assert np.array_equal(a.data, b.data)


def test_truncated_compact_rotation_keys(ckks_env):
    """Rotation keys truncated to a level (and stored as uint32) rotate correctly at and
    below that level, refuse a ciphertext above it, and are as small as the formula says."""
    from sw.ckks.errors import LevelError
    e = ckks_env("toy-n10", rotations=())
    p, top = e.p, e.p.max_level - 3
    keys = e.kg.gen_rotation_keys(e.keys.secret, [7, -2], level=top, compact=True)
    e.keys.rotation.update(keys)
    k = next(iter(keys.values()))
    assert k.level == top and k.b.dtype == np.uint32
    nd, nqp = len(p.digits_at(top)), len(p.primes_at(top)) + len(p.p_primes)
    assert k.nbytes == 2 * nd * nqp * p.n * 4
    full = e.kg.gen_galois_key(e.keys.secret, k.galois)
    assert k.nbytes < full.nbytes / 2
    z = e.vec()
    for lvl in (top, top - 2):
        ct = e.E.encrypt(e.enc.encode(z, level=lvl))
        for s in (7, -2):
            assert err(e.dec(e.ev.rotate(ct, s)), np.roll(z, -s)) < TOL
    with pytest.raises(LevelError, match="truncated to level"):
        e.ev.rotate(e.E.encrypt(e.enc.encode(z, level=top + 1)), 7)
    # keys already present are not made again
    assert e.kg.gen_rotation_keys(e.keys.secret, [7, 9], skip=e.keys.rotation).keys() == \
        {e.ctx.galois_element(9)}


def test_mul_plain_acc_is_add_of_mul_plain(ckks_env):
    """The fused ``acc + ct * pt`` gives the words of ``add(acc, mul_plain(ct, pt))`` computed
    without a recorder, also while a trace recorder is active (which records it as one
    ``mul_plain_acc`` operation with one fused ``mac`` kernel per polynomial), and refuses a
    sum of another scale."""
    from sw import trace
    from sw.ckks.errors import ScaleMismatchError
    e = ckks_env("toy-n10")
    x, y = e.ct(e.vec()), e.ct(e.vec())
    p1, p2 = e.enc.encode(e.vec()), e.enc.encode(e.vec())
    ref = e.ev.add(e.ev.mul_plain(x, p1), e.ev.mul_plain(y, p2))
    fused = e.ev.mul_plain_acc(e.ev.mul_plain(x, p1), y, p2)
    for a, b in zip(ref.polys, fused.polys):
        assert np.array_equal(a.data, b.data)
    assert fused.scale == ref.scale and fused.level == ref.level
    acc = e.ev.mul_plain(x, p1)
    L = len(y.primes)
    with trace.recording() as rec:
        out = e.ev.mul_plain_acc(acc, y, p2)
    assert out is acc
    for a, b in zip(ref.polys, out.polys):
        assert np.array_equal(a.data, b.data)
    assert [ev.kind for ev in rec.events] == ["mul_plain_acc"]
    ev = rec.events[0]
    assert not ev.children and (ev.primes_in, ev.primes_out) == (L, L)
    assert [(k.kind, k.primes, k.n, k.count) for k in ev.kernels] == [("mac", L, e.ctx.n, 1)] * 2
    with trace.recording(dry_run=True) as dry:
        e.ev.mul_plain_acc(e.ev.mul_plain(x, p1), y, p2)
    assert [ev.kind for ev in dry.events] == ["pmult", "mul_plain_acc"]
    assert dry.events[1].kernel_counts() == rec.events[0].kernel_counts()
    with pytest.raises(ScaleMismatchError, match="mul_plain_acc"):
        e.ev.mul_plain_acc(x, y, p2)
