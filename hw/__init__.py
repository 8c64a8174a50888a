"""fhesim hardware generators (Amaranth 0.5). ``hw`` may import ``sw`` but never ``sim``.

Modules: :mod:`hw.pipeline` (enable-gated pipelines, stream handshake),
:mod:`hw.modmul` (Barrett / Montgomery / Shoup multipliers), :mod:`hw.butterfly`
(CT / GS butterflies), :mod:`hw.ntt` (NTT unit), :mod:`hw.bconv` (basis conversion),
:mod:`hw.automorphism` (``X -> X^g``), :mod:`hw.elementwise` (modular multiply-accumulate,
add, subtract), :mod:`hw.emit` (Verilog emission,
port payload packing), :mod:`hw.simtools` (Amaranth-simulator stream drivers).
"""
