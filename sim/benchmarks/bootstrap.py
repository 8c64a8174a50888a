"""``fhesim bench bootstrap``: our CKKS bootstrapping (sw.bootstrap) beside OpenFHE's and DESILO FHE's.

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

OpenFHE (``openfhe`` 1.x in its Python 3.10 environment, :mod:`sim.benchmarks.peers.openfhe_peer`)
bootstraps N/2 real slots at our ring degree with FLEXIBLEAUTO rescaling, HYBRID key
switching with our dnum, a uniform ternary secret (as ours) and level budget ``[3, 3]`` (our
CtS and StC take 3 levels each). It runs once per scaling-modulus size of
``--openfhe-scale-bits`` (default ``59,50``), each with a first modulus one bit larger.
``EvalBootstrap`` needs ``deg = round(log2(q0 / 2^scale))`` at most its correction factor
(8 at N = 2^16 with 2^15 slots: a 60-bit first modulus over 50-bit scaling, deg 10, is
refused), and its precision grows with the correction left over, so ``deg = 1`` (OpenFHE's
own 60/59 setting) is the most precise choice. Its uniform-ternary EvalBootstrap takes 20
levels, so at a log2 Q matched to ours it keeps fewer levels than ours: 59-bit moduli keep 1
level at our log2 Q of 1322 and are precise; 50-bit moduli keep 5 and lose most of the
precision (7-8 bits measured). ``--openfhe-levels`` asks for at most that many levels.
Every row carries its ring degree, log2 Q and P, primes, dnum, levels, levels left and
precision; ``ours_over_this`` = our bootstrap time / that row's.
"""
from __future__ import annotations

import gc
import math
import os
import time

from .ckks import peer_threads

NAME = "bootstrap"
HELP = "CKKS bootstrapping at N=2^16 (time, levels left, precision): ours vs OpenFHE and DESILO FHE"

ANCHOR_S = 67.7


def add_arguments(parser) -> None:
    parser.add_argument("--params", default="n16-128", help="our parameter set (default n16-128)")
    parser.add_argument("--slots", type=int, default=None, help="slots (default N/2)")
    parser.add_argument("--ring-degree", type=int, default=None,
                        help="our set's layout rebuilt at this ring degree (CkksParams.with_log_n; "
                             "e.g. 131072 for BTS's N = 2^17; default: the set's own)")
    parser.add_argument("--levels-left", type=int, default=None,
                        help="our set rebuilt with this many application levels below the "
                             "bootstrapping levels (CkksParams.with_app_levels, after --ring-degree; "
                             "8: the cycle model's bench-boot-l8; default: the set's own)")
    parser.add_argument("--dnum", type=int, default=None,
                        help="our set rebuilt with this many key-switching digits (CkksParams.with_dnum, "
                             "after --ring-degree; default: the set's own)")
    parser.add_argument("--complex", action="store_true", help="complex-message variant instead of real")
    parser.add_argument("--reps", type=int, default=1, help="timed bootstraps after the first (default 1)")
    parser.add_argument("--no-peer", action="store_true", help="skip both peers")
    parser.add_argument("--no-desilo", action="store_true", help="skip DESILO FHE")
    parser.add_argument("--no-openfhe", action="store_true", help="skip OpenFHE")
    parser.add_argument("--no-build-peers", action="store_true",
                        help="do not build the OpenFHE peer environment when it is missing")
    parser.add_argument("--openfhe-levels", type=int, default=16,
                        help="levels OpenFHE should keep after bootstrapping, at most (default 16, as ours)")
    parser.add_argument("--openfhe-scale-bits", type=_bit_list, default=(59, 50),
                        help="OpenFHE scaling modulus sizes, one run each (default 59,50; the first "
                             "modulus is one bit larger)")
    parser.add_argument("--openfhe-level-budget", default="3,3", help="OpenFHE CtS,StC level budget")
    parser.add_argument("--no-ours", action="store_true", help="skip ours")
    parser.add_argument("--peer-threads", type=int, default=None, help="DESILO thread_count (default: all CPUs)")
    parser.add_argument("--peer-key", choices=("auto", "regular", "small"), default="auto",
                        help="DESILO bootstrap key: regular (~12 GB), small (~4 GB), auto (by free memory)")
    parser.add_argument("--no-cache", action="store_true", help="do not cache encoded DFT diagonals")
    parser.add_argument("--giant-steps", choices=("keys", "min"), default="keys",
                        help="our BSGS giant steps: one key per step (keys) or ARK's minimum key "
                             "switching, Horner steps by +-n1 (min; fewer keys, same key switches)")
    parser.add_argument("--hoisting", choices=("single", "double", "double-cts"), default="double",
                        help="our DFT rotations: single hoisting (a ModDown per rotation) or double "
                             "(the default: baby and giant rotations over Q P, one ModDown per level)")
    parser.add_argument("--baby-steps", choices=("hoisted", "chain"), default="hoisted",
                        help="our BSGS baby rotations: hoisted (one shared decomposition) or chained "
                             "(ARK's minimum key switching for the babies: each rotated from the previous "
                             "one, one key per level; needs --hoisting single)")
    parser.add_argument("--giant-cost", type=float, default=2.0,
                        help="our BSGS split: weight of a giant-step rotation against a baby one when "
                             "each DFT level's n1 is chosen (default 2, the fastest measured here: larger "
                             "n1, 47 instead of 39 rotation steps at 2^15 slots; 1: fewest rotations and "
                             "keys, the library's default)")
    parser.add_argument("--allow-insecure", action="store_true", help="allow toy-* parameter sets")
    parser.add_argument("--no-progress", action="store_true", help="no tqdm progress bar")


