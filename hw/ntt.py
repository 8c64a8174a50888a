"""Iterative in-place negacyclic NTT unit (forward CT and inverse GS) with P parallel butterflies.

Arithmetic (docs/architecture.md, tables from :func:`sw.ntt_tables.ntt_tables`):

* forward, Cooley-Tukey, natural order in, bit-reversed out: stage ``s`` has
  ``m = 2^s`` groups of half-size ``t = n/2^(s+1)``; group ``i`` pairs
  ``(j, j+t)`` for ``j`` in ``[2it, 2it+t)`` with twiddle ``fwd[m+i]``;
* inverse, Gentleman-Sande, bit-reversed in, natural out: stage ``s`` has
  ``h = n/2^(s+1)`` groups of half-size ``t = 2^s``, twiddle ``inv[h+i]``; the
  result is multiplied by ``n_inv``.

In both directions a stage with half-size ``t`` pairs the same elements and uses
the twiddle at table index ``n/(2t) + j // (2t)``; only the order of ``t``, the
table, and the butterfly (CT or GS) differ. Every butterfly output is
canonical, so after stage ``s`` the memory holds exactly the textbook array.

Architecture
------------
* **Memory**: the ``n`` words are ``R = n/P`` rows of ``P`` words (row ``r`` holds
  elements ``rP .. rP+P-1``), split over two single-read single-write banks:
  row ``r`` lives in bank ``parity(r)`` (XOR of its bits) at address ``r >> 1``.
  The two rows a butterfly block needs always differ in one bit, hence sit in
  different banks, so one block is read and written per cycle without conflict.
* **Blocks**: a stage is ``B = n/(2P)`` blocks, one issued per cycle. Block ``b``
  of a stage with half-size ``t`` reads rows ``rA`` (``b`` with a zero inserted
  at bit ``k = max(log2(t) - log2(P), 0)``) and ``rB = rA + 2^k``. Lane ``l``
  takes elements ``e0 = (l >> lt')*2^(lt'+1) + (l mod 2^lt')`` and ``e1 = e0 + 2^lt'``
  (``lt' = min(log2 t, log2 P)``) of the ``2P``-word vector ``rowA ++ rowB``: the
  identity crossbar when ``t >= P``, a fixed permutation otherwise.
* **Pipeline** (per block): issue (bank and twiddle-ROM read) -> 1 cycle -> unified
  CT/GS butterfly (:class:`hw.butterfly.UnifiedButterflyDatapath`, ``Lb`` stages)
  -> write back in place. The next stage starts after the last write of the
  current one: each stage takes ``T = B + Lb + 1`` cycles.
* **Twiddles**, stored in the form the multiplier takes a constant in
  (:meth:`hw.modmul.BarrettDatapath.stored_constant`): plain ``w`` (Barrett), the
  Montgomery form ``w*2^W mod q`` (Montgomery), or the pair ``(w, w')`` with the Shoup
  companion ``w' = floor(w*2^W/q)`` (Shoup; :meth:`sw.ntt_tables.NttTables.fwd_shoup`),
  packed as one ``2W``-bit ROM word ``w | w' << W``. Stages with ``t >= P`` use one
  twiddle per block, read from a narrow ROM of ``2n/P`` entries; each of the ``log2(P)``
  stages with ``t < P`` uses ``P/t`` distinct twiddles per block, read as one
  ``P/t``-twiddle entry of that stage's own ROM (``2B`` entries: ``n/t`` twiddles). Every
  stored twiddle is a different table entry, so the ROMs hold ``2n/P + sum_t n/t = 2n``
  twiddles for every ``P`` (the two tables, entry 0 of each unused): ``2n`` words, or
  ``4n`` ``W``-bit words with Shoup; lane ``l`` of a ``t < P`` block takes twiddle
  ``l >> log2(t)`` of the entry. See :meth:`NttUnit.twiddle_roms` and
  :attr:`NttUnit.twiddle_rom_words`.
* **Output**: rows are read in order ``0 .. R-1`` into an output pipeline of ``P``
  modular multipliers (``Lm`` stages) multiplying by ``n_inv`` (inverse) or 1
  (forward), so both directions have the same timing. The output pipeline stalls
  as a whole under back-pressure.
* **Scaling** (``scaling``): ``"multiplier"`` (default) is the output pipeline above.
  ``"halving"`` folds ``n^-1 = 2^-log2(n)`` into the inverse butterflies instead: each
  Gentleman-Sande butterfly halves its sum without a multiplier
  (:func:`hw.pipeline.canonical_half`) and the inverse twiddles are stored as
  ``w*2^-1 mod q``, so every inverse stage divides by 2 and the last one leaves the array
  scaled by ``n^-1``. The output multipliers are gone (``Lm = 0``: half the multipliers
  of the unit, the same results); after inverse stage ``s`` the memory then holds the
  textbook array times ``2^-(s+1)``. The forward transform is unchanged.

Control: ``LOAD`` (``R`` input beats) -> ``COMPUTE`` (``log2(n)`` stages of ``T``
cycles) -> ``UNLOAD`` (``R`` row reads, then back to ``LOAD``: the next transform
may be loaded while the last rows are still leaving the output pipeline). The
bank read ports double as the first output-pipeline register, so ``COMPUTE``
waits (issues nothing) while that register still holds a row of the previous
transform; this only happens when the output was back-pressured, never in the
unstalled timing below.

Timing without stalls (``R = n/P``, ``B = n/(2P)``, ``Lb`` butterfly latency,
``Lm`` multiplier latency, ``T = B + Lb + 1``): ``latency = log2(n)*T + Lm + 2``;
``cycles_per_transform = 2R + log2(n)*T + Lm + 1``; back-to-back transforms start
every ``initiation_interval = 2R + log2(n)*T`` cycles. With Barrett or Montgomery
(``Lm = 4``, ``Lb = 6``): ``T = n/(2P) + 7``, ``latency = log2(n)*(n/(2P) + 7) + 6``; with
Shoup (``Lm = 3``, ``Lb = 5``): ``T = n/(2P) + 6``, ``latency = log2(n)*(n/(2P) + 6) + 5``.

Buffering (``buffering``): ``"single"`` (default) is the control above, one data
memory. ``"double"`` adds a second memory (two more banks, ``n`` more words) so the
input/output side and the butterflies work at once: while the butterflies compute the
transform in memory ``cs``, the other memory unloads the previous result and then loads
the next input. The memories swap (one cycle, ``cs`` flips) when the butterflies are idle
or done and the other memory is full, or is empty while a result waits; never while the
first output register still holds a row of the other memory. So a result already computed
leaves only once the next input, if one has started, is fully loaded; and back to back,
transforms finish every ``initiation_interval = max(log2(n)*T, 2R) + 1 = log2(n)*T + 1``
cycles (the stages hide unload and load), against ``2R + log2(n)*T`` single-buffered.
One swap before and one after the stages add 2 to ``latency`` and ``cycles_per_transform``.

Fault injection (``fault=``, for testing error detection; elaboration-time only, so a unit
built without it has no fault logic at all):

* twiddle fault ``{"twiddle_address": k, "twiddle_bit": b}``: bit ``b`` of stored twiddle
  ``k`` is flipped in the ROM contents (no logic; with Shoup, bits ``W .. 2W-1`` of the
  ``2W``-bit ROM word are the companion's);
* butterfly-output fault ``{"butterfly_stage": s, "butterfly_index": i, "butterfly_bit": b,
  "butterfly_direction": "forward" | "inverse" | "both"}``: when stage ``s`` writes element
  ``i`` of the array back (the value of element ``i`` after stage ``s``), bit ``b`` of the
  written word is flipped. This adds a one-bit XOR on each of the two rows written per
  cycle, enabled by comparing the stage counter, the direction and the write row with
  constants; nothing when the key is absent.
"""
from __future__ import annotations

