"""GAM against the paper's equations written out plainly: the channel MLP pixel by pixel, each 7×7
conv as a sum over the 49 shifts of a hand-padded map (a grouped conv as a dense one with a
block-diagonal weight), BatchNorm in closed form, the channel shuffle as an explicit index list."""

import copy

import pytest
import torch

from attn_course.modules.gam import GAMAttention

from .conftest import SHAPES
from .conftest import randomise as shared_randomise


def sigmoid(t):
    return 1 / (1 + torch.exp(-t))


def channel_gate_by_hand(x, fc1, fc2, use_sigmoid):
    """M_c[b, :, h, w] = σ(W2 ReLU(W1 x[b, :, h, w] + b1) + b2), one pixel at a time."""
    B, C, H, W = x.shape
    gate = torch.empty_like(x)
    for b in range(B):
        for h in range(H):
            for w in range(W):
                hidden = torch.clamp(fc1.weight @ x[b, :, h, w] + fc1.bias, min=0)
                out = fc2.weight @ hidden + fc2.bias
                gate[b, :, h, w] = sigmoid(out) if use_sigmoid else out
    return gate


def conv7_by_hand(x, weight, groups):
    """'Same' 7×7 conv: out[o] = Σ_{c,i,j} K[o,c,i,j] x_pad[c, h+i, w+j]; groups via a dense
    block-diagonal kernel (output block g only sees input block g)."""
    B, C, H, W = x.shape
    O = weight.shape[0]
    dense = torch.zeros(O, C, 7, 7, dtype=x.dtype)
    o_per, c_per = O // groups, C // groups
    for g in range(groups):
        rows, cols = slice(g * o_per, (g + 1) * o_per), slice(g * c_per, (g + 1) * c_per)
        dense[rows, cols] = weight[rows]
    padded = torch.zeros(B, C, H + 6, W + 6, dtype=x.dtype)
    padded[:, :, 3:3 + H, 3:3 + W] = x
    out = torch.zeros(B, O, H, W, dtype=x.dtype)
    for i in range(7):
        for j in range(7):
            out += torch.einsum("oc,bchw->bohw", dense[:, :, i, j], padded[:, :, i:i + H, j:j + W])
    return out


def batchnorm_by_hand(s, bn, training):
    """Per channel: batch statistics over (B, H, W) with biased variance in training, running ones
    otherwise."""
    if training:
        mean = s.mean((0, 2, 3), keepdim=True)
        var = ((s - mean) ** 2).mean((0, 2, 3), keepdim=True)
    else:
        mean, var = bn.running_mean.view(1, -1, 1, 1), bn.running_var.view(1, -1, 1, 1)
    scale, shift = bn.weight.view(1, -1, 1, 1), bn.bias.view(1, -1, 1, 1)
    return (s - mean) / torch.sqrt(var + bn.eps) * scale + shift


def shuffle_by_hand(t, groups):
    """Output channel c·groups + g takes input channel g·m + c (m = channels per group)."""
    m = t.shape[1] // groups
    return t[:, [g * m + c for c in range(m) for g in range(groups)]]


def spatial_gate_by_hand(x1, spatial, groups, training=False):
    s = torch.clamp(batchnorm_by_hand(conv7_by_hand(x1, spatial.conv1.weight, groups), spatial.bn1,
                                      training), min=0)
    if groups > 1:
        s = shuffle_by_hand(s, groups)
    return sigmoid(batchnorm_by_hand(conv7_by_hand(s, spatial.conv2.weight, groups), spatial.bn2,
                                     training))


def gam_by_hand(x, m, training=False):
    groups = m.rate if m.grouped else 1
    x1 = x * channel_gate_by_hand(x, m.channel_mlp.fc1, m.channel_mlp.fc2, m.channel_sigmoid)
    return x1, x1 * spatial_gate_by_hand(x1, m.spatial, groups, training)


