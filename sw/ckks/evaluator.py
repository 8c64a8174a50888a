"""Homomorphic operations on CKKS ciphertexts.

Every method checks its inputs (parameters, levels, scales, slots, keys) and raises a
:mod:`sw.ckks.errors` exception naming the operation and the numbers; every method opens
one :mod:`sw.trace` operation scope. Inputs are never modified.

Scale management (as in Lattigo): ``mul``/``mul_plain``/``mul_const`` multiply the scales;
``rescale`` at level ``l`` divides by ``params.level_scale(l)`` (the product of that level's
primes). To land on a target scale after ``rescale(mul_*(ct, op))``, give the operand the
scale ``plain_scale_for(ct, target) = target * level_scale(ct.level) / ct.scale``; the
default constant scale of ``mul_const`` is ``level_scale(ct.level)``, which keeps
``ct.scale`` unchanged across the rescale.
"""
from __future__ import annotations

import math
from numbers import Number
from types import SimpleNamespace

import numpy as np

from .. import trace
from ..ring import RnsPoly, divide_by_top
from ..ring import kernels as K
from .ciphertext import Ciphertext, PackedPlaintext, Plaintext
from .context import CkksContext
from .encoder import Encoder
from .errors import (LevelError, LevelMismatchError, NonFiniteError, ScaleError, ScaleMismatchError,
                     SlotMismatchError)
from .keys import KeySet, check_binding, require
from .keyswitch import decompose_for, key_switch, switch_decomposed

# Smallest scale a rescale may leave: rescaling adds rounding noise of about sqrt(n) in the
# coefficients, so a message scaled by less than 2^16 keeps under ~8 bits (N = 2^16).
MIN_SCALE = 2.0 ** 16


def _log2(x: float) -> str:
    return f"2^{math.log2(x):.4f}" if x > 0 else str(x)


def _add_into(fresh: RnsPoly, other: RnsPoly) -> RnsPoly:
    """``fresh + other`` written over ``fresh`` (a key switch's own output, which nothing else
    holds): the sum of :meth:`RnsPoly.add` without a new array."""
    fresh._same(other, "add")
    K.add(fresh.data, other.data, fresh.basis, out=fresh.data)
    return fresh


def _pt_info(pt_id: str | None) -> dict:
    """Trace ``info`` naming a plaintext operand (nothing when it has no stable name)."""
    return {} if pt_id is None else {"plaintext": str(pt_id)}


