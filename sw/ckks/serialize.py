"""Versioned binary serialisation of CKKS parameters, keys, plaintexts and ciphertexts.

Format (version 1)
------------------
A file is a fixed 96-byte header followed by a payload. All integers little-endian.

======  =====  ===========================================================================
offset  bytes  field
======  =====  ===========================================================================
0       8      magic ``b"FHESIMCK"``
8       2      format version (uint16), currently 1
10      2      object kind (uint16, see ``KINDS``): 1 params, 2 plaintext, 3 ciphertext,
               4 secret key, 5 public key, 6 switching key (relin/rotation/conjugation),
               7 rotation keys (dict Galois element -> key), 8 key set
12      4      reserved, zero
16      32     parameter fingerprint: SHA-256 of the canonical JSON of the parameter set
               (:func:`fingerprint`)
48      8      payload length in bytes (uint64)
56      32     SHA-256 of the payload
88      8      header check: first 8 bytes of SHA-256 of header bytes ``0..87``
======  =====  ===========================================================================

The payload is an uncompressed NumPy ``.npz`` archive (``numpy.savez``; loaded with
``allow_pickle=False``). It holds a ``__meta__`` entry (uint8 array of UTF-8 JSON with
the object's scalar fields: level, scale, slots, Galois element, ...) and the
polynomial data as ``uint64`` arrays of residues in evaluation (NTT) form, one row per
prime, named by role (``c0``, ``c1``, ``b``, ``a``, ``rot/<galois>/b`` ...). Scales are
stored as JSON floats (shortest round-trip repr), so round trips are exact.

Loading checks, in order, and refuses with :class:`SerializationError` subclasses that
say what is wrong: length (truncated header/payload, trailing bytes), magic, header
check, version, kind, payload checksum, parameter fingerprint (against the
``params`` passed to :func:`loads`; :class:`FingerprintMismatchError`), then the
structure (array names, shapes, dtypes, residues below their primes, levels and slot
counts valid for the parameters).

Keys and ciphertexts carry an optional ``key_id`` meta field (key binding, see
:mod:`sw.ckks.keys`); files without it still load, and ``loads(..., key_set=K)`` refuses an
object of another key set (:class:`~sw.ckks.errors.KeyMismatchError`).

Kinds that need parameters (everything but ``params``) are loaded with the parameter
set (or a :class:`~sw.ckks.CkksContext`) they were made under; a parameter set is
itself saved as kind ``params`` (its own fingerprint in the header). Insecure parameter
sets load only with ``allow_insecure=True``. Dry-run placeholders cannot be saved.
"""
from __future__ import annotations

import hashlib
import io
import json
import math
import os
import struct
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..atomicio import atomic_write_bytes
from ..ring import RnsPoly
from .ciphertext import Ciphertext, Plaintext
from .context import CkksContext
from .errors import InsecureParametersError, KeyMismatchError, ParameterMismatchError
from .keys import KeySet, PublicKey, SecretKey, SwitchingKey
from .params import CkksParams

__all__ = ["MAGIC", "FORMAT_VERSION", "HEADER_SIZE", "KINDS", "Header", "SerializationError",
           "FormatError", "IntegrityError", "FingerprintMismatchError", "fingerprint", "dumps",
           "loads", "save", "load", "read_header"]

MAGIC = b"FHESIMCK"
FORMAT_VERSION = 1
HEADER_SIZE = 96
_HEAD = struct.Struct("<8sHHI32sQ32s")  # 88 bytes, then the 8-byte header check
KINDS = {"params": 1, "plaintext": 2, "ciphertext": 3, "secret_key": 4, "public_key": 5,
         "switching_key": 6, "rotation_keys": 7, "keyset": 8}
_KIND_NAMES = {v: k for k, v in KINDS.items()}
_PARAM_FIELDS = ("name", "log_n", "q_groups", "p_primes", "dnum", "log_scale", "sigma", "secret",
                 "hamming_weight", "security", "scale_rtol")


class SerializationError(ValueError):
    """Base class: the data cannot be loaded (or the object cannot be saved)."""


class FormatError(SerializationError):
    """Not an fhesim file, unsupported version, wrong kind, or malformed structure."""


class IntegrityError(SerializationError):
    """Truncated data or a checksum mismatch (corruption)."""


class FingerprintMismatchError(SerializationError, ParameterMismatchError):
    """The data was made under a different parameter set."""


