"""RNS-CKKS (Cheon-Kim-Kim-Song) with composite levels, hybrid key switching and hoisting.

Public API: see ``docs/ckks-api.md``.
"""
from .ciphertext import Ciphertext, Plaintext
from .context import CkksContext
from .encoder import Encoder
from .encryptor import Decryptor, Encryptor
from .errors import *  # noqa: F401,F403
from .errors import __all__ as _errors_all
from .evaluator import Evaluator
from .keys import KeyGenerator, KeySet, PublicKey, SecretKey, SwitchingKey
from .params import CkksParams, get_params, list_params

__all__ = ["Ciphertext", "Plaintext", "CkksContext", "Encoder", "Encryptor", "Decryptor",
           "Evaluator", "KeyGenerator", "KeySet", "PublicKey", "SecretKey", "SwitchingKey",
           "CkksParams", "get_params", "list_params"] + list(_errors_all)
