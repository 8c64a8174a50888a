"""`fhesim bench resnet --project`: deeper models projected from measured per-layer times."""
import warnings

import pytest

from sim.benchmarks.resnet import _same_shape_layer, project
from sw.ckks import get_params
from sw.nn.models import load_model


def _params():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return get_params("toy-boot-n11", allow_insecure=True)


def test_same_shape_layer_mapping():
    assert _same_shape_layer("layer2.0.conv1") == "layer2.0.conv1"
    assert _same_shape_layer("layer3.17.relu2") == "layer3.1.relu2"
    assert _same_shape_layer("stem.conv") == "stem.conv" and _same_shape_layer("fc") == "fc"


def test_projection_counts_every_layer_and_bootstrap():
    """With every ResNet-20 layer timed 1 s except the stride-2 convolutions (5 s) and 10 s per
    bootstrap, ResNet-32 projects to (#layers + 4 * #stride-2 convs) + 10 * 30 bootstraps."""
    g20 = load_model("resnet20", "digits8").graph()
    secs = {op.name: (5.0 if op.kind == "conv" and op.stride == 2 else 1.0) for op in g20}
    g32 = load_model("resnet32", "digits8").graph()
    n_s2 = sum(1 for op in g32 if op.kind == "conv" and op.stride == 2)
    assert n_s2 == 2
    pr = project("resnet32", "digits8", _params(), secs, 10.0, 16)
    assert pr["bootstraps"] == 30
    assert pr["seconds"] == pytest.approx(len(g32) + 4 * n_s2 + 300.0)
    # ResNet-20 projected from itself is the sum of its own layers plus its 18 bootstraps
    assert project("resnet20", "digits8", _params(), secs, 10.0, 16)["seconds"] == \
        pytest.approx(sum(secs.values()) + 180.0)
    with pytest.raises(ValueError, match="no measured layer"):
        project("resnet32", "digits8", _params(), {"stem.conv": 1.0}, 10.0, 16)


def test_projection_prices_each_bootstrap_at_its_stage_period():
    """Per-period bootstrap times (sparse-slot bootstrapping): ResNet-20/digits8 bootstraps
    6 tensors in each stage (periods 1024, 512, 256); equal times give the scalar result."""
    secs = {op.name: 1.0 for op in load_model("resnet20", "digits8").graph()}
    per = {1024: 10.0, 512: 20.0, 256: 30.0}
    pr = project("resnet20", "digits8", _params(), secs, per, 16)
    assert pr["bootstraps"] == 18
    assert pr["bootstrap_s"] == pytest.approx(6 * 10.0 + 6 * 20.0 + 6 * 30.0)
    same = project("resnet20", "digits8", _params(), secs, dict.fromkeys(per, 10.0), 16)
    assert same["seconds"] == pytest.approx(
        project("resnet20", "digits8", _params(), secs, 10.0, 16)["seconds"])
    with pytest.raises(ValueError, match="period 256"):
        project("resnet20", "digits8", _params(), secs, {1024: 1.0, 512: 1.0}, 16)


def test_default_threads_by_ring_degree_and_orion_matches_ours():
    """One numba thread up to N = 2^10, all of them from 2^11 (measured crossover); the Orion
    peer gets as many threads as ours unless ``--orion-threads`` says otherwise."""
    import argparse

    import numba

    from sim.benchmarks.resnet import our_threads
    from sw.nn.infer import SERIAL_MAX_LOG_N, default_threads, set_threads

    allthreads = numba.config.NUMBA_NUM_THREADS
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        small, large = (get_params(n, allow_insecure=True) for n in ("toy-boot-n10", "toy-boot-n12"))
    assert SERIAL_MAX_LOG_N == small.log_n == 10
    assert default_threads(small) == 1 and default_threads(large) == allthreads
    assert default_threads(_params()) == allthreads      # 2^11
    assert our_threads(argparse.Namespace(threads=None), small) == 1
    assert our_threads(argparse.Namespace(threads=None), large) == allthreads
    assert our_threads(argparse.Namespace(threads=10 ** 6), large) == allthreads   # capped
    before = numba.get_num_threads()
    try:
        set_threads(None, small)
        assert numba.get_num_threads() == 1
        set_threads(None, large)
        assert numba.get_num_threads() == allthreads
    finally:
        numba.set_num_threads(before)


