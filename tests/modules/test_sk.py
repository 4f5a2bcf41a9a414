"""SKAttention against SKNet's split, fuse and select written out: convolutions as sums over the
kernel taps of each group, BatchNorm and softmax as their formulas."""

import pytest
import torch
import torch.nn.functional as F

from attn_course.modules.sk import SKAttention

from .conftest import SHAPES


def conv3x3_by_taps(x, weight, *, groups, stride, dilation):
    """Zero-padded (padding = dilation) grouped 3×3 convolution as an explicit sum over the nine
    taps; each group's output channels see only that group's input channels."""
    B, C, H, W = x.shape
    Ho, Wo = (H - 1) // stride + 1, (W - 1) // stride + 1
    padded = F.pad(x, (dilation,) * 4)
    padded = padded.reshape(B, groups, C // groups, *padded.shape[2:])
    w = weight.reshape(groups, weight.shape[0] // groups, C // groups, 3, 3)
    out = torch.zeros(B, groups, weight.shape[0] // groups, Ho, Wo, dtype=x.dtype)
    for ky in range(3):
        for kx in range(3):
            patch = padded[..., ky * dilation:ky * dilation + stride * (Ho - 1) + 1:stride,
                           kx * dilation:kx * dilation + stride * (Wo - 1) + 1:stride]
            out += torch.einsum("goi,bgihw->bgohw", w[..., ky, kx], patch)
    return out.reshape(B, weight.shape[0], Ho, Wo)


def batch_norm_by_hand(x, bn, training):
    """Normalise axis 1 with the batch's statistics (biased variance) or the running ones."""
    axes = [0] + list(range(2, x.dim()))
    if training:
        mean = x.mean(dim=axes, keepdim=True)
        var = ((x - mean) ** 2).mean(dim=axes, keepdim=True)
    else:
        shape = [1, -1] + [1] * (x.dim() - 2)
        mean, var = bn.running_mean.view(shape), bn.running_var.view(shape)
    shape = [1, -1] + [1] * (x.dim() - 2)
    return (x - mean) / torch.sqrt(var + bn.eps) * bn.weight.view(shape) + bn.bias.view(shape)


def sk_by_hand(x, m, training=False):
    """Split: U_i = ReLU(BN(conv_i x)); fuse: s = mean_hw Σ_i U_i, z = ReLU(BN(W s));
    select: a_i = exp(A_i z) / Σ_j exp(A_j z); V = Σ_i a_i U_i. Returns V and the weights (B, M, C)."""
    split = []
    for i, branch in enumerate(m.branches):
        conv, bn = branch[0], branch[1]
        u = conv3x3_by_taps(x, conv.weight, groups=m.groups, stride=m.stride, dilation=i + 1)
        split.append(torch.clamp(batch_norm_by_hand(u, bn, training), min=0))
    fused = sum(split)
    s = fused.sum(dim=(2, 3)) / (fused.shape[2] * fused.shape[3])                       # (B, C)
    z = torch.clamp(batch_norm_by_hand(s @ m.fc.weight.flatten(1).T, m.fc_bn, training), min=0)
    logits = torch.stack([z @ sel.weight.flatten(1).T for sel in m.select], dim=1)    # (B, M, C)
    exps = torch.exp(logits)
    weights = exps / exps.sum(dim=1, keepdim=True)
    return sum(weights[:, i, :, None, None] * split[i] for i in range(len(split))), weights


def randomised(m):
    """Random weights and running statistics, so every term of the equations matters."""
    for p in m.parameters():
        torch.nn.init.normal_(p, std=0.3)
    for module in m.modules():
        if isinstance(module, torch.nn.BatchNorm2d):
            module.running_mean.normal_()
            module.running_var.uniform_(0.5, 2.0)
    return m


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("stride", [1, 2])
def test_matches_equations_in_eval_mode(shape, stride):
    m = randomised(SKAttention(shape[1], stride=stride).double()).eval()
    x = torch.randn(shape, dtype=torch.float64)
    expected, expected_weights = sk_by_hand(x, m)
    torch.testing.assert_close(m(x), expected)
    torch.testing.assert_close(m.selection_weights(x), expected_weights[..., None, None])


@pytest.mark.parametrize("branches, groups, reduction, min_hidden",
                         [(2, 8, 4, 4), (3, 4, 2, 1), (1, 1, 16, 8)])
def test_matches_equations_in_training_mode(branches, groups, reduction, min_hidden):
    m = randomised(SKAttention(16, branches=branches, groups=groups, reduction=reduction,
                               min_hidden=min_hidden).double()).train()
    x = torch.randn(3, 16, 6, 5, dtype=torch.float64)
    expected, _ = sk_by_hand(x, m, training=True)
    torch.testing.assert_close(m(x), expected)


@pytest.mark.parametrize("H, W", [(1, 1), (7, 5), (8, 8), (9, 2)])
def test_stride_two_output_size(H, W):
    m = SKAttention(32, stride=2).eval()
    y = m(torch.randn(1, 32, H, W))
    assert y.shape == (1, 32, (H - 1) // 2 + 1, (W - 1) // 2 + 1)


def test_selection_weights_sum_to_one_across_branches():
    m = randomised(SKAttention(64, branches=3))
    a = m.selection_weights(torch.randn(2, 64, 5, 5))
    assert a.shape == (2, 3, 64, 1, 1) and bool((a > 0).all())
    torch.testing.assert_close(a.sum(dim=1), torch.ones(2, 64, 1, 1))


def test_branches_are_3x3_with_growing_dilation():
    m = SKAttention(64, branches=3, stride=2)
    for i, branch in enumerate(m.branches):
        conv = branch[0]
        assert conv.kernel_size == (3, 3)
        assert conv.dilation == conv.padding == (i + 1, i + 1)
        assert conv.stride == (2, 2) and conv.groups == 32 and conv.bias is None


@pytest.mark.parametrize("C, M, G, r, L",
                         [(64, 2, 32, 16, 32), (256, 2, 32, 16, 32), (1024, 2, 32, 16, 32), (48, 3, 4, 4, 8)])
def test_parameter_count(C, M, G, r, L):
    d = max(C // r, L)
    branch = C * (C // G) * 9 + 2 * C
    expected = M * branch + C * d + 2 * d + M * d * C
    m = SKAttention(C, branches=M, groups=G, reduction=r, min_hidden=L)
    assert sum(p.numel() for p in m.parameters()) == expected


def test_resnext50_with_sk_matches_timm_count():
    """SK replaces conv2, bn2 and its ReLU of ResNeXt-50 32x4d (25,028,904 parameters); widths
    128, 256, 512, 1024 with 3, 4, 6, 3 blocks. timm's skresnext50_32x4d has 27,479,784."""
    added = 0
    for width, blocks in [(128, 3), (256, 4), (512, 6), (1024, 3)]:
        sk = sum(p.numel() for p in SKAttention(width).parameters())
        replaced = width * (width // 32) * 9 + 2 * width
        added += blocks * (sk - replaced)
    assert 25_028_904 + added == 27_479_784


def test_errors_name_the_constraint():
    with pytest.raises(ValueError, match=r"divisible by 32.*32 or 64.*groups=24 would work"):
        SKAttention(48)
    for option in ["branches", "groups", "stride", "min_hidden", "reduction"]:
        with pytest.raises(ValueError, match=f"{option} must be a positive integer"):
            SKAttention(64, **{option: 0})
