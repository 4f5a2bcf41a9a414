"""CBAM against the paper's equations written out plainly: pooled vectors by explicit loops, the
shared MLP as matrix products, the k×k conv as a sum of shifted slices of a hand-padded map,
BatchNorm in closed form."""

import pytest
import torch

from attn_course.modules.cbam import CBAM, ChannelAttention, SpatialAttention

from .conftest import SHAPES, randomise

RESNET50_STAGES = [(3, 256), (4, 512), (6, 1024), (3, 2048)]


def sigmoid(t):
    return 1 / (1 + torch.exp(-t))


def channel_gate_by_hand(x, fc1, fc2):
    """M_c = σ(MLP(avg) + MLP(max)), MLP(v) = W2 ReLU(W1 v + b1) + b2; shape (B, C, 1, 1)."""
    B, C, H, W = x.shape
    w1, b1 = fc1.weight.flatten(1), fc1.bias
    w2, b2 = fc2.weight.flatten(1), fc2.bias
    gate = torch.empty(B, C, 1, 1, dtype=x.dtype)
    for b in range(B):
        avg = torch.stack([x[b, c].sum() / (H * W) for c in range(C)])
        peak = torch.stack([x[b, c].max() for c in range(C)])
        mlp = [w2 @ torch.clamp(w1 @ v + b1, min=0) + b2 for v in (avg, peak)]
        gate[b, :, 0, 0] = sigmoid(mlp[0] + mlp[1])
    return gate


def batchnorm_by_hand(s, bn, training):
    """One-channel BatchNorm: batch statistics (biased variance) if training, else running ones."""
    if training:
        mean, var = s.mean(), ((s - s.mean()) ** 2).mean()
    else:
        mean, var = bn.running_mean[0], bn.running_var[0]
    return (s - mean) / torch.sqrt(var + bn.eps) * bn.weight[0] + bn.bias[0]


def spatial_gate_by_hand(x, conv_weight, pool_order, bn=None, training=False):
    """M_s = σ(BN(Σ_{d,i,j} K[d,i,j] · D_pad[d, h+i, w+j])), D = channel max and mean; (B,1,H,W)."""
    B, C, H, W = x.shape
    k = conv_weight.shape[-1]
    p = k // 2
    s = torch.zeros(B, 1, H, W, dtype=x.dtype)
    for b in range(B):
        peak, total = x[b, 0], x[b, 0]
        for c in range(1, C):
            peak, total = torch.maximum(peak, x[b, c]), total + x[b, c]
        maps = [peak, total / C] if pool_order == "max_avg" else [total / C, peak]
        padded = torch.zeros(2, H + 2 * p, W + 2 * p, dtype=x.dtype)
        for d in range(2):
            padded[d, p:p + H, p:p + W] = maps[d]
        for d in range(2):
            for i in range(k):
                for j in range(k):
                    s[b, 0] += conv_weight[0, d, i, j] * padded[d, i:i + H, j:j + W]
    if bn is not None:
        s = batchnorm_by_hand(s, bn, training)
    return sigmoid(s)


def n_params(module):
    return sum(p.numel() for p in module.parameters())


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("reduction", [16, 4])
def test_channel_attention_matches_equation(shape, reduction):
    m = randomise(ChannelAttention(shape[1], reduction=reduction).double())
    x = torch.randn(shape, dtype=torch.float64)
    gate = channel_gate_by_hand(x, m.fc1, m.fc2)
    torch.testing.assert_close(m.gate(x), gate)
    torch.testing.assert_close(m(x), x * gate)


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("pool_order", ["max_avg", "avg_max"])
@pytest.mark.parametrize("kernel_size, batchnorm", [(7, True), (3, False), (1, True)])
def test_spatial_attention_matches_equation(shape, pool_order, kernel_size, batchnorm):
    m = SpatialAttention(shape[1], kernel_size=kernel_size, batchnorm=batchnorm,
                         pool_order=pool_order)
    m = randomise(m.double()).eval()
    x = torch.randn(shape, dtype=torch.float64)
    gate = spatial_gate_by_hand(x, m.conv.weight, pool_order, m.bn)
    torch.testing.assert_close(m.gate(x), gate)
    torch.testing.assert_close(m(x), x * gate)


def test_spatial_attention_in_train_mode_uses_batch_statistics():
    m = randomise(SpatialAttention(16).double()).train()
    x = torch.randn(3, 16, 6, 5, dtype=torch.float64)
    expected = x * spatial_gate_by_hand(x, m.conv.weight, "max_avg", m.bn, training=True)
    torch.testing.assert_close(m(x), expected)


def test_pool_orders_differ_only_by_which_weights_meet_which_map():
    official = randomise(SpatialAttention(8, pool_order="max_avg").double()).eval()
    paper = SpatialAttention(8, pool_order="avg_max").double().eval()
    paper.load_state_dict(official.state_dict())
    with torch.no_grad():
        paper.conv.weight.copy_(official.conv.weight.flip(1))
    x = torch.randn(2, 8, 5, 6, dtype=torch.float64)
    torch.testing.assert_close(paper(x), official(x))


@pytest.mark.parametrize("shape", SHAPES)
def test_cbam_is_channel_then_spatial(shape):
    m = randomise(CBAM(shape[1], reduction=8).double()).eval()
    x = torch.randn(shape, dtype=torch.float64)
    x1 = x * channel_gate_by_hand(x, m.channel.fc1, m.channel.fc2)
    expected = x1 * spatial_gate_by_hand(x1, m.spatial.conv.weight, "max_avg", m.spatial.bn)
    torch.testing.assert_close(m(x), expected)


def test_parameter_counts():
    C, r = 256, 16
    se_with_bias = 2 * C * C // r + C // r + C
    assert n_params(ChannelAttention(C)) == se_with_bias
    assert n_params(ChannelAttention(C, bias=False)) == 2 * C * C // r
    assert n_params(SpatialAttention(C)) == 2 * 7 * 7 + 2
    assert n_params(SpatialAttention(C, kernel_size=3, batchnorm=False)) == 2 * 3 * 3
    assert n_params(CBAM(C)) == se_with_bias + 2 * 49 + 2
    # docs/paper_facts.md: CBAM-ResNet-50 (official) adds 2,532,592 to ResNet-50's 25,557,032.
    assert sum(n * n_params(CBAM(c)) for n, c in RESNET50_STAGES) == 28_089_624 - 25_557_032


def test_parameter_names():
    names = {name for name, _ in CBAM(64, reduction=4).named_parameters()}
    assert names == {"channel.fc1.weight", "channel.fc1.bias", "channel.fc2.weight",
                     "channel.fc2.bias", "spatial.conv.weight", "spatial.bn.weight",
                     "spatial.bn.bias"}


def test_errors_name_the_constraint():
    with pytest.raises(ValueError, match="at most 8"):
        ChannelAttention(8, reduction=16)
    with pytest.raises(ValueError, match="at most 8"):
        CBAM(8)
    with pytest.raises(ValueError, match="odd.*use 5 or 7"):
        SpatialAttention(64, kernel_size=6)
    with pytest.raises(ValueError, match="kernel_size must be a positive integer"):
        CBAM(64, kernel_size=-1)
    with pytest.raises(ValueError, match="pool_order.*'max_avg'.*'avg_max'.*'mean_max'"):
        CBAM(64, pool_order="mean_max")
