"""Fast RNS basis conversion unit: ``k`` source primes to ``l`` destination primes.

Arithmetic (per coefficient; the fast conversion of :func:`sw.kernels.bconv.bconv` with
``exact=False``, the one the software's ModUp uses), with the constant tables of
:func:`sw.kernels.bconv.bconv_constants` (``Q = prod q_i``)::

    t_i   = x_i * [(Q/q_i)^-1]_{q_i} mod q_i              (modular multiplier, canonical)
    acc_j = sum_i t_i * [Q/q_i]_{p_j}                        (exact, no reduction)
    out_j = acc_j mod p_j                                    (one wide Barrett reduction)

``out_j`` is ``x + u*Q mod p_j`` for some ``0 <= u < k`` (the approximate conversion, no
``u*Q`` correction). The software's ModDown and rescale use the exact (float-corrected)
conversion instead; the unit does not implement that correction (the HW-vs-SW compare
replays it as ``fast - v*Q`` on :class:`hw.elementwise.ElementwiseUnit`, op ``msub``, with
the overflow count ``v`` estimated on the host: docs/trace-format.md).

Stream organisation
-------------------
A beat is a tile of ``P`` coefficients across *all* limbs: the input beat holds the ``k``
source residues of ``P`` consecutive coefficients (``payload[i][c]``: residue mod
``src_primes[i]`` of coefficient ``c`` of the tile), the output beat their ``l``
destination residues (``payload[j][c]``). This is the organisation of a fully pipelined
conversion datapath fed by a limb-banked scratchpad (one bank per limb, all read in the
same cycle): every coefficient is independent, so the unit takes one tile per cycle and
never stores a whole row. It costs ``k*P`` modular multipliers, ``k*l*P`` constant
multipliers and ``l*P`` reductions.

Pipeline (``Lm`` = latency of the modular multiplier, :mod:`hw.modmul`):

1. .. ``Lm``. ``t_i`` by the datapath ``multiplier``; ``[(Q/q_i)^-1]_{q_i}`` is a constant
   in the datapath's stored form (Montgomery form, or value and Shoup companion);
``Lm + 1``. the ``k*l`` products ``t_i * [Q/q_i]_{p_j}`` (``2W`` bits each);
``Lm + 2``. ``acc_j``, the exact sum, on ``acc_bits[j]`` bits
   (:func:`sw.rtl_models.bconv_acc_bits`: the width of the largest possible sum);
``Lm + 3``. ``qhat_j = ((acc_j >> (k_j - 2)) * mu_j) >> shift2_j``, ``acc_j`` carried along
   (:func:`sw.rtl_models.wide_barrett_params`: Barrett for ``acc_bits``-bit inputs);
``Lm + 4``. ``r_j = acc_j - qhat_j * p_j``, lazy in ``[0, 2p_j)``;
``Lm + 5``. ``out_j = r_j - p_j if r_j >= p_j else r_j``, canonical.

``latency = Lm + 5`` (9 with Barrett or Montgomery, 8 with Shoup), ``throughput = 1.0``
beat per cycle. Every stage value is that of :func:`sw.rtl_models.bconv_model`.

Fault injection (``fault={"dst": j, "lane": c, "bit": b}``, elaboration time only,
:func:`hw.faults.check_fault`): bit ``b`` of output residue ``j`` (mod ``dst_primes[j]``)
of lane ``c`` is flipped in every beat, so coefficient ``c`` of a row is the first wrong
word; without ``fault`` the unit has no fault logic.
"""
from __future__ import annotations

from amaranth.hdl import Const, Module, Mux, unsigned
from amaranth.lib import data, stream, wiring
from amaranth.lib.wiring import In, Out

from sw.kernels.bconv import bconv_constants
from sw.modred import check_modulus, check_width
from sw.primes import is_prime
from sw.rtl_models import bconv_acc_bits, wide_barrett_params

