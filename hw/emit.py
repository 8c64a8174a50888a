"""Verilog emission and the bit packing of stream payloads at the Verilog ports.

``amaranth.back.verilog.convert`` flattens each component member into one port per
signal: a stream member ``i`` becomes ``i__payload``, ``i__valid``, ``i__ready``; the
clock and the synchronous, active-high reset of the ``sync`` domain are ``clk`` and
``rst``. A structured payload is a single flat vector: fields of a ``StructLayout``
are packed in declaration order starting at bit 0 (the first field in the least
significant bits), element ``k`` of an ``ArrayLayout`` occupies bits
``[k*W, (k+1)*W)``. :func:`payload_fields` lists those bit ranges, and
:func:`pack` / :func:`unpack` convert between nested Python values and the integers
seen on the ports (for cocotb testbenches).
"""
from __future__ import annotations

from amaranth.back import verilog
from amaranth.hdl import Shape
from amaranth.lib import data

__all__ = ["to_verilog", "write_verilog", "payload_fields", "pack", "unpack"]


def to_verilog(component, name: str) -> str:
    """Verilog source of ``component`` as a module called ``name``."""
    return verilog.convert(component, name=name)


def write_verilog(component, name: str, path) -> str:
    """Write the Verilog of ``component`` (module ``name``) to ``path``; return the source."""
    src = to_verilog(component, name)
    with open(path, "w") as f:
        f.write(src)
    return src


def payload_fields(layout, prefix: str = "") -> dict[str, tuple[int, int]]:
    """``{field path: (lsb, width)}`` of every leaf of a payload shape.

    Paths look like ``"a"``, ``"data[3]"``, ``"x"``; a plain (non-structured) shape
    gives ``{"": (0, width)}``.
    """
    out: dict[str, tuple[int, int]] = {}

    def walk(shape, path, base):
        if isinstance(shape, data.ArrayLayout):
            for k in range(shape.length):
                walk(shape.elem_shape, f"{path}[{k}]", base + k * Shape.cast(shape.elem_shape).width)
        elif isinstance(shape, data.Layout):
            for fname, field in shape:
                walk(field.shape, f"{path}.{fname}" if path else fname, base + field.offset)
        else:
            out[path] = (base, Shape.cast(shape).width)

    walk(layout, prefix, 0)
    return out


def pack(layout, value) -> int:
    """Pack nested dicts/lists/ints into the port integer of ``layout``."""
    if isinstance(layout, data.ArrayLayout):
        w = Shape.cast(layout.elem_shape).width
        return sum(pack(layout.elem_shape, v) << (k * w) for k, v in enumerate(value))
    if isinstance(layout, data.Layout):
        return sum(pack(f.shape, value[name]) << f.offset for name, f in layout)
    w = Shape.cast(layout).width
    v = int(value)
    if not 0 <= v < (1 << w):
        raise ValueError(f"value {v} does not fit {w} bits")
    return v


def unpack(layout, bits: int):
    """Inverse of :func:`pack`: the port integer of ``layout`` as nested dicts/lists/ints."""
    bits = int(bits)
    if isinstance(layout, data.ArrayLayout):
        w = Shape.cast(layout.elem_shape).width
        return [unpack(layout.elem_shape, bits >> (k * w)) for k in range(layout.length)]
    if isinstance(layout, data.Layout):
        return {name: unpack(f.shape, bits >> f.offset) for name, f in layout}
    return bits & ((1 << Shape.cast(layout).width) - 1)