from types import SimpleNamespace

from amaranth.hdl import Const, Module, Mux, Signal, unsigned
from amaranth.lib import data, stream, wiring
from amaranth.lib.memory import Memory
from amaranth.lib.wiring import In, Out

from sw.modred import check_width, twiddle_to_montgomery
from sw.ntt_tables import ntt_tables, shoup
from sw.primes import check_ntt_modulus, is_power_of_two

from .butterfly import UnifiedButterflyDatapath
from .modmul import make_datapath
from .pipeline import Pipe

__all__ = ["NttUnit", "BUFFERINGS", "MIN_LOG_N", "MAX_LOG_N", "SCALINGS", "TESTED_LANES",
           "check_lanes", "valid_lanes"]

MIN_LOG_N = 3
MAX_LOG_N = 17
#: Lane counts checked in simulation (``tests/test_hw_ntt.py``, ``tests/test_hw_ntt_lanes.py``,
#: the cocotb regression). Any power of two ``P <= n/2`` is accepted: the architecture is
#: the same for every ``P`` (``P/t``-word twiddle ROMs, a fixed crossbar per stage).
TESTED_LANES = (1, 2, 4, 8, 16, 32)
#: How the inverse transform is scaled by ``n^-1`` (module docstring, *Scaling*).
SCALINGS = ("multiplier", "halving")
#: How many data memories the unit has (module docstring, *Buffering*).
BUFFERINGS = ("single", "double")


def check_lanes(lanes, n: int) -> int:
    """Validate ``P``: a power of two with ``1 <= P <= n/2``; return it (raises ``ValueError``)."""
    if isinstance(lanes, bool) or not isinstance(lanes, int) or lanes < 1 or lanes & (lanes - 1):
        raise ValueError(f"lanes={lanes!r} must be a power of two (1, 2, 4, ...)")
    if lanes > n // 2:
        raise ValueError(f"lanes={lanes} must be at most n/2={n // 2}")
    return lanes


