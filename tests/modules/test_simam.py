"""SimAM against the paper's closed form written out per channel: importance 1/e* with
e* = 4(σ² + λ) / ((t − μ)² + 2σ² + 2λ), μ and σ² by explicit sums, σ² divided by n = H·W − 1."""

import math

import pytest
import torch

from attn_course.modules.simam import SimAM

from .conftest import SHAPES

HALF_GATE = 1 / (1 + math.exp(-0.5))   # σ(1/2): the gate of a neuron equal to its channel mean


def simam_gate_by_hand(x, lam):
    """σ(1/e*) for every neuron, channel by channel; a 1×1 channel gets σ(1/2) (see simam.py)."""
    B, C, H, W = x.shape
    M = H * W
    gate = torch.empty_like(x)
    for b in range(B):
        for c in range(C):
            t = x[b, c]
            if M == 1:
                gate[b, c] = HALF_GATE
                continue
            mu = t.sum() / M
            var = ((t - mu) ** 2).sum() / (M - 1)
            energy = 4 * (var + lam) / ((t - mu) ** 2 + 2 * var + 2 * lam)
            gate[b, c] = 1 / (1 + torch.exp(-1 / energy))
    return gate


@pytest.mark.parametrize("shape", SHAPES + [(2, 3, 1, 6), (1, 4, 2, 1)])
@pytest.mark.parametrize("e_lambda", [1e-4, 0.5])
def test_matches_closed_form(shape, e_lambda):
    m = SimAM(shape[1], e_lambda=e_lambda)
    x = 3 * torch.randn(shape, dtype=torch.float64) + 1
    gate = simam_gate_by_hand(x, e_lambda)
    torch.testing.assert_close(m.gate(x), gate)
    torch.testing.assert_close(m(x), x * gate)


def test_one_pixel_maps_and_constant_channels_give_no_nan():
    m = SimAM(8)
    for x in (torch.randn(3, 8, 1, 1), torch.full((2, 8, 4, 5), 7.0)):
        g = m.gate(x)
        assert not g.isnan().any()
        torch.testing.assert_close(g, torch.full_like(x, HALF_GATE))


def test_gate_range_and_rank():
    x = torch.randn(2, 16, 6, 7, dtype=torch.float64)
    g = SimAM(16).gate(x)
    assert g.shape == x.shape and bool(((g >= HALF_GATE) & (g < 1)).all())
    # the further a neuron is from its channel mean, the larger its gate
    d = (x - x.mean((2, 3), keepdim=True)).abs()
    order = d[0, 0].flatten().argsort()
    assert bool((g[0, 0].flatten()[order].diff() >= 0).all())


def test_has_no_parameters():
    assert sum(p.numel() for p in SimAM(256).parameters()) == 0


def test_errors_name_the_constraint():
    for bad in (0, -1e-4, float("nan"), "1e-4"):
        with pytest.raises(ValueError, match="e_lambda must be a positive number"):
            SimAM(64, e_lambda=bad)
