"""ResNet models, committed weights, plaintext reference, input checks, PyTorch loader."""
from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import pytest

from sw.nn.data import InputError, check_images, load_digits_split, to_geometry
from sw.nn.models import DEPTHS, ResNet, load_model, load_torch_checkpoint, weights_path
from sw.nn.plain import accuracy, conv2d, forward

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.parametrize("name", list(DEPTHS))
def test_graph_structure(name):
    m = ResNet(name, "digits8")
    g = m.graph()
    kinds = [op.kind for op in g]
    n = (DEPTHS[name] - 2) // 6
    assert kinds.count("relu") == DEPTHS[name] - 1 == 6 * n + 1
    assert kinds.count("conv") == 6 * n + 1
    assert kinds.count("shortcut_a") == 2 and kinds.count("add") == 3 * n
    assert g[-1].kind == "fc" and g[-1].shape == (10,)
    shapes = {op.dst: op.shape for op in g}
    assert shapes[f"layer3.{n - 1}.out"] == (64, 2, 2) and shapes["stem.out"] == (16, 8, 8)
    x = np.random.default_rng(0).uniform(0, 1, (2, 1, 8, 8))
    assert forward(m, x).shape == (2, 10)


def test_conv_reference_matches_direct_sum():
    rng = np.random.default_rng(1)
    x, w, b = rng.standard_normal((1, 3, 6, 6)), rng.standard_normal((4, 3, 3, 3)), rng.standard_normal(4)
    y = conv2d(x, w, b, 2, 1)
    xp = np.pad(x, ((0, 0), (0, 0), (1, 1), (1, 1)))
    ref = np.array([[[np.sum(xp[0, :, 2 * i:2 * i + 3, 2 * j:2 * j + 3] * w[o]) + b[o] for j in range(3)]
                     for i in range(3)] for o in range(4)])
    assert np.allclose(y[0], ref)


@pytest.mark.parametrize("geometry", ["digits8", "cifar32"])
@pytest.mark.parametrize("name", list(DEPTHS))
def test_committed_weights(name, geometry):
    p = weights_path(name, geometry)
    assert p.exists(), f"missing committed weights {p}"
    assert p.stat().st_size < 8 * 2 ** 20
    m = load_model(name, geometry)
    assert m.meta["test_accuracy"] >= 0.9, m.meta
    assert m.meta["test_images"] == 360


def test_resnet20_accuracy_is_reproduced_by_numpy():
    _, _, xte, yte = load_digits_split("digits8")
    m = load_model("resnet20", "digits8")
    assert accuracy(m, xte, yte) == pytest.approx(m.meta["test_accuracy"], abs=1e-9)
    assert m.meta["test_accuracy"] >= 0.97


def test_geometries_and_input_checks():
    x8 = np.random.default_rng(0).uniform(0, 1, (2, 8, 8)).astype(np.float32)
    x32 = to_geometry(x8, "cifar32")
    assert x32.shape == (2, 3, 32, 32) and np.all(x32[:, 2, :4, :4] == x8[:, 0, 0][:, None, None])
    assert check_images(x32[0], "cifar32").shape == (1, 3, 32, 32)
    with pytest.raises(InputError, match=r"expected shape \(B, 1, 8, 8\)"):
        check_images(np.zeros((1, 3, 8, 8)), "digits8")
    with pytest.raises(InputError, match=r"values must lie in \[0, 1\]"):
        check_images(np.full((1, 1, 8, 8), 16.0), "digits8")
    with pytest.raises(InputError, match="non-finite"):
        check_images(np.full((1, 1, 8, 8), np.nan), "digits8")


def test_torch_checkpoint_loader(tmp_path):
    torch = pytest.importorskip("torch")
    spec = importlib.util.spec_from_file_location("train_resnet", ROOT / "tools" / "train_resnet.py")
    tr = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(tr)
    torch.manual_seed(0)
    net = tr.build_torch(20, 3)
    with torch.no_grad():   # non-trivial batch-norm statistics
        for mod in net.modules():
            if isinstance(mod, torch.nn.BatchNorm2d):
                mod.running_mean.uniform_(-0.2, 0.2)
                mod.running_var.uniform_(0.5, 1.5)
                mod.weight.uniform_(0.5, 1.5)
                mod.bias.uniform_(-0.2, 0.2)
    net.eval()
    sd = {"module." + k: v for k, v in net.state_dict().items()}   # DataParallel-style
    path = tmp_path / "resnet20.th"
    torch.save({"state_dict": sd, "best_prec1": 91.0}, path)
    m = load_torch_checkpoint(path, "resnet20", "cifar32")
    x = np.random.default_rng(2).uniform(0, 1, (2, 3, 32, 32)).astype(np.float32)
    with torch.no_grad():
        ref = net(torch.from_numpy(x)).numpy()
    assert np.allclose(forward(m, x), ref, atol=1e-4)
