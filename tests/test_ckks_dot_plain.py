"""``Evaluator.dot_plain``: the fused BSGS inner sum against ``mul_plain`` + ``mul_plain_acc``.

The reference is the per-term path on the same operands: the fused pass must give the same
integers (each row's sum reduced once instead of after every term, the same residue), the
same trace (one ``pmult`` and ``mul_plain_acc`` per term, with their kernels and plaintext
names), and the same refusals.
"""
import numpy as np
import pytest

from sw import trace
from sw.ckks.ciphertext import PackedPlaintext
from sw.ckks.errors import ScaleMismatchError
from sw.ring import kernels as K

pytestmark = pytest.mark.usefixtures("one_numba_thread")


@pytest.fixture(scope="module")
def env(ckks_env):
    return ckks_env("toy-n10", rotations=(1,))


def _terms(env, count, slots):
    cts = [env.ct(env.vec(slots), slots=slots) for _ in range(count)]
    pts = [env.enc.encode(env.vec(slots), level=cts[0].level, slots=slots) for _ in range(count)]
    return cts, pts


def _reference(env, cts, pts, ids):
    acc = env.ev.mul_plain(cts[0], pts[0], pt_id=ids[0])
    for ct, pt, pid in zip(cts[1:], pts[1:], ids[1:]):
        acc = env.ev.mul_plain_acc(acc, ct, pt, pt_id=pid)
    return acc


def _events(rec):
    return [(e.kind, (e.info or {}).get("plaintext"), [(k.kind, k.primes) for k in e.kernels])
            for e in rec.events]


@pytest.mark.parametrize("count", [1, 4, 9])      # 9: two folds of four terms and a tail
@pytest.mark.parametrize("packed", [False, True])
def test_dot_plain_equals_the_per_term_sum(env, count, packed):
    slots = env.p.n // 8                              # sub-ring gap 4
    cts, pts = _terms(env, count, slots)
    ids = [f"d{i}" for i in range(count)]
    gap = env.p.n // (2 * slots)
    use = [PackedPlaintext(K.subring_compact(p.poly.data, gap), gap, p.poly.basis, p.level, p.scale,
                           p.slots, p.params) for p in pts] if packed else pts
    with trace.recording() as rec_ref:
        want = _reference(env, cts, pts, ids)
    with trace.recording() as rec:
        got = env.ev.dot_plain(cts, use, pt_ids=ids)
    assert (got.level, got.scale, got.slots) == (want.level, want.scale, want.slots)
    for a, b in zip(got.polys, want.polys):
        np.testing.assert_array_equal(a.data, b.data)
    assert _events(rec) == _events(rec_ref)


def test_dot_plain_mixed_plaintext_forms(env):
    slots = env.p.n // 4
    cts, pts = _terms(env, 3, slots)
    p = pts[1]
    pts[1] = PackedPlaintext(K.subring_compact(p.poly.data, 2), 2, p.poly.basis, p.level, p.scale,
                             p.slots, p.params)
    got = env.ev.dot_plain(cts, pts)
    want = _reference(env, cts, [pts[0], p, pts[2]], [None] * 3)
    for a, b in zip(got.polys, want.polys):
        np.testing.assert_array_equal(a.data, b.data)


def test_dot_plain_refuses_bad_terms(env):
    cts, pts = _terms(env, 2, env.p.slots)
    with pytest.raises(ValueError, match="2 ciphertexts and 1 plaintexts"):
        env.ev.dot_plain(cts, pts[:1])
    odd = env.enc.encode(env.vec(), level=cts[0].level, scale=2.0 ** 20)
    with pytest.raises(ScaleMismatchError, match="dot_plain"):
        env.ev.dot_plain(cts, [pts[0], odd])
    with pytest.raises(TypeError, match="expected Plaintext"):
        env.ev.dot_plain(cts, [pts[0], cts[1]])


@pytest.mark.parametrize("g", [1, 2, 4])
def test_dot_plain_kernel_over_several_blocks(g):
    """At N = 2^14 a row is four blocks of ``DOT_CHUNK`` columns: every block's sums (and the
    plaintext words it reads, at ``k0 = b0 / g``) match a NumPy per-term reference."""
    from sw.primes import ntt_primes
    from sw.ring.basis import RnsBasis

    n, R, T = 1 << 14, 3, 9
    assert n > K.DOT_CHUNK
    basis = RnsBasis.get(tuple(ntt_primes(n, 31, R)), n)
    q = np.array(basis.primes, dtype=np.uint64)[:, None]
    rng = np.random.default_rng(g)
    a0s = [rng.integers(0, 2 ** 31, (R, n), dtype=np.uint64) % q for _ in range(T)]
    a1s = [rng.integers(0, 2 ** 31, (R, n), dtype=np.uint64) % q for _ in range(T)]
    ws = [(rng.integers(0, 2 ** 31, (R, n // g), dtype=np.uint64) % q).astype(np.uint32) for _ in range(T)]
    o0, o1 = K.dot_plain(a0s, a1s, ws, g, basis)
    full = [np.repeat(w.astype(np.uint64), g, axis=1) for w in ws]
    want0 = sum((a * w) % q for a, w in zip(a0s, full)) % q
    want1 = sum((a * w) % q for a, w in zip(a1s, full)) % q
    np.testing.assert_array_equal(o0, want0)
    np.testing.assert_array_equal(o1, want1)