from .elementwise import check_unit_lanes
from .faults import check_fault
from .modmul import make_datapath
from .pipeline import Pipe, stream_pipeline

__all__ = ["BconvUnit", "check_prime_list"]


def check_prime_list(primes, name: str, width: int) -> tuple[int, ...]:
    """Validate a non-empty sequence of distinct primes ``3 <= q < 2^width``; return it as a tuple.

    Raises ``ValueError`` naming ``name`` (and the index) for the first violation.
    """
    try:
        seq = tuple(primes)
    except TypeError:
        raise ValueError(f"{name}={primes!r} must be a sequence of primes") from None
    if not seq:
        raise ValueError(f"{name} must not be empty")
    for i, q in enumerate(seq):
        if isinstance(q, bool) or not isinstance(q, int):
            raise ValueError(f"{name}[{i}]={q!r} must be an integer")
        try:
            check_modulus(q, width)
        except ValueError as e:
            raise ValueError(f"{name}[{i}]: {e}") from None
        if not is_prime(q):
            raise ValueError(f"{name}[{i}]={q} is not prime")
    if len(set(seq)) != len(seq):
        raise ValueError(f"{name} repeats a prime: {list(seq)}")
    return seq


class BconvUnit(wiring.Component):
    """Fast basis conversion of ``P`` coefficients per cycle from ``src_primes`` to ``dst_primes``.

    Parameters
    ----------
    src_primes : sequence of int
        The ``k`` source primes ``q_i``, distinct, ``3 <= q_i < 2^width``.
    dst_primes : sequence of int
        The ``l`` destination primes ``p_j``, distinct, none equal to a source prime.
    width : int
        Word width ``W`` in ``[16, 64]``.
    lanes : int
        ``P >= 1``, coefficients per beat.
    multiplier : {"barrett", "montgomery", "shoup"}
        Datapath of the ``t_i = x_i * (Q/q_i)^-1`` multiplications (:mod:`hw.modmul`).
    fault : dict, optional
        ``{"dst": j, "lane": c, "bit": b}`` (``b`` default 0): flip bit ``b`` of output
        residue ``j`` on lane ``c`` of every beat (fault injection; see the module docstring).

    Members
    -------
    i : ``In(stream.Signature(ArrayLayout(ArrayLayout(unsigned(W), P), k)))``
        ``payload[i][c]``: residue of coefficient ``c`` of the tile mod ``src_primes[i]``,
        canonical.
    o : ``Out(stream.Signature(ArrayLayout(ArrayLayout(unsigned(W), P), l)))``
        ``payload[j][c]``: the converted residue mod ``dst_primes[j]``, canonical.

    Properties: ``latency = Lm + 5`` (9, or 8 with Shoup), ``throughput = 1.0`` beat per
    cycle (``elements_per_cycle = P`` coefficients).
    """

    def __init__(self, src_primes, dst_primes, width: int, lanes: int,
                 multiplier: str = "barrett", fault: dict | None = None):
        check_width(width)
        src = check_prime_list(src_primes, "src_primes", width)
        dst = check_prime_list(dst_primes, "dst_primes", width)
        common = sorted(set(src) & set(dst))
        if common:
            raise ValueError(f"dst_primes share {common} with src_primes")
        self.lanes = check_unit_lanes(lanes)
        self.fault = check_fault(fault, {"dst": (0, len(dst)), "lane": (0, self.lanes)}, width)
        self._muls = [make_datapath(multiplier, q, width) for q in src]   # validates multiplier
        self.src_primes, self.dst_primes = src, dst
        self.width, self.multiplier = width, multiplier
        self.qhat_inv, self.qhat_mod_p = bconv_constants(src, dst)
        self.acc_bits = bconv_acc_bits(src, dst)
        self.reductions = tuple(wide_barrett_params(p, b) for p, b in zip(dst, self.acc_bits))
        W, P = width, lanes
        tile = data.ArrayLayout(unsigned(W), P)
        super().__init__({
            "i": In(stream.Signature(data.ArrayLayout(tile, len(src)))),
            "o": Out(stream.Signature(data.ArrayLayout(tile, len(dst)))),
        })

    @property
    def multiplier_latency(self) -> int:
        """``Lm``: stages of the ``t_i`` multipliers (4, or 3 with Shoup)."""
        return self._muls[0].latency

    @property
    def latency(self) -> int:
        """Rising edges from an input transfer to its output transfer: ``Lm + 5``."""
        return self.multiplier_latency + 5

    @property
    def throughput(self) -> float:
        """Beats (tiles of ``P`` coefficients) per cycle in steady state."""
        return 1.0

    @property
    def elements_per_cycle(self) -> int:
        """Coefficients converted per cycle in steady state: ``P``."""
        return self.lanes

    def stage_of(self) -> dict[str, int]:
        """1-based register stage holding each value of :func:`sw.rtl_models.bconv_model`."""
        L = self.multiplier_latency
        return {"t": L, "acc": L + 2, "qhat": L + 3, "r": L + 4, "out": L + 5}

    def stored_qhat_inv(self) -> list[tuple[int, ...]]:
        """The stored words of each ``(Q/q_i)^-1 mod q_i`` (the multiplier's constant form)."""
        return [mul.stored_constant(c) for mul, c in zip(self._muls, self.qhat_inv)]

    def _reduce(self, pipe: Pipe, acc, j: int, name: str):
        """Stages ``Lm + 3 .. Lm + 5``: the wide Barrett reduction of ``acc`` mod ``p_j``."""
        prm, W = self.reductions[j], self.width
        qhat = pipe.reg(((acc >> prm.shift1) * prm.mu) >> prm.shift2,
                        unsigned(prm.acc_bits - prm.k + 1), f"{name}_qhat")
        acc2 = pipe.reg(acc, unsigned(prm.acc_bits), f"{name}_acc2")
        r = pipe.reg((acc2 - qhat * prm.p)[:prm.r_bits], unsigned(prm.r_bits), f"{name}_r")
        out = pipe.reg(Mux(r >= prm.p, r - prm.p, r)[:W], unsigned(W), f"{name}_out")
        return qhat, r, out

    def elaborate(self, platform):
        m = Module()
        en = stream_pipeline(m, self.i, self.o, self.latency, "bc")
        pipe = Pipe(m, en, "bc")
        W, k, l = self.width, len(self.src_primes), len(self.dst_primes)
        stored = self.stored_qhat_inv()
        self.stages = {name: [] for name in ("t", "acc", "qhat", "r", "out")}
        for c in range(self.lanes):
            t = [self._muls[i].build_stored(pipe, self.i.payload[i][c],
                                            [Const(w, W) for w in stored[i]], f"bc{c}_t{i}")
                 for i in range(k)]
            prods = [[pipe.reg(t[i] * self.qhat_mod_p[i][j], unsigned(2 * W),
                               f"bc{c}_prod{i}_{j}") for j in range(l)] for i in range(k)]
            lane = {"t": t, "acc": [], "qhat": [], "r": [], "out": []}
            for j in range(l):
                total = prods[0][j]
                for i in range(1, k):
                    total = total + prods[i][j]
                acc = pipe.reg(total, unsigned(self.acc_bits[j]), f"bc{c}_acc{j}")
                qhat, r, out = self._reduce(pipe, acc, j, f"bc{c}_red{j}")
                f = self.fault
                if f is not None and (f["dst"], f["lane"]) == (j, c):
                    m.d.comb += self.o.payload[j][c].eq(out ^ (1 << f["bit"]))
                else:
                    m.d.comb += self.o.payload[j][c].eq(out)
                for name, sig in (("acc", acc), ("qhat", qhat), ("r", r), ("out", out)):
                    lane[name].append(sig)
            for name, sigs in lane.items():
                self.stages[name].append(sigs)
        return m
