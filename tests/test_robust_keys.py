"""Key binding: material of another key set raises KeyMismatchError, never garbage."""

import numpy as np
import pytest

from sw.ckks import (CkksContext, Decryptor, Encoder, Encryptor, Evaluator, KeyGenerator,
                     KeyMismatchError)
from sw.ckks import serialize as ser


@pytest.fixture(scope="module")
def two(insecure_params):
    p = insecure_params("toy-n10")
    ctx = CkksContext(p)
    ka = KeyGenerator(ctx, seed=11).gen_keyset(rotations=(1,), conjugation=True)
    kb = KeyGenerator(ctx, seed=99).gen_keyset(rotations=(1,), conjugation=True)
    enc = Encoder(ctx)
    z = np.linspace(-1, 1, p.slots)
    ca = Encryptor(ctx, ka.public, seed=1).encrypt(enc.encode(z))
    cb = Encryptor(ctx, kb.public, seed=1).encrypt(enc.encode(z))
    return ctx, ka, kb, ca, cb, enc, z


def test_ids_shared_within_a_key_set(two):
    ctx, ka, kb, ca, cb, *_ = two
    kid = ka.secret.key_id
    assert isinstance(kid, str) and len(kid) == 16 and kid != kb.secret.key_id
    assert ka.public.key_id == ka.relin.key_id == ka.conjugation.key_id == kid == ca.key_id == ka.key_id
    assert all(k.key_id == kid for k in ka.rotation.values())
    assert KeyGenerator(ctx, seed=11).gen_secret_key().key_id == kid       # deterministic


def test_decrypt_with_other_secret_refused(two):
    ctx, ka, kb, ca, cb, enc, z = two
    with pytest.raises(KeyMismatchError, match="decrypt: .*key set"):
        Decryptor(ctx, kb.secret).decrypt(ca)
    assert np.max(np.abs(enc.decode(Decryptor(ctx, ka.secret).decrypt(ca)).real - z)) < 1e-3


def test_evaluate_with_other_keys_refused(two):
    ctx, ka, kb, ca, cb, *_ = two
    ev_b = Evaluator(ctx, kb)
    with pytest.raises(KeyMismatchError, match="mul: the relinearisation key"):
        ev_b.mul(ca, ca)
    with pytest.raises(KeyMismatchError, match="rotate"):
        ev_b.rotate(ca, 1)
    with pytest.raises(KeyMismatchError, match="conjugate"):
        ev_b.conjugate(ca)
    with pytest.raises(KeyMismatchError, match="rotate_hoisted"):
        ev_b.rotate_hoisted(ca, [1])
    with pytest.raises(KeyMismatchError, match="add"):
        Evaluator(ctx).add(ca, cb)
    out = Evaluator(ctx, ka).rotate(Evaluator(ctx, ka).mul(ca, ca), 1)
    assert out.key_id == ka.key_id


def test_serialised_material_keeps_its_id(two):
    ctx, ka, kb, ca, cb, *_ = two
    for obj in (ca, ka.secret, ka.public, ka.relin, ka):
        back = ser.loads(ser.dumps(obj), ctx)
        assert back.key_id == ka.key_id
        with pytest.raises(KeyMismatchError, match="load: .*not " + kb.key_id):
            ser.loads(ser.dumps(obj), ctx, key_set=kb)
    assert ser.loads(ser.dumps(ca), ctx, key_set=ka).key_id == ka.key_id


def test_old_files_without_id_load(two):
    ctx, ka, kb, ca, *_ = two
    from sw.ckks import Ciphertext
    old = Ciphertext(ca.polys, ca.level, ca.scale, ca.slots, ca.params)       # no key_id
    back = ser.loads(ser.dumps(old), ctx, key_set=kb)
    assert back.key_id is None
    Decryptor(ctx, kb.secret).decrypt(back)          # unknown identity: not checked


def test_mixed_keyset_file_refused(two):
    ctx, ka, kb, *_ = two
    from sw.ckks import KeySet
    mixed = KeySet(ctx, secret=ka.secret, public=kb.public)
    with pytest.raises(KeyMismatchError, match="different key sets"):
        ser.loads(ser.dumps(mixed), ctx)


def test_bad_key_id_field_is_format_error(two):
    ctx, ka, kb, ca, *_ = two
    from sw.ckks import Ciphertext
    bad = Ciphertext(ca.polys, ca.level, ca.scale, ca.slots, ca.params, "not-hex")
    with pytest.raises(ser.FormatError, match="key_id"):
        ser.loads(ser.dumps(bad), ctx)


def test_bootstrapping_keys_share_the_key_set_identity(insecure_params):
    """Bootstrapping keys carry the secret's id; a ciphertext of another key set is refused
    before any work, and so is a shared encapsulation key of another secret."""
    from sw.bootstrap import BootstrapConfig, Bootstrapper, gen_bootstrap_keys
    p = insecure_params("toy-boot-n10")
    ctx = CkksContext(p)
    kg_a, kg_b = KeyGenerator(ctx, seed=11), KeyGenerator(ctx, seed=12)
    sk_a, sk_b = kg_a.gen_secret_key(), kg_b.gen_secret_key()
    cfg = BootstrapConfig(slots=32, real=True)
    keys = gen_bootstrap_keys(kg_a, sk_a, cfg)
    ids = {k.key_id for k in (keys.keyset.relin, keys.keyset.conjugation, keys.from_sparse,
                              *keys.keyset.rotation.values())}
    assert ids == {sk_a.key_id}
    ct_b = Encryptor(ctx, sk_b, seed=1).encrypt(Encoder(ctx).encode(np.ones(4), level=0, slots=32))
    with pytest.raises(KeyMismatchError, match="bootstrap"):
        Bootstrapper(ctx, keys).bootstrap(ct_b)
    with pytest.raises(KeyMismatchError, match="gen_bootstrap_keys"):
        gen_bootstrap_keys(kg_b, sk_b, cfg, share=keys)
