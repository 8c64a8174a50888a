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
``mac``        ``hw.elementwise.ElementwiseUnit`` (``P`` lanes of          ``tb_mac``
               ``c +- a*b``, ``c +- a``)
``bconv``      ``hw.bconv.BconvUnit`` (``src_primes -> dst_primes``,      ``tb_bconv``
               ``P`` coefficients per beat)
``automorphism`` ``hw.automorphism.AutomorphismUnit`` (``X -> X^galois``,   ``tb_automorphism``
               ``order`` ``coeff`` or ``eval``, ``P`` lanes)
=============  ======================================================  =====================

For ``bconv`` the modulus is the prime lists: ``src_primes`` and ``dst_primes`` are given
as lists of distinct primes below ``2^W`` (none shared), or as counts, in which case they
are the ``k + l`` largest primes ``= 1 mod 2n`` below ``2^W`` (:func:`bconv_primes`:
deterministic in ``n`` and ``W``; ``q`` is then ``src_primes[0]``, a label only). For
``automorphism`` ``galois`` is the odd Galois element in ``(0, 2n)`` (default 5, a
rotation by one slot) and ``lanes`` must divide ``n``.

``multiplier`` is one of :data:`MULTIPLIERS` (``hw.modmul.MULTIPLIERS``): ``barrett``,
``montgomery`` or ``shoup``. With ``shoup`` the multiplier's constant operand ``w`` comes
with its companion ``w_shoup = floor(w*2^W/q)`` (an extra input field of ``modmul``,
``ct`` and ``gs``; the NTT unit stores it beside each twiddle).
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, field

from sw.primes import check_ntt_modulus, is_power_of_two, is_prime, ntt_primes

KINDS = ("modmul", "ct", "gs", "ntt", "selftest", "selftest_ntt", "mac", "bconv", "automorphism")
ELEMENTWISE = ("modmul", "ct", "gs", "selftest")
TRANSFORM = ("ntt", "selftest_ntt")
#: Kinds whose beats carry ``lanes`` independent coefficients (pipelines, one beat a cycle).
TILED = ("mac", "bconv")
#: Kinds that work on whole rows of ``n`` elements (``n / lanes`` beats per row).
ROW = TRANSFORM + ("automorphism",)
AUTOMORPHISM_ORDERS = ("coeff", "eval")
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
    src_primes: tuple[int, ...] = ()        # bconv: source primes q_i
    dst_primes: tuple[int, ...] = ()        # bconv: destination primes p_j
    galois: int = 0                         # automorphism: Galois element
    order: str = ""                         # automorphism: "coeff" or "eval"
    scaling: str = "multiplier"             # ntt: hw.ntt.SCALINGS ("halving": no output multiplier)
    buffering: str = "single"               # ntt: hw.ntt.BUFFERINGS ("double": two data memories)

    def build_key(self) -> dict:
        """The fields that change the generated Verilog."""
        d = asdict(self)
        if self.kind != "bconv":
            d.pop("src_primes"), d.pop("dst_primes")
        else:
            d.pop("q"), d.pop("n")
        if self.kind != "automorphism":
            d.pop("galois"), d.pop("order")
        if self.kind != "ntt":
            d.pop("scaling"), d.pop("buffering")
        if self.kind == "mac":
            d.pop("n")
        if self.kind in ELEMENTWISE:
            d.pop("n"), d.pop("lanes")
        if self.kind in ("selftest", "selftest_ntt", "automorphism"):
            d.pop("multiplier")
        if self.kind == "selftest_ntt":
            d.pop("q")
        return d

    @property
    def label(self) -> str:
        parts = [self.kind]
        if self.kind in ROW:
            parts += [f"n{self.n}", f"P{self.lanes}"]
        if self.kind in TILED:
            parts.append(f"P{self.lanes}")
        if self.kind == "automorphism":
            parts += [f"g{self.galois}", self.order]
        if self.kind == "bconv":
            parts += [f"W{self.width}", f"k{len(self.src_primes)}", f"l{len(self.dst_primes)}",
                      f"q{self.src_primes[0]}"]
        else:
            parts += [f"W{self.width}", f"q{self.q}"]
        if self.kind not in ("selftest", "selftest_ntt", "automorphism"):
            parts.append(self.multiplier)
        if self.kind == "ntt" and self.scaling != "multiplier":
            parts.append(self.scaling)
        if self.kind == "ntt" and self.buffering != "single":
            parts.append(self.buffering)
        if self.bug:
            parts.append(f"bug-{self.bug}")
        return "_".join(parts)


