"""fhesim explore: design-space exploration on the U280 (small workload, small grid).

Every design reported (Pareto front, best) must fit the device's resources and on-chip RAM;
the best must be no worse than the current ``u280`` preset on the same workload; an unknown
device is refused by name; the lower bound holds and counts multiplications by hand."""
from __future__ import annotations

import json

import pytest

from sim.cli import main as cli_main
from sim.explore import (Design, demand, design_config, explore, lower_bound,
                         neighbours, pareto, platform, ram_bytes)
from sim.cycle.config import load_config, loads_config
from sim.cycle.events import Kernel, KeyUse, Op
from sim.cycle.model import CompiledOps, estimate
from sim.synth.cache import read_cache
from sim.synth.fit import check_fit
from sim.synth.resources import RESOURCES, fit_report


@pytest.fixture(scope="module")
def cmult_ops():
    from sim.cycle.workloads import workload_ops
    return CompiledOps(workload_ops("cmult")[0])


@pytest.fixture(scope="module")
def result(cmult_ops):
    return explore("u280", "cmult", grid="small", refine=True, progress=False, ops=cmult_ops)


def _design(row) -> Design:
    return Design(*(int(row[f]) for f in Design.__dataclass_fields__))


def test_every_reported_design_fits(result):
    base, dev = platform("u280")
    rows = read_cache()
    budget = dev.budget()
    reported = list(result.front.to_dict("records")) + [result.best]
    assert len(result.front) >= 2
    for r in reported:
        cfg = design_config(base, _design(r))
        rep = fit_report(cfg, dev, rows)
        assert rep["fits"], r["design"]
        for res in RESOURCES:
            assert rep["totals"][res] == pytest.approx(r[res]) and rep["totals"][res] <= budget[res]
        # on-chip RAM: the units' RAM blocks plus the model's data capacity within the device's RAM
        assert cfg.data_capacity_bytes >= 0
        assert r["unit_ram_MB"] * 1e6 + cfg.data_capacity_bytes <= ram_bytes(dev)
    # designs that do not fit are never on the front, and have no latency
    bad = result.table[~result.table["fits"]]
    assert len(bad) and not bad["on_front"].any() and bad["latency_s"].isna().all()


def test_best_is_no_worse_than_the_preset_and_matches_the_model(result, cmult_ops):
    preset = estimate(cmult_ops, load_config("u280"))
    assert result.best["latency_s"] <= preset.total_seconds
    assert result.preset["latency_s"] == pytest.approx(preset.total_seconds)
    # the reported latency is the cycle model's on that design
    base, _ = platform("u280")
    est = estimate(cmult_ops, design_config(base, _design(result.best)))
    assert result.best["cycles"] == est.total_cycles
    # the best is the fastest fitting design explored, and on the Pareto front
    fits = result.table[result.table["fits"]]
    assert result.best["cycles"] == fits["cycles"].min()
    assert result.best["design"] in set(result.front["design"])


def test_best_units_load_as_a_valid_configuration(result):
    text = open(load_config("u280").path).read()
    head = text.split("\n[units]\n")[0] + "\n"
    device = "[device]\n" + text.split("\n[device]\n")[1]
    cfg = loads_config(head + result.best["toml_units"] + "\n\n" + device)     # validation accepts it
    assert check_fit(cfg)["total"] == result.best["dsp"]                    # and it fits the DSPs
    assert Design.from_config(cfg) == _design(result.best)


def test_design_variants_are_validated_like_files():
    base, _ = platform("u280")
    ok = design_config(base, Design(1, 256, 304, 4096, 0, 1, 1024))
    assert (ok.units["ntt"].lanes, ok.units["bconv"].count, ok.name) == (256, 0, "u280-dse")
    with pytest.raises(ValueError, match=r"'u280-dse' \(.*u280.toml\): field 'units.ntt.lanes' "
                                         r"must be a power of two"):
        design_config(base, Design(1, 96, 304, 4096, 0, 1, 1024))
    with pytest.raises(ValueError, match=r"field 'execution' must be one of"):
        design_config(base, Design(1, 256, 304, 4096, 0, 1, 1024), execution="fused")


