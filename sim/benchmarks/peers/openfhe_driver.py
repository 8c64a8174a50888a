"""OpenFHE peer driver for ``fhesim bench ckks`` / ``bench bootstrap``.

Runs in the OpenFHE peer environment (Python 3.10 with the ``openfhe`` wheel), in a
subprocess of the benchmark. It imports only :mod:`openfhe`, :mod:`numpy` and the standard
library -- never fhesim, which needs a newer interpreter.

Protocol: one JSON object on standard input (or the path of a JSON file as the first
argument) with the keys

* ``task`` -- ``"ckks"`` (EvalMult + relinearise + rescale, EvalRotate(1), plaintext
  multiply + rescale, encode, encrypt, decrypt+decode) or ``"bootstrap"`` (EvalBootstrap);
* ``log_n``, ``depth`` (CKKS multiplicative depth; for ``bootstrap`` the levels wanted
  *after* bootstrapping), ``scale_mod_size``, ``first_mod_size``, ``dnum``,
  ``secure`` (``HEStd_128_classic`` if true, else ``HEStd_NotSet``), ``reps``,
  ``level_budget`` (bootstrap only), ``target_log_q`` (optional: pick the largest
  scaling modulus size, at most 59 bits, that keeps log2 Q at or below it).

One JSON object is written to standard output: ``{"ok": true, "params": {...},
"ops": {name: {"min_s", "median_s", "err"}}, ...}`` or ``{"ok": false, "error": "..."}``.
"""
from __future__ import annotations

import json
import math
import statistics
import sys
import time


def _time(fn, reps):
    """Warm-up call, then ``reps`` timed calls: ``(min, median, last result)``."""
    out = fn()
    ts = []
    for _ in range(max(1, reps)):
        t0 = time.perf_counter()
        out = fn()
        ts.append(time.perf_counter() - t0)
    return min(ts), statistics.median(ts), out


