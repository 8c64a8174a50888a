"""``fhesim bench bootstrap``: our CKKS bootstrapping (sw.bootstrap) beside DESILO FHE's.

Both bootstrap a level-0 ciphertext of real values uniform in [-1, 1] in every slot at
N = 2^16 (ours: the ``n16-128`` set, real-message variant with imaginary removal, 2^15 slots,
sparse-secret encapsulation h' = 32; DESILO FHE: ``Engine(bootstrap=True)``,
``create_bootstrap_key(sk)`` (size "medium") or, when memory is short, its small bootstrap
key). Reported per peer: key generation time, bootstrapping time (one warm run after a
first run: min over ``--reps``), levels left, precision (mean and worst bits,
``-log2`` of the mean and max absolute error over the slots) and key memory.

The peer runs first and is released before ours starts (its regular bootstrap key is
about 12 GB). Anchor (docs/sources.md, 2 threads): DESILO FHE 67.7 s, 17 levels left.
``--params toy-boot-n10 --allow-insecure`` runs the same code path in seconds.
"""
from __future__ import annotations

import gc
import math
import os
import time

NAME = "bootstrap"
HELP = "CKKS bootstrapping at N=2^16 (time, levels left, precision): ours vs DESILO FHE"

ANCHOR_S = 67.7


def add_arguments(parser) -> None:
    parser.add_argument("--params", default="n16-128", help="our parameter set (default n16-128)")
    parser.add_argument("--slots", type=int, default=None, help="slots (default N/2)")
    parser.add_argument("--complex", action="store_true", help="complex-message variant instead of real")
    parser.add_argument("--reps", type=int, default=1, help="timed bootstraps after the first (default 1)")
    parser.add_argument("--no-peer", action="store_true", help="skip DESILO FHE")
    parser.add_argument("--no-ours", action="store_true", help="skip ours")
    parser.add_argument("--peer-threads", type=int, default=None, help="DESILO thread_count (default: all CPUs)")
    parser.add_argument("--peer-key", choices=("auto", "regular", "small"), default="auto",
                        help="DESILO bootstrap key: regular (~12 GB), small (~4 GB), auto (by free memory)")
    parser.add_argument("--no-cache", action="store_true", help="do not cache encoded DFT diagonals")
    parser.add_argument("--allow-insecure", action="store_true", help="allow toy-* parameter sets")
    parser.add_argument("--no-progress", action="store_true", help="no tqdm progress bar")


def _bits(err):
    import numpy as np
    e = np.abs(err)
    return -math.log2(max(float(e.mean()), 1e-300)), -math.log2(max(float(e.max()), 1e-300))


def _mem_available() -> float:
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024.0
    except OSError:
        pass
    return float("nan")


def _peer(args, notes) -> dict | None:
    try:
        import desilofhe
    except ImportError as e:
        notes.append(f"DESILO FHE not importable ({e}); pip install desilofhe to compare; only ours is reported")
        return None
    import numpy as np
    threads = args.peer_threads or os.cpu_count() or 1
    kind = args.peer_key
    if kind == "auto":
        kind = "regular" if _mem_available() > 18 * 2 ** 30 else "small"
    t0 = time.perf_counter()
    engine = desilofhe.Engine(mode="cpu", bootstrap=True, thread_count=threads)
    sk = engine.create_secret_key()
    pk = engine.create_public_key(sk)
    rlk = engine.create_relinearization_key(sk)
    cjk = engine.create_conjugation_key(sk)
    if kind == "regular":
        btk = engine.create_bootstrap_key(sk)   # desilofhe 2.0: size="medium"
        boot = lambda c: engine.bootstrap(c, rlk, cjk, btk)  # noqa: E731
    else:
        rok = engine.create_rotation_key(sk)
        btk = engine.create_small_bootstrap_key(sk)
        boot = lambda c: engine.bootstrap(c, rlk, cjk, rok, btk)  # noqa: E731
    keygen = time.perf_counter() - t0
    slots = engine.slot_count
    x = np.random.default_rng(1).uniform(-1, 1, slots)
    ct = engine.encrypt(x, pk, level=0)
    times = []
    out = None
    for _ in range(1 + max(1, args.reps)):
        t = time.perf_counter()
        out = boot(ct)
        times.append(time.perf_counter() - t)
    got = np.asarray(engine.decrypt(out, sk))[:slots]
    mean_b, worst_b = _bits(got - x)
    notes.append(f"peer: desilofhe {getattr(desilofhe, '__version__', '2.x')}, Engine(bootstrap=True, "
                 f"thread_count={threads}), {kind} bootstrap key; first run {times[0]:.1f} s")
    res = dict(system="DESILO FHE", slots=slots, keygen_s=keygen, bootstrap_s=min(times[1:]),
               levels_left=int(out.level), mean_bits=mean_b, worst_bits=worst_b,
               key_gib=float("nan"))
    del engine, sk, pk, rlk, cjk, btk, ct, out
    gc.collect()
    return res


