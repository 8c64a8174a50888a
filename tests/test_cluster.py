"""Work on a Dask cluster (sim.cluster, sim.infer_cluster, sw.nn.evalkeys): the same answers as
serial, surviving a worker that dies, and clear refusals of bad input.

The cluster tests start a real ``distributed.LocalCluster`` of two worker processes on the
small sets (ResNet-20 / digits8 / toy-boot-n11, two images; one or two RTL cases).
"""
from __future__ import annotations

import json
import os
import sys

import pytest

from sim.cluster import ClusterError, ClusterSpec, check_memory, check_workers, cluster_client, parse_cluster

pytestmark = pytest.mark.usefixtures("one_numba_thread")

MODEL = dict(model="resnet20", geometry="digits8", params_name="toy-boot-n11", images=2)


def _stable(row: dict) -> dict:
    """A result row without its wall times (and whether they include compiling kernels)."""
    return {k: v for k, v in row.items()
            if k not in ("seconds", "jit_compiled", "jit_seconds") and not k.startswith("s_")}


# ---------------------------------------------------------------------------------------
# the spec and the checks (no cluster)
# ---------------------------------------------------------------------------------------
def test_parse_cluster():
    assert parse_cluster(None) == ClusterSpec("local")
    assert parse_cluster("local:3") == ClusterSpec("local", 3)
    assert parse_cluster("serial") == ClusterSpec("serial")
    assert parse_cluster("tcp://10.0.0.2:8786") == ClusterSpec("remote", address="tcp://10.0.0.2:8786")
    assert parse_cluster(None, jobs=1) == ClusterSpec("serial")
    assert parse_cluster(None, jobs=4) == ClusterSpec("local", 4)
    for bad in ("local:0", "local:x", "10.0.0.2:8786", "cluster"):
        with pytest.raises(ClusterError, match="--cluster"):
            parse_cluster(bad)


class _FakeClient:
    def __init__(self, identities=None, limits=None):
        self.identities, self.limits = identities or {}, limits or {}

    def run(self, fn):
        return self.identities

    def scheduler_info(self, **kw):
        return {"workers": {a: {"memory_limit": m} for a, m in self.limits.items()}}


def test_workers_with_other_code_are_refused():
    from sim.cluster import code_identity
    mine = code_identity()
    check_workers(_FakeClient({"tcp://w1:1": dict(mine)}))
    other = {"tcp://w1:1": dict(mine), "tcp://w2:1": {"version": "0.0.9", "digest": "ab" * 32}}
    with pytest.raises(ClusterError, match=r"tcp://w2:1 runs fhesim 0\.0\.9"):
        check_workers(_FakeClient(other))
    broken = {"tcp://w3:1": {"version": None, "digest": None, "error": "ModuleNotFoundError: sw"}}
    with pytest.raises(ClusterError, match="tcp://w3:1 cannot import fhesim"):
        check_workers(_FakeClient(broken))


def test_worker_memory_too_small_is_refused_with_the_figure():
    check_memory(_FakeClient(limits={"tcp://w1:1": 8 << 30}), 4 << 30, "ResNet-20")
    with pytest.raises(ClusterError, match=r"tcp://w1:1 has a memory limit of 2\.00 GiB; ResNet-20 needs "
                                           r"about 12\.40 GiB"):
        check_memory(_FakeClient(limits={"tcp://w1:1": 2 << 30}), int(12.4 * 2 ** 30), "ResNet-20")


def test_worker_memory_estimate_matches_the_measured_peaks():
    from sw.ckks import get_params
    from sw.nn.evalkeys import estimate_worker_bytes
    p = get_params("n16-128")
    keys = int(3.86 * 2 ** 30)          # per-level network keys, minimum key switching
    assert estimate_worker_bytes(p, 20, keys) / 1e9 == pytest.approx(7.53, rel=0.05)
    assert estimate_worker_bytes(p, 110, keys) / 1e9 == pytest.approx(7.52, rel=0.05)


def _numba_threads_env():
    return os.environ.get("NUMBA_NUM_THREADS")


def test_embedded_workers_get_one_thread_and_the_client_env_is_untouched():
    # Dask's nanny writes its "pre-spawn" variables into the client's os.environ; a
    # NUMBA_NUM_THREADS put there after numba started its threads made every later numba
    # compilation in the client fail (seen in CI, where the variable is not set)
    import numba

    from sim.cluster import WORKER_ENV
    before = {k: os.environ.get(k) for k in WORKER_ENV}
    with cluster_client("local:1") as client:
        assert set(client.run(_numba_threads_env).values()) == {"1"}
    assert {k: os.environ.get(k) for k in WORKER_ENV} == before
    numba.njit(lambda x: x + 1)(1)      # the client still compiles


