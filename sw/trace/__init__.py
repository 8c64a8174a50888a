"""Operation trace: the seam between the software path and the cycle model.

One :class:`OpEvent` per homomorphic operation (``add``, ``pmult``, ``mul_plain_acc``,
``cmult``, ``relin``, ``rescale``, ``rotate``, ``conjugate``, ``keyswitch``, ...), nested as
the operations nest (a ``rotate`` contains a ``keyswitch``, which contains a ``modup`` and a
``moddown``). Each event lists the kernel calls made directly inside it
(:class:`KernelCall`: ``ntt``, ``intt``, ``bconv``, ``modmul``, ``modadd``,
``automorphism``, ``mac``) with their sizes in rows (primes) of ``n`` coefficients. Kernel calls are reported by the ring layer's kernel funnel
(:mod:`sw.ring.kernels`) as they happen, so counts are measured, not estimated.

Usage::

    from sw import trace
    with trace.recording() as rec:
        with trace.stage("bootstrap/cts"):
            ...
    rec.to_dataframe(); rec.kernels_dataframe(); rec.to_json()

Modules, one concept each:

* :mod:`~sw.trace.kinds`: the operation and kernel kinds, declared once (with what each
  operation reads and writes);
* :mod:`~sw.trace.events`: :class:`OpEvent`, :class:`KernelCall`, :class:`Keep`;
* :mod:`~sw.trace.context`: the active recorders (a context variable: per thread);
* :mod:`~sw.trace.recorder`: :class:`Recorder`, :func:`recording`, :func:`op`,
  :func:`stage`, :func:`report_kernel`, :func:`wants_data`; dry run and kept data;
* :mod:`~sw.trace.replay`: :class:`Template`, :class:`Replayer` (dry-run replay);
* :mod:`~sw.trace.formats`: files ``fhesim-trace-1`` and ``fhesim-trace-2``
  (:func:`load`, :func:`events_v1`, ``docs/trace-format.md``).
"""
from __future__ import annotations

from .context import active, is_dry_run, paused
from .events import KernelCall, Keep, OpEvent
from .formats import (FORMAT_V1, FORMAT_V2, KERNEL_FIELDS, _KFIELDS, events_v1, load, shape_events,
                      shape_size)
from .kinds import CLIENT_KINDS, COMPOSITE_KINDS, KERNEL_KINDS, KERNELS, OP_IO, OP_KINDS
from .recorder import DryRunError, Recorder, op, recording, report_kernel, stage, wants_data
from .replay import Replayer, Template

__all__ = [
    "active", "is_dry_run", "paused", "KernelCall", "Keep", "OpEvent", "FORMAT_V1", "FORMAT_V2",
    "KERNEL_FIELDS", "events_v1", "load", "shape_events", "shape_size", "CLIENT_KINDS",
    "COMPOSITE_KINDS", "KERNEL_KINDS", "KERNELS", "OP_IO", "OP_KINDS", "DryRunError", "Recorder",
    "op", "recording", "report_kernel", "stage", "wants_data", "Replayer", "Template",
]