@dataclass(frozen=True)
class Header:
    """Decoded header fields (see module docstring)."""

    version: int
    kind: str
    fingerprint: bytes
    payload_length: int
    payload_sha256: bytes


# ---------------------------------------------------------------------------------------
# fingerprint
# ---------------------------------------------------------------------------------------
def _params_dict(params: CkksParams) -> dict:
    d = {}
    for f in _PARAM_FIELDS:
        v = getattr(params, f)
        if f == "q_groups":
            v = [[int(q) for q in g] for g in v]
        elif f == "p_primes":
            v = [int(q) for q in v]
        d[f] = v
    return d


def fingerprint(params: CkksParams | CkksContext) -> bytes:
    """SHA-256 (32 bytes) of the canonical JSON (sorted keys, no spaces) of the parameter
    fields ``name, log_n, q_groups, p_primes, dnum, log_scale, sigma, secret,
    hamming_weight, security, scale_rtol``."""
    params = _as_params(params)
    blob = json.dumps(_params_dict(params), sort_keys=True, separators=(",", ":")).encode()
    return hashlib.sha256(blob).digest()


def _as_params(p: Any) -> CkksParams:
    if isinstance(p, CkksContext):
        return p.params
    if isinstance(p, CkksParams):
        return p
    raise TypeError(f"expected CkksParams or CkksContext, got {type(p).__name__}")


# ---------------------------------------------------------------------------------------
# envelope
# ---------------------------------------------------------------------------------------
def _pack(kind: str, fp: bytes, arrays: dict[str, np.ndarray], meta: dict) -> bytes:
    buf = io.BytesIO()
    entries = {"__meta__": np.frombuffer(json.dumps(meta, sort_keys=True).encode(), dtype=np.uint8)}
    entries.update(arrays)
    np.savez(buf, **entries)
    payload = buf.getvalue()
    head = _HEAD.pack(MAGIC, FORMAT_VERSION, KINDS[kind], 0, fp, len(payload),
                      hashlib.sha256(payload).digest())
    return head + hashlib.sha256(head).digest()[:8] + payload


def read_header(data: bytes) -> Header:
    """Parse and check the header of ``data`` (length, magic, header check, version, kind)."""
    data = bytes(data)
    if len(data) < HEADER_SIZE:
        if len(data) >= 8 and data[:8] != MAGIC:
            raise FormatError(f"not an fhesim CKKS file: magic {data[:8]!r} != {MAGIC!r}")
        raise IntegrityError(f"truncated data: {len(data)} bytes, shorter than the {HEADER_SIZE}-byte header")
    magic, version, kind, reserved, fp, length, digest = _HEAD.unpack(data[:_HEAD.size])
    if magic != MAGIC:
        raise FormatError(f"not an fhesim CKKS file: magic {magic!r} != {MAGIC!r}")
    if hashlib.sha256(data[:_HEAD.size]).digest()[:8] != data[_HEAD.size:HEADER_SIZE]:
        raise IntegrityError("corrupted header: header check (SHA-256 of bytes 0..87) does not match")
    if version != FORMAT_VERSION:
        raise FormatError(f"unsupported format version {version} (this fhesim reads version {FORMAT_VERSION})")
    if kind not in _KIND_NAMES or reserved != 0:
        raise FormatError(f"unknown object kind code {kind} (known: {KINDS})")
    return Header(version, _KIND_NAMES[kind], fp, length, digest)


def _unpack(data: bytes, expect_fp: bytes | None) -> tuple[Header, dict, dict[str, np.ndarray]]:
    data = bytes(data)
    h = read_header(data)
    have = len(data) - HEADER_SIZE
    if have < h.payload_length:
        raise IntegrityError(f"truncated data: payload has {have} bytes, the header says {h.payload_length}")
    if have > h.payload_length:
        raise IntegrityError(f"trailing data: payload has {have} bytes, the header says {h.payload_length}")
    payload = data[HEADER_SIZE:]
    if hashlib.sha256(payload).digest() != h.payload_sha256:
        raise IntegrityError(f"corrupted payload: SHA-256 checksum mismatch ({h.kind}, {have} bytes)")
    if expect_fp is not None and h.fingerprint != expect_fp:
        raise FingerprintMismatchError(
            f"{h.kind} was made under a different parameter set: fingerprint {h.fingerprint.hex()[:16]}... "
            f"!= {expect_fp.hex()[:16]}... of the parameters given")
    try:
        with np.load(io.BytesIO(payload), allow_pickle=False) as z:
            arrays = {k: z[k] for k in z.files}
        meta = json.loads(arrays.pop("__meta__").tobytes().decode())
    except Exception as exc:  # checksum matched, so this is a writer bug or a forged file
        raise FormatError(f"malformed {h.kind} payload: {exc}") from None
    if not isinstance(meta, dict):
        raise FormatError(f"malformed {h.kind} payload: __meta__ is not a JSON object")
    return h, meta, arrays


