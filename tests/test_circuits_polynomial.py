"""Polynomial evaluation on real CKKS ciphertexts (toy-n10, INSECURE) vs NumPy references."""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st
from numpy.polynomial import chebyshev as C

from sw.circuits.chebyshev import chebyshev_interpolate, chebyshev_split, min_depth, power_split
from sw.circuits.polynomial import (Polynomial, PolynomialDepthError, PolynomialEvaluator,
                                    PolynomialScaleError)
from sw.ckks import (CkksContext, Decryptor, Encoder, Encryptor, Evaluator, KeyGenerator,
                     get_params)

SLOTS = 64
# toy-n10 groups (bottom -> top): q0 (2 primes); levels 1..8 one prime; 9, 10 two primes; 11, 12 one.
TOP_SINGLE = 8


@pytest.fixture(scope="module")
def he(ckks_setup):
    h = ckks_setup("toy-n10", seed=11)
    ctx, keys, enc = h.ctx, h.keys, h.enc
    h.ev = Evaluator(ctx, keys)
    h.encrypt = lambda x, level: Encryptor(ctx, keys.public, seed=5).encrypt(
        enc.encode(x, level=level, slots=SLOTS))
    h.decrypt = lambda ct: enc.decode(Decryptor(ctx, keys.secret).decrypt(ct))
    return h


def _sigmoid(x):
    return 1.0 / (1.0 + np.exp(-x))


CASES = [  # (function, degree, interval, parity, start level)
    (np.sin, 7, (-3.0, 3.0), "odd", TOP_SINGLE),
    (np.exp, 31, (-2.0, 1.0), None, TOP_SINGLE),
    (_sigmoid, 63, (-8.0, 8.0), None, TOP_SINGLE),
    (lambda x: np.sin(2 * x), 127, (-1.0, 1.0), "odd", TOP_SINGLE),
]


@pytest.mark.parametrize("f, degree, interval, parity, level", CASES,
                         ids=[f"deg{c[1]}" for c in CASES])
def test_chebyshev_vs_numpy(he, f, degree, interval, parity, level):
    rng = np.random.default_rng(degree)
    poly = Polynomial.from_function(f, degree, interval, parity=parity)
    x = rng.uniform(*interval, SLOTS)
    ct = he.encrypt(x, level)
    pe = PolynomialEvaluator(he.ev)
    out = pe.evaluate(ct, poly)
    got = he.decrypt(out)
    # homomorphic error against the same polynomial evaluated in NumPy
    assert np.max(np.abs(got - C.chebval((2 * x - interval[0] - interval[1]) / (interval[1] - interval[0]),
                                         poly.coeffs))) < 1e-4
    # and the polynomial approximates the function
    assert np.max(np.abs(got - f(x))) < 1e-3
    # depth: ceil(log2(d+1)) plus the scaling step when the interval is not [-1, 1]
    expected_depth = int(np.ceil(np.log2(degree + 1))) + (interval != (-1.0, 1.0))
    assert poly.depth == expected_depth
    assert ct.level - out.level == expected_depth
    assert out.scale == pytest.approx(ct.scale, rel=1e-12)
    if parity == "odd":  # odd polynomials only compute odd powers and powers of two
        assert all(i % 2 == 1 or i & (i - 1) == 0 for i in pe.stats.powers)


class _CountingEvaluator:
    """The real evaluator, counting the key switches of relinearisation."""

    def __init__(self, ev):
        self._ev, self.relins = ev, 0

    def __getattr__(self, name):
        return getattr(self._ev, name)

    def mul(self, a, b, *, relin=True, rescale=False):
        self.relins += bool(relin)
        return self._ev.mul(a, b, relin=relin, rescale=rescale)

    def relinearize(self, ct, *, rescale=False):
        self.relins += 1
        return self._ev.relinearize(ct, rescale=rescale)


