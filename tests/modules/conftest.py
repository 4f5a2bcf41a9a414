"""Shared fixtures for the module tests: seeded randomness and the shapes every module is fuzzed on."""

import pytest
import torch

# (B, C, H, W): batch 1, 1×1 and non-square maps, odd sizes.
SHAPES = [(1, 64, 1, 1), (2, 64, 7, 5), (1, 32, 9, 13), (3, 128, 4, 4)]


@pytest.fixture(autouse=True)
def _seed():
    torch.manual_seed(0)
