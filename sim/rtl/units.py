"""What can be simulated: unit specifications, parameter validation, component construction.

A :class:`UnitSpec` names one hardware configuration (what gets built into Verilog);
the direction of an NTT run, vector counts and seeds are run options, not part of it, so a
forward and an inverse run share one build.

Component kinds:

=============  ======================================================  =====================
kind           component                                               test module
=============  ======================================================  =====================
``modmul``     ``hw.modmul.BarrettMultiplier`` / ``MontgomeryMultiplier``  ``tb_elementwise``
               / ``ShoupMultiplier``
``ct``         ``hw.butterfly.CTButterfly``                             ``tb_elementwise``
``gs``         ``hw.butterfly.GSButterfly``                             ``tb_elementwise``
``ntt``        ``hw.ntt.NttUnit`` (forward and inverse)                 ``tb_ntt``
``selftest``   :class:`sim.rtl.selftest.RegisteredAdder` (bench check)  ``tb_elementwise``
``selftest_ntt`` :class:`sim.rtl.selftest.BitrevBuffer` (bench check)   ``tb_ntt``
=============  ======================================================  =====================

``multiplier`` is one of :data:`MULTIPLIERS` (``hw.modmul.MULTIPLIERS``): ``barrett``,
``montgomery`` or ``shoup``. With ``shoup`` the multiplier's constant operand ``w`` comes
with its companion ``w_shoup = floor(w*2^W/q)`` (an extra input field of ``modmul``,
``ct`` and ``gs``; the NTT unit stores it beside each twiddle).
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, field

from sw.primes import check_ntt_modulus, is_power_of_two, is_prime, ntt_primes

KINDS = ("modmul", "ct", "gs", "ntt", "selftest", "selftest_ntt")
ELEMENTWISE = ("modmul", "ct", "gs", "selftest")
TRANSFORM = ("ntt", "selftest_ntt")
MULTIPLIERS = ("barrett", "montgomery", "shoup")
MIN_WIDTH, MAX_WIDTH = 16, 64


class SpecError(ValueError):
    """Invalid simulation parameters (reported as one line by the command line)."""


@dataclass(frozen=True)
class UnitSpec:
    kind: str
    width: int
    q: int
    n: int = 1 << 16          # ring degree; for elementwise units it only chose the default q
    lanes: int = 1            # NTT lanes P
    multiplier: str = "barrett"
    bug: str | None = field(default=None)   # selftest only: inject a known design bug

    def build_key(self) -> dict:
        """The fields that change the generated Verilog."""
        d = asdict(self)
        if self.kind in ELEMENTWISE:
            d.pop("n"), d.pop("lanes")
        if self.kind in ("selftest", "selftest_ntt"):
            d.pop("multiplier")
        if self.kind == "selftest_ntt":
            d.pop("q")
        return d

    @property
    def label(self) -> str:
        parts = [self.kind]
        if self.kind in TRANSFORM:
            parts += [f"n{self.n}", f"P{self.lanes}"]
        parts += [f"W{self.width}", f"q{self.q}"]
        if self.kind not in ("selftest", "selftest_ntt"):
            parts.append(self.multiplier)
        if self.bug:
            parts.append(f"bug-{self.bug}")
        return "_".join(parts)


def default_q(n: int, width: int) -> int:
    """Largest NTT-friendly prime (q = 1 mod 2n) below 2^width."""
    return ntt_primes(n, width, 1)[0]


def make_spec(kind: str, *, width: int, n: int = 1 << 16, q: int | None = None, lanes: int = 1,
              multiplier: str = "barrett", bug: str | None = None) -> UnitSpec:
    """Validate parameters and return a :class:`UnitSpec`; raises :class:`SpecError` (one line)."""
    if kind not in KINDS:
        raise SpecError(f"unknown unit kind {kind!r} (choose from {', '.join(KINDS)})")
    if not isinstance(width, int) or not MIN_WIDTH <= width <= MAX_WIDTH:
        raise SpecError(f"word width W={width} must be an integer in [{MIN_WIDTH}, {MAX_WIDTH}]")
    if not is_power_of_two(n) or n < 2:
        raise SpecError(f"ring degree n={n} must be a power of two >= 2")
    if multiplier not in MULTIPLIERS:
        raise SpecError(f"multiplier {multiplier!r} must be one of {', '.join(MULTIPLIERS)}")
    if kind in TRANSFORM:
        if not is_power_of_two(lanes) or lanes > n // 2:
            raise SpecError(f"lanes P={lanes} must be a power of two with P <= n/2={n // 2}")
    if q is None:
        try:
            q = default_q(n, width)
        except ValueError as e:
            raise SpecError(f"no NTT-friendly prime for n={n} below 2^{width}: {e}") from None
    if not isinstance(q, int) or q < 3:
        raise SpecError(f"modulus q={q} must be an integer >= 3")
    if q >= 1 << width:
        raise SpecError(f"modulus q={q} does not fit in W={width} bits (needs W >= {q.bit_length()})")
    if not is_prime(q):
        raise SpecError(f"modulus q={q} is not prime")
    if kind in TRANSFORM:
        try:
            check_ntt_modulus(q, n, width=width)
        except ValueError as e:
            raise SpecError(str(e)) from None
    return UnitSpec(kind=kind, width=width, q=q, n=n, lanes=lanes, multiplier=multiplier, bug=bug)


def make_component(spec: UnitSpec):
    """Construct the Amaranth component for ``spec`` (imports ``hw`` lazily)."""
    try:
        if spec.kind == "selftest":
            from .selftest import RegisteredAdder
            return RegisteredAdder(spec.q, spec.width, bug=spec.bug)
        if spec.kind == "selftest_ntt":
            from .selftest import BitrevBuffer
            return BitrevBuffer(spec.n, spec.width, spec.lanes)
        if spec.kind == "modmul":
            from hw import modmul
            cls = {"barrett": modmul.BarrettMultiplier, "montgomery": modmul.MontgomeryMultiplier,
                   "shoup": modmul.ShoupMultiplier}[spec.multiplier]
            return cls(spec.q, spec.width)
        if spec.kind in ("ct", "gs"):
            from hw import butterfly
            cls = butterfly.CTButterfly if spec.kind == "ct" else butterfly.GSButterfly
            return cls(spec.q, spec.width, multiplier=spec.multiplier)
        if spec.kind == "ntt":
            from hw import ntt
            return ntt.NttUnit(spec.n, spec.q, spec.width, spec.lanes,
                               multiplier=spec.multiplier)
    except ImportError as e:
        raise SpecError(f"hardware generator for {spec.kind!r} is not available: {e}") from None
    except (ValueError, TypeError) as e:
        raise SpecError(f"{spec.kind} rejected the parameters ({spec.label}): {e}") from None
    raise SpecError(f"unknown unit kind {spec.kind!r}")
