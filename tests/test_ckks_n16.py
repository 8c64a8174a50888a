"""The 128-bit set n16-128 (N = 2^16): a few operations decrypt to the plaintext result.

Stated precision at n16-128 (scale 2^30 at the single-prime levels, uniform ternary secret):
fresh public-key encryptions carry an error of about 2^-10 in the worst of the 2^15 slots
(noise ~ sigma sqrt(2N/3) sqrt(N) / 2^30), so results are checked within 2^-7 absolute
for inputs of magnitude <= 1. The composite (~2^60) levels, encoded at their own scale, are
checked within 1e-6
(the same absolute noise is 2^30 times smaller relative to a 2^60 scale).
Runtime ~30 s (key generation dominates).
"""
import numpy as np
import pytest

from sw.ckks import CkksContext, Decryptor, Encoder, Encryptor, Evaluator, KeyGenerator, get_params

TOL = 2.0 ** -7


@pytest.mark.slow
def test_n16_128_mult_rescale_rotate():
    p = get_params("n16-128")
    ctx = CkksContext(p)
    keys = KeyGenerator(ctx, seed=3).gen_keyset(rotations=[1])
    enc = Encoder(ctx)
    E = Encryptor(ctx, keys.public, seed=4)
    D = Decryptor(ctx, keys.secret)
    ev = Evaluator(ctx, keys)
    rng = np.random.default_rng(0)
    z = rng.uniform(-1, 1, p.slots) + 1j * rng.uniform(-1, 1, p.slots)
    w = rng.uniform(-1, 1, p.slots) + 1j * rng.uniform(-1, 1, p.slots)
    # the top single-prime (~2^30) application level; the levels above it belong to bootstrapping
    app = max(l for l in range(1, p.max_level + 1) if len(p.q_groups[l]) == 1
              and all(len(g) == 1 for g in p.q_groups[1:l + 1]))
    a, b = E.encrypt(enc.encode(z, level=app)), E.encrypt(enc.encode(w, level=app))
    dec = lambda c: enc.decode(D.decrypt(c))  # noqa: E731
    m = ev.rescale(ev.mul(a, b))
    assert m.level == app - 1
    assert np.max(np.abs(dec(m) - z * w)) < TOL
    r = ev.rotate(ev.add(a, b), 1)
    assert np.max(np.abs(dec(r) - np.roll(z + w, -1))) < TOL
    # a composite (two-prime, ~2^60) level of the EvalMod band
    lvl = 20
    assert len(p.q_groups[lvl]) == 2
    s = p.level_scale(lvl)
    c = ev.rescale(ev.mul(E.encrypt(enc.encode(z, level=lvl, scale=s)), E.encrypt(enc.encode(w, level=lvl, scale=s))))
    assert c.level == lvl - 1 and np.max(np.abs(dec(c) - z * w)) < 1e-6   # ~2^60 scale