# ---------------------------------------------------------------------------------------
# polynomials
# ---------------------------------------------------------------------------------------
def _poly_data(p: RnsPoly, what: str) -> np.ndarray:
    if p.data is None:
        raise SerializationError(f"cannot serialise {what}: it is a dry-run placeholder (no data)")
    if not p.is_ntt:
        raise SerializationError(f"cannot serialise {what}: expected evaluation (NTT) form")
    return np.ascontiguousarray(p.data, dtype=np.uint64)


def _check_residues(arr: Any, primes: tuple[int, ...], n: int, name: str, lead: tuple = ()) -> np.ndarray:
    if not isinstance(arr, np.ndarray) or arr.dtype != np.uint64:
        raise FormatError(f"{name}: expected a uint64 array, got {getattr(arr, 'dtype', type(arr).__name__)}")
    want = lead + (len(primes), n)
    if arr.shape != want:
        raise FormatError(f"{name}: shape {arr.shape} does not match the parameters (expected {want})")
    q = np.array(primes, dtype=np.uint64).reshape((1,) * len(lead) + (len(primes), 1))
    if arr.size and np.any(arr >= q):
        raise FormatError(f"{name}: residues not reduced below their primes")
    return arr


def _get(arrays: dict, name: str, kind: str) -> np.ndarray:
    if name not in arrays:
        raise FormatError(f"{kind}: missing array {name!r} (have {sorted(arrays)})")
    return arrays[name]


def _meta_int(meta: dict, key: str, kind: str, lo: int, hi: int) -> int:
    v = meta.get(key)
    if isinstance(v, bool) or not isinstance(v, int) or not lo <= v <= hi:
        raise FormatError(f"{kind}: field {key}={v!r} not an integer in [{lo}, {hi}]")
    return v


def _meta_scale(meta: dict, kind: str) -> float:
    v = meta.get("scale")
    if not isinstance(v, (int, float)) or isinstance(v, bool) or not math.isfinite(v) or v <= 0:
        raise FormatError(f"{kind}: scale={v!r} must be a positive finite number")
    return float(v)


def _meta_slots(meta: dict, kind: str, params: CkksParams) -> int:
    s = _meta_int(meta, "slots", kind, 1, params.slots)
    if s & (s - 1):
        raise FormatError(f"{kind}: slots={s} is not a power of two")
    return s


# ---------------------------------------------------------------------------------------
# objects -> (kind, arrays, meta)
# ---------------------------------------------------------------------------------------
def _swk_arrays(k: SwitchingKey, prefix: str, what: str) -> tuple[dict, dict]:
    if k.b is None or k.a is None:
        raise SerializationError(f"cannot serialise {what}: it is a dry-run placeholder (no data)")
    if k.level is not None or getattr(k, "special", None) is not None:
        raise SerializationError(f"cannot serialise {what}: it is truncated (level {k.level}, special "
                                 f"{k.special}); this format holds full keys (sw.nn.evalkeys holds "
                                 f"truncated ones)")
    return ({f"{prefix}b": np.ascontiguousarray(k.b, dtype=np.uint64),
             f"{prefix}a": np.ascontiguousarray(k.a, dtype=np.uint64)},
            _with_id({"galois": None if k.galois is None else int(k.galois), "kind": str(k.kind)}, k))


def _with_id(meta: dict, obj) -> dict:
    """``meta`` plus the optional ``key_id`` field of ``obj`` (absent when unknown)."""
    if getattr(obj, "key_id", None) is not None:
        meta["key_id"] = str(obj.key_id)
    return meta


def _meta_key_id(meta: dict, kind: str) -> str | None:
    v = meta.get("key_id")
    if v is None:
        return None
    if not isinstance(v, str) or len(v) != 16 or any(c not in "0123456789abcdef" for c in v):
        raise FormatError(f"{kind}: key_id={v!r} is not 16 lowercase hex digits")
    return v


