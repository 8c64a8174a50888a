"""The hardware-replay trace file (``.npz`` arrays + a JSON manifest); see docs/trace-format.md.

One file holds the integer inputs and outputs of every captured kernel call of a software
run -- forward NTT (``ntt``), inverse NTT (``intt``), elementwise modular multiply
(``modmul``), fast basis conversion (``bconv``), automorphism (``automorphism``) and
multiply-accumulate / multiply-subtract (``mac``) -- plus, for the transforms, the array
after every butterfly stage. It is a single NumPy ``.npz`` archive:

* ``manifest``: a ``uint8`` array holding UTF-8 JSON (format name, version, parameters,
  program, and one entry per kernel naming its arrays);
* ``kNNNN_<name>``: the ``uint64`` arrays of kernel ``NNNN`` (``input``, ``output``,
  ``stages`` for transforms; ``a``, ``b``, ``output`` for ``modmul``; ``input``, ``output``
  for ``bconv`` and ``automorphism``; ``a``, ``b``, ``acc``, ``output`` for ``mac``).

Version 2 added the kinds ``bconv``, ``automorphism`` and ``mac`` and the manifest fields
``src_primes`` (bconv), ``galois`` and ``order`` (automorphism); version 1 files (NTT, INTT
and modmul only) still load.

:func:`save` validates shapes before writing and records in the manifest a ``checksum``
(SHA-256 over the arrays, in manifest order: :func:`arrays_checksum`); :func:`load` checks
the format name and version, the checksum (files written before it existed have none and
still load), and returns a :class:`Trace` whose :class:`Kernel` objects hold the arrays.
Every unreadable, truncated or corrupt file raises :class:`TraceFormatError` naming the
file, never another exception type.
"""
from __future__ import annotations

import hashlib
import json
import zipfile
import zlib
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from sw.atomicio import atomic_open

FORMAT = "fhesim-hwtrace"
VERSION = 2
#: Versions :func:`load` reads.
READ_VERSIONS = (1, 2)
KINDS = ("ntt", "intt", "modmul", "bconv", "automorphism", "mac")
#: The kinds a version 1 file may hold.
KINDS_V1 = ("ntt", "intt", "modmul")
MODMUL_FORMS = ("mul", "mulconst", "submulconst")
#: ``fast``: the software's fast conversion (its output is the kernel's); ``exact-fast``: the
#: fast-conversion step of an exact (float-corrected) conversion, whose correction follows
#: as a ``mac`` kernel of form ``msub`` (docs/trace-format.md).
BCONV_FORMS = ("fast", "exact-fast")
#: ``mac``: ``acc + a*b``; ``msub``: ``acc - a*b`` (mod q).
MAC_FORMS = ("mac", "msub")
AUTOMORPHISM_ORDERS = ("coeff", "eval")
#: Arrays each kind must hold.
ARRAYS = {"ntt": ("input", "output", "stages"), "intt": ("input", "output", "stages"),
          "modmul": ("a", "b", "output"), "bconv": ("input", "output"),
          "automorphism": ("input", "output"), "mac": ("a", "b", "acc", "output")}
FORMS = {"modmul": MODMUL_FORMS, "bconv": BCONV_FORMS, "mac": MAC_FORMS}

__all__ = ["FORMAT", "VERSION", "READ_VERSIONS", "KINDS", "Kernel", "Trace", "TraceFormatError", "save", "load",
           "arrays_checksum"]

# what a damaged .npz / manifest can raise inside numpy, zipfile, zlib and json
# (zipfile raises NotImplementedError / RuntimeError for flag bits it does not support)
_READ_ERRORS = (OSError, EOFError, ValueError, KeyError, TypeError, AttributeError, IndexError,
                zipfile.BadZipFile, zlib.error, UnicodeDecodeError, OverflowError, MemoryError,
                RuntimeError)


class TraceFormatError(ValueError):
    """The file is not a valid trace of this format/version."""


