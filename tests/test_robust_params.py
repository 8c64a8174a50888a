"""Security labels check every assumption of the cited bound; hand-built insecure sets warn."""
import math
import warnings

import pytest

from sw.ckks import CkksParams, InsecureParametersWarning, SecurityError, get_params


@pytest.mark.parametrize("sigma", [1e-6, 3.0, 3.3, 100.0, math.inf])
def test_secure_label_refuses_bad_sigma(sigma):
    exc = SecurityError if math.isfinite(sigma) else (SecurityError, ValueError)
    with pytest.raises(exc, match="sigma"):
        CkksParams.build("s", 15, [1] * 20, dnum=4, security=128, sigma=sigma)


@pytest.mark.parametrize("sigma", [3.19, 3.2])
def test_secure_label_accepts_standard_sigma(sigma):
    assert CkksParams.build("s", 15, [1] * 20, dnum=4, security=128, sigma=sigma).is_secure


def test_secure_label_refuses_hamming_weight():
    with pytest.raises(SecurityError, match="hamming_weight=64"):
        CkksParams.build("s", 15, [1] * 20, dnum=4, security=128, hamming_weight=64)


@pytest.mark.parametrize("sigma", [0.0, -1.0, math.nan, math.inf])
def test_invalid_sigma_refused_even_insecure(sigma):
    with pytest.raises(ValueError, match="sigma"):
        CkksParams.build("t", 10, [1, 1], dnum=2, sigma=sigma, allow_insecure=True)


def test_hand_built_insecure_warns_unless_opted_in():
    with pytest.warns(InsecureParametersWarning, match="INSECURE.*allow_insecure=True"):
        p = CkksParams.build("t", 10, [1, 1], dnum=2)
    assert not p.is_secure
    with warnings.catch_warnings():
        warnings.simplefilter("error", InsecureParametersWarning)
        q = CkksParams.build("t", 10, [1, 1], dnum=2, sigma=1e-6, allow_insecure=True)
    assert not q.is_secure and q == CkksParams.build("t", 10, [1, 1], dnum=2, sigma=1e-6,
                                                     allow_insecure=True)


def test_named_sets_unchanged():
    assert get_params("n16-128").is_secure
    with pytest.warns(InsecureParametersWarning):
        assert not get_params("toy-n10", allow_insecure=True).is_secure


def test_group_bits_choose_each_groups_primes():
    from sw.ckks import security

    p = CkksParams.build("t", 12, [2, 2, 1], group_bits=[25, 25, 30], dnum=2, allow_insecure=True)
    primes = [q for g in p.q_groups for q in g] + list(p.p_primes)
    assert len(set(primes)) == len(primes) and all(q % (2 * p.n) == 1 for q in primes)
    assert all(abs(math.log2(q) - 25) < 1 for g in p.q_groups[1:3] for q in g)
    assert abs(math.log2(p.q_groups[3][0]) - 30) < 1
    # no group_bits: the earlier builder's primes (every group near log_scale)
    same = CkksParams.build("t", 12, [2, 2, 1], group_bits=[30, 30, 30], dnum=2, allow_insecure=True)
    assert same == CkksParams.build("t", 12, [2, 2, 1], dnum=2, allow_insecure=True)
    hp = get_params("n16-128-hp")
    assert hp.is_secure and hp.log_qp <= security.max_log_qp(1 << 16)
    assert all(abs(math.log2(hp.level_scale(lv)) - 50) < 0.5 for lv in range(1, 11))


@pytest.mark.parametrize("bits", [[25, 25], [25, 25, 40], [25, 2, 30]])
def test_group_bits_refused_with_the_field_named(bits):
    with pytest.raises(ValueError, match="group_bits"):
        CkksParams.build("t", 12, [2, 2, 1], group_bits=bits, dnum=2, allow_insecure=True)


# ---- the same layout at another ring degree (CkksParams.with_log_n) -------------------------

@pytest.mark.parametrize("small, large", [("toy-boot-n10", "toy-boot-n11"), ("toy-boot-n10", "toy-boot-n12"),
                                          ("toy-boot-n12", "n16-128"), ("toy-boot-hp-n12", "n16-128-hp"),
                                          ("toy-boot-n12", "toy-boot-n10")])
def test_with_log_n_rebuilds_the_named_set_of_that_degree(small, large):
    """The named sets of one layout differ only in their degree: rebuilding one at the other's
    degree gives exactly the other's primes (build's rule, checked against build's own sets)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        p, q = get_params(small, allow_insecure=True), get_params(large, allow_insecure=True)
        r = p.with_log_n(q.log_n)
    assert r.q_groups == q.q_groups and r.p_primes == q.p_primes
    assert (r.dnum, r.log_scale, r.log_n, r.security) == (q.dnum, q.log_scale, q.log_n, p.security)
    assert r.name == f"{small}-n{q.log_n}"
    assert all(x % (2 * q.n) == 1 for x in r.q_primes + r.p_primes)


def test_with_log_n_keeps_the_layout_at_2_17_and_rechecks_security():
    p = get_params("n16-128")
    r = p.with_log_n(17)
    assert r.is_secure and r.n == 1 << 17 and r.max_level == p.max_level
    assert [len(g) for g in r.q_groups] == [len(g) for g in p.q_groups]
    assert abs(r.log_q - p.log_q) < 1 and len(r.p_primes) == len(p.p_primes)
    assert p.with_log_n(16) is p
    # at 2^15 the same log2 QP ~ 1,663 exceeds the 881 of the HE standard
    with pytest.raises(SecurityError, match=r"exceeds the 128-bit bound 881 for n=2\^15"):
        p.with_log_n(15)


@pytest.mark.parametrize("bad", [0, 18, 16.0, "17", True])
def test_with_log_n_refuses_a_bad_degree(bad):
    with pytest.raises(ValueError, match="log_n="):
        get_params("n16-128").with_log_n(bad)


# ---- the same bootstrapping levels over fewer or more application levels ---------------------

def test_with_app_levels_rebuilds_the_named_sets_of_that_layout():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        hp, hp6 = get_params("n16-128-hp"), get_params("n16-128-hp6")
        r = hp.with_app_levels(6, 14)
    assert (r.q_groups, r.p_primes, r.name) == (hp6.q_groups, hp6.p_primes, "n16-128-hp-app6")
    p = get_params("n16-128")
    e = p.with_app_levels(8, 14)
    want = CkksParams.build("x", 16, [1] * 8 + [2, 1, 1] + [2] * 8 + [2] * 3, dnum=4, security=128)
    assert (e.q_groups, e.p_primes, e.max_level, e.is_secure) == (want.q_groups, want.p_primes, 22, True)
    assert p.with_app_levels(16, 14) is p
    # the top 14 groups are kept as they are laid out (sizes), below them 8 one-prime groups
    assert [len(g) for g in e.q_groups[-14:]] == [len(g) for g in p.q_groups[-14:]]


def test_with_app_levels_refuses_what_it_cannot_build():
    p = get_params("n16-128")
    for kw, match in ((dict(levels=0, keep_top=14), "levels=0 must be at least 1"),
                      (dict(levels=4, keep_top=30), r"keep_top=30 must lie in \[1, 29\]"),
                      (dict(levels=2.0, keep_top=14), "levels=2.0 must be an integer")):
        with pytest.raises(ValueError, match=match):
            p.with_app_levels(**kw)
    # 22 one-prime levels add about 180 bits: log2 QP above n16-128's 1,747
    with pytest.raises(SecurityError, match="exceeds the 128-bit bound 1747"):
        p.with_app_levels(22, 14)