def valid_lanes(n: int) -> tuple[int, ...]:
    """Every lane count ``NttUnit`` accepts at length ``n``: ``1, 2, 4, ..., n/2``."""
    return tuple(1 << k for k in range(max(n.bit_length() - 2, 0) + 1) if (1 << k) <= n // 2)

_LOAD, _COMPUTE, _UNLOAD = 0, 1, 2
# buffering="double": the butterflies' set (empty / computing / done) and the other set
# (loading, with row counter 0 = empty / full / unloading)
_C_EMPTY, _C_RUN, _C_DONE = 0, 1, 2
_IO_LOAD, _IO_FULL, _IO_UNLOAD = 0, 1, 2


def _log2(x: int) -> int:
    return x.bit_length() - 1


class NttUnit(wiring.Component):
    """Forward and inverse negacyclic NTT of length ``n`` over ``Z_q`` with ``lanes`` butterflies.

    Parameters
    ----------
    n : int
        Transform length, a power of two in ``[2^3, 2^17]``.
    q : int
        Prime with ``q = 1 (mod 2n)`` and ``q < 2^width``.
    width : int
        Word width ``W`` in ``[16, 64]``.
    lanes : int
        ``P``, number of parallel butterflies and words per stream beat: a power of two
        with ``P <= n/2`` (simulated for ``P`` in :data:`TESTED_LANES`).
    multiplier : {"barrett", "montgomery", "shoup"}
        Modular multiplier of the butterflies and the output scaler. Inputs and outputs
        are plain residues with each (only the ROM contents change: Montgomery forms, or
        twiddles with their Shoup companions). Shoup shortens the butterfly and the scaler
        by one stage each (``latency`` and ``stage_cycles`` follow).
    scaling : {"multiplier", "halving"}
        How the inverse is scaled by ``n^-1`` (module docstring, *Scaling*): an output
        pipeline of ``P`` modular multipliers (default), or halving butterflies and no
        output multiplier (``scaler_latency = 0``).
    buffering : {"single", "double"}
        One data memory (default), or two, loading and unloading one while the butterflies
        work on the other (module docstring, *Buffering*): the initiation interval drops
        from ``2R + log2(n) T`` to ``log2(n) T + 1`` for ``n`` more words of RAM.
    fault : dict, optional
        Fault injection for testing error detection (see the module docstring); one or
        both of:

        * ``{"twiddle_address": k, "twiddle_bit": b}`` (``b`` default 0) flips bit ``b``
          of stored twiddle ``k`` wherever the ROMs hold it (``0 <= k < n``: ``fwd[k]``;
          ``n <= k < 2n``: ``inv[k-n]``), see :meth:`twiddle_table_words`; ``b < W``, or
          ``b < 2W`` with Shoup (``b >= W`` flips bit ``b - W`` of the companion,
          :meth:`twiddle_companion_words`);
        * ``{"butterfly_stage": s, "butterfly_index": i, "butterfly_bit": b,
          "butterfly_direction": d}`` (``b`` default 0, ``d`` in ``"forward"``,
          ``"inverse"``, ``"both"``, default ``"both"``) flips bit ``b`` (``< W``) of
          element ``i`` (``< n``) of the array written back by stage ``s`` (``< log2 n``),
          in transforms of direction ``d``: the array after stage ``s`` then differs from
          the fault-free one in exactly that element, by ``2^b``.
    debug : bool
        Add the ``dbg`` output (see Members).

    Members
    -------
    i : ``In(stream.Signature(StructLayout({"data": ArrayLayout(unsigned(W), P), "inverse": unsigned(1)})))``
        ``n/P`` beats per transform; beat ``r`` lane ``k`` is element ``r*P + k``.
        ``inverse`` is sampled on the first beat. Forward input is in natural order,
        inverse input in bit-reversed order. Elements must be in ``[0, q)``.
    o : ``Out(stream.Signature(ArrayLayout(unsigned(W), P)))``
        ``n/P`` beats; beat ``r`` lane ``k`` is element ``r*P + k`` of the result
        (forward: bit-reversed order; inverse: natural order, scaled by ``n^-1``).
        Canonical in ``[0, q)``.
    dbg : ``Out(StructLayout(...))``, only with ``debug=True``
        Debug tap of the in-place write-back: ``valid`` (1 when a block is written this
        cycle), ``stage`` (0-based stage index), ``row_a``/``row_b`` (row indices) and
        ``data_a``/``data_b`` (the ``P`` words written to them). After the last block of
        stage ``s`` the rows seen so far form the textbook array after stage ``s`` (with
        ``scaling="halving"``, inverse stage ``s``: that array times ``2^-(s+1)``).
    """

    def __init__(self, n: int, q: int, width: int, lanes: int, multiplier: str = "barrett", *,
                 scaling: str = "multiplier", buffering: str = "single", fault: dict | None = None,
                 debug: bool = False):
        if not isinstance(n, int) or isinstance(n, bool) or not is_power_of_two(n):
            raise ValueError(f"n={n!r} must be a power of two")
        if not (1 << MIN_LOG_N) <= n <= (1 << MAX_LOG_N):
            raise ValueError(f"n={n} must lie in [2^{MIN_LOG_N}, 2^{MAX_LOG_N}]")
        check_lanes(lanes, n)
        check_width(width)
        if not isinstance(q, int) or isinstance(q, bool):
            raise ValueError(f"modulus q={q!r} must be an integer")
        check_ntt_modulus(q, n, width=width)
        self._mul = make_datapath(multiplier, q, width)    # validates multiplier
        if not isinstance(scaling, str) or scaling not in SCALINGS:
            raise ValueError(f"scaling={scaling!r} must be one of {', '.join(SCALINGS)}")
        self.scaling = scaling
        if not isinstance(buffering, str) or buffering not in BUFFERINGS:
            raise ValueError(f"buffering={buffering!r} must be one of {', '.join(BUFFERINGS)}")
        self.buffering = buffering
        self._bf = UnifiedButterflyDatapath(q, width, multiplier, halving=scaling == "halving")
        self._words = self._mul.constant_words              # W-bit words per stored constant

        self.n, self.q, self.width, self.lanes, self.multiplier = n, q, width, lanes, multiplier
        self.tables = ntt_tables(q, n)
        self.debug = bool(debug)
        self.fault = self._check_fault(fault)

        W, P = width, lanes
        members = {
            "i": In(stream.Signature(data.StructLayout({
                "data": data.ArrayLayout(unsigned(W), P), "inverse": unsigned(1)}))),
            "o": Out(stream.Signature(data.ArrayLayout(unsigned(W), P))),
        }
        if self.debug:
            members["dbg"] = Out(self.debug_layout)
        super().__init__(members)

    #: Keys accepted in ``fault`` (see the class docstring).
    TWIDDLE_FAULT_KEYS = ("twiddle_address", "twiddle_bit")
    BUTTERFLY_FAULT_KEYS = ("butterfly_stage", "butterfly_index", "butterfly_bit",
                            "butterfly_direction")
    FAULT_DIRECTIONS = ("forward", "inverse", "both")

    def _check_fault(self, fault):
        if fault is None:
            return None
        if not isinstance(fault, dict):
            raise ValueError(f"fault={fault!r} must be a dict or None")
        allowed = self.TWIDDLE_FAULT_KEYS + self.BUTTERFLY_FAULT_KEYS
        unknown = set(fault) - set(allowed)
        if unknown:
            raise ValueError(f"fault has unknown keys {sorted(unknown)}; allowed: "
                             + ", ".join(repr(k) for k in allowed))

        def integer(key, default, lo, hi, hi_text):
            v = fault.get(key, default)
            if isinstance(v, bool) or not isinstance(v, int) or not lo <= v < hi:
                raise ValueError(f"fault[{key!r}]={v!r} must be an int in [{lo}, {hi_text})")
            return v

        out = {}
        if any(k in fault for k in self.TWIDDLE_FAULT_KEYS):
            out["twiddle_address"] = integer("twiddle_address", None, 0, 2 * self.n,
                                             f"2n={2 * self.n}")
            bits = self.width * self._words
            out["twiddle_bit"] = integer(
                "twiddle_bit", 0, 0, bits,
                f"width={self.width}" if self._words == 1 else
                f"{self._words}*width={bits} (bits >= width flip the Shoup companion)")
        if any(k in fault for k in self.BUTTERFLY_FAULT_KEYS):
            out["butterfly_stage"] = integer("butterfly_stage", None, 0, self.stages,
                                             f"log2(n)={self.stages}")
            out["butterfly_index"] = integer("butterfly_index", None, 0, self.n, f"n={self.n}")
            out["butterfly_bit"] = integer("butterfly_bit", 0, 0, self.width,
                                           f"width={self.width}")
            d = fault.get("butterfly_direction", "both")
            if d not in self.FAULT_DIRECTIONS:
                raise ValueError(f"fault['butterfly_direction']={d!r} must be one of "
                                 f"{', '.join(self.FAULT_DIRECTIONS)}")
            out["butterfly_direction"] = d
        if not out:
            raise ValueError(f"fault={fault!r} names no fault: give 'twiddle_address' or "
                             "'butterfly_stage' and 'butterfly_index'")
        return out

    # ---------------------------------------------------------------- derived constants
    @property
    def stages(self) -> int:
        """Number of butterfly stages, ``log2(n)``."""
        return _log2(self.n)

    @property
    def rows(self) -> int:
        """``R = n / P``: beats per transform (in and out) and memory rows."""
        return self.n // self.lanes

    @property
    def blocks_per_stage(self) -> int:
        """``B = n / (2P)``: butterfly blocks (cycles of issue) per stage."""
        return self.n // (2 * self.lanes)

    @property
    def butterfly_latency(self) -> int:
        """``Lb``: stages of the unified butterfly (multiplier latency + 2: 6, or 5 with Shoup)."""
        return self._bf.latency

    @property
    def scaler_latency(self) -> int:
        """``Lm``: stages of the output multiplier (``n^-1`` or 1): 4, or 3 with Shoup; 0 with
        ``scaling="halving"`` (no output multiplier)."""
        return 0 if self.scaling == "halving" else self._mul.latency

    @property
    def multipliers(self) -> int:
        """Modular multipliers the unit instantiates: ``P`` butterflies, plus ``P`` output
        multipliers with ``scaling="multiplier"``."""
        return self.lanes * (1 if self.scaling == "halving" else 2)

    @property
    def twiddle_words(self) -> int:
        """``W``-bit words stored per twiddle: 2 with Shoup (value, companion), else 1."""
        return self._words

    @property
    def stage_cycles(self) -> int:
        """``T = B + Lb + 1``: cycles per stage (issue ``B`` blocks, then drain the pipeline)."""
        return self.blocks_per_stage + self.butterfly_latency + 1

    @property
    def latency(self) -> int:
        """Edges from the last input transfer to the first output transfer (no stalls).

        ``log2(n) * T + Lm + 2``; 2 more with ``buffering="double"`` (a cycle to swap the
        memories before the stages, and one after).
        """
        return self.stages * self.stage_cycles + self.scaler_latency + 2 + self._swap_cycles

    @property
    def cycles_per_transform(self) -> int:
        """Edges from first input to last output transfer, both inclusive (no stalls).

        ``2R + log2(n) * T + Lm + 1`` with ``R = n/P``; 2 more with ``buffering="double"``.
        """
        return (2 * self.rows + self.stages * self.stage_cycles + self.scaler_latency + 1
                + self._swap_cycles)

    @property
    def initiation_interval(self) -> int:
        """The period of a continuous stream of transforms (no stalls): edges between the
        first output transfers of successive transforms, and between their first inputs
        once the stream is steady.

        ``2R + log2(n) * T``: loading of the next transform overlaps the last ``Lm + 1``
        cycles of the output pipeline (so the first inputs are this far apart from the
        start). With ``buffering="double"``,
        ``max(log2(n) * T, 2R) + 1``: the stages of one transform, or the unloading of the
        previous and the loading of the next in the other memory, whichever is longer, and
        the swap (``log2(n) T >= 2R`` for every ``n`` and ``P``, so the stages).
        """
        if self.buffering == "double":
            return max(self.stages * self.stage_cycles, 2 * self.rows) + 1
        return 2 * self.rows + self.stages * self.stage_cycles

    @property
    def _swap_cycles(self) -> int:
        return 2 if self.buffering == "double" else 0

    @property
    def throughput(self) -> float:
        """Elements per cycle for one transform: ``n / cycles_per_transform``."""
        return self.n / self.cycles_per_transform

    @property
    def debug_layout(self) -> data.StructLayout:
        """Layout of the ``dbg`` tap."""
        W, P = self.width, self.lanes
        rbits = max(1, _log2(self.rows))
        return data.StructLayout({
            "valid": unsigned(1), "stage": unsigned(5),
            "row_a": unsigned(rbits), "row_b": unsigned(rbits),
            "data_a": data.ArrayLayout(unsigned(W), P), "data_b": data.ArrayLayout(unsigned(W), P),
        })

    # ---------------------------------------------------------------- tables
    def _twiddle_fault(self, word: int):
        """``(address, bit)`` of a twiddle fault in stored word ``word`` (0: value, 1: companion)."""
        f = self.fault
        if f is None or "twiddle_address" not in f:
            return None
        w, b = divmod(f["twiddle_bit"], self.width)
        return (f["twiddle_address"], b) if w == word else None

    def twiddle_table_words(self) -> list[int]:
        """The ``2n`` twiddles as stored: ``fwd`` then ``inv`` (Montgomery forms if applicable).

        Entry ``k < n`` is ``fwd[k]``, entry ``n + k`` is ``inv[k]``; a twiddle ``fault``
        (bit ``< W``) flips one bit of one entry here, wherever the ROMs below hold it.
        With Shoup these are the plain twiddles; their companions are
        :meth:`twiddle_companion_words`.
        """
        fwd, inv = self.tables.fwd, self.inverse_twiddles()
        if self.multiplier == "montgomery":
            fwd = twiddle_to_montgomery(fwd, self.q, self.width)
            inv = twiddle_to_montgomery(inv, self.q, self.width)
        words = list(fwd) + list(inv)
        fault = self._twiddle_fault(0)
        if fault is not None:
            words[fault[0]] ^= 1 << fault[1]
        return words

    def twiddle_companion_words(self) -> list[int]:
        """With Shoup: the ``2n`` companions ``floor(w*2^W/q)`` of ``fwd`` then ``inv``
        (:meth:`sw.ntt_tables.NttTables.fwd_shoup`, ``inv_shoup``), as stored; else ``[]``.

        A twiddle fault with bit ``b >= W`` flips bit ``b - W`` of one entry here. The
        companions are those of the fault-free twiddles (a flipped twiddle keeps its
        original companion, as a bit flip in the stored value would).
        """
        if self._words == 1:
            return []
        words = list(self.tables.fwd_shoup(self.width)) + [shoup(w, self.q, self.width)
                                                            for w in self.inverse_twiddles()]
        fault = self._twiddle_fault(1)
        if fault is not None:
            words[fault[0]] ^= 1 << fault[1]
        return words

    def inverse_twiddles(self) -> tuple[int, ...]:
        """The plain inverse twiddles the butterflies use: ``tables.inv``, or with
        ``scaling="halving"`` each times ``2^-1 mod q`` (entry 0 unused either way)."""
        inv = self.tables.inv
        if self.scaling != "halving":
            return inv
        half = (self.q + 1) // 2
        return tuple(w * half % self.q for w in inv)

    def twiddle_entries(self) -> list[int]:
        """The ``2n`` stored twiddles as ROM words: :meth:`twiddle_table_words`, or with
        Shoup the ``2W``-bit packing ``w | w' << W`` of each twiddle and its companion."""
        words = self.twiddle_table_words()
        if self._words == 1:
            return words
        W = self.width
        return [w | (c << W) for w, c in zip(words, self.twiddle_companion_words())]

    def twiddle_roms(self) -> tuple[list[int], list[list[list[int]]]]:
        """Contents of the twiddle ROMs as built, ``(narrow, small)``.

        * ``narrow`` (one twiddle per entry, shared by all lanes) serves the stages with
          half-size ``t >= P``, where every lane of a block uses the same twiddle: ``2R``
          entries, ``narrow[d*R + k] = table_d[k]`` for ``k < R = n/P`` (``d = 0`` forward,
          ``d = 1`` inverse; entry 0 unused).
        * ``small[lt]`` serves the stage with ``t = 2^lt < P``: ``2B`` entries of ``P/t``
          twiddles, entry ``d*B + b`` item ``j`` = ``table_d[n/(2t) + b*P/t + j]``; lane
          ``l`` of block ``b`` takes item ``l >> lt``. Empty list when ``P = 1``.

        Each twiddle is a ROM word of :meth:`twiddle_entries` (``W`` bits, or ``2W`` bits
        ``w | w' << W`` with Shoup). Each table entry ``1 .. n-1`` of each direction is
        stored exactly once: ``2n/P + sum(n/t for t < P) = 2n`` twiddles
        (:attr:`twiddle_rom_words` counts them in ``W``-bit words).
        """
        n, P, R, B = self.n, self.lanes, self.rows, self.blocks_per_stage
        words = self.twiddle_entries()
        narrow = [words[d * n + k] for d in range(2) for k in range(R)]
        small = []
        for lt in range(_log2(P)):
            t = 1 << lt
            width = P >> lt
            small.append([[words[d * n + n // (2 * t) + b * width + j] for j in range(width)]
                          for d in range(2) for b in range(B)])
        return narrow, small

    def twiddle_rom_contents(self) -> tuple[list[int], list[list[int]]]:
        """The twiddles each lane receives, ``(narrow, wide)``: a per-block view of the ROMs.

        * ``narrow``: the narrow ROM of :meth:`twiddle_roms` (stages with ``t >= P``).
        * ``wide``: for the ``log2(P)`` stages with ``t < P``, entry
          ``d*log2(P)*B + lt*B + b`` (``t = 2^lt``, block ``b``) is the ``P``-word vector
          the lanes receive: lane ``l`` gets ``table_d[n/(2t) + b*P/t + (l >> lt)]``. The
          hardware stores only the ``P/t`` distinct words of each (:meth:`twiddle_roms`);
          ``wide`` spells out the crossbar's result. Empty when ``P = 1``.
        """
        narrow, small = self.twiddle_roms()
        B, log_p = self.blocks_per_stage, _log2(self.lanes)
        wide = [[small[lt][d * B + b][l >> lt] for l in range(self.lanes)]
                for d in range(2) for lt in range(log_p) for b in range(B)]
        return narrow, wide

    @property
    def twiddle_rom_words(self) -> int:
        """``W``-bit words stored in the twiddle ROMs (all of :meth:`twiddle_roms`): ``2n``
        for every ``P``, ``4n`` with Shoup (each twiddle with its companion)."""
        R, B, P = self.rows, self.blocks_per_stage, self.lanes
        return (2 * R + sum(2 * B * (P >> lt) for lt in range(_log2(P)))) * self._words

    @property
    def data_ram_words(self) -> int:
        """Words of the data banks: ``2 * (R/2)`` rows of ``P`` words = ``n``, per data memory
        (two with ``buffering="double"``)."""
        return self._data_sets * 2 * max(1, self.rows // 2) * self.lanes

    @property
    def _data_sets(self) -> int:
        return 2 if self.buffering == "double" else 1

    def memory_shapes(self) -> list[tuple[str, int, int]]:
        """``(name, depth, width in bits)`` of every RAM and ROM the unit instantiates.

        Two data banks of ``R/2`` rows of ``P*W`` bits (four with ``buffering="double"``:
        ``bank2``, ``bank3`` are the second memory), the narrow twiddle ROM (``2R`` x ``TW``)
        and one ROM per stage with ``t = 2^lt < P`` (``2B`` x ``(P/t)*TW``), where the stored
        twiddle is ``TW = W`` bits wide, or ``2W`` with Shoup (value and companion).
        """
        W, P, R, B = self.width, self.lanes, self.rows, self.blocks_per_stage
        TW = W * self._words
        out = [(f"bank{k}", max(1, R // 2), P * W) for k in range(2 * self._data_sets)]
        out.append(("twiddle_rom_narrow", 2 * R, TW))
        out += [(f"twiddle_rom_t{1 << lt}", 2 * B, (P >> lt) * TW) for lt in range(_log2(P))]
        return out

    @property
    def memory_words(self) -> int:
        """All RAM/ROM words of the unit: ``data_ram_words + twiddle_rom_words`` = ``3n``
        (``5n`` with Shoup; ``n`` more with ``buffering="double"``)."""
        return self.data_ram_words + self.twiddle_rom_words

    def scale_constants(self) -> tuple[int, int]:
        """``(forward, inverse)`` operands of the output multiplier (1 and ``n^-1``, as stored;
        with Shoup the values, whose companions are in :meth:`scale_constant_words`).
        ``ValueError`` with ``scaling="halving"`` (no output multiplier)."""
        fwd, inv = self.scale_constant_words()
        return fwd[0], inv[0]

    def scale_constant_words(self) -> tuple[tuple[int, ...], tuple[int, ...]]:
        """``(forward, inverse)`` stored words of the output multiplier's constants 1 and
        ``n^-1`` (:meth:`hw.modmul.BarrettDatapath.stored_constant`): ``(c,)``, the
        Montgomery form ``(c*2^W mod q,)``, or ``(c, floor(c*2^W/q))`` with Shoup."""
        if self.scaling == "halving":
            raise ValueError("scaling='halving' has no output multiplier (n^-1 is folded into "
                             "the inverse butterflies)")
        return self._mul.stored_constant(1), self._mul.stored_constant(self.tables.n_inv)

    # ---------------------------------------------------------------- hardware
    def elaborate(self, platform):
        m = Module()
        c = self._compute_path(m)
        if self.buffering == "double":
            self._control_double(m, c)
        else:
            self._control_single(m, c)
        return m

    def _data_set(self, m, row_layout, first: int) -> list:
        """One data memory: banks ``first``, ``first + 1`` as ``[(read port, write port)]``."""
        out = []
        for k in range(2):
            mem = Memory(shape=row_layout, depth=max(1, self.rows // 2), init=[])
            m.submodules[f"bank{first + k}"] = mem
            out.append((mem.read_port(), mem.write_port()))
        return out

    def _bank_addr(self, row):
        R = self.rows
        return (row >> 1)[:max(1, _log2(R) - 1)] if R > 2 else Const(0, 1)

    def _compute_path(self, m) -> SimpleNamespace:
        """The butterflies' side, shared by both bufferings: stage and block counters, row
        and twiddle addressing, twiddle ROMs, crossbar, butterflies and write-back rows.
        The control drives ``issue``, ``rd`` (the read data of the computed memory), the
        counters and ``inverse``, and wires the returned write-back to its banks."""
        n, W, P = self.n, self.width, self.lanes
        log_n, log_p = self.stages, _log2(P)
        R, B, T = self.rows, self.blocks_per_stage, self.stage_cycles
        Lb = self.butterfly_latency
        row_bits = max(1, _log2(R))
        row_layout = data.ArrayLayout(unsigned(W), P)
        c = SimpleNamespace(row_bits=row_bits, row_layout=row_layout)
        c.stage = stage = Signal(range(log_n), name="stage")
        c.cyc = cyc = Signal(range(T), name="stage_cyc")
        c.inverse = inverse = Signal(name="inverse")   # direction of the computed transform
        c.issue = issue = Signal(name="issue")
        c.rd = [Signal(row_layout, name=f"compute_rd{k}") for k in range(2)]

        narrow_words, small_roms = self.twiddle_roms()
        TW = W * self._words                             # bits per stored twiddle
        rom_n = Memory(shape=unsigned(TW), depth=len(narrow_words), init=narrow_words)
        m.submodules.twiddle_rom_narrow = rom_n
        rom_n_rd = rom_n.read_port()
        rom_s_rd = []                                    # stage t = 2^lt < P: P/t twiddles per entry
        for lts, entries in enumerate(small_roms):
            rom = Memory(shape=data.ArrayLayout(unsigned(TW), P >> lts), depth=len(entries),
                         init=entries)
            m.submodules[f"twiddle_rom_t{1 << lts}"] = rom
            rom_s_rd.append(rom.read_port())

        blk = Signal(range(max(2, B)), name="block")
        m.d.comb += blk.eq(cyc[:len(blk)])
        lt = Signal(range(log_n), name="log_t")        # log2 of the half-size of this stage
        m.d.comb += lt.eq(Mux(inverse, stage, log_n - 1 - stage))

        c.row_a = row_a = Signal(row_bits, name="row_a")
        c.row_b = row_b = Signal(row_bits, name="row_b")
        tw_narrow = Signal(range(2 * R), name="tw_narrow_addr")
        tw_small = Signal(range(max(2, 2 * B)), name="tw_small_addr")
        m.d.comb += tw_small.eq(inverse * B + blk)      # same entry in every t < P ROM
        perm = {}                                        # lt' -> [(e0, e1)] per lane
        for ltc in range(log_n):
            ltp = min(ltc, log_p)
            t = 1 << ltp
            perm[ltp] = [((l >> ltp) * 2 * t + (l & (t - 1)), (l >> ltp) * 2 * t + (l & (t - 1)) + t)
                         for l in range(P)]
        with m.Switch(lt):
            for ltc in range(log_n):
                with m.Case(ltc):
                    k = max(ltc - log_p, 0)
                    ltp = min(ltc, log_p)
                    ra = ((blk >> k) << (k + 1)) | (blk & ((1 << k) - 1))
                    m.d.comb += [row_a.eq(ra), row_b.eq(ra | (1 << k))]
                    if ltc >= log_p:      # one twiddle per block: table[n/(2t) + (b >> k)]
                        m.d.comb += tw_narrow.eq(inverse * R + (n >> (ltc + 1)) + (blk >> k))
        c.par_a = par_a = Signal(name="parity_a")
        m.d.comb += par_a.eq(row_a.xor())
        m.d.comb += [rom_n_rd.en.eq(1), rom_n_rd.addr.eq(tw_narrow)]
        for rd_port in rom_s_rd:
            m.d.comb += [rd_port.en.eq(1), rd_port.addr.eq(tw_small)]

        # ---- compute datapath: read data (1 cycle) -> crossbar -> butterflies -> write back
        pipe1 = Pipe(m, Const(1), "ntt")
        par_a_1 = pipe1.reg(par_a, 1, "parity_a_rd")
        vec_a = Signal(row_layout, name="vec_a")
        vec_b = Signal(row_layout, name="vec_b")
        m.d.comb += [vec_a.eq(Mux(par_a_1, c.rd[1], c.rd[0])), vec_b.eq(Mux(par_a_1, c.rd[0], c.rd[1]))]
        elems = [vec_a[j] for j in range(P)] + [vec_b[j] for j in range(P)]
        bf_a = [Signal(W, name=f"bf_in_a{lane}") for lane in range(P)]
        bf_b = [Signal(W, name=f"bf_in_b{lane}") for lane in range(P)]
        with m.Switch(lt):
            for ltc in range(log_n):
                with m.Case(ltc):
                    for lane, (e0, e1) in enumerate(perm[min(ltc, log_p)]):
                        m.d.comb += [bf_a[lane].eq(elems[e0]), bf_b[lane].eq(elems[e1])]
        tw = [Signal(TW, name=f"twiddle{lane}") for lane in range(P)]
        # lt is constant during a stage, so it also selects the ROM in the data cycle
        for lane in range(P):
            sel = rom_n_rd.data
            for lts, rd_port in enumerate(rom_s_rd):
                sel = Mux(lt == lts, rd_port.data[lane >> lts], sel)
            m.d.comb += tw[lane].eq(sel)
        xs, ys = [], []
        for lane in range(P):
            # the stored twiddle: one word, or (w, w') unpacked from the 2W-bit Shoup word
            tw_l = tw[lane] if self._words == 1 else \
                [tw[lane][k * W:(k + 1) * W] for k in range(self._words)]
            x, y = self._bf.build(pipe1, bf_a[lane], bf_b[lane], tw_l, inverse,
                                  f"bf{lane}")
            xs.append(x)
            ys.append(y)
        # issue information delayed to the write-back cycle (issue + 1 + Lb)
        c.wr_valid = wr_valid = pipe1.delay(issue, 1, Lb + 1, "wr_valid")
        c.wr_row_a = wr_row_a = pipe1.delay(row_a, row_bits, Lb + 1, "wr_row_a")
        c.wr_row_b = wr_row_b = pipe1.delay(row_b, row_bits, Lb + 1, "wr_row_b")
        c.wr_par_a = pipe1.delay(par_a, 1, Lb + 1, "wr_parity_a")
        out_a = Signal(row_layout, name="wb_a")
        out_b = Signal(row_layout, name="wb_b")
        welems = [out_a[j] for j in range(P)] + [out_b[j] for j in range(P)]
        with m.Switch(lt):
            for ltc in range(log_n):
                with m.Case(ltc):
                    for lane, (e0, e1) in enumerate(perm[min(ltc, log_p)]):
                        m.d.comb += [welems[e0].eq(xs[lane]), welems[e1].eq(ys[lane])]
        c.wb_a, c.wb_b = self._butterfly_fault(m, out_a, out_b, wr_valid, wr_row_a, wr_row_b,
                                               stage, inverse, row_layout)
        if self.debug:
            m.d.comb += [
                self.dbg.valid.eq(wr_valid), self.dbg.stage.eq(stage),
                self.dbg.row_a.eq(wr_row_a), self.dbg.row_b.eq(wr_row_b),
                self.dbg.data_a.eq(c.wb_a), self.dbg.data_b.eq(c.wb_b),
            ]
        return c

    def _compute_ports(self, m, c, rp, wp, k):
        """Bank ``k`` of the computed memory: butterfly reads and write-backs."""
        ba = self._bank_addr
        m.d.comb += [
            rp.en.eq(1),
            rp.addr.eq(Mux(c.par_a == k, ba(c.row_a), ba(c.row_b))),
            wp.en.eq(c.wr_valid),
            wp.addr.eq(Mux(c.wr_par_a == k, ba(c.wr_row_a), ba(c.wr_row_b))),
            wp.data.eq(Mux(c.wr_par_a == k, c.wb_a, c.wb_b)),
        ]

    def _io_ports(self, m, c, rp, wp, k, adv, load_xfer, cnt):
        """Bank ``k`` of the loaded or unloaded memory: input rows written, output rows read
        (the read data held while the output is stalled)."""
        row = cnt[:c.row_bits]
        m.d.comb += [
            rp.en.eq(adv), rp.addr.eq(self._bank_addr(row)),
            wp.en.eq(load_xfer & (row.xor() == k)), wp.addr.eq(self._bank_addr(row)),
            wp.data.eq(self.i.payload.data),
        ]

    def _output_handshake(self, m):
        """``(valid, adv)``: S1 (the bank read data) then ``Lm`` stages, advancing on ``adv``."""
        valid = [Signal(name=f"out_valid{j + 1}") for j in range(self.scaler_latency + 1)]
        adv = Signal(name="out_adv")
        m.d.comb += [adv.eq(~valid[-1] | self.o.ready), self.o.valid.eq(valid[-1])]
        return valid, adv

    def _control_single(self, m, c):
        """``buffering="single"``: one memory, ``LOAD`` -> ``COMPUTE`` -> ``UNLOAD``. The bank
        read ports double as the first output register, so ``COMPUTE`` holds while that
        register still holds a row of the previous transform."""
        R, B, T, log_n = self.rows, self.blocks_per_stage, self.stage_cycles, self.stages
        state = Signal(2, name="state")
        cnt = Signal(c.row_bits + 1, name="row_cnt")     # load / unload row counter
        banks = self._data_set(m, c.row_layout, 0)
        valid, adv = self._output_handshake(m)
        compute_hold = Signal(name="compute_hold")       # S1 still holds an output row
        load_xfer = Signal(name="load_xfer")
        unload_issue = Signal(name="unload_issue")
        m.d.comb += [
            compute_hold.eq(valid[0]),
            c.issue.eq((state == _COMPUTE) & ~compute_hold & (c.cyc < B)),
            c.rd[0].eq(banks[0][0].data), c.rd[1].eq(banks[1][0].data),
            self.i.ready.eq(state == _LOAD),
            load_xfer.eq(self.i.valid & (state == _LOAD)),
            unload_issue.eq((state == _UNLOAD) & adv),
        ]
        for k, (rp, wp) in enumerate(banks):
            with m.If((state == _COMPUTE) & ~compute_hold):
                self._compute_ports(m, c, rp, wp, k)
            with m.Else():
                self._io_ports(m, c, rp, wp, k, adv, load_xfer, cnt)
        self._output_pipeline(m, adv, valid, unload_issue, cnt[:c.row_bits].xor(), c.inverse,
                              [banks[0][0].data, banks[1][0].data], c.row_layout)
        with m.Switch(state):
            with m.Case(_LOAD):
                with m.If(load_xfer):
                    with m.If(cnt == 0):
                        m.d.sync += c.inverse.eq(self.i.payload.inverse)
                    m.d.sync += cnt.eq(cnt + 1)
                    with m.If(cnt == R - 1):
                        m.d.sync += [state.eq(_COMPUTE), cnt.eq(0), c.stage.eq(0), c.cyc.eq(0)]
            with m.Case(_COMPUTE):
                with m.If(~compute_hold):
                    self._count_stages(m, c, T, log_n, state, _UNLOAD)
            with m.Case(_UNLOAD):
                with m.If(adv):
                    m.d.sync += cnt.eq(cnt + 1)
                    with m.If(cnt == R - 1):
                        m.d.sync += [state.eq(_LOAD), cnt.eq(0)]

    @staticmethod
    def _count_stages(m, c, T, log_n, state, done):
        """One compute cycle: the block counter, the stage after ``T``, ``done`` after the last."""
        m.d.sync += c.cyc.eq(c.cyc + 1)
        with m.If(c.cyc == T - 1):
            m.d.sync += [c.cyc.eq(0), c.stage.eq(c.stage + 1)]
            with m.If(c.stage == log_n - 1):
                m.d.sync += [state.eq(done), c.stage.eq(0)]

    def _control_double(self, m, c):
        """``buffering="double"``: two memories; the butterflies work on memory ``cs`` while
        the other unloads the previous result and loads the next input. The memories swap
        when the computed one is empty or done, and the other is full, or empty while a
        result waits; never while the first output register (the other memory's read data)
        still holds a row."""
        R, B, T, log_n = self.rows, self.blocks_per_stage, self.stage_cycles, self.stages
        sets = [self._data_set(m, c.row_layout, 0), self._data_set(m, c.row_layout, 2)]
        cs = Signal(name="compute_set")
        c_state = Signal(2, name="compute_state")
        io_state = Signal(2, name="io_state")
        cnt = Signal(c.row_bits + 1, name="row_cnt")     # load / unload row counter
        inv_io = Signal(name="io_inverse")               # direction of the other memory's transform
        valid, adv = self._output_handshake(m)
        swap = Signal(name="swap")
        load_xfer = Signal(name="load_xfer")
        unload_issue = Signal(name="unload_issue")
        io_empty = (io_state == _IO_LOAD) & (cnt == 0)
        m.d.comb += [
            swap.eq((c_state != _C_RUN) & ~valid[0]
                    & ((io_state == _IO_FULL) | (io_empty & (c_state == _C_DONE)))),
            c.issue.eq((c_state == _C_RUN) & (c.cyc < B)),
            self.i.ready.eq((io_state == _IO_LOAD) & ~swap),
            load_xfer.eq(self.i.valid & self.i.ready),
            unload_issue.eq((io_state == _IO_UNLOAD) & adv),
        ]
        for k in range(2):
            m.d.comb += [c.rd[k].eq(Mux(cs, sets[1][k][0].data, sets[0][k][0].data))]
        for s, banks in enumerate(sets):
            for k, (rp, wp) in enumerate(banks):
                with m.If(cs == s):
                    self._compute_ports(m, c, rp, wp, k)
                with m.Else():
                    self._io_ports(m, c, rp, wp, k, adv, load_xfer, cnt)
        rd_io = [Mux(cs, sets[0][k][0].data, sets[1][k][0].data) for k in range(2)]
        self._output_pipeline(m, adv, valid, unload_issue, cnt[:c.row_bits].xor(), inv_io, rd_io,
                              c.row_layout)
        with m.If(c_state == _C_RUN):
            self._count_stages(m, c, T, log_n, c_state, _C_DONE)
        with m.Switch(io_state):
            with m.Case(_IO_LOAD):
                with m.If(load_xfer):
                    with m.If(cnt == 0):
                        m.d.sync += inv_io.eq(self.i.payload.inverse)
                    m.d.sync += cnt.eq(cnt + 1)
                    with m.If(cnt == R - 1):
                        m.d.sync += [io_state.eq(_IO_FULL), cnt.eq(0)]
            with m.Case(_IO_UNLOAD):
                with m.If(adv):
                    m.d.sync += cnt.eq(cnt + 1)
                    with m.If(cnt == R - 1):
                        m.d.sync += [io_state.eq(_IO_LOAD), cnt.eq(0)]
        with m.If(swap):
            m.d.sync += [
                cs.eq(~cs), c.cyc.eq(0), c.stage.eq(0), cnt.eq(0),
                c_state.eq(Mux(io_state == _IO_FULL, _C_RUN, _C_EMPTY)),
                io_state.eq(Mux(c_state == _C_DONE, _IO_UNLOAD, _IO_LOAD)),
                c.inverse.eq(inv_io), inv_io.eq(c.inverse),
            ]

    def _output_pipeline(self, m, adv, valid, unload_issue, load_par, inverse, rd, row_layout):
        """S1 (the bank read data) -> ``Lm`` stages of the output multipliers (``n^-1`` or 1;
        none with ``scaling="halving"``) -> ``o``, advancing on ``adv``."""
        opipe = Pipe(m, adv, "out")
        par_1 = opipe.reg(load_par, 1, "parity")
        with m.If(adv):
            m.d.sync += valid[0].eq(unload_issue)
            for j in range(1, len(valid)):
                m.d.sync += valid[j].eq(valid[j - 1])
        row_out = Signal(row_layout, name="out_row")
        m.d.comb += row_out.eq(Mux(par_1, rd[1], rd[0]))
        if self.scaling == "halving":          # already scaled by the butterflies
            m.d.comb += self.o.payload.eq(row_out)
            return
        c_fwd, c_inv = self.scale_constant_words()
        inv_1 = opipe.reg(inverse, 1, "inverse")
        const = [Mux(inv_1, ci, cf) for cf, ci in zip(c_fwd, c_inv)]
        for lane in range(self.lanes):
            mul = make_datapath(self.multiplier, self.q, self.width)
            res = mul.build_stored(opipe, row_out[lane], const, f"scale{lane}")
            m.d.comb += self.o.payload[lane].eq(res)

    def _butterfly_fault(self, m, out_a, out_b, wr_valid, wr_row_a, wr_row_b, stage, inverse,
                         row_layout):
        """The rows written back: ``(out_a, out_b)`` themselves without a butterfly fault (no
        logic at all), else copies with bit ``b`` of element ``i`` flipped in stage ``s``."""
        f = self.fault
        if f is None or "butterfly_stage" not in f:
            return out_a, out_b
        W, P = self.width, self.lanes
        row, lane = divmod(f["butterfly_index"], P)
        hit = Signal(name="fault_bf_hit")
        cond = wr_valid & (stage == f["butterfly_stage"])
        if f["butterfly_direction"] != "both":
            cond = cond & (inverse == int(f["butterfly_direction"] == "inverse"))
        m.d.comb += hit.eq(cond)
        mask = Const(1 << (lane * W + f["butterfly_bit"]), P * W)
        res = []
        for name, vec, r in (("a", out_a, wr_row_a), ("b", out_b, wr_row_b)):
            sig = Signal(row_layout, name=f"fault_wb_{name}")
            m.d.comb += sig.as_value().eq(
                vec.as_value() ^ Mux(hit & (r == row), mask, Const(0, P * W)))
            res.append(sig)
        return tuple(res)
