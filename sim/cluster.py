"""Where work runs: one way to name a Dask ``distributed`` cluster and get a client for it.

Every command that fans out work (``fhesim infer``, ``fhesim bench resnet``,
``fhesim regression``, ``fhesim compare``) takes ``--cluster SPEC``:

``local`` (the default)
    an embedded :class:`distributed.LocalCluster` sized to this machine: one worker
    process per core, one thread per worker (numba parallelism inside one CKKS operation
    is not what scales here; processes do), fewer workers when the memory one task needs
    (``memory_per_worker``) does not fit that many times into the machine's memory.
``local:K``
    the same with ``K`` worker processes.
``tcp://HOST:PORT``
    connect to a running ``dask scheduler`` (see docs/distributed.md); the connection
    attempt gives up after ``connect_timeout`` seconds with a :class:`ClusterError`
    naming the address.
``serial``
    no cluster: the work runs in this process, one item after another (the reference
    the cluster results are compared with).

:func:`cluster_client` is the context manager that yields a :class:`distributed.Client`
(``None`` for ``serial``) and closes what it started; before yielding it checks that
every worker runs the same fhesim (package version and a digest of the ``sw``/``hw``/``sim``
sources, :func:`code_identity`). :func:`map_ordered` runs a function over items on the
client (or serially) and returns the results in the order of the items, calling
``on_result`` as each one finishes. Input errors raise :class:`ClusterError` (commands
exit with status 2).
"""
from __future__ import annotations

import hashlib
import logging
import os
import re
from contextlib import contextmanager
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

__all__ = ["ClusterError", "ClusterSpec", "parse_cluster", "local_size", "cluster_client",
           "code_identity", "check_workers", "check_memory", "map_ordered", "add_cluster_argument",
           "WORKER_ENV"]

#: environment of embedded worker processes: one numba / BLAS thread each
WORKER_ENV = {"NUMBA_NUM_THREADS": "1", "OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1",
              "MKL_NUM_THREADS": "1"}

#: Dask configuration of embedded clusters: Dask's default ``MALLOC_TRIM_THRESHOLD_=65536``
#: is removed (it turns off glibc's adaptive mmap threshold; every large NumPy temporary is
#: then mapped and unmapped again, which made CKKS bootstrapping 3-5x slower in a worker).
#: :data:`WORKER_ENV` goes to the workers as ``LocalCluster(env=...)``, which only the
#: worker processes see: Dask's nanny writes its "pre-spawn" variables into the *client's*
#: ``os.environ`` too, and a ``NUMBA_NUM_THREADS`` set there after numba has started its
#: threads makes numba refuse every later compilation in the client.
_LOCAL_CONFIG = {f"distributed.nanny.pre-spawn-environ.{k}": None
                 for k in ("MALLOC_TRIM_THRESHOLD_", *WORKER_ENV)}


class ClusterError(ValueError):
    """The cluster cannot be used as asked (bad spec, unreachable scheduler, mismatched
    workers, too little memory per worker): an input error, reported before any work."""


@dataclass(frozen=True)
class ClusterSpec:
    """A parsed ``--cluster`` value.

    Attributes
    ----------
    kind : str
        ``"serial"``, ``"local"`` or ``"remote"``.
    workers : int or None
        Worker processes of a local cluster (``None``: sized to the machine).
    address : str or None
        Scheduler address of a remote cluster.
    """

    kind: str
    workers: int | None = None
    address: str | None = None

    def __str__(self) -> str:
        if self.kind == "remote":
            return str(self.address)
        return f"local:{self.workers}" if self.kind == "local" and self.workers else self.kind


_ADDRESS = re.compile(r"^(tcp|tls|ws|wss|inproc)://[^\s/]+(:\d+)?/?$")


def parse_cluster(text: str | None, *, jobs: int | None = None) -> ClusterSpec:
    """Parse a ``--cluster`` value (see the module docstring).

    Parameters
    ----------
    text : str or None
        ``None``, ``"local"``, ``"local:K"``, ``"serial"`` or a scheduler address.
    jobs : int, optional
        A legacy ``--jobs J``: ``1`` is ``serial``, ``J > 1`` is ``local:J`` (only when
        ``text`` is ``None``).

    Returns
    -------
    ClusterSpec

    Raises
    ------
    ClusterError
        An unparseable value, or ``K < 1``.
    """
    if text is None and jobs is not None:
        if jobs < 1:
            raise ClusterError(f"--jobs {jobs}: must be at least 1")
        return ClusterSpec("serial") if jobs == 1 else ClusterSpec("local", jobs)
    t = (text or "local").strip()
    if t == "serial":
        return ClusterSpec("serial")
    if t == "local":
        return ClusterSpec("local")
    if t.startswith("local:"):
        k = t.partition(":")[2]
        if not k.isdigit() or int(k) < 1:
            raise ClusterError(f"--cluster {text!r}: local:K needs a worker count K >= 1")
        return ClusterSpec("local", int(k))
    if _ADDRESS.match(t):
        return ClusterSpec("remote", address=t.rstrip("/"))
    raise ClusterError(f"--cluster {text!r}: expected local, local:K, serial or a scheduler address "
                       "such as tcp://HOST:8786")