@dataclass
class Kernel:
    """One captured kernel call (``rows`` RNS primes of ``n`` words each).

    ``arrays`` maps array role -> ``uint64`` ndarray:

    * ``ntt`` / ``intt``: ``input`` (rows, n), ``output`` (rows, n) and ``stages``
      (rows, log2 n, n): the whole array after butterfly stage ``s`` (canonical residues;
      for ``intt`` before the final ``n^-1`` scaling, which gives ``output``);
    * ``modmul``: ``a``, ``b`` (rows, n) multiplier operands and ``output = a*b mod q``;
    * ``bconv``: ``input`` (len(src_primes), n) residues mod ``src_primes``, ``output``
      (rows, n) the fast conversion to ``primes`` (the destination primes);
    * ``automorphism``: ``input``, ``output`` (rows, n): ``X -> X^galois`` in ``order``
      (``coeff``: natural coefficient order with sign flips; ``eval``: bit-reversed
      evaluation order, a permutation);
    * ``mac``: ``a``, ``b``, ``acc`` (rows, n) and ``output = acc + a*b`` (form ``mac``) or
      ``acc - a*b`` (form ``msub``) mod q.
    """

    id: int
    kind: str
    n: int
    primes: tuple[int, ...]
    op: str | None = None            # innermost operation kind (e.g. "modup")
    op_path: str | None = None       # outermost -> innermost, e.g. "cmult/relin/keyswitch/modup"
    op_id: int | None = None
    form: str | None = None          # modmul / bconv / mac: FORMS[kind]
    arrays: dict = field(default_factory=dict)
    src_primes: tuple[int, ...] = ()  # bconv: the source primes (``primes``: destination)
    galois: int | None = None        # automorphism: the Galois element
    order: str | None = None         # automorphism: "coeff" or "eval"

    @property
    def rows(self) -> int:
        return len(self.primes)

    @property
    def direction(self) -> str | None:
        return {"ntt": "forward", "intt": "inverse"}.get(self.kind)

    @property
    def log_n(self) -> int:
        return self.n.bit_length() - 1

    @property
    def label(self) -> str:
        return f"#{self.id} {self.kind}{'/' + self.form if self.form else ''} in {self.op_path}"

    def manifest_entry(self) -> dict:
        e = {"id": self.id, "kind": self.kind, "direction": self.direction, "form": self.form,
             "n": self.n, "rows": self.rows, "primes": list(self.primes), "op": self.op,
             "op_path": self.op_path, "op_id": self.op_id,
             "arrays": {role: _key(self.id, role) for role in sorted(self.arrays)}}
        if self.kind == "bconv":
            e["src_primes"] = list(self.src_primes)
        if self.kind == "automorphism":
            e["galois"], e["order"] = self.galois, self.order
        return e

    def validate(self) -> None:
        if self.kind not in KINDS:
            raise TraceFormatError(f"kernel {self.id}: kind {self.kind!r} not in {KINDS}")
        missing = [r for r in ARRAYS[self.kind] if r not in self.arrays]
        if missing:
            raise TraceFormatError(f"kernel {self.id} ({self.kind}): missing arrays {missing}")
        extra = sorted(set(self.arrays) - set(ARRAYS[self.kind]))
        if extra:
            raise TraceFormatError(f"kernel {self.id} ({self.kind}): unexpected arrays {extra}")
        if self.kind in FORMS and self.form not in FORMS[self.kind]:
            raise TraceFormatError(f"kernel {self.id}: {self.kind} form {self.form!r} not in "
                                   f"{FORMS[self.kind]}")
        if self.kind == "bconv":
            if not self.src_primes or min(self.src_primes) < 2 or set(self.src_primes) & set(self.primes):
                raise TraceFormatError(f"kernel {self.id}: bconv src_primes {self.src_primes[:4]} "
                                       "invalid (empty, below 2 or shared with the destination primes)")
        if self.kind == "automorphism":
            g = self.galois
            if isinstance(g, bool) or not isinstance(g, int) or g % 2 == 0 or not 0 < g < 2 * self.n:
                raise TraceFormatError(f"kernel {self.id}: automorphism galois {g!r} must be an odd "
                                       f"int in (0, 2n={2 * self.n})")
            if self.order not in AUTOMORPHISM_ORDERS:
                raise TraceFormatError(f"kernel {self.id}: automorphism order {self.order!r} not in "
                                       f"{AUTOMORPHISM_ORDERS}")
        for role, arr in self.arrays.items():
            primes = self.src_primes if (self.kind, role) == ("bconv", "input") else self.primes
            shape = (len(primes), self.n)
            want = (self.rows, self.log_n, self.n) if role == "stages" else shape
            if not isinstance(arr, np.ndarray) or arr.shape != want or arr.dtype != np.uint64:
                raise TraceFormatError(f"kernel {self.id} array {role!r}: shape "
                                       f"{getattr(arr, 'shape', None)} dtype {getattr(arr, 'dtype', None)}, "
                                       f"expected {want} uint64")
            q = np.array(primes, dtype=np.uint64).reshape((-1,) + (1,) * (arr.ndim - 1))
            if (arr >= q).any():
                raise TraceFormatError(f"kernel {self.id} array {role!r} holds values >= q")


