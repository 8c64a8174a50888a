"""Multiplexed packing (Lee et al., ICML 2022) and the ResNet layers as slot-linear maps.

Multiplexed layout ``MP(c, h, w, k)``
-------------------------------------
A ``c x h x w`` tensor with *gap* ``k`` occupies a physical ``(k h) x (k w)`` image per
block: channel ``ch = blk * k^2 + a * k + b`` (``0 <= a, b < k``) puts pixel ``(y, x)`` at
physical position ``(k y + a, k x + b)`` of block ``blk``; blocks follow each other, so

    slot(ch, y, x) = blk * (k h * k w) + (k y + a) * (k w) + (k x + b).

``T = ceil(c / k^2) * k^2 h w`` slots, padded to the power of two ``T'``; the vector is
repeated ``slots / T'`` times to fill the ciphertext (so rotations are cyclic modulo
``T'``). A stride-2 convolution doubles the gap (``k -> 2k``, ``h -> h/2``): the physical
image keeps its size, the channel count doubles, and the tensor stays in one ciphertext
(digits8: 8x8x16 gap 1 -> 4x4x32 gap 2 -> 2x2x64 gap 4, i.e. 1024, 512, 256 slots;
cifar32: 16384, 8192, 4096 slots, the sparse slot counts of the paper).

Layers as slot-linear maps, evaluated "in parallel" over all channels
------------------------------------------------------------------------
Every linear layer (convolution with batch norm folded, stride 1 or 2, the option-A
downsampling shortcut, the final fully connected layer after rotate-and-sum pooling
(:func:`pool_steps`, :func:`fc_map`; :func:`pool_fc_map` is the fused one-map form) is an
affine map ``y = sum_d w_d * rot(x, d) + bias`` between two multiplexed layouts, with
``d = slot_in - slot_out mod T'_in``. The rotation ``d`` of a convolution tap splits into a
*tap offset* ``b = (dy - p) k W + (dx - p) k`` (``W`` the physical width) and a *channel
shift* ``g = d - b``; as in the multiplexed parallel convolution (MPCnv), the input is
rotated once per kernel tap (hoisted: one key-switch decomposition shared by the taps),
multiplied by the weight plaintexts of every channel shift, and the partial sums are
rotated once per channel shift and accumulated:

    y = sum_g rot( sum_b w'_{g,b} * rot(x, b), g ),   w'_{g,b} = rot(w_{g,b}, -g).

Zero padding, stride-2 subsampling, the change of gap and the replication of the output
are all in the weight vectors ``w_{g,b}`` (zeros where an output slot takes nothing), so
one level is consumed per linear layer. Other splits (``b = d mod n1``, the baby-step
giant-step split of :class:`sw.circuits.LinearTransform`) are also costed, and the cheapest
is used (:func:`choose_split`).
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

__all__ = ["MPLayout", "LinearMap", "conv_map", "shortcut_a_map", "pool_fc_map", "pool_steps", "fc_map", "pack", "unpack",
           "stage_layouts", "next_pow2"]


def next_pow2(n: int) -> int:
    return 1 << max(0, int(n - 1).bit_length())


@dataclass(frozen=True)
class MPLayout:
    """Multiplexed layout of a ``c x h x w`` tensor with gap ``k`` (``c = 0``-free vectors: h=w=1, k=1)."""

    c: int
    h: int
    w: int
    k: int = 1

    @property
    def H(self) -> int:
        return self.k * self.h

    @property
    def W(self) -> int:
        return self.k * self.w

    @property
    def blocks(self) -> int:
        return -(-self.c // (self.k * self.k))

    @property
    def size(self) -> int:
        return self.blocks * self.H * self.W

    @property
    def period(self) -> int:
        """``T'``: the power of two the vector repeats with."""
        return next_pow2(self.size)

    def index(self) -> np.ndarray:
        """``(c, h, w)`` int64 array of slot indices (base copy)."""
        k = self.k
        ch = np.arange(self.c)[:, None, None]
        y = np.arange(self.h)[None, :, None]
        x = np.arange(self.w)[None, None, :]
        blk, r = ch // (k * k), ch % (k * k)
        a, b = r // k, r % k
        return (blk * self.H * self.W + (k * y + a) * self.W + (k * x + b)).astype(np.int64)

    def __str__(self) -> str:
        return f"MP({self.c}x{self.h}x{self.w}, gap {self.k}, {self.period} slots)"