def test_unreachable_scheduler_is_named(tmp_path):
    with pytest.raises(ClusterError, match=r"cannot reach the Dask scheduler at tcp://127\.0\.0\.1:9"):
        with cluster_client("tcp://127.0.0.1:9", connect_timeout=1):
            pass
    from sim.cli import main
    assert main(["regression", "--quick", "--only", "ct_W32_shoup", "--cluster", "tcp://127.0.0.1:9",
                 "--out", str(tmp_path / "r")]) == 2


def test_jsonl_of_another_model_is_refused(tmp_path, capsys):
    out = tmp_path / "rows.jsonl"
    out.write_text(json.dumps(dict(model="resnet32", geometry="digits8", params="toy-boot-n11",
                                   method="composite", image=0)) + "\n")
    from sim.cli import main
    assert main(["infer", "--cluster", "serial", "--allow-insecure", "--jsonl", str(out)]) == 2
    assert "pass --resume" in capsys.readouterr().err          # a rerun never appends duplicates
    assert main(["infer", "--cluster", "serial", "--allow-insecure", "--jsonl", str(out), "--resume"]) == 2
    assert "model='resnet32'" in capsys.readouterr().err       # rows of another model, named
    assert len(out.read_text().splitlines()) == 1   # nothing lost, nothing added


# ---------------------------------------------------------------------------------------
# evaluation keys
# ---------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def keyed():
    from sw.nn.evalkeys import build_network, eval_key_bytes, job_spec
    spec = job_spec("resnet20", "digits8", "toy-boot-n11")
    enn, _ = build_network(spec, allow_insecure=True)
    sess = enn.session(bootstrap=True, seed=1)
    return spec, enn, sess, eval_key_bytes(sess, spec)


def test_key_file_holds_no_secret_and_refuses_other_parameters(keyed):
    from sw.ckks import get_params
    from sw.nn.evalkeys import KeyFileError, check_manifest, read_manifest
    spec, enn, sess, data = keyed
    manifest, _ = read_manifest(data)
    assert {k["kind"] for k in manifest["keys"]} <= {"relin", "conjugation", "rotation", "decapsulate"}
    assert sess.keys.secret.poly.data.tobytes()[:64] not in data
    import warnings
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        other = get_params("toy-boot-n12", allow_insecure=True)
    with pytest.raises(KeyFileError, match="parameter set 'toy-boot-n11'.*this run uses 'toy-boot-n12'"):
        check_manifest(manifest, other, dict(spec, params="toy-boot-n12"))
    with pytest.raises(KeyFileError, match="another network: model 'resnet20' \\(keys\\) vs 'resnet32'"):
        check_manifest(manifest, enn.params, dict(spec, model="resnet32"))
    with pytest.raises(KeyFileError, match="checksum"):
        read_manifest(data[:-10] + b"0" * 10)


def test_key_file_carries_minimum_key_switching():
    """A session with ``giant_steps="min"`` writes its bootstrapping option into the key file;
    the worker's session bootstraps with it (same steps, same keys), and a key file of the
    other option is refused for this network, naming the field."""
    from sw.nn.evalkeys import KeyFileError, build_network, check_manifest, eval_key_bytes, job_spec, \
        load_session, read_manifest
    spec = job_spec("resnet20", "digits8", "toy-boot-n11", giant_steps="min")
    enn, _ = build_network(spec, allow_insecure=True)
    sess = enn.session(bootstrap=True, seed=1, giant_steps="min")
    data = eval_key_bytes(sess, spec)
    manifest, _ = read_manifest(data)
    assert manifest["bootstrap"]["giant_steps"] == "min"
    ws = load_session(data, enn, spec)
    assert ws.bootstrapper.cfg.giant_steps == "min"
    assert ws.bootstrapper.plan.steps == sess.bootstrapper.plan.steps
    assert set(ws.keys.rotation) == set(sess.keys.rotation)
    with pytest.raises(KeyFileError, match="giant_steps 'min' \\(keys\\) vs 'keys'"):
        check_manifest(manifest, enn.params, dict(spec, giant_steps="keys"))


def test_worker_session_gives_bit_identical_logits(keyed):
    import numpy as np

    from sw.ckks import serialize
    from sw.nn.data import load_digits_split
    from sw.nn.evalkeys import load_session
    spec, enn, sess, data = keyed
    ws = load_session(data, enn, spec)
    assert ws.decryptor is None and ws.encryptor is None and ws.keys.secret is None
    x = load_digits_split("digits8")[2][:1]
    plan = enn.plan(sess.boot_level, sess.boot_level)
    ct = enn.encrypt(sess, x[0], sess.boot_level)
    a, _ = enn.run(sess, ct, plan=plan)
    b, _ = enn.run(ws, serialize.loads(serialize.dumps(ct), ws.ctx, expect="ciphertext"), plan=plan)
    assert all(np.array_equal(p.data, q.data) for p, q in zip(a.polys, b.polys))