class Evaluator:
    """Evaluator bound to a context and (optionally) a :class:`KeySet` of evaluation keys."""

    def __init__(self, ctx: CkksContext, keys: KeySet | None = None):
        self.ctx = ctx
        self.params = ctx.params
        self.keys = keys
        self.encoder = Encoder(ctx)
        if keys is not None and keys.params != ctx.params:
            from .errors import ParameterMismatchError
            raise ParameterMismatchError(f"Evaluator: keys are for {keys.params.name!r}, context for "
                                         f"{ctx.params.name!r}")

    # ----------------------------------------------------------------------------------
    # checks
    # ----------------------------------------------------------------------------------
    def _ct(self, op: str, *cts) -> None:
        for c in cts:
            if not isinstance(c, Ciphertext):
                raise TypeError(f"{op}: expected Ciphertext, got {type(c).__name__}")
        self.ctx.check_same(op, *cts)
        for c in cts[1:]:
            check_binding(op, cts[0], c, "first ciphertext", "second ciphertext")

    def _same_level_scale(self, op: str, a, b, bname: str = "b") -> None:
        if a.level != b.level:
            raise LevelMismatchError(f"{op}: level mismatch (a.level={a.level}, {bname}.level={b.level}); "
                                     f"drop_level the higher one first")
        if not math.isclose(a.scale, b.scale, rel_tol=self.params.scale_rtol):
            raise ScaleMismatchError(f"{op}: scale mismatch (a.scale={a.scale!r} = {_log2(a.scale)}, "
                                     f"{bname}.scale={b.scale!r} = {_log2(b.scale)}, relative difference "
                                     f"{abs(a.scale / b.scale - 1):.3g} > {self.params.scale_rtol})")
        if a.slots != b.slots:
            raise SlotMismatchError(f"{op}: slot mismatch (a.slots={a.slots}, {bname}.slots={b.slots})")

    def _need_level(self, op: str, ct) -> None:
        if ct.level < 1:
            raise LevelError(f"{op}: no level left (ciphertext at level {ct.level}; a product could not "
                             f"be rescaled)")

    def _pt_at(self, op: str, pt: Plaintext, ct: Ciphertext) -> RnsPoly:
        self._check_pt(op, pt, ct, Plaintext)
        return pt.poly.keep_primes(len(ct.primes))

    def _check_pt(self, op: str, pt, ct: Ciphertext, kinds) -> None:
        """``pt`` (one of ``kinds``) is of this context, at or above ``ct``'s level, with its slots."""
        if not isinstance(pt, kinds):
            raise TypeError(f"{op}: expected Plaintext, got {type(pt).__name__}")
        self.ctx.check_same(op, pt)
        if pt.level < ct.level:
            raise LevelMismatchError(f"{op}: plaintext level {pt.level} is below the ciphertext level "
                                     f"{ct.level}")
        if pt.slots != ct.slots:
            raise SlotMismatchError(f"{op}: slot mismatch (ct.slots={ct.slots}, pt.slots={pt.slots})")

    @staticmethod
    def _const(op: str, c) -> complex:
        if not isinstance(c, (Number, np.number)) or isinstance(c, bool):
            raise TypeError(f"{op}: constant must be a real or complex number, got {type(c).__name__}")
        c = complex(c)
        if not (math.isfinite(c.real) and math.isfinite(c.imag)):
            raise NonFiniteError(f"{op}: constant {c} is not finite")
        return c

    def _scope(self, kind: str, ct: Ciphertext, **info):
        return trace.op(kind, n=self.params.n, primes_in=len(ct.primes), level_in=ct.level, **info)

    @staticmethod
    def _out(ev, ct: Ciphertext) -> Ciphertext:
        ev.set_out(primes=len(ct.primes), level=ct.level)
        return ct

    def _new(self, polys, like: Ciphertext, *, level=None, scale=None) -> Ciphertext:
        return Ciphertext(tuple(polys), like.level if level is None else level,
                          like.scale if scale is None else scale, like.slots, self.params, like.key_id)

    # ----------------------------------------------------------------------------------
    # additive
    # ----------------------------------------------------------------------------------
    def add(self, a: Ciphertext, b: Ciphertext) -> Ciphertext:
        """``a + b`` (equal levels, scales, slots)."""
        self._ct("add", a, b)
        self._same_level_scale("add", a, b)
        with self._scope("add", a) as ev:
            return self._out(ev, self._new(self._addpolys(a.polys, b.polys, False), a))

    def sub(self, a: Ciphertext, b: Ciphertext) -> Ciphertext:
        """``a - b`` (equal levels, scales, slots)."""
        self._ct("sub", a, b)
        self._same_level_scale("sub", a, b)
        with self._scope("sub", a) as ev:
            return self._out(ev, self._new(self._addpolys(a.polys, b.polys, True), a))

    @staticmethod
    def _addpolys(pa, pb, subtract: bool):
        out = []
        for i in range(max(len(pa), len(pb))):
            if i >= len(pa):
                out.append(pb[i].neg() if subtract else pb[i])
            elif i >= len(pb):
                out.append(pa[i])
            else:
                out.append(pa[i].sub(pb[i]) if subtract else pa[i].add(pb[i]))
        return out

    def neg(self, a: Ciphertext) -> Ciphertext:
        """``-a``."""
        self._ct("neg", a)
        with self._scope("neg", a) as ev:
            return self._out(ev, self._new([p.neg() for p in a.polys], a))

    def add_plain(self, ct: Ciphertext, pt: Plaintext) -> Ciphertext:
        """``ct + pt`` (pt at a level >= ct's, equal scale and slots)."""
        self._ct("add_plain", ct)
        m = self._pt_at("add_plain", pt, ct)
        self._same_level_scale("add_plain", ct, _AtLevel(pt, ct.level), "pt")
        with self._scope("add_plain", ct) as ev:
            return self._out(ev, self._new((ct.polys[0].add(m),) + ct.polys[1:], ct))

    def sub_plain(self, ct: Ciphertext, pt: Plaintext) -> Ciphertext:
        """``ct - pt``."""
        self._ct("sub_plain", ct)
        m = self._pt_at("sub_plain", pt, ct)
        self._same_level_scale("sub_plain", ct, _AtLevel(pt, ct.level), "pt")
        with self._scope("sub_plain", ct) as ev:
            return self._out(ev, self._new((ct.polys[0].sub(m),) + ct.polys[1:], ct))

    def add_const(self, ct: Ciphertext, c) -> Ciphertext:
        """``ct + c`` in every slot (encoded at ``ct.scale``)."""
        self._ct("add_const", ct)
        c = self._const("add_const", c)
        with self._scope("add_const", ct) as ev:
            pt = self.encoder.encode_const(c, level=ct.level, scale=ct.scale, slots=ct.slots)
            return self._out(ev, self._new((ct.polys[0].add(pt.poly),) + ct.polys[1:], ct))

    def sub_const(self, ct: Ciphertext, c) -> Ciphertext:
        """``ct - c`` in every slot."""
        return self.add_const(ct, -self._const("sub_const", c))

    # ----------------------------------------------------------------------------------
    # multiplicative
    # ----------------------------------------------------------------------------------
    def plain_scale_for(self, ct: Ciphertext, target: float) -> float:
        """Operand scale ``target * level_scale(ct.level) / ct.scale``: after
        ``rescale(mul_*(ct, operand))`` the result has scale ``target``."""
        self._ct("plain_scale_for", ct)
        if not (isinstance(target, (int, float)) and math.isfinite(target) and target > 0):
            raise ScaleError(f"plain_scale_for: target={target!r} must be a positive finite number")
        return float(target) * self.params.level_scale(ct.level) / ct.scale

    def mul_plain(self, ct: Ciphertext, pt: Plaintext, *, pt_id: str | None = None) -> Ciphertext:
        """``ct * pt`` (scale ``ct.scale * pt.scale``; needs a level to rescale).

        ``pt_id``: a stable name of the plaintext, recorded in the trace event's ``info``
        (``plaintext``) when given, so that a cycle model can tell reused plaintexts (the
        bootstrapping diagonals) from ones used once; it does not change the result."""
        self._ct("mul_plain", ct)
        self._need_level("mul_plain", ct)
        m = self._pt_at("mul_plain", pt, ct)
        with self._scope("pmult", ct, **_pt_info(pt_id)) as ev:
            return self._out(ev, self._new([p.mul(m) for p in ct.polys], ct, scale=ct.scale * pt.scale))

    def mul_plain_acc(self, acc: Ciphertext, ct: Ciphertext, pt: Plaintext, *,
                      pt_id: str | None = None) -> Ciphertext:
        """``acc + ct * pt`` for the sums of plaintext products of linear transforms.

        ``acc`` is consumed: its arrays are overwritten with the result, so pass a fresh
        sum that nothing else holds (e.g. a previous ``mul_plain`` result). The checks and
        the result are those of ``add(acc, mul_plain(ct, pt))``; product and sum are fused
        into one pass over the operands with no new arrays (kernel ``mac`` per polynomial),
        also while a trace recorder is active, which records one ``mul_plain_acc``
        operation. ``pt_id``: as for :meth:`mul_plain`.
        """
        self._ct("mul_plain_acc", acc, ct)
        self._need_level("mul_plain", ct)
        m = self._pt_at("mul_plain", pt, ct)
        product = SimpleNamespace(level=ct.level, scale=ct.scale * pt.scale, slots=ct.slots)
        self._same_level_scale("mul_plain_acc", acc, product, "ct * pt")
        if len(acc.polys) != len(ct.polys):
            return self.add(acc, self.mul_plain(ct, pt, pt_id=pt_id))
        with self._scope("mul_plain_acc", ct, **_pt_info(pt_id)) as ev:
            for pa, pc in zip(acc.polys, ct.polys):
                pa.mul_add_inplace(pc, m)
            return self._out(ev, acc)

    def dot_plain(self, cts, pts, *, pt_ids=None) -> Ciphertext:
        """``sum_t cts[t] * pts[t]``: the inner sum of a baby-step giant-step linear transform.

        The result and the checks are those of ``mul_plain`` of the first term followed by
        ``mul_plain_acc`` of the others (same level, slots and product scale), and the trace
        records exactly those operations; the arithmetic is one fused pass
        (:func:`sw.ring.kernels.dot_plain`) that reads each operand row once and writes each
        output row once. ``pts`` may be :class:`Plaintext` or :class:`PackedPlaintext`
        values (read as stored). ``pt_ids``: the plaintexts' names, as for :meth:`mul_plain`.
        """
        cts, pts = list(cts), list(pts)
        for ct in cts:
            self._ct("dot_plain", ct)
            self._need_level("mul_plain", ct)
        return fused_dot(self, self, "dot_plain", cts, pts, pt_ids,
                         lambda pt, ct: self._pt_rows("dot_plain", pt, ct))

    def _pt_rows(self, op: str, pt, ct: Ciphertext):
        """``(rows, gap)`` of ``pt`` at ``ct``'s primes (``rows`` uint32 words if packed)."""
        if isinstance(pt, PackedPlaintext):
            self._check_pt(op, pt, ct, PackedPlaintext)
            return (None if pt.words is None else pt.words[:len(ct.primes)]), pt.gap
        return self._pt_at(op, pt, ct).data, 1

    def mul_const(self, ct: Ciphertext, c, *, scale: float | None = None) -> Ciphertext:
        """``ct * c`` with ``c`` encoded at ``scale`` (default ``level_scale(ct.level)``, which
        makes the following rescale return to ``ct.scale`` exactly)."""
        self._ct("mul_const", ct)
        c = self._const("mul_const", c)
        self._need_level("mul_const", ct)
        sc = self.params.level_scale(ct.level) if scale is None else scale
        if not (isinstance(sc, (int, float)) and math.isfinite(sc) and sc > 0):
            raise ScaleError(f"mul_const: scale={scale!r} must be a positive finite number")
        with self._scope("cmult_const", ct) as ev:
            if c.imag == 0:
                v = int(round(c.real * sc))
                polys = [p.mul_scalar([v] * len(p.basis)) for p in ct.polys]
            else:
                pt = self.encoder.encode_const(c, level=ct.level, scale=sc, slots=ct.slots)
                polys = [p.mul(pt.poly) for p in ct.polys]
            return self._out(ev, self._new(polys, ct, scale=ct.scale * sc))

    def mul_int(self, ct: Ciphertext, k: int) -> Ciphertext:
        """``ct * k`` for an integer ``k`` (no scale change, any level)."""
        self._ct("mul_int", ct)
        if isinstance(k, bool) or not isinstance(k, (int, np.integer)):
            raise TypeError(f"mul_int: k must be an int, got {type(k).__name__}")
        with self._scope("mul_int", ct) as ev:
            return self._out(ev, self._new([p.mul_scalar(int(k)) for p in ct.polys], ct))

    def mul(self, a: Ciphertext, b: Ciphertext, *, relin: bool = True,
            rescale: bool = False) -> Ciphertext:
        """``a * b`` (equal levels and slots; scale ``a.scale * b.scale``); relinearised
        unless ``relin=False`` (then degree 2). ``rescale=True``: also rescaled, with the
        rescale fused into the relinearisation's ModDown (:meth:`relinearize`), at
        ``a.level - 1``."""
        self._ct("mul", a, b)
        if a.level != b.level:
            raise LevelMismatchError(f"mul: level mismatch (a.level={a.level}, b.level={b.level})")
        if a.slots != b.slots:
            raise SlotMismatchError(f"mul: slot mismatch (a.slots={a.slots}, b.slots={b.slots})")
        if a.degree != 1 or b.degree != 1:
            raise ValueError(f"mul: operands must have degree 1 (got {a.degree} and {b.degree}); "
                             f"relinearize first")
        self._need_level("mul", a)
        if relin:
            check_binding("mul", require(self.keys and self.keys.relin, "relinearisation", "mul"), a,
                          "relinearisation key")
        with self._scope("cmult", a) as ev:
            a0, a1 = a.polys
            b0, b1 = b.polys
            if a is b:
                d0 = a0.mul(a0)
                x = a0.mul(a1)
                d1 = x.add(x)
                d2 = a1.mul(a1)
            else:
                d0 = a0.mul(b0)
                d1 = a0.mul(b1).add(a1.mul(b0))
                d2 = a1.mul(b1)
            out = self._new((d0, d1, d2), a, scale=a.scale * b.scale)
            if relin:
                out = self.relinearize(out, rescale=rescale)
            elif rescale:
                out = self.rescale(out)
            return self._out(ev, out)

    def square(self, a: Ciphertext, *, relin: bool = True) -> Ciphertext:
        """``a * a``."""
        return self.mul(a, a, relin=relin)

    def relinearize(self, ct: Ciphertext, *, rescale: bool = False) -> Ciphertext:
        """Degree 2 -> 1 with the relinearisation key.

        ``rescale=True``: relinearise and rescale in one ModDown, dividing by ``P`` and the
        top group's primes at once (:func:`~.keyswitch.key_switch` with ``fold`` and
        ``rescale``): the result is at ``ct.level - 1`` with the scale of :meth:`rescale`,
        and costs the transforms of one ModDown instead of a ModDown and a rescale. Its
        integers ``round((d0 P + ks0) / (P q_top))`` are those of the two steps,
        ``round((d0 + round(ks0 / P)) / q_top)``: with ``ks0 = P u + r``, ``|r| < P/2``,
        the two differ only if ``(d0 + u) / q_top`` lies within ``|r| / (P q_top) <
        1 / (2 q_top)`` of a half-integer, and an integer over the odd ``q_top`` is at
        least ``1 / (2 q_top)`` away from every half-integer."""
        self._ct("relinearize", ct)
        if ct.degree == 1:
            return self.rescale(ct) if rescale else ct
        key = require(self.keys and self.keys.relin, "relinearisation", "relinearize")
        check_binding("relinearize", key, ct, "relinearisation key")
        if not rescale:
            with self._scope("relin", ct) as ev:
                u0, u1 = key_switch(self.ctx, ct.polys[2], ct.level, key)
                return self._out(ev, self._new((ct.polys[0].add(u0), ct.polys[1].add(u1)), ct))
        new_scale = self._rescaled_scale("relinearize", ct)
        with self._scope("relin", ct, rescale=True) as ev:
            u0, u1 = key_switch(self.ctx, ct.polys[2], ct.level, key, fold=ct.polys[:2], rescale=True)
            return self._out(ev, self._new((u0, u1), ct, level=ct.level - 1, scale=new_scale))

    # ----------------------------------------------------------------------------------
    # modulus management
    # ----------------------------------------------------------------------------------
    def rescale(self, ct: Ciphertext) -> Ciphertext:
        """Divide by the primes of the top group (``level_scale(ct.level)``) and drop them."""
        self._ct("rescale", ct)
        k = len(self.params.q_groups[ct.level]) if ct.level >= 1 else 0
        new_scale = self._rescaled_scale("rescale", ct)
        with self._scope("rescale", ct, group=k) as ev:
            polys = [divide_by_top(p, k) for p in ct.polys]
            out = self._new(polys, ct, level=ct.level - 1, scale=new_scale)
            return self._out(ev, out)

    def _rescaled_scale(self, op: str, ct: Ciphertext) -> float:
        """The scale of ``ct`` after a rescale; ``LevelError`` without a level, ``ScaleError``
        if it would fall below the floor."""
        if ct.level < 1:
            raise LevelError(f"{op}: no level left (ciphertext at level {ct.level})")
        new_scale = ct.scale / self.params.level_scale(ct.level)
        if new_scale < MIN_SCALE:
            raise ScaleError(
                f"{op}: scale 2^{math.log2(ct.scale):.1f} divided by level {ct.level}'s "
                f"2^{math.log2(self.params.level_scale(ct.level)):.1f} leaves 2^{math.log2(new_scale):.1f}, "
                f"below the 2^{math.log2(MIN_SCALE):.0f} floor where rounding noise swamps the message; "
                f"encode at a larger scale (e.g. level_scale({ct.level})) or drop the level instead")
        return new_scale

    def drop_level(self, ct: Ciphertext, levels: int = 1) -> Ciphertext:
        """Drop ``levels`` levels without dividing (scale unchanged)."""
        self._ct("drop_level", ct)
        if isinstance(levels, bool) or not isinstance(levels, int) or levels < 0:
            raise LevelError(f"drop_level: levels={levels!r} must be a non-negative int")
        if levels > ct.level:
            raise LevelError(f"drop_level: cannot drop {levels} levels from level {ct.level}")
        return self.drop_to_level(ct, ct.level - levels)

    def drop_to_level(self, ct: Ciphertext, level: int) -> Ciphertext:
        """Drop to ``level`` (<= ct.level) without dividing."""
        self._ct("drop_to_level", ct)
        self.params.check_level(level, "drop_to_level")
        if level > ct.level:
            raise LevelError(f"drop_to_level: target level {level} is above the ciphertext level {ct.level}")
        if level == ct.level:
            return ct
        cnt = len(self.params.primes_at(level))
        with self._scope("drop_level", ct) as ev:
            return self._out(ev, self._new([p.keep_primes(cnt) for p in ct.polys], ct, level=level))

    # ----------------------------------------------------------------------------------
    # automorphisms
    # ----------------------------------------------------------------------------------
    def _galois(self, ct: Ciphertext, galois: int, key, kind: str) -> Ciphertext:
        if ct.degree != 1:
            raise ValueError(f"{kind}: ciphertext has degree {ct.degree}; relinearize first")
        check_binding(kind, key, ct, f"{kind} key")
        with self._scope(kind, ct, galois=galois) as ev:
            # one rotation: permute both polynomials first (2 x L rows) and switch the
            # permuted c1, rather than permuting each raised digit inside the inner product
            # (d x (L + K) rows, the way hoisted rotations must); same key, same decryption
            c0 = ct.polys[0].automorphism(galois)
            c1 = ct.polys[1].automorphism(galois)
            u0, u1 = key_switch(self.ctx, c1, ct.level, key)
            return self._out(ev, self._new((_add_into(u0, c0), u1), ct))

    def rotate(self, ct: Ciphertext, steps: int) -> Ciphertext:
        """Left rotation of the slot vector: ``out[i] = in[(i + steps) mod slots]``."""
        self._ct("rotate", ct)
        if isinstance(steps, bool) or not isinstance(steps, (int, np.integer)):
            raise TypeError(f"rotate: steps must be an int, got {type(steps).__name__}")
        if int(steps) % ct.slots == 0:
            return ct
        if self.keys is None:
            from .errors import MissingKeyError
            raise MissingKeyError(f"rotate: no KeySet given to the Evaluator (step {steps})")
        g, key = self.keys.rotation_key(int(steps), ct.slots, "rotate", ct.level)
        return self._galois(ct, g, key, "rotate")

    def conjugate(self, ct: Ciphertext) -> Ciphertext:
        """Complex conjugate of every slot."""
        self._ct("conjugate", ct)
        key = require(self.keys and self.keys.conjugation, "conjugation", "conjugate")
        return self._galois(ct, self.ctx.conjugation_element, key, "conjugate")

    def rotate_hoisted(self, ct: Ciphertext, steps) -> dict[int, Ciphertext]:
        """Rotations of ``ct`` by each of ``steps``, sharing one decomposition and ModUp.

        Returns ``{step: rotated ciphertext}`` (step 0, or a multiple of ``slots``, maps to ``ct``).
        """
        self._ct("rotate_hoisted", ct)
        steps = [int(s) for s in steps]
        if ct.degree != 1:
            raise ValueError(f"rotate_hoisted: ciphertext has degree {ct.degree}; relinearize first")
        if self.keys is None and any(s % ct.slots for s in steps):
            from .errors import MissingKeyError
            raise MissingKeyError(f"rotate_hoisted: no KeySet given to the Evaluator (steps {steps})")
        keys = {s: self.keys.rotation_key(s, ct.slots, "rotate_hoisted", ct.level) for s in steps if s % ct.slots}
        for _, key in keys.values():
            check_binding("rotate_hoisted", key, ct, "rotation key")
        out: dict[int, Ciphertext] = {}
        with self._scope("rotate_hoisted", ct, steps=len(keys)) as ev:
            # one decomposition per special basis (keys with fewer special primes raise less)
            ext = decompose_for(self.ctx, ct.polys[1], ct.level, [k for _, k in keys.values()])
            for s in steps:
                if s % ct.slots == 0:
                    out[s] = ct
                    continue
                g, key = keys[s]
                with self._scope("rotate", ct, galois=g, hoisted=True) as ev2:
                    c0 = ct.polys[0].automorphism(g)
                    u0, u1 = switch_decomposed(self.ctx, ext, ct.level, key, g)
                    out[s] = self._out(ev2, self._new((_add_into(u0, c0), u1), ct))
            ev.set_out(primes=len(ct.primes), level=ct.level)
        return out

    def key_switch(self, ct: Ciphertext, key) -> Ciphertext:
        """Re-encrypt ``(c0, c1)`` from the key's source secret to the key set's secret."""
        self._ct("key_switch", ct)
        with self._scope("keyswitch_ct", ct) as ev:
            u0, u1 = key_switch(self.ctx, ct.polys[1], ct.level, key)
            out = self._new((ct.polys[0].add(u0), u1), ct)
            if getattr(key, "key_id", None) is not None:   # now under the key's target secret
                out = Ciphertext(out.polys, out.level, out.scale, out.slots, out.params, key.key_id)
            return self._out(ev, out)


