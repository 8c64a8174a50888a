# amaranth: UnusedElaboratable=no
"""Properties of the RTL units, read from the constructed ``hw`` components.

The cycle model (:mod:`sim.cycle.units`), the on-chip memory rule
(:func:`sim.cycle.config.unit_memory_bytes`) and the resource tables
(:mod:`sim.synth.resources`) take the units' timings and memories from here, and nowhere
else. Each function builds the component with the same modulus as the benches (the largest
``q = 1 mod 2n`` below ``2^W``, :func:`unit_modulus`; for the basis conversion unit the
largest primes of the width, :func:`bconv_unit_primes`), reads its public properties
(``latency``, ``throughput``, ``cycles_per_transform``, ``initiation_interval``,
``cycles_per_row``, ``memory_shapes``, ``memory_words``) and returns plain numbers;
results are cached. Components: ``hw.modmul`` multipliers, ``hw.ntt.NttUnit``,
``hw.elementwise.ElementwiseUnit``, ``hw.bconv.BconvUnit`` and
``hw.automorphism.AutomorphismUnit``.

The components are built only to be read, never elaborated. Amaranth warns about such
elaboratables when they are garbage-collected; the first line of this file is Amaranth's
documented linter switch for that warning (``# amaranth: UnusedElaboratable=no``), which
applies to the components constructed in this file only.

``hw`` (and Amaranth) is imported inside the functions: importing :mod:`sim.cycle` or
loading an accelerator configuration does not import it.
"""
from __future__ import annotations

from functools import lru_cache

from sw.primes import ntt_primes

from .cache import PersistentMemo

#: The units' properties depend only on the ``hw`` sources, the primes they are built with
#: and this file: kept on disk across runs (:mod:`sim.cycle.cache`), keyed by their digest.
_MEMO = PersistentMemo("hwprops", ("hw", "sw/primes.py", "sim/cycle/hwprops.py"))


def unit_modulus(n: int, word_bits: int) -> int:
    """The modulus a unit is constructed with: the largest ``q = 1 mod 2n`` below ``2^W``.

    The unit costs do not depend on ``q`` (only on ``n``, the width and the lanes); any valid
    NTT-friendly prime of the word width gives the same properties.
    """
    return ntt_primes(n, word_bits, 1)[0]


def _ntt_unit(n: int, word_bits: int, lanes: int, multiplier: str, scaling: str = "multiplier",
              buffering: str = "single"):
    """``hw.ntt.NttUnit(n, q, W, lanes, multiplier, scaling=scaling, buffering=buffering)``
    with ``q = unit_modulus(n, W)``."""
    from hw.ntt import NttUnit

    return NttUnit(n, unit_modulus(n, word_bits), word_bits, lanes, multiplier=multiplier,
                   scaling=scaling, buffering=buffering)


def _multiplier_props(multiplier: str, word_bits: int) -> tuple[int, float]:
    """``(latency, throughput)`` of the RTL modular multiplier named ``multiplier``."""
    from hw import modmul

    classes = {"barrett": modmul.BarrettMultiplier, "montgomery": modmul.MontgomeryMultiplier}
    if multiplier not in classes:
        raise ValueError(f"multiplier={multiplier!r} must be one of {sorted(classes)}")
    unit = classes[multiplier](unit_modulus(2, word_bits), word_bits)
    return int(unit.latency), float(unit.throughput)


def _ntt_props(n: int, word_bits: int, lanes: int, multiplier: str,
               scaling: str = "multiplier", buffering: str = "single") -> tuple[int, int]:
    """``(cycles_per_transform, initiation_interval)`` of ``hw.ntt.NttUnit(n, q, W, lanes)``."""
    unit = _ntt_unit(n, word_bits, lanes, multiplier, scaling, buffering)
    return int(unit.cycles_per_transform), int(unit.initiation_interval)


def _ntt_memory_words(n: int, lanes: int, word_bits: int, multiplier: str,
                      buffering: str = "single") -> int:
    """``hw.ntt.NttUnit(n, q, W, P, buffering=...).memory_words`` (data banks + twiddle ROMs
    = ``3n``, ``4n`` double-buffered; the same for either ``scaling``, which changes only
    the inverse ROM's contents)."""
    return int(_ntt_unit(n, word_bits, lanes, multiplier, buffering=buffering).memory_words)


def _ntt_memory_shapes(n: int, lanes: int, word_bits: int, multiplier: str,
                       buffering: str = "single") -> tuple:
    """``hw.ntt.NttUnit(n, q, W, P, buffering=...).memory_shapes()``: ``(name, depth,
    width)`` per memory (the same for either ``scaling``)."""
    return tuple(_ntt_unit(n, word_bits, lanes, multiplier, buffering=buffering).memory_shapes())


#: Lanes the beat-pipelined units (elementwise, basis conversion) are constructed with to
#: read their timing. Their ``P`` lanes are ``P`` copies of one datapath sharing the stream
#: handshake, so ``latency`` and ``throughput`` (beats per cycle) do not depend on ``P``
#: (``tests/test_cycle_units.py`` checks this at several ``P``); constructing them with
#: thousands of lanes only costs time.
PROPS_LANES = 1


