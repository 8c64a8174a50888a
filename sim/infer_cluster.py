"""Encrypted ResNet inference on a Dask cluster (the engine of ``fhesim infer --cluster``).

The client (this process) compiles the network, generates the keys, encrypts every image
and decrypts every result: the secret key never leaves it. The evaluation keys go to the
workers once (:mod:`sw.nn.evalkeys`: a key file the workers read, or its bytes broadcast
to them); each worker loads them once and evaluates many images; ciphertexts travel
serialised (:mod:`sw.ckks.serialize`). Before any work the workers' code is checked
(:func:`sim.cluster.check_workers`) and their memory limit against the estimate of
:func:`sw.nn.evalkeys.estimate_worker_bytes` (refused with the figure needed).

Images are encrypted in index order, with the same seeds as :func:`sw.nn.infer.run_infer`,
so the logits, agreement and errors are bit-identical to a serial run. Rows reach
``on_image`` as each image finishes (completion order; :func:`sw.nn.infer.jsonl_appender`
appends them with an fsync); the summary lists them by image index. A worker that dies mid-image has
its image run again on another worker; each image is reported exactly once. ``skip``:
image indices already done (their ciphertexts are still made, so that the others keep
their randomness, but not evaluated).
"""
from __future__ import annotations

import hashlib
import tempfile
import time
from pathlib import Path

import numpy as np

from .cluster import cluster_client, map_ordered, parse_cluster

__all__ = ["run_infer_cluster"]


def _prepare(spec: dict, images: int, start: int, seed: int, allow_insecure: bool, threads, log):
    """Client side before the cluster: network, plaintext check, keys, ciphertexts."""
    from sw.ckks import serialize
    from sw.nn.data import load_digits_split
    from sw.nn.evalkeys import build_network
    from sw.nn.infer import _plain_check, set_threads
    from sw.nn.models import load_model

    t0 = time.time()
    enn, params = build_network(spec, allow_insecure=allow_insecure)
    set_threads(threads, params)
    compile_s = time.time() - t0
    _, _, xte, yte = load_digits_split(spec["geometry"])
    if not 1 <= images <= len(xte) - start:
        raise ValueError(f"--images {images}: between 1 and {len(xte) - start} test images")
    x, y = xte[start:start + images], yte[start:start + images]
    net = load_model(spec["model"], spec["geometry"])
    plain_poly, plain_exact, bound_warnings = _plain_check(enn, net, x, log)
    t0 = time.time()
    sess = enn.session(bootstrap=spec["bootstrap"], seed=seed, sparse_bootstrap=spec["sparse_bootstrap"],
                       giant_steps=spec["giant_steps"])
    keygen_s = time.time() - t0
    fresh = sess.boot_level if sess.boot_level is not None else params.max_level
    cts = [serialize.dumps(enn.encrypt(sess, x[i], fresh)) for i in range(images)]   # in order: same randomness
    return dict(enn=enn, params=params, sess=sess, x=x, y=y, plain_poly=plain_poly, plain_exact=plain_exact,
                bound_warnings=bound_warnings, compile_s=compile_s, keygen_s=keygen_s, fresh=fresh, cts=cts)


def _summary(spec: dict, st: dict, rows: list[dict], key_info: dict) -> dict:
    """The result dict of :func:`sw.nn.infer.run_infer`, rows ordered by image index."""
    enn, params = st["enn"], st["params"]
    rows = sorted(rows, key=lambda r: r["image"])
    act = next(iter(enn.acts.values()))
    mean = (lambda v: float(np.mean(v)) if v else float("nan"))
    return dict(model=spec["model"], geometry=spec["geometry"], params=spec["params"],
                insecure=not params.is_secure, method=spec["method"], sparse_bootstrap=spec["sparse_bootstrap"],
                giant_steps=spec["giant_steps"],
                boot_slots=key_info["boot_slots"], degrees=list(act.degrees), levels_per_activation=act.depth,
                slots=enn.slots, bootstraps_planned=enn.plan(st["fresh"], key_info["boot_level"]).n_bootstraps,
                compile_seconds=round(st["compile_s"], 1), keygen_seconds=round(st["keygen_s"], 1),
                rotation_keys=len(enn.rotation_steps()), key_gib=key_info["key_gib"], key_level=key_info["key_level"],
                images=rows, agreement=mean([r["top1_encrypted"] == r["top1_plain"] for r in rows]),
                accuracy_encrypted=mean([r["top1_encrypted"] == r["label"] for r in rows]),
                accuracy_plain=mean([r["top1_plain"] == r["label"] for r in rows]),
                max_logit_err=float(max((r["max_logit_err"] for r in rows), default=float("nan"))),
                mean_seconds=mean([r["seconds"] for r in rows]), bound_warnings=st["bound_warnings"],
                cluster=key_info["cluster"], worker_bytes_needed=key_info["need"],
                key_file_bytes=key_info["key_file_bytes"], eval_wall_seconds=key_info.get("eval_wall_seconds"),
                images_per_hour=(round(3600 * len(rows) / key_info["eval_wall_seconds"], 1)
                                 if rows and key_info.get("eval_wall_seconds") else None))


