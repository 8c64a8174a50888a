"""The Orion peer of ``fhesim bench resnet``: environment, weight mapping and protocol.

Orion (PyPI ``orion-fhe``, Lattigo backend; Ebel et al., ASPLOS 2025) compiles PyTorch
networks to CKKS. It needs ``torch``, which fhesim's environment does not have, so it runs
in its own virtual environment (``build/peers/orion-venv`` in the source tree, or
``$FHESIM_ORION_VENV``) made with a Python 3.9-3.12 interpreter (``python3.11`` first). The
install keeps torch at the CPU build ``torch==2.13.0`` (with ``torchvision==0.28.0``, the
release made for it; without that pin pip would replace it with a CUDA torch).

The benchmark builds our ResNet's shape out of Orion's modules in the driver
(:mod:`orion_driver`, :func:`orion_driver.build_network`), maps our weights onto it here
(:func:`orion_state`: batch norm folded, option-A shortcuts as 0/1 strided 1x1
convolutions), writes them with the calibration and test images to a temporary ``.npz``
and sends the driver one JSON request on standard input; it reads one JSON answer.
Nothing is downloaded at run time.

This directory has no ``__init__.py`` on purpose (see :mod:`openfhe_peer`).

``python -m sim.benchmarks.peers.orion_peer`` builds the environment (``make bench-resnet``)
and exits 1 with a message naming what is missing when it cannot.
"""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np

from .common import (PeerUnavailable, build_env_main, create_venv, import_error, parse_answer,
                     pip_install, ratio, venv_python)

HERE = Path(__file__).resolve().parent
DRIVER = HERE / "orion_driver.py"
ROOT = HERE.parents[2]

#: What ``ensure_env`` installs: the CPU torch that lies on this machine's disk, the
#: torchvision built for it, and Orion.
PINS = ("torch==2.13.0", "torchvision==0.28.0")
PACKAGE = "orion-fhe>=1.0,<2"

#: Kill the driver when its resident memory passes this (GB); the machine has 24 GB.
DEFAULT_MAX_RSS_GB = 19.0


# --------------------------------------------------------------------------- environment


def venv_dir() -> Path:
    """Where the Orion environment lives: ``$FHESIM_ORION_VENV`` or ``build/peers/orion-venv``."""
    return Path(os.environ.get("FHESIM_ORION_VENV") or ROOT / "build" / "peers" / "orion-venv")


def _version_ok(python: str) -> bool:
    try:
        out = subprocess.run([python, "-c", "import sys; print((3, 9) <= sys.version_info[:2] <= (3, 12))"],
                             capture_output=True, text=True)
    except OSError:
        return False
    return out.stdout.strip() == "True"


def find_python() -> str | None:
    """An interpreter orion-fhe's wheels accept (3.9-3.12): ``python3.11``, ``python3.12``,
    ``python3.10``, ``python3.9`` on ``PATH``, then this interpreter; None if none fits."""
    for name in ("python3.11", "python3.12", "python3.10", "python3.9"):
        found = shutil.which(name)
        if found and _version_ok(found):
            return found
    return sys.executable if _version_ok(sys.executable) else None


def _check_import(python: Path) -> str | None:
    """None if the peer's packages import in ``python``, else the error text."""
    return import_error(python, "import torch, orion, orion.nn")


def ensure_env(build: bool = True, log=None) -> str:
    """Path of the Orion environment's interpreter, building the environment if allowed.

    Raises
    ------
    PeerUnavailable
        With "no Python 3.9-3.12 interpreter found", "python -m venv failed: ...",
        "pip install orion-fhe failed: ..." or "orion import failed: ...".
    """
    venv = venv_dir()
    python = venv_python(venv)
    if python.exists() and _check_import(python) is None:
        return str(python)
    if not build:
        raise PeerUnavailable(f"Orion peer environment {venv} missing (run make bench-resnet, or "
                              f"python -m sim.benchmarks.peers.orion_peer)")
    if not python.exists():
        base = find_python()
        if base is None:
            raise PeerUnavailable("no Python 3.9-3.12 interpreter found (orion-fhe's wheels need one; "
                                  "install python3.11)")
        create_venv(venv, base, "Orion", log)
    with tempfile.NamedTemporaryFile("w", suffix=".txt", delete=False) as f:
        f.write("\n".join(PINS) + "\n")
        constraints = f.name
    try:   # the pins also as constraints: nothing orion-fhe pulls in may replace CPU torch
        pip_install(python, [*PINS, PACKAGE, "-c", constraints], "orion-fhe")
    finally:
        os.unlink(constraints)
    err = _check_import(python)
    if err:
        raise PeerUnavailable(f"orion import failed: {err}")
    return str(python)