def _elementwise_props(multiplier: str, word_bits: int, lanes: int = PROPS_LANES) -> tuple[int, float]:
    """``(latency, throughput)`` of ``hw.elementwise.ElementwiseUnit(q, W, lanes, multiplier)``.

    ``throughput`` is in beats (``lanes`` residues) per cycle; every op (``mac``, ``msub``,
    ``add``, ``sub``) has the same latency.
    """
    from hw.elementwise import ElementwiseUnit

    unit = ElementwiseUnit(unit_modulus(2, word_bits), word_bits, lanes, multiplier=multiplier)
    return int(unit.latency), float(unit.throughput)


def bconv_unit_primes(src: int, dst: int, word_bits: int) -> tuple[tuple[int, ...], tuple[int, ...]]:
    """``src`` + ``dst`` distinct primes below ``2^W`` for constructing a conversion unit
    (its timing depends on the prime counts, not on the primes)."""
    ps = ntt_primes(2, word_bits, src + dst)
    return tuple(ps[:src]), tuple(ps[src:])


def _bconv_props(src: int, dst: int, word_bits: int, multiplier: str,
                lanes: int = PROPS_LANES) -> tuple[int, float]:
    """``(latency, throughput)`` of ``hw.bconv.BconvUnit`` converting ``src`` to ``dst``
    primes, ``lanes`` coefficients per beat (``throughput`` in beats per cycle)."""
    from hw.bconv import BconvUnit

    s, d = bconv_unit_primes(src, dst, word_bits)
    unit = BconvUnit(s, d, word_bits, lanes, multiplier=multiplier)
    return int(unit.latency), float(unit.throughput)


def automorphism_galois(n: int) -> int:
    """The Galois element the cost model constructs the unit with: 5 (a rotation), or 1
    for ``n = 2`` (the timing does not depend on it)."""
    return 5 % (2 * n)


def _automorphism_props(n: int, word_bits: int, lanes: int) -> tuple[int, int]:
    """``(cycles_per_row, initiation_interval)`` of ``hw.automorphism.AutomorphismUnit``
    on rows of ``n`` with ``lanes`` banks (``lanes`` must divide ``n``)."""
    from hw.automorphism import AutomorphismUnit

    unit = AutomorphismUnit(n, unit_modulus(n, word_bits), word_bits, lanes,
                            automorphism_galois(n), order="eval")
    return int(unit.cycles_per_row), int(unit.initiation_interval)


# ---- cached entry points (in process: lru_cache; across runs: _MEMO) ------------------


@lru_cache(maxsize=None)
def multiplier_props(multiplier: str, word_bits: int) -> tuple[int, float]:
    """Cached :func:`_multiplier_props` (see its docstring)."""
    return _MEMO.get("multiplier_props", (multiplier, word_bits,), lambda: _multiplier_props(multiplier, word_bits))


@lru_cache(maxsize=None)
def ntt_props(n: int, word_bits: int, lanes: int, multiplier: str,
              scaling: str = "multiplier", buffering: str = "single") -> tuple[int, int]:
    """Cached :func:`_ntt_props` (see its docstring)."""
    return _MEMO.get("ntt_props", (n, word_bits, lanes, multiplier, scaling, buffering),
                     lambda: _ntt_props(n, word_bits, lanes, multiplier, scaling, buffering))


@lru_cache(maxsize=None)
def ntt_memory_words(n: int, lanes: int, word_bits: int, multiplier: str,
                     buffering: str = "single") -> int:
    """Cached :func:`_ntt_memory_words` (see its docstring)."""
    return _MEMO.get("ntt_memory_words", (n, lanes, word_bits, multiplier, buffering),
                     lambda: _ntt_memory_words(n, lanes, word_bits, multiplier, buffering))


@lru_cache(maxsize=None)
def ntt_memory_shapes(n: int, lanes: int, word_bits: int, multiplier: str,
                      buffering: str = "single") -> tuple:
    """Cached :func:`_ntt_memory_shapes` (see its docstring)."""
    return _MEMO.get("ntt_memory_shapes", (n, lanes, word_bits, multiplier, buffering),
                     lambda: _ntt_memory_shapes(n, lanes, word_bits, multiplier, buffering))


@lru_cache(maxsize=None)
def elementwise_props(multiplier: str, word_bits: int, lanes: int = PROPS_LANES) -> tuple[int, float]:
    """Cached :func:`_elementwise_props` (see its docstring)."""
    return _MEMO.get("elementwise_props", (multiplier, word_bits, lanes,), lambda: _elementwise_props(multiplier, word_bits, lanes))


@lru_cache(maxsize=None)
def bconv_props(src: int, dst: int, word_bits: int, multiplier: str, lanes: int = PROPS_LANES) -> tuple[int, float]:
    """Cached :func:`_bconv_props` (see its docstring)."""
    return _MEMO.get("bconv_props", (src, dst, word_bits, multiplier, lanes,), lambda: _bconv_props(src, dst, word_bits, multiplier, lanes))


@lru_cache(maxsize=None)
def automorphism_props(n: int, word_bits: int, lanes: int) -> tuple[int, int]:
    """Cached :func:`_automorphism_props` (see its docstring)."""
    return _MEMO.get("automorphism_props", (n, word_bits, lanes,), lambda: _automorphism_props(n, word_bits, lanes))
