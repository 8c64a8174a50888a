"""Former name of :mod:`sim.rtl.simulator` (Icarus was the only simulator); re-exports it."""
from __future__ import annotations

from .simulator import (DEFAULT_SIMULATOR, SIMULATORS, TIMESCALE, CocotbRun, RtlError,  # noqa: F401
                        check_simulator, default_simulator, start)
