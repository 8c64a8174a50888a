"""CIFAR-style ResNets (He et al., 2016, Sec. 4.2) as a small layer graph.

ResNet-(6n+2), n = 3, 5, 7, 9, 18 -> ResNet-20, 32, 44, 56, 110: a 3x3 stem convolution
with 16 channels, three stages of n basic blocks (16, 32, 64 channels; the first block of
stages 2 and 3 has stride 2), global average pooling and a fully connected layer.
Every convolution is followed by batch norm; a basic block is
``relu(bn2(conv2(relu(bn1(conv1(x))))) + shortcut(x))``. Shortcuts are identities, and
the downsampling shortcut is "option A": ``x[:, :, ::2, ::2]`` zero-padded with
``planes // 4`` channels on each side (as in the common public CIFAR-10 checkpoints,
e.g. ``akamaster/pytorch_resnet_cifar10``); "option B" (1x1 convolution + batch norm,
``shortcut.0`` / ``shortcut.1`` or ``downsample.0`` / ``downsample.1``) is accepted too.

Weights are a flat dict in the PyTorch state-dict naming of those checkpoints
(``conv1.weight``, ``bn1.running_mean``, ``layer2.0.conv1.weight``, ..., ``linear.weight``),
stored as ``.npz`` files in :mod:`sw.nn.weights` with a JSON metadata entry.

:meth:`ResNet.graph` lowers a model to a list of :class:`Op` (batch norm folded into the
preceding convolution); both the NumPy references (:mod:`sw.nn.plain`) and the encrypted
evaluation (:mod:`sw.nn.encrypted`) walk that same list.
"""
from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from .data import get_geometry

__all__ = ["DEPTHS", "MODEL_NAMES", "Op", "ResNet", "load_model", "weights_path",
           "load_torch_checkpoint", "BN_EPS"]

DEPTHS = {"resnet20": 20, "resnet32": 32, "resnet44": 44, "resnet56": 56, "resnet110": 110}
MODEL_NAMES = tuple(DEPTHS)
STAGE_CHANNELS = (16, 32, 64)
BN_EPS = 1e-5
WEIGHTS_DIR = Path(__file__).resolve().parent / "weights"


@dataclass
class Op:
    """One node of the lowered graph.

    kind: ``conv`` (weight ``(Co, Ci, k, k)``, bias ``(Co,)``, stride, pad = k // 2),
    ``relu``, ``add`` (``src`` + ``src2``), ``shortcut_a`` (subsample by 2, pad ``pad``
    channels on each side), ``avgpool`` (global), ``fc`` (weight ``(10, C)``, bias).
    ``src``/``dst`` name tensors; ``shape`` is the output shape ``(C, H, W)`` or ``(K,)``.
    """

    kind: str
    name: str
    src: str
    dst: str
    shape: tuple
    src2: str | None = None
    weight: np.ndarray | None = None
    bias: np.ndarray | None = None
    stride: int = 1
    pad: int = 0
    meta: dict = field(default_factory=dict)


def _fold_bn(w: np.ndarray, sd: dict, prefix: str) -> tuple[np.ndarray, np.ndarray]:
    g = sd[prefix + ".weight"].astype(np.float64)
    b = sd[prefix + ".bias"].astype(np.float64)
    m = sd[prefix + ".running_mean"].astype(np.float64)
    v = sd[prefix + ".running_var"].astype(np.float64)
    s = g / np.sqrt(v + BN_EPS)
    return w.astype(np.float64) * s[:, None, None, None], b - m * s


