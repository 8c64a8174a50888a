"""Timing of the core CKKS operations: ``python -m sw.ckks.bench [--params n16-128] [--repeat 3]``.

Prints (and returns) the best-of-``repeat`` wall time of multiply + relinearise + rescale and
of one rotation at the top level, after a warm-up (numba compilation excluded). The
``sim/benchmarks/ckks.py`` comparison with DESILO FHE builds on :func:`time_core_ops`.
"""
from __future__ import annotations

import argparse
import json
import time
import warnings

import numpy as np

from . import CkksContext, Encoder, Encryptor, Evaluator, KeyGenerator, get_params


def time_core_ops(name: str = "n16-128", repeat: int = 3, seed: int = 1) -> dict:
    """Best-of-``repeat`` seconds for ``mul+relin+rescale`` and ``rotate`` at the top level."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        p = get_params(name, allow_insecure=True)
    ctx = CkksContext(p)
    t0 = time.perf_counter()
    keys = KeyGenerator(ctx, seed=seed).gen_keyset(rotations=[1])
    t_keygen = time.perf_counter() - t0
    enc, ev = Encoder(ctx), Evaluator(ctx, keys)
    E = Encryptor(ctx, keys.public, seed=seed + 1)
    rng = np.random.default_rng(seed)
    # at the top level's rescale factor (a 2-prime group at n16-128), so that the product
    # rescales back to a usable scale
    scale = float(p.level_scale(p.max_level))
    a = E.encrypt(enc.encode(rng.uniform(-1, 1, p.slots), scale=scale))
    b = E.encrypt(enc.encode(rng.uniform(-1, 1, p.slots), scale=scale))
    ev.mul(a, b, rescale=True)
    ev.rotate(a, 1)  # warm-up (numba compilation, caches)
    mul, rot = [], []
    for _ in range(repeat):
        t0 = time.perf_counter()
        ev.mul(a, b, rescale=True)
        mul.append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        ev.rotate(a, 1)
        rot.append(time.perf_counter() - t0)
    return {"params": name, "n": p.n, "level": p.max_level, "q_primes": len(p.q_primes),
            "p_primes": len(p.p_primes), "dnum": p.dnum, "keygen_s": t_keygen,
            "mul_relin_rescale_s": min(mul), "rotate_s": min(rot)}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--params", default="n16-128")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args(argv)
    r = time_core_ops(args.params, args.repeat)
    if args.json:
        print(json.dumps(r))
    else:
        print(f"{r['params']}: n={r['n']}, top level {r['level']} ({r['q_primes']} Q + {r['p_primes']} P primes, "
              f"dnum={r['dnum']}): mul+relin+rescale {r['mul_relin_rescale_s']:.3f} s, "
              f"rotate {r['rotate_s']:.3f} s (keygen {r['keygen_s']:.1f} s)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