def pack(x: np.ndarray, layout: MPLayout, slots: int) -> np.ndarray:
    """``(c, h, w)`` tensor -> slot vector of length ``slots`` (repeated with period ``T'``)."""
    x = np.asarray(x, dtype=np.float64)
    if x.shape != (layout.c, layout.h, layout.w):
        raise ValueError(f"pack: tensor shape {x.shape} does not match {layout}")
    if slots % layout.period:
        raise ValueError(f"pack: {layout} needs {layout.period} slots; {slots} is not a multiple")
    v = np.zeros(layout.period)
    v[layout.index()] = x
    return np.tile(v, slots // layout.period)


def unpack(v: np.ndarray, layout: MPLayout) -> np.ndarray:
    """Slot vector -> ``(c, h, w)`` tensor (base copy)."""
    return np.real(np.asarray(v))[layout.index()]


@dataclass
class LinearMap:
    """``y = sum_(g,b) rot(w'_{g,b} * rot(x, b), g) + bias`` on ``slots``-vectors.

    ``pairs``: ``(g, b)`` int arrays (rotation steps in ``[0, T'_in)``); ``diag``: the
    ``(len(pairs), slots)`` weight vectors ``w'_{g,b}`` (already pre-rotated by ``-g``), or
    None for a shape-only map (dry run); ``bias``: length-``slots`` vector or None.
    """

    name: str
    slots: int
    g: np.ndarray
    b: np.ndarray
    diag: np.ndarray | None
    bias: np.ndarray | None
    split: str = ""
    meta: dict = field(default_factory=dict)

    @property
    def babies(self) -> list[int]:
        return sorted(int(v) for v in set(self.b.tolist()) if v)

    @property
    def giants(self) -> list[int]:
        return sorted(int(v) for v in set(self.g.tolist()) if v)

    @property
    def rotation_steps(self) -> list[int]:
        return sorted(set(self.babies) | set(self.giants))

    @property
    def n_pmults(self) -> int:
        return int(len(self.g))

    def apply_plain(self, x: np.ndarray) -> np.ndarray:
        """NumPy reference of the encrypted evaluation (same decomposition)."""
        x = np.asarray(x, dtype=np.float64)
        out = np.zeros(self.slots)
        for gi in np.unique(self.g):
            sel = np.flatnonzero(self.g == gi)
            inner = sum(self.diag[j] * np.roll(x, -int(self.b[j])) for j in sel)
            out += np.roll(inner, -int(gi))
        return out + (0 if self.bias is None else self.bias)

    def cost(self) -> float:
        return split_cost(len(self.babies), len(self.giants), self.n_pmults)


def split_cost(n_baby: int, n_giant: int, n_pairs: int) -> float:
    """Relative cost: hoisted rotation 0.5, rotation 1, plaintext product (+ encoding) 0.15."""
    return 0.5 * n_baby + 1.0 * n_giant + 0.15 * n_pairs


def _apply_split(name: str, d: np.ndarray, tap: np.ndarray | None, period: int):
    if name == "tap":
        b = tap % period
        return (d - b) % period, b
    n1 = int(name[4:])
    return d - d % n1, d % n1


def choose_split(d: np.ndarray, tap: np.ndarray | None, period: int) -> str:
    """The cheapest split (by :func:`split_cost`) of the distinct rotations ``d`` (with taps)."""
    names = (["tap"] if tap is not None else []) + [f"bsgs{1 << i}" for i in range(period.bit_length())]
    best = None
    for name in names:
        g, b = _apply_split(name, d, tap, period)
        npairs = len(np.unique(g * period + b))
        c = split_cost(len(set(np.unique(b).tolist()) - {0}), len(set(np.unique(g).tolist()) - {0}), npairs)
        if best is None or c < best[0]:
            best = (c, name)
    return best[1]


def _build(name: str, slots: int, out_idx: np.ndarray | None, in_idx: np.ndarray | None,
           wts: np.ndarray | None, tap: np.ndarray | None, period_in: int, reps: np.ndarray,
           bias_slots: np.ndarray | None, meta: dict | None = None, *,
           base: np.ndarray | None = None, has_tap: bool | None = None) -> LinearMap:
    """Accumulate entries ``(out slot + rep, in slot, weight)`` into ``(g, b)`` diagonals.

    ``reps``: offsets of the output copies (replication); ``wts=None``: shape only. A
    shape-only caller may pass ``base``, the distinct ``((in - out) mod P) * P + tap mod P``
    of its entries, instead of the entries (``out_idx = in_idx = tap = None``; ``has_tap``
    says whether the map has taps).
    """
    P = period_in
    if base is None:
        tp = np.zeros_like(out_idx) if tap is None else tap % P
        base = np.unique(((in_idx - out_idx) % P) * P + tp)
    elif wts is not None:
        raise ValueError(f"{name}: a map with weights needs its entries, not only their diagonals")
    if has_tap is not None:
        tap = True if has_tap else None       # only whether there are taps matters below
    # distinct (d, tap) over all output copies: the split is chosen on these only
    dts = []
    for r in reps:
        dd, tt = base // P, base % P
        dts.append(((dd - r) % P) * P + tt)
    dt = np.unique(np.concatenate(dts))
    dd, tt = dt // P, dt % P
    split = choose_split(dd, None if tap is None else tt, P)
    g, b = _apply_split(split, dd, None if tap is None else tt, P)
    keys = np.unique(g * P + b)
    gs, bs = keys // P, keys % P
    diag = None
    if wts is not None:
        diag = np.zeros((len(keys), slots))
        for r in reps:
            d = (in_idx - out_idx - r) % P
            gg, bb = _apply_split(split, d, None if tap is None else tp, P)
            idx = np.searchsorted(keys, gg * P + bb)
            # w'_{g,b}[o + g] = w_{g,b}[o]
            np.add.at(diag, (idx, (out_idx + r + gg) % slots), wts)
    return LinearMap(name, slots, gs.astype(np.int64), bs.astype(np.int64), diag, bias_slots, split,
                     dict(meta or {}))


def _replicas(out_layout: MPLayout, slots: int, replicate: bool) -> np.ndarray:
    if not replicate:
        return np.zeros(1, dtype=np.int64)
    return np.arange(slots // out_layout.period, dtype=np.int64) * out_layout.period


def conv_map(name: str, weight: np.ndarray | None, bias: np.ndarray | None, stride: int, pad: int,
             lin: MPLayout, lout: MPLayout, slots: int, *, ksize: int | None = None,
             replicate: bool = True) -> LinearMap:
    """Convolution (batch norm folded) from ``lin`` to ``lout``; stride 1 (same gap) or 2
    (``lout.k = 2 lin.k``). ``weight=None``: shape-only (dry run)."""
    co, ci = lout.c, lin.c
    k = ksize if weight is None else weight.shape[-1]
    if weight is not None and weight.shape != (co, ci, k, k):
        raise ValueError(f"{name}: weight shape {weight.shape} does not match {lin} -> {lout}")
    if lout.k != lin.k * stride or lout.h * stride != lin.h:
        raise ValueError(f"{name}: layouts {lin} -> {lout} do not fit stride {stride}")
    oi = lout.index()                         # (co, ho, wo)
    ii = lin.index()                          # (ci, h, w)
    reps = _replicas(lout, slots, replicate)
    meta = dict(kind="conv", stride=stride, k=k, lin=str(lin), lout=str(lout))
    if weight is None and bias is None:
        base = _conv_diagonals(oi, ii, stride, pad, k, lin)
        if base is not None:
            return _build(name, slots, None, None, None, None, lin.period, reps, None, meta,
                          base=base, has_tap=True)
    O, I, DY, DX, Y, X = np.meshgrid(np.arange(co), np.arange(ci), np.arange(k), np.arange(k),
                                     np.arange(lout.h), np.arange(lout.w), indexing="ij")
    yi = stride * Y + DY - pad
    xi = stride * X + DX - pad
    ok = (yi >= 0) & (yi < lin.h) & (xi >= 0) & (xi < lin.w)
    O, I, DY, DX, Y, X, yi, xi = (a[ok] for a in (O, I, DY, DX, Y, X, yi, xi))
    out_idx = oi[O, Y, X]
    in_idx = ii[I, yi, xi]
    wts = None if weight is None else weight[O, I, DY, DX]
    tap = (DY - pad) * lin.k * lin.W + (DX - pad) * lin.k
    bias_slots = None
    if bias is not None:
        bv = np.zeros(lout.period)
        bv[oi] = np.asarray(bias, dtype=np.float64)[:, None, None]
        bias_slots = np.tile(bv, slots // lout.period) if replicate else np.pad(bv, (0, slots - lout.period))
    return _build(name, slots, out_idx, in_idx, wts, tap, lin.period, reps, bias_slots, meta)


def _separate(idx: np.ndarray):
    """``(channel term, position term)`` with ``idx[c, y, x] = ch[c] + pos[y, x]``, or None
    when the index array is not such a sum (every :meth:`MPLayout.index` is: the slot is
    ``blk H W + a W + b`` of the channel plus ``k y W + k x`` of the pixel)."""
    ch = idx[:, 0, 0]
    pos = idx[0] - idx[0, 0, 0]
    if not np.array_equal(idx, ch[:, None, None] + pos[None]):
        return None
    return ch, pos


def _conv_diagonals(oi: np.ndarray, ii: np.ndarray, stride: int, pad: int, k: int,
                    lin: MPLayout) -> np.ndarray | None:
    """The distinct ``((in - out) mod P) * P + tap mod P`` of a convolution's entries without
    listing the entries (the shape-only path of :func:`conv_map`; same set, exactly).

    An entry ``(o, i, dy, dx, y, x)`` (input pixel inside the image) has
    ``in - out = (ch_in[i] - ch_out[o]) + (pos_in[yi, xi] - pos_out[y, x])``: a channel term
    over all ``(o, i)`` pairs plus a position term over the valid pixels of the tap, so the
    distinct differences of a tap are the distinct sums of the two terms' distinct values.
    None when an index array is not separable (the caller lists the entries instead)."""
    so, si = _separate(oi), _separate(ii)
    if so is None or si is None:
        return None
    P = lin.period
    (cho, poso), (chi, posi) = so, si
    chan = np.unique((chi[None, :] - cho[:, None]).ravel())
    ho, wo = oi.shape[1:]
    Y, X = np.meshgrid(np.arange(ho), np.arange(wo), indexing="ij")
    parts = []
    for dy in range(k):
        for dx in range(k):
            yi, xi = stride * Y + dy - pad, stride * X + dx - pad
            ok = (yi >= 0) & (yi < lin.h) & (xi >= 0) & (xi < lin.w)
            if not ok.any():
                continue
            pos = np.unique(posi[yi[ok], xi[ok]] - poso[Y[ok], X[ok]])
            tp = ((dy - pad) * lin.k * lin.W + (dx - pad) * lin.k) % P
            d = np.unique(((chan[:, None] + pos[None, :]) % P).ravel())
            parts.append(d * P + tp)
    if not parts:
        return np.zeros(0, dtype=np.int64)
    return np.unique(np.concatenate(parts))


def shortcut_a_map(name: str, stride: int, pad: int, lin: MPLayout, lout: MPLayout, slots: int,
                   scale: float = 1.0, with_values: bool = True) -> LinearMap:
    """Option-A shortcut: ``x[:, ::s, ::s]`` zero-padded by ``pad`` channels each side, times ``scale``."""
    oi, ii = lout.index(), lin.index()
    C, Y, X = np.meshgrid(np.arange(lin.c), np.arange(lout.h), np.arange(lout.w), indexing="ij")
    out_idx = oi[C + pad, Y, X].ravel()
    in_idx = ii[C, stride * Y, stride * X].ravel()
    reps = _replicas(lout, slots, True)
    w = np.full(out_idx.shape, float(scale)) if with_values else None
    return _build(name, slots, out_idx, in_idx, w, None, lin.period, reps, None,
                  dict(kind="shortcut_a", stride=stride))


def pool_fc_map(name: str, weight: np.ndarray | None, bias: np.ndarray | None, lin: MPLayout,
                slots: int, classes: int = 10) -> LinearMap:
    """Global average pooling fused with the fully connected layer: logits in slots ``0..classes-1``."""
    ii = lin.index()
    J, C, Y, X = np.meshgrid(np.arange(classes), np.arange(lin.c), np.arange(lin.h), np.arange(lin.w),
                             indexing="ij")
    return _logits_map(name, weight, bias, lin, slots, classes, J, C, ii[C, Y, X], dict(kind="pool_fc"))


def _logits_map(name, weight, bias, lin: MPLayout, slots: int, classes: int, J, C, in_idx,
                meta: dict) -> LinearMap:
    """Map entries ``weight[J, C] / (h w)`` from slots ``in_idx`` to logit slots ``J`` (0..classes-1)."""
    wts = None if weight is None else (weight[J, C] / (lin.h * lin.w)).ravel()
    bias_slots = None
    if bias is not None:
        bias_slots = np.zeros(slots)
        bias_slots[:classes] = bias
    return _build(name, slots, J.ravel().astype(np.int64), in_idx.ravel(), wts, None, lin.period,
                  np.zeros(1, np.int64), bias_slots, meta)


def pool_steps(lin: MPLayout) -> list[int]:
    """Rotation steps of global average pooling by rotate-and-sum (no level, no plaintext).

    After ``x += rot(x, s)`` for each step, the slot of ``(c, 0, 0)`` holds the sum of
    channel ``c`` over its ``h x w`` positions (the other slots hold partial sums that
    :func:`fc_map` ignores): ``log2 w`` steps of ``k * 2^j`` along a row, then ``log2 h``
    steps of ``k * W * 2^j`` down the columns. ``h`` and ``w`` must be powers of two."""
    for d, name in ((lin.h, "height"), (lin.w, "width")):
        if d & (d - 1):
            raise ValueError(f"pool_steps: {name} {d} of {lin} is not a power of two")
    return ([lin.k << j for j in range(lin.w.bit_length() - 1)]
            + [(lin.k * lin.W) << j for j in range(lin.h.bit_length() - 1)])


def fc_map(name: str, weight: np.ndarray | None, bias: np.ndarray | None, lin: MPLayout, slots: int,
           classes: int = 10) -> LinearMap:
    """Fully connected layer after :func:`pool_steps`: reads channel ``c``'s sum at the slot of
    ``(c, 0, 0)``, divides by ``h * w`` (the mean) and writes logits to slots ``0..classes-1``.
    About ``c * classes / w`` diagonals instead of the ``c * h * w`` of :func:`pool_fc_map`."""
    ii = lin.index()
    J, C = np.meshgrid(np.arange(classes), np.arange(lin.c), indexing="ij")
    return _logits_map(name, weight, bias, lin, slots, classes, J, C, ii[C, 0, 0],
                       dict(kind="fc", pool_steps=pool_steps(lin)))


def stage_layouts(in_ch: int, size: int) -> dict[str, MPLayout]:
    """Layouts of the input and of the three stages (16, 32, 64 channels)."""
    return {"input": MPLayout(in_ch, size, size, 1),
            "stage1": MPLayout(16, size, size, 1),
            "stage2": MPLayout(32, size // 2, size // 2, 2),
            "stage3": MPLayout(64, size // 4, size // 4, 4)}


def required_slots(in_ch: int, size: int) -> int:
    return max(l.period for l in stage_layouts(in_ch, size).values())
