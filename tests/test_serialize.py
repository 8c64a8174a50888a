"""Versioned binary serialisation of CKKS objects: exact round trips, refusal of bad data."""
from __future__ import annotations

import hashlib
import struct

import numpy as np
import pytest

from sw.ckks import (Ciphertext, Decryptor, Encryptor, Evaluator, InsecureParametersError,
                     KeySet, ParameterMismatchError, Plaintext, PublicKey, SecretKey,
                     SwitchingKey)
from sw.ckks import serialize as S


@pytest.fixture(scope="module")
def he(ckks_setup, insecure_params):
    h = ckks_setup("toy-n10", seed=3, rotations=[1, -2], conjugation=True)
    h.other = insecure_params("toy-n12")
    ctx, keys = h.ctx, h.keys
    h.values = np.array([0.5, -1.25 + 0.5j, 3.0, 0.0, 1e-3, -7.5, 2j, 1.0])
    h.ct = Encryptor(ctx, keys.public, seed=4).encrypt(h.enc.encode(h.values, level=7, slots=8))
    return h


def _same_poly(a, b):
    return a.basis == b.basis and a.is_ntt == b.is_ntt and np.array_equal(a.data, b.data)


def _same_swk(a: SwitchingKey, b: SwitchingKey):
    return (np.array_equal(a.a, b.a) and np.array_equal(a.b, b.b) and a.galois == b.galois
            and a.kind == b.kind and a.params == b.params)


def test_params_round_trip(he):
    blob = S.dumps(he.params)
    assert blob[:8] == S.MAGIC and S.read_header(blob).kind == "params"
    p = S.loads(blob, allow_insecure=True)
    assert p == he.params and S.fingerprint(p) == S.fingerprint(he.params)
    assert S.loads(blob, he.params, allow_insecure=True) == he.params
    with pytest.raises(InsecureParametersError):
        S.loads(blob)
    with pytest.raises(S.FingerprintMismatchError):
        S.loads(blob, he.other, allow_insecure=True)


def test_ciphertext_round_trip_exact_and_decrypts(he):
    blob = S.dumps(he.ct)
    ct = S.loads(blob, he.params, expect="ciphertext")
    assert isinstance(ct, Ciphertext)
    assert (ct.level, ct.scale, ct.slots, ct.degree) == (he.ct.level, he.ct.scale, he.ct.slots, 1)
    assert all(_same_poly(a, b) for a, b in zip(ct.polys, he.ct.polys))
    assert S.dumps(ct) == blob
    got = he.enc.decode(Decryptor(he.ctx, he.keys.secret).decrypt(ct))
    np.testing.assert_allclose(got, he.values, atol=1e-5)


def test_degree2_ciphertext_and_plaintext(he):
    ev = Evaluator(he.ctx, he.keys)
    ct2 = ev.mul(he.ct, he.ct, relin=False)
    back = S.loads(S.dumps(ct2), he.ctx)
    assert back.degree == 2 and all(_same_poly(a, b) for a, b in zip(back.polys, ct2.polys))
    pt = he.enc.encode(he.values, level=3, scale=2.0 ** 33 * 1.000123, slots=8)
    pb = S.loads(S.dumps(pt), he.params, expect="plaintext")
    assert isinstance(pb, Plaintext) and pb.scale == pt.scale and pb.level == 3 and pb.slots == 8
    assert _same_poly(pb.poly, pt.poly)


def test_keys_round_trip(he):
    k = he.keys
    sk = S.loads(S.dumps(k.secret), he.params, expect="secret_key")
    assert isinstance(sk, SecretKey) and _same_poly(sk.poly, k.secret.poly)
    assert np.array_equal(sk.coeffs, k.secret.coeffs)
    pk = S.loads(S.dumps(k.public), he.params, expect="public_key")
    assert isinstance(pk, PublicKey) and _same_poly(pk.a, k.public.a) and _same_poly(pk.b, k.public.b)
    for swk in (k.relin, k.conjugation):
        assert _same_swk(S.loads(S.dumps(swk), he.params, expect="switching_key"), swk)
    rot = S.loads(S.dumps(k.rotation), he.params, expect="rotation_keys")
    assert sorted(rot) == sorted(k.rotation) and all(_same_swk(rot[g], k.rotation[g]) for g in rot)