@dataclass
class Trace:
    """A loaded (or to-be-saved) trace: ``meta`` (manifest minus kernels) and ``kernels``."""

    meta: dict
    kernels: list[Kernel]
    path: Path | None = None
    version: int = VERSION           # the file's format version (save always writes VERSION)

    def primes(self) -> list[int]:
        """Distinct primes, in order of first use."""
        seen: dict[int, None] = {}
        for k in self.kernels:
            for q in k.primes:
                seen.setdefault(q, None)
        return list(seen)

    def counts(self) -> dict[str, dict[str, int]]:
        out = {kind: {"kernels": 0, "rows": 0} for kind in KINDS}
        for k in self.kernels:
            out[k.kind]["kernels"] += 1
            out[k.kind]["rows"] += k.rows
        return out


def _key(kid: int, role: str) -> str:
    return f"k{kid:04d}_{role}"


def arrays_checksum(entries, get) -> str:
    """SHA-256 (hex) over the arrays named by manifest kernel ``entries``, in order: for each
    array its key, dtype, shape and little-endian bytes. ``get(key)`` returns the array."""
    h = hashlib.sha256()
    for e in entries:
        for role in sorted(e["arrays"]):
            key = e["arrays"][role]
            a = np.ascontiguousarray(get(key), dtype="<u8")
            h.update(f"{key}|{a.dtype.str}|{a.shape}|".encode())
            h.update(a.tobytes())
    return h.hexdigest()


def save(trace: Trace, path) -> Path:
    """Validate and write ``trace`` to ``path`` (``.npz``; written atomically)."""
    path = Path(path)
    arrays = {}
    for k in trace.kernels:
        k.validate()
        for role, arr in k.arrays.items():
            arrays[_key(k.id, role)] = np.ascontiguousarray(arr, dtype=np.uint64)
    entries = [k.manifest_entry() for k in trace.kernels]
    manifest = {"format": FORMAT, "version": VERSION, **trace.meta, "kernels": entries,
                "checksum": {"algorithm": "sha256", "arrays": arrays_checksum(entries, arrays.__getitem__)}}
    blob = np.frombuffer(json.dumps(manifest, indent=1).encode(), dtype=np.uint8)
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_open(path, "wb") as f:
        np.savez_compressed(f, manifest=blob, **arrays)
    return path


def read_manifest(path) -> dict:
    """The JSON manifest of the trace file ``path`` (raises :class:`TraceFormatError`)."""
    try:
        with np.load(path, allow_pickle=False) as z:
            return _manifest(path, z)
    except TraceFormatError:
        raise
    except _READ_ERRORS as e:
        raise TraceFormatError(f"{path}: unreadable or corrupt trace file ({type(e).__name__}: {e})") from None


