"""Bad inputs raise errors that name the operation and the numbers; security checks."""

import numpy as np
import pytest

from sw.ckks import (CkksParams, Evaluator, InsecureParametersError,
                     InsecureParametersWarning, LevelError, LevelMismatchError, MissingKeyError,
                     NonFiniteError, ParameterMismatchError, ScaleMismatchError, SecurityError,
                     SlotError, get_params)
from sw.ckks import security


@pytest.fixture(scope="module")
def env(ckks_env):
    return ckks_env("toy-n10", rotations=(1,))


def test_insecure_opt_in_and_warning(capsys):
    with pytest.raises(InsecureParametersError, match="toy-n10.*allow_insecure=True"):
        get_params("toy-n10")
    with pytest.warns(InsecureParametersWarning, match="INSECURE"):
        p = get_params("toy-n12", allow_insecure=True)
    assert "INSECURE" in capsys.readouterr().err
    assert not p.is_secure


def test_n16_128_within_cited_bound():
    p = get_params("n16-128")
    assert p.is_secure and p.n == 1 << 16
    assert p.log_qp <= security.max_log_qp(1 << 16) == 1747
    assert p.max_level >= 24 and all(q < 2 ** 31 for q in p.q_primes + p.p_primes)
    assert len(p.p_primes) == p.alpha == -(-len(p.q_primes) // p.dnum)


def test_security_bound_enforced():
    # 2^12: bound 109 bits; 4 groups of ~30 bits + q0 + P is far beyond
    with pytest.raises(SecurityError, match=r"log2\(QP\)=.* exceeds the 128-bit bound 109"):
        CkksParams.build("bad", 12, [1, 1, 1, 1], dnum=2, security=128)
    with pytest.raises(SecurityError, match="sparse"):
        CkksParams.build("bad-sparse", 16, [1] * 4, dnum=2, security=128, secret="sparse",
                         hamming_weight=192)
    # and a small set within the 2^15 bound is accepted
    ok = CkksParams.build("ok", 15, [1] * 20, dnum=4, security=128)
    assert ok.log_qp <= 881


def test_parameter_mismatch(env, ckks_env):
    other = ckks_env("toy-n12", rotations=())
    a = env.ct(env.vec())
    b = other.ct(other.vec())
    with pytest.raises(ParameterMismatchError, match="add: .*toy-n12.*toy-n10"):
        env.ev.add(a, b)
    with pytest.raises(ParameterMismatchError):
        Evaluator(env.ctx, other.keys)


def test_level_and_scale_mismatch(env):
    a = env.ct(env.vec())
    b = env.ev.drop_level(a, 1)
    with pytest.raises(LevelMismatchError, match=r"add: level mismatch \(a.level=12, b.level=11\)"):
        env.ev.add(a, b)
    c = env.ct(env.vec(), scale=2.0 ** 31)
    with pytest.raises(ScaleMismatchError, match=r"sub: scale mismatch .*2\^30.*2\^31"):
        env.ev.sub(a, c)
    with pytest.raises(ScaleMismatchError, match="add_plain"):
        env.ev.add_plain(a, env.enc.encode(env.vec(), scale=2.0 ** 29))


def test_no_level_left(env):
    a = env.ev.drop_to_level(env.ct(env.vec()), 0)
    with pytest.raises(LevelError, match="mul: no level left .*level 0"):
        env.ev.mul(a, a)
    with pytest.raises(LevelError, match="rescale: no level left"):
        env.ev.rescale(a)
    with pytest.raises(LevelError, match="mul_const"):
        env.ev.mul_const(a, 2.0)
    with pytest.raises(LevelError, match=r"drop_level: cannot drop 1 levels from level 0"):
        env.ev.drop_level(a, 1)


def test_missing_keys(env):
    a = env.ct(env.vec())
    with pytest.raises(MissingKeyError, match=r"rotate: no rotation key for step 2 \(slots=512"):
        env.ev.rotate(a, 2)
    with pytest.raises(MissingKeyError, match="rotate_hoisted: no rotation key for step 4"):
        env.ev.rotate_hoisted(a, [1, 4])
    bare = Evaluator(env.ctx)
    with pytest.raises(MissingKeyError, match="mul: no relinearisation key"):
        bare.mul(a, a)
    with pytest.raises(MissingKeyError, match="conjugate"):
        bare.conjugate(a)


def test_message_and_value_checks(env):
    enc = env.enc
    with pytest.raises(SlotError, match="encode: message of length 513 is longer than the slot count 512"):
        enc.encode(np.ones(513))
    with pytest.raises(SlotError, match="longer than the slot count 8"):
        enc.encode(np.ones(9), slots=8)
    with pytest.raises(SlotError, match="slots=12 must be a power of two"):
        enc.encode(np.ones(4), slots=12)
    with pytest.raises(NonFiniteError, match=r"encode: value at index 2 is not finite \(\(nan"):
        enc.encode([1.0, 2.0, np.nan])
    with pytest.raises(NonFiniteError, match="inf"):
        enc.encode([np.inf])
    a = env.ct(env.vec())
    with pytest.raises(NonFiniteError, match="mul_const: constant"):
        env.ev.mul_const(a, float("nan"))
    with pytest.raises(NonFiniteError, match="add_const"):
        env.ev.add_const(a, float("inf"))
    with pytest.raises(LevelError, match=r"encode: level=13 not in \[0, max_level=12\]"):
        enc.encode([1.0], level=13)


def test_rescale_refuses_to_leave_a_scale_below_the_noise(env):
    # toy-n10: levels 9 and 10 are two-prime (~2^60) groups. A product of two 2^30-scale
    # operands (scale 2^60) rescaled by level 10's ~2^60 would leave a scale of ~1, where the
    # rounding noise of the rescale is as large as the message: refused, naming the numbers.
    from sw.ckks import ScaleError
    p = env.p
    lvl = next(l for l in range(p.max_level, 0, -1) if len(p.q_groups[l]) == 2)
    a = env.ct(env.vec(), level=lvl)
    prod = env.ev.mul(a, a)
    with pytest.raises(ScaleError, match=rf"rescale: scale 2\^60\.0 divided by level {lvl}'s "
                                         r"2\^6\d\.\d leaves 2\^-?\d\.\d, below the 2\^16 floor"):
        env.ev.rescale(prod)
    # encoded at the level's own scale, the same product rescales to a usable 2^~60
    b = env.ct(env.vec(), level=lvl, scale=p.level_scale(lvl))
    assert env.ev.rescale(env.ev.mul(b, b)).scale > 2.0 ** 59
