"""Polynomial ReLUs: composite minimax precision, data-guided fits, plaintext-with-polynomials."""
from __future__ import annotations

import warnings

import numpy as np
import pytest

from sw.nn.activations import (COMPOSITE_EPS_LOG2, CompositeSign, calibrate_bounds, composite_relu,
                               data_guided_relu, remez_odd_sign)
from sw.nn.data import load_digits_split
from sw.nn.models import load_model
from sw.nn.plain import BoundWarning, collect_preactivations, forward


def test_minimax_stage_equioscillates():
    c, err = remez_odd_sign(7, 0.1)
    x = np.linspace(0.1, 1, 20001)
    e = np.polynomial.chebyshev.chebval(x, c) - 1
    assert np.max(np.abs(e)) == pytest.approx(err, rel=1e-3)
    # a minimax error curve touches +-err at least (degree+1)/2 + 1 times, alternating
    assert e.max() == pytest.approx(err, rel=1e-3) and e.min() == pytest.approx(-err, rel=1e-3)
    assert np.all(c[0::2] == 0)


def test_composite_15_15_27_reaches_alpha_13():
    s = CompositeSign.build((15, 15, 27), COMPOSITE_EPS_LOG2)
    assert s.depth == 4 + 4 + 5
    assert s.alpha >= 13.0, s.error
    t = np.concatenate([np.geomspace(2 ** -COMPOSITE_EPS_LOG2, 1, 5000), np.linspace(0, 1, 5001)])
    assert np.max(np.abs(s(t))) <= 1 + 2 ** -13 and np.max(np.abs(s(-t) + s(t))) < 1e-12   # odd
    r = composite_relu(40.0)
    assert r.depth == 14
    x = np.linspace(-40, 40, 160001)
    # |relu error| <= B * max(eps, 2^-13 / 2) (small inputs: at most |x|)
    assert np.max(np.abs(r(x) - np.maximum(x, 0))) <= 40 * 2 ** -COMPOSITE_EPS_LOG2


@pytest.fixture(scope="module")
def resnet20():
    xtr, ytr, xte, yte = load_digits_split("digits8")
    m = load_model("resnet20", "digits8")
    pre = collect_preactivations(m, xtr[:256])
    return m, pre, calibrate_bounds(pre), xte, yte


def test_data_guided_fit_beats_uniform_fit_on_the_data(resnet20):
    m, pre, B, _, _ = resnet20
    name = "layer2.1.relu1"
    t = pre[name] / B[name]
    dg = data_guided_relu(pre[name], B[name], 7)
    uni = data_guided_relu(np.linspace(-B[name], B[name], 10001), B[name], 7)   # flat distribution
    err_dg = np.mean((dg.unit(t) - np.maximum(t, 0)) ** 2)
    err_uni = np.mean((uni.unit(t) - np.maximum(t, 0)) ** 2)
    assert err_dg < 0.5 * err_uni
    assert dg.depth == 3 and np.max(np.abs(dg.unit(np.linspace(-1, 1, 1001)))) < 2


def test_plain_with_polynomials(resnet20):
    m, pre, B, xte, yte = resnet20
    g = m.graph()
    exact = forward(m, xte, graph=g)
    comp = forward(m, xte, {k: composite_relu(B[k]) for k in B}, graph=g)
    dg = forward(m, xte, {k: data_guided_relu(pre[k], B[k], 15) for k in B}, graph=g)
    acc = lambda z: np.mean(np.argmax(z, 1) == yte)  # noqa: E731
    assert np.mean(np.argmax(comp, 1) == np.argmax(exact, 1)) == 1.0
    assert np.max(np.abs(comp - exact)) < 0.05 * np.max(np.abs(exact))
    assert acc(dg) >= acc(exact) - 0.02


def test_bound_violation_is_reported_by_layer(resnet20):
    m, _, B, xte, _ = resnet20
    small = dict(B, **{"layer1.1.relu2": 0.01})
    acts = {k: composite_relu(v) for k, v in small.items()}
    with warnings.catch_warnings(record=True) as w, np.errstate(all="ignore"):
        warnings.simplefilter("always")
        out = forward(m, xte[:4], acts, bounds=small)
    msgs = [str(x.message) for x in w if issubclass(x.category, BoundWarning)]
    assert len(msgs) == 1 and msgs[0].startswith("layer1.1.relu2:") and "exceeds the calibrated bound" in msgs[0]
    # not clipped: the polynomial is evaluated far outside [-1, 1] and the logits are garbage
    assert not np.allclose(out, forward(m, xte[:4]), atol=1.0)
