"""CKKS context: a parameter set plus its cached RNS bases, converters and Galois maps."""
from __future__ import annotations

from functools import lru_cache

import numpy as np

from ..ring import RnsBasis
from ..heap import retain_freed_memory
from .errors import ParameterMismatchError, SlotError
from .params import CkksParams


_RETAIN_HEAP_FROM = 1 << 14   # ring degree from which temporaries exceed glibc's mmap threshold


class CkksContext:
    """Precomputed objects for one :class:`CkksParams`.

    Attributes
    ----------
    params : CkksParams
    n : ring degree
    p_basis : RnsBasis of the special primes
    full_basis : ``Q_top + P`` (the basis of secret and switching keys)
    key_switching : ``"hybrid"`` (default) or ``"klss"``: how key switches with a
        :class:`~.keys.SwitchingKey` form their inner product (:mod:`sw.ckks.klss`; the same
        integers either way)
    klss_group : primes per group of ``Q_l P`` for KLSS (default ``params.alpha``)
    """

    def __init__(self, params: CkksParams, *, key_switching: str = "hybrid",
                 klss_group: int | None = None):
        from .klss import KEY_SWITCHING
        if not isinstance(params, CkksParams):
            raise TypeError(f"CkksContext: expected CkksParams, got {type(params).__name__}")
        if key_switching not in KEY_SWITCHING:
            raise ValueError(f"CkksContext: key_switching={key_switching!r} must be one of "
                             f"{', '.join(KEY_SWITCHING)}")
        group = params.alpha if klss_group is None else klss_group
        if isinstance(group, bool) or not isinstance(group, int) or group < 1:
            raise ValueError(f"CkksContext: klss_group={klss_group!r} must be a positive integer")
        self.key_switching = key_switching
        self.klss_group = group
        self.klss_cache: dict = {}
        self._klss_aux = None
        self.params = params
        self.n = params.n
        if self.n >= _RETAIN_HEAP_FROM:
            retain_freed_memory()       # large rings: reuse freed pages (sw.heap)
        self.p_basis = RnsBasis.get(params.p_primes, self.n)
        self.full_basis = self.q_basis(params.max_level) + self.p_basis
        self._rowmaps: dict[int, np.ndarray] = {}

    def __repr__(self) -> str:
        return f"CkksContext({self.params.name})"

    @property
    def klss_aux(self) -> RnsBasis:
        """The auxiliary basis ``T`` of KLSS key switching (:func:`sw.ckks.klss.aux_basis`)."""
        if self._klss_aux is None:
            from .klss import aux_basis
            self._klss_aux = aux_basis(self.params, self.klss_group)
        return self._klss_aux

    def q_basis(self, level: int) -> RnsBasis:
        """Basis of a ciphertext at ``level``."""
        return RnsBasis.get(self.params.primes_at(level), self.n)

    def qp_basis(self, level: int) -> RnsBasis:
        """``Q_level + P`` (key-switching working basis)."""
        return self.q_basis(level) + self.p_basis

    def key_rowmap(self, level: int) -> np.ndarray:
        """Rows of ``full_basis`` that make up ``qp_basis(level)`` (int64)."""
        r = self._rowmaps.get(level)
        if r is None:
            L = len(self.params.primes_at(level))
            Lt = len(self.params.q_primes)
            r = np.concatenate([np.arange(L), np.arange(Lt, Lt + len(self.p_basis))]).astype(np.int64)
            r.setflags(write=False)
            self._rowmaps[level] = r
        return r

    def key_rowmap_truncated(self, level: int, key_level: int, special: int | None = None) -> np.ndarray:
        """Rows of a key truncated to ``Q_key_level + P`` (``P`` = the first ``special``
        special primes, all if None) that make up ``q_basis(level) + special_basis(special)``."""
        k = len(self.p_basis) if special is None else int(special)
        r = self._rowmaps.get((level, key_level, k))
        if r is None:
            L = len(self.params.primes_at(level))
            Lk = len(self.params.primes_at(key_level))
            r = np.concatenate([np.arange(L), np.arange(Lk, Lk + k)]).astype(np.int64)
            r.setflags(write=False)
            self._rowmaps[(level, key_level, k)] = r
        return r

    def special_basis(self, special: int | None = None) -> RnsBasis:
        """The first ``special`` special primes (all of ``p_basis`` if None): the basis a
        key with fewer special primes raises its digits to (:meth:`CkksParams.special_for`)."""
        if special is None or special == len(self.p_basis):
            return self.p_basis
        if isinstance(special, bool) or not isinstance(special, (int, np.integer)) \
                or not 1 <= special <= len(self.p_basis):
            raise ValueError(f"special={special!r}: not a count of special primes in "
                             f"[1, {len(self.p_basis)}] ({self.params.name})")
        return self.p_basis.sub(0, int(special))

    def galois_element(self, step: int) -> int:
        """Galois element ``5^step mod 2n`` of a left rotation by ``step`` slots."""
        return _galois(self.n, int(step) % (self.n // 2))

    @property
    def conjugation_element(self) -> int:
        return 2 * self.n - 1

    def check_slots(self, slots, op: str) -> int:
        if slots is None:
            return self.params.slots
        if isinstance(slots, bool) or not isinstance(slots, (int, np.integer)) or slots < 1 \
                or slots > self.params.slots or (int(slots) & (int(slots) - 1)):
            raise SlotError(f"{op}: slots={slots!r} must be a power of two in [1, n/2={self.params.slots}]")
        return int(slots)

    def check_same(self, op: str, *objs) -> None:
        """Raise ParameterMismatchError when any object's params differ from this context's."""
        for o in objs:
            p = getattr(o, "params", None)
            if p is not self.params and p != self.params:
                raise ParameterMismatchError(
                    f"{op}: operand parameters {getattr(p, 'name', p)!r} do not match the context's "
                    f"{self.params.name!r}")


@lru_cache(maxsize=4096)
def _galois(n: int, step: int) -> int:
    return pow(5, step, 2 * n)