# --------------------------------------------------------------------------- weight mapping


def shortcut_a_weight(ci: int, co: int, pad: int) -> np.ndarray:
    """The 1x1 convolution weight ``(co, ci, 1, 1)`` equal to our option-A channel padding:
    input channel ``i`` goes to output channel ``pad + i``, the other outputs are zero."""
    if pad < 0 or pad + ci > co:
        raise ValueError(f"shortcut_a_weight: {ci} channels padded by {pad} do not fit in {co}")
    w = np.zeros((co, ci, 1, 1))
    w[pad + np.arange(ci), np.arange(ci), 0, 0] = 1.0
    return w


def orion_state(model) -> tuple[dict, dict]:
    """``(spec, state)`` of :func:`orion_driver.build_network` for our ResNet ``model``.

    Walks ``model.graph()`` (batch norm already folded into each convolution) in order:
    the stem convolution, then per block ``conv1``, ``conv2`` and the shortcut. ``state``
    maps the Orion network's parameter names to float64 arrays; ``spec`` gives its shape.
    """
    spec = dict(in_channels=model.geometry.channels, num_classes=model.num_classes, stages=[], shortcuts={})
    state: dict[str, np.ndarray] = {}
    channels: dict[str, int] = {"input": model.geometry.channels}
    for op in model.graph():
        if op.kind == "conv":
            channels[op.dst] = op.weight.shape[0]
        elif op.kind in ("relu", "add", "shortcut_a"):
            channels[op.dst] = op.shape[0]
        if op.kind == "conv" and op.name == "stem.conv":
            state["stem.weight"], state["stem.bias"] = op.weight, op.bias
            continue
        if op.kind == "fc":
            state["linear.weight"], state["linear.bias"] = op.weight, op.bias
            continue
        if op.kind not in ("conv", "shortcut_a"):
            continue
        layer, block, part = op.name.split(".")          # layerS.B.{conv1,conv2,shortcut}
        s, b = int(layer[len("layer"):]) - 1, int(block)
        while len(spec["stages"]) <= s:
            spec["stages"].append([0, 0])
        spec["stages"][s] = [op.shape[0], max(spec["stages"][s][1], b + 1)]
        prefix = f"layers.{s}.{b}"
        if part in ("conv1", "conv2"):
            state[f"{prefix}.{part}.weight"], state[f"{prefix}.{part}.bias"] = op.weight, op.bias
        elif op.kind == "shortcut_a":
            if op.stride != 2:
                raise ValueError(f"{op.name}: option-A shortcut of stride {op.stride}; the Orion peer maps stride 2")
            state[f"{prefix}.shortcut.weight"] = shortcut_a_weight(channels[op.src], op.shape[0], op.pad)
            spec["shortcuts"][prefix] = True
        else:
            raise ValueError(f"{op.name}: an option-B (convolution + batch norm) shortcut; the Orion "
                             "peer maps option A only")
    return spec, {k: np.asarray(v, np.float64) for k, v in state.items()}


def forward_state(spec: dict, state: dict, x: np.ndarray) -> np.ndarray:
    """NumPy forward (exact ReLU) of the network :func:`orion_driver.build_network` builds,
    with the parameters ``state``: the reference the mapping is tested against."""
    from sw.nn.plain import conv2d
    relu = lambda t: np.maximum(t, 0.0)  # noqa: E731
    out = relu(conv2d(np.asarray(x, np.float64), state["stem.weight"], state["stem.bias"], 1, 1))
    for s, (_, blocks) in enumerate(spec["stages"]):
        for b in range(blocks):
            p = f"layers.{s}.{b}"
            stride = 2 if (s > 0 and b == 0) else 1
            y = relu(conv2d(out, state[p + ".conv1.weight"], state[p + ".conv1.bias"], stride, 1))
            y = conv2d(y, state[p + ".conv2.weight"], state[p + ".conv2.bias"], 1, 1)
            sc = conv2d(out, state[p + ".shortcut.weight"], None, stride, 0) if spec["shortcuts"].get(p) else out
            out = relu(y + sc)
    return out.mean(axis=(2, 3)) @ state["linear.weight"].T + state["linear.bias"]


# --------------------------------------------------------------------------- Orion parameters