def default_q(n: int, width: int) -> int:
    """Largest NTT-friendly prime (q = 1 mod 2n) below 2^width."""
    return ntt_primes(n, width, 1)[0]


def bconv_primes(k: int, l: int, width: int, n: int = 1 << 16) -> tuple[tuple[int, ...], tuple[int, ...]]:
    """``k`` source and ``l`` destination primes for a ``bconv`` spec given by counts.

    The ``k + l`` largest primes ``= 1 mod 2m`` below ``2^width`` with
    ``m = min(n, 2^(width - 6))`` (NTT-friendly, as the primes of an RNS basis are; the
    cap leaves enough candidates for narrow words): the first ``k`` are the source primes.
    """
    m = max(1, min(n, 1 << (width - 6)))
    try:
        ps = ntt_primes(m, width, k + l)
    except ValueError as e:
        raise SpecError(f"not enough primes = 1 mod {2 * m} below 2^{width} for "
                        f"src_primes={k} + dst_primes={l}: {e}") from None
    return tuple(ps[:k]), tuple(ps[k:k + l])


def _prime_list(value, name: str, width: int) -> tuple[int, ...]:
    """A list of distinct primes below ``2^width`` (the unit's own check,
    :func:`hw.bconv.check_prime_list`); raises :class:`SpecError` naming ``name``."""
    from hw.bconv import check_prime_list

    try:
        return check_prime_list(value, name, width)
    except ValueError as e:
        raise SpecError(str(e)) from None


def _bconv_fields(src, dst, width: int, n: int) -> dict:
    """Validated ``src_primes``/``dst_primes`` of a ``bconv`` spec (counts or prime lists)."""
    counts = [isinstance(v, int) and not isinstance(v, bool) for v in (src, dst)]
    for name, v, is_count in (("src_primes", src, counts[0]), ("dst_primes", dst, counts[1])):
        if is_count and not 1 <= v <= 16:
            raise SpecError(f"{name}={v} must be a prime count in [1, 16] or a list of primes")
    if all(counts):
        src, dst = bconv_primes(src, dst, width, n)
    elif counts[0]:      # a count beside a list: the largest primes not in the list
        given = _prime_list(dst, "dst_primes", width)
        pool = sum(bconv_primes(src + len(given), 0, width, n), ())
        src = tuple(p for p in pool if p not in given)[:src]
    elif counts[1]:
        given = _prime_list(src, "src_primes", width)
        pool = sum(bconv_primes(dst + len(given), 0, width, n), ())
        dst = tuple(p for p in pool if p not in given)[:dst]
    src, dst = _prime_list(src, "src_primes", width), _prime_list(dst, "dst_primes", width)
    common = sorted(set(src) & set(dst))
    if common:
        raise SpecError(f"dst_primes shares {common} with src_primes (a destination prime "
                        "must differ from every source prime)")
    return {"src_primes": src, "dst_primes": dst}


