"""The OpenFHE peer of ``fhesim bench ckks`` and ``bench bootstrap``: environment and protocol.

OpenFHE's PyPI wheel (``openfhe`` 1.x) loads only under Python 3.10, while fhesim needs
3.11 or newer, so OpenFHE runs in a separate virtual environment
(``build/peers/openfhe-venv`` in the source tree, or ``$FHESIM_OPENFHE_VENV``) made with a
Python 3.10 interpreter found on the machine. The benchmark sends the driver
(:mod:`openfhe_driver`, a script beside this module that imports only openfhe, numpy and the
standard library) one JSON request on standard input and reads one JSON answer.

This directory has no ``__init__.py`` on purpose: ``fhesim bench`` lists every package
module of :mod:`sim.benchmarks` as a target, and a namespace directory is not listed.

``python -m sim.benchmarks.peers.openfhe_peer`` builds the environment (``make peers``)
and exits 1 with a message naming what is missing when it cannot.
"""
from __future__ import annotations

import glob
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

from .common import (PeerUnavailable, build_env_main, create_venv, import_error, parse_answer,
                     pip_install, ratio, venv_python)

HERE = Path(__file__).resolve().parent
DRIVER = HERE / "openfhe_driver.py"
ROOT = HERE.parents[2]


def venv_dir() -> Path:
    """Where the OpenFHE environment lives: ``$FHESIM_OPENFHE_VENV`` or ``build/peers/openfhe-venv``."""
    return Path(os.environ.get("FHESIM_OPENFHE_VENV") or ROOT / "build" / "peers" / "openfhe-venv")


def find_python310() -> str | None:
    """A Python 3.10 interpreter on this machine, or None.

    Tried in order: ``python3.10`` on ``PATH``, ``pyenv which python3.10``, and
    ``$PYENV_ROOT/versions/3.10*/bin/python3.10`` (``PYENV_ROOT`` defaulting to ``~/.pyenv``).
    """
    found = shutil.which("python3.10")
    if found and _is_310(found):
        return found
    if shutil.which("pyenv"):
        try:
            out = subprocess.run(["pyenv", "which", "python3.10"], capture_output=True, text=True)
            if out.returncode == 0 and _is_310(out.stdout.strip()):
                return out.stdout.strip()
        except OSError:
            pass
    root = os.environ.get("PYENV_ROOT") or os.path.expanduser("~/.pyenv")
    for cand in sorted(glob.glob(os.path.join(root, "versions", "3.10*", "bin", "python3.10")), reverse=True):
        if _is_310(cand):
            return cand
    return None


def _is_310(python: str) -> bool:
    try:
        out = subprocess.run([python, "-c", "import sys; print(sys.version_info[:2] == (3, 10))"],
                             capture_output=True, text=True)
    except OSError:
        return False
    return out.stdout.strip() == "True"


def _check_import(python: Path) -> str | None:
    """None if the peer's packages import in ``python``, else the error text."""
    return import_error(python, "import openfhe, numpy")


def ensure_env(build: bool = True, log=None) -> str:
    """Path of the OpenFHE environment's interpreter, building the environment if allowed.

    Parameters
    ----------
    build : bool
        Create the venv and ``pip install openfhe numpy`` into it when it is missing.
    log : callable or None
        Called with one line of progress text while building.

    Returns
    -------
    str
        The interpreter to run :data:`DRIVER` with.

    Raises
    ------
    PeerUnavailable
        With "no Python 3.10 interpreter found", "pip install openfhe failed: ..." or
        "openfhe import failed: ...".
    """
    venv = venv_dir()
    python = venv_python(venv)
    if python.exists() and _check_import(python) is None:
        return str(python)
    if not build:
        raise PeerUnavailable(f"OpenFHE peer environment {venv} missing (run make peers)")
    if not python.exists():
        base = find_python310()
        if base is None:
            raise PeerUnavailable("no Python 3.10 interpreter found (OpenFHE's openfhe 1.x wheel "
                                  "needs it; install one, e.g. pyenv install 3.10)")
        create_venv(venv, base, "OpenFHE", log)
    pip_install(python, ["openfhe>=1,<2", "numpy"], "openfhe")
    err = _check_import(python)
    if err:
        raise PeerUnavailable(f"openfhe import failed: {err}")
    return str(python)


def run_driver(request: dict, python: str, driver: Path | str = DRIVER, threads: int | None = None) -> dict:
    """Run the driver on one request and return its answer.

    Parameters
    ----------
    request : dict
        The JSON request (see :mod:`openfhe_driver`).
    python : str
        The interpreter of the peer environment.
    driver : path
        The driver script (tests pass a fake one).
    threads : int or None
        ``OMP_NUM_THREADS`` for OpenFHE (default: inherited).

    Raises
    ------
    PeerUnavailable
        When the driver fails, prints no JSON, or answers ``ok: false``.
    """
    env = dict(os.environ)
    if threads:
        env["OMP_NUM_THREADS"] = str(threads)
    env.pop("PYTHONPATH", None)   # the peer interpreter must not see fhesim's packages
    out = subprocess.run([python, str(driver)], input=json.dumps(request), capture_output=True,
                         text=True, env=env)
    return parse_answer("OpenFHE", out.stdout, out.stderr, out.returncode)


def main(argv=None) -> int:
    """Build the OpenFHE peer environment; exit 1 with the missing piece named."""
    return build_env_main("OpenFHE", ensure_env)


if __name__ == "__main__":
    sys.exit(main())
