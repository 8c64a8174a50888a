"""Op trace of one encrypted ResNet inference, for the cycle model (shape-only dry run).

:func:`dry_run_trace` walks exactly the code path of an encrypted inference
(:class:`sw.nn.encrypted.EncryptedResNet`: key generation, encryption, every linear layer,
activation and bootstrap) inside ``sw.trace.recording(dry_run=True)``: nothing is encrypted
and no weights are needed. It returns the :class:`sw.trace.Recorder`; stages are
``inference/<layer>`` and ``inference/<layer>/bootstrap`` (the bootstrap's own stages below
it, e.g. ``.../bootstrap/bootstrap/cts``).

Speed (``replay=True``, the default): the trace of a layer depends only on the layer's
shape (its linear map or activation polynomials) and on the level and scale of its input,
and a bootstrap only on its input's level and scale. Such calls are recorded until two
consecutive recordings agree (:class:`sw.trace.Replayer`) and then replayed, so ResNet-110
(56 blocks, 108 bootstraps, 348,027 events) records about a dozen distinct calls. The trace
is the same as the one recorded call by call (``replay=False``), event for event
(``tests/test_nn_trace.py``).
"""
from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import numpy as np

from sw import trace

__all__ = ["ResNetTrace", "dry_run_trace", "trace_resnet"]


@dataclass
class ResNetTrace:
    """A dry-run trace and what it describes."""

    recorder: trace.Recorder
    model: str
    geometry: str
    params: str
    method: str
    degrees: list[int]
    slots: int
    bootstraps: int
    levels_consumed: int
    rotation_keys: int
    seconds: float
    replay_hits: int = 0
    replay_misses: int = 0


def _ct_sig(ct) -> tuple:
    """Everything of a (placeholder) ciphertext that a dry run's events depend on."""
    return (int(ct.level), float(ct.scale), int(ct.slots), ct.params.name,
            tuple((p.basis.primes, bool(p.is_ntt), p.data is None) for p in ct.polys))


def _poly_sig(p) -> tuple:
    c = np.asarray(p.coeffs)
    return (p.basis, tuple(float(x) for x in p.interval), p.parity, c.dtype.str, c.tobytes())


def _act_sig(act) -> tuple:
    polys = act.sign.polys if act.sign is not None else [act.poly]
    return (act.method, float(act.bound), tuple(_poly_sig(p) for p in polys))


def _install_replay(enn, sess, rp: trace.Replayer) -> None:
    """Route the per-layer calls of ``enn.run`` through ``rp`` (instance attributes only)."""
    linear, relu, add = enn._linear, enn._relu, enn._add
    maps = {id(m): m for m in enn.maps.values()}     # keeps every keyed map alive

    def _linear(sess_, ct, m):
        key = ("linear", id(m), _ct_sig(ct)) if id(m) in maps else None
        return rp.call(key, linear, sess_, ct, m)

    def _relu(sess_, ct, act, out_unit):
        return rp.call(("relu", _act_sig(act), float(out_unit), _ct_sig(ct)), relu, sess_, ct, act, out_unit)

    def _add(sess_, a, b):
        return rp.call(("add", _ct_sig(a), _ct_sig(b)), add, sess_, a, b)

    enn._linear, enn._relu, enn._add = _linear, _relu, _add
    for boot in sess.bootstrappers.values():
        def _bootstrap(ct, _run=boot.bootstrap, _slots=boot.cfg.slots):
            return rp.call(("bootstrap", _slots, _ct_sig(ct)), _run, ct)

        boot.bootstrap = _bootstrap


def _params(params: Any, allow_insecure: bool):
    if isinstance(params, str):
        from sw.ckks import get_params
        return get_params(params, allow_insecure=allow_insecure)
    return params


def _network(model: Any, geometry: str):
    from sw.nn.models import ResNet, load_model, weights_path
    if not isinstance(model, str):
        return model
    # a dry run needs only the shapes: the committed weights if present, else random ones
    return load_model(model, geometry) if weights_path(model, geometry).exists() else ResNet(model, geometry)


def trace_resnet(model: Any = "resnet20", geometry: str = "cifar32", params: Any = "n16-128", *,
                 method: str = "composite", degree: int = 15, allow_insecure: bool = False,
                 replay: bool = True, sparse_bootstrap: bool = False,
                 giant_steps: str = "keys", hoisting: str = "single", baby_steps: str = "hoisted",
                 fit_special: bool = True, key_switching: str = "hybrid",
                 klss_group: int | None = None) -> ResNetTrace:
    """Dry-run trace of one inference of ``model`` (a name such as ``"resnet110"`` or a
    :class:`sw.nn.models.ResNet`) on ``geometry`` at ``params`` (a name or ``CkksParams``),
    with bootstrapping, the activation ``method`` (``composite`` or ``data-guided`` of
    ``degree``). ``replay=False`` records every call (slow; the reference of the tests).
    ``sparse_bootstrap``: each stage bootstraps at its own slot period
    (:meth:`sw.nn.encrypted.EncryptedResNet.session`). ``giant_steps``: the bootstrapping
    DFTs' giant steps (:attr:`sw.bootstrap.BootstrapConfig.giant_steps`, ``"min"``: ARK's
    minimum key switching); ``hoisting``: their hoisting
    (:attr:`sw.bootstrap.BootstrapConfig.hoisting`); ``baby_steps``: their baby rotations
    (:attr:`sw.bootstrap.BootstrapConfig.baby_steps`); ``fit_special``: the network's low
    rotation keys over only the special primes their digit needs
    (:class:`sw.nn.encrypted.HeSession`); ``key_switching``: ``"hybrid"`` or ``"klss"``
    and ``klss_group`` (:class:`sw.ckks.CkksContext`)."""
    from sw.nn.encrypted import EncryptedResNet

    p = _params(params, allow_insecure)
    t0 = time.time()
    net = _network(model, geometry)
    rp = trace.Replayer(confirm=2, result_sig=_ct_sig)
    with trace.recording(dry_run=True) as rec:
        enn = EncryptedResNet(net, p, method=method, degree=degree, dry_run=True)
        sess = enn.session(bootstrap=True, sparse_bootstrap=sparse_bootstrap, giant_steps=giant_steps,
                           hoisting=hoisting, baby_steps=baby_steps, fit_special=fit_special,
                           key_switching=key_switching, klss_group=klss_group)
        plan = enn.plan(sess.boot_level, sess.boot_level)
        ct = enn.encrypt(sess, np.zeros(net.geometry.shape), sess.boot_level)
        if replay:
            _install_replay(enn, sess, rp)
        with trace.stage("inference"):
            enn.run(sess, ct, plan=plan)
    return ResNetTrace(recorder=rec, model=net.name, geometry=net.geometry.name, params=p.name,
                       method=method, degrees=list(next(iter(enn.acts.values())).degrees), slots=enn.slots,
                       bootstraps=plan.n_bootstraps, levels_consumed=plan.levels_consumed,
                       rotation_keys=len(enn.rotation_steps()), seconds=time.time() - t0,
                       replay_hits=rp.hits, replay_misses=rp.misses)


def dry_run_trace(model: Any = "resnet20", geometry: str = "cifar32", params: Any = "n16-128",
                  **kwargs) -> trace.Recorder:
    """The recorder of :func:`trace_resnet` (same arguments): the op trace of one inference,
    e.g. ``dry_run_trace(model="resnet110", geometry="cifar32", params="n16-128")``; write it
    with ``rec.to_json(path, version=2)`` or give it to ``sim.cycle.adapters.ops_from_trace``."""
    return trace_resnet(model, geometry, params, **kwargs).recorder
