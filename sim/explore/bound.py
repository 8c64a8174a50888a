"""What a workload needs (modular multiplications, compulsory off-chip bytes) and the
lower bound on its latency on a device (:mod:`sim.explore`)."""
from __future__ import annotations

import math

def demand(compiled, word_bits: int) -> dict:
    """Modular multiplications and compulsory off-chip bytes of a compiled workload.

    Multiplications: an NTT/INTT row of ``n`` residues is ``(n/2) log2(n)`` butterflies, one
    multiplication each; ``modmul`` and ``mac`` one per residue; a basis conversion the
    ``count * n * src * (dst + 1)`` multiply-accumulates of the cycle model
    (:mod:`sim.cycle.units`). Additions and automorphisms need no multiplier. Bytes: the
    plaintext operands (read in full from off-chip memory, the cycle model's default), each
    distinct evaluation key once at its largest size, and every use of a key whose identity
    the trace does not give; ciphertexts are taken as staying on chip.
    """
    import numpy as np

    uses = np.bincount(compiled.kid, minlength=len(compiled.shape_list))
    mults: dict[str, int] = {}
    for (kind, n, primes, src, dst, count), k in zip(compiled.shape_list, uses):
        if not k:
            continue
        if kind in ("ntt", "intt"):
            m = primes * count * (n // 2) * int(math.log2(n))
        elif kind in ("modmul", "mac"):
            m = primes * count * n
        elif kind == "bconv":
            m = count * n * src * (dst + 1)
        else:
            continue
        mults[kind] = mults.get(kind, 0) + int(m) * int(k)
    pt_words = int((compiled.pt_polys * compiled.primes_in * compiled.n).sum())
    largest: dict[str, int] = {}
    unknown = 0
    for name, half in zip(compiled.key_name, compiled.key_half_words.tolist()):
        b = -(-2 * half * word_bits // 8)
        if name is None:
            unknown += b
        else:
            largest[name] = max(largest.get(name, 0), b)
    return {"modmuls": mults, "modmul_total": sum(mults.values()),
            "plaintext_bytes": -(-pt_words * word_bits // 8), "distinct_keys": len(largest),
            "key_bytes": sum(largest.values()) + unknown}


def lower_bound(compiled, base, device, rows: dict | None = None) -> dict:
    """A latency no design on ``device`` at ``base``'s clock and bandwidth can beat.

    ``compute_s`` = modular multiplications / (multipliers x clock), with the most multipliers
    the device's DSP slices hold: ``dsp // (DSP slices of one multiplier)``, one result per
    cycle each. Two multiplier costs: fhesim's RTL multiplier (``base.multiplier`` at
    ``base.word_bits``, synthesised: 11 DSP48E2 for a 32-bit Barrett lane), and the floor of
    any DSP-based design, one ``W x W`` product per modular multiplication with the reduction
    for free (:func:`sim.synth.resources.dsp_per_product`, 4 DSP48E2 at W = 32).
    ``memory_s`` = compulsory off-chip bytes (:func:`demand`) / bandwidth. ``bound_s`` =
    ``max(compute_s, memory_s)`` with the RTL multiplier; ``floor_s`` with the free reduction.
    """
    from sim.synth.cache import read_cache
    from sim.synth.resources import UnitResources, dsp_per_product

    if rows is None:
        rows = read_cache()
    need = demand(compiled, base.word_bits)
    per_mult, src = UnitResources(rows).multiplier(base.multiplier, base.word_bits)
    dsp_rtl = int(per_mult["dsp"])
    dsp_floor = dsp_per_product(base.word_bits)
    m_rtl, m_floor = device.dsp // dsp_rtl, device.dsp // dsp_floor
    hz = base.clock_hz
    compute_s = need["modmul_total"] / (m_rtl * hz)
    floor_compute_s = need["modmul_total"] / (m_floor * hz)
    mem_bytes = need["plaintext_bytes"] + need["key_bytes"]
    memory_s = mem_bytes / (base.off_chip_gbps * 1e9)
    return {**need, "device": device.name, "dsp": device.dsp, "clock_mhz": base.clock_mhz,
            "off_chip_gbps": base.off_chip_gbps, "dsp_per_multiplier": dsp_rtl,
            "multiplier_source": f"{base.multiplier} W={base.word_bits} ({src})",
            "multipliers": m_rtl, "compute_s": compute_s, "memory_bytes": mem_bytes,
            "memory_s": memory_s, "bound_s": max(compute_s, memory_s),
            "dsp_per_product": dsp_floor, "multipliers_floor": m_floor,
            "floor_compute_s": floor_compute_s, "floor_s": max(floor_compute_s, memory_s)}