class ResNet:
    """A CIFAR ResNet of a given depth and input geometry, with its weights.

    Parameters
    ----------
    name : str        ``resnet20`` ... ``resnet110``
    geometry : str    ``digits8`` or ``cifar32``
    state : dict      state dict (see module docstring); None -> random init (He)
    meta : dict       metadata (test accuracy, training settings, activation bounds)
    """

    def __init__(self, name: str, geometry: str, state: dict | None = None,
                 meta: dict | None = None, num_classes: int = 10, seed: int = 0):
        if name not in DEPTHS:
            raise KeyError(f"unknown model {name!r}; known: {list(MODEL_NAMES)}")
        self.name = name
        self.depth = DEPTHS[name]
        self.n_blocks = (self.depth - 2) // 6
        self.geometry = get_geometry(geometry)
        self.num_classes = num_classes
        self.meta = dict(meta or {})
        self.state = {k: np.asarray(v) for k, v in (state or self.random_state(seed)).items()}
        self._check_state()

    # -- parameters -----------------------------------------------------------------------
    def param_shapes(self) -> dict[str, tuple]:
        shapes: dict[str, tuple] = {}

        def conv_bn(cname: str, bname: str, co: int, ci: int, k: int = 3) -> None:
            shapes[cname + ".weight"] = (co, ci, k, k)
            for s in ("weight", "bias", "running_mean", "running_var"):
                shapes[f"{bname}.{s}"] = (co,)

        conv_bn("conv1", "bn1", 16, self.geometry.channels)
        cin = 16
        for s, c in enumerate(STAGE_CHANNELS):
            for b in range(self.n_blocks):
                p = f"layer{s + 1}.{b}"
                conv_bn(p + ".conv1", p + ".bn1", c, cin)
                conv_bn(p + ".conv2", p + ".bn2", c, c)
                cin = c
        shapes["linear.weight"] = (self.num_classes, 64)
        shapes["linear.bias"] = (self.num_classes,)
        return shapes

    def random_state(self, seed: int = 0) -> dict:
        """He-initialised convolutions, identity batch norm (for tests without weights)."""
        rng = np.random.default_rng(seed)
        st = {}
        for k, shp in self.param_shapes().items():
            if len(shp) == 4:
                st[k] = rng.standard_normal(shp) * np.sqrt(2.0 / np.prod(shp[1:]))
            elif k == "linear.weight":
                st[k] = rng.standard_normal(shp) / np.sqrt(shp[1])
            elif k.endswith("running_var") or (k.endswith(".weight") and "bn" in k):
                st[k] = np.ones(shp)
            else:
                st[k] = np.zeros(shp)
        return {k: np.asarray(v, np.float32) for k, v in st.items()}

    def _check_state(self) -> None:
        shapes = self.param_shapes()
        missing = [k for k in shapes if k not in self.state]
        if missing:
            raise KeyError(f"{self.name}/{self.geometry.name}: missing weights {missing[:5]}"
                           f"{' ...' if len(missing) > 5 else ''}")
        for k, shp in shapes.items():
            if tuple(self.state[k].shape) != tuple(shp):
                raise ValueError(f"{self.name}/{self.geometry.name}: weight {k} has shape "
                                 f"{tuple(self.state[k].shape)}, expected {shp}")

    def _shortcut_b(self, p: str) -> str | None:
        for key in ("shortcut", "downsample"):
            if f"{p}.{key}.0.weight" in self.state:
                return f"{p}.{key}"
        return None

    # -- graph ----------------------------------------------------------------------------
    def graph(self) -> list[Op]:
        """The lowered layer list (batch norm folded into convolutions)."""
        sd = self.state
        ops: list[Op] = []
        g = self.geometry
        hw = g.size
        w, b = _fold_bn(sd["conv1.weight"], sd, "bn1")
        ops.append(Op("conv", "stem.conv", "input", "stem.pre", (16, hw, hw), weight=w, bias=b, stride=1, pad=1))
        ops.append(Op("relu", "stem.relu", "stem.pre", "stem.out", (16, hw, hw)))
        x = "stem.out"
        cin = 16
        for s, c in enumerate(STAGE_CHANNELS):
            for bi in range(self.n_blocks):
                p = f"layer{s + 1}.{bi}"
                stride = 2 if (s > 0 and bi == 0) else 1
                if stride == 2:
                    hw //= 2
                w1, b1 = _fold_bn(sd[p + ".conv1.weight"], sd, p + ".bn1")
                ops.append(Op("conv", p + ".conv1", x, p + ".pre1", (c, hw, hw), weight=w1, bias=b1,
                              stride=stride, pad=1))
                ops.append(Op("relu", p + ".relu1", p + ".pre1", p + ".act1", (c, hw, hw)))
                w2, b2 = _fold_bn(sd[p + ".conv2.weight"], sd, p + ".bn2")
                ops.append(Op("conv", p + ".conv2", p + ".act1", p + ".res", (c, hw, hw), weight=w2, bias=b2,
                              stride=1, pad=1))
                sc = x
                if stride == 2 or cin != c:
                    pb = self._shortcut_b(p)
                    if pb is not None:
                        ws, bs = _fold_bn(sd[pb + ".0.weight"], sd, pb + ".1")
                        ops.append(Op("conv", p + ".shortcut", x, p + ".sc", (c, hw, hw), weight=ws, bias=bs,
                                      stride=stride, pad=0))
                    else:
                        ops.append(Op("shortcut_a", p + ".shortcut", x, p + ".sc", (c, hw, hw),
                                      stride=stride, pad=(c - cin) // 2))
                    sc = p + ".sc"
                ops.append(Op("add", p + ".add", p + ".res", p + ".pre2", (c, hw, hw), src2=sc))
                ops.append(Op("relu", p + ".relu2", p + ".pre2", p + ".out", (c, hw, hw)))
                x = p + ".out"
                cin = c
        ops.append(Op("avgpool", "avgpool", x, "pooled", (64,)))
        ops.append(Op("fc", "fc", "pooled", "logits", (self.num_classes,),
                      weight=sd["linear.weight"].astype(np.float64), bias=sd["linear.bias"].astype(np.float64)))
        return ops

    def relu_names(self) -> list[str]:
        return [op.name for op in self.graph() if op.kind == "relu"]

    # -- io -------------------------------------------------------------------------------
    def save(self, path: str | os.PathLike, dtype=np.float32) -> None:
        arrays = {k: np.asarray(v, dtype=dtype) for k, v in self.state.items()}
        meta = dict(self.meta, model=self.name, geometry=self.geometry.name)
        np.savez_compressed(path, __meta__=np.array(json.dumps(meta)), **arrays)

    def __repr__(self) -> str:
        acc = self.meta.get("test_accuracy")
        return (f"ResNet({self.name}, {self.geometry.name}, {len(self.relu_names())} ReLUs"
                f"{'' if acc is None else f', test acc {acc:.4f}'})")


def weights_path(name: str, geometry: str) -> Path:
    return WEIGHTS_DIR / f"{name}_{geometry}.npz"


def load_model(name: str, geometry: str, path: str | os.PathLike | None = None) -> ResNet:
    """The committed trained model (``sw/nn/weights/<name>_<geometry>.npz``) or ``path``."""
    p = Path(path) if path is not None else weights_path(name, geometry)
    if not p.exists():
        raise FileNotFoundError(f"no weights for {name}/{geometry} at {p}; train them with "
                                f"tools/train_resnet.py --model {name} --geometry {geometry}")
    with np.load(p, allow_pickle=False) as z:
        state = {k: z[k].astype(np.float32) for k in z.files if k != "__meta__"}
        meta = json.loads(str(z["__meta__"])) if "__meta__" in z.files else {}
    return ResNet(name, geometry, state, meta)


def load_torch_checkpoint(path: str | os.PathLike, name: str, geometry: str = "cifar32",
                          num_classes: int = 10) -> ResNet:
    """A ResNet from a PyTorch CIFAR-10 checkpoint (needs ``torch``: the ``train`` extra).

    Accepts a plain state dict or ``{"state_dict": ...}`` / ``{"model": ...}``, with or
    without the ``module.`` prefix of ``DataParallel``; final layer ``linear.*`` or ``fc.*``;
    shortcuts option A (no parameters) or B (``shortcut.*`` / ``downsample.*``).
    Note: CIFAR-10 checkpoints expect CIFAR-normalised inputs; the caller normalises.
    """
    try:
        import torch
    except ImportError as e:  # pragma: no cover - depends on the optional extra
        raise ImportError("load_torch_checkpoint needs PyTorch: pip install 'fhesim[train]'") from e
    obj = torch.load(str(path), map_location="cpu", weights_only=True)
    if isinstance(obj, dict):
        for key in ("state_dict", "model", "net"):
            if key in obj and isinstance(obj[key], dict):
                obj = obj[key]
                break
    state: dict[str, Any] = {}
    for k, v in obj.items():
        if not hasattr(v, "numpy"):
            continue
        k = k[len("module."):] if k.startswith("module.") else k
        if k.startswith("fc."):
            k = "linear." + k[3:]
        if k.endswith("num_batches_tracked"):
            continue
        state[k] = v.detach().cpu().numpy().astype(np.float32)
    return ResNet(name, geometry, state, {"source": str(path)}, num_classes=num_classes)
