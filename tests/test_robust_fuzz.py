"""Property tests of every loader: random and mutated bytes give the loader's documented
exception type (all ValueError subclasses) or a correct load, never another exception."""
import io
import json

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sw import trace as swtrace
from sw.ckks import CkksContext, CkksError, Encoder, Encryptor, KeyGenerator
from sw.ckks import serialize as ser
from sim.compare import tracefile
from sim.cycle import config as cfgmod
from sim.cycle.adapters import TraceInputError, ops_from_trace

FUZZ = settings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


@pytest.fixture(scope="module")
def ckks(insecure_params):
    p = insecure_params("toy-n10")
    ctx = CkksContext(p)
    ks = KeyGenerator(ctx, seed=1).gen_keyset()
    ct = Encryptor(ctx, ks.public, seed=2).encrypt(Encoder(ctx).encode(np.ones(4), level=1))
    from sw.ckks import KeySet
    small = KeySet(ctx, secret=ks.secret, public=ks.public)
    return ctx, {"ct": ser.dumps(ct), "pk": ser.dumps(ks.public), "params": ser.dumps(p),
                 "keyset": ser.dumps(small)}


def _mutate(blob: bytes, data) -> bytes:
    b = bytearray(blob)
    op = data.draw(st.sampled_from(["flip", "truncate", "insert", "splice"]))
    i = data.draw(st.integers(0, max(0, len(b) - 1)))
    if op == "flip":
        b[i] ^= data.draw(st.integers(1, 255))
    elif op == "truncate":
        del b[i:]
    elif op == "insert":
        b[i:i] = data.draw(st.binary(min_size=1, max_size=16))
    else:
        b[i:i + 8] = data.draw(st.binary(min_size=8, max_size=8))
    return bytes(b)


def _ser_load(ctx, blob):
    try:
        return ser.loads(blob, ctx, allow_insecure=True)
    except (ser.SerializationError, CkksError):   # documented: SerializationError, CkksError kinds
        return None


@FUZZ
@given(st.binary(max_size=300))
def test_serialize_random_bytes(ckks, blob):
    _ser_load(ckks[0], blob)


@FUZZ
@given(st.data())
def test_serialize_mutated_bytes(ckks, data):
    name = data.draw(st.sampled_from(sorted(ckks[1])))
    _ser_load(ckks[0], _mutate(ckks[1][name], data))


_JSON = st.recursive(st.none() | st.booleans() | st.integers(-2 ** 70, 2 ** 70) | st.floats() | st.text(max_size=8),
                     lambda c: st.lists(c, max_size=4) | st.dictionaries(st.text(max_size=8), c, max_size=4),
                     max_leaves=10)


@FUZZ
@given(st.data())
def test_serialize_mutated_meta_with_valid_checksums(ckks, data):
    """Past the checksums: a payload whose meta fields hold arbitrary JSON values."""
    ctx, blobs = ckks
    name = data.draw(st.sampled_from(["ct", "keyset", "pk"]))
    h, meta, arrays = ser._unpack(blobs[name], None)
    if name == "keyset" and data.draw(st.booleans()):      # one level down: a part's meta
        part = data.draw(st.sampled_from(["secret", "public", "parts", "rotation"]))
        meta = dict(meta, **{part: data.draw(_JSON)})
    key = data.draw(st.sampled_from(sorted(meta) + ["key_id", "extra", None]))
    meta = data.draw(_JSON) if key is None else dict(meta, **{key: data.draw(_JSON)})
    if data.draw(st.booleans()) and arrays:
        victim = data.draw(st.sampled_from(sorted(arrays)))
        arrays = dict(arrays, **{victim: data.draw(st.sampled_from(
            [arrays[victim][:1], arrays[victim].astype(np.int64), np.zeros(3, np.uint64)]))})
    blob = ser._pack(h.kind, ser.fingerprint(ctx.params), arrays, meta)
    _ser_load(ctx, blob)


@pytest.fixture(scope="module")
def trace_blob(tmp_path_factory):
    from sim.compare.tracefile import Kernel, Trace
    rng = np.random.default_rng(0)
    q = 12289
    a, b = (rng.integers(0, q, (1, 16), dtype=np.uint64) for _ in range(2))
    k = Kernel(id=0, kind="modmul", n=16, primes=(q,), form="mul", arrays={"a": a, "b": b, "output": a * b % q})
    path = tmp_path_factory.mktemp("fz") / "t.npz"
    tracefile.save(Trace(meta={"params": "x"}, kernels=[k]), path)
    return path.read_bytes()


def _trace_load(tmp_path, blob):
    p = tmp_path / "f.npz"
    p.write_bytes(blob)
    try:
        return tracefile.load(p)
    except tracefile.TraceFormatError as e:
        assert str(p) in str(e)
        return None


