"""Assertion helpers for the notebooks' visible tests.

Every check raises ``AssertionError`` with a message that says what is wrong and where to look, and
prints one line starting with ✓ when it passes, so a student sees which checks already hold.
"""

from __future__ import annotations

import torch
from torch import nn

__all__ = [
    "rel_error",
    "check_shape",
    "check_dtype_device",
    "check_gate_range",
    "check_parameter_count",
    "check_close",
    "check_raises",
    "load_dense_weight",
]


def _passed(message: str, quiet: bool) -> None:
    if not quiet:
        print(f"✓ {message}")


def rel_error(actual: torch.Tensor, expected: torch.Tensor) -> float:
    """max |a − e| / max(|a| + |e|, 1e-12): the relative error printed by the checks."""
    actual, expected = actual.detach().double(), expected.detach().double().to(actual.device)
    return float(((actual - expected).abs() / (actual.abs() + expected.abs()).clamp_min(1e-12)).max())


def check_shape(out, x: torch.Tensor, *, what: str = "the output", quiet: bool = False) -> None:
    """``out`` must be a tensor of exactly ``x``'s shape (an attention module refines, never resizes)."""
    if not isinstance(out, torch.Tensor):
        raise AssertionError(f"{what} should be a torch.Tensor, got {type(out).__name__}. "
                             "Did forward forget a `return`?")
    if out.shape == x.shape:
        _passed(f"shape kept: {tuple(out.shape)}", quiet)
        return
    hint = ""
    if out.dim() == 4 and x.dim() == 4:
        B, C, H, W = x.shape
        if tuple(out.shape) == (B, C, 1, 1):
            hint = (" It has the shape of a channel gate (B, C, 1, 1): you returned the gate, not "
                    "x multiplied by the gate.")
        elif tuple(out.shape) == (B, 1, H, W):
            hint = (" It has the shape of a spatial gate (B, 1, H, W): you returned the gate, not "
                    "x multiplied by the gate.")
        elif out.shape[1] != C:
            hint = " The channel axis changed: check which axis you pooled or projected over."
        else:
            hint = " The spatial size changed: check padding and strides."
    elif out.dim() == 2 and x.dim() == 4:
        hint = " It is 2-D: the (B, C) descriptor was never reshaped back to (B, C, 1, 1) and applied."
    raise AssertionError(f"{what} has shape {tuple(out.shape)}, expected {tuple(x.shape)} "
                         f"(the input's shape).{hint}")


def check_dtype_device(out: torch.Tensor, x: torch.Tensor, *, what: str = "the output",
                       quiet: bool = False) -> None:
    """``out`` keeps ``x``'s dtype and device (no hard-coded float32, no ``.cuda()``)."""
    if out.dtype != x.dtype:
        raise AssertionError(f"{what} has dtype {out.dtype}, the input {x.dtype}. Create new "
                             "tensors with dtype=x.dtype (or torch.*_like(x)), never a fixed dtype.")
    if out.device != x.device:
        raise AssertionError(f"{what} is on {out.device}, the input on {x.device}. Create new "
                             "tensors with device=x.device; never call .cuda() or .cpu() inside.")
    _passed(f"dtype and device kept: {out.dtype}, {out.device}", quiet)


def check_gate_range(gate: torch.Tensor, *, what: str = "the gate", quiet: bool = False) -> None:
    """Every gate value lies strictly in (0, 1), as a sigmoid's output does."""
    if not isinstance(gate, torch.Tensor):
        raise AssertionError(f"{what} should be a torch.Tensor, got {type(gate).__name__}.")
    g = gate.detach()
    if torch.isnan(g).any():
        raise AssertionError(f"{what} contains NaN: look for a division by zero or a log of 0.")
    low, high = float(g.min()), float(g.max())
    if not (low > 0 and high < 1):
        raise AssertionError(f"{what} must lie in (0, 1) but ranges over [{low:.4g}, {high:.4g}]. "
                             "Is the sigmoid applied last, after the final layer?")
    _passed(f"{what} lies in (0, 1): min {low:.3f}, max {high:.3f}", quiet)