def _ours(args, notes) -> dict | None:
    import numpy as np
    from sw.bootstrap import BootstrapConfig, Bootstrapper, gen_bootstrap_keys
    from sw.ckks import CkksContext, Decryptor, Encoder, Encryptor, KeyGenerator, get_params
    params = get_params(args.params, allow_insecure=args.allow_insecure)
    slots = args.slots or params.slots
    big = params.n >= 1 << 15
    cfg = BootstrapConfig(slots=slots, real=not args.complex, cache_plaintexts=not args.no_cache,
                          compact_keys=big)
    ctx = CkksContext(params)
    t0 = time.perf_counter()
    kg = KeyGenerator(ctx, seed=1)
    sk = kg.gen_secret_key()
    keys = gen_bootstrap_keys(kg, sk, cfg)
    keygen = time.perf_counter() - t0
    bar = None
    if not args.no_progress:
        try:
            from tqdm import tqdm
            bar = tqdm(total=4 * (1 + max(1, args.reps)), desc="bootstrap", unit="stage", leave=False)
        except ImportError:
            bar = None

    stamps: list[tuple[str, float]] = []

    def progress(name):
        stamps.append((name, time.perf_counter()))
        if bar is not None and name != "done":
            bar.set_postfix_str(name)
            bar.update(1)

    bt = Bootstrapper(ctx, keys, progress=progress)
    enc = Encoder(ctx)
    rng = np.random.default_rng(1)
    x = rng.uniform(-1, 1, slots)
    if args.complex:
        x = x + 1j * rng.uniform(-1, 1, slots)
    ct = Encryptor(ctx, sk, seed=2).encrypt(enc.encode(x, level=0, slots=slots))
    times, stage_s = [], []
    out = None
    for _ in range(1 + max(1, args.reps)):
        stamps.clear()
        t = time.perf_counter()
        out = bt.bootstrap(ct)
        times.append(time.perf_counter() - t)
        stage_s.append(_stage_seconds(stamps))
    best = 1 + int(np.argmin(times[1:]))
    if bar is not None:
        bar.close()
    got = enc.decode(Decryptor(ctx, sk).decrypt(out))
    mean_b, worst_b = _bits(got - x)
    rep = keys.report()
    notes.append(
        f"ours: {params.name} ({'128-bit' if params.is_secure else 'INSECURE'}), N = 2^{params.log_n}, "
        f"{slots} slots, {'complex' if args.complex else 'real (imaginary removed)'}; depth {bt.depth} "
        f"(CtS {bt.cts_depth}, EvalMod {bt.spec.depth}, StC {bt.stc_depth}); K = {bt.spec.K}, cosine "
        f"degree {bt.spec.degree} ({'fit on |t - I| <= 2^%g' % math.log2(bt.spec.fit_radius) if bt.spec.fit_radius else 'interpolant'}), "
        f"{bt.spec.double_angle} double angles, h' = {cfg.h_sparse}, ModRaise "
        f"overflow probability {bt.failure_probability():.1e}; {rep['rotation_keys']} rotation keys, "
        f"keys {rep['total_bytes'] / 2 ** 30:.2f} GiB ({'uint32' if cfg.compact_keys else 'uint64'} words), "
        f"plaintext cache {bt.cache_bytes / 2 ** 30:.2f} GiB; first run {times[0]:.1f} s")
    try:
        import numba
        notes.append(f"ours ran with numba threads = {numba.get_num_threads()}, {os.cpu_count()} CPUs")
    except ImportError:
        pass
    return dict(system="fhesim (ours)", slots=slots, keygen_s=keygen, bootstrap_s=min(times[1:]),
                levels_left=int(out.level), mean_bits=mean_b, worst_bits=worst_b,
                key_gib=rep["total_bytes"] / 2 ** 30, **stage_s[best])


def _stage_seconds(stamps) -> dict:
    """``{"<stage>_s": seconds}`` from the ``(stage, perf_counter)`` marks a bootstrap's
    progress callback left (each stage runs until the next mark; the last mark is "done")."""
    return {f"{name}_s": t1 - t0 for (name, t0), (_, t1) in zip(stamps, stamps[1:])}


def run(args):
    import pandas as pd
    notes: list[str] = []
    rows = []
    peer = None if args.no_peer else _peer(args, notes)
    if peer:
        rows.append(peer)
    ours = None if args.no_ours else _ours(args, notes)
    if ours:
        rows.append(ours)
    df = pd.DataFrame(rows)
    if ours and peer:
        df["ours_over_peer"] = [float("nan")] * len(df)
        df.loc[df.system == "fhesim (ours)", "ours_over_peer"] = ours["bootstrap_s"] / peer["bootstrap_s"]
    for c in ("keygen_s", "bootstrap_s", "modraise_s", "cts_s", "evalmod_s", "stc_s", "mean_bits",
              "worst_bits", "key_gib"):
        if c in df:
            df[c] = df[c].astype(float).round(2)
    df["anchor_peer_s"] = ANCHOR_S
    notes.append("bootstrap_s: min over --reps warm runs (modraise_s..stc_s: that run's stages; modraise "
                 "includes encapsulation and the sub-ring trace); bits = -log2(mean|err|), -log2(max|err|) over "
                 "the slots; anchor_peer_s: docs/sources.md (DESILO FHE 2.0, N = 2^16, 2 threads)")
    df.attrs["notes"] = notes
    return df
