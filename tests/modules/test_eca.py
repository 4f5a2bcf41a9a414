"""ECA against the paper's equation written out plainly: a channel mean, then an explicit weighted
sum over each channel's k neighbours on a zero-padded list."""

import pytest
import torch

from attn_course.modules.eca import ECABlock, eca_kernel_size

from .conftest import SHAPES

# The paper's kernel sizes for the channel counts of a ResNet (γ = 2, b = 1).
PAPER_KERNELS = {64: 3, 128: 5, 256: 5, 512: 5, 1024: 5, 2048: 7}
# ResNet-50: blocks per stage and the output channels of each block (where ECA sits).
RESNET50_STAGES = [(3, 256), (4, 512), (6, 1024), (3, 2048)]


def eca_gate_by_hand(x, w):
    """s_c = σ(Σ_j w_j z_{c+j-k//2}), z the spatial mean, zero outside channels 0..C-1."""
    B, C, H, W = x.shape
    k = len(w)
    gate = torch.empty(B, C, 1, 1, dtype=x.dtype)
    for b in range(B):
        z = [x[b, c].sum() / (H * W) for c in range(C)]
        padded = [0.0] * (k // 2) + z + [0.0] * (k // 2)
        for c in range(C):
            y = sum(w[j] * padded[c + j] for j in range(k))
            gate[b, c] = 1 / (1 + torch.exp(-y))
    return gate


def random_block(channels, **options):
    m = ECABlock(channels, **options).double()
    torch.nn.init.normal_(m.conv.weight, std=0.7)
    return m


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("kernel_size", [None, 1, 3, 9])
def test_matches_equation(shape, kernel_size):
    m = random_block(shape[1], kernel_size=kernel_size)
    x = torch.randn(shape, dtype=torch.float64)
    gate = eca_gate_by_hand(x, m.conv.weight.flatten())
    torch.testing.assert_close(m.gate(x), gate)
    torch.testing.assert_close(m(x), x * gate)


def test_kernel_larger_than_channel_count():
    m = random_block(4, kernel_size=7)
    x = torch.randn(2, 4, 3, 3, dtype=torch.float64)
    torch.testing.assert_close(m(x), x * eca_gate_by_hand(x, m.conv.weight.flatten()))


@pytest.mark.parametrize("channels, k", PAPER_KERNELS.items())
def test_adaptive_kernel_size_matches_the_paper(channels, k):
    assert eca_kernel_size(channels) == k
    m = ECABlock(channels)
    assert m.kernel_size == k and m.conv.weight.shape == (1, 1, k)


def test_kernel_size_formula_with_other_constants():
    # t = int(|(log2 C + b) / γ|), made odd by adding 1: C=256, γ=1, b=0 → 8 → 9; γ=3, b=2 → 3.
    assert eca_kernel_size(256, gamma=1, b=0) == 9
    assert eca_kernel_size(256, gamma=3, b=2) == 3
    assert ECABlock(256, gamma=1, b=0).kernel_size == 9
    assert eca_kernel_size(1) == 1


def test_parameter_counts_in_a_resnet50():
    # docs/paper_facts.md: +86 with the formula (5, 5, 5, 7), +80 with the released k = 3, 5, 5, 7.
    formula = sum(n * sum(p.numel() for p in ECABlock(c).parameters()) for n, c in RESNET50_STAGES)
    released = sum(n * sum(p.numel() for p in ECABlock(c, kernel_size=k).parameters())
                   for (n, c), k in zip(RESNET50_STAGES, [3, 5, 5, 7]))
    assert (formula, released) == (86, 80)


def test_errors_name_the_constraint():
    with pytest.raises(ValueError, match="odd.*use 3 or 5"):
        ECABlock(64, kernel_size=4)
    with pytest.raises(ValueError, match="kernel_size must be a positive integer"):
        ECABlock(64, kernel_size=0)
    with pytest.raises(ValueError, match="kernel_size must be a positive integer"):
        ECABlock(64, kernel_size=3.0)
    with pytest.raises(ValueError, match="gamma must be positive"):
        ECABlock(64, gamma=0)
