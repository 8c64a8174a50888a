"""The encrypted ResNet: compile a model for a CKKS parameter set, then run it.

Pipeline (:class:`EncryptedResNet`)
-----------------------------------
1. **Calibrate** (plaintext): each ReLU's bound ``B_l = margin * max |x|`` over
   calibration images (training data).
2. **Units.** Every tensor ``X`` is encrypted as ``X / u_X``. Each ReLU input has unit
   ``B_l`` (so the polynomial sees ``t in [-1, 1]``); additions force equal units on both
   operands (an identity shortcut carries the previous ReLU's output in the unit of the next
   block's sum); the units are folded into the linear layers' weights and the activation
   polynomials' output constants: no level is spent on scaling.
3. **Linear layers** (:mod:`sw.nn.packing`): multiplexed parallel convolutions (stride 1
   and 2), the option-A shortcut, the FC layer: one level each; global average pooling
   before it is rotate-and-sum (no level).
4. **Activations** (:mod:`sw.nn.activations`): composite minimax or data-guided polynomials,
   evaluated by :class:`sw.circuits.PolynomialEvaluator`.
5. **Level plan** (:mod:`sw.nn.planner`): bootstraps (imaginary-removing, real messages,
   :mod:`sw.bootstrap`) where levels run out.

Every ciphertext between layers carries the scale ``Delta = params.default_scale`` exactly
(each layer lands on it), so additions never need a scale fix.

The same code runs shape-only inside ``sw.trace.recording(dry_run=True)`` (no weights are
encoded, keys and ciphertexts are placeholders), which is how ``fhesim trace`` produces the
op trace of ResNet-110 at ``N = 2^16`` in seconds.
"""
from __future__ import annotations

import math
import time
import warnings
from dataclasses import dataclass, field
from functools import partial
from typing import Any

import numpy as np

from sw import trace
from sw.ckks import Ciphertext
from sw.ckks.raised import RaisedGiants
from sw.circuits import Polynomial, PolynomialEvaluator

from .activations import (COMPOSITE_DEGREES, CompositeSign, ReluApprox, calibrate_bounds, composite_relu,
                          data_guided_relu)
from .data import check_images, load_digits_split
from .models import Op, ResNet
from .packing import (LinearMap, MPLayout, conv_map, fc_map, pack, pool_steps, required_slots,
                      shortcut_a_map, stage_layouts)
from .planner import LevelPlan, plan_levels
from .plain import BoundWarning, collect_preactivations, forward

__all__ = ["EncryptedResNet", "SlotCapacityError", "HeSession", "RunStats"]


def _placeholder_act(method: str, degree: int, degrees, name: str) -> ReluApprox:
    if method == "composite":
        polys = [Polynomial(np.ones(d + 1), "chebyshev", (-1.0, 1.0), "odd") for d in degrees]
        return ReluApprox("composite", 1.0, sign=CompositeSign(tuple(degrees), float("nan"), polys,
                                                               [], float("nan")), name=name)
    return ReluApprox("data-guided", 1.0, poly=Polynomial(np.ones(degree + 1), "chebyshev", (-1.0, 1.0)),
                      name=name)


class SlotCapacityError(ValueError):
    """The model's multiplexed tensors need more slots than the parameters have."""


@dataclass
class RunStats:
    bootstraps: int = 0
    levels_consumed: int = 0
    min_level: int = 10 ** 9
    seconds: float = 0.0
    op_seconds: dict = field(default_factory=dict)      # layer -> s, bootstraps excluded
    kind_seconds: dict = field(default_factory=dict)    # conv/shortcut_a/relu/add/fc/bootstrap -> s
    boot_seconds: dict = field(default_factory=dict)    # slot period of the tensor -> [s per bootstrap]


def _capped_levels(levels, top: int) -> tuple[int, ...]:
    """The levels of a ``rotation_levels`` value (an int or several), none above ``top``."""
    lv = [levels] if isinstance(levels, (int, np.integer)) else list(levels)
    if not lv:
        raise ValueError("HeSession: rotation_levels gives a step no level")
    return tuple(sorted({min(top, int(v)) for v in lv}))


