"""The process heap's policy for the large, short-lived arrays of RNS polynomials.

At ``N = 2^16`` one polynomial row is 512 KiB and a key-switching temporary is tens to
hundreds of MiB. glibc's ``malloc`` serves blocks above its ``mmap`` threshold (128 KiB,
raised dynamically up to 32 MiB) with fresh ``mmap`` pages and returns them with ``munmap``
on ``free``, so every temporary of a bootstrap is faulted in and zeroed by the kernel again:
about 140,000 page faults and 4 s of system time per ``n16-128`` bootstrap on a 2-core
Xeon, where the arithmetic takes about 10 s (docs/benchmarks.md, "Page faults").

:func:`retain_freed_memory` makes the main heap keep what is freed, so the next temporary
of the same size reuses pages that are already mapped:

* ``M_MMAP_MAX = 0``: large blocks of the main arena come from the ``brk`` heap, not from
  ``mmap`` (glibc still falls back to ``mmap`` when the heap cannot grow, and threads'
  arenas keep their own ``mmap`` fallback);
* ``M_TRIM_THRESHOLD`` = 2 GiB (the largest ``int``): the top of the heap is given back to
  the system only when more than that is free there;
* ``M_TOP_PAD`` = 64 MiB: the heap grows in steps of at least that.

Values and results are unchanged. The cost is that the process's resident memory stays at
its high-water mark instead of shrinking between peaks. The policy is process-wide, so it is
applied once, by :class:`sw.ckks.CkksContext` for rings of degree ``>= 2^14``, and only
where the C library is glibc. ``FHESIM_HEAP=system`` in the environment leaves the
allocator as it is.
"""
from __future__ import annotations

import ctypes
import ctypes.util
import functools
import os
import platform

# glibc's mallopt parameters (malloc.h)
_M_TRIM_THRESHOLD = -1
_M_TOP_PAD = -2
_M_MMAP_MAX = -4

_TRIM_THRESHOLD = (1 << 31) - 1
_TOP_PAD = 64 << 20


def is_glibc() -> bool:
    """Whether this process runs on Linux with glibc, the only allocator the policy knows."""
    return platform.system() == "Linux" and platform.libc_ver()[0] == "glibc"


@functools.cache
def retain_freed_memory() -> str | None:
    """Apply the policy above to this process (once; later calls return the first result).

    Returns ``None`` when it was applied, else the reason it was not: ``FHESIM_HEAP`` set to
    ``system``, a C library other than glibc, or ``mallopt`` refusing a parameter (named).
    """
    if heap_choice() == "system":
        return "FHESIM_HEAP=system: the C library's allocator is left as it is"
    if not is_glibc():
        return f"not glibc ({platform.system()} {platform.libc_ver()[0] or 'unknown libc'}): allocator left as it is"
    libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
    mallopt = libc.mallopt
    mallopt.argtypes = (ctypes.c_int, ctypes.c_int)
    mallopt.restype = ctypes.c_int
    for name, param, value in (("M_TRIM_THRESHOLD", _M_TRIM_THRESHOLD, _TRIM_THRESHOLD),
                               ("M_TOP_PAD", _M_TOP_PAD, _TOP_PAD),
                               ("M_MMAP_MAX", _M_MMAP_MAX, 0)):
        if mallopt(param, value) != 1:
            return f"mallopt({name}, {value}) refused: allocator left partly as it was"
    return None


def heap_choice() -> str:
    """``FHESIM_HEAP`` from the environment: ``"retain"`` (the default) or ``"system"``.

    Raises
    ------
    ValueError
        Any other value, naming the variable (commands check it before any work).
    """
    choice = os.environ.get("FHESIM_HEAP", "retain").strip().lower()
    if choice not in ("retain", "system"):
        raise ValueError(f"FHESIM_HEAP={choice!r}: expected 'retain' (the default) or 'system'")
    return choice

