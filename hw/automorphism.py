"""Automorphism unit ``X -> X^g`` on one RNS row of ``N`` coefficients, ``P`` per beat.

Arithmetic (:func:`sw.rtl_models.automorphism_destinations`, equal to
:func:`sw.ring.kernels.automorphism`), for an odd Galois element ``g`` in ``(0, 2N)``
(rotations ``g = 5^r mod 2N``, conjugation ``g = 2N - 1``); input element ``i`` moves to
output position ``dst(i)``:

* ``order="coeff"`` (coefficients, natural order): ``e = i*g mod 2N``, ``dst = e mod N``,
  the value negated mod ``q`` when ``e >= N``;
* ``order="eval"`` (the NTT's bit-reversed evaluation order, slot ``j`` holding
  ``a(psi^(2 bitrev(j) + 1))``, :mod:`sw.ntt_tables`): a pure permutation; with
  ``h = g^-1 mod 2N`` and ``u = bitrev(i)``, ``bitrev(dst) = h*u + (h-1)/2 mod N``.

Architecture
------------
* **Banks**: ``P`` single-read single-write banks of ``2R`` words (``R = N/P``), two
  halves of ``R`` words (double buffering: one row is written into one half while the
  previous row is read from the other). Output position ``d`` lives in bank ``d mod P``
  at address ``half*R + d div P``, so output row ``s`` is address ``s`` of every bank and
  is read in one cycle.
* **Address generator** (combinational, from the input row counter ``r``): lane ``l``
  holds input ``i = rP + l``. ``coeff``: ``e_l = r*(P*g mod 2N) + (l*g mod 2N)`` truncated
  to ``log2(2N)`` bits (one shared constant multiply, then a constant add per lane).
  ``eval``: ``u = bitrev_P(l)*R + bitrev_R(r)``, so
  ``v_l = h*bitrev_R(r) + (h*bitrev_P(l)*R + (h-1)/2)`` truncated to ``log2 N`` bits and
  ``dst = bitrev(v_l)`` (wiring).
* **Write crossbar**: bank ``b`` takes the lane whose ``dst mod P`` is ``b``.

Bank conflicts: none, for every ``g`` and ``P``. ``coeff``: ``dst_l mod P = l*g mod P``
(``P`` divides ``rPg``), a bijection of the lanes because ``g`` is odd. ``eval``:
``dst_l mod P`` is the bit reversal of the top ``log2 P`` bits of ``v_l``, which are
``h*bitrev_P(l) + c_r mod P`` for a ``c_r`` common to the beat (the carry of the low
part into the top bits is the same for every lane), again a bijection since ``h`` is odd.
So every input beat writes ``P`` distinct banks and every output beat reads ``P``
distinct banks: no cycle is lost to conflicts (:attr:`AutomorphismUnit.conflict_cycles`
is 0, and the constructor re-checks the schedule of its own ``g``).

Timing (output always ready): the last input beat of a row is written at its transfer;
the first output row is read in the next cycle. ``latency = 2`` (last input transfer to
first output transfer), ``initiation_interval = R`` (rows stream back to back),
``cycles_per_row = 2R + 1`` (one isolated row, first input to last output, inclusive),
``throughput = N / R = P`` elements per cycle. Under back-pressure the reader waits and
the writer waits for a free half: nothing is lost or duplicated.

Fault injection (``fault={"index": i, "bit": b}``, elaboration time only,
:func:`hw.faults.check_fault`): bit ``b`` of output element ``i`` of every row is flipped
(a register holding the row of the word on the output port is added for it); without
``fault`` the unit has no fault logic.
"""
from __future__ import annotations

from amaranth.hdl import Cat, Const, Module, Mux, Signal, unsigned
from amaranth.lib import data, stream, wiring
from amaranth.lib.memory import Memory
from amaranth.lib.wiring import In, Out

from sw.modred import check_modulus
from sw.ntt_tables import bit_reverse
from sw.primes import is_power_of_two, is_prime
from sw.rtl_models import AUTOMORPHISM_ORDERS, automorphism_destinations

from .faults import check_fault

__all__ = ["AutomorphismUnit", "MIN_LOG_N", "MAX_LOG_N"]

MIN_LOG_N = 1
MAX_LOG_N = 17


def _log2(x: int) -> int:
    return x.bit_length() - 1


def _reverse(v, bits: int):
    """Bit reversal of the low ``bits`` bits of ``v`` (wiring)."""
    if bits == 0:
        return Const(0, 1)
    return Cat(*[v[b] for b in reversed(range(bits))])