@FUZZ
@given(blob=st.binary(max_size=300))
def test_tracefile_random_bytes(tmp_path, blob):
    _trace_load(tmp_path, blob)


@FUZZ
@given(data=st.data())
def test_tracefile_mutated_bytes(tmp_path, trace_blob, data):
    tr = _trace_load(tmp_path, _mutate(trace_blob, data))
    if tr is not None:      # a load that succeeds holds exactly the saved arrays
        k = tr.kernels[0]
        assert np.array_equal(k.arrays["output"], k.arrays["a"] * k.arrays["b"] % np.uint64(12289))


@FUZZ
@given(data=st.data())
def test_tracefile_mutated_manifest(tmp_path, trace_blob, data):
    with np.load(io.BytesIO(trace_blob)) as z:
        entries = {k: z[k] for k in z.files}
    man = json.loads(bytes(entries["manifest"]).decode())
    target = data.draw(st.sampled_from(["top", "kernel"]))
    d = man if target == "top" else man["kernels"][0]
    d[data.draw(st.sampled_from(sorted(d) + ["new"]))] = data.draw(_JSON)
    entries["manifest"] = np.frombuffer(json.dumps(man).encode(), dtype=np.uint8)
    buf = io.BytesIO()
    np.savez(buf, **entries)
    _trace_load(tmp_path, buf.getvalue())


_PRESET = (cfgmod.PRESET_DIR / "sharp.toml").read_text()
_TOML_VALUES = ["-1", "0", "nan", "inf", "1e999", '"x"', "[]", "{}", "true", "1.5", "99999999999999999999"]


@FUZZ
@given(st.text(max_size=200))
def test_config_random_text(text):
    try:
        cfgmod.loads_config(text)
    except ValueError:
        pass


@FUZZ
@given(st.data())
def test_config_mutated_preset(data):
    lines = _PRESET.splitlines()
    i = data.draw(st.integers(0, len(lines) - 1))
    if "=" in lines[i] and data.draw(st.booleans()):
        k = lines[i].split("=")[0]
        lines[i] = f"{k}= {data.draw(st.sampled_from(_TOML_VALUES))}"
    else:
        del lines[i]
    try:
        cfgmod.loads_config("\n".join(lines))
    except ValueError:
        pass


@pytest.fixture(scope="module")
def op_trace_text(insecure_params):
    from sw.ckks import Evaluator
    p = insecure_params("toy-n10")
    ctx = CkksContext(p)
    with swtrace.recording(dry_run=True) as rec:
        ks = KeyGenerator(ctx, seed=1).gen_keyset(rotations=(1,))
        ev = Evaluator(ctx, ks)
        ct = Encryptor(ctx, ks.public).encrypt(Encoder(ctx).encode(np.ones(4)))
        ev.rotate(ev.rescale(ev.mul(ct, ct)), 1)
    return {1: rec.to_json(version=1), 2: rec.to_json(version=2)}


def _json_mutations(doc, data, depth=0):
    """Replace one value somewhere in the document by arbitrary JSON."""
    if isinstance(doc, dict) and doc and depth < 6:
        k = data.draw(st.sampled_from(sorted(doc)))
        if data.draw(st.booleans()):
            doc[k] = data.draw(_JSON)
        else:
            _json_mutations(doc[k], data, depth + 1)
    elif isinstance(doc, list) and doc and depth < 6:
        i = data.draw(st.integers(0, len(doc) - 1))
        if data.draw(st.booleans()):
            doc[i] = data.draw(_JSON)
        else:
            _json_mutations(doc[i], data, depth + 1)


@FUZZ
@given(data=st.data())
def test_op_trace_mutated_documents(op_trace_text, data):
    version = data.draw(st.sampled_from([1, 2]))
    doc = json.loads(op_trace_text[version])
    _json_mutations(doc, data)
    text = json.dumps(doc)
    try:
        swtrace.load(text)
    except ValueError:
        pass
    try:
        swtrace.events_v1(text)
    except ValueError:       # documented: malformed documents raise ValueError
        pass
    try:
        ops_from_trace(text)
    except TraceInputError:
        pass


@FUZZ
@given(data=st.data())
def test_op_trace_random_and_mutated_bytes(tmp_path, op_trace_text, data):
    blob = _mutate(op_trace_text[data.draw(st.sampled_from([1, 2]))].encode(), data) \
        if data.draw(st.booleans()) else data.draw(st.binary(max_size=200))
    p = tmp_path / data.draw(st.sampled_from(["t.json", "t.json.gz"]))
    p.write_bytes(blob)
    try:
        swtrace.load(p)
    except (ValueError, OSError, EOFError):   # sw.trace.load: JSON/format errors; unreadable file
        pass
    try:
        ops_from_trace(p)
    except TraceInputError as e:
        assert str(p) in str(e)