def _encode(obj: Any) -> tuple[str, CkksParams, dict, dict]:
    if isinstance(obj, CkksContext):
        obj = obj.params
    if isinstance(obj, CkksParams):
        return "params", obj, {}, {"params": _params_dict(obj)}
    if isinstance(obj, Plaintext):
        return "plaintext", obj.params, {"m": _poly_data(obj.poly, "plaintext")}, \
            {"level": obj.level, "scale": float(obj.scale), "slots": obj.slots}
    if isinstance(obj, Ciphertext):
        arrays = {f"c{i}": _poly_data(p, "ciphertext") for i, p in enumerate(obj.polys)}
        return "ciphertext", obj.params, arrays, _with_id(
            {"level": obj.level, "scale": float(obj.scale), "slots": obj.slots, "degree": obj.degree}, obj)
    if isinstance(obj, SecretKey):
        arrays = {"s": _poly_data(obj.poly, "secret key")}
        if obj.coeffs is not None:
            arrays["coeffs"] = np.asarray(obj.coeffs, dtype=np.int8)
        return "secret_key", obj.params, arrays, _with_id({}, obj)
    if isinstance(obj, PublicKey):
        return "public_key", obj.params, {"b": _poly_data(obj.b, "public key"),
                                           "a": _poly_data(obj.a, "public key")}, _with_id({}, obj)
    if isinstance(obj, SwitchingKey):
        arrays, meta = _swk_arrays(obj, "", "switching key")
        return "switching_key", obj.params, arrays, meta
    if isinstance(obj, KeySet):
        if obj.low_rotation:
            raise SerializationError(f"cannot serialise a KeySet with {len(obj.low_rotation)} low_rotation "
                                     f"keys: this format holds full keys (sw.nn.evalkeys holds them)")
        arrays, meta = {}, {"parts": []}
        for part in ("secret", "public", "relin", "conjugation"):
            v = getattr(obj, part)
            if v is None:
                continue
            _, _, a, m = _encode(v)
            arrays.update({f"{part}/{k}": x for k, x in a.items()})
            meta[part] = m
            meta["parts"].append(part)
        rot_a, rot_m = _rotation_arrays(obj.rotation, obj.params)
        arrays.update(rot_a)
        meta["rotation"] = rot_m
        return "keyset", obj.params, arrays, meta
    if isinstance(obj, dict) and obj and all(isinstance(v, SwitchingKey) for v in obj.values()):
        params = next(iter(obj.values())).params
        arrays, meta = _rotation_arrays(obj, params)
        return "rotation_keys", params, arrays, {"rotation": meta}
    raise TypeError(f"cannot serialise {type(obj).__name__}: expected CkksParams, Plaintext, Ciphertext, "
                    "SecretKey, PublicKey, SwitchingKey, dict of rotation keys or KeySet")


def _rotation_arrays(rot: dict, params: CkksParams) -> tuple[dict, list]:
    arrays, metas = {}, []
    for g in sorted(rot):
        k = rot[g]
        if k.params != params:
            raise ParameterMismatchError(f"serialise: rotation key {g} is for {k.params.name!r}, "
                                         f"not {params.name!r}")
        if k.galois is not None and int(k.galois) != int(g):
            raise SerializationError(f"serialise: rotation key stored under {g} has Galois element {k.galois}")
        a, m = _swk_arrays(k, f"rot/{int(g)}/", f"rotation key {g}")
        arrays.update(a)
        metas.append({"galois": int(g), **m})
    return arrays, metas


def dumps(obj: Any) -> bytes:
    """Serialise ``obj`` (see the module docstring for the accepted types and the format)."""
    kind, params, arrays, meta = _encode(obj)
    return _pack(kind, fingerprint(params), arrays, meta)


# ---------------------------------------------------------------------------------------
# (kind, arrays, meta) -> objects
# ---------------------------------------------------------------------------------------
def _decode_params(meta: dict, allow_insecure: bool) -> CkksParams:
    d = meta.get("params")
    if not isinstance(d, dict) or set(d) != set(_PARAM_FIELDS):
        raise FormatError(f"params: expected fields {sorted(_PARAM_FIELDS)}, got "
                          f"{sorted(d) if isinstance(d, dict) else d!r}")
    try:
        d = dict(d, q_groups=tuple(tuple(int(q) for q in g) for g in d["q_groups"]),
                 p_primes=tuple(int(q) for q in d["p_primes"]))
        params = CkksParams(**d, allow_insecure=True)  # refused below without the opt-in
    except (TypeError, ValueError) as exc:
        raise FormatError(f"params: invalid parameter set: {exc}") from None
    if not params.is_secure and not allow_insecure:
        raise InsecureParametersError(
            f"load: parameter set {params.name!r} is INSECURE (n=2^{params.log_n}); "
            "pass allow_insecure=True to load it for tests")
    return params


