#!/usr/bin/env python3
"""Train the CIFAR-style ResNets of :mod:`sw.nn.models` on the scikit-learn digits.

Needs PyTorch (the optional ``train`` extra: ``pip install 'fhesim[train]'``, CPU wheel).
Writes ``sw/nn/weights/<model>_<geometry>.npz`` (float32 state dict in the naming of the
public CIFAR-10 checkpoints, plus metadata: the plaintext test accuracy measured by the
NumPy reference :mod:`sw.nn.plain`, epochs, seed).

    python tools/train_resnet.py --model resnet20 --geometry digits8 [--epochs 30]
    python tools/train_resnet.py --all

Keep it niced on shared machines (``nice -n 10``); it uses one thread by default.
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sw.nn.data import load_digits_split  # noqa: E402
from sw.nn.models import DEPTHS, STAGE_CHANNELS, ResNet, weights_path  # noqa: E402
from sw.nn.plain import accuracy  # noqa: E402

DEFAULT_EPOCHS = {"digits8": 30, "cifar32": 4}


def build_torch(depth: int, in_ch: int, num_classes: int = 10):
    import torch.nn as nn
    import torch.nn.functional as F

    class Block(nn.Module):
        def __init__(self, cin, c, stride):
            super().__init__()
            self.conv1 = nn.Conv2d(cin, c, 3, stride, 1, bias=False)
            self.bn1 = nn.BatchNorm2d(c)
            self.conv2 = nn.Conv2d(c, c, 3, 1, 1, bias=False)
            self.bn2 = nn.BatchNorm2d(c)
            self.pad = (c - cin) // 2 if (stride != 1 or cin != c) else None
            self.stride = stride

        def forward(self, x):
            out = F.relu(self.bn1(self.conv1(x)))
            out = self.bn2(self.conv2(out))
            sc = x
            if self.pad is not None:   # option A: subsample and zero-pad channels
                sc = F.pad(x[:, :, ::self.stride, ::self.stride], (0, 0, 0, 0, self.pad, self.pad))
            return F.relu(out + sc)

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            n = (depth - 2) // 6
            self.conv1 = nn.Conv2d(in_ch, 16, 3, 1, 1, bias=False)
            self.bn1 = nn.BatchNorm2d(16)
            cin = 16
            for s, c in enumerate(STAGE_CHANNELS):
                blocks = []
                for b in range(n):
                    blocks.append(Block(cin, c, 2 if (s > 0 and b == 0) else 1))
                    cin = c
                setattr(self, f"layer{s + 1}", nn.Sequential(*blocks))
            self.linear = nn.Linear(64, num_classes)

        def forward(self, x):
            x = F.relu(self.bn1(self.conv1(x)))
            x = self.layer3(self.layer2(self.layer1(x)))
            return self.linear(x.mean(dim=(2, 3)))

    return Net()


def train(model_name: str, geometry: str, epochs: int | None = None, seed: int = 0,
          threads: int = 1, lr: float = 3e-3, batch: int = 64, out: Path | None = None) -> dict:
    import torch
    import torch.nn.functional as F
    torch.set_num_threads(threads)
    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    epochs = epochs or DEFAULT_EPOCHS[geometry]
    xtr, ytr, xte, yte = load_digits_split(geometry)
    net = build_torch(DEPTHS[model_name], xtr.shape[1])
    opt = torch.optim.AdamW(net.parameters(), lr=lr, weight_decay=5e-4)
    steps = epochs * ((len(xtr) + batch - 1) // batch)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=lr, total_steps=steps)
    xt, yt = torch.from_numpy(xtr), torch.from_numpy(ytr)
    scale = xtr.shape[-1] // 8
    t0 = time.time()
    for ep in range(epochs):
        net.train()
        perm = rng.permutation(len(xtr))
        tot = 0.0
        for i in range(0, len(perm), batch):
            idx = perm[i:i + batch]
            xb = xt[idx]
            # augmentation: random shift by up to one digit pixel (zero fill)
            dy, dx = (int(v) * scale for v in rng.integers(-1, 2, size=2))
            xb = torch.roll(xb, shifts=(dy, dx), dims=(2, 3))
            if dy > 0:
                xb[:, :, :dy] = 0
            elif dy < 0:
                xb[:, :, dy:] = 0
            if dx > 0:
                xb[:, :, :, :dx] = 0
            elif dx < 0:
                xb[:, :, :, dx:] = 0
            loss = F.cross_entropy(net(xb), yt[idx])
            opt.zero_grad()
            loss.backward()
            opt.step()
            sched.step()
            tot += loss.item() * len(idx)
        print(f"{model_name}/{geometry} epoch {ep + 1}/{epochs} loss {tot / len(xtr):.4f} "
              f"({time.time() - t0:.0f} s)", flush=True)
    net.eval()
    state = {k: v.detach().numpy().astype(np.float32) for k, v in net.state_dict().items()
             if not k.endswith("num_batches_tracked")}
    with torch.no_grad():
        torch_acc = float((net(torch.from_numpy(xte)).argmax(1).numpy() == yte).mean())
    meta = dict(epochs=epochs, seed=seed, lr=lr, batch=batch, train_seconds=round(time.time() - t0, 1),
                torch_test_accuracy=torch_acc, test_images=int(len(yte)))
    model = ResNet(model_name, geometry, state, meta)
    path = out or weights_path(model_name, geometry)
    finalize(model, path, xte, yte)
    print(f"{model_name}/{geometry}: test accuracy {model.meta['test_accuracy']:.4f} "
          f"(torch {torch_acc:.4f}) -> {path}", flush=True)
    return model.meta


def finalize(model: ResNet, path: Path, xte=None, yte=None) -> None:
    """Store float16 weights; the recorded accuracy is that of the stored (rounded) weights."""
    if xte is None:
        _, _, xte, yte = load_digits_split(model.geometry.name)
    model.state = {k: np.asarray(v, np.float16).astype(np.float32) for k, v in model.state.items()}
    model.meta["test_accuracy"] = accuracy(model, xte, yte)
    model.meta["test_images"] = int(len(yte))
    model.meta["weights_dtype"] = "float16"
    model.save(path, dtype=np.float16)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", choices=list(DEPTHS), default="resnet20")
    ap.add_argument("--geometry", choices=["digits8", "cifar32"], default="digits8")
    ap.add_argument("--all", action="store_true", help="every model and geometry")
    ap.add_argument("--epochs", type=int)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--finalize", action="store_true",
                    help="re-store existing weights as float16 and re-measure their test accuracy")
    a = ap.parse_args(argv)
    if a.finalize:
        from sw.nn.models import load_model
        for m, g in [(m, g) for g in ("digits8", "cifar32") for m in DEPTHS]:
            if weights_path(m, g).exists():
                model = load_model(m, g)
                finalize(model, weights_path(m, g))
                print(f"{m}/{g}: float16, test accuracy {model.meta['test_accuracy']:.4f}")
        return 0
    jobs = ([(m, g) for g in ("digits8", "cifar32") for m in DEPTHS] if a.all else [(a.model, a.geometry)])
    for m, g in jobs:
        train(m, g, a.epochs, a.seed, a.threads)
    return 0


if __name__ == "__main__":
    sys.exit(main())
