"""Op trace: declared kinds (sw.trace.kinds) and per-thread recorders (sw.trace.context)."""
import ast
import threading
from pathlib import Path

import numpy as np
import pytest

from sim.cycle.adapters import ops_from_trace
from sim.cycle.events import Kernel
from sw import trace
from sw.trace import kinds

N = 16
ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def env(ckks_env):
    return ckks_env("toy-n10", rotations=(1,))


def test_undeclared_kind_is_refused_when_recorded():
    with pytest.raises(ValueError, match=r"undeclared operation kind 'pmul'.*pmult"):
        with trace.recording():
            with trace.op("pmul", n=N):
                pass
    with pytest.raises(ValueError, match="'pmul'"):    # recording or not
        trace.op("pmul")


def test_undeclared_kind_is_refused_by_the_adapter(tmp_path):
    ev = {"id": 0, "kind": "add", "parent": None, "depth": 0, "stage": None, "n": N,
          "primes_in": 2, "primes_out": 2, "info": {}, "kernels": [],
          "children": [{"id": 1, "kind": "frobnicate", "parent": 0, "depth": 1, "n": N,
                        "info": {}, "kernels": [], "children": []}]}
    doc = {"format": trace.FORMAT_V1, "events": [ev]}
    with pytest.raises(ValueError, match="op trace: undeclared operation kind 'frobnicate'"):
        ops_from_trace(doc)
    shape = {"kind": "frobnicate", "n": N, "kernels": [["modadd", 2, N, 1, None, None]]}
    doc2 = {"format": trace.FORMAT_V2, "shapes": [shape], "stages": [None], "events": [[0, 0]]}
    with pytest.raises(ValueError, match="'frobnicate'"):
        ops_from_trace(doc2)


def _literal_kinds(path: Path) -> set[str]:
    """First string arguments of ``trace.op(...)`` and ``self._scope(...)`` calls in ``path``."""
    out = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.args:
            f = node.func
            if (f.attr == "op" and isinstance(f.value, ast.Name) and f.value.id == "trace") or \
                    f.attr == "_scope":
                a = node.args[0]
                if isinstance(a, ast.Constant) and isinstance(a.value, str):
                    out.add(a.value)
    return out


def test_every_kind_recorded_by_sw_is_declared():
    used = set()
    for p in (ROOT / "sw").rglob("*.py"):
        used |= _literal_kinds(p)
    # the one non-literal kind: Evaluator._galois(..., kind) with "rotate" / "conjugate"
    used |= {"rotate", "conjugate"}
    assert {"add", "pmult", "sub_plain", "keyswitch_ct", "modraise", "bootstrap"} <= used
    assert used <= kinds.OP_KINDS, used - kinds.OP_KINDS
    assert kinds.CLIENT_KINDS.isdisjoint(kinds.OP_IO)


def test_sub_plain_is_recorded_as_itself_and_costed(env):
    ct = env.ct(env.vec())
    pt = env.enc.encode(env.vec(), level=ct.level)
    with trace.recording() as rec:
        out = env.ev.sub_plain(ct, pt)
    q = np.array(ct.polys[0].basis.primes, dtype=np.int64)[:, None]
    c0 = ct.polys[0].data.astype(np.int64)
    m = pt.poly.data.astype(np.int64)
    assert np.array_equal(out.polys[0].data.astype(np.int64), (c0 - m) % q)
    assert np.array_equal(out.polys[1].data, ct.polys[1].data)
    assert [e.kind for e in rec.events] == ["sub_plain"]
    L = len(ct.primes)
    ops, _ = ops_from_trace(rec)
    assert len(ops) == 1
    op = ops[0]
    # c0 - m: one subtraction of L rows; reads the ciphertext (2 polys) and the plaintext (1)
    assert op.kind == "sub_plain" and op.kernels == [Kernel("modadd", env.ctx.n, L)]
    assert (op.ct_in_polys, op.ct_out_polys, op.pt_polys) == (2, 2, 1)
    assert op.primes_in == op.primes_out == L


def _add_op():
    with trace.op("add", n=N, primes_in=2, primes_out=2):
        trace.report_kernel("modadd", 2, N)


def test_recorders_are_per_thread():
    seen = {}

    def worker():                     # runs while the main thread's recorder is open
        seen["active"] = trace.active()
        seen["dry"] = trace.is_dry_run()
        _add_op()                     # recorded by nobody
        with trace.recording() as own:
            _add_op()
            _add_op()
        seen["own"] = [e.kind for e in own.events]

    with trace.recording(dry_run=True) as rec:
        t = threading.Thread(target=worker)
        t.start()
        t.join()
        _add_op()
    assert seen == {"active": None, "dry": False, "own": ["add", "add"]}
    assert [e.kind for e in rec.events] == ["add"] and rec.orphan_kernels == []
    assert rec.kernel_counts()["modadd"] == 1
    assert trace.active() is None and not trace.is_dry_run()


def test_mul_plain_acc_is_costed_as_one_fused_operation(env):
    x, y = env.ct(env.vec()), env.ct(env.vec())
    pt = env.enc.encode(env.vec())
    acc = env.ev.mul_plain(x, pt)
    with trace.recording() as rec:
        env.ev.mul_plain_acc(acc, y, pt)
    (op,), _ = ops_from_trace(rec)
    L = len(y.primes)
    # reads y (2 polys) and acc (2), writes acc (2), reads the plaintext (1)
    assert op.kind == "mul_plain_acc" and (op.ct_in_polys, op.ct_out_polys, op.pt_polys) == (4, 2, 1)
    assert op.kernels == [Kernel("mac", env.ctx.n, L)] * 2