def randomise(m):
    """Random weights (std 0.3) and BatchNorm running statistics."""
    return shared_randomise(m, std=0.3)


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("grouped, channel_sigmoid", [(False, True), (True, True), (False, False)])
def test_matches_equations(shape, grouped, channel_sigmoid):
    m = GAMAttention(shape[1], grouped=grouped, channel_sigmoid=channel_sigmoid)
    m = randomise(m.double()).eval()
    x = torch.randn(shape, dtype=torch.float64)
    x1, expected = gam_by_hand(x, m)
    torch.testing.assert_close(m.channel_gate(x), x1 / x)
    torch.testing.assert_close(m(x), expected)


@pytest.mark.parametrize("channels, rate, grouped", [(8, 2, True), (64, 8, True), (6, 4, False)])
def test_other_rates(channels, rate, grouped):
    m = randomise(GAMAttention(channels, rate=rate, grouped=grouped).double()).eval()
    x = torch.randn(2, channels, 5, 4, dtype=torch.float64)
    torch.testing.assert_close(m(x), gam_by_hand(x, m)[1])


def test_train_mode_uses_batch_statistics():
    m = randomise(GAMAttention(16, grouped=True).double()).train()
    x = torch.randn(3, 16, 4, 5, dtype=torch.float64)
    x1, expected = gam_by_hand(x, m, training=True)
    torch.testing.assert_close(m(x), expected)


def test_shuffle_sits_between_the_grouped_convs():
    # C = 32, r = 4: the hidden map has 8 channels, 2 per group, so the shuffle moves channels
    # (at C = r² every group holds one channel and the shuffle is the identity).
    m = randomise(GAMAttention(32, grouped=True).double()).eval()
    x1 = torch.randn(2, 32, 5, 5, dtype=torch.float64)
    torch.testing.assert_close(m.spatial_gate(x1), spatial_gate_by_hand(x1, m.spatial, 4))
    without_shuffle = copy.deepcopy(m)
    del without_shuffle.spatial.shuffle
    assert not torch.allclose(without_shuffle.spatial_gate(x1), m.spatial_gate(x1))


def test_parameter_counts():
    C, r = 64, 4
    h = C // r
    mlp = C * h + h + h * C + C
    dense = mlp + h * C * 49 + 2 * h + C * h * 49 + 2 * C
    grouped = mlp + h * (C // r) * 49 + 2 * h + C * (h // r) * 49 + 2 * C
    assert sum(p.numel() for p in GAMAttention(C).parameters()) == dense
    assert sum(p.numel() for p in GAMAttention(C, grouped=True).parameters()) == grouped


def test_zero_weights_give_half_gates():
    m = GAMAttention(32).eval()
    for p in m.parameters():
        torch.nn.init.zeros_(p)
    x = torch.randn(2, 32, 5, 3)
    assert m.channel_gate(x).shape == m.spatial_gate(x).shape == x.shape
    torch.testing.assert_close(m.channel_gate(x), torch.full_like(x, 0.5))
    torch.testing.assert_close(m.spatial_gate(x), torch.full_like(x, 0.5))
    torch.testing.assert_close(m(x), 0.25 * x)
    raw = GAMAttention(32, channel_sigmoid=False).eval()
    raw.load_state_dict(m.state_dict())
    torch.testing.assert_close(raw(x), torch.zeros_like(x))


def test_errors_name_the_constraint():
    with pytest.raises(ValueError, match=r"divisible by 16.*rate² = 16.*channels=40.*32 or 48"):
        GAMAttention(40, grouped=True)
    with pytest.raises(ValueError, match=r"divisible by 16.*nearest valid values are 16"):
        GAMAttention(8, grouped=True)
    with pytest.raises(ValueError, match="at most 2"):
        GAMAttention(2, rate=4)
    with pytest.raises(ValueError, match="rate must be a positive integer"):
        GAMAttention(64, rate=0)


def test_reduction_is_another_name_for_rate():
    from attn_course import create_attention

    assert create_attention("gam", 64, reduction=8).rate == 8
    assert create_attention("gam", 64, rate=8).reduction == 8
    assert GAMAttention(64).rate == 4
    with pytest.raises(TypeError, match="one number"):
        GAMAttention(64, rate=4, reduction=4)