def _scale_bits(req, depth):
    """Scaling modulus size: as requested, or fitted to ``target_log_q`` (at most 59 bits)."""
    target = req.get("target_log_q")
    if not target:
        return int(req["scale_mod_size"])
    return max(20, min(59, int((target - req["first_mod_size"]) // depth)))


def make_context(req, depth, scaling):
    """A CKKS ``CryptoContext`` for the request, with PKE, key switching and SHE enabled."""
    import openfhe as o
    p = o.CCParamsCKKSRNS()
    p.SetMultiplicativeDepth(depth)
    p.SetScalingModSize(_scale_bits(req, depth))
    p.SetFirstModSize(int(req["first_mod_size"]))
    p.SetRingDim(1 << int(req["log_n"]))
    p.SetBatchSize(1 << (int(req["log_n"]) - 1))
    p.SetSecurityLevel(o.SecurityLevel.HEStd_128_classic if req.get("secure") else o.SecurityLevel.HEStd_NotSet)
    p.SetKeySwitchTechnique(o.KeySwitchTechnique.HYBRID)
    p.SetNumLargeDigits(int(req["dnum"]))
    p.SetScalingTechnique(getattr(o.ScalingTechnique, scaling))
    p.SetSecretKeyDist(o.SecretKeyDist.UNIFORM_TERNARY)
    cc = o.GenCryptoContext(p)
    for f in ("PKE", "KEYSWITCH", "LEVELEDSHE", "ADVANCEDSHE", "FHE"):
        cc.Enable(getattr(o.PKESchemeFeature, f))
    return cc, _scale_bits(req, depth)


def describe(cc, depth, scale_bits, dnum, scaling, mult_key_bytes=None):
    """Parameters of a context: ring degree, log2 Q, Q primes, P primes (from the key size)."""
    n = cc.GetRingDimension()
    q = cc.GetElementParams().GetModulus()
    n_q = depth + 1
    out = dict(ring_degree=n, slots=n // 2, log_q=q.bit_length(), q_primes=n_q,
               q_prime_bits=f"{cc.GetModulusCKKS().bit_length()} + {depth} x {scale_bits}",
               dnum=dnum, levels=depth, scaling=scaling, secret="uniform ternary")
    if mult_key_bytes:
        # a HYBRID relinearisation key: dnum pairs of polynomials over Q*P, N 64-bit words each
        towers = mult_key_bytes / (2 * dnum * n * 8)
        n_p = max(0, round(towers) - n_q)
        out.update(p_primes=n_p, log_p=60 * n_p, p_prime_bits=60)   # OpenFHE's auxiliary moduli: 60 bits
    return out


def _mult_key_bytes(o):
    try:
        return len(o.SerializeEvalMultKeyString(o.BINARY, ""))
    except Exception:  # noqa: BLE001 - only a parameter estimate
        return None


def _err(cc, sk, ct, want):
    import numpy as np
    pt = cc.Decrypt(ct, sk)
    pt.SetLength(len(want))
    got = np.asarray(pt.GetRealPackedValue())[: len(want)]
    return float(np.max(np.abs(got - want))), got


def run_ckks(req):
    """Time the ``bench ckks`` operations at the top level (FIXEDMANUAL rescaling)."""
    import numpy as np
    import openfhe as o
    depth, reps = int(req["depth"]), int(req.get("reps", 3))
    t0 = time.perf_counter()
    cc, sbits = make_context(req, depth, "FIXEDMANUAL")
    keys = cc.KeyGen()
    cc.EvalMultKeyGen(keys.secretKey)
    cc.EvalRotateKeyGen(keys.secretKey, [1])
    keygen_s = time.perf_counter() - t0
    slots = cc.GetRingDimension() // 2
    rng = np.random.default_rng(1)
    x, y = rng.uniform(-1, 1, slots), rng.uniform(-1, 1, slots)
    pt_x, pt_y = cc.MakeCKKSPackedPlaintext(x), cc.MakeCKKSPackedPlaintext(y)
    ct_x, ct_y = cc.Encrypt(keys.publicKey, pt_x), cc.Encrypt(keys.publicKey, pt_y)
    sk = keys.secretKey
    ops = {}

    def rec(name, fn, check=None):
        t_min, t_med, out = _time(fn, reps)
        ops[name] = dict(min_s=t_min, median_s=t_med, err=check(out) if check else None)
        return out

    out = rec("mul+relin+rescale", lambda: cc.Rescale(cc.EvalMult(ct_x, ct_y)),
              lambda c: _err(cc, sk, c, x * y)[0])
    rec("rotate(1)", lambda: cc.EvalRotate(ct_x, 1), lambda c: _err(cc, sk, c, np.roll(x, -1))[0])
    rec("pmul+rescale", lambda: cc.Rescale(cc.EvalMult(ct_x, pt_y)), lambda c: _err(cc, sk, c, x * y)[0])
    rec("encode", lambda: cc.MakeCKKSPackedPlaintext(x))
    rec("encrypt", lambda: cc.Encrypt(keys.publicKey, pt_x), lambda c: _err(cc, sk, c, x)[0])
    rec("decrypt+decode", lambda: cc.Decrypt(ct_x, sk), lambda pt: _decoded_err(pt, x))
    params = describe(cc, depth, sbits, int(req["dnum"]), "FIXEDMANUAL", _mult_key_bytes(o))
    params.update(levels_left_after_mul=depth - out.GetLevel(),
                  mul_bits=-math.log2(max(ops["mul+relin+rescale"]["err"], 1e-300)))
    return dict(ok=True, task="ckks", params=params, ops=ops, keygen_s=keygen_s,
                notes=["Decrypt returns a decoded plaintext (timed as decrypt+decode only); "
                       "EvalMult relinearises by itself"])


def _decoded_err(pt, want):
    import numpy as np
    pt.SetLength(len(want))
    return float(np.max(np.abs(np.asarray(pt.GetRealPackedValue())[: len(want)] - want)))


def run_bootstrap(req):
    """Bootstrap an exhausted ciphertext of N/2 real slots (FLEXIBLEAUTO, EvalBootstrap)."""
    import numpy as np
    import openfhe as o
    budget = [int(b) for b in req.get("level_budget", [3, 3])]
    boot_depth = o.CryptoContext.GetBootstrapDepth(budget, o.SecretKeyDist.UNIFORM_TERNARY)
    after = int(req["depth"])
    if req.get("target_log_q"):
        # EvalBootstrap needs first_mod_size - scale_mod_size within its correction factor
        # (about 10 bits), so the scaling modulus stays as given and the levels after
        # bootstrapping are what fits log2 Q <= target_log_q
        fit = int((req["target_log_q"] - req["first_mod_size"]) // req["scale_mod_size"]) - boot_depth
        after = max(1, min(after, fit))
    depth = after + boot_depth
    t0 = time.perf_counter()
    cc, sbits = make_context(dict(req, target_log_q=None), depth, "FLEXIBLEAUTO")
    slots = cc.GetRingDimension() // 2
    cc.EvalBootstrapSetup(budget, [0, 0], slots)
    keys = cc.KeyGen()
    cc.EvalMultKeyGen(keys.secretKey)
    cc.EvalBootstrapKeyGen(keys.secretKey, slots)
    keygen_s = time.perf_counter() - t0
    x = np.random.default_rng(1).uniform(-1, 1, slots)
    ct = cc.Encrypt(keys.publicKey, cc.MakeCKKSPackedPlaintext(x, 1, depth - 1, None, slots))
    times, out = [], None
    for _ in range(1 + max(1, int(req.get("reps", 1)))):
        t = time.perf_counter()
        out = cc.EvalBootstrap(ct)
        times.append(time.perf_counter() - t)
    _, got = _err(cc, keys.secretKey, out, x)
    err = np.abs(got - x)
    params = describe(cc, depth, sbits, int(req["dnum"]), "FLEXIBLEAUTO", _mult_key_bytes(o))
    params.update(level_budget=budget, bootstrap_depth=boot_depth)
    return dict(ok=True, task="bootstrap", params=params, keygen_s=keygen_s,
                first_s=times[0], bootstrap_s=min(times[1:]),
                levels_left=depth - out.GetLevel() - (out.GetNoiseScaleDeg() - 1),
                mean_bits=-math.log2(max(float(err.mean()), 1e-300)),
                worst_bits=-math.log2(max(float(err.max()), 1e-300)))


def main(argv=None) -> int:
    """Read the request, run it, print one JSON object; exit 0 even on a reported error."""
    argv = sys.argv[1:] if argv is None else argv
    try:
        req = json.load(open(argv[0])) if argv else json.load(sys.stdin)
        import openfhe
        version = getattr(openfhe, "__version__", "1.x")
        task = {"ckks": run_ckks, "bootstrap": run_bootstrap}[req["task"]]
        res = task(req)
        res["version"] = version
    except Exception as e:  # noqa: BLE001 - every failure goes back to the caller as JSON
        res = dict(ok=False, error=f"{type(e).__name__}: {e}")
    json.dump(res, sys.stdout)
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
