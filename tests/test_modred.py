"""Golden models of sw.modred against plain Python ``a*b % q`` (and their lazy ranges)."""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

from sw import modred
from sw.ntt_tables import shoup
from sw.primes import is_prime


def _largest_prime_below(limit: int) -> int:
    c = limit - 1
    while not is_prime(c):
        c -= 1
    return c


LARGEST = {w: _largest_prime_below(1 << w) for w in (16, 17, 24, 31, 32, 33, 48, 60, 63, 64)}


@st.composite
def modulus_and_width(draw):
    width = draw(st.integers(16, 64))
    kind = draw(st.sampled_from(["largest", "random", "small"]))
    if kind == "largest" and width in LARGEST:
        q = LARGEST[width]
    elif kind == "small":
        q = draw(st.integers(1, 1000)) * 2 + 1
    else:
        q = draw(st.integers(1, (1 << (width - 1)) - 1)) * 2 + 1
    return q, width


@st.composite
def operands(draw):
    q, width = draw(modulus_and_width())
    corner = st.sampled_from([0, 1, q - 1, q // 2])
    a = draw(st.one_of(corner, st.integers(0, q - 1)))
    b = draw(st.one_of(corner, st.integers(0, q - 1)))
    return q, width, a, b


@settings(max_examples=600, deadline=None)
@given(operands())
def test_barrett_matches_python(args):
    q, width, a, b = args
    out, mid = modred.barrett_mul(a, b, q, width, intermediates=True)
    assert out == a * b % q
    assert mid["x"] == a * b
    assert 0 <= mid["r"] < 2 * q
    assert mid["r"] == a * b - mid["qhat"] * q          # r is the exact lazy remainder
    assert mid["qhat"] in (a * b // q, a * b // q - 1)


@settings(max_examples=300, deadline=None)
@given(modulus_and_width(), st.data())
def test_barrett_reduce_full_range(qw, data):
    """The one-correction bound holds for every x < 2^(2k), not only for products."""
    q, width = qw
    p = modred.barrett_params(q, width)
    x = data.draw(st.one_of(st.integers(0, (1 << (2 * p.k)) - 1),
                            st.just((1 << (2 * p.k)) - 1), st.just(q * q - 1)))
    out, mid = modred.barrett_reduce(x, p, intermediates=True)
    assert out == x % q
    assert 0 <= mid["r"] < 2 * q


@settings(max_examples=600, deadline=None)
@given(operands())
def test_montgomery_matches_python(args):
    q, width, a, b = args
    R = 1 << width
    out, mid = modred.montgomery_mul(a, b, q, width, intermediates=True)
    assert out == a * b * pow(R, -1, q) % q
    assert 0 <= mid["t"] < 2 * q
    assert (mid["x"] + mid["m"] * q) % R == 0
    # Montgomery form round trip and plain product through the forms.
    am, bm = modred.to_montgomery(a, q, width), modred.to_montgomery(b, q, width)
    assert am == a * R % q
    assert modred.from_montgomery(modred.montgomery_mul(am, bm, q, width), q, width) == a * b % q
    assert modred.montgomery_mul(b, modred.to_montgomery(a, q, width), q, width) == a * b % q
    assert modred.from_montgomery(am, q, width) == a


@settings(max_examples=600, deadline=None)
@given(modulus_and_width(), st.data())
def test_shoup_matches_python(qw, data):
    q, width = qw
    a = data.draw(st.one_of(st.sampled_from([0, 1, q - 1, (1 << width) - 1]),
                            st.integers(0, (1 << width) - 1)))
    w = data.draw(st.one_of(st.sampled_from([0, 1, q - 1]), st.integers(0, q - 1)))
    out, mid = modred.shoup_mul(a, w, q, width, intermediates=True)
    assert out == a * w % q
    assert 0 <= mid["r"] < 2 * q
    assert mid["r"] == a * w - mid["qhat"] * q
    assert modred.shoup_mul(a, w, q, width, w_shoup=shoup(w, q, width)) == out


@pytest.mark.parametrize("width", [16, 20, 31, 32])
def test_numpy_variants_match_scalar(width):
    rng = np.random.default_rng(width)
    for q in (LARGEST.get(width, _largest_prime_below(1 << width)), 3, (1 << (width - 1)) + 1):
        a = rng.integers(0, q, 300, dtype=np.uint64)
        b = rng.integers(0, q, 300, dtype=np.uint64)
        a[:3] = [0, 1, q - 1]
        b[:3] = [q - 1, q - 1, q - 1]
        ai, bi = [int(v) for v in a], [int(v) for v in b]
        assert modred.barrett_mul_np(a, b, q, width).tolist() == [x * y % q for x, y in zip(ai, bi)]
        R_inv = pow(1 << width, -1, q)
        assert modred.montgomery_mul_np(a, b, q, width).tolist() == [
            x * y * R_inv % q for x, y in zip(ai, bi)]
        big = rng.integers(0, 1 << width, 300, dtype=np.uint64)
        assert modred.shoup_mul_np(big, b, q, width).tolist() == [
            int(x) * y % q for x, y in zip(big, bi)]


def test_params_constants():
    q, width = LARGEST[32], 32
    p = modred.barrett_params(q, width)
    assert p.k == 32 and p.mu == (1 << 67) // q and p.mu.bit_length() <= p.k + 4
    mp = modred.montgomery_params(q, width)
    assert (q * mp.q_prime) % (1 << 32) == (1 << 32) - 1
    assert mp.r_mod_q == (1 << 32) % q and mp.r2_mod_q == (1 << 64) % q
    tw = modred.twiddle_to_montgomery([0, 1, 5], q, width)
    assert tw == (0, (1 << 32) % q, (5 << 32) % q)


@pytest.mark.parametrize("q,width,word", [
    (65537, 15, "width"), (65537, 65, "width"), (65537, 16, "q"), (65536, 17, "q"),
    (1, 16, "q"), (2, 16, "q"), ("7", 16, "q"), (7, 16.0, "width"),
])
def test_bad_parameters_named(q, width, word):
    with pytest.raises(ValueError, match=word):
        modred.barrett_mul(1, 1, q, width)
    with pytest.raises(ValueError, match=word):
        modred.montgomery_params(q, width)


def test_bad_operands_named():
    q = 65521
    with pytest.raises(ValueError, match="operand a"):
        modred.barrett_mul(q, 1, q, 16)
    with pytest.raises(ValueError, match="operand b"):
        modred.montgomery_mul(1, -1, q, 16)
    with pytest.raises(ValueError, match="w_shoup"):
        modred.shoup_mul(1, 5, q, 16, w_shoup=0)
    with pytest.raises(ValueError, match="width"):
        modred.barrett_mul_np([1], [1], LARGEST[33], 33)