def _bit_list(text: str) -> tuple[int, ...]:
    """``"59,50"`` -> ``(59, 50)``: scaling-modulus sizes OpenFHE accepts (20..59 bits)."""
    import argparse
    try:
        vals = tuple(int(v) for v in str(text).split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a comma-separated list of bit sizes") from None
    bad = [v for v in vals if not 20 <= v <= 59]
    if not vals or bad:
        raise argparse.ArgumentTypeError(f"scaling modulus sizes must lie in 20..59 bits, got {text!r}")
    return vals


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
    threads = peer_threads(args)
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
    words = round(ct.nbytes / (2 * 2 * slots * 8))   # level-0 ciphertext: 2 polys of N words per prime
    res = dict(system="DESILO FHE", ring_degree=2 * slots, slots=slots, log_q=f"~{60 * words}+",
               log_p="n/a", q_primes=f"{words} at level 0", dnum="n/a", levels=int(engine.max_level),
               keygen_s=keygen, bootstrap_s=min(times[1:]),
               levels_left=int(out.level), mean_bits=mean_b, worst_bits=worst_b,
               key_gib=float("nan"))
    del engine, sk, pk, rlk, cjk, btk, ct, out
    gc.collect()
    return res


def _our_params(args):
    """``--params`` rebuilt at ``--ring-degree``, with ``--levels-left`` and then with ``--dnum``
    (each when given);
    ``ValueError`` (a ``SecurityError`` is one) naming the option when the set cannot be
    rebuilt so."""
    from sw.ckks import get_params
    params = get_params(args.params, allow_insecure=args.allow_insecure)
    n = getattr(args, "ring_degree", None)
    if n is not None:
        if n < 2 or n & (n - 1):
            raise ValueError(f"--ring-degree {n}: must be a power of two")
        try:
            params = params.with_log_n(n.bit_length() - 1)
        except ValueError as e:
            raise ValueError(f"--ring-degree {n}: {e}") from None
    k = getattr(args, "levels_left", None)
    if k is not None:
        from sw.bootstrap import with_levels_left
        try:
            params = with_levels_left(params, k)
        except ValueError as e:
            raise ValueError(f"--levels-left {k}: {e}") from None
    d = getattr(args, "dnum", None)
    if d is not None:
        try:
            params = params.with_dnum(d)
        except ValueError as e:
            raise ValueError(f"--dnum {d}: {e}") from None
    return params


def _our_config(args):
    """``(params, BootstrapConfig)`` of our run; raises ``ValueError`` for options the
    configuration refuses (made before the peers run, so a bad option costs no peer time)."""
    from sw.bootstrap import BootstrapConfig
    params = _our_params(args)
    cfg = BootstrapConfig(slots=args.slots or params.slots, real=not args.complex,
                          cache_plaintexts=not args.no_cache, compact_keys=params.n >= 1 << 15,
                          giant_steps=args.giant_steps, hoisting=args.hoisting,
                          baby_steps=args.baby_steps, giant_cost=args.giant_cost)
    return params, cfg


def _ours(args, notes, params, cfg) -> dict | None:
    import numpy as np
    from sw.bootstrap import Bootstrapper, gen_bootstrap_keys
    from sw.ckks import CkksContext, Decryptor, Encoder, Encryptor, KeyGenerator
    slots = cfg.slots
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
        f"{bt.spec.double_angle} double angles, h' = {cfg.h_sparse}, giant steps {cfg.giant_steps}, {cfg.hoisting} hoisting, {cfg.baby_steps} baby steps, giant cost {cfg.giant_cost:g} "
        f"(n1 CtS {bt.plan.cts_n1}, StC {bt.plan.stc_n1}), ModRaise "
        f"overflow probability {bt.failure_probability():.1e}; {rep['rotation_keys']} rotation keys, "
        f"keys {rep['total_bytes'] / 2 ** 30:.2f} GiB ({'uint32' if cfg.compact_keys else 'uint64'} words), "
        f"plaintext cache {bt.cache_bytes / 2 ** 30:.2f} GiB; first run {times[0]:.1f} s")
    try:
        import numba
        notes.append(f"ours ran with numba threads = {numba.get_num_threads()}, {os.cpu_count()} CPUs")
    except ImportError:
        pass
    return dict(system="fhesim (ours)", ring_degree=params.n, slots=slots, log_q=round(params.log_q),
                log_p=round(params.log_p), q_primes=len(params.q_primes), p_primes=len(params.p_primes),
                dnum=params.dnum, levels=params.max_level, keygen_s=keygen, bootstrap_s=min(times[1:]),
                levels_left=int(out.level), mean_bits=mean_b, worst_bits=worst_b,
                key_gib=rep["total_bytes"] / 2 ** 30, **stage_s[best])


