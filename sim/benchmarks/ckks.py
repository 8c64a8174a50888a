"""``fhesim bench ckks``: our CKKS (sw.ckks) beside OpenFHE and DESILO FHE, in one run.

Both run at N = 2^16 with a matched modulus: ours is the named parameter set (default
``n16-128``: 30 levels, 41 primes below 2^31 at the top, log2 Q about 1232); DESILO FHE
(``desilofhe``, the optional ``bench`` extra) runs ``Engine(max_level=<our max_level>)``,
whose top-level modulus is 24 words of about 60 bits (log2 Q about 1320; estimated from
the residues of its serialised ciphertexts; it has no API to list its primes). Operations,
all at the top level, each timed as min (and median) over repetitions after a warm-up:

* ``mul+relin+rescale`` -- ciphertext x ciphertext, relinearised, rescaled
  (DESILO's ``multiply(ct, ct, relinearization_key)`` rescales by itself);
* ``rotate(1)`` -- one slot rotation with its key switch (DESILO: fixed rotation key);
* ``pmul+rescale`` -- ciphertext x plaintext, rescaled;
* ``encode``, ``encrypt`` (public key, from a plaintext), ``decrypt`` (to a plaintext),
  ``decode``, and ``decrypt+decode`` (ciphertext to values: the only one OpenFHE separates).

Each result is decrypted and compared with the plaintext computation (``*_err`` columns:
max absolute error over the slots) so that a fast wrong answer cannot pass unnoticed.
Anchors (docs/sources.md, DESILO FHE 2.0 at N = 2^16 on this project's 2-core machines, top
level of the bootstrapping engine): 0.64 s multiply+relinearise+rescale, 0.38 s rotation.
If ``desilofhe`` is not importable, a note says so and only our column is filled; if our
CKKS is not importable yet, likewise for the peer.

OpenFHE (``openfhe`` 1.x, Python 3.10 only) runs in its own environment through
:mod:`sim.benchmarks.peers.openfhe_peer`: ``CCParamsCKKSRNS`` with our ring degree, our
top level as multiplicative depth, a 60-bit first modulus and the scaling modulus size that
brings log2 Q closest to ours from below (42 bits for ``n16-128``: log2 Q 1320 vs our 1322),
HYBRID key switching with our dnum, FIXEDMANUAL rescaling, a uniform ternary secret,
``HEStd_128_classic`` for our 128-bit sets and ``HEStd_NotSet`` for the toy ones. Its
``Decrypt`` returns a decoded plaintext, so it fills only the ``decrypt+decode`` row, which
every system reports.

Columns: ``<system>_s`` (min), ``ours_over_<peer>`` (ours / peer from this run; lower is
better for us) and ``<system>_err``; the parameters of every system (ring degree, log2 Q
and P, primes, dnum, levels, levels left and bits of precision after mul+relin+rescale)
are printed as a table in the notes.
"""
from __future__ import annotations

import os
import statistics
import time

NAME = "ckks"
HELP = "CKKS ops at N=2^16 (mult+relin+rescale, rotate, pmult, enc/dec): ours vs OpenFHE and DESILO FHE"

ANCHOR_S = {"mul+relin+rescale": 0.64, "rotate(1)": 0.38}  # docs/sources.md (DESILO FHE, 2 threads)
OPS = ("mul+relin+rescale", "rotate(1)", "pmul+rescale", "encode", "encrypt", "decrypt", "decode",
       "decrypt+decode")


def add_arguments(parser) -> None:
    parser.add_argument("--params", default="n16-128", help="our parameter set (default n16-128)")
    parser.add_argument("--reps", type=int, default=3, help="timed repetitions per operation (default 3)")
    parser.add_argument("--peer-threads", type=int, default=None,
                        help="DESILO thread_count and OpenFHE OMP_NUM_THREADS (default: as many as ours)")
    parser.add_argument("--peer-max-level", type=int, default=None,
                        help="DESILO Engine(max_level=...) (default: our max_level)")
    parser.add_argument("--peer-bootstrap-engine", action="store_true",
                        help="use DESILO's Engine(bootstrap=True) (the docs/sources.md configuration) instead")
    parser.add_argument("--no-peer", action="store_true", help="skip both peers")
    parser.add_argument("--no-desilo", action="store_true", help="skip DESILO FHE")
    parser.add_argument("--no-openfhe", action="store_true", help="skip OpenFHE")
    parser.add_argument("--no-build-peers", action="store_true",
                        help="do not build the OpenFHE peer environment when it is missing")
    parser.add_argument("--no-ours", action="store_true", help="skip our CKKS")
    parser.add_argument("--allow-insecure", action="store_true", help="allow toy-* parameter sets")


