"""Relinearisation with the rescale fused into its ModDown (``mul(..., rescale=True)``,
``relinearize(ct, rescale=True)``).

The reference is the two-step path (relinearise, then rescale), a second algorithm: the fused
division ``round((d0 P + ks0) / (P q_top))`` must give exactly its integers (argument in
``Evaluator.relinearize``), at single-prime and two-prime top groups alike, while costing
``2 L`` fewer NTT rows and ``2 L`` fewer converted rows (``L`` = primes at the level).
"""
import numpy as np
import pytest

from sw import trace
from sw.ckks.errors import LevelError, ScaleError


@pytest.fixture(scope="module")
def env(ckks_env):
    return ckks_env("toy-n10")


def _levels(env):
    """Levels whose top group has one prime and levels whose top group has two."""
    groups = env.p.q_groups
    one = [lv for lv in range(1, env.p.max_level + 1) if len(groups[lv]) == 1]
    two = [lv for lv in range(1, env.p.max_level + 1) if len(groups[lv]) == 2]
    assert one and two, "toy-n10 has both kinds of level"
    return [one[0], one[-1], two[0], two[-1]]


def _pair(env, level):
    s = float(env.p.level_scale(level))
    a = env.ct(env.vec(), level=level, scale=s)
    b = env.ct(env.vec(), level=level, scale=s)
    return a, b


def _same_integers(x, y):
    assert x.level == y.level and x.scale == y.scale and x.degree == y.degree
    for px, py in zip(x.polys, y.polys):
        assert px.basis == py.basis and px.is_ntt == py.is_ntt
        assert np.array_equal(px.data, py.data)


def test_fused_equals_two_steps_at_every_kind_of_level(env):
    for level in _levels(env):
        a, b = _pair(env, level)
        two_step = env.ev.rescale(env.ev.mul(a, b))
        fused = env.ev.mul(a, b, rescale=True)
        assert fused.level == level - 1
        _same_integers(fused, two_step)


def test_relinearize_rescale_of_a_modified_product(env):
    # the circuits act on the unrelinearised product first (2 c^2 - 1 in EvalMod)
    level = _levels(env)[2]
    a, _ = _pair(env, level)
    d = env.ev.sub_const(env.ev.mul_int(env.ev.mul(a, a, relin=False), 2), 1.0)
    assert d.degree == 2
    _same_integers(env.ev.relinearize(d, rescale=True), env.ev.rescale(env.ev.relinearize(d)))
    z = env.dec(a)
    got = env.dec(env.ev.relinearize(d, rescale=True))
    assert np.max(np.abs(got - (2 * z * z - 1))) < 2.0 ** -10


def test_square_and_degree_one_inputs(env):
    level = _levels(env)[0]
    a, _ = _pair(env, level)
    _same_integers(env.ev.mul(a, a, rescale=True), env.ev.rescale(env.ev.mul(a, a)))
    # a degree-1 ciphertext is only rescaled; an unrelinearised product only rescaled
    m = env.ev.mul_const(a, 0.5)
    _same_integers(env.ev.relinearize(m, rescale=True), env.ev.rescale(m))
    d = env.ev.mul(a, a, relin=False, rescale=True)
    assert d.degree == 2 and d.level == level - 1


def _kernel_rows(fn):
    with trace.recording() as rec:
        out = fn()
    df = rec.to_dataframe()
    top = df[df["depth"] == 0]
    return out, df, {k: int(top[k + "_rows"].sum()) for k in ("ntt", "intt", "bconv")}


def test_fused_saves_two_moddown_passes_of_transforms(env):
    level = _levels(env)[3]
    a, b = _pair(env, level)
    L = len(env.p.primes_at(level))
    k = len(env.p.q_groups[level])
    _, df2, two = _kernel_rows(lambda: env.ev.rescale(env.ev.mul(a, b)))
    out, df1, one = _kernel_rows(lambda: env.ev.mul(a, b, rescale=True))
    assert two["ntt"] - one["ntt"] == 2 * L
    assert two["bconv"] - one["bconv"] == 2 * L
    assert two["intt"] == one["intt"]          # 2 (K + k) rows either way
    assert (df1["kind"] == "rescale").sum() == 0 and (df2["kind"] == "rescale").sum() == 1
    md = df1[df1["kind"] == "moddown"].iloc[0]
    assert (md["primes_out"], md["level_out"]) == (L - k, level - 1)
    assert out.level == level - 1


def test_cycle_model_keeps_the_key_size_of_a_fused_relinearisation(env):
    from sim.cycle.adapters import ops_from_trace

    level = _levels(env)[3]
    a, b = _pair(env, level)
    with trace.recording() as rec:
        env.ev.mul(a, b, rescale=True)
    for form in (rec, rec.to_json(version=2)):
        keys = [k for op in ops_from_trace(form)[0] for k in op.keys]
        assert len(keys) == 1
        assert keys[0].key == "relin"
        assert keys[0].special == len(env.p.p_primes)  # not K + k: the dropped primes are no key rows
        assert keys[0].digits == len(env.p.digits_at(level))


def test_refusals_name_the_operation(env):
    a1 = env.ct(env.vec(), level=1, scale=2.0 ** 30)
    d0 = env.ev.drop_to_level(env.ev.mul(a1, a1, relin=False), 0)
    assert d0.degree == 2 and d0.level == 0
    with pytest.raises(LevelError, match="relinearize: no level left"):
        env.ev.relinearize(d0, rescale=True)
    lv = _levels(env)[0]
    tiny = env.ct(env.vec(), level=lv, scale=2.0 ** 8)
    with pytest.raises(ScaleError, match="relinearize: scale"):
        env.ev.relinearize(env.ev.mul(tiny, tiny, relin=False), rescale=True)