def _decode_swk(arrays: dict, meta: dict, prefix: str, ctx: CkksContext, kind: str) -> SwitchingKey:
    p = ctx.params
    fb = ctx.full_basis.primes
    b = _check_residues(_get(arrays, f"{prefix}b", kind), fb, p.n, f"{kind} {prefix}b", (p.dnum,))
    a = _check_residues(_get(arrays, f"{prefix}a", kind), fb, p.n, f"{kind} {prefix}a", (p.dnum,))
    g = meta.get("galois")
    if g is not None and (isinstance(g, bool) or not isinstance(g, int) or not 0 < g < 2 * p.n or g % 2 == 0):
        raise FormatError(f"{kind}: Galois element {g!r} is not an odd integer in (0, 2n)")
    k = meta.get("kind")
    if k not in ("relin", "rotation", "conjugation"):
        raise FormatError(f"{kind}: key kind {k!r} not in ('relin', 'rotation', 'conjugation')")
    return SwitchingKey(b, a, p, g, k, key_id=_meta_key_id(meta, kind))


def _decode_rotation(arrays: dict, metas: Any, ctx: CkksContext, kind: str) -> dict[int, SwitchingKey]:
    if not isinstance(metas, list):
        raise FormatError(f"{kind}: rotation key list missing")
    out = {}
    for m in metas:
        g = m.get("galois") if isinstance(m, dict) else None
        if isinstance(g, bool) or not isinstance(g, int):
            raise FormatError(f"{kind}: rotation key entry without an integer Galois element: {m!r}")
        out[g] = _decode_swk(arrays, m, f"rot/{g}/", ctx, kind)
    return out


def _decode(kind: str, meta: dict, arrays: dict, ctx: CkksContext) -> Any:
    p = ctx.params
    if kind in ("plaintext", "ciphertext"):
        level = _meta_int(meta, "level", kind, 0, p.max_level)
        scale = _meta_scale(meta, kind)
        slots = _meta_slots(meta, kind, p)
        basis = ctx.q_basis(level)
        if kind == "plaintext":
            m = _check_residues(_get(arrays, "m", kind), basis.primes, p.n, "plaintext m")
            return Plaintext(RnsPoly(basis, m, True), level, scale, slots, p)
        deg = _meta_int(meta, "degree", kind, 1, 2)
        polys = tuple(RnsPoly(basis, _check_residues(_get(arrays, f"c{i}", kind), basis.primes, p.n,
                                                     f"ciphertext c{i}"), True)
                      for i in range(deg + 1))
        return Ciphertext(polys, level, scale, slots, p, _meta_key_id(meta, kind))
    if kind == "secret_key":
        fb = ctx.full_basis
        s = _check_residues(_get(arrays, "s", kind), fb.primes, p.n, "secret key s")
        coeffs = arrays.get("coeffs")
        if coeffs is not None:
            if coeffs.dtype != np.int8 or coeffs.shape != (p.n,) or np.any(np.abs(coeffs.astype(np.int16)) > 1):
                raise FormatError("secret key coeffs: expected n int8 values in {-1, 0, 1}")
        return SecretKey(RnsPoly(fb, s, True), coeffs, p, _meta_key_id(meta, kind))
    if kind == "public_key":
        qb = ctx.q_basis(p.max_level)
        b = _check_residues(_get(arrays, "b", kind), qb.primes, p.n, "public key b")
        a = _check_residues(_get(arrays, "a", kind), qb.primes, p.n, "public key a")
        return PublicKey(RnsPoly(qb, b, True), RnsPoly(qb, a, True), p, _meta_key_id(meta, kind))
    if kind == "switching_key":
        return _decode_swk(arrays, meta, "", ctx, kind)
    if kind == "rotation_keys":
        return _decode_rotation(arrays, meta.get("rotation"), ctx, kind)
    if kind == "keyset":
        ks = KeySet(ctx)
        parts = meta.get("parts", [])
        if not isinstance(parts, list):
            raise FormatError(f"keyset: field parts={parts!r} is not a list")
        for part in parts:
            if not isinstance(part, str) or part not in ("secret", "public", "relin", "conjugation"):
                raise FormatError(f"keyset: unknown part {part!r}")
            sub_kind = {"secret": "secret_key", "public": "public_key"}.get(part, "switching_key")
            pre = f"{part}/"
            sub = {k[len(pre):]: v for k, v in arrays.items() if k.startswith(pre)}
            sub_meta = meta.get(part) or {}
            if not isinstance(sub_meta, dict):
                raise FormatError(f"keyset: field {part}={sub_meta!r} is not an object")
            setattr(ks, part, _decode(sub_kind, sub_meta, sub, ctx))
        ks.rotation = _decode_rotation(arrays, meta.get("rotation"), ctx, kind)
        ids = {k.key_id for k in (ks.secret, ks.public, ks.relin, ks.conjugation, *ks.rotation.values())
               if k is not None and k.key_id is not None}
        if len(ids) > 1:
            raise KeyMismatchError(f"keyset: its keys belong to different key sets {sorted(ids)}")
        return ks
    raise FormatError(f"unknown object kind {kind!r}")


