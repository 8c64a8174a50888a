"""Encrypted ResNet inference on digits test images (the engine of ``fhesim infer``).

For each image: the encrypted top-1 and the plaintext top-1 (exact ReLU), the largest
logit error of the decrypted logits against the plaintext model with the same polynomial
activations (the encryption error) and against the exact model, bootstraps, levels
consumed, wall time. Overall: top-1 agreement (encrypted vs plaintext) and accuracy.
Before encrypting, the plaintext check runs the images through the polynomial network and
warns, naming the layer, if an activation leaves its calibrated bound (nothing is clipped).

:func:`run_infer` runs it; :func:`jsonl_appender` writes one JSON line per image as it
finishes (``fhesim infer --jsonl``); :func:`open_jsonl` checks such a file before any work
(writable; without ``resume`` it must be empty or new, so a rerun never appends duplicate
images; with ``resume`` its rows must come from the same run fields, see :data:`RUN_FIELDS`,
and their images are skipped). :func:`check_image_range` checks an image range against the
data set and :func:`summarize` recomputes the overall figures of a list of rows. Uses
``sw`` only.
"""
from __future__ import annotations

import json
import os
import time
import warnings

import numpy as np


#: Largest ``log2 N`` run on one numba thread by default. Measured on 2 cores (lone
#: bootstrap, ``--giant-steps min --hoisting double-cts``, min of five, 1 / 2 threads):
#: 2^10 0.19 / 0.39 s, 2^11 0.37 / 0.23 s, 2^12 0.76 / 0.45 s; a ResNet-20 (digits8) at
#: ``toy-boot-n12`` 18.2 / 11.5 s (docs/benchmarks.md). Below 2^11 a row is too short to
#: pay for waking a second thread.
SERIAL_MAX_LOG_N = 10


def default_threads(params) -> int:
    """numba threads used when none are asked for: 1 up to ``2^SERIAL_MAX_LOG_N``, else all."""
    import numba
    return 1 if params.log_n <= SERIAL_MAX_LOG_N else numba.config.NUMBA_NUM_THREADS


def resolve_threads(n: int | None, params) -> int:
    """The numba threads a run uses: ``n``, or :func:`default_threads`, capped at numba's."""
    import numba
    return max(1, min(numba.config.NUMBA_NUM_THREADS, n if n else default_threads(params)))


def set_threads(n: int | None, params) -> None:
    """numba threads: :func:`resolve_threads` (``n``, else 1 for ``N <= 2^10``, all otherwise)."""
    try:
        import numba
        numba.set_num_threads(resolve_threads(n, params))
    except Exception:  # pragma: no cover
        pass


#: Fields every ``--jsonl`` row records; a resumed run must match them all.
RUN_FIELDS = ("model", "geometry", "params", "method", "degree")

#: :func:`run_infer` reruns the first image when compiling took more than this share of it.
JIT_RERUN_SHARE = 0.01


def check_image_range(start: int, images: int, available: int) -> None:
    """Raise ``ValueError`` naming the option and the valid range unless test images
    ``start .. start + images - 1`` exist among ``available``."""
    if isinstance(start, bool) or not isinstance(start, int) or not 0 <= start < available:
        raise ValueError(f"--start {start}: the first test image index must be in [0, {available - 1}] "
                         f"({available} test images)")
    if isinstance(images, bool) or not isinstance(images, int) or not 1 <= images <= available - start:
        raise ValueError(f"--images {images}: with --start {start} it must be in [1, {available - start}] "
                         f"({available} test images)")


def available_images(geometry: str) -> int:
    """Number of test images of the digits split in ``geometry``."""
    from sw.nn.data import load_digits_split
    return len(load_digits_split(geometry)[3])


