# amaranth: UnusedElaboratable=no
"""Output bit-flip faults of the key-switching units (``fault=``, hw.faults): exactly the
named bit of the named output word flips, everything else is untouched, a unit built
without a fault has no fault logic, and bad fault dicts are refused by name."""
from __future__ import annotations

import random

import pytest

from hw.automorphism import AutomorphismUnit
from hw.bconv import BconvUnit
from hw.elementwise import ElementwiseUnit
from hw.emit import to_verilog
from hw.simtools import run_stream
from sw.primes import ntt_primes

N, W = 16, 32


def _flipped(clean, faulty):
    """``[(path, clean ^ faulty)]`` of the words that differ (nested lists of ints)."""
    out = []

    def walk(a, b, path):
        if isinstance(a, list):
            for i, (x, y) in enumerate(zip(a, b)):
                walk(x, y, path + (i,))
        elif a != b:
            out.append((path, a ^ b))

    walk(clean, faulty, ())
    return out


def test_elementwise_fault_flips_one_lane_bit():
    q = ntt_primes(16, 30, 1)[0]
    rng = random.Random(1)
    beats = [ElementwiseUnit(q, W, 2).beat("mac", [rng.randrange(q) for _ in range(2)],
                                           [rng.randrange(q) for _ in range(2)],
                                           [rng.randrange(q) for _ in range(2)]) for _ in range(6)]
    clean = run_stream(ElementwiseUnit(q, W, 2), beats, 6).outputs
    faulty = run_stream(ElementwiseUnit(q, W, 2, fault={"lane": 1, "bit": 4}), beats, 6).outputs
    assert _flipped(clean, faulty) == [((b, 1), 16) for b in range(6)]


def test_automorphism_fault_flips_one_element_per_row():
    q = ntt_primes(N, 30, 1)[0]
    rows = [[random.Random(r).randrange(q) for _ in range(N)] for r in range(2)]
    beats = [row[b * 2:(b + 1) * 2] for row in rows for b in range(N // 2)]
    clean = run_stream(AutomorphismUnit(N, q, W, 2, 5, "eval"), beats, len(beats)).outputs
    faulty = run_stream(AutomorphismUnit(N, q, W, 2, 5, "eval", fault={"index": 11, "bit": 0}),
                        beats, len(beats)).outputs
    # element 11 = beat 5, lane 1 of each row
    assert _flipped(clean, faulty) == [((5, 1), 1), ((N // 2 + 5, 1), 1)]


def test_bconv_fault_flips_one_residue_on_one_lane():
    ps = ntt_primes(N, 30, 4)
    src, dst = ps[:2], ps[2:]
    rng = random.Random(3)
    beats = [[[rng.randrange(q) for _ in range(2)] for q in src] for _ in range(4)]
    clean = run_stream(BconvUnit(src, dst, W, 2), beats, 4).outputs
    faulty = run_stream(BconvUnit(src, dst, W, 2, fault={"dst": 1, "lane": 0, "bit": 9}),
                        beats, 4).outputs
    assert _flipped(clean, faulty) == [((b, 1, 0), 512) for b in range(4)]


def test_no_fault_no_logic():
    q = ntt_primes(N, 30, 1)[0]
    ps = ntt_primes(N, 30, 3)
    for unit in (ElementwiseUnit(q, W, 2), AutomorphismUnit(N, q, W, 2, 5, "eval"),
                 BconvUnit(ps[:2], ps[2:], W, 2)):
        assert "fault" not in to_verilog(unit, "top")
    assert "fault_out_row" in to_verilog(AutomorphismUnit(N, q, W, 2, 5, "eval",
                                                          fault={"index": 3}), "top")


@pytest.mark.parametrize("make,fault,match", [
    (lambda f: ElementwiseUnit(12289, W, 2, fault=f), {"lane": 2}, "'lane'"),
    (lambda f: ElementwiseUnit(12289, W, 2, fault=f), {"lane": 0, "bit": 32}, "'bit'"),
    (lambda f: ElementwiseUnit(12289, W, 2, fault=f), {"lanes": 0}, "unknown keys"),
    (lambda f: AutomorphismUnit(N, 12289, W, 2, 5, fault=f), {"bit": 1}, "lacks the key 'index'"),
    (lambda f: BconvUnit((12289,), (40961,), W, 1, fault=f), {"dst": 1, "lane": 0}, "'dst'"),
    (lambda f: BconvUnit((12289,), (40961,), W, 1, fault=f), [1, 2], "must be a dict"),
])
def test_bad_faults_refused(make, fault, match):
    with pytest.raises(ValueError, match=match):
        make(fault)
