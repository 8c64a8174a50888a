"""What every peer of the benchmarks shares: its error, the import check of its own
environment, the reading of its driver's JSON answer, the ratio column and the command that
builds its environment.

A peer (:mod:`.openfhe_peer`, :mod:`.orion_peer`) runs in a separate interpreter; its driver
reads one JSON request on stdin and prints one JSON object (``ok``, or ``ok: false`` and
``error``) as its last JSON line.
"""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path


class PeerUnavailable(RuntimeError):
    """The peer cannot run here; the message says what is missing."""


def venv_python(venv: Path) -> Path:
    """The interpreter of the virtual environment ``venv``."""
    return venv / "bin" / "python"


def import_error(python: Path | str, statement: str) -> str | None:
    """None if ``statement`` (an import) runs in ``python``, else the last line of its error."""
    out = subprocess.run([str(python), "-c", statement], capture_output=True, text=True)
    if out.returncode == 0:
        return None
    return (out.stderr.strip().splitlines() or ["exit %d" % out.returncode])[-1]


def create_venv(venv: Path, base: str, name: str, log=None) -> None:
    """Create the virtual environment ``venv`` with the interpreter ``base`` (``name``: the
    peer, for the log line); :class:`PeerUnavailable` with venv's error if it fails."""
    if log:
        log(f"building the {name} peer environment {venv} with {base}")
    venv.parent.mkdir(parents=True, exist_ok=True)
    out = subprocess.run([base, "-m", "venv", str(venv)], capture_output=True, text=True)
    if out.returncode:
        raise PeerUnavailable(f"{Path(base).name} -m venv failed: {out.stderr.strip()[-300:]}")


def pip_install(python: Path, args: list[str], what: str) -> None:
    """``python -m pip install --quiet *args``; :class:`PeerUnavailable` naming ``what``
    with pip's error (its warnings left out) if it fails."""
    out = subprocess.run([str(python), "-m", "pip", "install", "--quiet", *args],
                         capture_output=True, text=True)
    if out.returncode:
        err = [ln for ln in out.stderr.strip().splitlines() if not ln.startswith("WARNING")]
        raise PeerUnavailable(f"pip install {what} failed: {' '.join(err)[-300:]}")


def parse_answer(name: str, stdout: str, stderr: str, returncode: int) -> dict:
    """The driver's answer: its last JSON line. Raises :class:`PeerUnavailable` naming
    ``name`` when there is none, when it is malformed, or when it says ``ok: false``."""
    lines = [ln for ln in stdout.splitlines() if ln.strip().startswith("{")]
    if not lines:
        tail = (stderr.strip().splitlines() or [f"exit {returncode}"])[-1]
        raise PeerUnavailable(f"{name} driver gave no answer (exit {returncode}): {tail}")
    try:
        res = json.loads(lines[-1])
    except json.JSONDecodeError as e:
        raise PeerUnavailable(f"{name} driver answered malformed JSON: {e}") from None
    if not res.get("ok"):
        raise PeerUnavailable(f"{name} run failed: {res.get('error', 'no error text')}")
    return res


def ratio(ours: float, peer: float) -> float:
    """``ours / peer`` (lower is better for us), NaN when either time is missing or ``peer <= 0``."""
    nan = float("nan")
    if ours is None or peer is None or ours != ours or peer != peer or peer <= 0:
        return nan
    return ours / peer


def build_env_main(name: str, ensure_env) -> int:
    """``python -m <peer module>``: build the peer's environment (``ensure_env(build=True)``);
    exit 1 with the missing piece named."""
    try:
        python = ensure_env(build=True, log=print)
    except PeerUnavailable as e:
        print(f"{name} peer: {e}", file=sys.stderr)
        return 1
    print(f"{name} peer environment ready: {python}")
    return 0
