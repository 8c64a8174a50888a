"""How numba compiles this project's kernels: the vector width on CPUs with AVX-512.

LLVM's tuning for recent Intel cores prefers 256-bit vectors (its ``prefer-256-bit``
feature) even where AVX-512 is present, so the kernels' vectorised loops (NTT butterflies,
inner products, basis conversion) use 256-bit registers: four 64-bit lanes. Lifting that
preference lets LLVM use 512-bit registers, eight lanes. The integers are the same either
way (every kernel is checked against Python integers or the NumPy reference by the tests);
only the instructions change. Measured on a 2-core Intel Xeon with AVX-512, 44 rows at
N = 2^16, two threads, min of 9, four runs alternated: forward NTT 7.4-7.6 ms with the
default, 6.1-7.0 ms with 512-bit vectors; inverse 7.6-7.7 against 6.3-7.4 ms
(docs/benchmarks.md, "512-bit vectors").

:func:`configure` runs when ``sw`` is imported, before any kernel is compiled: on a host
whose LLVM features include ``+avx512f`` it sets ``NUMBA_CPU_FEATURES`` to the host's
features plus ``-prefer-256-bit``. It changes nothing when ``NUMBA_CPU_FEATURES`` or
``NUMBA_CPU_NAME`` is already set (the user's choice wins), when ``FHESIM_VECTOR_WIDTH`` is
``256``, or on a host without AVX-512. numba keys its on-disk cache on the feature string,
so either setting reuses its own compiled kernels.
"""
from __future__ import annotations

import os
import sys

#: The environment variable that keeps LLVM's default vector width when set to ``256``.
WIDTH_ENV = "FHESIM_VECTOR_WIDTH"
#: LLVM's tuning feature that caps vectorised loops at 256 bits.
PREFER_256 = "prefer-256-bit"
#: The feature string :func:`configure` set for this process (``None``: numba's default or
#: the user's own settings).
CONFIGURED: str | None = None


def wide_features(host_features: str) -> str | None:
    """The feature string with 512-bit vectors allowed, from LLVM's host feature string
    (``"+avx2,+avx512f,..."``); ``None`` if the host has no AVX-512 (``+avx512f``)."""
    feats = [f for f in host_features.split(",") if f and f.lstrip("+-") != PREFER_256]
    if "+avx512f" not in feats:
        return None
    return ",".join(feats + ["-" + PREFER_256])


def configure(environ=os.environ) -> str | None:
    """Allow 512-bit vectors for numba's kernels where the host has AVX-512 (see the module
    docstring); returns the feature string set, or ``None`` if nothing was changed."""
    if environ.get("NUMBA_CPU_FEATURES") or environ.get("NUMBA_CPU_NAME"):
        return None
    width = environ.get(WIDTH_ENV, "").strip()
    if width == "256":
        return None
    if width not in ("", "512"):
        raise ValueError(f"{WIDTH_ENV}={width!r}: must be 256 (LLVM's default vectors) or 512")
    try:
        import llvmlite.binding as llvm
        host = llvm.get_host_cpu_features().flatten()
    except Exception:          # noqa: BLE001 - no host features known: keep numba's default
        return None
    feats = wide_features(host)
    if feats is None:
        return None
    global CONFIGURED
    environ["NUMBA_CPU_FEATURES"] = CONFIGURED = feats
    numba = sys.modules.get("numba")
    if numba is not None:      # imported before sw: its configuration was read already
        numba.config.CPU_FEATURES = feats
    return feats