class _AtLevel:
    """View of a plaintext's level/scale/slots as seen at a ciphertext level (for checks)."""

    def __init__(self, pt: Plaintext, level: int):
        self.level, self.scale, self.slots = level, pt.scale, pt.slots


def fused_dot(ev, ops, op: str, cts: list, pts: list, pt_ids, rows_of):
    """The shared body of :meth:`Evaluator.dot_plain` and of its raised counterpart
    (:meth:`sw.ckks.raised.RaisedEvaluator.dot_plain`): checks that the terms share level,
    slots and product scale, computes the sums in one pass, records one ``pmult`` and then one
    ``mul_plain_acc`` per term (with their kernels), and returns a value like ``cts[0]``
    (``dataclasses.replace`` of it) holding the sum. ``rows_of(pt, ct)`` gives a plaintext's
    ``(rows, gap)`` at a ciphertext. When a recorder keeps ``mac`` or ``modmul`` data the
    terms are computed one by one by ``ops`` (its ``mul_plain``/``mul_plain_acc``, on expanded
    plaintexts); ``ev`` is the :class:`Evaluator` whose checks apply."""
    from dataclasses import replace

    if not cts or len(cts) != len(pts):
        raise ValueError(f"{op}: {len(cts)} ciphertexts and {len(pts)} plaintexts (need equal, >= 1)")
    ids = [None] * len(cts) if pt_ids is None else list(pt_ids)
    if len(ids) != len(cts):
        raise ValueError(f"{op}: {len(ids)} plaintext names for {len(cts)} terms")
    first = cts[0]
    scale = first.scale * pts[0].scale
    rows = []
    for ct, pt in zip(cts, pts):
        if not isinstance(pt, (Plaintext, PackedPlaintext)):
            raise TypeError(f"{op}: expected Plaintext, got {type(pt).__name__}")
        if ct.degree != 1:
            raise ValueError(f"{op}: ciphertext has degree {ct.degree}; relinearize first")
        ev._same_level_scale(op, SimpleNamespace(level=first.level, scale=scale, slots=first.slots),
                             SimpleNamespace(level=ct.level, scale=ct.scale * pt.scale, slots=ct.slots),
                             "ct * pt")
        rows.append(rows_of(pt, ct))
    if trace.wants_data("mac") or trace.wants_data("modmul"):
        full = [p.expand() if isinstance(p, PackedPlaintext) else p for p in pts]
        acc = ops.mul_plain(cts[0], full[0], pt_id=ids[0])
        for ct, pt, pid in zip(cts[1:], full[1:], ids[1:]):
            acc = ops.mul_plain_acc(acc, ct, pt, pt_id=pid)
        return acc
    gaps = {g for _, g in rows}
    words = [w for w, _ in rows]
    if len(gaps) > 1 and all(w is not None for w in words):    # mixed: read every one in full
        words = [w if g == 1 else K.subring_expand(w, g) for w, g in rows]
        gaps = {1}
    basis = first.polys[0].basis
    o0, o1 = K.dot_plain([c.polys[0].data for c in cts], [c.polys[1].data for c in cts], words,
                         gaps.pop(), basis)
    R, n = len(basis), ev.params.n
    for t, (ct, pid) in enumerate(zip(cts, ids)):
        kind, kernel = ("pmult", "modmul") if t == 0 else ("mul_plain_acc", "mac")
        with trace.op(kind, n=n, primes_in=R, level_in=ct.level, **_pt_info(pid),
                      **({"raised": True} if getattr(ct, "is_raised", False) else {})) as e:
            trace.report_kernel(kernel, R, n)
            trace.report_kernel(kernel, R, n)
            e.set_out(primes=R, level=ct.level)
    return replace(first, polys=(RnsPoly(basis, o0, True), RnsPoly(basis, o1, True)), scale=scale)
