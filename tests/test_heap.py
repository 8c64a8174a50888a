"""sw.heap: freed blocks stay mapped, so a repeated large temporary stops faulting.

Each case runs in a fresh interpreter (the policy is process-wide and applied once).
"""
import json
import os
import subprocess
import sys

import pytest

from sw.heap import is_glibc

_PROBE = r"""
import json, resource, sys
import numpy as np
from sw.heap import retain_freed_memory
reason = retain_freed_memory() if sys.argv[1] == "apply" else "not asked"
def faults():
    return resource.getrusage(resource.RUSAGE_SELF).ru_minflt
a = np.ones(8 << 20, np.uint64)        # 64 MiB: above glibc's largest mmap threshold
del a
f0 = faults()
for _ in range(9):
    a = np.ones(8 << 20, np.uint64)   # every page written
    del a
print(json.dumps({"reason": reason, "faults": faults() - f0}))
"""

glibc = pytest.mark.skipif(not is_glibc(), reason="the policy applies to glibc only")


def _run(mode, heap=None):
    env = dict(os.environ)
    env.pop("FHESIM_HEAP", None)
    if heap is not None:
        env["FHESIM_HEAP"] = heap
    out = subprocess.run([sys.executable, "-c", _PROBE, mode], capture_output=True, text=True,
                         env=env, check=False)
    return out


@glibc
def test_retained_heap_stops_refaulting():
    base = _run("default")
    kept = _run("apply")
    assert base.returncode == 0 and kept.returncode == 0, base.stderr + kept.stderr
    b, k = json.loads(base.stdout), json.loads(kept.stdout)
    assert k["reason"] is None
    # without the policy each 64 MiB block is a fresh mapping (>= 32 faults of 2 MiB pages
    # each time, 16,384 of 4 KiB pages without transparent huge pages); with it, none
    assert b["faults"] >= 9 * 32
    assert k["faults"] < b["faults"] / 4


def test_system_choice_is_respected():
    out = _run("apply", heap="system")
    assert out.returncode == 0, out.stderr
    assert "FHESIM_HEAP=system" in json.loads(out.stdout)["reason"]


def test_unknown_choice_is_refused_naming_the_variable():
    out = _run("apply", heap="fast")
    assert out.returncode != 0
    assert "FHESIM_HEAP='fast'" in out.stderr and "'retain'" in out.stderr


def test_command_line_refuses_a_bad_choice_before_any_work():
    env = dict(os.environ, FHESIM_HEAP="fast")
    out = subprocess.run([sys.executable, "-m", "sim.cli", "estimate", "--list"], capture_output=True,
                         text=True, env=env, check=False)
    assert out.returncode == 2, out.stderr
    assert out.stderr.strip() == "fhesim: FHESIM_HEAP='fast': expected 'retain' (the default) or 'system'"
    assert not out.stdout
