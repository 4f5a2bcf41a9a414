"""Count a model's parameters the way papers and torchvision report them."""

from __future__ import annotations

from torch import nn

__all__ = ["count_parameters"]


def count_parameters(module: nn.Module) -> int:
    """Number of parameter elements in ``module`` (shared parameters counted once, buffers not).

    Works on models built on the ``meta`` device, so large models can be counted without memory:
    ``with torch.device("meta"): count_parameters(resnet50("se"))``.
    """
    if not isinstance(module, nn.Module):
        raise ValueError(f"count_parameters expects an nn.Module, got {type(module).__name__}.")
    return sum(p.numel() for p in module.parameters())