def check_parameter_count(module: nn.Module, expected: int, *, formula: str = "",
                          quiet: bool = False) -> None:
    """The module has exactly ``expected`` learnable parameters."""
    got = sum(p.numel() for p in module.parameters())
    if got != expected:
        parts = ", ".join(f"{name} {tuple(p.shape)}" for name, p in module.named_parameters())
        raise AssertionError(
            f"{type(module).__name__} has {got:,} parameters, expected {expected:,}"
            + (f" = {formula}" if formula else "") + f". Its parameters: {parts or 'none'}. "
            "Check the hidden width, and which layers have a bias.")
    _passed(f"{got:,} parameters" + (f" = {formula}" if formula else ""), quiet)


def check_close(actual, expected: torch.Tensor, *, what: str = "the output", rtol: float = 1e-5,
                atol: float = 1e-6, quiet: bool = False) -> None:
    """``actual`` equals ``expected`` within tolerance; the message locates the largest difference."""
    if not isinstance(actual, torch.Tensor):
        raise AssertionError(f"{what} should be a torch.Tensor, got {type(actual).__name__}.")
    if actual.shape != expected.shape:
        raise AssertionError(f"{what} has shape {tuple(actual.shape)}, expected "
                             f"{tuple(expected.shape)}.")
    a, e = actual.detach().double(), expected.detach().double().to(actual.device)
    diff = (a - e).abs()
    bad = diff > atol + rtol * e.abs()
    if torch.isnan(a).any() or bad.any():
        worst = int(torch.nan_to_num(diff, nan=float("inf")).flatten().argmax())
        index = tuple(int(i) for i in torch.unravel_index(torch.tensor(worst), a.shape))
        raise AssertionError(
            f"{what} differs from the expected values at {int(bad.sum())} of {a.numel()} "
            f"positions. Largest difference {float(diff.flatten()[worst]):.3g} at index {index}: "
            f"got {float(a.flatten()[worst]):.6g}, expected {float(e.flatten()[worst]):.6g} "
            f"(relative error {rel_error(a, e):.2e}).")
    _passed(f"{what} matches (relative error {rel_error(a, e):.1e})", quiet)


def check_raises(fn, exception=ValueError, *, what: str, quiet: bool = False) -> Exception:
    """``fn()`` must raise ``exception``; returns it so its message can be inspected."""
    try:
        fn()
    except exception as error:
        _passed(f"{what} raises {exception.__name__}: {error}", quiet)
        return error
    except Exception as error:  # a different error is still a wrong answer
        raise AssertionError(f"{what} should raise {exception.__name__}, but raised "
                             f"{type(error).__name__}: {error}") from None
    raise AssertionError(f"{what} should raise {exception.__name__}, but nothing was raised.")


@torch.no_grad()
def load_dense_weight(layer: nn.Module, weight: torch.Tensor, bias: torch.Tensor | None = None):
    """Copy a dense (out, in) weight into ``layer``, an ``nn.Linear`` or a 1×1 ``nn.Conv2d``.

    The notebooks allow either layer for a fully connected step; the hidden tests load known
    weights through this function whichever the student chose.
    """
    if not isinstance(layer, (nn.Linear, nn.Conv2d, nn.Conv1d)):
        raise AssertionError(f"expected an nn.Linear or a 1×1 nn.Conv2d, found {type(layer).__name__}. "
                             "Use one of those for the fully connected layers (see the docstring).")
    if layer.weight.numel() != weight.numel() or layer.weight.shape[:2] != weight.shape[:2]:
        raise AssertionError(f"{layer} has a weight of shape {tuple(layer.weight.shape)}; expected "
                             f"(out, in) = {tuple(weight.shape[:2])} (plus 1×1 for a conv).")
    layer.weight.copy_(weight.reshape(layer.weight.shape))
    if bias is not None:
        if layer.bias is None:
            raise AssertionError(f"{layer} has no bias, but the docstring asks for one.")
        layer.bias.copy_(bias)
