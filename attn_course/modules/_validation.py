"""Checks shared by every attention module.

Impossible settings fail at construction with a ``ValueError`` that names the constraint and a value
that would work (an argument of the wrong type, ``TypeError``); a wrong input fails in ``forward`` with an error that names the expected and the
received shape. Nothing here touches the data, so the checks cost nothing measurable and do not
disturb ``torch.compile`` or ``torch.export``.
"""

from __future__ import annotations

import torch
import torch.fx

from .._arguments import positive_int

__all__ = [
    "check_channels",
    "check_positive_int",
    "check_divisible",
    "reduced_channels",
    "check_feature_map",
]


def check_positive_int(value, *, name: str, module: str) -> int:
    """``value`` as an ``int`` if it is a positive integer (``numpy.int64`` included).

    A non-integer raises ``TypeError`` (:class:`attn_course._arguments.ArgumentTypeError`), an
    integer below 1 ``ValueError``.
    """
    return positive_int(value, name=name, where=module)


def check_channels(channels, *, module: str) -> int:
    """``channels`` as an ``int`` if it is a positive integer (see :func:`check_positive_int`)."""
    return check_positive_int(channels, name="channels", module=module)


def check_divisible(channels: int, divisor: int, *, module: str, why: str) -> None:
    """Raise ``ValueError`` unless ``channels`` is a multiple of ``divisor``.

    The message names the nearest valid channel counts, so the user sees a value that works.
    """
    if channels % divisor:
        below = channels - channels % divisor
        above = below + divisor
        options = f"{above}" if below == 0 else f"{below} or {above}"
        raise ValueError(
            f"{module}: channels must be divisible by {divisor} ({why}), got channels={channels}; "
            f"the nearest valid values are {options}."
        )


def reduced_channels(channels: int, reduction, *, module: str, minimum: int = 1) -> int:
    """Hidden width ``max(channels // reduction, minimum)`` of a bottleneck, checked.

    With the default ``minimum=1`` a reduction that leaves no hidden unit raises ``ValueError``
    naming the largest reduction that works.
    """
    check_positive_int(reduction, name="reduction", module=module)
    hidden = channels // reduction
    if hidden < 1 and minimum < 1:
        raise ValueError(f"{module}: minimum hidden width must be >= 1, got {minimum}.")
    if hidden < 1 and minimum == 1:
        raise ValueError(
            f"{module}: reduction={reduction} leaves channels // reduction = {channels} // "
            f"{reduction} = 0 hidden units; use a reduction of at most {channels}."
        )
    return max(hidden, minimum)


def check_feature_map(x: torch.Tensor, channels: int, *, module: str) -> None:
    """Raise ``ValueError`` unless ``x`` is a (B, channels, H, W) floating-point tensor.

    While ``torch.fx.symbolic_trace`` records a module, ``x`` is a ``torch.fx.Proxy`` that has no
    shape yet: the check steps aside, and the traced graph keeps no trace of it.
    """
    if isinstance(x, torch.fx.Proxy):
        return
    if not isinstance(x, torch.Tensor):
        raise TypeError(f"{module}: expected a torch.Tensor of shape (B, {channels}, H, W), "
                        f"got {type(x).__name__}.")
    if x.dim() != 4 or x.shape[1] != channels:
        raise ValueError(
            f"{module}: expected input of shape (B, {channels}, H, W), got {tuple(x.shape)}."
            + (" The channel count differs: build the module with the channels of the feature "
               "map it sees (the batch size does not matter)." if x.dim() == 4 else "")
        )
    if not x.is_floating_point():
        raise TypeError(f"{module}: expected a floating-point tensor, got dtype {x.dtype}.")
