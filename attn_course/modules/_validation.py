"""Checks shared by every attention module.

Impossible settings fail at construction with a ``ValueError`` that names the constraint and a value
that would work; a wrong input fails in ``forward`` with an error that names the expected and the
received shape. Nothing here touches the data, so the checks cost nothing measurable and do not
disturb ``torch.compile`` or ``torch.export``.
"""

from __future__ import annotations

import torch

__all__ = [
    "check_channels",
    "check_positive_int",
    "check_divisible",
    "reduced_channels",
    "check_feature_map",
]


def check_positive_int(value, *, name: str, module: str) -> int:
    """Return ``value`` if it is a positive ``int``; otherwise raise ``ValueError``."""
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"{module}: {name} must be a positive integer, got {value!r}.")
    return value


def check_channels(channels, *, module: str) -> int:
    """Return ``channels`` if it is a positive ``int``; otherwise raise ``ValueError``."""
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
    """Raise ``ValueError`` unless ``x`` is a (B, channels, H, W) floating-point tensor."""
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