def _time(fn, reps: int):
    out = fn()  # warm-up (compilation, caches, plans)
    ts = []
    for _ in range(max(1, reps)):
        t0 = time.perf_counter()
        out = fn()
        ts.append(time.perf_counter() - t0)
    return min(ts), statistics.median(ts), out


def _max_err(got, want) -> float:
    import numpy as np
    got = np.asarray(got)[: len(want)]
    return float(np.max(np.abs(got - want)))


# --------------------------------------------------------------------------- DESILO FHE


def peer_threads(args) -> int:
    """Peer threads: ``--peer-threads``, else as many as ours (numba), else all CPUs."""
    if args.peer_threads:
        return args.peer_threads
    try:
        import numba
        return numba.get_num_threads()
    except ImportError:
        return os.cpu_count() or 1


def _peer(args, slots_hint: int | None, max_level: int | None, notes: list) -> dict:
    try:
        import desilofhe
    except ImportError as e:  # optional extra
        notes.append(f"DESILO FHE not importable ({e}); install the bench extra "
                     "(pip install 'fhesim[bench]' or pip install desilofhe) to compare; "
                     "only our CKKS is reported")
        return {}
    import numpy as np

    threads = peer_threads(args)
    t0 = time.perf_counter()
    if args.peer_bootstrap_engine:
        engine = desilofhe.Engine(mode="cpu", bootstrap=True, thread_count=threads)
        config = f"Engine(bootstrap=True, thread_count={threads})"
    else:
        lvl = args.peer_max_level or max_level or 30
        engine = desilofhe.Engine(max_level=lvl, mode="cpu", thread_count=threads)
        config = f"Engine(max_level={lvl}, thread_count={threads})"
    sk = engine.create_secret_key()
    pk = engine.create_public_key(sk)
    rlk = engine.create_relinearization_key(sk)
    rot = engine.create_fixed_rotation_key(sk, 1)
    keygen_s = time.perf_counter() - t0
    slots = engine.slot_count
    n = 2 * slots
    rng = np.random.default_rng(1)
    x = rng.uniform(-1, 1, slots)
    y = rng.uniform(-1, 1, slots)
    pt_x = engine.encode(x)
    ct_x = engine.encrypt(pt_x, pk)
    ct_y = engine.encrypt(engine.encode(y), pk)
    pt_y = engine.encode(y)
    words = round(ct_x.nbytes / (2 * n * 8))
    notes.append(f"peer: desilofhe {getattr(desilofhe, '__version__', '2.x')} {config}: N = {n}, "
                 f"top level {engine.max_level}, {words} 64-bit words per coefficient at the top "
                 f"(~60-bit primes); key generation (public, relin, 1 rotation) {keygen_s:.1f} s")
    res = {}

    def rec(op, fn, check=None):
        t_min, t_med, out = _time(fn, args.reps)
        err = check(out) if check else float("nan")
        res[op] = (t_min, t_med, err)

    rec("mul+relin+rescale", lambda: engine.multiply(ct_x, ct_y, rlk),
        lambda c: _max_err(engine.decrypt(c, sk), x * y))
    rec("rotate(1)", lambda: engine.rotate(ct_x, rot),
        lambda c: _max_err(engine.decrypt(c, sk), np.roll(x, -1)))
    rec("pmul+rescale", lambda: engine.multiply(ct_x, pt_y),
        lambda c: _max_err(engine.decrypt(c, sk), x * y))
    rec("encode", lambda: engine.encode(x))
    rec("encrypt", lambda: engine.encrypt(pt_x, pk), lambda c: _max_err(engine.decrypt(c, sk), x))
    rec("decrypt", lambda: engine.decrypt_to_plaintext(ct_x, sk))
    pt_dec = engine.decrypt_to_plaintext(ct_x, sk)
    rec("decode", lambda: engine.decode(pt_dec), lambda v: _max_err(v, x))
    rec("decrypt+decode", lambda: engine.decrypt(ct_x, sk), lambda v: _max_err(v, x))
    prod = engine.multiply(ct_x, ct_y, rlk)
    res["_params"] = dict(system="DESILO FHE", ring_degree=n, slots=slots, log_q=f"~{60 * words}",
                          q_primes=words, q_prime_bits="~60", log_p="n/a", p_primes="n/a",
                          dnum="n/a", levels=engine.max_level,
                          levels_left_after_mul=int(prod.level),
                          mul_bits=_bits(res["mul+relin+rescale"][2]))
    return res


def _bits(err: float) -> float:
    """Bits of precision, ``-log2`` of a max absolute error (NaN when there is none)."""
    import math
    return round(-math.log2(err), 1) if err == err and err > 0 else float("nan")


