"""RTL verification: Amaranth units -> Verilog -> Icarus + cocotb, checked against golden models.

Layout (mirrors cocotb's ``examples/matrix_multiplier``: driver, monitor, model, scoreboard):

* :mod:`sim.rtl.units`      -- :class:`UnitSpec`, parameter validation, component construction;
* :mod:`sim.rtl.build`      -- Verilog emission cached under ``build/rtl/<kind>_<hash>/``, port map;
* :mod:`sim.rtl.simulator`  -- the one compile + cocotb run path, Icarus or Verilator (the choice: ``simulator_choice``)
  (``cocotb_tools.runner``; config in via ``FHESIM_RTL_CONFIG``, verdict out as JSON), also
  used by the replay (:mod:`sim.rtl.icarus` is its former name);
* :mod:`sim.rtl.runner`     -- :func:`run_rtl`: build, compile and simulate one unit;
* :mod:`sim.rtl.stream`     -- stream driver / monitor with seeded gaps and back-pressure;
* :mod:`sim.rtl.scoreboard` -- in-order comparison with mismatch details;
* :mod:`sim.rtl.golden`     -- Python-integer golden models and a textbook NTT;
* :mod:`sim.rtl.tb_elementwise`, :mod:`sim.rtl.tb_ntt`, :mod:`sim.rtl.tb_mac`,
  :mod:`sim.rtl.tb_bconv`, :mod:`sim.rtl.tb_automorphism` -- the cocotb test modules;
* :mod:`sim.rtl.selftest`   -- known-good and deliberately broken components for the bench.

Typical use::

    from sim.rtl import make_spec, run_rtl
    res = run_rtl(make_spec("ntt", width=32, n=64, lanes=4), direction="inverse")
    assert res["pass"], res["first_mismatch"]
"""
from .runner import RtlError, run_rtl
from .units import SpecError, UnitSpec, make_spec

__all__ = ["RtlError", "SpecError", "UnitSpec", "make_spec", "run_rtl"]