def test_keyset_round_trip_is_usable(he, tmp_path):
    path = tmp_path / "keys.fhe"
    n = S.save(he.keys, path)
    assert n == path.stat().st_size
    ks = S.load(path, he.ctx, expect="keyset")
    assert isinstance(ks, KeySet) and S.dumps(ks) == S.dumps(he.keys)
    ev = Evaluator(he.ctx, ks)
    out = ev.conjugate(ev.rotate(ev.rescale(ev.mul(he.ct, he.ct)), -2))
    got = he.enc.decode(Decryptor(he.ctx, ks.secret).decrypt(out))
    np.testing.assert_allclose(got, np.conj(np.roll(he.values ** 2, 2)), atol=1e-4)


def test_other_parameters_refused(he):
    blob = S.dumps(he.ct)
    with pytest.raises(S.FingerprintMismatchError, match="different parameter set") as e:
        S.loads(blob, he.other)
    assert isinstance(e.value, ParameterMismatchError)
    with pytest.raises(S.SerializationError, match="needs the parameter set"):
        S.loads(blob)


@pytest.mark.parametrize("pos", [0, 9, 11, 20, 50, 60, 90, 96, 200, -1])
def test_flipped_byte_refused(he, pos):
    blob = bytearray(S.dumps(he.ct))
    pos %= len(blob)
    blob[pos] ^= 0x10
    with pytest.raises(S.SerializationError) as e:
        S.loads(bytes(blob), he.params)
    msg = str(e.value)
    if pos < 8:
        assert "magic" in msg
    elif pos < S.HEADER_SIZE:
        assert "header" in msg
    else:
        assert "checksum" in msg and "payload" in msg


@pytest.mark.parametrize("keep", [0, 5, 50, 95, 96, 1000, -1])
def test_truncated_refused(he, keep):
    blob = S.dumps(he.ct)
    with pytest.raises(S.IntegrityError, match="truncated"):
        S.loads(blob[:keep] if keep >= 0 else blob[:-1], he.params)


def test_trailing_bytes_wrong_kind_and_version(he):
    blob = S.dumps(he.ct)
    with pytest.raises(S.IntegrityError, match="trailing"):
        S.loads(blob + b"\0", he.params)
    with pytest.raises(S.FormatError, match="expected a plaintext"):
        S.loads(blob, he.params, expect="plaintext")
    # a well-formed header announcing a future version
    head = bytearray(blob[:88])
    struct.pack_into("<H", head, 8, 2)
    forged = bytes(head) + hashlib.sha256(bytes(head)).digest()[:8] + blob[96:]
    with pytest.raises(S.FormatError, match="version 2"):
        S.loads(forged, he.params)


def test_structure_checked_after_checksum(he):
    """A payload with a consistent checksum but unreduced residues is still refused."""
    kind, params, arrays, meta = S._encode(he.ct)
    arrays["c0"] = arrays["c0"].copy()
    arrays["c0"][0, 0] = np.uint64(2**40)
    forged = S._pack(kind, S.fingerprint(params), arrays, meta)
    with pytest.raises(S.FormatError, match="residues"):
        S.loads(forged, he.params)
    meta2 = dict(meta, level=he.params.max_level + 1)
    forged = S._pack(kind, S.fingerprint(params), S._encode(he.ct)[2], meta2)
    with pytest.raises(S.FormatError, match="level"):
        S.loads(forged, he.params)


def test_placeholder_refused(he):
    from sw import trace
    with trace.recording(dry_run=True):
        ct = Encryptor(he.ctx, he.keys.public, seed=1).encrypt(he.enc.encode([1.0], level=2, slots=8))
    with pytest.raises(S.SerializationError, match="placeholder"):
        S.dumps(ct)