def test_pareto_front_is_non_dominated(result):
    f = result.front
    for i, a in f.iterrows():
        for j, b in f.iterrows():
            if i != j:
                assert not (b.latency_s <= a.latency_s and b.dsp <= a.dsp and b.lut <= a.lut
                            and (b.latency_s, b.dsp, b.lut) != (a.latency_s, a.dsp, a.lut))
    assert len(pareto(result.table)) == len(f)


def test_unknown_device_is_refused_by_name(capsys):
    with pytest.raises(ValueError, match=r"unknown device 'zynq7000' \(known devices: u280\)"):
        platform("zynq7000")
    assert cli_main(["explore", "--device", "zynq7000", "--workload", "cmult", "--no-progress"]) == 2
    assert "unknown device 'zynq7000'" in capsys.readouterr().err
    assert cli_main(["explore", "--workload", "no-such-workload", "--no-progress"]) == 2
    assert "unknown workload 'no-such-workload'" in capsys.readouterr().err


def test_cli_json(capsys):
    assert cli_main(["explore", "--workload", "cmult", "--grid", "small", "--no-refine", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["device"] == "u280" and out["workload"] == "cmult" and out["fitting"] <= out["evaluated"]
    assert isinstance(out["best"]["dsp"], int) and out["best"]["latency_s"] >= out["bound"]["bound_s"]
    assert "[units]" in out["best"]["toml_units"]


def test_demand_and_lower_bound_by_hand():
    ops = [Op("x", 16, 2, 2, kernels=[Kernel("ntt", 16, 2), Kernel("modmul", 16, 3, count=2),
                                      Kernel("bconv", 16, 2, src_primes=2, dst_primes=3),
                                      Kernel("modadd", 16, 4), Kernel("automorphism", 16, 2)],
              pt_polys=1, keys=[KeyUse("relin", 2, 2, 1), KeyUse("relin", 1, 2, 1), KeyUse(None, 1, 1, 0)])]
    c = CompiledOps(ops)
    d = demand(c, 32)
    # ntt: 2 rows x (16/2) x log2(16) = 64; modmul 3 x 2 x 16 = 96; bconv 16 x 2 x (3 + 1) = 128
    assert d["modmuls"] == {"ntt": 64, "modmul": 96, "bconv": 128} and d["modmul_total"] == 288
    # plaintext 1 x 2 x 16 words x 4 B; keys: relin once at its largest (2*2*3*16 words), the
    # unknown one at every use (1*2*1*16 words)
    assert d["plaintext_bytes"] == 128 and d["distinct_keys"] == 1
    assert d["key_bytes"] == (2 * 2 * 3 * 16 + 2 * 16) * 4
    base, dev = platform("u280")
    b = lower_bound(c, base, dev)
    assert b["multipliers"] == 9024 // 11 and b["multipliers_floor"] == 9024 // 4
    assert b["compute_s"] == pytest.approx(288 / (820 * 300e6))
    assert b["bound_s"] == max(b["compute_s"], b["memory_s"]) >= b["floor_s"]


def test_demand_counts_a_fused_mac_as_a_multiplication():
    d = demand(CompiledOps([Op("mul_plain_acc", 16, 3, 3, kernels=[Kernel("mac", 16, 3)] * 2)]), 32)
    # two polynomials of 3 rows x 16 residues: one multiply (and one add) each
    assert d["modmuls"] == {"mac": 2 * 3 * 16} and d["modmul_total"] == 96


def test_no_design_beats_the_bound(result, cmult_ops):
    fits = result.table[result.table["fits"]]
    assert (fits["latency_s"] >= result.bound["bound_s"]).all()


def test_neighbours_change_one_thing():
    d = Design(2, 64, 256, 256, 0, 1, 256)
    ns = neighbours(d)
    assert d not in ns and len(set(ns)) == len(ns)
    assert Design(1, 64, 256, 256, 0, 1, 256) in ns and Design(1, 128, 256, 256, 0, 1, 256) in ns
    assert all(n.ntt_lanes & (n.ntt_lanes - 1) == 0 for n in ns)     # NTT lanes stay powers of two


def test_fill_spends_freed_resources_on_elementwise_lanes():
    """``Explorer.filled`` raises the modmul (or bconv) lanes to the most that fit, in steps of
    FILL_STEP: the filled design fits and one step more does not, checked against
    ``fit_report`` directly; the other fields are untouched."""
    from sim.explore import FILL_STEP, Explorer

    base, dev = platform("u280")
    rows = read_cache()
    ex = Explorer(base, dev, None, rows)

    def fits(d):
        rep = fit_report(design_config(base, d), dev, rows)
        return all(rep["budget"][r] is None or rep["totals"][r] <= rep["budget"][r] for r in RESOURCES)

    d = Design(2, 128, 64, 256, 128, 1, 256)
    assert fits(d)
    out = ex.filled(d)
    assert [f.modmul != d.modmul for f in out] == [True, False]      # modmul first, then bconv
    mm, bc = out
    assert (mm.bconv, bc.modmul) == (d.bconv, d.modmul)
    for f, field_ in ((mm, "modmul"), (bc, "bconv")):
        v = getattr(f, field_)
        assert v > getattr(d, field_) and (v - getattr(d, field_)) % FILL_STEP == 0
        assert fits(f) and not fits(Design(**{**f.__dict__, field_: v + FILL_STEP}))
    # a design that does not fit has nothing to fill; a filled one has nothing left to fill
    assert not fits(Design(64, 512, 512, 256, 0, 1, 256))
    assert ex.filled(Design(64, 512, 512, 256, 0, 1, 256)) == []
    assert ex.filled(mm) == []


def test_trim_gives_up_modmul_lanes_for_a_move_that_does_not_fit():
    """``Explorer.trimmed``, the converse of the fill: a design over the DSP budget gets the
    most modmul lanes (a multiple of FILL_STEP) that fit, computed here from the synthesised
    DSP per lane; a fitting design, or one that no modmul count rescues, gets nothing."""
    from sim.explore import FILL_STEP, Explorer
    from sim.synth.resources import UnitResources

    base, dev = platform("u280")
    rows = read_cache()
    ex = Explorer(base, dev, None, rows)
    d = Design(3, 128, 600, 256, 0, 1, 256)
    assert ex.fit(d)["over"] == "dsp"
    ur = UnitResources(rows)
    ntt_dsp = ur.ntt_logic(base.multiplier, base.word_bits, 128, base.ntt_scaling,
                           base.ntt_buffering)[0]["dsp"]
    lane_dsp = ur.multiplier(base.multiplier, base.word_bits)[0]["dsp"]
    most = (dev.dsp - 3 * ntt_dsp) // lane_dsp // FILL_STEP * FILL_STEP
    out, = ex.trimmed(d)
    assert out == Design(3, 128, most, 256, 0, 1, 256)
    assert ex.fit(out)["fits"] and not ex.fit(Design(3, 128, most + FILL_STEP, 256, 0, 1, 256))["fits"]
    assert ex.trimmed(out) == []                                   # it fits: nothing to trim
    assert ex.trimmed(Design(64, 512, 512, 256, 0, 1, 256)) == []  # the NTT alone is too big


def test_report_section(tmp_path, cmult_ops):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from sim.report.build import _design_space

    written = []

    def save_csv(df, name):
        df.to_csv(tmp_path / name, index=False)
        written.append(name)

    def save_fig(fig, name):
        fig.savefig(tmp_path / name)
        plt.close(fig)
        written.append(name)

    md = _design_space({"cmult": cmult_ops}, True, read_cache(), save_csv, save_fig, lambda m: None)
    assert written == ["u280_design_space.csv", "u280_pareto.png", "u280_bound.csv"]
    assert (tmp_path / "u280_pareto.png").read_bytes()[:4] == b"\x89PNG"
    text = "\n".join(md)
    assert "## 2c. U280 design space" in text and "Lower bound" in text
