"""The RTL units ``fhesim synth`` synthesises, and how each is built.

Names are ``<kind>-<multiplier>-w<W>`` for the elementwise units (``modmul``, ``ct``, ``gs``),
``ntt-<multiplier>-w<W>-n<n>-p<P>`` for ``hw.ntt.NttUnit`` (``...-halving`` with
``scaling="halving"``: no output multipliers; then ``...-double`` with ``buffering="double"``:
a second data memory), and for the key-switching
units ``mac-<multiplier>-w<W>-p<P>`` (``hw.elementwise.ElementwiseUnit``),
``bconv-<multiplier>-w<W>-k<K>-l<L>-p<P>`` (``hw.bconv.BconvUnit``, ``K -> L`` primes of
:func:`sim.rtl.units.bconv_primes`) and ``automorphism-w<W>-n<n>-p<P>``
(``hw.automorphism.AutomorphismUnit``, Galois element 5, evaluation order; the timing and
resources do not depend on the element). The component comes from
:func:`sim.rtl.units.make_component` (the same constructor as the cocotb benches), with the
same default modulus: the largest ``q = 1 mod 2n`` below ``2^W`` (``n = 2^16`` for the
elementwise units, the transform length for the NTT unit).

The default set keeps each run small (the machine is shared): multipliers at
W = 32, 36 (SHARP's word) and 64, butterflies at W = 32 and 36, NTT units at
``n = 1024`` with ``P`` in 1, 2, 4, 8 (and 16, synthesised only on request; the halving
NTT also double-buffered), and the key-switching units of :data:`KEYSWITCH_UNITS` at W = 36 (10-20 s each with Yosys 0.70).
"""
from __future__ import annotations

import re
from dataclasses import dataclass

NTT_SYNTH_N = 1024
_NAME_RE = re.compile(r"^(modmul|ct|gs)-(barrett|montgomery)-w(\d+)$|"
                      r"^ntt-(barrett|montgomery)-w(\d+)-n(\d+)-p(\d+)(-halving)?(-double)?$")
_KS_RE = re.compile(r"^mac-(?P<mm>barrett|montgomery|shoup)-w(?P<w>\d+)-p(?P<p>\d+)$|"
                    r"^bconv-(?P<bm>barrett|montgomery|shoup)-w(?P<bw>\d+)-k(?P<k>\d+)-l(?P<l>\d+)"
                    r"-p(?P<bp>\d+)$|^automorphism-w(?P<aw>\d+)-n(?P<an>\d+)-p(?P<ap>\d+)$")


@dataclass(frozen=True)
class SynthUnit:
    kind: str            # modmul | ct | gs | ntt
    multiplier: str
    width: int
    n: int = 1 << 16     # elementwise units: only selects q (2^(W-5) when W < 21)
    lanes: int = 1
    src: int = 0         # bconv: source / destination prime counts
    dst: int = 0
    scaling: str = "multiplier"   # ntt: hw.ntt.SCALINGS
    buffering: str = "single"     # ntt: hw.ntt.BUFFERINGS

    @property
    def name(self) -> str:
        if self.kind == "mac":
            return f"mac-{self.multiplier}-w{self.width}-p{self.lanes}"
        if self.kind == "bconv":
            return f"bconv-{self.multiplier}-w{self.width}-k{self.src}-l{self.dst}-p{self.lanes}"
        if self.kind == "automorphism":
            return f"automorphism-w{self.width}-n{self.n}-p{self.lanes}"
        if self.kind == "ntt":
            tail = "" if self.scaling == "multiplier" else f"-{self.scaling}"
            tail += "" if self.buffering == "single" else f"-{self.buffering}"
            return f"ntt-{self.multiplier}-w{self.width}-n{self.n}-p{self.lanes}{tail}"
        return f"{self.kind}-{self.multiplier}-w{self.width}"

    def spec(self):
        from sim.rtl.units import make_spec
        extra = {"src_primes": self.src, "dst_primes": self.dst} if self.kind == "bconv" else {}
        if self.kind == "ntt":
            extra["scaling"], extra["buffering"] = self.scaling, self.buffering
        return make_spec(self.kind, width=self.width, n=self.n, lanes=self.lanes,
                         multiplier=self.multiplier, **extra)

    def component(self):
        from sim.rtl.units import make_component
        return make_component(self.spec())

    def rtlil(self, component=None) -> str:
        """The unit (or the given instance of it) as RTLIL with top module ``top``."""
        from amaranth.back import rtlil
        return rtlil.convert(component if component is not None else self.component(), name="top")


