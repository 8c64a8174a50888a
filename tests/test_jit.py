"""sw.jit: 512-bit vectors for numba's kernels where the host has AVX-512, never over the
user's own numba settings; the integers do not depend on the vector width."""
from __future__ import annotations

import os
import subprocess
import sys

import pytest

from sw import jit


def test_wide_features_lift_the_256_bit_preference_only_with_avx512():
    assert jit.wide_features("+avx2,+avx512f,+fma") == "+avx2,+avx512f,+fma,-prefer-256-bit"
    # a preference already in the string is replaced, not doubled
    assert jit.wide_features("+avx512f,+prefer-256-bit,+sse4.2") == "+avx512f,+sse4.2,-prefer-256-bit"
    assert jit.wide_features("+avx2,-avx512f,+fma") is None
    assert jit.wide_features("") is None


@pytest.fixture
def host(monkeypatch):
    """``host(features)``: llvmlite reports ``features`` as the host's."""
    import llvmlite.binding as llvm

    class Feats:
        def __init__(self, s):
            self.s = s

        def flatten(self):
            return self.s

    def set_host(s):
        monkeypatch.setattr(llvm, "get_host_cpu_features", lambda: Feats(s))
    return set_host


def test_configure_sets_numba_features_on_an_avx512_host(host, monkeypatch):
    import numba

    host("+avx2,+avx512f")
    monkeypatch.setattr(numba.config, "CPU_FEATURES", numba.config.CPU_FEATURES)
    monkeypatch.setattr(jit, "CONFIGURED", jit.CONFIGURED)
    env = {}
    assert jit.configure(env) == "+avx2,+avx512f,-prefer-256-bit"
    assert env == {"NUMBA_CPU_FEATURES": "+avx2,+avx512f,-prefer-256-bit"}
    # numba was imported before: its already-read configuration follows
    assert numba.config.CPU_FEATURES == env["NUMBA_CPU_FEATURES"] == jit.CONFIGURED


@pytest.mark.parametrize("env", [
    {"NUMBA_CPU_FEATURES": "+avx2"},          # the user's features win
    {"NUMBA_CPU_NAME": "generic"},            # so does the user's CPU name
    {"FHESIM_VECTOR_WIDTH": "256"},           # LLVM's default kept on request
])
def test_configure_leaves_the_users_choice_alone(env, host):
    host("+avx2,+avx512f")
    before = dict(env)
    assert jit.configure(env) is None and env == before


def test_configure_changes_nothing_without_avx512_and_refuses_a_bad_width(host):
    host("+avx2,+fma")
    env = {}
    assert jit.configure(env) is None and env == {}
    with pytest.raises(ValueError, match="FHESIM_VECTOR_WIDTH='128': must be 256"):
        jit.configure({"FHESIM_VECTOR_WIDTH": "128"})


def test_the_default_width_gives_the_same_integers_as_the_numpy_reference():
    """With ``FHESIM_VECTOR_WIDTH=256`` (a fresh process, so numba compiles at LLVM's default
    width) the numba NTT matches the NumPy reference; this process's kernels, at the width
    :func:`sw.jit.configure` chose, are checked against it by tests/test_ntt.py."""
    code = (
        "import numpy as np\n"
        "from sw import ntt\n"
        "from sw.primes import ntt_primes\n"
        "n = 1 << 12\n"
        "ps = tuple(ntt_primes(n, 31, 3))\n"
        "a = np.stack([np.random.default_rng(i).integers(0, q, n, dtype=np.uint64) for i, q in enumerate(ps)])\n"
        "f = ntt.forward(a, ps)\n"
        "assert np.array_equal(f, ntt.forward(a, ps, backend='numpy'))\n"
        "assert np.array_equal(ntt.inverse(f, ps), a)\n"
        "import os; print(os.environ.get('NUMBA_CPU_FEATURES', '') == '')\n")
    env = {k: v for k, v in os.environ.items() if not k.startswith("NUMBA_CPU")}
    env["FHESIM_VECTOR_WIDTH"] = "256"
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True,
                         cwd=os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "True"
