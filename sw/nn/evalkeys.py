"""Evaluation keys of an encrypted ResNet as one file, and the worker side of inference on a cluster.

The client that generated the keys keeps the secret key; a worker gets only what
evaluating the network needs: the relinearisation, conjugation and rotation keys (network
keys truncated to the bootstrap output level, compact uint32 words at ``N >= 2^15``, as
:class:`sw.nn.encrypted.HeSession` made them) and bootstrapping's encapsulation and
decapsulation keys. Ciphertexts travel in the versioned format of
:mod:`sw.ckks.serialize`.

File format (version 1)
-----------------------
``b"FHESIMEK"``, format version (uint16), reserved (uint16, zero), manifest length
(uint32), the manifest (UTF-8 JSON), then the payload: an uncompressed ``.npz`` of the
key arrays (``allow_pickle=False``). The manifest names the parameter set and its
fingerprint (:func:`sw.ckks.serialize.fingerprint`), the serialised parameter set itself
(hex of :func:`sw.ckks.serialize.dumps`), the network the keys are for (:func:`job_spec`),
the key level, the bootstrapping slot counts, every key's role, Galois element, level and special primes,
and the SHA-256 of the payload. :func:`load_session` refuses keys made under another
parameter set or for another network (:class:`KeyFileError`, naming both).

Workers cache the loaded keys by the SHA-256 of the file (:func:`run_image`): a worker
loads them once and serves every image after that.
"""
from __future__ import annotations

import hashlib
import io
import json
import os
import struct
import time

import numpy as np

__all__ = ["KeyFileError", "MAGIC", "VERSION", "job_spec", "build_network", "eval_key_bytes",
           "read_manifest", "check_manifest", "file_digest", "load_session", "run_image", "estimate_worker_bytes"]

MAGIC = b"FHESIMEK"
VERSION = 1
_HEAD = struct.Struct("<8sHHI")
_SPEC_FIELDS = ("model", "geometry", "params", "method", "degree", "bootstrap", "sparse_bootstrap",
                "calibration", "giant_steps")


class KeyFileError(ValueError):
    """An evaluation key file that is malformed or made for other parameters or another network."""


def job_spec(model: str, geometry: str, params: str, *, method: str = "composite", degree: int = 15,
             bootstrap: bool = True, sparse_bootstrap: bool = False, calibration: int = 256,
             giant_steps: str = "keys") -> dict:
    """What a worker needs to rebuild the compiled network (everything but keys), as a
    JSON-able dict (the same arguments give the same network, bit for bit)."""
    return dict(model=model, geometry=geometry, params=params, method=method, degree=int(degree),
                bootstrap=bool(bootstrap), sparse_bootstrap=bool(sparse_bootstrap and bootstrap),
                calibration=int(calibration), giant_steps=str(giant_steps))


def build_network(spec: dict, *, allow_insecure: bool = False):
    """The :class:`sw.nn.encrypted.EncryptedResNet` of a :func:`job_spec` (compiled exactly
    as :func:`sw.nn.infer.run_infer` compiles it) and its parameter set."""
    import warnings

    from sw.ckks import get_params
    from sw.nn.data import load_digits_split
    from sw.nn.encrypted import EncryptedResNet
    from sw.nn.models import load_model

    with warnings.catch_warnings():
        if allow_insecure:
            warnings.simplefilter("ignore")
        params = get_params(spec["params"], allow_insecure=allow_insecure)
    net = load_model(spec["model"], spec["geometry"])
    xtr = load_digits_split(spec["geometry"])[0]
    enn = EncryptedResNet(net, params, method=spec["method"], degree=spec["degree"],
                          calibration=xtr[:spec["calibration"]])
    return enn, params


# ---------------------------------------------------------------------------------------
# writing
# ---------------------------------------------------------------------------------------
def _swk_entry(name: str, k, arrays: dict) -> dict:
    arrays[f"{name}/b"] = np.ascontiguousarray(k.b)
    arrays[f"{name}/a"] = np.ascontiguousarray(k.a)
    return {"name": name, "galois": None if k.galois is None else int(k.galois), "kind": str(k.kind),
            "level": None if k.level is None else int(k.level),
            "special": None if getattr(k, "special", None) is None else int(k.special)}


