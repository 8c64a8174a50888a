"""Op trace: real kernel counts against a hand count, dry run, kept data, exports."""
import json

import numpy as np
import pytest

from sw import ntt, trace
from sw.ckks import (CkksContext, DryRunError, Encoder, Encryptor, Evaluator, KeyGenerator,
                     get_params)


@pytest.fixture(scope="module")
def env(ckks_env):
    return ckks_env("toy-n10", rotations=(1,))


def program(env, a, b):
    return env.ev.rotate(env.ev.rescale(env.ev.mul(a, b)), 1)


# Hand count for toy-n10 (n = 2^10): top level 12 has L = 16 Q primes (q0: 2, groups 1-8:
# 1 each, groups 9-10: 2 each, groups 11-12: 1 each); K = alpha = 4 special primes; digits
# of 4 primes.  Counts are kernel calls weighted by `count` (a fused inner product over d
# digits counts 2d modmul and 2(d-1) modadd).
#
# cmult at level 12 (L = 16, 4 digits):
#   tensor product:       modmul 4 (a0b0, a0b1, a1b0, a1b1), modadd 1
#   relin -> keyswitch:   modup: intt 1 (16 rows); per digit bconv 1 (4 -> 12 + 4) and ntt 1
#                         (16 rows): bconv 4, ntt 4
#                         inner product: modmul 2*4 = 8, modadd 2*3 = 6 (20 rows)
#                         moddown x2: intt 1 (4 rows), bconv 1 (4 -> 16), ntt 1 (16 rows),
#                         modadd 1 + modmul 1 (fused sub-mul) each: intt 2, bconv 2, ntt 2,
#                         modadd 2, modmul 2
#                         c + u: modadd 2
#   total: ntt 6, intt 3, bconv 6, modmul 14, modadd 11, automorphism 0
# rescale at level 12 (group of 1 prime), per polynomial (2): intt 1 (1 row), bconv 1
#   (1 -> 15), ntt 1 (15 rows), modadd 1, modmul 1:  ntt 2, intt 2, bconv 2, modmul 2, modadd 2
# rotate at level 11 (L = 15, digits 4+4+4+3):
#   automorphisms of c0 and of c1 (evaluation form, before the key switch): 2
#   keyswitch of the permuted c1: modup intt 1, bconv 4, ntt 4; inner product: modmul 8,
#   modadd 6; moddown: intt 2, bconv 2, ntt 2, modadd 2, modmul 2; c0 + u0: modadd 1
#   total: ntt 6, intt 3, bconv 6, modmul 10, modadd 9, automorphism 2
#   (a hoisted rotation permutes the d raised digits inside the inner product instead)
HAND = {
    "cmult": dict(ntt=6, intt=3, bconv=6, modmul=14, modadd=11, automorphism=0, mac=0),
    "rescale": dict(ntt=2, intt=2, bconv=2, modmul=2, modadd=2, automorphism=0, mac=0),
    "rotate": dict(ntt=6, intt=3, bconv=6, modmul=10, modadd=9, automorphism=2, mac=0),
}
TOTAL = {k: sum(h[k] for h in HAND.values()) for k in HAND["cmult"]}
# rows of n coefficients: NTT rows of the rotate = 3*15 + (15-3+4) + 2*15 = 91
ROTATE_NTT_ROWS = 91


def test_hand_count_real_run(env):
    z, w = env.vec(), env.vec()
    a, b = env.ct(z), env.ct(w)
    with trace.recording() as rec:
        out = program(env, a, b)
    assert np.max(np.abs(env.dec(out) - np.roll(z * w, -1))) < 2 ** -12
    assert [e.kind for e in rec.events] == ["cmult", "rescale", "rotate"]
    for kind, hand in HAND.items():
        assert rec.kernel_counts(kind) == hand, kind
    assert rec.kernel_counts() == TOTAL
    assert rec.kernel_rows("rotate")["ntt"] == ROTATE_NTT_ROWS
    rot = rec.events[2]
    assert rot.primes_in == 15 and rot.primes_out == 15 and rot.level_in == 11
    ks = rot.children[0]
    assert ks.kind == "keyswitch" and [c.kind for c in ks.children] == ["modup", "moddown"]
    bconvs = [k for k in ks.iter_kernels() if k.kind == "bconv"]
    assert [(k.src_primes, k.dst_primes) for k in bconvs] == [(4, 15), (4, 15), (4, 15), (3, 16),
                                                             (4, 15), (4, 15)]
    cm = rec.events[0]
    assert cm.children[0].kind == "relin" and cm.children[0].children[0].kind == "keyswitch"


