"""Pooling over whole axes (means and maxima), fast in inference and in training.

Means: ``x.sum(dims, keepdim=True) * (1 / n)`` rather than ``x.mean(dims, keepdim=True)``. Both give
the same numbers (to one rounding), but their backward passes differ: the gradient of a sum is a
broadcast view of the incoming gradient, which autograd adds into the input's gradient as it
accumulates it, while mean's backward divides the broadcast gradient into a new full-size tensor
first. For ``x * σ(f(avg(x)))`` on a CPU, forward + backward is about a quarter faster with the sum
than with ``mean`` or ``adaptive_avg_pool2d`` (``benchmarks/`` measures the modules).

Maxima: PyTorch has two reductions that give the same maximum values and differ in speed and in where
the gradient goes:

* ``x.amax(dims)``: a vectorised reduction. Its forward is about ten times faster than the others on
  a CPU (against ``adaptive_max_pool2d`` on a (8, 256, 40, 40) float32 map), but its backward
  compares every element with the maximum and splits the gradient among ties: about three times
  slower than a scatter.
* ``x.max(dim)`` with indices (and ``F.adaptive_max_pool2d(x, 1)``): the backward sends each
  gradient to the one position the index names, which is cheap. On CUDA ``adaptive_max_pool2d``'s
  forward is slow for a whole-map window (one thread walks all H·W positions), ``max(dim)`` is a
  proper parallel reduction.

``spatial_max`` and ``channel_max`` take ``amax`` when no gradient will flow back to ``x``
(inference, or an input that does not require grad) and ``max`` with indices when one will. Both
gradients are valid subgradients of the maximum; where several positions tie, the whole gradient
goes to one of them.

All four keep the reduced axes (``keepdim``): a reduction over a leading axis followed by a reshape
(what einops' ``"b c h w -> b 1 h w"`` does) has a backward about three times slower on a CPU.
"""

from __future__ import annotations

import torch
import torch.fx


def _needs_grad(x: torch.Tensor) -> bool:
    if isinstance(x, torch.fx.Proxy):  # recorded by torch.fx: one graph for training and inference
        return True
    return torch.is_grad_enabled() and x.requires_grad


def spatial_mean(x: torch.Tensor) -> torch.Tensor:
    """mean over H and W of a (B, C, H, W) map: (B, C, 1, 1)."""
    return x.sum(dim=(2, 3), keepdim=True) * (1 / (x.shape[2] * x.shape[3]))


def channel_mean(x: torch.Tensor) -> torch.Tensor:
    """mean over C of a (B, C, H, W) map: (B, 1, H, W)."""
    return x.sum(dim=1, keepdim=True) * (1 / x.shape[1])


def spatial_max(x: torch.Tensor) -> torch.Tensor:
    """max over H and W of a (B, C, H, W) map: (B, C, 1, 1)."""
    if not _needs_grad(x):
        return x.amax(dim=(2, 3), keepdim=True)
    return x.flatten(2).max(dim=2, keepdim=True).values.unsqueeze(-1)


def channel_max(x: torch.Tensor) -> torch.Tensor:
    """max over C of a (B, C, H, W) map: (B, 1, H, W)."""
    if not _needs_grad(x):
        return x.amax(dim=1, keepdim=True)
    return x.max(dim=1, keepdim=True).values