def _key_source(client, data: bytes, keys_path, tmp: str):
    """Where workers read the keys: ``keys_path`` (written once), a temporary file of an
    embedded cluster, or the bytes broadcast to every worker of a remote one."""
    from sw.atomicio import atomic_write_bytes

    if client is None:
        return data
    if keys_path is not None:
        atomic_write_bytes(keys_path, data, fsync=True)
        return str(Path(keys_path).resolve())
    if tmp is not None:
        path = Path(tmp) / "eval-keys.fhek"
        atomic_write_bytes(path, data)
        return str(path)
    return client.scatter(data, broadcast=True, hash=False)


def run_infer_cluster(model: str, geometry: str, params_name: str, images: int, *, cluster=None,
                      method: str = "composite", degree: int = 15, allow_insecure: bool = False,
                      start: int = 0, seed: int = 1, bootstrap: bool = True, threads: int | None = None,
                      log=print, on_image=None, layer_times: bool = False, sparse_bootstrap: bool = False,
                      keys_path=None, skip=frozenset(), wrap=None, connect_timeout: float = 5.0,
                      giant_steps: str = "keys") -> dict:
    """Encrypted inference of test images ``start .. start + images - 1`` on ``cluster``
    (:func:`sim.cluster.parse_cluster`; see the module docstring). Arguments as
    :func:`sw.nn.infer.run_infer`, and ``keys_path`` (key file the workers can read; default
    a temporary file for an embedded cluster, the bytes broadcast for a remote one),
    ``skip`` (image indices not to evaluate), ``wrap`` (``wrap(task_fn) -> task_fn``
    applied to the worker task: instrumentation, fault injection)."""
    from sw.ckks import serialize
    from sw.nn.evalkeys import estimate_worker_bytes, eval_key_bytes, job_spec, run_image
    from sw.nn.infer import _image_row

    cspec = parse_cluster(cluster)
    spec = job_spec(model, geometry, params_name, method=method, degree=degree, bootstrap=bootstrap,
                    sparse_bootstrap=sparse_bootstrap, giant_steps=giant_steps)
    st = _prepare(spec, images, start, seed, allow_insecure, threads, log)
    sess, enn = st["sess"], st["enn"]
    data = eval_key_bytes(sess, spec)
    digest = hashlib.sha256(data).hexdigest()
    depth = int("".join(c for c in model if c.isdigit()) or 20)
    need = estimate_worker_bytes(st["params"], depth, len(data))
    if cspec.kind == "remote" and keys_path is None:
        need += len(data)   # the broadcast bytes and the loaded keys coexist while loading
    key_info = dict(boot_slots=sorted(sess.bootstrappers, reverse=True), boot_level=sess.boot_level,
                    key_gib=round(sess.key_bytes / 2 ** 30, 2), key_level=sess.key_level, cluster=str(cspec),
                    need=need, key_file_bytes=len(data))
    sess.keys.rotation, sess.keys.low_rotation = {}, {}
    sess.bootstrappers, sess.bootstrapper = {}, None   # the client only encrypts/decrypts
    todo = [i for i in range(images) if start + i not in set(skip)]
    rows: dict[int, dict] = {}

    def finished(_, res):
        i = res["index"] - start
        if i in rows:
            return
        lg = enn.decrypt_logits(sess, serialize.loads(res["ct"], sess.ctx, expect="ciphertext"))
        stats = _Stats(res["stats"])
        rows[i] = _image_row(start + i, st["y"][i], lg, st["plain_exact"][i], st["plain_poly"][i], stats, layer_times)
        if on_image is not None:
            on_image(rows[i])

    fn = run_image if wrap is None else wrap(run_image)
    with tempfile.TemporaryDirectory(prefix="fhesim-keys-") as tmp, \
            cluster_client(cspec, memory_per_worker=need if cspec.kind != "serial" else None, log=log,
                           connect_timeout=connect_timeout) as client:
        src = _key_source(client, data, keys_path, tmp if cspec.kind == "local" else None)
        del data
        tasks = [dict(keys=src, digest=digest, spec=spec, allow_insecure=allow_insecure, index=start + i,
                      ct=st["cts"][i]) for i in todo]
        t0 = time.time()
        map_ordered(client, fn, tasks, on_result=finished, key="infer-image")
        key_info["eval_wall_seconds"] = round(time.time() - t0, 1)
        if client is None:
            from sw.nn import evalkeys
            evalkeys._CACHE.clear()   # serial: the worker cache lived in this process
    return _summary(spec, st, list(rows.values()), key_info)


class _Stats:
    """:class:`sw.nn.encrypted.RunStats` fields from a worker's dict (as ``_image_row`` reads them)."""

    def __init__(self, d: dict):
        self.bootstraps = d["bootstraps"]
        self.levels_consumed = d["levels_consumed"]
        self.seconds = d["seconds"]
        self.kind_seconds = d.get("kind_seconds", {})
        self.op_seconds = d.get("op_seconds", {})
        self.boot_seconds = d.get("boot_seconds", {})