# --------------------------------------------------------------------------- OpenFHE


def _openfhe(args, params, notes: list) -> dict:
    """The operations timed by the OpenFHE driver in its own environment, matched to ``params``."""
    import math
    from .peers import openfhe_peer as of
    try:
        python = of.ensure_env(build=not args.no_build_peers, log=lambda m: notes.append(f"openfhe: {m}"))
        top = params.max_level
        req = dict(task="ckks", log_n=params.log_n, depth=top, first_mod_size=60,
                   target_log_q=sum(math.log2(q) for q in params.primes_at(top)),
                   dnum=params.dnum, secure=params.is_secure, reps=args.reps)
        ans = of.run_driver(req, python, threads=peer_threads(args))
    except of.PeerUnavailable as e:
        notes.append(f"OpenFHE skipped: {e}")
        return {}
    res = {op: (v["min_s"], v["median_s"], float("nan") if v["err"] is None else v["err"])
           for op, v in ans["ops"].items()}
    p = ans["params"]
    res["_params"] = dict(system="OpenFHE", ring_degree=p["ring_degree"], slots=p["slots"],
                          log_q=p["log_q"], q_primes=p["q_primes"], q_prime_bits=p["q_prime_bits"],
                          log_p=f"~{p.get('log_p', 'n/a')}", p_primes=p.get("p_primes", "n/a"),
                          dnum=p["dnum"], levels=p["levels"],
                          levels_left_after_mul=p["levels_left_after_mul"], mul_bits=round(p["mul_bits"], 1))
    notes.append(f"peer: openfhe {ans.get('version', '1.x')} (Python 3.10 environment), HYBRID key switching, "
                 f"{p['scaling']}, {p['secret']} secret, {'HEStd_128_classic' if params.is_secure else 'HEStd_NotSet'}; "
                 f"key generation (relin, 1 rotation) {ans['keygen_s']:.1f} s; P from the relinearisation key's size; "
                 + "; ".join(ans.get("notes", [])))
    return res


# --------------------------------------------------------------------------- ours


def _ours(args, notes: list):
    try:
        from sw.ckks import (CkksContext, Decryptor, Encoder, Encryptor, Evaluator,
                             KeyGenerator, get_params)
    except Exception as e:  # noqa: BLE001 - report whatever stops the import
        notes.append(f"our CKKS not importable yet ({type(e).__name__}: {e}); only the peer is reported")
        return {}, None
    import numpy as np

    params = get_params(args.params, allow_insecure=args.allow_insecure)
    t0 = time.perf_counter()
    ctx = CkksContext(params)
    kg = KeyGenerator(ctx, seed=1)
    keys = kg.gen_keyset(rotations=[1])
    keygen_s = time.perf_counter() - t0
    enc = Encoder(ctx)
    encryptor = Encryptor(ctx, keys.public, seed=2)
    dec = Decryptor(ctx, keys.secret)
    ev = Evaluator(ctx, keys)
    slots = params.slots
    top = params.max_level
    # encode at the top level's rescale factor (a 2-prime ~2^60 group in the bootstrapping
    # layouts), so that mul + rescale returns to the same scale
    scale = params.level_scale(top)
    rng = np.random.default_rng(1)
    x = rng.uniform(-1, 1, slots)
    y = rng.uniform(-1, 1, slots)
    pt_x = enc.encode(x, scale=scale)
    pt_y = enc.encode(y, scale=scale)
    ct_x = encryptor.encrypt(pt_x)
    ct_y = encryptor.encrypt(pt_y)
    import math
    log_q = sum(math.log2(q) for q in params.primes_at(top))
    notes.append(f"ours: {params.name}: N = {params.n}, top level {top}, {len(params.primes_at(top))} "
                 f"primes < 2^31 (log2 Q = {log_q:.0f}, log2 QP = {params.log_qp:.0f}), dnum {params.dnum}, "
                 f"scale 2^{math.log2(scale):.1f}; "
                 f"context + keys (public, relin, 1 rotation) {keygen_s:.1f} s")

    def dd(c):
        return enc.decode(dec.decrypt(c))

    res = {}

    def rec(op, fn, check=None):
        t_min, t_med, out = _time(fn, args.reps)
        err = check(out) if check else float("nan")
        res[op] = (t_min, t_med, err)

    rec("mul+relin+rescale", lambda: ev.mul(ct_x, ct_y, rescale=True), lambda c: _max_err(dd(c), x * y))
    rec("rotate(1)", lambda: ev.rotate(ct_x, 1), lambda c: _max_err(dd(c), np.roll(x, -1)))
    rec("pmul+rescale", lambda: ev.rescale(ev.mul_plain(ct_x, pt_y)), lambda c: _max_err(dd(c), x * y))
    rec("encode", lambda: enc.encode(x, scale=scale))
    rec("encrypt", lambda: encryptor.encrypt(pt_x), lambda c: _max_err(dd(c), x))
    rec("decrypt", lambda: dec.decrypt(ct_x))
    pt_dec = dec.decrypt(ct_x)
    rec("decode", lambda: enc.decode(pt_dec), lambda v: _max_err(v, x))
    rec("decrypt+decode", lambda: dd(ct_x), lambda v: _max_err(v, x))
    prod = ev.rescale(ev.mul(ct_x, ct_y))
    res["_params"] = dict(system="fhesim (ours)", ring_degree=params.n, slots=slots, log_q=round(log_q),
                          q_primes=len(params.primes_at(top)), q_prime_bits="~30 (some levels 2 primes)",
                          log_p=round(params.log_p), p_primes=len(params.p_primes), dnum=params.dnum,
                          levels=top, levels_left_after_mul=int(prod.level),
                          mul_bits=_bits(res["mul+relin+rescale"][2]))
    return res, params


