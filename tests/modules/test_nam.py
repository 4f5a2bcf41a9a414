"""NAM against the paper's equations written out per channel: BatchNorm in closed form,
w_c = |γ_c| / Σ_j |γ_j| by an explicit sum, gate σ(w_c · BN(x)_c)."""

import pytest
import torch
from torch import nn

from attn_course.modules.nam import NAMAttention, nam_sparsity_penalty

from .conftest import SHAPES

RESNET50_STAGES = [(3, 256), (4, 512), (6, 1024), (3, 2048)]


def nam_gate_by_hand(x, bn, training=False, detach_weights=True):
    """σ(w_c · BN(x)_c), channel by channel; BN with batch statistics (biased) when training."""
    B, C, H, W = x.shape
    gamma = bn.weight.detach() if detach_weights else bn.weight
    total = sum(abs(gamma[j]) for j in range(C))
    gate = torch.empty_like(x)
    for c in range(C):
        xc = x[:, c]
        if training:
            mean = xc.sum() / xc.numel()
            var = ((xc - mean) ** 2).sum() / xc.numel()
        else:
            mean, var = bn.running_mean[c], bn.running_var[c]
        normalised = (xc - mean) / torch.sqrt(var + bn.eps) * bn.weight[c] + bn.bias[c]
        gate[:, c] = 1 / (1 + torch.exp(-abs(gamma[c]) / total * normalised))
    return gate


def randomise(m):
    with torch.no_grad():
        m.bn.weight.normal_(std=2.0)
        m.bn.bias.normal_()
        m.bn.running_mean.normal_()
        m.bn.running_var.uniform_(0.5, 2.0)
    return m


@pytest.mark.parametrize("shape", SHAPES)
def test_matches_equations_in_eval_mode(shape):
    m = randomise(NAMAttention(shape[1]).double()).eval()
    x = 2 * torch.randn(shape, dtype=torch.float64)
    gate = nam_gate_by_hand(x, m.bn)
    torch.testing.assert_close(m.gate(x), gate)
    torch.testing.assert_close(m(x), x * gate)


def test_matches_equations_in_train_mode():
    m = randomise(NAMAttention(16).double()).train()
    x = 2 * torch.randn(3, 16, 4, 5, dtype=torch.float64)
    expected = x * nam_gate_by_hand(x, m.bn, training=True)
    torch.testing.assert_close(m(x), expected)


def test_weights_are_detached_as_in_the_official_code():
    m = randomise(NAMAttention(8).double()).train()
    x = torch.randn(2, 8, 3, 4, dtype=torch.float64)
    (m(x) ** 2).sum().backward()
    expected = torch.autograd.grad((x * nam_gate_by_hand(x, m.bn, training=True)).square().sum(),
                                   m.bn.weight)[0]
    torch.testing.assert_close(m.bn.weight.grad, expected)
    with_weight_grad = torch.autograd.grad(
        (x * nam_gate_by_hand(x, m.bn, training=True, detach_weights=False)).square().sum(),
        m.bn.weight)[0]
    assert not torch.allclose(m.bn.weight.grad, with_weight_grad)


def test_gate_is_about_one_half_at_init():
    m = NAMAttention(64).eval()
    with torch.no_grad():
        g = m.gate(torch.randn(2, 64, 6, 6))
    assert float((g - 0.5).abs().max()) < 0.05


def test_parameter_counts():
    assert sum(p.numel() for p in NAMAttention(256).parameters()) == 2 * 256
    # docs/paper_facts.md: NAM-ResNet-50 (channel branch) adds 30,208 to ResNet-50.
    total = sum(n * sum(p.numel() for p in NAMAttention(c).parameters())
                for n, c in RESNET50_STAGES)
    assert total == 25_587_240 - 25_557_032


def test_sparsity_penalty_sums_every_nam_scale_factor():
    model = nn.Sequential(NAMAttention(8), nn.Conv2d(8, 16, 1), nn.BatchNorm2d(16),
                          nn.Sequential(NAMAttention(16)))
    nams = [model[0], model[3][0]]
    for m in nams:
        randomise(m)
    expected = 1e-3 * sum(abs(g) for m in nams for g in m.bn.weight.tolist())
    penalty = nam_sparsity_penalty(model, weight=1e-3)
    assert penalty.shape == () and abs(penalty.item() - expected) < 1e-9
    penalty.backward()
    for m in nams:
        torch.testing.assert_close(m.bn.weight.grad, 1e-3 * m.bn.weight.sign())
    assert model[2].weight.grad is None   # an ordinary BatchNorm is not penalised
    torch.testing.assert_close(nam_sparsity_penalty(NAMAttention(4)), torch.tensor(4e-4))
    assert float(nam_sparsity_penalty(nn.Conv2d(3, 3, 1))) == 0.0
    with pytest.raises(ValueError, match="non-negative"):
        nam_sparsity_penalty(model, weight=-1.0)


def test_errors_name_the_constraint():
    with pytest.raises(TypeError):
        NAMAttention(64, no_spatial=True)   # no flag without a spatial branch behind it