def _stage_seconds(stamps) -> dict:
    """``{"<stage>_s": seconds}`` from the ``(stage, perf_counter)`` marks a bootstrap's
    progress callback left (each stage runs until the next mark; the last mark is "done")."""
    return {f"{name}_s": t1 - t0 for (name, t0), (_, t1) in zip(stamps, stamps[1:])}


def _openfhe(args, notes) -> list[dict]:
    """OpenFHE's EvalBootstrap at our ring degree and log2 Q, one run per scaling-modulus
    size (``--openfhe-scale-bits``), each by the peer driver in its own process."""
    from .peers import openfhe_peer as of
    params = _our_params(args)
    try:
        python = of.ensure_env(build=not args.no_build_peers, log=lambda m: notes.append(f"openfhe: {m}"))
    except of.PeerUnavailable as e:
        notes.append(f"OpenFHE skipped: {e}")
        return []
    rows = []
    for bits in args.openfhe_scale_bits:
        req = dict(task="bootstrap", log_n=params.log_n, depth=args.openfhe_levels, first_mod_size=bits + 1,
                   scale_mod_size=bits, target_log_q=params.log_q, dnum=params.dnum,
                   secure=params.is_secure, reps=args.reps,
                   level_budget=[int(b) for b in args.openfhe_level_budget.split(",")])
        try:
            ans = of.run_driver(req, python, threads=peer_threads(args))
        except of.PeerUnavailable as e:
            notes.append(f"OpenFHE ({bits}-bit scaling) skipped: {e}")
            continue
        p = ans["params"]
        notes.append(f"peer: openfhe {ans.get('version', '1.x')} (Python 3.10 environment), FLEXIBLEAUTO, "
                     f"HYBRID, {p['secret']} secret, level budget {p['level_budget']} (EvalBootstrap depth "
                     f"{p['bootstrap_depth']}), Q primes {p['q_prime_bits']} bits, P from the relinearisation "
                     f"key's size; {peer_threads(args)} OpenMP threads; first run {ans['first_s']:.1f} s")
        rows.append(dict(system=f"OpenFHE ({bits}-bit scaling)", ring_degree=p["ring_degree"], slots=p["slots"],
                         log_q=p["log_q"], log_p=f"~{p.get('log_p', 'n/a')}", q_primes=p["q_primes"],
                         p_primes=p.get("p_primes", "n/a"), dnum=p["dnum"], levels=p["levels"],
                         keygen_s=ans["keygen_s"], bootstrap_s=ans["bootstrap_s"],
                         levels_left=ans["levels_left"], mean_bits=ans["mean_bits"],
                         worst_bits=ans["worst_bits"], key_gib=float("nan")))
    return rows