PEERS = (("desilo", "DESILO FHE"), ("openfhe", "OpenFHE"))


def _rows(ours: dict, peers: dict) -> list[dict]:
    """One row per operation: each system's min (ours also median), ratios, errors."""
    from .peers.openfhe_peer import ratio
    nan = (float("nan"),) * 3
    rows = []
    for op in OPS:
        o = ours.get(op, nan)
        row = {"op": op, "ours_s": o[0], "ours_median_s": o[1]}
        for key, _ in PEERS:
            row[f"{key}_s"] = peers[key].get(op, nan)[0]
        for key, _ in PEERS:
            matched = not peers[key].get("_mismatch")
            row[f"ours_over_{key}"] = ratio(o[0], row[f"{key}_s"]) if matched else float("nan")
        row["anchor_desilo_s"] = ANCHOR_S.get(op, float("nan"))
        row["ours_err"] = o[2]
        for key, _ in PEERS:
            row[f"{key}_err"] = peers[key].get(op, nan)[2]
        rows.append(row)
    return rows


def parameter_table(systems: list[dict]):
    """The systems' parameters, one row each (printed in the notes)."""
    import pandas as pd
    return pd.DataFrame([s for s in systems if s])


def run(args):
    import pandas as pd

    notes: list[str] = []
    ours, params = ({}, None) if args.no_ours else _ours(args, notes)
    peers = {"desilo": {}, "openfhe": {}}
    if not (args.no_peer or args.no_desilo):
        peers["desilo"] = _peer(args, None, params.max_level if params else None, notes)
    if not (args.no_peer or args.no_openfhe):
        if params is None:
            notes.append("OpenFHE skipped: its parameters are matched to ours, which did not run")
        else:
            peers["openfhe"] = _openfhe(args, params, notes)
    systems = [ours.pop("_params", None)] + [peers[k].pop("_params", None) for k, _ in PEERS]
    for key, label in PEERS:   # a ratio at another ring degree is not matched work
        sp = next((x for x in systems[1:] if x and x["system"] == label), None)
        if sp and systems[0] and sp["ring_degree"] != systems[0]["ring_degree"]:
            notes.append(f"ours_over_{key} left blank: {label} ran at N = {sp['ring_degree']}, ours at "
                         f"N = {systems[0]['ring_degree']} (DESILO FHE picks N from max_level itself)")
            peers[key]["_mismatch"] = True
    df = pd.DataFrame(_rows(ours, peers))
    for c in df.columns:
        if c.endswith("_s"):
            df[c] = df[c].round(6)
        elif c.startswith("ours_over_"):
            df[c] = df[c].round(2)
    table = parameter_table(systems)
    if len(table):
        notes.insert(0, "parameters (levels_left_after_mul and mul_bits: after one mul+relin+rescale "
                        "at the top level):\n" + table.to_string(index=False))
    notes.append("times in seconds, min (ours also median) over repetitions after a warm-up; ours_over_<peer> = "
                 "ours / peer from this run (lower is better for us); *_err = max |decrypted - expected| over "
                 "the slots; anchor_desilo_s: docs/sources.md (DESILO FHE 2.0, N = 2^16, 2 threads, top level of "
                 "its bootstrapping engine)")
    try:
        import numba
        notes.append(f"ours ran with numba threads = {numba.get_num_threads()}, {os.cpu_count()} CPUs "
                     f"(shared machine, load average {os.getloadavg()[0]:.1f})")
    except ImportError:
        pass
    df.attrs["notes"] = notes
    return df
