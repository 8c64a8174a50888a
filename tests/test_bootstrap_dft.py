"""Plaintext checks of the homomorphic-DFT factorisation and the EvalMod polynomial."""
import numpy as np
import pytest

from sw.bootstrap import EvalModSpec, overflow_probability
from sw.bootstrap import dft


@pytest.mark.parametrize("n", [1, 2, 4, 16, 64])
@pytest.mark.parametrize("levels", [1, 2, 3, 4])
def test_factors_multiply_to_special_dft(n, levels):
    V = dft.decode_matrix(n)
    P = np.eye(n)[dft.bitrev_indices(n)]
    S = np.eye(n, dtype=complex)
    for f in dft.stc_factors(n, levels):
        S = dft.to_dense(f, n) @ S
    assert np.allclose(S @ P, V)
    C = np.eye(n, dtype=complex)
    for f in dft.cts_factors(n, levels):
        C = dft.to_dense(f, n) @ C
    assert np.allclose(C, P @ np.linalg.inv(V))
    # V^-1 = V^H / n (used by the derivation in docs/bootstrapping.md)
    assert np.allclose(np.linalg.inv(V), V.conj().T / n)


def test_merged_level_diagonal_count():
    n = 1 << 10
    fs = dft.stc_factors(n, 2)
    # spans 1..16: 2^6 - 1 = 63 diagonals; spans 32..512: multiples of 32 mod 1024 wrap to 32
    assert [len(f) for f in fs] == [63, 32]
    assert dft.split_stages(15, 3) == [5, 5, 5] and dft.split_stages(9, 4) == [3, 2, 2, 2]


def test_encoder_convention_matches_decode_matrix():
    from sw.ckks.encoder import coeffs_to_slots
    n = 8
    c = np.random.default_rng(0).normal(size=2 * n)
    y = c[:n] + 1j * c[n:]
    assert np.allclose(coeffs_to_slots(c, n), dft.decode_matrix(n) @ y)


def test_evalmod_reference_and_failure_probability():
    spec = EvalModSpec(K=14, degree=31, double_angle=3)
    assert spec.depth == 8
    t = np.random.default_rng(1).integers(-14, 15, 1000) + np.random.default_rng(2).uniform(-2e-3, 2e-3, 1000)
    assert np.max(np.abs(spec.reference(t) - np.sin(2 * np.pi * t))) < 2 ** -36
    # |I| <= h/2 always holds: K >= h/2 has probability 0, K = 14 is below 2^-70 at N = 2^16
    assert overflow_probability(32, 16, 1 << 16) == 0.0
    assert 0 < overflow_probability(32, 14, 1 << 16) < 2.0 ** -70


def test_evalmod_error_at_integers_has_no_bias():
    """The reduced sine's error is a function of the integer I (|m/q0| is tiny); its mean over
    the coefficients is a constant in every EvalMod slot, which SlotsToCoeffs concentrates
    into slot 0 with a factor ~n (the worst slot at n16-128 was 2^-10.1 with the plain
    Chebyshev interpolant). The union-of-intervals fit removes it."""
    import math
    I = np.arange(-14, 15).astype(float)
    w = np.exp(-I ** 2 / (2 * 33 / 12))      # I ~ sum of h' + 1 = 33 uniforms
    w /= w.sum()
    fit = EvalModSpec()
    cheb = EvalModSpec(fit_radius=None)
    e_fit, e_cheb = fit.reference(I), cheb.reference(I)
    assert np.max(np.abs(e_fit)) < 2 ** -38
    assert abs(np.sum(w * e_fit)) < 2 ** -44
    assert abs(np.sum(w * e_cheb)) > 2 ** -34          # the bias the interpolant had
    # still a valid reduction (no blow-up) far from the integers: |t - I| <= 1/4
    t = I[:, None] + np.linspace(-0.25, 0.25, 101)[None, :]
    assert np.max(np.abs(fit.reference(t) - np.sin(2 * np.pi * t))) < 2 ** -27
    assert fit.interpolation_error() < 2 ** -40 and math.isfinite(cheb.interpolation_error())
