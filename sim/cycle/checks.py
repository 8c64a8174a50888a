"""Declared field rules of the accelerator configuration, and the one function that checks them.

A :class:`Rule` states what one field accepts (its type, and for numbers a sign, a range or
powers of two, for strings a set of choices). :func:`check` tests a value against a rule and
returns it normalised (``300`` for a float field becomes ``300.0``, ``4.0`` for an integer
field ``4``); a refusal is a :class:`ConfigError` naming where the configuration came from,
the field's dotted path (``units.ntt.count``) and what was expected. The rules themselves
are declared beside the fields of :class:`sim.cycle.config.AcceleratorConfig`.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Iterable, Mapping


class ConfigError(ValueError):
    """An accelerator configuration refused; the message names its origin and the field."""


def origin_of(name: Any, path: str | None) -> str:
    """How messages name a configuration: ``'u280' (path/to/u280.toml)``, or ``'inline'``."""
    return f"{name!r} ({path})" if path else repr(name)


def refuse(origin: str, text: str) -> ConfigError:
    """The error to raise for ``text`` about the configuration ``origin``."""
    return ConfigError(f"accelerator config {origin}: {text}")


@dataclass(frozen=True)
class Rule:
    """What one field accepts.

    Parameters
    ----------
    kind : type
        ``bool``, ``int``, ``float`` or ``str``. Numbers are finite and never negative.
    positive : bool
        Numbers: zero is refused too.
    low, high : int, optional
        Numbers: the inclusive range.
    power_of_two : bool
        Integers: a power of two (within ``[low, high]`` when given).
    choices : tuple of str
        Strings: the allowed values.
    nonempty : bool
        Strings: the empty string counts as a missing field.
    optional : bool
        ``None`` is accepted (the field is absent).
    note : str
        Appended to range messages in parentheses (who imposes the range).
    words : tuple of str
        Numbers: strings accepted besides a number (``dnum = "params"``).
    """

    kind: type
    positive: bool = False
    low: int | None = None
    high: int | None = None
    power_of_two: bool = False
    choices: tuple[str, ...] = ()
    nonempty: bool = False
    optional: bool = False
    note: str = ""
    words: tuple[str, ...] = ()


def check(value: Any, rule: Rule, field: str, origin: str) -> Any:
    """``value`` normalised if it satisfies ``rule``; else :class:`ConfigError` naming ``field``."""
    if value is None and rule.optional:
        return None
    if rule.kind is bool:
        if not isinstance(value, bool):
            raise refuse(origin, f"field '{field}' must be true or false, got {value!r}")
        return value
    if rule.kind is str:
        return _check_string(value, rule, field, origin)
    if rule.words and isinstance(value, str):
        if value not in rule.words:
            raise refuse(origin, f"field '{field}' must be a number or one of {rule.words}, "
                                 f"got {value!r}")
        return value
    return _check_number(value, rule, field, origin)


def _check_string(value: Any, rule: Rule, field: str, origin: str) -> str:
    if not isinstance(value, str):
        raise refuse(origin, f"field '{field}' must be a string, got {value!r}")
    if rule.nonempty and not value:
        raise refuse(origin, f"missing field '{field}'")
    if rule.choices and value not in rule.choices:
        raise refuse(origin, f"field '{field}' must be one of {rule.choices}, got {value!r}")
    return value


def _check_number(value: Any, rule: Rule, field: str, origin: str) -> int | float:
    def no(expected: str):
        return refuse(origin, f"field '{field}' must {expected}, got {value!r}")

    integer = rule.kind is int
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise no("be a number")
    if integer and not (isinstance(value, int) or float(value).is_integer()):
        raise no("be an integer")
    if not math.isfinite(float(value)):
        raise no("be finite")
    if value < 0:
        raise no("not be negative")
    if rule.positive and value == 0:
        raise no("be positive")
    value = int(value) if integer else float(value)
    note = f" ({rule.note})" if rule.note else ""
    in_range = ((rule.low is None or value >= rule.low)
                and (rule.high is None or value <= rule.high))
    if rule.power_of_two and (value & (value - 1) or not in_range):
        where = f" in [{rule.low}, {rule.high}]" if rule.low is not None else ""
        raise no(f"be a power of two{where}{note}")
    if not in_range:
        raise no(f"lie in [{rule.low}, {rule.high}]{note}")
    return value


def check_keys(data: Mapping[str, Any], allowed: Iterable[str], ctx: str, origin: str) -> None:
    """Refuse the first key of ``data`` (a table at dotted path ``ctx``) not in ``allowed``."""
    allowed = set(allowed)
    unknown = sorted(set(data) - allowed)
    if unknown:
        key = f"{ctx}.{unknown[0]}" if ctx else unknown[0]
        where = f"'{ctx}' " if ctx else ""
        raise refuse(origin, f"unknown key '{key}' in {where}(allowed: {', '.join(sorted(allowed))})")