def test_lazy_relinearisation_count_and_value(he):
    """Odd degree 15 on [-1, 1] at level L (baby steps up to T_4): the powers T_2, T_3, T_4,
    T_8 take one relinearisation each. p = q T_8 + r; q = q2 T_4 + r2 with q2 = q3 T_2 + r3
    (T_3, at level L - 2, is below level L - 1 where q2's leaf would sum); r = q' T_4 + r'.
    Of the 4 products, r's is summed into q T_8 at degree 2 and shares its
    relinearisation: 7 key switches, where relinearising every product takes 8."""
    rng = np.random.default_rng(15)
    poly = Polynomial.from_function(np.tanh, 15, (-1.0, 1.0), parity="odd")
    x = rng.uniform(-1, 1, SLOTS)
    ev = _CountingEvaluator(he.ev)
    pe = PolynomialEvaluator(ev)
    out = pe.evaluate(he.encrypt(x, TOP_SINGLE), poly)
    assert ev.relins == pe.stats.relinearisations == 7
    assert pe.stats.nonscalar_mults == 8 and out.degree == 1
    assert np.max(np.abs(he.decrypt(out) - C.chebval(x, poly.coeffs))) < 1e-4


def test_power_basis_and_target_scale(he):
    rng = np.random.default_rng(3)
    coeffs = rng.uniform(-1, 1, 16) / np.arange(1, 17)
    poly = Polynomial.power(coeffs)
    x = rng.uniform(-1, 1, SLOTS)
    ct = he.encrypt(x, TOP_SINGLE)
    target = 2.0 ** 33
    out = PolynomialEvaluator(he.ev).evaluate(ct, poly, target_scale=target)
    assert out.scale == pytest.approx(target, rel=1e-12)
    assert ct.level - out.level == 4 == poly.depth  # degree 15: ceil(log2 16) = 4, no scaling step
    np.testing.assert_allclose(he.decrypt(out), np.polynomial.polynomial.polyval(x, coeffs), atol=1e-4)


def test_power_basis_odd(he):
    rng = np.random.default_rng(4)
    coeffs = np.zeros(12)
    coeffs[1::2] = [1.5, -0.5, 0.25, 0.1, -0.05, 0.02]
    poly = Polynomial.power(coeffs)
    assert poly.is_odd and poly.degree == 11 and poly.depth == 4
    x = rng.uniform(-1, 1, SLOTS)
    ct = he.encrypt(x, 6)
    pe = PolynomialEvaluator(he.ev)
    out = pe.evaluate(ct, poly)
    assert out.level == 2
    assert all(i % 2 == 1 or i & (i - 1) == 0 for i in pe.stats.powers)
    np.testing.assert_allclose(he.decrypt(out), np.polynomial.polynomial.polyval(x, coeffs), atol=1e-4)


def test_complex_slots_power_basis(he):
    rng = np.random.default_rng(5)
    z = (rng.uniform(-1, 1, SLOTS) + 1j * rng.uniform(-1, 1, SLOTS)) * 0.7
    coeffs = np.array([0.1, 1.0, 0.5, -0.25 + 0.5j, 0.125])
    ct = he.encrypt(z, 5)
    out = PolynomialEvaluator(he.ev).evaluate(ct, Polynomial.power(coeffs))
    np.testing.assert_allclose(he.decrypt(out), np.polynomial.polynomial.polyval(z, coeffs), atol=1e-4)
    assert out.level == 2


def test_single_to_composite_levels(he):
    """Powers crossing from 1-prime levels (11, 12) into the 2-prime levels (10, 9)."""
    rng = np.random.default_rng(6)
    poly = Polynomial.from_function(np.cos, 7, (-1.0, 1.0), parity="even")
    x = rng.uniform(-1, 1, SLOTS)
    ct = he.encrypt(x, 12)
    out = PolynomialEvaluator(he.ev).evaluate(ct, poly)
    assert out.level == 9
    np.testing.assert_allclose(he.decrypt(out), poly(x), atol=1e-4)


