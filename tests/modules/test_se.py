"""SE against the paper's equations written out plainly (explicit sums and matrix products)."""

import pytest
import torch

from attn_course.modules.se import SEBlock

from .conftest import SHAPES


def se_by_hand(x, w1, b1, w2, b2):
    """s = σ(W2 ReLU(W1 z + b1) + b2), z the spatial mean, written as explicit loops over channels."""
    B, C, H, W = x.shape
    out = torch.empty_like(x)
    for b in range(B):
        z = torch.stack([x[b, c].sum() / (H * W) for c in range(C)])
        hidden = torch.clamp(w1 @ z + b1, min=0)
        s = 1 / (1 + torch.exp(-(w2 @ hidden + b2)))
        for c in range(C):
            out[b, c] = x[b, c] * s[c]
    return out


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("reduction", [16, 4, 1])
def test_matches_equations(shape, reduction):
    C = shape[1]
    m = SEBlock(C, reduction=reduction).double()
    for p in m.parameters():
        torch.nn.init.normal_(p, std=0.5)
    x = torch.randn(shape, dtype=torch.float64)
    w1, w2 = m.fc1.weight.flatten(1), m.fc2.weight.flatten(1)
    expected = se_by_hand(x, w1, m.fc1.bias, w2, m.fc2.bias)
    torch.testing.assert_close(m(x), expected)


def test_parameter_count_with_and_without_bias():
    C, r = 256, 16
    assert sum(p.numel() for p in SEBlock(C).parameters()) == 2 * C * C // r + C // r + C
    assert sum(p.numel() for p in SEBlock(C, bias=False).parameters()) == 2 * C * C // r


def test_errors_name_the_constraint():
    with pytest.raises(ValueError, match="at most 8"):
        SEBlock(8, reduction=16)