def eval_key_bytes(sess, spec: dict) -> bytes:
    """The evaluation keys of ``sess`` (a :class:`sw.nn.encrypted.HeSession`) for the
    network ``spec`` (:func:`job_spec`) in the key file format; never the secret or
    public key."""
    from sw.ckks import serialize

    arrays: dict = {}
    keys = []
    ks = sess.keys
    for part in ("relin", "conjugation"):
        if getattr(ks, part) is not None:
            keys.append(_swk_entry(part, getattr(ks, part), arrays))
    for g in sorted(ks.rotation):
        keys.append(_swk_entry(f"rot/{int(g)}", ks.rotation[g], arrays))
    for g in sorted(ks.low_rotation):
        keys.append(_swk_entry(f"low/{int(g)}", ks.low_rotation[g], arrays))
    boot = None
    if sess.bootstrappers:
        bk = sess.bootstrappers[max(sess.bootstrappers)].keys
        keys.append(_swk_entry("decapsulate", bk.from_sparse, arrays))
        arrays["encapsulate/b"], arrays["encapsulate/a"] = bk.to_sparse.b.data, bk.to_sparse.a.data
        boot = {"slots": sorted(sess.bootstrappers, reverse=True), "compact_keys": bool(bk.config.compact_keys),
                "giant_steps": bk.config.giant_steps,
                "encapsulate_primes": list(bk.to_sparse.basis.primes), "encapsulate_q_count": bk.to_sparse.q_count}
    buf = io.BytesIO()
    np.savez(buf, **arrays)
    payload = buf.getvalue()
    manifest = {"format": "fhesim-eval-keys", "version": VERSION, "params": sess.params.name,
                "fingerprint": serialize.fingerprint(sess.params).hex(),
                "params_blob": serialize.dumps(sess.params).hex(), "network": dict(spec),
                "slots": int(sess.slots), "key_level": int(sess.key_level), "bootstrap": boot,
                "keys": keys, "payload_sha256": hashlib.sha256(payload).hexdigest()}
    blob = json.dumps(manifest, sort_keys=True).encode()
    return _HEAD.pack(MAGIC, VERSION, 0, len(blob)) + blob + payload


# ---------------------------------------------------------------------------------------
# reading
# ---------------------------------------------------------------------------------------
def _parse_head(head: bytes) -> int:
    """Manifest length from the fixed header (magic and version checked)."""
    if len(head) < _HEAD.size or head[:8] != MAGIC:
        raise KeyFileError(f"not an fhesim evaluation key file (magic {head[:8]!r} != {MAGIC!r})")
    _, version, reserved, mlen = _HEAD.unpack(head[:_HEAD.size])
    if version != VERSION or reserved:
        raise KeyFileError(f"evaluation key file version {version}; this fhesim reads version {VERSION}")
    return mlen


def _parse_manifest(blob: bytes) -> dict:
    try:
        return json.loads(blob.decode())
    except ValueError as e:
        raise KeyFileError(f"evaluation key file: malformed manifest ({e})") from None


def read_manifest(data: bytes, *, check_payload: bool = True) -> tuple[dict, memoryview]:
    """Parse key file bytes: ``(manifest, payload)``; checks magic, version, lengths and the
    payload checksum (:class:`KeyFileError` naming what is wrong)."""
    view = memoryview(data)
    mlen = _parse_head(bytes(view[:_HEAD.size]))
    if len(view) < _HEAD.size + mlen:
        raise KeyFileError("truncated evaluation key file (manifest cut short)")
    manifest = _parse_manifest(bytes(view[_HEAD.size:_HEAD.size + mlen]))
    payload = view[_HEAD.size + mlen:]
    if check_payload and hashlib.sha256(payload).hexdigest() != manifest.get("payload_sha256"):
        raise KeyFileError("evaluation key file: payload checksum mismatch (truncated or corrupted)")
    return manifest, payload