class AutomorphismUnit(wiring.Component):
    """``X -> X^galois`` on rows of ``n`` residues mod ``q``, ``lanes`` per beat.

    Parameters
    ----------
    n : int
        Row length ``N``, a power of two in ``[2, 2^17]``.
    q : int
        Prime modulus ``3 <= q < 2^width`` (used for the sign flips of ``order="coeff"``).
    width : int
        Word width ``W`` in ``[16, 64]``.
    lanes : int
        ``P``, words per beat and number of banks; must divide ``n`` (a power of two).
    galois : int
        The odd Galois element ``g``, ``0 < g < 2n``.
    order : {"coeff", "eval"}
        Coefficient order (with sign flips) or the NTT's bit-reversed evaluation order.
    fault : dict, optional
        ``{"index": i, "bit": b}`` (``b`` default 0): flip bit ``b`` of output element ``i``
        of every row (fault injection; see the module docstring).

    Members
    -------
    i : ``In(stream.Signature(ArrayLayout(unsigned(W), P)))``
        ``R = n/P`` beats per row; beat ``r`` lane ``l`` is element ``rP + l``; canonical.
    o : ``Out(stream.Signature(ArrayLayout(unsigned(W), P)))``
        ``R`` beats per row, same order, of ``a(X^g)``; canonical.
    """

    def __init__(self, n: int, q: int, width: int, lanes: int, galois: int,
                 order: str = "eval", fault: dict | None = None):
        if isinstance(n, bool) or not isinstance(n, int) or not is_power_of_two(n):
            raise ValueError(f"n={n!r} must be a power of two")
        if not (1 << MIN_LOG_N) <= n <= (1 << MAX_LOG_N):
            raise ValueError(f"n={n} must lie in [2^{MIN_LOG_N}, 2^{MAX_LOG_N}]")
        check_modulus(q, width)
        if not is_prime(q):
            raise ValueError(f"modulus q={q} is not prime")
        if isinstance(lanes, bool) or not isinstance(lanes, int) or lanes < 1 \
                or n % lanes:
            raise ValueError(f"lanes={lanes!r} must be a positive integer dividing n={n}")
        if isinstance(galois, bool) or not isinstance(galois, int) or galois % 2 == 0 \
                or not 0 < galois < 2 * n:
            raise ValueError(f"galois={galois!r} must be an odd integer in (0, 2n={2 * n})")
        if order not in AUTOMORPHISM_ORDERS:
            raise ValueError(f"order={order!r} must be one of {AUTOMORPHISM_ORDERS}")
        self.n, self.q, self.width, self.lanes = n, q, width, lanes
        self.fault = check_fault(fault, {"index": (0, n)}, width)
        self.galois, self.order = galois, order
        if self.bank_conflicts() != 0:      # cannot happen (see the module docstring)
            raise AssertionError("automorphism bank schedule has conflicts")
        row = data.ArrayLayout(unsigned(width), lanes)
        super().__init__({"i": In(stream.Signature(row)), "o": Out(stream.Signature(row))})

    # ---------------------------------------------------------------- timing
    @property
    def rows(self) -> int:
        """``R = n / P``: beats per row, words per bank half."""
        return self.n // self.lanes

    @property
    def latency(self) -> int:
        """Edges from the last input transfer of a row to its first output transfer: 2."""
        return 2

    @property
    def initiation_interval(self) -> int:
        """Edges between the first input transfers of back-to-back rows: ``R`` (cycles per row)."""
        return self.rows

    @property
    def cycles_per_row(self) -> int:
        """Edges from the first input to the last output transfer of one row, inclusive: ``2R + 1``."""
        return 2 * self.rows + self.latency - 1

    @property
    def throughput(self) -> float:
        """Elements per cycle in steady state: ``n / initiation_interval = P``."""
        return self.n / self.initiation_interval

    @property
    def conflict_cycles(self) -> int:
        """Cycles per row lost to bank conflicts: 0 (the schedule is conflict-free)."""
        return 0

    @property
    def memory_words(self) -> int:
        """Words of the ``P`` banks: ``2n`` (double buffered)."""
        return 2 * self.n

    def memory_shapes(self) -> list[tuple[str, int, int]]:
        """``(name, depth, width in bits)`` of every RAM: ``P`` banks of ``2R`` x ``W``."""
        return [(f"bank{b}", 2 * self.rows, self.width) for b in range(self.lanes)]

    # ---------------------------------------------------------------- schedule
    def bank_schedule(self) -> list[list[tuple[int, int, bool]]]:
        """``(bank, address within the half, negate)`` of each lane of each input beat."""
        dest = automorphism_destinations(self.n, self.galois, self.order)
        P = self.lanes
        return [[(dest[r * P + l][0] % P, dest[r * P + l][0] // P, dest[r * P + l][1])
                 for l in range(P)] for r in range(self.rows)]

    def bank_conflicts(self) -> int:
        """Extra write cycles the schedule would need (beats whose lanes share a bank)."""
        return sum(self.lanes - len({b for b, _, _ in beat}) for beat in self.bank_schedule())

    def _lane_destinations(self, m: Module, r):
        """Per lane ``(dst, negate)`` signals of input row ``r`` (the address generator)."""
        n, P, g = self.n, self.lanes, self.galois
        log_n, log_p, log_r = _log2(n), _log2(P), _log2(self.rows)
        out = []
        if self.order == "coeff":
            shared = Signal(log_n + 1, name="agen_shared")
            m.d.comb += shared.eq((r * ((P * g) % (2 * n)))[:log_n + 1])
            for l in range(P):
                e = Signal(log_n + 1, name=f"agen_e{l}")
                m.d.comb += e.eq((shared + (l * g) % (2 * n))[:log_n + 1])
                out.append((e[:log_n], e[log_n]))
            return out
        h = pow(g, -1, 2 * n)
        shared = Signal(max(1, log_n), name="agen_shared")
        m.d.comb += shared.eq((_reverse(r, log_r) * h)[:max(1, log_n)])
        for l in range(P):
            c = (h * bit_reverse(l, log_p) * self.rows + (h - 1) // 2) % n
            v = Signal(max(1, log_n), name=f"agen_v{l}")
            m.d.comb += v.eq((shared + c)[:max(1, log_n)])
            out.append((_reverse(v, log_n), Const(0, 1)))
        return out

    # ---------------------------------------------------------------- hardware
    def elaborate(self, platform):
        m = Module()
        n, P, R, W, q = self.n, self.lanes, self.rows, self.width, self.q
        log_p = _log2(P)
        banks = []
        for b in range(P):
            mem = Memory(shape=unsigned(W), depth=2 * R, init=[])
            m.submodules[f"bank{b}"] = mem
            banks.append((mem.read_port(), mem.write_port()))

        w_half, r_half = Signal(name="w_half"), Signal(name="r_half")
        w_row = Signal(range(max(2, R)), name="w_row")
        r_row = Signal(range(max(2, R)), name="r_row")
        full = [Signal(name=f"full{h}") for h in range(2)]

        # ---- write side: address generator, sign flips, crossbar into the banks
        accept = Signal(name="accept")
        m.d.comb += [self.i.ready.eq(~Mux(w_half, full[1], full[0])),
                     accept.eq(self.i.valid & self.i.ready)]
        lanes = []
        for l, (dst, neg) in enumerate(self._lane_destinations(m, w_row)):
            x = self.i.payload[l]
            val = Signal(W, name=f"wr_val{l}")
            m.d.comb += val.eq(Mux(neg & (x != 0), q - x, x))
            bank = dst[:log_p] if log_p else Const(0, 1)
            lanes.append((bank, dst[log_p:] if R > 1 else Const(0, 1), val))
        for b, (_, wp) in enumerate(banks):
            addr = Const(0, len(wp.addr))
            word = Const(0, W)
            for bank, a, val in lanes:       # exactly one lane hits each bank
                hit = bank == b
                addr = addr | Mux(hit, a, 0)
                word = word | Mux(hit, val, 0)
            m.d.comb += [wp.en.eq(accept), wp.addr.eq(w_half * R + addr), wp.data.eq(word)]

        # ---- read side: one output row per cycle from address r_row of every bank
        valid1 = Signal(name="out_valid")
        adv, issue = Signal(name="out_adv"), Signal(name="out_issue")
        m.d.comb += [adv.eq(~valid1 | self.o.ready),
                     issue.eq(adv & Mux(r_half, full[1], full[0])),
                     self.o.valid.eq(valid1)]
        f = self.fault
        if f is not None:    # the row of the word on the output port (fault logic only)
            out_row = Signal(range(max(2, R)), name="fault_out_row")
            with m.If(adv):
                m.d.sync += out_row.eq(r_row)
        for b, (rp, _) in enumerate(banks):
            m.d.comb += [rp.en.eq(adv), rp.addr.eq(r_half * R + r_row)]
            if f is not None and f["index"] % P == b:
                hit = out_row == f["index"] // P
                m.d.comb += self.o.payload[b].eq(Mux(hit, rp.data ^ (1 << f["bit"]), rp.data))
            else:
                m.d.comb += self.o.payload[b].eq(rp.data)
        with m.If(adv):
            m.d.sync += valid1.eq(issue)

        # ---- control: row counters and the full flag of each half
        w_last = accept & (w_row == R - 1)
        r_last = issue & (r_row == R - 1)
        with m.If(accept):
            m.d.sync += w_row.eq(Mux(w_row == R - 1, 0, w_row + 1))
            with m.If(w_row == R - 1):
                m.d.sync += w_half.eq(~w_half)
        with m.If(issue):
            m.d.sync += r_row.eq(Mux(r_row == R - 1, 0, r_row + 1))
            with m.If(r_row == R - 1):
                m.d.sync += r_half.eq(~r_half)
        for h in range(2):   # the writer fills only an empty half, the reader drains a full one
            with m.If(w_last & (w_half == h)):
                m.d.sync += full[h].eq(1)
            with m.Elif(r_last & (r_half == h)):
                m.d.sync += full[h].eq(0)
        return m
