"""The programs ``fhesim capture`` runs: real encrypted computations whose kernels are kept.

Each program runs with real encryption at an insecure toy parameter set and returns the
recordings (:func:`sw.trace.recording` with the capture's :class:`sw.trace.Keep`) of its
slices, each with a label, plus a decryption check:

* ``mulrot`` (default ``toy-n10``, level 2): ``rotate(rescale(mul(a, b)), 1)`` -- a
  relinearised multiplication (tensor product, key switching: ModUp, NTTs, inner product,
  ModDown), a rescale and a rotation (automorphism + key switching). Checked against
  ``roll(z*w, -1)``.
* ``resnet-slice`` (``toy-boot-n11``, the smallest bootstrappable set the ResNet-20 digits8
  tensors fit: 1024 slots): on one digits8 test image, with the committed ResNet-20 weights,

  1. ``stem.conv`` -- the first multiplexed convolution layer (1 -> 16 channels, 3x3) at
     the bootstrap output level, as :meth:`sw.nn.encrypted.EncryptedResNet.run` evaluates
     it (hoisted baby-step rotations, plaintext diagonals, giant-step rotations, rescale);
  2. ``stem.relu/p1`` -- one step of the composite polynomial ReLU: its first component
     polynomial (the degree-15 minimax sign polynomial) on the convolution's output;
  3. ``bootstrap/cts0`` -- the first CoeffsToSlots level of a bootstrap (1024 slots, real
     variant) on a fresh top-level ciphertext (:meth:`sw.bootstrap.Bootstrapper.cts_level`).

  The polynomial step is checked against the plaintext polynomial of the decrypted input,
  the CoeffsToSlots level against :func:`sw.bootstrap.dft.apply` of its factor.

  Deterministic subset (so that the replay fits its time budget, docs/trace-format.md):
  every kernel call of the three slices is captured, but only its rows of two primes,
  :data:`RESNET_SLICE_PRIMES` -- the second prime of the ciphertext chain ``q_1`` and the
  first special (key-switching) prime ``p_0`` -- are kept; a basis conversion keeps all its
  source rows and the destination rows of those primes. Calls without such rows (e.g. a
  rescale's inverse NTT of the dropped top prime) are left out.
"""
from __future__ import annotations

import numpy as np

from sw import trace as swtrace

__all__ = ["PROGRAMS", "DEFAULT_PARAMS", "run_program", "RESNET_SLICE_PRIMES"]

PROGRAMS = ("mulrot", "resnet-slice")
DEFAULT_PARAMS = {"mulrot": "toy-n10", "resnet-slice": "toy-boot-n11"}
#: Which primes of ``resnet-slice`` are kept: (index into the top-level chain, index into
#: the special primes).
RESNET_SLICE_PRIMES = ("q[1]", "p[0]")


def run_program(program: str, p, level: int, seed: int, keep: "swtrace.Keep"):
    """Run ``program`` at parameters ``p``: returns ``(slices, check, extra, primes)`` with
    ``slices`` a list of ``(label or None, recorder)``, ``check`` the decryption check,
    ``extra`` further manifest fields and ``primes`` the kept primes (None: all)."""
    if program == "mulrot":
        rec, check = _mulrot(p, level, seed, keep)
        return [(None, rec)], check, {}, None
    if program == "resnet-slice":
        return _resnet_slice(p, seed, keep)
    raise ValueError(f"unknown program {program!r} (choose from {', '.join(PROGRAMS)})")


def _mulrot(p, level: int, seed: int, keep):
    from sw.ckks import CkksContext, Decryptor, Encoder, Encryptor, Evaluator, KeyGenerator

    if not 1 <= level <= p.max_level:
        raise ValueError(f"level={level} must lie in [1, {p.max_level}] for {p.name} "
                         "(mul + rescale needs a level to consume)")
    ctx = CkksContext(p)
    keys = KeyGenerator(ctx, seed=seed).gen_keyset(rotations=[1])
    enc, ev = Encoder(ctx), Evaluator(ctx, keys)
    E = Encryptor(ctx, keys.public, seed=seed + 1)
    rng = np.random.default_rng(seed)
    z = rng.uniform(-1, 1, p.slots) + 1j * rng.uniform(-1, 1, p.slots)
    w = rng.uniform(-1, 1, p.slots) + 1j * rng.uniform(-1, 1, p.slots)
    a = E.encrypt(enc.encode(z, level=level))
    b = E.encrypt(enc.encode(w, level=level))
    with swtrace.recording(keep=keep) as rec:
        c = ev.rotate(ev.rescale(ev.mul(a, b)), 1)
    err = float(np.max(np.abs(enc.decode(Decryptor(ctx, keys.secret).decrypt(c))
                              - np.roll(z * w, -1))))
    if not err < 2 ** -8:
        raise AssertionError(f"capture: program mulrot decrypted with error {err}")
    return rec, {"max_abs_error": err, "expected": "roll(z*w, -1)"}


def _resnet_slice(p, seed: int, keep):
    from sw.bootstrap import dft
    from sw.circuits import PolynomialEvaluator
    from sw.nn.data import load_digits_split
    from sw.nn.encrypted import EncryptedResNet
    from sw.nn.models import load_model

    model = load_model("resnet20", "digits8")
    xtr, _, xte, _ = load_digits_split("digits8")
    enn = EncryptedResNet(model, p, method="composite", calibration=xtr[:64])
    sess = enn.session(bootstrap=True, seed=seed)
    boot = sess.bootstrapper
    ev, enc, dec = sess.ev, sess.encoder, sess.decryptor
    ct = enn.encrypt(sess, xte[:1], level=sess.boot_level)
    slices = []
    with swtrace.recording(keep=keep) as rec:
        y = enn.linear(sess, ct, "stem.conv")
    slices.append(("stem.conv", rec))
    poly = enn.acts["stem.relu"].sign.polys[0]
    t = y        # the ReLU's input unit is folded into the convolution: t lies in [-1, 1]
    with swtrace.recording(keep=keep) as rec:
        s = PolynomialEvaluator(ev).evaluate(t, poly, target_scale=p.default_scale)
    slices.append(("stem.relu/p1", rec))
    rng = np.random.default_rng(seed)
    v = rng.uniform(-1, 1, enn.slots)
    x = sess.encryptor.encrypt(enc.encode(v, level=p.max_level, slots=enn.slots))
    with swtrace.recording(keep=keep) as rec:
        z = boot.cts_level(x, 0)
    slices.append(("bootstrap/cts0", rec))

    tin = np.real(enc.decode(dec.decrypt(t)))
    relu_err = float(np.max(np.abs(np.real(enc.decode(dec.decrypt(s))) - poly(tin))))
    want = dft.apply(boot.cts_factors(1)[0], v.astype(complex))
    cts_err = float(np.max(np.abs(enc.decode(dec.decrypt(z)) - want)))
    if not (relu_err < 2 ** -8 and cts_err < 2 ** -8):
        raise AssertionError(f"capture: resnet-slice decrypted with errors relu p1 {relu_err}, "
                             f"CtS level {cts_err}")
    primes = (p.primes_at(p.max_level)[1], sess.ctx.p_basis.primes[0])
    check = {"relu_p1_max_abs_error": relu_err, "cts0_max_abs_error": cts_err,
             "expected": "p1(decrypted input); dft.apply(CtS factor 0, v)"}
    extra = {"slices": [label for label, _ in slices], "model": "resnet20/digits8",
             "slots": enn.slots, "kept_primes": list(primes),
             "kept_primes_rule": "rows of q[1] (second prime of the chain) and p[0] (first special prime)"}
    return slices, check, extra, primes