def _manifest(path, z) -> dict:
    if "manifest" not in z.files:
        raise TraceFormatError(f"{path}: no 'manifest' entry (not an {FORMAT} file)")
    man = json.loads(bytes(z["manifest"]).decode())
    if not isinstance(man, dict):
        raise TraceFormatError(f"{path}: the manifest is not a JSON object")
    return man


def load(path) -> Trace:
    """Read and check a trace written by :func:`save`.

    Raises :class:`TraceFormatError` naming ``path`` for a missing, unreadable, truncated or
    corrupt file, a wrong format or version, a checksum mismatch or a malformed kernel.
    """
    path = Path(path)
    if not path.is_file():
        raise TraceFormatError(f"trace file {path} does not exist")
    try:
        return _load(path)
    except TraceFormatError:
        raise
    except _READ_ERRORS as e:
        raise TraceFormatError(f"{path}: unreadable or corrupt trace file ({type(e).__name__}: {e})") from None


def _load(path: Path) -> Trace:
    with np.load(path, allow_pickle=False) as z:
        man = _manifest(path, z)
        if man.get("format") != FORMAT:
            raise TraceFormatError(f"{path}: format {man.get('format')!r}, expected {FORMAT!r}")
        version = man.get("version")
        if isinstance(version, bool) or version not in READ_VERSIONS:
            raise TraceFormatError(f"{path}: format version {version!r}, this fhesim reads "
                                   f"versions {', '.join(map(str, READ_VERSIONS))}")
        if not isinstance(man.get("kernels"), list):
            raise TraceFormatError(f"{path}: the manifest has no kernel list")
        data: dict = {}
        kernels = []
        for e in man["kernels"]:
            arrays = {}
            for role, key in e["arrays"].items():
                if key not in z.files:
                    raise TraceFormatError(f"{path}: kernel {e['id']} array {key!r} missing")
                arrays[role] = data[key] = z[key]
            if version == 1 and e["kind"] not in KINDS_V1:
                raise TraceFormatError(f"{path}: kernel {e['id']}: kind {e['kind']!r} is not one "
                                       f"of version 1 ({', '.join(KINDS_V1)})")
            k = Kernel(id=int(e["id"]), kind=e["kind"], n=int(e["n"]),
                       primes=tuple(int(q) for q in e["primes"]), op=e.get("op"),
                       op_path=e.get("op_path"), op_id=e.get("op_id"), form=e.get("form"),
                       arrays=arrays, src_primes=tuple(int(q) for q in e.get("src_primes") or ()),
                       galois=e.get("galois"), order=e.get("order"))
            if k.n < 2 or k.n & (k.n - 1) or not k.primes or min(k.primes) < 2:
                raise TraceFormatError(f"{path}: kernel {k.id}: n={k.n} / primes {k.primes[:4]} invalid")
            try:
                k.validate()
            except TraceFormatError as e:
                raise TraceFormatError(f"{path}: {e}") from None
            kernels.append(k)
        _verify_checksum(path, man, data)
    meta = {k: v for k, v in man.items() if k not in ("kernels", "format", "version", "checksum")}
    return Trace(meta=meta, kernels=kernels, path=path, version=version)


def _verify_checksum(path, man: dict, data: dict) -> None:
    c = man.get("checksum")
    if c is None:
        return    # written before checksums existed
    if not isinstance(c, dict) or c.get("algorithm") != "sha256" or not isinstance(c.get("arrays"), str):
        raise TraceFormatError(f"{path}: malformed checksum entry {c!r}")
    got = arrays_checksum(man["kernels"], data.__getitem__)
    if got != c["arrays"]:
        raise TraceFormatError(f"{path}: array checksum mismatch (recorded {c['arrays'][:16]}..., "
                               f"computed {got[:16]}...): the file is corrupt or was modified")
