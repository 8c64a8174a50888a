"""``fhesim`` subcommands: each module defines ``register(subparsers)`` (discovered by
:mod:`sim.cli`). :func:`check_output_path` is the check every command makes on an output
file before working."""
from __future__ import annotations

import os
import tempfile
from pathlib import Path


def check_output_path(path, option: str) -> None:
    """Raise ``ValueError`` naming ``option`` and ``path`` unless ``path`` can be written:
    not a directory, writable if it exists, otherwise its nearest existing ancestor is a
    directory where a file can be created (tried with a temporary file, removed at once;
    missing parents are created on writing)."""
    p = Path(path)
    if p.is_dir():
        raise ValueError(f"{option} {path}: is a directory, expected a file")
    if p.exists():
        if not os.access(p, os.W_OK):
            raise ValueError(f"{option} {path}: not writable")
        return
    anc = p.parent if str(p.parent) else Path(".")
    while not anc.exists() and anc != anc.parent:
        anc = anc.parent
    try:
        if not anc.is_dir():
            raise NotADirectoryError(f"{anc} is not a directory")
        with tempfile.TemporaryFile(dir=anc):
            pass
    except OSError as e:
        raise ValueError(f"{option} {path}: cannot create the file in {anc} ({e.strerror or e})") from None
