"""Fixtures shared by the test modules: insecure parameter sets, CKKS environments, one numba thread.

* ``insecure_params(name)`` -- a parameter set with the insecure-parameters warning silenced;
* ``ckks_setup(name, seed=..., **keyset)`` -- :class:`CkksSetup`: parameters, context, a
  seeded key generator, its key set and an encoder;
* ``ckks_env(name, rotations=...)`` -- :class:`CkksEnv`: a :class:`CkksSetup` with seeded
  encryptors, a decryptor, an evaluator and a seeded random generator for test vectors;
* ``one_numba_thread`` -- numba limited to one thread for a module (toy sizes: threads
  only add contention on a shared machine); request it with
  ``pytestmark = pytest.mark.usefixtures("one_numba_thread")``.

The factories build a fresh object on every call (encryptors and random generators are
stateful, so sharing one between modules would change the values a test sees); modules
cache what they build in their own module-scoped fixtures. All seeds are fixed.

``$FHESIM_SIMULATOR`` defaults to ``icarus`` for the whole suite (run it with
``FHESIM_SIMULATOR=verilator`` to put the RTL tests on Verilator).
"""
from __future__ import annotations

import os
import warnings

import numpy as np
import pytest

# the RTL tests simulate on Icarus unless FHESIM_SIMULATOR says otherwise (a venv where
# make sim installed Verilator would otherwise make it the default of the test suite)
os.environ.setdefault("FHESIM_SIMULATOR", "icarus")


def _insecure(name: str):
    from sw.ckks import get_params

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return get_params(name, allow_insecure=True)


class CkksSetup:
    """Parameters, context, a seeded key generator with its key set, and an encoder.

    Parameters
    ----------
    name : str
        Parameter set (an insecure toy set is accepted without a warning).
    seed : int
        Seed of the :class:`sw.ckks.KeyGenerator`.
    **keyset
        Passed to :meth:`KeyGenerator.gen_keyset` (``rotations``, ``conjugation``).
    """

    def __init__(self, name: str, *, seed: int, **keyset):
        from sw.ckks import CkksContext, Encoder, KeyGenerator

        self.params = _insecure(name)
        self.ctx = CkksContext(self.params)
        self.kg = KeyGenerator(self.ctx, seed=seed)
        self.keys = self.kg.gen_keyset(**keyset)
        self.enc = Encoder(self.ctx)

    @property
    def p(self):
        return self.params


class CkksEnv(CkksSetup):
    """A :class:`CkksSetup` (key seed 11, conjugation key) ready to encrypt, compute, decrypt.

    ``E`` encrypts under the public key (seed 12), ``Es`` under the secret key (seed 13),
    ``D`` decrypts, ``ev`` evaluates; ``rng`` (seed 5) draws test vectors (:meth:`vec`).
    """

    def __init__(self, name: str, rotations=(1, -1, 3, 5, 100)):
        from sw.ckks import Decryptor, Encryptor, Evaluator

        super().__init__(name, seed=11, rotations=rotations, conjugation=True)
        self.E = Encryptor(self.ctx, self.keys.public, seed=12)
        self.Es = Encryptor(self.ctx, self.keys.secret, seed=13)
        self.D = Decryptor(self.ctx, self.keys.secret)
        self.ev = Evaluator(self.ctx, self.keys)
        self.rng = np.random.default_rng(5)

    def vec(self, slots=None):
        s = slots or self.p.slots
        return self.rng.uniform(-1, 1, s) + 1j * self.rng.uniform(-1, 1, s)

    def ct(self, z, **kw):
        return self.E.encrypt(self.enc.encode(z, **kw))

    def dec(self, ct):
        return self.enc.decode(self.D.decrypt(ct))


@pytest.fixture(scope="session")
def insecure_params():
    """Factory: ``insecure_params(name)`` -> the parameter set, warning silenced."""
    return _insecure


@pytest.fixture(scope="session")
def ckks_setup():
    """Factory: ``ckks_setup(name, seed=S, **keyset)`` -> a new :class:`CkksSetup`."""
    return CkksSetup


@pytest.fixture(scope="session")
def ckks_env():
    """Factory: ``ckks_env(name, rotations=...)`` -> a new :class:`CkksEnv`."""
    return CkksEnv


@pytest.fixture(scope="module")
def one_numba_thread():
    """numba limited to one thread for the requesting module, restored afterwards; so is
    the default of ``fhesim infer`` (:func:`sw.nn.infer.set_threads`), which would otherwise
    take every thread from N = 2^11: with two test processes on two cores, a second thread
    per process waits for a time slice at the end of every short kernel (a ResNet-20 test
    at 2^11 took 302 s beside the cluster test, 14 s alone)."""
    import numba

    import sw.nn.infer as infer

    old, old_serial = numba.get_num_threads(), infer.SERIAL_MAX_LOG_N
    numba.set_num_threads(1)
    infer.SERIAL_MAX_LOG_N = 64
    yield
    numba.set_num_threads(old)
    infer.SERIAL_MAX_LOG_N = old_serial