def _peer_isolated(args, notes) -> dict | None:
    """:func:`_peer` in a forked process: DESILO's C++ heap (about 12 GB of bootstrapping
    keys at N = 2^16) is returned to the system when it exits, before OpenFHE and ours run
    (in this process the freed memory stayed reserved, and the next system ran out of the
    machine's 24 GB)."""
    import multiprocessing as mp

    ctx = mp.get_context("fork")      # the child inherits ``args`` (which holds the command's
    queue = ctx.SimpleQueue()         # function, not picklable); only the row comes back
    child = ctx.Process(target=_peer_to_queue, args=(args, queue))
    child.start()
    row, child_notes = queue.get() if _wait_alive(child, queue) else (None, [])
    child.join()
    if child.exitcode not in (0, None) and row is None:
        child_notes = [f"DESILO FHE run failed (its process exited with {child.exitcode}); only ours "
                       "and OpenFHE are reported"]
    notes.extend(child_notes)
    return row


def _wait_alive(child, queue) -> bool:
    """True once ``queue`` holds the child's answer; False if the child died without one."""
    while queue.empty():
        if not child.is_alive() and queue.empty():
            return False
        child.join(0.5)
    return True


def _peer_to_queue(args, queue) -> None:
    notes: list[str] = []
    queue.put((_peer(args, notes), notes))


def run(args):
    import pandas as pd
    from .peers.openfhe_peer import ratio
    notes: list[str] = []
    rows = []
    # our configuration first: options it refuses are refused before the peers' minutes of work
    our = None if args.no_ours else _our_config(args)
    if not (args.no_peer or args.no_desilo):
        rows.append(_peer_isolated(args, notes))
    if not (args.no_peer or args.no_openfhe):
        rows.extend(_openfhe(args, notes))
    ours = None if our is None else _ours(args, notes, *our)
    rows = [r for r in rows + [ours] if r]
    df = pd.DataFrame(rows)
    if ours and len(rows) > 1:
        df["ours_over_this"] = [ratio(ours["bootstrap_s"], r["bootstrap_s"]) if r["ring_degree"] == ours["ring_degree"]
                                else float("nan") for r in rows]
        for r in rows:
            if r["ring_degree"] != ours["ring_degree"]:
                notes.append(f"ours_over_this blank for {r['system']}: it ran at N = {r['ring_degree']}, ours at "
                             f"N = {ours['ring_degree']}")
    for c in ("keygen_s", "bootstrap_s", "modraise_s", "cts_s", "evalmod_s", "stc_s", "mean_bits",
              "worst_bits", "key_gib", "ours_over_this"):
        if c in df:
            df[c] = df[c].astype(float).round(2)
    df["anchor_desilo_s"] = ANCHOR_S
    notes.append("bootstrap_s: min over --reps warm runs (modraise_s..stc_s: that run's stages; modraise "
                 "includes encapsulation and the sub-ring trace); bits = -log2(mean|err|), -log2(max|err|) over "
                 "the slots; ours_over_this = our bootstrap_s / this row's, same run (lower is better for us); "
                 "anchor_desilo_s: docs/sources.md (DESILO FHE 2.0, N = 2^16, 2 threads); load average "
                 f"{os.getloadavg()[0]:.1f} at the end")
    df.attrs["notes"] = notes
    return df