def test_not_enough_levels(he):
    poly = Polynomial.from_function(np.exp, 63, (-2.0, 1.0))
    ct = he.encrypt(np.zeros(SLOTS), 5)
    with pytest.raises(PolynomialDepthError) as e:
        PolynomialEvaluator(he.ev).evaluate(ct, poly)
    msg = str(e.value)
    assert "degree 63" in msg and "depth 7" in msg and "5 levels available" in msg


def test_composite_to_single_refused(he):
    poly = Polynomial.from_function(np.exp, 63, (-1.0, 1.0))
    ct = he.encrypt(np.zeros(SLOTS), 12)
    with pytest.raises(PolynomialScaleError, match="composite"):
        PolynomialEvaluator(he.ev).evaluate(ct, poly)


def test_constant_polynomial_refused(he):
    with pytest.raises(ValueError, match="constant"):
        PolynomialEvaluator(he.ev).evaluate(he.encrypt(np.zeros(SLOTS), 3), Polynomial.power([2.0]))


# ---- plaintext properties of the basis algebra ------------------------------------------
@settings(max_examples=60, deadline=None)
@given(d=st.integers(1, 200), seed=st.integers(0, 2**31))
def test_chebyshev_split_identity(d, seed):
    c = np.random.default_rng(seed).standard_normal(d + 1)
    n = 1 << (d.bit_length() - 1)
    q, r = chebyshev_split(c, n)
    tn = np.zeros(n + 1)
    tn[n] = 1
    x = np.linspace(-1, 1, 257)
    np.testing.assert_allclose(C.chebval(x, q) * C.chebval(x, tn) + C.chebval(x, r), C.chebval(x, c),
                               atol=1e-9 * np.sum(np.abs(c)))
    q2, r2 = power_split(c, n)
    np.testing.assert_allclose(np.polynomial.polynomial.polyval(0.7, q2) * 0.7 ** n
                               + np.polynomial.polynomial.polyval(0.7, r2),
                               np.polynomial.polynomial.polyval(0.7, c), rtol=1e-9, atol=1e-9)


@given(d=st.integers(0, 5000))
def test_min_depth(d):
    assert min_depth(d) == int(np.ceil(np.log2(d + 1)))


def test_interpolation_accuracy():
    c = chebyshev_interpolate(np.exp, 20, -2, 1)
    x = np.linspace(-2, 1, 1001)
    assert np.max(np.abs(C.chebval((2 * x + 1) / 3, c) - np.exp(x))) < 1e-12


def test_dry_run_trace_at_n16():
    """Shape-only trace of a degree-63 evaluation at the real N = 2^16 set (no arithmetic)."""
    from sw import trace
    params = get_params("n16-128")
    ctx = CkksContext(params)
    with trace.recording(dry_run=True) as rec:
        keys = KeyGenerator(ctx, seed=1).gen_keyset()
        enc = Encoder(ctx)
        ct = Encryptor(ctx, keys.public, seed=2).encrypt(enc.encode(np.zeros(8), level=17))
        pe = PolynomialEvaluator(Evaluator(ctx, keys))
        out = pe.evaluate(ct, Polynomial.from_function(np.tanh, 63, (-4.0, 4.0)))
    assert out.is_placeholder and out.level == 17 - 7
    df = rec.to_dataframe()
    assert int((df["kind"] == "cmult").sum()) == pe.stats.nonscalar_mults
    # a rescale is its own event, or fused into a relinearisation (which then lowers the level)
    fused = (df["kind"] == "relin") & (df["level_out"] == df["level_in"] - 1)
    assert int(fused.sum()) > 0
    assert int((df["kind"] == "rescale").sum()) + int(fused.sum()) == pe.stats.rescales
    assert pe.stats.nonscalar_mults <= 20  # BSGS: about 2 sqrt(63) + log2 terms, not 62