def _parse_keyswitch(m: re.Match) -> SynthUnit:
    g = m.groupdict()
    if g["mm"]:
        w = int(g["w"])
        return SynthUnit("mac", g["mm"], w, min(1 << 16, 1 << max(w - 5, 1)), int(g["p"]))
    if g["bm"]:
        return SynthUnit("bconv", g["bm"], int(g["bw"]), lanes=int(g["bp"]), src=int(g["k"]),
                         dst=int(g["l"]))
    unit = SynthUnit("automorphism", "barrett", int(g["aw"]), int(g["an"]), int(g["ap"]))
    if unit.n > NTT_SYNTH_N:
        raise ValueError(f"{unit.name}: automorphism units are synthesised at n <= {NTT_SYNTH_N}")
    return unit


def parse_unit(name: str) -> SynthUnit:
    ks = _KS_RE.match(name.strip())
    if ks:
        unit = _parse_keyswitch(ks)
        unit.spec()      # validates (SpecError is a ValueError)
        return unit
    m = _NAME_RE.match(name.strip())
    if not m:
        raise ValueError(f"unknown unit {name!r}: expected <modmul|ct|gs>-<barrett|montgomery>-w<W>, "
                         f"ntt-<barrett|montgomery>-w<W>-n<n>-p<P>[-halving][-double], mac-<multiplier>-w<W>-p<P>, "
                         f"bconv-<multiplier>-w<W>-k<K>-l<L>-p<P> or automorphism-w<W>-n<n>-p<P>")
    if m.group(1):
        w = int(m.group(3))
        # q = 1 mod 2n below 2^W needs 2n < 2^W: n = 2^16, or 2^(W-5) for narrow words
        unit = SynthUnit(m.group(1), m.group(2), w, min(1 << 16, 1 << max(w - 5, 1)))
    else:
        unit = SynthUnit("ntt", m.group(4), int(m.group(5)), int(m.group(6)), int(m.group(7)),
                         scaling="halving" if m.group(8) else "multiplier",
                         buffering="double" if m.group(9) else "single")
        if unit.n > 1024:
            raise ValueError(f"{name}: NTT units are synthesised at n <= 1024 (shared machine); "
                             "larger n is extrapolated (docs/cycle-model.md)")
    unit.spec()          # validates width, n, lanes (SpecError is a ValueError)
    return unit


DEFAULT_UNITS: tuple[SynthUnit, ...] = (
    *(SynthUnit("modmul", m, w) for m in ("barrett", "montgomery") for w in (32, 36, 64)),
    SynthUnit("ct", "barrett", 32), SynthUnit("gs", "barrett", 32),
    SynthUnit("ct", "montgomery", 32), SynthUnit("ct", "barrett", 36),
    *(SynthUnit("ntt", "barrett", 32, NTT_SYNTH_N, p, scaling=s) for s in ("multiplier", "halving")
      for p in (1, 2, 4, 8)),
    *(SynthUnit("ntt", "barrett", 32, NTT_SYNTH_N, p, scaling="halving", buffering="double")
      for p in (1, 2, 4, 8)),
)

#: The key-switching units of the default set (W = 36, SHARP's word): one elementwise lane,
#: a 2 -> 1 prime basis conversion lane, an automorphism unit of n = 1024 with P = 8 banks.
KEYSWITCH_UNITS: tuple[SynthUnit, ...] = (
    SynthUnit("mac", "barrett", 36, 1 << 16, 1),
    SynthUnit("bconv", "barrett", 36, lanes=1, src=2, dst=1),
    SynthUnit("automorphism", "barrett", 36, 1024, 8),
)
DEFAULT_UNITS = DEFAULT_UNITS + KEYSWITCH_UNITS
