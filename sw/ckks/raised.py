"""Double hoisting: ciphertexts kept over ``Q_l + P`` between key switches.

A key switch ends with a ModDown (divide by the special primes ``P``: an INTT of ``K`` rows,
a basis conversion ``K -> L`` and an NTT of ``L`` rows, per polynomial). In a baby-step
giant-step linear transform every baby rotation pays two of them, although its output is
only multiplied by plaintexts and summed. Double hoisting (Bossuat, Mouchet,
Troncoso-Pastoriza and Hubaux, EUROCRYPT 2021, section 5) keeps those outputs *raised*: a
:class:`RaisedCiphertext` holds ``P`` times a ciphertext over ``Q_l + P``, so that

* a hoisted baby rotation is the key switch's inner product with ``P phi(c0)`` added, and
  no ModDown;
* plaintext products and sums run over ``Q_l + P`` (the plaintexts are encoded over
  ``Q_l + P``: :meth:`sw.ckks.Encoder.encode` with ``special=True``);
* a giant rotation of a raised sum brings only ``c1`` down (one ModDown), decomposes it,
  and adds the permuted raised ``c0`` to the raised key-switch output;
* one ModDown of both polynomials ends the transform (:meth:`RaisedEvaluator.lower`), with
  the rescale fused into it (a division by ``P q_top`` at once).

Per BSGS level with ``b`` baby and ``g`` giant rotations this replaces ``2 (b + g)``
polynomial ModDowns by ``g + 2``; the plaintext products cost ``(L + K) / L`` times as
much. Decryption is that of the single-hoisted transform up to rounding: each ModDown
rounds once, and the raised sums round fewer times.

``P`` is the special basis of the key that raised the ciphertext: all of ``ctx.p_basis``,
or its first primes for a key over fewer (``SwitchingKey.special``, the network's low-level
rotation keys; :attr:`RaisedCiphertext.special`). Raised ciphertexts over different bases
are not added (``ValueError``); :class:`RaisedGiants` brings the one over fewer primes down
and raises it by the other's, and a raised rotation by a key of another basis starts from
the ciphertext brought down.

:class:`RaisedEvaluator` offers the operations a BSGS transform needs (``rotate_hoisted``,
``rotate``, ``mul_plain``, ``mul_plain_acc``, ``dot_plain``, ``add``) with the names and signatures of
:class:`~sw.ckks.evaluator.Evaluator`'s, so the same circuit code runs on either.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .. import trace
from ..ring import RnsPoly, mod_down
from ..ring import kernels as K
from .ciphertext import Ciphertext, PackedPlaintext, Plaintext
from .errors import LevelMismatchError, MissingKeyError, SlotMismatchError
from .evaluator import Evaluator, _pt_info, fused_dot
from .keys import check_binding
from .keyswitch import _p_mod, decompose, decompose_for, key_rows, switch_raised
from .params import CkksParams

__all__ = ["RaisedCiphertext", "RaisedEvaluator", "RaisedGiants"]


@dataclass(frozen=True)
class RaisedCiphertext:
    """``P`` times a degree-1 ciphertext, over ``Q_level + P`` (evaluation form).

    ``c0 + c1 s = P (m + e)`` modulo ``Q_level P``, where ``m`` has ``scale`` and ``slots`` as
    in a :class:`~sw.ckks.ciphertext.Ciphertext` at ``level``.
    """

    polys: tuple[RnsPoly, RnsPoly]
    level: int
    scale: float
    slots: int
    params: CkksParams
    key_id: str | None = None

    @property
    def primes(self) -> tuple[int, ...]:
        return self.polys[0].basis.primes

    @property
    def special(self):
        """The special primes ``P`` it is raised by: the rows after ``Q_level`` (all of
        ``ctx.p_basis``, or fewer after a rotation by a key with fewer special primes)."""
        return self.polys[0].basis.sub(len(self.params.primes_at(self.level)))

    @property
    def is_placeholder(self) -> bool:
        return self.polys[0].data is None

    @property
    def degree(self) -> int:
        return 1

    #: Operations on it are recorded with ``info.raised`` (:func:`sw.ckks.evaluator.fused_dot`).
    is_raised = True


class RaisedEvaluator:
    """BSGS operations on :class:`RaisedCiphertext` values, with the keys of an
    :class:`~sw.ckks.evaluator.Evaluator` (see the module docstring)."""

    def __init__(self, ev: Evaluator):
        self.ev = ev
        self.ctx = ev.ctx
        self.params = ev.params

    # -- helpers -------------------------------------------------------------------------
    def _scope(self, kind: str, x, **info):
        return trace.op(kind, n=self.params.n, primes_in=len(x.primes), level_in=x.level,
                        raised=True, **info)

    def _new(self, polys, like, *, scale=None) -> RaisedCiphertext:
        return RaisedCiphertext(tuple(polys), like.level, like.scale if scale is None else scale,
                                like.slots, self.params, like.key_id)

    def _check(self, op: str, x) -> None:
        if not isinstance(x, RaisedCiphertext):
            raise TypeError(f"{op}: expected RaisedCiphertext, got {type(x).__name__}")
        if x.params != self.params:
            raise ValueError(f"{op}: ciphertext is for {x.params.name!r}, the evaluator for "
                             f"{self.params.name!r}")

    def _key(self, step: int, slots: int, op: str, level: int):
        if self.ev.keys is None:
            raise MissingKeyError(f"{op}: no KeySet given to the Evaluator (step {step})")
        return self.ev.keys.rotation_key(int(step), slots, op, level)

    # -- in and out ----------------------------------------------------------------------
    def raise_(self, ct: Ciphertext, special=None) -> RaisedCiphertext:
        """``P ct`` over ``Q_level + P``: the ``Q`` rows times ``P mod q_i``, the ``P`` rows 0.
        ``special``: the basis ``P`` (default ``ctx.p_basis``)."""
        self.ev._ct("raise", ct)
        if ct.degree != 1:
            raise ValueError(f"raise: ciphertext has degree {ct.degree}; relinearize first")
        special = self.ctx.p_basis if special is None else special
        qb = self.ctx.q_basis(ct.level)
        qpb = qb + special
        pmod = _p_mod(qb, special)
        with self._scope("raise", ct) as ev:
            out = []
            for c in ct.polys:
                t = K.mulconst(c.data, pmod, qb)
                if t is not None:
                    t = np.concatenate([t, np.zeros((len(special), self.params.n), t.dtype)])
                out.append(RnsPoly(qpb, t, True))
            ev.set_out(primes=len(qpb), level=ct.level)
        return RaisedCiphertext(tuple(out), ct.level, ct.scale, ct.slots, self.params, ct.key_id)

    def lower(self, x: RaisedCiphertext, *, rescale: bool = False) -> Ciphertext:
        """The ciphertext ``x / P`` over ``Q_level`` (one ModDown of both polynomials; ``x`` is
        consumed). ``rescale=True`` also divides by the top group's primes in the same
        ModDown (``round(x / (P q_top))``), giving the level and scale of
        :meth:`~sw.ckks.evaluator.Evaluator.rescale`."""
        self._check("lower", x)
        L = len(self.ctx.q_basis(x.level))
        drop = len(self.params.q_groups[x.level]) if rescale else 0
        scale = self.ev._rescaled_scale("lower", x) if rescale else x.scale
        level = x.level - bool(rescale)
        with self._scope("moddown_ct", x, special=len(x.special), rescale=bool(rescale)) as ev:
            polys = tuple(mod_down(p, L - drop, consume=True) for p in x.polys)
            ev.set_out(primes=L - drop, level=level)
        return Ciphertext(polys, level, scale, x.slots, self.params, x.key_id)

    # -- the BSGS operations -----------------------------------------------------------------
    def rotate_hoisted(self, ct: Ciphertext, steps) -> dict[int, RaisedCiphertext]:
        """Raised rotations of ``ct`` (a :class:`Ciphertext`) by each of ``steps``, sharing
        one decomposition, none with a ModDown. Step 0 (or a multiple of ``slots``) maps to
        :meth:`raise_` of ``ct``."""
        ev = self.ev
        ev._ct("rotate_hoisted", ct)
        steps = [int(s) for s in steps]
        if ct.degree != 1:
            raise ValueError(f"rotate_hoisted: ciphertext has degree {ct.degree}; relinearize first")
        keys = {s: self._key(s, ct.slots, "rotate_hoisted", ct.level) for s in steps if s % ct.slots}
        for _, key in keys.values():
            check_binding("rotate_hoisted", key, ct, "rotation key")
        out: dict[int, RaisedCiphertext] = {}
        with ev._scope("rotate_hoisted", ct, steps=len(keys), raised=True) as top:
            # one decomposition per special basis; each output is raised by its key's basis
            ext = decompose_for(self.ctx, ct.polys[1], ct.level, [k for _, k in keys.values()])
            for s in steps:
                if s % ct.slots == 0:
                    out[s] = self.raise_(ct)
                    continue
                g, key = keys[s]
                with ev._scope("rotate", ct, galois=g, hoisted=True, raised=True) as one:
                    c0 = ct.polys[0].automorphism(g)
                    o0, o1 = switch_raised(self.ctx, ext, ct.level, key, g, add0=c0)
                    one.set_out(primes=len(o0.basis), level=ct.level)
                    out[s] = RaisedCiphertext((o0, o1), ct.level, ct.scale, ct.slots, self.params,
                                              ct.key_id)
            top.set_out(primes=max((len(o.primes) for o in out.values()), default=len(ct.primes)),
                        level=ct.level)
        return out

    def rotate(self, x: RaisedCiphertext, steps: int) -> RaisedCiphertext:
        """Left rotation of a raised ciphertext: ModDown of ``c1`` only, its key switch
        without a ModDown, plus the permuted raised ``c0``."""
        self._check("rotate", x)
        if isinstance(steps, bool) or not isinstance(steps, (int, np.integer)):
            raise TypeError(f"rotate: steps must be an int, got {type(steps).__name__}")
        if int(steps) % x.slots == 0:
            return x
        g, key = self._key(int(steps), x.slots, "rotate", x.level)
        check_binding("rotate", key, x, "rotation key")
        rows = key_rows(self.ctx, key, x.level)
        if rows.special != x.special:
            # the key raises to other special primes: bring x down, rotate it raised by the key's
            return self.rotate_hoisted(self.lower(x), [int(steps)])[int(steps)]
        L = len(self.ctx.q_basis(x.level))
        with self._scope("rotate", x, galois=g) as ev:
            with self._scope("moddown", x, special=len(x.special)) as md:
                c1 = mod_down(x.polys[1], L).automorphism(g)
                md.set_out(primes=L, level=x.level)
            c0 = x.polys[0].automorphism(g)
            ext = decompose(self.ctx, c1, x.level, rows.special, rows.digits)
            o0, o1 = switch_raised(self.ctx, ext, x.level, key)
            ev.set_out(primes=len(c0.basis), level=x.level)
            K.add(o0.data, c0.data, o0.basis, out=o0.data)     # o0 is this rotation's own
            return self._new((o0, o1), x)

    def add(self, a: RaisedCiphertext, b: RaisedCiphertext) -> RaisedCiphertext:
        self._check("add", a)
        self._check("add", b)
        self.ev._same_level_scale("add", a, b)
        if a.special != b.special:
            raise ValueError(f"add: raised ciphertexts over {len(a.special)} and {len(b.special)} "
                             f"special primes (rotations by keys with different special primes); "
                             f"lower one first")
        with self._scope("add", a) as ev:
            ev.set_out(primes=len(a.primes), level=a.level)
            return self._new((a.polys[0].add(b.polys[0]), a.polys[1].add(b.polys[1])), a)

    def _pt(self, op: str, pt: Plaintext, x: RaisedCiphertext) -> RnsPoly:
        if isinstance(pt, PackedPlaintext):
            pt = pt.expand()
        if not isinstance(pt, Plaintext):
            raise TypeError(f"{op}: expected Plaintext, got {type(pt).__name__}")
        self._same_basis(op, pt, pt.poly.basis, x)
        return pt.poly

    def dot_plain(self, xs, pts, *, pt_ids=None) -> RaisedCiphertext:
        """``sum_t xs[t] * pts[t]`` over ``Q_level + P`` in one pass (as
        :meth:`Evaluator.dot_plain`; the plaintexts, :class:`Plaintext` or
        :class:`PackedPlaintext`, over ``Q_level + P``)."""
        xs, pts = list(xs), list(pts)
        for x in xs:
            self._check("dot_plain", x)
            self.ev._need_level("mul_plain", x)
        return fused_dot(self.ev, self, "dot_plain", xs, pts, pt_ids, lambda pt, x: self._rows("dot_plain", pt, x))

    def _rows(self, op: str, pt, x: RaisedCiphertext):
        if isinstance(pt, PackedPlaintext):
            self._same_basis(op, pt, pt.basis, x)
            return pt.words, pt.gap
        return self._pt(op, pt, x).data, 1

    def _same_basis(self, op, pt, basis, x):
        if pt.level != x.level or basis != x.polys[0].basis:
            raise LevelMismatchError(
                f"{op}: a raised ciphertext at level {x.level} needs a plaintext encoded over "
                f"Q_{x.level} + P (Encoder.encode(..., special=True) at that level); got one "
                f"over {len(basis)} primes at level {pt.level}")
        if pt.slots != x.slots:
            raise SlotMismatchError(f"{op}: slot mismatch (ct.slots={x.slots}, pt.slots={pt.slots})")

    def mul_plain(self, x: RaisedCiphertext, pt: Plaintext, *, pt_id: str | None = None) -> RaisedCiphertext:
        """``x * pt`` over ``Q_level + P`` (``pt`` encoded with ``special=True``)."""
        self._check("mul_plain", x)
        self.ev._need_level("mul_plain", x)
        m = self._pt("mul_plain", pt, x)
        with self._scope("pmult", x, **_pt_info(pt_id)) as ev:
            ev.set_out(primes=len(x.primes), level=x.level)
            return self._new([p.mul(m) for p in x.polys], x, scale=x.scale * pt.scale)

    def mul_plain_acc(self, acc: RaisedCiphertext, x: RaisedCiphertext, pt: Plaintext, *,
                      pt_id: str | None = None) -> RaisedCiphertext:
        """``acc + x * pt`` in place of ``acc`` (as :meth:`Evaluator.mul_plain_acc`)."""
        self._check("mul_plain_acc", acc)
        self._check("mul_plain_acc", x)
        m = self._pt("mul_plain_acc", pt, x)
        self.ev._same_level_scale("mul_plain_acc", acc, self._new(x.polys, x, scale=x.scale * pt.scale),
                                  "ct * pt")
        with self._scope("mul_plain_acc", x, **_pt_info(pt_id)) as ev:
            for pa, pc in zip(acc.polys, x.polys):
                pa.mul_add_inplace(pc, m)
            ev.set_out(primes=len(x.primes), level=x.level)
            return acc


class RaisedGiants:
    """The giant steps of a baby-step giant-step sum kept raised while its baby steps are
    not (single hoisting of the babies, ordinary plaintexts).

    ``rotate`` of a :class:`~sw.ckks.ciphertext.Ciphertext` is a raised rotation with no
    ModDown (:meth:`RaisedEvaluator.rotate_hoisted` of one step); of a
    :class:`RaisedCiphertext`, :meth:`RaisedEvaluator.rotate` (a ModDown of ``c1`` only).
    ``add`` raises a :class:`~sw.ckks.ciphertext.Ciphertext` operand first (a product by
    ``P mod q_i``: no transform). :meth:`finish` brings the sum down with one ModDown of
    both polynomials, the rescale fused into it. Against rotating and summing ciphertexts,
    a sum of ``g`` giant rotations pays ``2`` polynomial ModDowns in place of ``2 g`` and a
    rescale (``g`` and ``2`` for repeated rotations of the partial sum, ARK's minimum key
    switching). The result decrypts to the same message, rounded fewer times.
    """

    def __init__(self, ev: Evaluator):
        self.rev = RaisedEvaluator(ev)

    def rotate(self, x, steps: int) -> RaisedCiphertext | Ciphertext:
        if isinstance(x, RaisedCiphertext):
            return self.rev.rotate(x, steps)
        if int(steps) % x.slots == 0:
            return x
        return self.rev.rotate_hoisted(x, [int(steps)])[int(steps)]

    def add(self, a, b) -> RaisedCiphertext | Ciphertext:
        if not isinstance(a, RaisedCiphertext) and not isinstance(b, RaisedCiphertext):
            return self.rev.ev.add(a, b)
        if isinstance(a, RaisedCiphertext) and isinstance(b, RaisedCiphertext) and a.special != b.special:
            # terms raised by keys with different special primes: bring the one with fewer
            # down (a ModDown of both polynomials) and raise it by the other's
            a, b = (a, b) if len(a.special) >= len(b.special) else (b, a)
            b = self.rev.lower(b)
        special = (a if isinstance(a, RaisedCiphertext) else b).special
        a = a if isinstance(a, RaisedCiphertext) else self.rev.raise_(a, special)
        b = b if isinstance(b, RaisedCiphertext) else self.rev.raise_(b, special)
        return self.rev.add(a, b)

    def finish(self, x, *, rescale: bool = True) -> Ciphertext:
        """``x`` as a :class:`~sw.ckks.ciphertext.Ciphertext`, rescaled if ``rescale``."""
        if isinstance(x, RaisedCiphertext):
            return self.rev.lower(x, rescale=rescale)
        return self.rev.ev.rescale(x) if rescale else x