def test_run_image_sees_a_numba_compile_and_run_infer_reruns_the_first_image(monkeypatch):
    """``_run_image`` reports a kernel compiled during the inference (a new njit function
    here); with ``rerun_if_compiled`` the first image runs again and the second run is the
    one reported, its first time kept as ``jit_first_seconds``; without it the row says
    ``jit_compiled``."""
    import types

    import numba
    import numpy as np

    import sw.nn.infer as infer

    calls = []

    class FakeNet:
        def encrypt(self, sess, x, level):
            return x

        def run(self, sess, ct, plan=None, progress=False, desc=""):
            calls.append(desc)

            @numba.njit   # a new function: compiled on this first call
            def twice(a):
                return a * 2.0
            twice(np.ones(2))
            return np.arange(10.0), None

        def decrypt_logits(self, sess, out):
            return out

    lg, _, compiled = infer._run_image(FakeNet(), None, None, 0, None, False, "d")
    assert compiled > 0 and list(lg) == list(np.arange(10.0))

    class NoCompile(FakeNet):
        def run(self, sess, ct, plan=None, progress=False, desc=""):
            calls.append(desc)
            return np.arange(10.0), None
    assert infer._run_image(NoCompile(), None, None, 0, None, False, "d")[2] == 0.0

    # run_infer's loop, with the network and the inference faked after keys are made
    seq = iter([True, False])
    st = types.SimpleNamespace(bootstraps=0, levels_consumed=0, kind_seconds={}, op_seconds={},
                               boot_seconds={}, seconds=0.0)

    def fake_run_image(enn, sess, x, fresh, plan, progress, desc):
        st.seconds += 1.0
        calls.append(desc)
        return np.zeros(10), types.SimpleNamespace(**vars(st)), next(seq)

    monkeypatch.setattr(infer, "_run_image", fake_run_image)
    monkeypatch.setattr(infer, "_plain_check", lambda enn, net, x, log: (np.zeros((len(x), 10)), np.zeros((len(x), 10)), []))
    calls.clear()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = infer.run_infer("resnet20", "digits8", "toy-boot-n11", 1, allow_insecure=True,
                              progress=False, log=lambda m: None, rerun_if_compiled=True)
    assert calls == ["image 1/1", "image 1/1 (again)"]
    assert res["jit_first_seconds"] == 1.0 and res["images"][0]["seconds"] == 2.0
    assert res["images"][0]["jit_compiled"] is False
    seq = iter([True])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = infer.run_infer("resnet20", "digits8", "toy-boot-n11", 1, allow_insecure=True,
                              progress=False, log=lambda m: None)
    assert res["jit_first_seconds"] is None and res["images"][0]["jit_compiled"] is True
    # a compile at a later image is flagged on that image, and only the first is rerun
    seq = iter([True, False, True])
    calls.clear()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = infer.run_infer("resnet20", "digits8", "toy-boot-n11", 2, allow_insecure=True,
                              progress=False, log=lambda m: None, rerun_if_compiled=True)
    assert calls == ["image 1/2", "image 1/2 (again)", "image 2/2"]
    assert [r["jit_compiled"] for r in res["images"]] == [False, True]
    # a compile under JIT_RERUN_SHARE of the image's time (numba's typed-list helpers) is
    # kept in the reported time, with its seconds, and the image is not rerun
    seq = iter([0.02])
    calls.clear()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = infer.run_infer("resnet20", "digits8", "toy-boot-n11", 1, allow_insecure=True,
                              progress=False, log=lambda m: None, rerun_if_compiled=True)
    assert calls == ["image 1/1"] and res["jit_first_seconds"] is None
    assert res["images"][0]["jit_compiled"] is True and res["images"][0]["jit_seconds"] == 0.02


def test_compile_seconds_counts_outermost_events_once():
    from types import SimpleNamespace as E

    from sw.nn.infer import _compile_seconds
    s, e = E(is_start=True), E(is_start=False)
    # 1.0-3.0 holds a nested compile (1.5-2.0); 5.0-5.5 alone
    assert _compile_seconds([(1.0, s), (1.5, s), (2.0, e), (3.0, e), (5.0, s), (5.5, e)]) == 2.5
    assert _compile_seconds([]) == 0.0
