"""Security bounds on ``log2(QP)`` for RLWE with a uniform ternary secret.

Table ``MAX_LOG_QP_128`` (128-bit classical security, uniform ternary secret
``{-1, 0, 1}``, error standard deviation ~3.2):

* ``N = 2^10 .. 2^15``: 27, 54, 109, 218, 438, 881 -- Homomorphic Encryption Standard
  (Albrecht et al., "Homomorphic Encryption Standard", 2018; ePrint 2019/939, Table 1,
  ternary secret, 128-bit classical), the values SEAL and OpenFHE enforce.
* ``N = 2^16``: 1747 and ``N = 2^17``: 3523 -- lattice-estimator figures used by OpenFHE
  (``src/core/lib/lattice/stdlatticeparms.cpp``, ``HEStd_ternary``, ``HEStd_128_classic``)
  and listed in "Security Guidelines for Implementing Homomorphic Encryption"
  (Bossuat et al., ePrint 2024/463, 128-bit classical, uniform ternary).

Sparse secrets (fixed small Hamming weight) are easier to attack (hybrid/meet-in-the-middle
attacks); these bounds do not apply to them, so a sparse-secret set cannot be labelled
secure here.

The tables assume an error of standard deviation ``sigma = 8 / sqrt(2 pi) ~ 3.19`` (the
HE standard; SEAL and OpenFHE use 3.19 or 3.2): :data:`SIGMA_RANGE` is that range,
inclusive. A smaller error is easier to attack, a larger one is outside the tables.
:func:`check_128` checks every assumption for a set labelled ``security=128``.
"""
from __future__ import annotations

import math

from .errors import SecurityError

#: Error standard deviations the cited 128-bit tables assume (inclusive).
SIGMA_RANGE = (3.19, 3.2)

MAX_LOG_QP_128: dict[int, int] = {
    1 << 10: 27, 1 << 11: 54, 1 << 12: 109, 1 << 13: 218,
    1 << 14: 438, 1 << 15: 881, 1 << 16: 1747, 1 << 17: 3523,
}

SOURCES = {
    "he-standard": "Albrecht et al., Homomorphic Encryption Standard (2018), ePrint 2019/939, Table 1",
    "openfhe": "OpenFHE src/core/lib/lattice/stdlatticeparms.cpp (HEStd_ternary, HEStd_128_classic); "
               "Bossuat et al., Security Guidelines for Implementing HE, ePrint 2024/463",
}


def max_log_qp(n: int, security: int = 128) -> int:
    """Largest ``log2(QP)`` for ``security``-bit classical security at ring degree ``n``
    (uniform ternary secret). Raises ``KeyError`` naming ``n`` when no bound is tabulated."""
    if security != 128:
        raise KeyError(f"no tabulated bound for security={security} (only 128)")
    if n not in MAX_LOG_QP_128:
        raise KeyError(f"no tabulated 128-bit bound for ring degree n={n}")
    return MAX_LOG_QP_128[n]


def source(n: int) -> str:
    """Citation of the bound used for ``n``."""
    return SOURCES["he-standard"] if n <= (1 << 15) else SOURCES["openfhe"]


def check_128(params) -> None:
    """Raise :class:`~sw.ckks.errors.SecurityError` (naming the field and the value) unless
    ``params`` meets every assumption of the cited 128-bit bound: ``security == 128``,
    ``secret == "ternary"`` with no Hamming weight (uniform ternary), ``sigma`` finite in
    :data:`SIGMA_RANGE`, and ``log2(QP) <= max_log_qp(n)`` (citation: :func:`source`)."""
    name, n = params.name, params.n
    if params.security != 128:
        raise SecurityError(f"CkksParams {name}: security={params.security}: only 128 is tabulated")
    if params.secret != "ternary":
        raise SecurityError(
            f"CkksParams {name}: secret={params.secret!r}: security=128 is only checked for uniform "
            f"ternary secrets; a sparse secret (h={params.hamming_weight}) has no cited bound here")
    if params.hamming_weight is not None:
        raise SecurityError(f"CkksParams {name}: hamming_weight={params.hamming_weight}: the cited bound "
                            f"assumes a uniform ternary secret (hamming_weight=None)")
    lo, hi = SIGMA_RANGE
    if not (math.isfinite(params.sigma) and lo <= params.sigma <= hi):
        raise SecurityError(f"CkksParams {name}: sigma={params.sigma!r} outside [{lo}, {hi}], the error "
                            f"standard deviation the cited 128-bit tables assume ({source(n)})")
    try:
        bound = max_log_qp(n, 128)
    except KeyError as e:
        raise SecurityError(f"CkksParams {name}: {e.args[0]}") from None
    if params.log_qp > bound:
        raise SecurityError(
            f"CkksParams {name}: log2(QP)={params.log_qp:.1f} exceeds the 128-bit bound "
            f"{bound} for n=2^{params.log_n} ({source(n)})")