def orion_config(log_n: int, *, h: int = 192, margin: int = 2) -> dict:
    """Orion's configuration at ring degree ``2^log_n``: its published ResNet set (LogQ =
    55 + 10 x 40 bits, LogP = 3 x 61, scale 2^40, bootstrapping LogP = 8 x 61, hybrid
    embedding, margin 2) with the ring degree changed and ``h`` the secret's Hamming weight
    (192, the paper's; the published file's 16384 exceeds N at 2^12). Debug output off:
    Orion's debug mode decrypts every layer's input and output to print their ranges."""
    return dict(
        ckks_params=dict(LogN=int(log_n), LogQ=[55] + [40] * 10, LogP=[61, 61, 61], LogScale=40, H=int(h),
                         RingType="standard"),
        boot_params=dict(LogP=[61] * 8),
        orion=dict(margin=int(margin), embedding_method="hybrid", backend="lattigo", fuse_modules=True,
                   debug=False, io_mode="none"))


# --------------------------------------------------------------------------- running the driver


def _rss_bytes(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


def run_driver(request: dict, python: str, driver: Path | str = DRIVER, threads: int | None = 1,
               max_rss_gb: float | None = DEFAULT_MAX_RSS_GB, timeout_s: float | None = None) -> dict:
    """Run the driver on one request and return its answer.

    ``threads``: ``GOMAXPROCS`` (Lattigo's Go threads), ``OMP_NUM_THREADS`` and the
    request's torch threads. ``max_rss_gb``: the driver is killed when its resident memory
    passes this (polled every 0.5 s); ``timeout_s``: killed after this many seconds.

    Raises
    ------
    PeerUnavailable
        When the driver is killed, fails, prints no JSON, or answers ``ok: false``.
    """
    env = dict(os.environ)
    if threads:
        request = dict(request, threads=int(threads))
        env.update(GOMAXPROCS=str(threads), OMP_NUM_THREADS=str(threads), MKL_NUM_THREADS=str(threads))
    env.pop("PYTHONPATH", None)   # the peer interpreter must not see fhesim's packages
    proc = subprocess.Popen([python, str(driver)], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env=env)
    killed: list[str] = []
    peak = [0]

    def watch():
        t0 = time.time()
        while proc.poll() is None:
            rss = _rss_bytes(proc.pid)
            peak[0] = max(peak[0], rss)
            if max_rss_gb and rss > max_rss_gb * 1e9:
                killed.append(f"resident memory {rss / 1e9:.1f} GB passed the {max_rss_gb:g} GB limit "
                              f"after {time.time() - t0:.0f} s")
                proc.kill()
                return
            if timeout_s and time.time() - t0 > timeout_s:
                killed.append(f"still running after {timeout_s:g} s")
                proc.kill()
                return
            time.sleep(0.5)

    watcher = threading.Thread(target=watch, daemon=True)
    watcher.start()
    stdout, stderr = proc.communicate(json.dumps(request))
    watcher.join()
    if killed:
        raise PeerUnavailable(f"Orion driver stopped: {killed[0]}")
    res = parse_answer("Orion", stdout, stderr, proc.returncode)
    res["polled_peak_rss_bytes"] = peak[0]
    return res


def write_arrays(path, state: dict, calib: np.ndarray, test: np.ndarray) -> None:
    """The request's ``.npz``: parameters (float32, as torch loads them), calibration and test images."""
    np.savez(path, calib=np.asarray(calib, np.float32), test=np.asarray(test, np.float32),
             **{k: np.asarray(v, np.float32) for k, v in state.items()})


def run_orion(model, calib: np.ndarray, test: np.ndarray, *, log_n: int, task: str = "resnet",
              python: str | None = None, build: bool = True, threads: int = 1,
              max_rss_gb: float | None = DEFAULT_MAX_RSS_GB, driver: Path | str = DRIVER,
              log=None) -> dict:
    """Our ResNet ``model`` in Orion: one encrypted inference of ``test`` (``task="resnet"``)
    or its cleartext logits (``task="plain"``). Returns the driver's answer (see
    :mod:`orion_driver`) with ``request`` (the request without the arrays) added."""
    python = python or ensure_env(build=build, log=log)
    spec, state = orion_state(model)
    with tempfile.TemporaryDirectory(prefix="fhesim-orion-") as tmp:
        arrays = os.path.join(tmp, "arrays.npz")
        write_arrays(arrays, state, calib, test)
        req = dict(task=task, arrays=arrays, spec=spec, config=orion_config(log_n))
        ans = run_driver(req, python, driver=driver, threads=threads, max_rss_gb=max_rss_gb)
    ans["request"] = {k: v for k, v in req.items() if k != "arrays"}
    return ans


def main(argv=None) -> int:
    """Build the Orion peer environment; exit 1 with the missing piece named."""
    return build_env_main("Orion", ensure_env)


if __name__ == "__main__":
    sys.exit(main())