def file_digest(path) -> str:
    """SHA-256 (hex) of a file, read in 16 MiB blocks."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 24), b""):
            h.update(block)
    return h.hexdigest()


def _open_keys(source):
    """``(manifest, arrays)`` of key file bytes or of a path (a path is read array by
    array, so the keys are never held twice; its digest was checked by the caller)."""
    if isinstance(source, (str, os.PathLike)):
        with open(source, "rb") as f:
            head = f.read(_HEAD.size)
            manifest = _parse_manifest(f.read(_parse_head(head)))
            with np.load(f, allow_pickle=False) as z:
                return manifest, {k: z[k] for k in z.files}
    manifest, payload = read_manifest(source)
    with np.load(io.BytesIO(payload), allow_pickle=False) as z:
        return manifest, {k: z[k] for k in z.files}


def check_manifest(manifest: dict, params, spec: dict) -> None:
    """Refuse keys made under another parameter set or for another network than ``spec``."""
    from sw.ckks import serialize

    want = serialize.fingerprint(params).hex()
    if manifest.get("fingerprint") != want:
        raise KeyFileError(
            f"evaluation keys were written under parameter set {manifest.get('params')!r} (fingerprint "
            f"{str(manifest.get('fingerprint'))[:16]}...), this run uses {params.name!r} ({want[:16]}...)")
    net = manifest.get("network") or {}
    diff = {k: (net.get(k), spec.get(k)) for k in _SPEC_FIELDS if net.get(k) != spec.get(k)}
    if diff:
        raise KeyFileError("evaluation keys were written for another network: " +
                           ", ".join(f"{k} {a!r} (keys) vs {b!r} (this run)" for k, (a, b) in sorted(diff.items())))


def _load_swk(entry: dict, arrays, params):
    from sw.ckks.keys import SwitchingKey

    b, a = arrays[f"{entry['name']}/b"], arrays[f"{entry['name']}/a"]
    if b.dtype not in (np.uint32, np.uint64) or b.shape != a.shape or b.ndim != 3 or b.shape[2] != params.n:
        raise KeyFileError(f"evaluation key {entry['name']}: array {b.dtype} {b.shape} does not fit "
                           f"{params.name!r}")
    level, special = entry["level"], entry.get("special")   # files before 'special': all
    key_level = params.max_level if level is None else int(level)
    rows = len(params.primes_at(key_level)) + (len(params.p_primes) if special is None else int(special))
    if special is not None and not params.special_for(key_level) <= int(special) <= len(params.p_primes):
        raise KeyFileError(f"evaluation key {entry['name']}: special primes {special} at level {level} "
                           f"(this set needs {params.special_for(key_level)} to {len(params.p_primes)}, "
                           f"CkksParams.special_for)")
    if b.shape[1] != rows:
        raise KeyFileError(f"evaluation key {entry['name']}: {b.shape[1]} rows, its level {level} and "
                           f"special primes {special} need {rows}")
    return SwitchingKey(b, a, params, entry["galois"], entry["kind"], level, None,
                        None if special is None else int(special))


def load_session(source, enn, spec: dict):
    """An evaluate-only :class:`sw.nn.encrypted.HeSession` of the network ``enn`` from key
    file bytes or a key file path (checked against ``enn.params`` and ``spec`` first,
    :func:`check_manifest`)."""
    from dataclasses import replace

    from sw.bootstrap import BootstrapConfig, Bootstrapper
    from sw.bootstrap.bootstrapper import BootstrapKeys, EncapsulationKey
    from sw.ckks import CkksContext, KeySet
    from sw.nn.encrypted import HeSession
    from sw.ring import RnsBasis, RnsPoly

    manifest, arrays = _open_keys(source)
    params = enn.params
    check_manifest(manifest, params, spec)
    ctx = CkksContext(params)
    loaded = {e["name"]: _load_swk(e, arrays, params) for e in manifest["keys"]}
    rot = {int(n.split("/")[1]): k for n, k in loaded.items() if n.startswith("rot/")}
    low = {int(n.split("/")[1]): k for n, k in loaded.items() if n.startswith("low/")}
    keys = KeySet(ctx, relin=loaded.get("relin"), conjugation=loaded.get("conjugation"), rotation=rot,
                  low_rotation=low)
    boots = {}
    if manifest.get("bootstrap"):
        b = manifest["bootstrap"]
        basis = RnsBasis.get(tuple(b["encapsulate_primes"]), params.n)
        enc = EncapsulationKey(RnsPoly(basis, arrays["encapsulate/b"], True),
                               RnsPoly(basis, arrays["encapsulate/a"], True), basis, int(b["encapsulate_q_count"]))
        cfg = BootstrapConfig(slots=int(b["slots"][0]), real=True, compact_keys=bool(b["compact_keys"]),
                              giant_steps=str(b.get("giant_steps", "keys")))
        for n in b["slots"]:
            bk = BootstrapKeys(keys, enc, loaded["decapsulate"], replace(cfg, slots=int(n)))
            boots[int(n)] = Bootstrapper(ctx, bk)
    return HeSession.from_eval_keys(ctx, int(manifest["slots"]), keys, boots, int(manifest["key_level"]))


# ---------------------------------------------------------------------------------------
# the worker task
# ---------------------------------------------------------------------------------------
_CACHE: dict = {}   # key file digest -> (enn, session, plan); one entry per worker process


def _worker_model(keys, digest: str, spec: dict, allow_insecure: bool):
    hit = _CACHE.get(digest)
    if hit is not None:
        return hit
    _CACHE.clear()   # one network's keys at a time: a new key file replaces the old one
    path = isinstance(keys, (str, os.PathLike))
    if (file_digest(keys) if path else hashlib.sha256(keys).hexdigest()) != digest:
        raise KeyFileError(f"evaluation key file {keys if path else '(bytes)'} does not have the SHA-256 "
                           f"{digest[:16]}... the client wrote (changed or partly copied)")
    enn, _ = build_network(spec, allow_insecure=allow_insecure)
    sess = load_session(keys, enn, spec)
    fresh = sess.boot_level if sess.boot_level is not None else enn.params.max_level
    _CACHE[digest] = (enn, sess, enn.plan(fresh, sess.boot_level))
    return _CACHE[digest]


def run_image(task: dict) -> dict:
    """Evaluate one encrypted image on a worker.

    Parameters
    ----------
    task : dict
        ``keys`` (key file path, or its bytes), ``digest`` (SHA-256 hex of the key file),
        ``spec`` (:func:`job_spec`), ``allow_insecure``, ``index`` (image index) and
        ``ct`` (the input ciphertext, :func:`sw.ckks.serialize.dumps`).

    Returns
    -------
    dict
        ``index``, ``ct`` (the logits ciphertext, serialised), ``stats`` (the fields of
        :class:`sw.nn.encrypted.RunStats`), ``pid`` and ``load_seconds`` (0 when the
        keys came from this worker's cache).
    """
    from dataclasses import asdict

    from sw.ckks import serialize

    t0 = time.time()
    cached = task["digest"] in _CACHE
    enn, sess, plan = _worker_model(task["keys"], task["digest"], task["spec"], task.get("allow_insecure", False))
    load_s = 0.0 if cached else time.time() - t0
    ct = serialize.loads(task["ct"], sess.ctx, expect="ciphertext")
    out, st = enn.run(sess, ct, plan=plan, progress=False)
    return {"index": task["index"], "ct": serialize.dumps(out), "stats": asdict(st), "pid": os.getpid(),
            "load_seconds": round(load_s, 2)}


def estimate_worker_bytes(params, depth: int, key_bytes: int) -> int:
    """Peak memory (bytes) of a worker evaluating a ``depth``-layer ResNet on ``params``
    with ``key_bytes`` of evaluation keys: the keys, plus a working set fitted to the
    measured peaks at ``n16-128`` (ResNet-20: 7.53 GB, ResNet-110: 7.52 GB, both with
    3.86 GiB of per-level keys and minimum key switching; docs/resnet.md) and scaled by the
    size of a top-level ciphertext, plus 0.4 GB for the Python process. Since the linear
    maps are encoded when used and tensors are freed after use, the working set no longer
    grows with ``depth`` (the earlier fit, 2.37 GB + 77 MB per layer, matched peaks of
    12.4 and 19.3 GB). Keys sent as bytes instead of a file are held twice while they load
    (add ``key_bytes``)."""
    ct = 2 * (len(params.q_primes)) * params.n * 8
    ref_ct = 2 * 44 * (1 << 16) * 8   # n16-128: 44 ciphertext primes at the top
    work = 2.99e9 * ct / ref_ct
    return int(0.4e9 + key_bytes + work)
