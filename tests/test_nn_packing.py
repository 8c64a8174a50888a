"""Multiplexed packing and the layers as slot-linear maps (plaintext, exact to rounding)."""
from __future__ import annotations

import numpy as np
import pytest

from sw.nn.packing import (MPLayout, conv_map, fc_map, pack, pool_fc_map, pool_steps, required_slots,
                           shortcut_a_map, stage_layouts, unpack)
from sw.nn.plain import conv2d, shortcut_a

L8 = stage_layouts(1, 8)


def test_layout_sizes():
    assert [L8[k].period for k in ("input", "stage1", "stage2", "stage3")] == [64, 1024, 512, 256]
    L32 = stage_layouts(3, 32)
    assert [L32[k].period for k in ("input", "stage1", "stage2", "stage3")] == [4096, 16384, 8192, 4096]
    assert required_slots(1, 8) == 1024 and required_slots(3, 32) == 16384
    lay = MPLayout(32, 4, 4, 2)
    idx = lay.index()
    assert len(np.unique(idx)) == idx.size and idx.max() < lay.period
    # channel 3 = (block 0, a=1, b=1) at pixel (0, 0) sits at physical (1, 1) of an 8-wide image
    assert idx[3, 0, 0] == 1 * 8 + 1 and idx[4, 0, 0] == 64
    x = np.random.default_rng(0).standard_normal((32, 4, 4))
    v = pack(x, lay, 1024)
    assert np.array_equal(v[:512], v[512:]) and np.array_equal(unpack(v, lay), x)


@pytest.mark.parametrize("lin,lout,stride,ksize,pad", [
    ("input", "stage1", 1, 3, 1), ("stage1", "stage1", 1, 3, 1), ("stage1", "stage2", 2, 3, 1),
    ("stage2", "stage3", 2, 3, 1), ("stage3", "stage3", 1, 3, 1), ("stage1", "stage2", 2, 1, 0)])
def test_conv_map_matches_reference(lin, lout, stride, ksize, pad):
    rng = np.random.default_rng(3)
    li, lo = L8[lin], L8[lout]
    w = rng.standard_normal((lo.c, li.c, ksize, ksize))
    b = rng.standard_normal(lo.c)
    x = rng.standard_normal((li.c, li.h, li.w))
    m = conv_map("c", w, b, stride, pad, li, lo, 1024)
    y = m.apply_plain(pack(x, li, 1024))
    ref = conv2d(x[None], w, b, stride, pad)[0]
    assert np.max(np.abs(y - pack(ref, lo, 1024))) < 1e-12      # every copy, zeros elsewhere
    assert m.n_pmults == len(m.g) <= li.period
    # the shape-only map (dry run) has the same rotations
    d = conv_map("c", None, None, stride, pad, li, lo, 1024, ksize=ksize)
    assert d.rotation_steps == m.rotation_steps and d.n_pmults == m.n_pmults


def test_shortcut_and_pool_fc():
    rng = np.random.default_rng(4)
    x = rng.standard_normal((16, 8, 8))
    m = shortcut_a_map("s", 2, 8, L8["stage1"], L8["stage2"], 1024, scale=0.5)
    ref = 0.5 * shortcut_a(x[None], 2, 8)[0]
    assert np.max(np.abs(m.apply_plain(pack(x, L8["stage1"], 1024)) - pack(ref, L8["stage2"], 1024))) < 1e-12
    W, b = rng.standard_normal((10, 64)), rng.standard_normal(10)
    x3 = rng.standard_normal((64, 2, 2))
    f = pool_fc_map("fc", W, b, L8["stage3"], 1024)
    out = f.apply_plain(pack(x3, L8["stage3"], 1024))
    assert np.max(np.abs(out[:10] - (W @ x3.mean(axis=(1, 2)) + b))) < 1e-12
    assert np.all(out[10:] == 0)


@pytest.mark.parametrize("geometry", [(1, 8), (3, 32)])
def test_pool_by_rotations_then_fc(geometry):
    """Rotate-and-sum pooling followed by fc_map equals mean pooling + FC (numpy), and
    needs far fewer diagonals than the fused pool_fc_map."""
    lay = stage_layouts(*geometry)["stage3"]
    slots = required_slots(*geometry)
    rng = np.random.default_rng(7)
    W, b = rng.standard_normal((10, 64)), rng.standard_normal(10)
    x3 = rng.standard_normal((64, lay.h, lay.w))
    v = pack(x3, lay, slots)
    steps = pool_steps(lay)
    assert len(steps) == int(np.log2(lay.h)) + int(np.log2(lay.w))
    for st in steps:
        v = v + np.roll(v, -st)             # left rotation: out[i] = in[i + st]
    f = fc_map("fc", W, b, lay, slots)
    out = f.apply_plain(v)
    assert np.max(np.abs(out[:10] - (W @ x3.mean(axis=(1, 2)) + b))) < 1e-12
    assert np.all(out[10:] == 0)
    fused = pool_fc_map("fc", W, b, lay, slots)
    assert f.n_pmults * 4 <= fused.n_pmults or lay.h * lay.w <= 4
    with pytest.raises(ValueError, match="height 3"):
        pool_steps(MPLayout(64, 3, 4, 4))


@pytest.mark.parametrize("size,in_ch", [(8, 1), (32, 3)])
def test_shape_only_conv_map_equals_the_entry_listing(size, in_ch):
    """The dry run's conv_map (weight None: diagonals from the channel and position terms,
    packing._conv_diagonals) has exactly the (g, b) pairs and split of the map built from
    every entry (with weights), for every convolution shape of the ResNets."""
    L = stage_layouts(in_ch, size)
    slots = required_slots(in_ch, size)
    for lin, lout, stride, ksize, pad in [
            ("input", "stage1", 1, 3, 1), ("stage1", "stage1", 1, 3, 1), ("stage1", "stage2", 2, 3, 1),
            ("stage2", "stage2", 1, 3, 1), ("stage2", "stage3", 2, 3, 1), ("stage3", "stage3", 1, 3, 1),
            ("stage1", "stage2", 2, 1, 0)]:
        li, lo = L[lin], L[lout]
        w = np.ones((lo.c, li.c, ksize, ksize))
        full = conv_map("c", w, None, stride, pad, li, lo, slots)
        fast = conv_map("c", None, None, stride, pad, li, lo, slots, ksize=ksize)
        assert fast.split == full.split, (lin, lout)
        assert np.array_equal(fast.g, full.g) and np.array_equal(fast.b, full.b), (lin, lout)
        assert fast.diag is None and fast.meta == full.meta


def test_shape_only_conv_map_hand_count():
    """A 1x1, stride-1 convolution 2 -> 2 channels on MP(2x2x2, gap 1) (8 slots, channel c at
    slots 4c .. 4c+3): the slot differences in - out are 0 and +-4, i.e. rotations {0, 4}
    mod 8; one tap (offset 0), so 2 plaintext products."""
    lay = MPLayout(2, 2, 2, 1)
    m = conv_map("c", None, None, 1, 0, lay, lay, 8, ksize=1)
    assert sorted((m.g + m.b).tolist()) == [0, 4] and m.n_pmults == 2