def loads(data: bytes, params: CkksParams | CkksContext | None = None, *, expect: str | None = None,
          allow_insecure: bool = False, key_set: Any = None) -> Any:
    """Load an object saved by :func:`dumps`.

    Parameters
    ----------
    data : bytes
        The serialised object.
    params : CkksParams or CkksContext
        The parameter set the object must have been made under (required for every kind
        but ``params``; optional for ``params``, where it must then match). A key set is
        rebuilt on this context (a new ``CkksContext`` if parameters are given).
    expect : str, optional
        Required kind (a key of ``KINDS``); a different kind raises :class:`FormatError`.
    allow_insecure : bool
        Permit loading an insecure (toy) parameter set of kind ``params``.
    key_set : str, KeySet, key or None
        The key set the object must belong to (its ``key_id``, or an object carrying one);
        a key or ciphertext of another key set raises :class:`KeyMismatchError`. Objects
        saved without a ``key_id`` (older files) are not checked.

    Raises
    ------
    IntegrityError
        Truncated data, trailing bytes, header or payload checksum mismatch.
    FormatError
        Bad magic, unsupported version, unexpected kind, malformed structure.
    FingerprintMismatchError
        Made under a different parameter set than ``params``.
    KeyMismatchError
        A key set whose keys disagree, or an object of another key set than ``key_set``.
    """
    h = read_header(data)
    if expect is not None and h.kind != expect:
        if expect not in KINDS:
            raise ValueError(f"loads: expect={expect!r} is not one of {sorted(KINDS)}")
        raise FormatError(f"expected a {expect}, the data holds a {h.kind}")
    if h.kind == "params":
        _, meta, _ = _unpack(data, None if params is None else fingerprint(params))
        p = _decode_params(meta, allow_insecure)
        if fingerprint(p) != h.fingerprint:
            raise FormatError("params: the header fingerprint does not match the stored parameter set")
        return p
    if params is None:
        raise SerializationError(f"loads: a {h.kind} needs the parameter set (or context) it was made under")
    ctx = params if isinstance(params, CkksContext) else CkksContext(_as_params(params))
    _, meta, arrays = _unpack(data, fingerprint(ctx.params))
    obj = _decode(h.kind, meta, arrays, ctx)
    want = key_set if isinstance(key_set, str) or key_set is None else key_set.key_id
    if want is not None:
        items = obj.values() if isinstance(obj, dict) else [obj]
        for item in items:
            got = getattr(item, "key_id", None)
            if got is not None and got != want:
                raise KeyMismatchError(f"load: the {h.kind} belongs to key set {got}, not {want}")
    return obj


def save(obj: Any, path: str | os.PathLike) -> int:
    """Write :func:`dumps` of ``obj`` to ``path`` (atomically: temp file + rename); returns bytes written."""
    return atomic_write_bytes(path, dumps(obj))


def load(path: str | os.PathLike, params: CkksParams | CkksContext | None = None, *,
         expect: str | None = None, allow_insecure: bool = False, key_set: Any = None) -> Any:
    """Read ``path`` and :func:`loads` it (same arguments and errors)."""
    with open(path, "rb") as f:
        return loads(f.read(), params, expect=expect, allow_insecure=allow_insecure, key_set=key_set)