def local_size(workers: int | None = None, memory_per_worker: int | None = None) -> tuple[int, int]:
    """Worker count and memory limit (bytes) per worker of an embedded cluster.

    Parameters
    ----------
    workers : int, optional
        Requested worker processes (default: one per core).
    memory_per_worker : int, optional
        Bytes one task needs; the default worker count is reduced so that each worker
        gets at least that much of the machine's memory.

    Returns
    -------
    (int, int)
        Worker processes and the memory limit of each (machine memory / workers).
    """
    import psutil

    total = int(psutil.virtual_memory().total)
    cores = os.cpu_count() or 1
    if workers is None:
        workers = cores
        if memory_per_worker:
            workers = max(1, min(cores, total // int(memory_per_worker)))
    return int(workers), total // int(workers)


def add_cluster_argument(parser, *, default_help: str = "local") -> None:
    """Add ``--cluster SPEC`` to an argparse parser (help text shared by every command)."""
    parser.add_argument("--cluster", default=None, metavar="SPEC",
                        help="where the work runs: local (default: embedded Dask cluster, one "
                             "worker process per core, 1 thread each), local:K (K workers), "
                             "tcp://HOST:PORT (a running dask scheduler) or serial (this "
                             f"process; docs/distributed.md). Default: {default_help}")


# ---------------------------------------------------------------------------------------
# identity of the code a process runs
# ---------------------------------------------------------------------------------------
@lru_cache(maxsize=1)
def code_identity() -> dict:
    """Version of the installed ``fhesim`` and a SHA-256 digest of the ``sw``, ``hw`` and
    ``sim`` sources this process imports (names and contents of every ``.py`` file)."""
    import sw

    try:
        from importlib.metadata import version
        ver = version("fhesim")
    except Exception:  # not installed: running from a source tree
        ver = "unknown"
    root = Path(sw.__file__).resolve().parent.parent
    h = hashlib.sha256()
    for top in ("sw", "hw", "sim"):
        for p in sorted((root / top).rglob("*.py")):
            h.update(str(p.relative_to(root)).encode() + b"\0" + p.read_bytes() + b"\0")
    return {"version": ver, "digest": h.hexdigest()}


def _worker_identity() -> dict:
    """:func:`code_identity` as a worker sees it (run by ``client.run``)."""
    try:
        return code_identity()
    except Exception as e:  # fhesim missing or broken on the worker
        return {"version": None, "digest": None, "error": f"{type(e).__name__}: {e}"}


def check_workers(client) -> dict:
    """Refuse workers that run other fhesim code than this client.

    Returns
    -------
    dict
        Worker address -> identity (all equal to :func:`code_identity`).

    Raises
    ------
    ClusterError
        A worker without fhesim, with another version or with other sources, naming the
        worker and both versions/digests; or a cluster without workers.
    """
    mine = code_identity()
    try:
        theirs = client.run(_worker_identity)
    except ModuleNotFoundError as e:
        raise ClusterError(f"a Dask worker cannot import fhesim ({e}); install the same fhesim "
                           "on every worker") from None
    if not theirs:
        raise ClusterError(f"the Dask cluster at {client.scheduler.address} has no workers")
    for addr, ident in sorted(theirs.items()):
        if ident.get("error"):
            raise ClusterError(f"Dask worker {addr} cannot import fhesim: {ident['error']}")
        if ident != mine:
            raise ClusterError(
                f"Dask worker {addr} runs fhesim {ident['version']} (code digest "
                f"{str(ident['digest'])[:12]}), this client {mine['version']} ({mine['digest'][:12]}); "
                "install the same fhesim on every worker")
    return theirs


def check_memory(client, need: int, what: str) -> None:
    """Refuse workers whose memory limit is below ``need`` bytes (``what``: the task)."""
    info = client.scheduler_info(n_workers=-1).get("workers", {}) if _takes_n_workers(client) \
        else client.scheduler_info().get("workers", {})
    for addr, w in sorted(info.items()):
        limit = int(w.get("memory_limit") or 0)
        if limit and limit < need:
            raise ClusterError(f"Dask worker {addr} has a memory limit of {limit / 2 ** 30:.2f} GiB; "
                               f"{what} needs about {need / 2 ** 30:.2f} GiB per worker (start the "
                               f"workers with --memory-limit {max(1, -(-need // 2 ** 30))}GiB or more)")


def _takes_n_workers(client) -> bool:
    import inspect
    return "n_workers" in inspect.signature(client.scheduler_info).parameters


# ---------------------------------------------------------------------------------------
# the client
# ---------------------------------------------------------------------------------------
@contextmanager
def cluster_client(spec: ClusterSpec | str | None, *, memory_per_worker: int | None = None,
                   connect_timeout: float = 5.0, log=None, env: dict | None = None):
    """A :class:`distributed.Client` for ``spec`` (``None`` for ``serial``).

    Parameters
    ----------
    spec : ClusterSpec, str or None
        Where to run (:func:`parse_cluster`).
    memory_per_worker : int, optional
        Bytes one task needs: sizes an embedded cluster and is checked against every
        worker's memory limit (:func:`check_memory`).
    connect_timeout : float
        Seconds to wait for a remote scheduler.
    log : callable, optional
        Receives one line naming the cluster and its dashboard.
    env : dict, optional
        Extra environment variables of embedded worker processes (on top of
        :data:`WORKER_ENV`).

    Yields
    ------
    distributed.Client or None
    """
    if not isinstance(spec, ClusterSpec):
        spec = parse_cluster(spec)
    if spec.kind == "serial":
        yield None
        return
    from distributed import Client, LocalCluster

    cluster = None
    if spec.kind == "local":
        n, limit = local_size(spec.workers, memory_per_worker)
        logging.getLogger("distributed").setLevel(logging.ERROR)
        import dask
        with dask.config.set(_LOCAL_CONFIG):
            cluster = LocalCluster(n_workers=n, threads_per_worker=1, processes=True, memory_limit=limit,
                                   dashboard_address=":0", silence_logs=logging.ERROR,
                                   env={**WORKER_ENV, **(env or {})})
        target = cluster
    else:
        target = spec.address
    try:
        client = _connect(Client, target, spec, connect_timeout)
    except BaseException:
        if cluster is not None:
            cluster.close()
        raise
    try:
        if log is not None:
            nw = len(client.scheduler_info().get("workers", {}))
            log(f"dask cluster {spec}: scheduler {client.scheduler.address}, {nw} workers, "
                f"dashboard {client.dashboard_link}")
        check_workers(client)
        if memory_per_worker:
            check_memory(client, memory_per_worker, "this work")
        yield client
    finally:
        client.close()
        if cluster is not None:
            cluster.close()


def _connect(Client, target, spec: ClusterSpec, timeout: float):
    if spec.kind != "remote":
        return Client(target)
    try:
        return Client(target, timeout=timeout)
    except (OSError, TimeoutError) as e:
        raise ClusterError(f"cannot reach the Dask scheduler at {spec.address} within {timeout:g} s "
                           f"({type(e).__name__}); start one with 'dask scheduler' or check the "
                           "address") from None


def map_ordered(client, fn, items: list, *, on_result=None, retries: int = 2, key: str = "fhesim",
                priority_by_order: bool = True) -> list:
    """``[fn(x) for x in items]`` on ``client`` (serially when it is ``None``).

    Parameters
    ----------
    client : distributed.Client or None
    fn : callable
        A picklable function of one item.
    items : list
    on_result : callable, optional
        ``on_result(index, result)`` in this process as each item finishes (completion
        order on a cluster, item order serially).
    retries : int
        Extra attempts of a task that raised (a worker process that died is handled by
        the scheduler: its tasks are run again on another worker).
    key : str
        Prefix of the Dask task keys (shown on the dashboard).
    priority_by_order : bool
        Earlier items get a higher scheduling priority.

    Returns
    -------
    list
        The results in the order of ``items``; each item's result is taken exactly once.
    """
    out: list = [None] * len(items)
    if client is None:
        for i, x in enumerate(items):
            out[i] = fn(x)
            if on_result is not None:
                on_result(i, out[i])
        return out
    from distributed import as_completed

    futs = {}
    for i, x in enumerate(items):
        f = client.submit(fn, x, key=f"{key}-{i}-{os.urandom(4).hex()}", retries=retries, pure=False,
                          priority=(len(items) - i) if priority_by_order else 0)
        futs[f.key] = (i, f)
    done: set = set()
    for f in as_completed([f for _, f in futs.values()]):
        i = futs[f.key][0]
        if i in done:
            continue
        done.add(i)
        out[i] = f.result()
        if on_result is not None:
            on_result(i, out[i])
        f.release()
    return out
