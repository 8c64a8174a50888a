"""Orion peer driver for ``fhesim bench resnet --orion``.

Runs in the Orion peer environment (Python 3.11 with ``orion-fhe``, a CPU ``torch`` and
Lattigo's Go library inside the wheel), in a subprocess of the benchmark. It imports only
:mod:`orion`, :mod:`torch`, :mod:`numpy` and the standard library -- never fhesim, whose
packages the peer interpreter does not see.

Protocol: one JSON object on standard input (or the path of a JSON file as the first
argument) with the keys

* ``task`` -- ``"resnet"`` (fit, compile, key generation, one encrypted inference) or
  ``"plain"`` (Orion's cleartext forward only: checks the weights, no FHE, no scheme);
* ``arrays`` -- path of an ``.npz`` the parent wrote: the network's parameters under the
  names of :func:`build_network` (see ``sim.benchmarks.peers.orion_peer.orion_state``),
  ``calib`` (calibration images ``(B, C, S, S)`` for Orion's fit) and ``test`` (the
  images to run, ``(1, C, S, S)`` for ``resnet``);
* ``spec`` -- ``{"in_channels", "stages": [[channels, blocks], ...], "num_classes",
  "shortcuts": {"layersS.B": true}}``: the network shape (our ResNet's);
* ``config`` -- Orion's configuration dict (``ckks_params``, ``boot_params``, ``orion``),
  passed to ``orion.init_scheme`` as it is;
* ``threads`` -- torch threads (Lattigo's Go threads are ``GOMAXPROCS``, set by the parent).

One JSON object is written to standard output: ``{"ok": true, ...}`` (see
:func:`run_resnet`) or ``{"ok": false, "error": "..."}``. Orion's own progress text goes
to standard output before it; the parent reads the last line that starts with ``{``.
"""
from __future__ import annotations

import json
import resource
import sys
import time


def _peak_rss_bytes() -> int:
    """Peak resident set size of this process (Python, torch and Lattigo's Go heap)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def build_network(on, nn, spec: dict):
    """Our ResNet's shape out of Orion's modules (``on`` = :mod:`orion.nn`, ``nn`` = :mod:`torch.nn`).

    Batch norm is folded into the convolutions by the parent, so every 3x3 convolution
    has a bias and there is no BatchNorm2d. The "option A" downsampling shortcut (take
    every second pixel, pad the channels with zeros on both sides) is a 1x1 convolution of
    stride 2 without bias whose weights are 0/1 (:func:`..orion_peer.shortcut_a_weight`):
    the same map; Orion has no strided-slice or channel-padding module. Parameter names:
    ``stem.*``, ``layers.S.B.conv1.*``, ``layers.S.B.conv2.*``, ``layers.S.B.shortcut.weight``,
    ``linear.*``.

    Tests build it with stand-ins for ``on`` (plain torch modules) to check the mapping.
    """

    class Block(on.Module):
        def __init__(self, ci, co, stride, shortcut):
            super().__init__()
            self.conv1 = on.Conv2d(ci, co, kernel_size=3, stride=stride, padding=1, bias=True)
            self.act1 = on.ReLU()
            self.conv2 = on.Conv2d(co, co, kernel_size=3, stride=1, padding=1, bias=True)
            self.add = on.Add()
            self.act2 = on.ReLU()
            self.shortcut = (on.Conv2d(ci, co, kernel_size=1, stride=stride, padding=0, bias=False)
                             if shortcut else nn.Sequential())

        def forward(self, x):
            out = self.conv2(self.act1(self.conv1(x)))
            return self.act2(self.add(out, self.shortcut(x)))

    class Net(on.Module):
        def __init__(self):
            super().__init__()
            first = spec["stages"][0][0]
            self.stem = on.Conv2d(spec["in_channels"], first, kernel_size=3, stride=1, padding=1, bias=True)
            self.act = on.ReLU()
            stages, ci = [], first
            for s, (co, blocks) in enumerate(spec["stages"]):
                seq = []
                for b in range(blocks):
                    stride = 2 if (s > 0 and b == 0) else 1
                    seq.append(Block(ci, co, stride, bool(spec["shortcuts"].get(f"layers.{s}.{b}"))))
                    ci = co
                stages.append(nn.Sequential(*seq))
            self.layers = nn.ModuleList(stages)
            self.avgpool = on.AdaptiveAvgPool2d(output_size=(1, 1))
            self.flatten = on.Flatten()
            self.linear = on.Linear(ci, spec["num_classes"])

        def forward(self, x):
            out = self.act(self.stem(x))
            for layer in self.layers:
                out = layer(out)
            return self.linear(self.flatten(self.avgpool(out)))

    return Net()


def _load(req):
    import numpy as np
    import torch
    import torch.nn as nn
    import orion.nn as on
    z = np.load(req["arrays"], allow_pickle=False)
    net = build_network(on, nn, req["spec"])
    state = {k: torch.tensor(z[k], dtype=torch.float32) for k in z.files if k not in ("calib", "test")}
    # Orion's pooling is a convolution whose weight it sets itself at compile time
    missing, unexpected = net.load_state_dict(state, strict=False)
    missing = [k for k in missing if not k.startswith("avgpool.")]
    if missing or unexpected:
        raise KeyError(f"weights do not match the network: missing {missing[:4]}, unexpected {unexpected[:4]}")
    return net, z


def run_plain(req):
    """Orion's cleartext forward (exact ReLU) of the ``test`` images."""
    import torch
    net, z = _load(req)
    net.eval()
    with torch.no_grad():
        out = net(torch.tensor(z["test"], dtype=torch.float32))
    return dict(ok=True, task="plain", logits=out.double().numpy().tolist())


