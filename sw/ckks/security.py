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
"""
from __future__ import annotations

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
