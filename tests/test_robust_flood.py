"""IND-CPA-D noise flooding on decryption: off by default; when on, the decoded result stays
within the stated precision and differs from the unflooded decryption."""

import numpy as np
import pytest

from sw.ckks import CkksContext, Decryptor, Encoder, Encryptor, Evaluator, KeyGenerator
from sw.ckks.encryptor import default_noise_bound, flooding_error_bound, flooding_sigma


@pytest.fixture(scope="module")
def env(insecure_params):
    p = insecure_params("toy-n10")
    ctx = CkksContext(p)
    ks = KeyGenerator(ctx, seed=3).gen_keyset()
    enc = Encoder(ctx)
    rng = np.random.default_rng(0)
    z = rng.uniform(-1, 1, p.slots) + 1j * rng.uniform(-1, 1, p.slots)
    scale = 2.0 ** 50          # headroom for s = 30 bits of flooding
    pt = enc.encode(z, scale=scale)
    ct = Encryptor(ctx, ks.public, seed=4).encrypt(pt)
    return p, ctx, ks, enc, z, ct, pt


def test_flooded_decryption_within_stated_bound(env):
    p, ctx, ks, enc, z, ct, pt = env
    plain = Decryptor(ctx, ks.secret)
    flooded = Decryptor(ctx, ks.secret, flood=True, security_bits=30, flood_seed=7)
    a = enc.decode(plain.decrypt(ct))
    b = enc.decode(flooded.decrypt(ct))
    bound = flooding_error_bound(p, ct.scale, security_bits=30)
    assert 1e-9 < bound < 1e-3                       # ~4e-6 at n=2^10, scale 2^50
    err = np.max(np.abs(np.concatenate([(b - z).real, (b - z).imag])))
    assert err < bound + 1e-9
    diff = np.max(np.abs(b - a))
    assert diff > bound / 100                        # the flooding is really there
    # per-call switch, and the default stays off (bit-exact golden decryption)
    assert np.array_equal(enc.decode(plain.decrypt(ct)), a)
    assert not np.array_equal(enc.decode(plain.decrypt(ct, flood=True)), a)


def test_flooding_sigma_sizing(env):
    p, ctx, ks, enc, z, ct, pt = env
    b = default_noise_bound(p)
    assert flooding_sigma(p, security_bits=30) == pytest.approx(2 ** 15 * b)
    assert flooding_sigma(p, noise_bound=10.0, security_bits=40, queries=4) == pytest.approx(2 ** 20 * 2 * 10)
    for bad in (dict(security_bits=0), dict(noise_bound=-1.0), dict(noise_bound=float("nan")), dict(queries=0)):
        with pytest.raises(ValueError, match="flooding"):
            flooding_sigma(p, **bad)


def test_measured_noise_below_default_bound(env):
    p, ctx, ks, enc, z, ct, pt = env
    d = Decryptor(ctx, ks.secret)
    assert 0 < d.noise(ct, pt) < default_noise_bound(p)
    ev = Evaluator(ctx, ks)
    sq = ev.rescale(ev.mul(ct, ct))
    assert d.noise(sq, enc.encode(z * z, scale=sq.scale, level=sq.level)) > 0
