# amaranth: UnusedElaboratable=no
"""Verilog port names and payload bit packing (hw.emit) for every stream component."""
from __future__ import annotations

import pytest

from hw.butterfly import CTButterfly, GSButterfly
from hw.emit import pack, payload_fields, to_verilog, unpack
from hw.modmul import BarrettMultiplier, MontgomeryMultiplier
from hw.ntt import NttUnit

Q16 = 65521


def test_payload_fields_and_packing():
    dut = CTButterfly(Q16, 16)
    layout = dut.i.payload.shape()
    assert payload_fields(layout) == {"a": (0, 16), "b": (16, 16), "w": (32, 16)}
    assert pack(layout, {"a": 1, "b": 2, "w": 3}) == 1 | 2 << 16 | 3 << 32
    assert unpack(dut.o.payload.shape(), 7 | 9 << 16) == {"x": 7, "y": 9}
    ntt = NttUnit(16, 97, 16, 4)
    lay = ntt.i.payload.shape()
    assert payload_fields(lay) == {**{f"data[{k}]": (16 * k, 16) for k in range(4)},
                                   "inverse": (64, 1)}
    v = {"data": [1, 2, 3, 4], "inverse": 1}
    assert unpack(lay, pack(lay, v)) == v
    assert payload_fields(BarrettMultiplier(Q16, 16).o.payload.shape()) == {"": (0, 16)}
    with pytest.raises(ValueError, match="fit"):
        pack(BarrettMultiplier(Q16, 16).o.payload.shape(), 1 << 16)


@pytest.mark.parametrize("make,in_bits,out_bits", [
    (lambda: MontgomeryMultiplier(Q16, 16), 32, 16),
    (lambda: GSButterfly(Q16, 16, "montgomery"), 48, 32),
    (lambda: NttUnit(8, 97, 16, 2, "montgomery"), 33, 32),
])
def test_verilog_ports(make, in_bits, out_bits):
    src = to_verilog(make(), "top")
    assert "module top(" in src
    for decl in ("input clk;", "input rst;", f"input [{in_bits - 1}:0] i__payload;",
                 "input i__valid;", "output i__ready;", f"output [{out_bits - 1}:0] o__payload;",
                 "output o__valid;", "input o__ready;"):
        assert decl in src