class HeSession:
    """Keys and evaluator objects for one parameter set (key generation happens here).

    bootstrap: build a :class:`sw.bootstrap.Bootstrapper` for ``slots`` (real messages,
    imaginary-removing) and put its keys in the same key set.
    boot_slots: further (smaller) slot counts to bootstrap at (sparse-slot bootstrapping of
    tensors whose slot vector repeats with that period; see :meth:`bootstrap`). Their keys
    join the same key set (rotation steps they share are generated once).

    Key memory: the network's rotation keys serve ciphertexts at or below the level the
    network starts at (the bootstrap output level, else the top level), so they are
    truncated to that level; for wide parameter sets (``N >= 2^15``) they and the
    bootstrapping keys are stored as uint32 words. At ``n16-128`` with ResNet-20/cifar32
    that is ~30 MiB per network key instead of 230 MiB (see docs/resnet.md). Galois
    elements that bootstrapping already has a full-height key for are not generated twice.
    rotation_levels: optional ``{step: level}`` or ``{step: levels}`` (or a function of the
    network's start level returning it), the highest level or all the levels each network
    rotation runs at (from the level plan, :meth:`EncryptedResNet.rotation_level_sets`); its key is
    truncated to that level (at most the network's start level). ResNet-20/cifar32 at
    n16-128 rotates 134 of its 145 steps only at level 2: 1 digit of 15 rows instead of 2 of
    29, so those keys are 3.9 times smaller. A rotation above its key's level raises
    :class:`sw.ckks.errors.LevelError`.
    fit_special: a network key truncated to a level whose key-switching digit is shorter
    than ``alpha`` is made over only the special primes that digit needs
    (:meth:`sw.ckks.CkksParams.special_for`: the worst-case ``d e / P'`` below one unit, so
    the switch errs by its rounding alone, as with all of them): at n16-128 level 2, 5 of
    the 11, so each rotation there raises to 9 primes instead of 15 and its key is 1.7
    times smaller. Such keys go to ``keys.low_rotation``, also for Galois elements that
    bootstrapping has a full key for, so that every rotation of a hoisted group or of a
    raised sum uses the same special primes. ``False`` keeps all special primes.
    key_switching: ``"hybrid"`` (default) or ``"klss"``, how the session's key switches form
    their inner products, with ``klss_group`` primes per group (:class:`sw.ckks.CkksContext`;
    the same integers either way).
    """

    def __init__(self, params, slots: int, rotations, *, bootstrap: bool = False, seed: int = 1,
                 boot_config: Any = None, compact: bool | None = None, progress: bool = False,
                 boot_slots=(), rotation_levels: dict | None = None, fit_special: bool = True,
                 key_switching: str = "hybrid", klss_group: int | None = None):
        from sw.ckks import (CkksContext, Decryptor, Encoder, Encryptor, Evaluator, KeyGenerator)
        self.params = params
        self.slots = slots
        compact = params.log_n >= 15 if compact is None else compact
        t0 = time.time()
        self.ctx = CkksContext(params, key_switching=key_switching, klss_group=klss_group)
        kg = KeyGenerator(self.ctx, seed=seed)
        sk = kg.gen_secret_key()
        self.keys = kg.gen_keyset(conjugation=False, sk=sk, relin=not compact)
        self.bootstrapper = None
        self.bootstrappers: dict = {}
        top = params.max_level
        if bootstrap:
            from dataclasses import replace
            from sw.bootstrap import BootstrapConfig, Bootstrapper, gen_bootstrap_keys
            cfg = boot_config or BootstrapConfig(slots=slots, real=True)
            if compact and not cfg.compact_keys:
                cfg = replace(cfg, compact_keys=True)
            bk = gen_bootstrap_keys(kg, sk, cfg, keyset=self.keys)
            self.bootstrapper = Bootstrapper(self.ctx, bk)
            top = int(self.bootstrapper.output_level)
            self.bootstrappers[cfg.slots] = self.bootstrapper
            for n in sorted({int(v) for v in boot_slots} - {cfg.slots}, reverse=True):
                if n > cfg.slots or cfg.slots % n:
                    raise ValueError(f"HeSession: boot_slots {n} must divide the slot count {cfg.slots}")
                b = Bootstrapper(self.ctx, gen_bootstrap_keys(kg, sk, replace(cfg, slots=n),
                                                              keyset=self.keys, share=bk))
                if int(b.output_level) != top:
                    raise ValueError(f"HeSession: bootstrapping {n} slots ends at level "
                                     f"{b.output_level}, {cfg.slots} slots at {top}")
                self.bootstrappers[n] = b
        elif compact:
            self.keys.relin = kg.gen_relin_key(sk).compact()
        steps = sorted(set(int(r) for r in rotations))
        if callable(rotation_levels):       # from the network's start level, known only now
            rotation_levels = rotation_levels(top)
        # the levels each step rotates at (an int: its highest), capped at the start level
        levels = {s: _capped_levels(top if rotation_levels is None else rotation_levels.get(s, top), top)
                  for s in steps}
        it = steps
        if progress and not trace.is_dry_run():
            from tqdm import tqdm
            it = tqdm(steps, desc="rotation keys", unit="key", leave=False)
        #: level -> number of network rotation keys made for it (not bootstrapping's)
        self.network_key_levels: dict[int, int] = {}
        #: level -> special primes of the network keys truncated to it
        self.network_key_special: dict[int, int] = {}
        n_special = len(params.p_primes)
        for s in it:   # one key at a time, each truncated to the highest level it serves
            lv = levels[s]
            low = [l for l in lv if fit_special and params.special_for(l) < n_special]
            if lv[-1] not in low:    # a key for the highest level, over all special primes
                new = kg.gen_rotation_keys(sk, [s], level=None if lv[-1] == params.max_level else lv[-1],
                                           compact=compact, skip=self.keys.rotation)
                self.keys.rotation.update(new)
                self._count_network_key(new, lv[-1], n_special)
            if low:   # and one over fewer special primes for the highest level that needs fewer
                k = params.special_for(low[-1])
                new = kg.gen_rotation_keys(sk, [s], level=low[-1], compact=compact, special=k,
                                           skip=self.keys.low_rotation)
                self.keys.low_rotation.update(new)
                self._count_network_key(new, low[-1], k)
        self.key_level = top
        self.encoder = Encoder(self.ctx)
        self.encryptor = Encryptor(self.ctx, self.keys.public if self.keys.public is not None else sk,
                                   seed=seed + 1)
        self.decryptor = None if trace.is_dry_run() else Decryptor(self.ctx, sk)
        self.ev = Evaluator(self.ctx, self.keys)
        self.keygen_seconds = time.time() - t0

    def _count_network_key(self, new: dict, level: int, special: int) -> None:
        if new:
            self.network_key_levels[level] = self.network_key_levels.get(level, 0) + 1
            self.network_key_special[level] = special

    @classmethod
    def from_eval_keys(cls, ctx, slots: int, keys, bootstrappers: dict, key_level: int) -> "HeSession":
        """A session that evaluates only: evaluation keys (no secret, no public key), the
        bootstrappers built on them (slot count -> :class:`sw.bootstrap.Bootstrapper`, the
        largest first) and the level the network keys were truncated to. It encrypts
        and decrypts nothing (``encryptor`` and ``decryptor`` are ``None``); the
        evaluation key loader of a cluster worker builds it (:mod:`sw.nn.evalkeys`)."""
        from sw.ckks import Encoder, Evaluator
        self = cls.__new__(cls)
        self.params, self.slots, self.ctx, self.keys = ctx.params, slots, ctx, keys
        self.bootstrappers = dict(bootstrappers)
        self.bootstrapper = self.bootstrappers[max(self.bootstrappers)] if self.bootstrappers else None
        self.key_level = key_level
        self.network_key_levels = {}      # not recorded in a key file
        self.network_key_special = {}
        self.encoder, self.encryptor, self.decryptor = Encoder(ctx), None, None
        self.ev = Evaluator(ctx, keys)
        self.keygen_seconds = 0.0
        return self

    @property
    def key_bytes(self) -> int:
        """Bytes of evaluation-key material held (relin, conjugation, rotation)."""
        ks = [self.keys.relin, self.keys.conjugation, *self.keys.rotation.values(),
              *self.keys.low_rotation.values()]
        return int(sum(k.nbytes for k in ks if k is not None))

    def bootstrap(self, ct, period: int | None = None):
        """Bootstrap ``ct``; ``period``: the period its slot vector repeats with (a
        multiplexed layout's ``T'``). With a bootstrapper for that many slots (``boot_slots``)
        the ciphertext is bootstrapped as a ``period``-slot one, which is cheaper (fewer
        homomorphic DFT stages; the sub-ring trace averages the copies), and the result is
        read back with ``ct.slots`` slots: the same ``period``-periodic vector."""
        b = self.bootstrappers.get(period) if period is not None else None
        if b is None:
            b = self.bootstrapper
        if b is None:
            raise RuntimeError("HeSession.bootstrap: the session was built without bootstrapping")
        n = b.cfg.slots
        if n == ct.slots:
            return b.bootstrap(ct)
        out = b.bootstrap(Ciphertext(ct.polys, ct.level, ct.scale, n, ct.params, ct.key_id))
        return Ciphertext(out.polys, out.level, out.scale, ct.slots, out.params, out.key_id)

    def warm_up(self) -> float:
        """Bootstrap an encryption of zeros once with each bootstrapper, before any image:
        each fills its cache of encoded DFT diagonals (``cache_plaintexts``; the same
        plaintexts serve every later bootstrap, at any input scale) and the heap grows to its
        working size, so the first image is timed like the ones after it. Returns the
        seconds (0.0 without bootstrapping or in a dry run)."""
        if self.bootstrapper is None or trace.is_dry_run():
            return 0.0
        from sw.ckks import Encryptor
        t0 = time.perf_counter()
        delta = self.params.default_scale
        # its own randomness: the images' encryptions stay those of a session without it
        enc = Encryptor(self.ctx, self.encryptor.key, seed=b"warm-up")
        for n, b in self.bootstrappers.items():
            zero = self.encoder.encode(np.zeros(n), level=0, scale=delta, slots=n)
            b.bootstrap(enc.encrypt(zero))
        return time.perf_counter() - t0

    @property
    def boot_level(self) -> int | None:
        return None if self.bootstrapper is None else int(self.bootstrapper.output_level)