def _check_lanes(kind: str, lanes, n: int) -> None:
    if isinstance(lanes, bool) or not isinstance(lanes, int) or lanes < 1:
        raise SpecError(f"lanes P={lanes!r} must be an integer >= 1")
    if kind in TRANSFORM and (not is_power_of_two(lanes) or lanes > n // 2):
        raise SpecError(f"lanes P={lanes} must be a power of two with P <= n/2={n // 2}")
    if kind == "automorphism" and n % lanes:
        raise SpecError(f"lanes P={lanes} must divide the row length n={n}")


def _check_galois(galois, order, n: int) -> tuple[int, str]:
    if galois is None:
        galois = 5 % (2 * n)
    if isinstance(galois, bool) or not isinstance(galois, int) or galois % 2 == 0 \
            or not 0 < galois < 2 * n:
        raise SpecError(f"galois element k={galois!r} must be an odd integer in (0, 2n={2 * n})")
    if order not in AUTOMORPHISM_ORDERS:
        raise SpecError(f"order={order!r} must be one of {', '.join(AUTOMORPHISM_ORDERS)}")
    if n > 1 << 16:
        raise SpecError(f"ring degree n={n} must be at most 2^16 for the automorphism unit")
    return galois, order


def _ntt_fields(kind: str, scaling: str, buffering: str) -> dict:
    """``scaling`` and ``buffering`` checked against :mod:`hw.ntt` (``ntt`` only; the
    defaults for every kind)."""
    out = {}
    for name, value, default, choices in (("scaling", scaling, "multiplier", "SCALINGS"),
                                          ("buffering", buffering, "single", "BUFFERINGS")):
        if value == default:
            continue
        if kind != "ntt":
            raise SpecError(f"{name} applies to ntt only, not {kind}")
        from hw import ntt
        allowed = getattr(ntt, choices)
        if value not in allowed:
            raise SpecError(f"{name} {value!r} must be one of {', '.join(allowed)}")
        out[name] = value
    return out


def make_spec(kind: str, *, width: int, n: int = 1 << 16, q: int | None = None, lanes: int = 1,
              multiplier: str = "barrett", bug: str | None = None, src_primes=None,
              dst_primes=None, galois: int | None = None, order: str = "eval",
              scaling: str = "multiplier", buffering: str = "single") -> UnitSpec:
    """Validate parameters and return a :class:`UnitSpec`; raises :class:`SpecError` (one line).

    ``src_primes``/``dst_primes`` (``bconv`` only): prime counts or lists of primes;
    ``galois``/``order`` (``automorphism`` only): the Galois element and the row order;
    ``scaling``, ``buffering`` (``ntt`` only): :data:`hw.ntt.SCALINGS`,
    :data:`hw.ntt.BUFFERINGS`.
    """
    if kind not in KINDS:
        raise SpecError(f"unknown unit kind {kind!r} (choose from {', '.join(KINDS)})")
    if isinstance(width, bool) or not isinstance(width, int) or not MIN_WIDTH <= width <= MAX_WIDTH:
        raise SpecError(f"word width W={width} must be an integer in [{MIN_WIDTH}, {MAX_WIDTH}]")
    if isinstance(n, bool) or not isinstance(n, int) or not is_power_of_two(n) or n < 2:
        raise SpecError(f"ring degree n={n} must be a power of two >= 2")
    if multiplier not in MULTIPLIERS:
        raise SpecError(f"multiplier {multiplier!r} must be one of {', '.join(MULTIPLIERS)}")
    _check_lanes(kind, lanes, n)
    extra: dict = {}
    if kind == "bconv":
        extra = _bconv_fields(2 if src_primes is None else src_primes,
                              1 if dst_primes is None else dst_primes, width, n)
        q = extra["src_primes"][0] if q is None else q
        if q != extra["src_primes"][0]:
            raise SpecError(f"q={q} is not used by bconv (give src_primes and dst_primes)")
    elif src_primes is not None or dst_primes is not None:
        raise SpecError(f"src_primes/dst_primes apply to bconv only, not {kind}")
    extra.update(_ntt_fields(kind, scaling, buffering))
    if kind == "automorphism":
        extra["galois"], extra["order"] = _check_galois(galois, order, n)
    elif galois is not None:
        raise SpecError(f"galois applies to automorphism only, not {kind}")
    if q is None:
        try:
            q = default_q(n, width)
        except ValueError as e:
            raise SpecError(f"no NTT-friendly prime for n={n} below 2^{width}: {e}") from None
    if isinstance(q, bool) or not isinstance(q, int) or q < 3:
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
    return UnitSpec(kind=kind, width=width, q=q, n=n, lanes=lanes, multiplier=multiplier, bug=bug,
                    **extra)


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
                               multiplier=spec.multiplier, scaling=spec.scaling,
                               buffering=spec.buffering)
        if spec.kind == "mac":
            from hw.elementwise import ElementwiseUnit
            return ElementwiseUnit(spec.q, spec.width, spec.lanes, multiplier=spec.multiplier)
        if spec.kind == "bconv":
            from hw.bconv import BconvUnit
            return BconvUnit(spec.src_primes, spec.dst_primes, spec.width, spec.lanes,
                             multiplier=spec.multiplier)
        if spec.kind == "automorphism":
            from hw.automorphism import AutomorphismUnit
            return AutomorphismUnit(spec.n, spec.q, spec.width, spec.lanes, spec.galois,
                                    order=spec.order)
    except ImportError as e:
        raise SpecError(f"hardware generator for {spec.kind!r} is not available: {e}") from None
    except (ValueError, TypeError) as e:
        raise SpecError(f"{spec.kind} rejected the parameters ({spec.label}): {e}") from None
    raise SpecError(f"unknown unit kind {spec.kind!r}")
