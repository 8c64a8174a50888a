"""``fhesim bench ntt``: the NumPy reference and the numba NTT side by side.

Times the forward and the inverse negacyclic NTT of :mod:`sw.ntt` at N = 2^16 over 24
31-bit primes (one (24, N) matrix per call, as CKKS uses it), for the NumPy back end
(single-threaded by nature) and the numba back end with 1 and 2 threads, plus one
single-prime numba transform. Warm-up calls (compilation, plan building) are excluded;
every figure is the minimum (and the median) over several repetitions, because the
machine is shared. Reports ns per butterfly (``(N/2) * log2(N)`` butterflies per prime),
the NumPy/numba ratio, and the anchor from docs/sources.md ("a plain branchless numba NTT,
31-bit primes, N = 2^16: 2.5 ns per butterfly on 1 core", measured on this project's
machines) as a peer column.
"""
from __future__ import annotations

import os
import platform
import statistics
import time

NAME = "ntt"
HELP = "NTT ns/butterfly: NumPy reference vs numba kernel (1 and 2 threads), N=2^16 x 24 primes"

ANCHOR_NS_PER_BUTTERFLY = 2.5  # docs/sources.md, "Measured on this project's machines"


def add_arguments(parser) -> None:
    parser.add_argument("--log-n", type=int, default=16, help="log2 of the ring degree (default 16)")
    parser.add_argument("--primes", type=int, default=24, help="number of 31-bit primes (default 24)")
    parser.add_argument("--reps", type=int, default=15, help="timed repetitions of a numba call (default 15)")
    parser.add_argument("--numpy-reps", type=int, default=5, help="timed repetitions of a NumPy call (default 5)")
    parser.add_argument("--threads", default="1,2", help="numba thread counts, comma separated (default 1,2)")


def _time(fn, reps: int) -> tuple[float, float, float]:
    """(min wall, median wall, min process CPU time) over ``reps`` calls after a warm-up."""
    fn()  # warm-up: compilation, plans, caches
    ts, cs = [], []
    for _ in range(max(1, reps)):
        c0 = time.process_time()
        t0 = time.perf_counter()
        fn()
        ts.append(time.perf_counter() - t0)
        cs.append(time.process_time() - c0)
    return min(ts), statistics.median(ts), min(cs)


def _row(op, backend, threads, primes, t_min, t_med, c_min, bfly_per_prime):
    b = bfly_per_prime * primes
    return dict(op=op, backend=backend, threads=threads, primes=primes,
                ms_min=t_min * 1e3, ms_median=t_med * 1e3,
                ns_per_butterfly=t_min * 1e9 / b, ns_per_butterfly_median=t_med * 1e9 / b,
                cpu_ns_per_butterfly=c_min * 1e9 / b)


def run(args):
    import numba
    import numpy as np
    import pandas as pd

    from sw import ntt
    from sw.primes import ntt_primes

    n = 1 << args.log_n
    primes = ntt_primes(n, 31, args.primes)
    rng = np.random.default_rng(2024)
    A = np.stack([rng.integers(0, q, n, dtype=np.uint64) for q in primes])
    out = np.empty_like(A)
    bfly_per_prime = (n // 2) * args.log_n
    threads = [int(t) for t in str(args.threads).split(",") if t.strip()]
    max_threads = numba.config.NUMBA_NUM_THREADS
    notes = []
    skipped = [t for t in threads if t > max_threads]
    threads = [t for t in threads if t <= max_threads]
    if skipped:
        notes.append(f"thread counts {skipped} skipped: numba allows at most {max_threads} here")

    # correctness guard: the benchmark refuses to report numbers for wrong answers
    F_np = ntt.forward(A, primes, backend="numpy")
    F_nb = ntt.forward(A, primes, backend="numba")
    if not np.array_equal(F_np, F_nb) or not np.array_equal(ntt.inverse(F_nb, primes), A):
        raise RuntimeError("NTT back ends disagree; refusing to benchmark")

    rows = []
    saved = numba.get_num_threads()
    try:
        for op, fn, src in (("forward", ntt.forward, A), ("inverse", ntt.inverse, F_nb)):
            numba.set_num_threads(1)
            t_min, t_med, c_min = _time(lambda: fn(src, primes, backend="numpy", out=out), args.numpy_reps)
            rows.append(_row(op, "numpy", 1, len(primes), t_min, t_med, c_min, bfly_per_prime))
            for th in threads:
                numba.set_num_threads(th)
                t_min, t_med, c_min = _time(lambda: fn(src, primes, backend="numba", out=out), args.reps)
                rows.append(_row(op, "numba", th, len(primes), t_min, t_med, c_min, bfly_per_prime))
            # one prime, serial kernel (its data and tables stay in L2)
            numba.set_num_threads(1)
            row0, out0 = src[0].copy(), np.empty(n, np.uint64)
            t_min, t_med, c_min = _time(lambda: fn(row0, primes[0], backend="numba", out=out0), 3 * args.reps)
            rows.append(_row(op, "numba", 1, 1, t_min, t_med, c_min, bfly_per_prime))
    finally:
        numba.set_num_threads(saved)

    df = pd.DataFrame(rows)
    # NumPy/numba ratio against the single-threaded numba run of the same matrix
    ref = {r["op"]: r["ns_per_butterfly"] for r in rows
           if r["backend"] == "numba" and r["threads"] == 1 and r["primes"] == len(primes)}
    np_ns = {r["op"]: r["ns_per_butterfly"] for r in rows if r["backend"] == "numpy"}
    df["numpy_over_this"] = [np_ns[o] / v for o, v in zip(df["op"], df["ns_per_butterfly"])]
    df["anchor_ns_per_butterfly"] = ANCHOR_NS_PER_BUTTERFLY
    df["anchor_over_this"] = ANCHOR_NS_PER_BUTTERFLY / df["ns_per_butterfly"]
    for col in ("ms_min", "ms_median", "ns_per_butterfly", "ns_per_butterfly_median",
                "cpu_ns_per_butterfly", "numpy_over_this", "anchor_over_this"):
        df[col] = df[col].round(3)
    notes.append(f"N = 2^{args.log_n}, {len(primes)} primes of 31 bits, {bfly_per_prime} butterflies per "
                 "prime; ns_per_butterfly = min wall time over repetitions after a warm-up call / "
                 "butterflies (with 2 threads: wall time, i.e. throughput); cpu_ns_per_butterfly = min "
                 "process CPU time / butterflies (all threads summed; less sensitive to a busy machine)")
    for op in ("forward", "inverse"):
        if op in ref:
            notes.append(f"{op}: NumPy / numba (1 thread) = {np_ns[op] / ref[op]:.1f}x; "
                         f"numba 1 thread = {ref[op]:.2f} ns/butterfly vs anchor {ANCHOR_NS_PER_BUTTERFLY} "
                         "(docs/sources.md: plain branchless numba NTT on this machine class, 1 core)")
    from sw import jit
    wide = jit.CONFIGURED is not None
    notes.append("vectors: " + ("512-bit allowed (sw.jit, AVX-512 host; FHESIM_VECTOR_WIDTH=256 runs "
                                "LLVM's default for comparison)" if wide else
                                "LLVM's default for this host (sw.jit changed nothing: no AVX-512, "
                                "FHESIM_VECTOR_WIDTH=256 or the user's own NUMBA_CPU_* settings)"))
    notes.append(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} CPUs "
                 f"(shared; numbers are noisy while other jobs run), numpy {np.__version__}, "
                 f"numba {numba.__version__}")
    df.attrs["notes"] = notes
    return df