class EncryptedResNet:
    """A ResNet compiled for encrypted inference.

    Parameters
    ----------
    model : ResNet
    params : CkksParams
    method : ``"composite"`` (minimax 15/15/27) or ``"data-guided"`` (one polynomial per layer)
    degree : degree of the data-guided polynomials
    slots : slot count (default: what the multiplexed layouts need; must be <= N/2)
    calibration : images for the bounds and the data-guided fits (default: 256 training images)
    margin : ``B_l = margin * max |x|``
    fresh_level : level of the encrypted input (default: the bootstrap output level when
        bootstrapping, else ``params.max_level``)
    dry_run : build shape-only linear maps (no weights; for traces)
    lazy_maps : keep only the shape of each convolution's map and build its weighted
        diagonals when the layer runs, dropping them after (default: for ``N >= 2^15``;
        ResNet-20/cifar32 at n16-128 holds 1.1 GB of float64 diagonals otherwise). The
        diagonals are the same numbers either way; a run then builds each map once per image.
    """

    def __init__(self, model: ResNet, params, *, method: str = "composite", degree: int = 15,
                 slots: int | None = None, calibration: np.ndarray | None = None, margin: float = 1.25,
                 dry_run: bool = False, composite_degrees=None, composite_eps_log2=None,
                 lazy_maps: bool | None = None):
        self.model = model
        self.lazy_maps = (params.log_n >= 15 if lazy_maps is None else bool(lazy_maps)) and not dry_run
        self._map_builders: dict = {}
        self.params = params
        self.method = method
        self.degree = degree
        self.dry_run = dry_run
        g = model.geometry
        self.layouts = stage_layouts(g.channels, g.size)
        need = required_slots(g.channels, g.size)
        self.slots = int(slots or need)
        if self.slots < need or self.slots & (self.slots - 1):
            raise SlotCapacityError(f"{model.name}/{g.name}: slots={self.slots} must be a power of two >= {need}")
        if self.slots > params.n // 2:
            raise SlotCapacityError(
                f"{model.name}/{g.name}: the multiplexed tensors need {need} slots (input "
                f"{self.layouts['input']}, stage 1 {self.layouts['stage1']}) but {params.name} has only "
                f"N/2 = {params.n // 2}")
        self.graph = model.graph()
        relus = [op.name for op in self.graph if op.kind == "relu"]
        kw = {}
        if composite_degrees is not None:
            kw["degrees"] = tuple(composite_degrees)
        if composite_eps_log2 is not None:
            kw["eps_log2"] = composite_eps_log2
        if method not in ("composite", "data-guided"):
            raise ValueError(f"unknown activation method {method!r} (composite, data-guided)")
        self.acts: dict[str, ReluApprox] = {}
        if dry_run:
            # shape only: unit bounds, polynomials with the same degrees and parity (the op
            # sequence depends only on which coefficients are nonzero), no calibration
            self.bounds = {r: 1.0 for r in relus}
            for r in relus:
                self.acts[r] = _placeholder_act(method, degree, kw.get("degrees", COMPOSITE_DEGREES), r)
        else:
            if calibration is None:
                xtr, _, _, _ = load_digits_split(g.name)
                calibration = xtr[:256]
            # the calibration activations are not kept (ResNet-110/cifar32: ~2 GB)
            pre = collect_preactivations(model, calibration)
            self.bounds = calibrate_bounds(pre, margin)
            for r in relus:
                B = self.bounds[r]
                if method == "composite":
                    self.acts[r] = composite_relu(B, name=r, **kw)
                else:
                    self.acts[r] = data_guided_relu(pre[r], B, degree, name=r)
        self._units()
        self._layout_of()
        self._build_maps()

    # -- compilation ----------------------------------------------------------------------
    def _units(self) -> None:
        u: dict[str, float] = {"input": 1.0}
        for op in self.graph:
            if op.kind == "relu":
                u[op.src] = self.bounds[op.name]
        for op in self.graph:
            if op.kind == "add":
                u[op.src2] = u[op.src] = u[op.dst]
        for op in self.graph:
            if op.kind == "relu" and op.dst not in u:
                u[op.dst] = self.bounds[op.name]
        u["pooled"] = u[[o for o in self.graph if o.kind == "avgpool"][0].src]
        u["logits"] = 1.0
        self.units = u

    def _layout_of(self) -> None:
        lay = {"input": self.layouts["input"]}
        for op in self.graph:
            if op.kind in ("conv", "shortcut_a", "relu", "add"):
                if len(op.shape) == 3:
                    c, h, _ = op.shape
                    st = {16: "stage1", 32: "stage2", 64: "stage3"}[c]
                    lay[op.dst] = self.layouts[st]
        self.tensor_layout = lay

    def _build_maps(self) -> None:
        self.maps: dict[str, LinearMap] = {}
        self.pool_steps: list[int] = []
        cache: dict = {}
        u, S = self.units, self.slots
        for op in self.graph:
            lin = self.tensor_layout.get(op.src)
            if op.kind == "conv":
                lout = self.tensor_layout[op.dst]
                if self.dry_run:
                    key = ("conv", lin, lout, op.stride, op.weight.shape[-1], op.pad)
                    if key not in cache:
                        cache[key] = conv_map(op.name, None, None, op.stride, op.pad, lin, lout, S,
                                              ksize=op.weight.shape[-1])
                    m = cache[key]
                else:
                    w = op.weight * (u[op.src] / u[op.dst])
                    b = op.bias / u[op.dst]
                    build = partial(conv_map, op.name, w, b, op.stride, op.pad, lin, lout, S)
                    if self.lazy_maps:
                        self._map_builders[op.name] = build
                        m = conv_map(op.name, None, None, op.stride, op.pad, lin, lout, S,
                                     ksize=op.weight.shape[-1])
                    else:
                        m = build()
            elif op.kind == "shortcut_a":
                lout = self.tensor_layout[op.dst]
                m = shortcut_a_map(op.name, op.stride, op.pad, lin, lout, S, u[op.src] / u[op.dst],
                                   with_values=not self.dry_run)
            elif op.kind == "fc":
                # average pooling is rotate-and-sum (op "avgpool", no level); the FC layer
                # reads each channel's sum and divides by h * w
                pool_src = [o for o in self.graph if o.kind == "avgpool"][0].src
                lin = self.tensor_layout[pool_src]
                self.pool_steps = pool_steps(lin)
                w = None if self.dry_run else op.weight * u[pool_src]
                m = fc_map(op.name, w, None if self.dry_run else op.bias, lin, S, op.shape[0])
                if self.dry_run:
                    m.bias = None
            else:
                continue
            self.maps[op.name] = m

    def cost(self) -> dict[str, int]:
        c = {}
        for op in self.graph:
            if op.kind in ("conv", "shortcut_a", "fc"):
                c[op.name] = 1
            elif op.kind == "relu":
                c[op.name] = self.acts[op.name].depth
        return c

    def plan(self, fresh_level: int, boot_level: int | None) -> LevelPlan:
        return plan_levels(self.graph, self.cost(), fresh_level, boot_level)

    def valued_map(self, name: str) -> LinearMap:
        """The map of layer ``name`` with its weighted diagonals: the kept one, or (with
        ``lazy_maps``) one built now, whose rotation pairs must equal the kept shape's."""
        build = self._map_builders.get(name)
        if build is None:
            return self.maps[name]
        m, shape = build(), self.maps[name]
        if not (np.array_equal(m.g, shape.g) and np.array_equal(m.b, shape.b)):
            raise AssertionError(f"{name}: the weighted map's rotations differ from its shape's")
        return m

    def rotation_levels(self, fresh_level: int, boot_level: int | None) -> dict[int, int]:
        """``{step: highest level}`` at which the network rotates by ``step`` under the level
        plan from ``fresh_level`` (convolutions, shortcuts and the FC layer rotate at their
        input level, as does the pooling's rotate-and-sum)."""
        return {s: max(lv) for s, lv in self.rotation_level_sets(fresh_level, boot_level).items()}

    def rotation_level_sets(self, fresh_level: int, boot_level: int | None) -> dict[int, tuple[int, ...]]:
        """``{step: levels}``: every level at which the network rotates by ``step`` (sorted),
        under the same plan as :meth:`rotation_levels`."""
        plan = self.plan(fresh_level, boot_level)
        out: dict[int, set] = {}
        for op in self.graph:
            if op.name in self.maps:
                steps = self.maps[op.name].rotation_steps
            elif op.kind == "avgpool":
                steps = self.pool_steps
            else:
                continue
            lvl = int(plan.op_levels[op.name][0])
            for s in steps:
                out.setdefault(int(s), set()).add(lvl)
        return {s: tuple(sorted(lv)) for s, lv in out.items()}

    def rotation_steps(self) -> list[int]:
        steps = set(self.pool_steps)
        for m in self.maps.values():
            steps.update(m.rotation_steps)
        return sorted(steps)

    def summary(self) -> dict:
        ops = [m for m in self.maps.values()]
        return {"model": self.model.name, "geometry": self.model.geometry.name, "slots": self.slots,
                "method": self.method, "degrees": list(next(iter(self.acts.values())).degrees),
                "levels_per_activation": next(iter(self.acts.values())).depth,
                "relus": len(self.acts), "linear_layers": len(ops),
                "rotations": sum(len(m.babies) + len(m.giants) for m in ops),
                "pmults": sum(m.n_pmults for m in ops), "rotation_keys": len(self.rotation_steps())}

    # -- plaintext references -------------------------------------------------------------
    def plain_logits(self, x, *, poly: bool = True) -> np.ndarray:
        """Plaintext logits, exact (``poly=False``) or with the polynomial activations;
        warns (:class:`BoundWarning`, naming the layer) when a ReLU input exceeds its bound."""
        return forward(self.model, x, self.acts if poly else None, bounds=self.bounds, graph=self.graph)

    def bound_violations(self, x) -> list[tuple[str, float, float]]:
        """``(layer, max |x|, B)`` for every ReLU whose input exceeds its bound on ``x``."""
        rec: dict = {}
        forward(self.model, x, self.acts, record=rec, graph=self.graph)
        out = []
        for k, v in rec.items():
            m = float(max(np.max(np.abs(a)) for a in v))
            if m > self.bounds[k]:
                out.append((k, m, self.bounds[k]))
        return out

    # -- encrypted ------------------------------------------------------------------------
    def boot_periods(self) -> list[int]:
        """Slot periods of the stage layouts (largest first): with ``sparse_bootstrap`` each
        stage is bootstrapped at its own period (cifar32: 16384, 8192, 4096; Lee et al.)."""
        return sorted({self.layouts[s].period for s in ("stage1", "stage2", "stage3")
                       if self.slots % self.layouts[s].period == 0}, reverse=True)

    def session(self, *, bootstrap: bool, seed: int = 1, boot_config=None, compact: bool | None = None,
                progress: bool = False, sparse_bootstrap: bool = False,
                giant_steps: str = "keys", hoisting: str = "single", baby_steps: str = "hoisted",
                fit_special: bool = True, key_switching: str = "hybrid",
                klss_group: int | None = None) -> HeSession:
        """Keys for this network (:class:`HeSession`; ``fit_special`` and ``key_switching``
        as there). ``sparse_bootstrap``: one bootstrapper
        per stage period (:meth:`boot_periods`) instead of every bootstrap at ``slots``;
        cheaper (n16-128: 84 and 77 instead of 91 key switches per bootstrap in stages 2 and
        3; measured 2% and 12% faster on a CPU) for ~0.43 GiB more keys and 0.57 GiB of DFT
        plaintexts (docs/resnet.md). ``giant_steps``: the bootstrapping DFTs' giant steps
        (:attr:`sw.bootstrap.BootstrapConfig.giant_steps`; ``"min"`` stores fewer keys);
        ``hoisting``: their rotations' hoisting (:attr:`sw.bootstrap.BootstrapConfig.hoisting`;
        ``"double"``: faster, with the DFT diagonals cached over ``Q_l + P``); ``baby_steps``:
        their baby rotations (:attr:`sw.bootstrap.BootstrapConfig.baby_steps`; ``"chain"``:
        fewer keys, no hoisting)."""
        if bootstrap and boot_config is None:
            from sw.bootstrap import BootstrapConfig
            boot_config = BootstrapConfig(slots=self.slots, real=True, giant_steps=giant_steps,
                                          hoisting=hoisting, baby_steps=baby_steps)
        # the plan from the network's start level (the bootstrap output level, else the top;
        # the session knows it once its bootstrapper exists) says where each rotation runs
        def levels(start: int) -> dict[int, int]:
            return self.rotation_level_sets(start, start if bootstrap else None)
        return HeSession(self.params, self.slots, self.rotation_steps(), bootstrap=bootstrap, seed=seed,
                         boot_config=boot_config, compact=compact, progress=progress,
                         boot_slots=self.boot_periods() if sparse_bootstrap else (),
                         rotation_levels=levels, fit_special=fit_special,
                         key_switching=key_switching, klss_group=klss_group)

    def encrypt(self, sess: HeSession, image, level: int):
        x = check_images(image, self.model.geometry.name)
        if len(x) != 1:
            raise ValueError(f"encrypt: one image at a time (got a batch of {len(x)})")
        v = np.zeros(1) if trace.is_dry_run() else pack(x[0], self.layouts["input"], self.slots)
        pt = sess.encoder.encode(v, level=level, scale=self.params.default_scale, slots=self.slots)
        return sess.encryptor.encrypt(pt)

    def decrypt_logits(self, sess: HeSession, ct) -> np.ndarray:
        v = sess.encoder.decode(sess.decryptor.decrypt(ct))
        return np.real(v[: self.model.num_classes]) * self.units["logits"]

    def linear(self, sess: HeSession, ct, name: str):
        """The linear layer ``name`` of the graph (a multiplexed convolution, shortcut or
        the FC layer) alone on ``ct``: one level, as :meth:`run` evaluates it."""
        if name not in self.maps:
            raise ValueError(f"linear: no linear layer {name!r} (choose from {', '.join(self.maps)})")
        return self._linear(sess, ct, self.maps[name])

    def _linear(self, sess: HeSession, ct, m: LinearMap):
        ev, enc, p = sess.ev, sess.encoder, self.params
        delta = p.default_scale
        lvl = int(ct.level)
        pt_scale = delta * float(p.level_scale(lvl)) / float(ct.scale)
        babies = m.babies
        rots = {0: ct}
        if babies:
            rots.update(ev.rotate_hoisted(ct, babies))
        acc = None
        dry = m.diag is None
        # the giant rotations stay raised over Q_l + P and are summed there: one ModDown of
        # the sum, with the rescale fused into it (sw.ckks.raised.RaisedGiants)
        gev = RaisedGiants(ev)
        for gv in np.unique(m.g):
            terms = np.flatnonzero(m.g == gv)
            pts = [enc.encode(np.zeros(1) if dry else m.diag[j], level=lvl, scale=pt_scale,
                              slots=self.slots) for j in terms]
            # one fused pass over the inner sum (the trace records its products one by one)
            inner = ev.dot_plain([rots[int(m.b[j])] for j in terms], pts)
            if gv:
                inner = gev.rotate(inner, int(gv))
            acc = inner if acc is None else gev.add(acc, inner)
        out = gev.finish(acc)
        if m.bias is not None or (dry and m.meta.get("kind") in ("conv", "fc")):
            vec = np.zeros(1) if dry else m.bias
            out = ev.add_plain(out, enc.encode(vec, level=int(out.level), scale=float(out.scale),
                                               slots=self.slots))
        return out

    def _relu(self, sess: HeSession, ct, act: ReluApprox, out_unit: float):
        ev, p = sess.ev, self.params
        delta = p.default_scale
        c = act.bound / out_unit
        pe = PolynomialEvaluator(ev)
        if act.sign is None:
            poly = Polynomial(np.asarray(act.poly.coeffs) * c, "chebyshev", (-1.0, 1.0))
            return pe.evaluate(ct, poly, target_scale=delta)
        s = ct
        for poly in act.sign.polys:
            s = pe.evaluate(s, poly, target_scale=delta)
        s1 = ev.add_const(s, 1.0)
        lvl = int(s1.level)
        # t * c/2 landing on the scale that makes (t c/2) * s1 rescale onto Delta
        want = delta * float(p.level_scale(lvl)) / float(s1.scale)
        L = int(ct.level)
        sigma = want * float(p.level_scale(L)) / float(ct.scale)
        tt = ev.rescale(ev.mul_const(ct, 0.5 * c, scale=sigma))
        tt = ev.drop_to_level(tt, lvl)
        return ev.mul(tt, s1, rescale=True)

    def _add(self, sess: HeSession, a, b):
        ev = sess.ev
        lvl = min(int(a.level), int(b.level))
        return ev.add(ev.drop_to_level(a, lvl), ev.drop_to_level(b, lvl))

    def run(self, sess: HeSession, ct, *, plan: LevelPlan | None = None, progress: bool = False,
            desc: str = "layers") -> tuple[Any, RunStats]:
        """Evaluate the network on the encrypted input ``ct``; returns ``(logits ct, stats)``."""
        plan = plan or self.plan(int(ct.level), sess.boot_level)
        env = {"input": ct}
        # a tensor is dropped after its last reader (ResNet-110 at N = 2^16 would otherwise
        # hold ~276 ciphertexts of ~19 MB each)
        last_use = {}
        for i, o in enumerate(self.graph):
            for src in (o.src, getattr(o, "src2", None)):
                if src is not None:
                    last_use[src] = i
        st = RunStats()
        t0 = time.time()
        it = self.graph
        bar = None
        if progress:
            from tqdm import tqdm
            bar = tqdm(total=len(self.graph), desc=desc, unit="layer", leave=False)
        for idx, op in enumerate(it):
            if bar is not None:
                bar.set_postfix_str(op.name)
            for tname in plan.boots_before(op.name):
                tb = time.time()
                with trace.stage(f"{op.name}/bootstrap"):
                    if sess.bootstrapper is None:
                        raise RuntimeError(f"{op.name}: the plan bootstraps {tname} but the session has "
                                           "no bootstrapper")
                    lay = self.tensor_layout.get(tname)
                    period = self.slots if lay is None else lay.period
                    env[tname] = sess.bootstrap(env[tname], period)
                st.bootstraps += 1
                dt = time.time() - tb
                st.kind_seconds["bootstrap"] = st.kind_seconds.get("bootstrap", 0.0) + dt
                st.boot_seconds.setdefault(period, []).append(dt)
            t1 = time.time()
            with trace.stage(op.name):
                if op.kind in ("conv", "shortcut_a"):
                    y = self._linear(sess, env[op.src], self.valued_map(op.name))
                elif op.kind == "relu":
                    y = self._relu(sess, env[op.src], self.acts[op.name], self.units[op.dst])
                elif op.kind == "add":
                    y = self._add(sess, env[op.src], env[op.src2])
                elif op.kind == "avgpool":
                    y = env[op.src]
                    for step in self.pool_steps:
                        y = sess.ev.add(y, sess.ev.rotate(y, step))
                elif op.kind == "fc":
                    y = self._linear(sess, env[op.src], self.maps[op.name])
                else:
                    raise ValueError(op.kind)
            env[op.dst] = y
            for src in (op.src, getattr(op, "src2", None)):
                if src is not None and last_use.get(src) == idx and src != op.dst:
                    del env[src]
            exp = plan.op_levels[op.name][1]
            if int(y.level) != exp:
                raise AssertionError(f"{op.name}: output at level {y.level}, planned {exp}")
            st.min_level = min(st.min_level, int(y.level))
            dt = time.time() - t1
            st.op_seconds[op.name] = st.op_seconds.get(op.name, 0.0) + dt
            st.kind_seconds[op.kind] = st.kind_seconds.get(op.kind, 0.0) + dt
            if bar is not None:
                bar.update(1)
        if bar is not None:
            bar.close()
        st.levels_consumed = plan.levels_consumed
        st.seconds = time.time() - t0
        return env["logits"], st