def test_dry_run_same_counts_no_data(env):
    with trace.recording(dry_run=True) as rec:
        kg = KeyGenerator(env.ctx, seed=1)
        keys = kg.gen_keyset(rotations=[1])
        enc = Encoder(env.ctx)
        E = Encryptor(env.ctx, keys.public)
        ev = Evaluator(env.ctx, keys)
        a = E.encrypt(enc.encode(np.ones(4)))
        b = E.encrypt(enc.encode(np.ones(4)))
        assert a.is_placeholder
        n0 = len(rec.events)
        out = ev.rotate(ev.rescale(ev.mul(a, b)), 1)
    tops = rec.events[n0:]
    assert [e.kind for e in tops] == ["cmult", "rescale", "rotate"]
    for e in tops:
        assert e.kernel_counts() == HAND[e.kind]
    with pytest.raises(DryRunError):
        env.D.decrypt(out)
    with pytest.raises(DryRunError, match="placeholder"):
        env.ev.add(out, out)   # arithmetic outside the dry run


def test_dry_run_n16_is_fast_and_complete():
    p = get_params("n16-128")
    ctx = CkksContext(p)
    with trace.recording(dry_run=True) as rec:
        keys = KeyGenerator(ctx).gen_keyset(rotations=[1, 2, 4], conjugation=True)
        ev = Evaluator(ctx, keys)
        E = Encryptor(ctx, keys.public)
        x = E.encrypt(Encoder(ctx).encode([0.5], scale=p.level_scale(p.max_level)))
        with trace.stage("block"):
            y = ev.rescale(ev.mul(x, x))
            hs = ev.rotate_hoisted(y, [1, 2, 4])
            z = ev.conjugate(hs[4])
    assert z.level == p.max_level - 1
    df = rec.to_dataframe()
    top = df[df.depth == 0]
    hoisted = df[df.kind == "rotate_hoisted"].iloc[0]
    # one ModUp shared by the three rotations: 1 + 4 digit-conversions... = d + 0 bconv in modup
    assert (df[df.kind == "modup"].parent == hoisted.id).sum() == 1
    nd = len(p.digits_at(p.max_level - 1))
    assert hoisted.bconv_total == nd + 3 * 2    # nd digits once, then ModDown (2) per rotation
    assert set(df[df.kind == "cmult"].stage) == {"block"}
    assert top.primes_in.max() == len(p.q_primes)


def test_keep_data_for_replay(env):
    a = env.ct(env.vec())
    with trace.recording(keep=trace.Keep(op="rotate", kernels=("ntt", "intt"), first=1)) as rec:
        env.ev.rotate(env.ev.rescale(env.ev.mul(a, a)), 1)
        env.ev.rotate(a, 1)
    kept = rec.kept()
    assert len(kept) == 6 + 3          # ntt and intt calls of the first rotate only
    for kc in kept:
        d = kc.data
        f = ntt.forward if kc.kind == "ntt" else ntt.inverse
        assert d["input"].shape == (len(d["primes"]), env.p.n)
        assert np.array_equal(f(d["input"], d["primes"]), d["output"])
    assert rec.events[3].kind == "rotate" and not any(k.data for k in rec.events[3].iter_kernels())


