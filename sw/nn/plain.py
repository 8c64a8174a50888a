"""Plaintext NumPy references of the lowered ResNet graph (:meth:`ResNet.graph`).

* :func:`forward` with ``activations=None``: exact float inference (ReLU).
* :func:`forward` with ``activations={relu name: callable}``: the same network with the
  polynomial activations in place of ReLU (what the encrypted network computes, without
  encryption noise), so approximation error and encryption error can be told apart.
* :func:`collect_preactivations`: every ReLU's input values on calibration data (for the
  bound ``B`` of each layer and for the data-guided fits).
"""
from __future__ import annotations

from typing import Callable, Mapping

import numpy as np

from .data import check_images
from .models import Op, ResNet

__all__ = ["conv2d", "forward", "predict", "accuracy", "collect_preactivations", "apply_op",
           "BoundWarning"]


class BoundWarning(UserWarning):
    """An activation input left the calibrated bound of its layer."""


def conv2d(x: np.ndarray, w: np.ndarray, b: np.ndarray | None, stride: int, pad: int) -> np.ndarray:
    """``(B, Ci, H, W) * (Co, Ci, k, k)`` -> ``(B, Co, H', W')`` (cross-correlation, zero padding)."""
    bsz, ci, h, wd = x.shape
    co, _, k, _ = w.shape
    xp = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad))) if pad else x
    ho = (h + 2 * pad - k) // stride + 1
    wo = (wd + 2 * pad - k) // stride + 1
    out = np.zeros((bsz, co, ho, wo), dtype=np.result_type(x, w))
    for dy in range(k):
        for dx in range(k):
            patch = xp[:, :, dy:dy + stride * ho:stride, dx:dx + stride * wo:stride]
            out += np.einsum("bchw,oc->bohw", patch, w[:, :, dy, dx], optimize=True)
    if b is not None:
        out += b[None, :, None, None]
    return out


def shortcut_a(x: np.ndarray, stride: int, pad: int) -> np.ndarray:
    y = x[:, :, ::stride, ::stride]
    return np.pad(y, ((0, 0), (pad, pad), (0, 0), (0, 0)))


def apply_op(op: Op, env: dict, act: Callable[[np.ndarray], np.ndarray] | None = None) -> np.ndarray:
    """Evaluate one op on the tensors of ``env`` (batched, float64)."""
    x = env[op.src]
    if op.kind == "conv":
        return conv2d(x, op.weight, op.bias, op.stride, op.pad)
    if op.kind == "relu":
        return np.maximum(x, 0.0) if act is None else act(x)
    if op.kind == "add":
        return x + env[op.src2]
    if op.kind == "shortcut_a":
        return shortcut_a(x, op.stride, op.pad)
    if op.kind == "avgpool":
        return x.mean(axis=(2, 3))
    if op.kind == "fc":
        return x @ op.weight.T + op.bias
    raise ValueError(f"unknown op kind {op.kind!r} ({op.name})")


def forward(model: ResNet, x, activations: Mapping[str, Callable] | None = None, *,
            bounds: Mapping[str, float] | None = None, record: Mapping[str, list] | None = None,
            graph: list[Op] | None = None, check_input: bool = True) -> np.ndarray:
    """Logits ``(B, classes)`` of ``model`` on images ``x`` ``(B, C, S, S)`` in ``[0, 1]``.

    activations: per-ReLU replacement functions (missing names use the exact ReLU).
    bounds: per-ReLU bounds ``B``; inputs beyond them raise a :class:`BoundWarning` naming
    the layer (values are not clipped).
    record: dict to which each ReLU's input array is appended (by name).
    """
    import warnings
    env = {"input": check_images(x, model.geometry.name) if check_input else np.asarray(x, np.float64)}
    for op in graph if graph is not None else model.graph():
        act = None
        if op.kind == "relu":
            xin = env[op.src]
            if record is not None:
                record.setdefault(op.name, []).append(xin)
            if bounds is not None and op.name in bounds:
                m = float(np.max(np.abs(xin)))
                if m > bounds[op.name]:
                    warnings.warn(f"{op.name}: activation input max |x| = {m:.3f} exceeds the calibrated "
                                  f"bound B = {bounds[op.name]:.3f}; the polynomial ReLU is only valid "
                                  f"inside [-B, B]", BoundWarning, stacklevel=2)
            if activations is not None:
                act = activations.get(op.name)
        env[op.dst] = apply_op(op, env, act)
    return env["logits"]


def predict(model: ResNet, x, activations=None, batch: int = 128, **kw) -> np.ndarray:
    g = model.graph()
    outs = [forward(model, x[i:i + batch], activations, graph=g, **kw) for i in range(0, len(x), batch)]
    return np.concatenate(outs)


def accuracy(model: ResNet, x, y, activations=None, **kw) -> float:
    return float(np.mean(np.argmax(predict(model, x, activations, **kw), axis=1) == np.asarray(y)))


def collect_preactivations(model: ResNet, x, batch: int = 128) -> dict[str, np.ndarray]:
    """``{relu name: flattened input values}`` over the images ``x``."""
    rec: dict[str, list] = {}
    g = model.graph()
    for i in range(0, len(x), batch):
        forward(model, x[i:i + batch], record=rec, graph=g)
    return {k: np.concatenate([a.ravel() for a in v]) for k, v in rec.items()}