class _Clock:
    """Seconds spent inside wrapped callables (key generation hidden in compile)."""

    def __init__(self):
        self.seconds, self.calls = {}, {}

    def wrap(self, obj, name, key):
        fn = getattr(obj, name)

        def timed(*a, **k):
            t0 = time.perf_counter()
            try:
                return fn(*a, **k)
            finally:
                self.seconds[key] = self.seconds.get(key, 0.0) + time.perf_counter() - t0
                self.calls[key] = self.calls.get(key, 0) + 1
        setattr(obj, name, timed)


def run_resnet(req):
    """Fit, compile (keys included) and one encrypted inference; times, bootstraps, errors."""
    import numpy as np
    import torch
    from torch.utils.data import DataLoader, TensorDataset
    import orion
    import orion.core.orion as orion_core

    threads = int(req.get("threads") or 1)
    torch.set_num_threads(threads)
    torch.manual_seed(0)
    net, z = _load(req)
    calib = torch.tensor(z["calib"], dtype=torch.float32)
    test = torch.tensor(z["test"], dtype=torch.float32)
    clock = _Clock()

    t0 = time.perf_counter()
    scheme = orion.init_scheme(req["config"])       # secret, public, relinearisation keys
    init_s = time.perf_counter() - t0

    # the bootstrap placement's result (compile returns only the input level)
    placed = {}
    solver_cls = orion_core.BootstrapSolver

    class CountingSolver(solver_cls):
        def solve(self):
            out = super().solve()
            placed.update(input_level=out[0], bootstraps=out[1], slots=[int(s) for s in out[2]])
            return out
    orion_core.BootstrapSolver = CountingSolver
    clock.wrap(scheme.backend, "GenerateLinearTransformRotationKey", "rotation_keys")
    clock.wrap(scheme.bootstrapper, "generate_bootstrapper", "bootstrap_keys")
    clock.wrap(scheme.bootstrapper, "bootstrap", "bootstrap")

    net.eval()
    with torch.no_grad():
        clear = net(test).double().numpy()
    loader = DataLoader(TensorDataset(calib, torch.zeros(len(calib), dtype=torch.long)),
                        batch_size=1, shuffle=False)
    t0 = time.perf_counter()
    orion.fit(net, loader)
    fit_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    input_level = orion.compile(net)
    compile_s = time.perf_counter() - t0
    orion_core.BootstrapSolver = solver_cls
    rss_compiled = _peak_rss_bytes()

    t0 = time.perf_counter()
    ct = orion.encrypt(orion.encode(test, input_level))
    encrypt_s = time.perf_counter() - t0
    net.he()
    boots_before = clock.calls.get("bootstrap", 0)
    boot_s_before = clock.seconds.get("bootstrap", 0.0)
    t0 = time.perf_counter()
    out_ct = net(ct)
    infer_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    fhe = np.asarray(out_ct.decrypt().decode(), dtype=np.float64).reshape(clear.shape)
    decrypt_s = time.perf_counter() - t0

    p = scheme.params
    keys_in_compile = clock.seconds.get("rotation_keys", 0.0) + clock.seconds.get("bootstrap_keys", 0.0)
    err = float(np.max(np.abs(fhe - clear)))
    return dict(
        ok=True, task="resnet", threads=threads,
        params=dict(log_n=p.get_logn(), ring_degree=p.get_ring_degree(), slots=p.get_slots(),
                    logq=list(p.get_logq()), logp=list(p.get_logp()), boot_logp=list(p.get_boot_logp()),
                    log_scale=p.get_logscale(), h=p.get_hamming_weight(), levels=p.get_max_level(),
                    ring_type=p.get_ringtype(), margin=p.get_margin(),
                    embedding=p.get_embedding_method(), moduli_bits=_moduli_bits(scheme)),
        seconds=dict(init_keys=init_s, fit=fit_s, compile_total=compile_s,
                     compile=compile_s - keys_in_compile,
                     rotation_keys=clock.seconds.get("rotation_keys", 0.0),
                     bootstrap_keys=clock.seconds.get("bootstrap_keys", 0.0),
                     keygen=init_s + keys_in_compile, encrypt=encrypt_s, inference=infer_s,
                     bootstrap=clock.seconds.get("bootstrap", 0.0) - boot_s_before, decrypt=decrypt_s),
        rotation_keys=clock.calls.get("rotation_keys", 0),
        bootstraps_placed=placed.get("bootstraps"), bootstrapper_slots=placed.get("slots"),
        input_level=input_level, bootstraps_run=clock.calls.get("bootstrap", 0) - boots_before,
        logits=fhe.tolist(), logits_clear=clear.tolist(), max_logit_err=err,
        top1=int(np.argmax(fhe[0])), top1_clear=int(np.argmax(clear[0])),
        peak_rss_bytes=_peak_rss_bytes(), peak_rss_after_compile_bytes=rss_compiled,
        relu="Orion's on.ReLU: x * sign(x / s) with a composite minimax sign of degrees "
             f"{list(net.act.degrees)}, input range from fit (margin {p.get_margin()})")


def _moduli_bits(scheme):
    """log2 of each prime of Q (Orion's moduli chain), or None if the backend will not say."""
    import math
    try:
        return [round(math.log2(int(q)), 2) for q in scheme.encoder.get_moduli_chain()]
    except Exception:  # noqa: BLE001 - informative only
        return None


def main(argv=None) -> int:
    """Read the request, run it, print one JSON object; exit 0 even on a reported error."""
    argv = sys.argv[1:] if argv is None else argv
    try:
        req = json.load(open(argv[0])) if argv else json.load(sys.stdin)
        task = {"resnet": run_resnet, "plain": run_plain}[req["task"]]
        res = task(req)
        try:
            from importlib.metadata import version
            res["version"] = version("orion-fhe")
        except Exception:  # noqa: BLE001
            res["version"] = "unknown"
    except Exception as e:  # noqa: BLE001 - every failure goes back to the caller as JSON
        import traceback
        traceback.print_exc()
        res = dict(ok=False, error=f"{type(e).__name__}: {e}")
    sys.stdout.flush()
    json.dump(res, sys.stdout)
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
