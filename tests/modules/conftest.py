"""Shared fixtures for the module tests: seeded randomness, the shapes every module is fuzzed on, and
random weights for equation checks."""

import pytest
import torch

# (B, C, H, W): batch 1, 1×1 and non-square maps, odd sizes.
SHAPES = [(1, 64, 1, 1), (2, 64, 7, 5), (1, 32, 9, 13), (3, 128, 4, 4)]


@pytest.fixture(autouse=True)
def _seed():
    torch.manual_seed(0)


def randomise(module, std=0.5, overrides=()):
    """Random weights and BatchNorm running statistics, so every term of the equations matters.

    Every parameter is drawn from N(0, std²), or N(0, s²) for the first ``(suffix, s)`` in
    ``overrides`` whose suffix ends its name; running means from N(0, 1), running variances from
    U(0.5, 2). Returns the module.
    """
    with torch.no_grad():
        for name, p in module.named_parameters():
            p.normal_(std=next((s for suffix, s in overrides if name.endswith(suffix)), std))
        for name, buf in module.named_buffers():
            if name.endswith("running_mean"):
                buf.normal_()
            elif name.endswith("running_var"):
                buf.uniform_(0.5, 2.0)
    return module