# ---------------------------------------------------------------------------------------
# a real LocalCluster of two worker processes
# ---------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def serial_reference():
    from sw.nn.infer import run_infer
    return run_infer(MODEL["model"], MODEL["geometry"], MODEL["params_name"], MODEL["images"],
                     allow_insecure=True, progress=False, log=lambda m: None)


class DieOnce:
    """Worker task wrapper: the first attempt at image 1 kills its own worker process
    (marked by a file, so the retry on another worker runs normally)."""

    def __init__(self, fn, marker):
        self.fn, self.marker = fn, str(marker)

    def __call__(self, task):
        if task["index"] == 1 and not os.path.exists(self.marker):
            with open(self.marker, "w") as f:
                f.write(str(os.getpid()))
            os._exit(1)
        return self.fn(task)


@pytest.mark.slow
def test_cluster_inference_identical_to_serial_and_survives_a_dead_worker(serial_reference, tmp_path):
    import cloudpickle

    from sim.infer_cluster import run_infer_cluster
    from sw.nn.infer import jsonl_appender
    cloudpickle.register_pickle_by_value(sys.modules[__name__])
    marker = tmp_path / "died"
    sink = jsonl_appender(tmp_path / "rows.jsonl", model="resnet20", geometry="digits8", params="toy-boot-n11",
                          method="composite")
    res = run_infer_cluster(MODEL["model"], MODEL["geometry"], MODEL["params_name"], MODEL["images"],
                            cluster="local:2", allow_insecure=True, log=lambda m: None, on_image=sink,
                            wrap=lambda fn: DieOnce(fn, marker))
    assert marker.exists()   # a worker really died mid-run
    assert [_stable(r) for r in res["images"]] == [_stable(r) for r in serial_reference["images"]]
    for k in ("agreement", "max_logit_err", "accuracy_encrypted", "accuracy_plain"):
        assert res[k] == serial_reference[k]
    lines = [json.loads(s) for s in (tmp_path / "rows.jsonl").read_text().splitlines()]
    assert sorted(r["image"] for r in lines) == [0, 1]   # complete and unique
    assert sorted((_stable(r) for r in lines), key=lambda r: r["image"]) == \
        [dict(model="resnet20", geometry="digits8", params="toy-boot-n11", method="composite", **_stable(r))
         for r in serial_reference["images"]]


@pytest.mark.slow
def test_cluster_skips_images_already_done(serial_reference):
    from sim.infer_cluster import run_infer_cluster
    res = run_infer_cluster(MODEL["model"], MODEL["geometry"], MODEL["params_name"], MODEL["images"],
                            cluster="serial", allow_insecure=True, log=lambda m: None, skip={0})
    assert [_stable(r) for r in res["images"]] == [_stable(serial_reference["images"][1])]


@pytest.mark.slow
@pytest.mark.rtl
def test_regression_on_cluster_equals_serial(tmp_path):
    from sim.regression import run_regression

    def rows(cluster):
        df, summary = run_regression(quick=True, only="ct_W32", progress=False, cluster=cluster,
                                     out_prefix=tmp_path / cluster.replace(":", "_"))
        assert summary["failed"] == 0
        return df.drop(columns=["time_s", "compile_s"]).to_dict(orient="records")   # timings

    assert rows("local:2") == rows("serial")


@pytest.mark.slow
@pytest.mark.rtl
def test_compare_replay_on_cluster_equals_serial(tmp_path):
    from sim.cli import main
    from sim.compare import tracefile
    from sim.compare.engine import compare
    path = tmp_path / "mulrot.npz"
    assert main(["capture", "--params", "toy-n10", "--program", "mulrot", "--level", "2", "--out", str(path),
                 "--json"]) == 0
    tr = tracefile.load(path)
    ids = tuple(k.id for k in tr.kernels if k.kind == "intt")[:2]   # a few rows: it is the order that counts
    reps = [compare(tr, kernels=ids, waves=False, **kw) for kw in (dict(jobs=1), dict(cluster="local:2"))]
    for r in reps:
        r.pop("wall_s")
        for pp in r["per_prime"]:
            pp.pop("wall_s", None)
            pp.pop("time_s", None)
            pp.pop("build_s", None)
    assert reps[0]["primes"] > 1 and reps[0]["pass"]
    assert reps[1] == reps[0]


@pytest.mark.slow
def test_explore_grid_on_cluster_equals_serial():
    from sim.explore import explore

    import pandas as pd

    def table(cluster):
        return explore(grid="small", refine=False, progress=False, cluster=cluster).table

    pd.testing.assert_frame_equal(table("local:2"), table(None), check_exact=True)


def test_local_worker_too_small_is_refused_before_work():
    import psutil
    with pytest.raises(ClusterError, match="needs about"):
        with cluster_client("local:1", memory_per_worker=2 * psutil.virtual_memory().total):
            pass
