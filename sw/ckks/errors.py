"""Exceptions of the CKKS layer. Every message names the operation and the numbers.

All derive from :class:`CkksError` (a ``ValueError``), except the warning class
:class:`InsecureParametersWarning`. :class:`DryRunError` is :class:`sw.trace.DryRunError`.
"""
from __future__ import annotations

from ..trace import DryRunError

__all__ = ["CkksError", "ParameterMismatchError", "LevelMismatchError", "ScaleMismatchError",
           "SlotMismatchError", "LevelError", "MissingKeyError", "SlotError", "NonFiniteError",
           "ScaleError", "KeyMismatchError", "InsecureParametersError", "InsecureParametersWarning", "SecurityError",
           "DryRunError"]


class CkksError(ValueError):
    """Base class of CKKS input errors."""


class ParameterMismatchError(CkksError):
    """Operands (or keys) belong to different parameter sets."""


class LevelMismatchError(CkksError):
    """Operands at different levels where equal levels are required."""


class ScaleMismatchError(CkksError):
    """Operands at different scales where equal scales are required."""


class SlotMismatchError(CkksError):
    """Operands with different slot counts."""


class LevelError(CkksError):
    """No level left, or a requested level out of range."""


class MissingKeyError(CkksError):
    """The evaluation key an operation needs was not generated."""


class SlotError(CkksError):
    """Bad slot count, or a message longer than the slot count."""


class NonFiniteError(CkksError):
    """NaN or infinity in a message or constant."""


class ScaleError(CkksError):
    """A scale that is not a positive finite number, or too large for the modulus."""


class KeyMismatchError(CkksError):
    """Key material or a ciphertext of another key set (their ``key_id`` differ)."""


class InsecureParametersError(CkksError):
    """An insecure (toy) parameter set was requested without ``allow_insecure=True``."""


class SecurityError(CkksError):
    """A parameter set labelled secure exceeds the cited bound (or has no bound)."""


class InsecureParametersWarning(UserWarning):
    """Emitted whenever an insecure parameter set is constructed."""