def test_exports(env):
    a = env.ct(env.vec())
    with trace.recording() as rec:
        env.ev.add(a, a)
        env.ev.rotate(a, 1)
    df = rec.to_dataframe()
    assert list(df.kind[df.depth == 0]) == ["add", "rotate"]
    assert int(df[df.kind == "rotate"].automorphism_total.iloc[0]) == HAND["rotate"]["automorphism"]
    kdf = rec.kernels_dataframe()
    assert set(kdf.kind) == {"modadd", "ntt", "intt", "bconv", "modmul", "automorphism"}
    doc = json.loads(rec.to_json())
    assert doc["events"][1]["kind"] == "rotate" and doc["events"][1]["children"][0]["kind"] == "keyswitch"


def test_keep_ks_inner_products(env):
    """The fused key-switching inner product keeps its per-digit products (as one ``mul`` of
    2 * digits * rows data rows) without changing the kernel counts; the fused result is the
    modular sum of those products (relin and rotate: no automorphism inside; a rotation
    permutes c1 before its key switch)."""
    z, w = env.vec(), env.vec()
    a, b = env.ct(z), env.ct(w)
    with trace.recording(keep=trace.Keep(op=None, kernels=("modmul",), first=3)) as rec:
        out = program(env, a, b)
    assert np.max(np.abs(env.dec(out) - np.roll(z * w, -1))) < 2 ** -12
    for kind, hand in HAND.items():
        assert rec.kernel_counts(kind) == hand
    by_id = {e.id: e for e in rec.all_events()}
    ks = [kc for kc in rec.kept() if by_id[kc.op_id].kind == "keyswitch"]
    assert [(kc.primes, kc.count) for kc in ks] == [(20, 8), (19, 8)]   # L + K rows, 2 x 4 digits
    for kc in ks:
        d = kc.data
        nd, R, n = d["ks_digits"], kc.primes, env.p.n
        assert d["form"] == "mul" and nd == 4 and len(d["primes"]) == 2 * nd * R
        for arr in (d["input"], d["input_b"], d["output"]):
            assert arr.shape == (2 * nd * R, n) and arr.dtype == np.uint64
        rows = np.random.default_rng(0).choice(2 * nd * R, 6, replace=False)
        for r in rows:
            q = d["primes"][r]
            ref = [int(x) * int(y) % q for x, y in zip(d["input"][r, :64].tolist(),
                                                       d["input_b"][r, :64].tolist())]
            assert d["output"][r, :64].tolist() == ref
        q = np.array(d["primes"][:R], dtype=np.uint64)[None, :, None]
        total = d["output"].reshape(nd, 2, R, n).sum(axis=0) % q
        assert np.array_equal(total, d["ks_sum"])
    # nothing kept without a keep request (the hot path computes no products)
    with trace.recording() as rec2:
        program(env, a, b)
    assert rec2.kept() == [] and rec2.kernel_counts() == TOTAL


def test_keep_mac_data(env):
    """The fused multiply-accumulate of ``mul_plain_acc`` runs fused while data are kept, and
    its kept data satisfy ``output = acc + input * input_b mod q`` word for word."""
    x, y = env.ct(env.vec()), env.ct(env.vec())
    pt = env.enc.encode(env.vec())
    ref = env.ev.add(env.ev.mul_plain(x, pt), env.ev.mul_plain(y, pt))
    acc = env.ev.mul_plain(x, pt)
    with trace.recording(keep=trace.Keep(op="mul_plain_acc", kernels=("mac",))) as rec:
        out = env.ev.mul_plain_acc(acc, y, pt)
    for a, b in zip(ref.polys, out.polys):
        assert np.array_equal(a.data, b.data)
    kept = rec.kept()
    assert [kc.kind for kc in kept] == ["mac", "mac"]
    for kc, c in zip(kept, out.polys):
        d = kc.data
        assert d["form"] == "mac" and np.array_equal(d["output"], c.data)
        for r, q in enumerate(d["primes"]):
            ref_row = [(int(s) + int(u) * int(v)) % q for s, u, v in
                       zip(d["acc"][r, :64].tolist(), d["input"][r, :64].tolist(),
                           d["input_b"][r, :64].tolist())]
            assert d["output"][r, :64].tolist() == ref_row