def _read_rows(path) -> list[dict]:
    rows = []
    with open(path) as f:
        for i, line in enumerate(f, 1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
            except json.JSONDecodeError as e:
                raise ValueError(f"--jsonl {path}: line {i} is not JSON ({e.msg}); the file is damaged, "
                                 f"use a new file") from None
            if not isinstance(row, dict) or not isinstance(row.get("image"), int):
                raise ValueError(f"--jsonl {path}: line {i} is not a result row (no integer 'image')")
            rows.append(row)
    return rows


def open_jsonl(path, fields: dict, resume: bool = False) -> list[dict]:
    """Check the ``--jsonl`` file ``path`` before any work and return the rows already in it.

    The file is opened for append (created if missing), so an unwritable path fails here,
    naming it. Without ``resume`` a file that already holds rows is refused (a rerun would
    append duplicate images); with ``resume`` every row must match ``fields`` on each key
    of :data:`RUN_FIELDS` it records (a file of another model, geometry, parameter set,
    method or degree is refused, naming the field). Raises ``ValueError``.
    """
    try:
        with open(path, "a"):
            pass
    except OSError as e:
        raise ValueError(f"--jsonl {path}: cannot open for writing ({e.strerror})") from None
    rows = _read_rows(path)
    if rows and not resume:
        raise ValueError(f"--jsonl {path} already holds {len(rows)} result rows (images "
                         f"{sorted({r['image'] for r in rows})[:8]}...); pass --resume to skip those "
                         f"images, or choose a new file")
    for i, row in enumerate(rows, 1):
        for k in RUN_FIELDS:
            if k in row and k in fields and row[k] != fields[k]:
                raise ValueError(f"--resume: {path} row {i} has {k}={row[k]!r}, this run {k}={fields[k]!r}; "
                                 f"it was written by another run, use a new file")
    return rows


def summarize(rows: list[dict]) -> dict:
    """Overall figures of image rows: agreement, accuracies, largest logit error, mean time."""
    return dict(agreement=float(np.mean([r["top1_encrypted"] == r["top1_plain"] for r in rows])),
                accuracy_encrypted=float(np.mean([r["top1_encrypted"] == r["label"] for r in rows])),
                accuracy_plain=float(np.mean([r["top1_plain"] == r["label"] for r in rows])),
                max_logit_err=float(max(r["max_logit_err"] for r in rows)),
                mean_seconds=float(np.mean([r["seconds"] for r in rows])))


def jsonl_appender(path, *, done=(), **fields):
    """An ``on_image`` callback of :func:`run_infer` (and of the cluster inference) that
    appends ``{**fields, **row}`` as one JSON line to ``path`` as each image finishes.

    Each line is flushed and fsync'd before the callback returns, so a finished image
    survives an interrupt or a crash. ``done``: image indices already in the file (rows
    returned by :func:`open_jsonl`); a row for an image already written is refused
    (``ValueError``), so every image appears once.
    """
    seen = {int(i) for i in done}

    def on_image(row):
        image = int(row["image"])
        if image in seen:
            raise ValueError(f"--jsonl {path}: image {image} is already in the file")
        with open(path, "a") as f:
            f.write(json.dumps({**fields, **row}) + "\n")
            f.flush()
            os.fsync(f.fileno())
        seen.add(image)
    return on_image


def _image_row(index: int, label, logits, plain_exact, plain_poly, st, layer_times: bool) -> dict:
    """The result row of one encrypted image (see the module docstring)."""
    row = dict(image=index, label=int(label), top1_encrypted=int(np.argmax(logits)),
               top1_plain=int(np.argmax(plain_exact)), top1_plain_poly=int(np.argmax(plain_poly)),
               max_logit_err=float(np.max(np.abs(logits - plain_poly))),
               max_logit_err_vs_exact=float(np.max(np.abs(logits - plain_exact))),
               bootstraps=st.bootstraps, levels_used=st.levels_consumed, seconds=round(st.seconds, 2),
               **{f"s_{k}": round(v, 2) for k, v in sorted(st.kind_seconds.items())})
    if layer_times:
        row["layer_seconds"] = {k: round(v, 3) for k, v in st.op_seconds.items()}
        row["boot_seconds"] = {int(k): [round(t, 3) for t in v] for k, v in st.boot_seconds.items()}
    return row


def _plain_check(enn, net, x, log):
    """Plaintext logits with polynomial and exact activations; bound violations are
    reported by layer (``log``), not clipped. Returns ``(poly, exact, warnings)``."""
    from sw.nn.plain import BoundWarning, forward

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", BoundWarning)
        plain_poly = enn.plain_logits(x, poly=True)
    bound_warnings = sorted({str(w.message) for w in caught if issubclass(w.category, BoundWarning)})
    for msg in bound_warnings:
        log(f"warning: {msg}")
    return plain_poly, forward(net, x, graph=enn.graph), bound_warnings


def run_infer(model: str, geometry: str, params_name: str, images: int, *, method: str = "composite",
              degree: int = 15, allow_insecure: bool = False, start: int = 0, seed: int = 1,
              bootstrap: bool = True, progress: bool = True, threads: int | None = None,
              log=print, on_image=None, layer_times: bool = False,
              sparse_bootstrap: bool = False, skip=(), giant_steps: str = "keys",
              hoisting: str = "single", rerun_if_compiled: bool = False, warm_up: bool = True,
              baby_steps: str = "hoisted") -> dict:
    """Encrypted inference on test images ``start .. start + images - 1`` (see module
    docstring); ``on_image(row)`` is called as each image finishes (long runs keep their
    results even if stopped); ``layer_times``: each row also gets ``layer_seconds`` (layer ->
    seconds, bootstraps excluded) and ``boot_seconds`` (slot period -> seconds of each
    bootstrap); ``sparse_bootstrap``: each stage bootstraps at its own slot period; ``skip``:
    image indices not to run (already done, ``--resume``; at least one image must be left);
    ``giant_steps``: the bootstrapping DFTs' giant steps (``"min"``: fewer keys); ``hoisting``:
    their hoisting (``"double"``: :attr:`sw.bootstrap.BootstrapConfig.hoisting`);
    ``baby_steps``: their baby rotations (``"chain"``: :attr:`sw.bootstrap.BootstrapConfig.baby_steps`);
    ``warm_up``: before the first image, one bootstrap of a zero per bootstrapper
    (:meth:`sw.nn.encrypted.HeSession.warm_up`, ``warmup_seconds``) encodes the bootstrapping
    diagonals, which every image then reuses; without it the first image pays for them.
    ``rerun_if_compiled``: when the first image's inference spent more than
    :data:`JIT_RERUN_SHARE` of its time compiling numba kernels (the first run after an
    install), run that image again and report the second run (the first one's seconds are
    ``jit_first_seconds``); a smaller compile (numba's typed-list helpers, compiled anew in
    every process) stays in the reported time. Every row says ``jit_compiled`` (its seconds
    include compiling) and ``jit_seconds`` (how many).
    The image range is checked (:func:`check_image_range`) before any key generation."""
    from sw.ckks import get_params
    from sw.nn.data import load_digits_split
    from sw.nn.encrypted import EncryptedResNet
    from sw.nn.models import load_model

    xtr, _, xte, yte = load_digits_split(geometry)
    check_image_range(start, images, len(xte))
    todo = [i for i in range(start, start + images) if i not in set(skip)]
    if not todo:
        raise ValueError(f"--images: all {images} images from --start {start} are already done")
    params = get_params(params_name, allow_insecure=allow_insecure)
    set_threads(threads, params)
    net = load_model(model, geometry)
    x, y = xte[todo], yte[todo]
    t0 = time.time()
    enn = EncryptedResNet(net, params, method=method, degree=degree, calibration=xtr[:256])
    compile_s = time.time() - t0
    plain_poly, plain_exact, bound_warnings = _plain_check(enn, net, x, log)
    t0 = time.time()
    sess = enn.session(bootstrap=bootstrap, seed=seed, progress=progress, sparse_bootstrap=sparse_bootstrap,
                       giant_steps=giant_steps, hoisting=hoisting, baby_steps=baby_steps)
    keygen_s = time.time() - t0
    warmup_s = sess.warm_up() if warm_up else 0.0
    fresh = sess.boot_level if sess.boot_level is not None else params.max_level
    plan = enn.plan(fresh, sess.boot_level)
    rows, jit_first_s = [], None
    for i, index in enumerate(todo):
        desc = f"image {i + 1}/{len(todo)}"
        lg, st, jit_s = _run_image(enn, sess, x[i], fresh, plan, progress, desc)
        if jit_s > JIT_RERUN_SHARE * st.seconds and i == 0 and rerun_if_compiled:
            jit_first_s = round(st.seconds, 2)
            log(f"image 1 compiled numba kernels for {jit_s:.1f} s ({jit_first_s} s with them, first "
                "run after an install); running it again for the steady-state time")
            lg, st, jit_s = _run_image(enn, sess, x[i], fresh, plan, progress, desc + " (again)")
        rows.append(_image_row(index, y[i], lg, plain_exact[i], plain_poly[i], st, layer_times))
        rows[-1]["jit_compiled"] = bool(jit_s)
        rows[-1]["jit_seconds"] = round(float(jit_s), 2)
        if on_image is not None:
            on_image(rows[-1])
    return dict(model=model, geometry=geometry, params=params_name, insecure=not params.is_secure,
                method=method, sparse_bootstrap=bool(sparse_bootstrap and bootstrap), giant_steps=giant_steps,
                hoisting=hoisting, baby_steps=baby_steps, boot_slots=sorted(sess.bootstrappers, reverse=True), degrees=list(next(iter(enn.acts.values())).degrees),
                levels_per_activation=next(iter(enn.acts.values())).depth, slots=enn.slots,
                bootstraps_planned=plan.n_bootstraps, compile_seconds=round(compile_s, 1),
                keygen_seconds=round(keygen_s, 1), warmup_seconds=round(warmup_s, 1),
                rotation_keys=len(enn.rotation_steps()),
                key_gib=round(sess.key_bytes / 2 ** 30, 2), key_level=sess.key_level,
                network_key_levels={str(k): v for k, v in sorted(sess.network_key_levels.items())},
                network_key_special={str(k): v for k, v in sorted(sess.network_key_special.items())},
                jit_first_seconds=jit_first_s, images=rows, **summarize(rows), bound_warnings=bound_warnings)


def _run_image(enn, sess, x, fresh, plan, progress: bool, desc: str):
    """Encrypt ``x``, run the network, decrypt: ``(logits, stats, jit_seconds)``, where
    ``jit_seconds`` is the time numba spent compiling meanwhile (0.0 if nothing compiled;
    that time is in ``stats``)."""
    from numba.core import event

    ct = enn.encrypt(sess, x, fresh)
    with event.install_recorder("numba:compile") as rec:
        out, st = enn.run(sess, ct, plan=plan, progress=progress, desc=desc)
    return enn.decrypt_logits(sess, out), st, _compile_seconds(rec.buffer)


def _compile_seconds(buffer) -> float:
    """Seconds inside outermost ``numba:compile`` events of a recorder's ``(time, event)``
    buffer (nested compiles are inside their caller's)."""
    total, depth, t0 = 0.0, 0, 0.0
    for t, ev in buffer:
        if ev.is_start:
            if depth == 0:
                t0 = t
            depth += 1
        elif depth:
            depth -= 1
            if depth == 0:
                total += t - t0
    return total
