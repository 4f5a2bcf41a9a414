"""Checks of plain arguments (counts, ratios, sizes), shared by the whole package.

The convention is Python's: a value of the wrong *type* raises ``TypeError``, a value of the right
type outside its range raises ``ValueError``. Integer-likes are accepted the way Python's own
``range`` and ``list.__getitem__`` accept them (``operator.index``): ``numpy.int64(64)`` is 64, while
``True``, ``64.0`` and ``"64"`` are refused.

The type errors raised here are :class:`ArgumentTypeError`, a ``TypeError`` that is also a
``ValueError`` (numpy's ``AxisError`` does the same), so code written against the course's earlier
releases, which raised ``ValueError`` for both, keeps catching them.
"""

from __future__ import annotations

import math
import operator
from numbers import Real

__all__ = ["ArgumentTypeError", "positive_int", "number_in_range"]


class ArgumentTypeError(TypeError, ValueError):
    """An argument of the wrong type (a ``TypeError``; also a ``ValueError``, see the module)."""


def _prefix(where: str) -> str:
    return f"{where}: " if where else ""


def positive_int(value, *, name: str, where: str = "", minimum: int = 1) -> int:
    """``value`` as a Python ``int`` if it is an integer (``operator.index``) of at least ``minimum``.

    >>> import numpy as np
    >>> positive_int(np.int64(64), name="channels")
    64
    >>> positive_int(0, name="channels", where="SEBlock")
    Traceback (most recent call last):
    ...
    ValueError: SEBlock: channels must be a positive integer, got 0.
    >>> positive_int(2.0, name="reduction")
    Traceback (most recent call last):
    ...
    attn_course._arguments.ArgumentTypeError: reduction must be a positive integer, got float 2.0.
    """
    kind = "a positive integer" if minimum == 1 else f"an integer >= {minimum}"
    if isinstance(value, bool):
        raise ArgumentTypeError(f"{_prefix(where)}{name} must be {kind}, got the bool {value!r}.")
    try:
        number = operator.index(value)
    except TypeError:
        raise ArgumentTypeError(f"{_prefix(where)}{name} must be {kind}, got "
                                f"{type(value).__name__} {value!r}.") from None
    if number < minimum:
        raise ValueError(f"{_prefix(where)}{name} must be {kind}, got {number}.")
    return number


def number_in_range(value, *, name: str, where: str = "", low: float | None = None,
                    high: float | None = None, low_open: bool = False, hint: str = "") -> float:
    """``value`` as a ``float`` if it is a finite real number (not a bool) within the bounds.

    ``low_open=True`` excludes ``low`` itself (``low=0, low_open=True``: strictly positive).
    """
    if isinstance(value, bool) or not isinstance(value, Real):
        raise ArgumentTypeError(f"{_prefix(where)}{name} must be {_describe(low, high, low_open)}"
                                f"{hint}, got {type(value).__name__} {value!r}.")
    number = float(value)
    too_low = low is not None and (number <= low if low_open else number < low)
    too_high = high is not None and number > high
    if not math.isfinite(number) or too_low or too_high:
        raise ValueError(f"{_prefix(where)}{name} must be {_describe(low, high, low_open)}{hint}, "
                         f"got {value!r}.")
    return number


def _describe(low, high, low_open) -> str:
    if low == 0 and high is None:
        return "a positive number" if low_open else "a non-negative number"
    if low is not None and high is not None:
        return f"a number from {low:g} to {high:g}" + (f" (excluding {low:g})" if low_open else "")
    if low is not None:
        return f"a number {'>' if low_open else '>='} {low:g}"
    if high is not None:
        return f"a finite number <= {high:g}"
    return "a finite number"
