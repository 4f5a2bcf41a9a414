"""ShuffleAttention against SA-Net's equations written out group by group with Python loops."""

import pytest
import torch

from attn_course.modules.shuffle import ShuffleAttention, channel_shuffle

from .conftest import SHAPES


def shuffle_by_index(x, groups):
    """Output channel j·groups + g takes input channel g·n + j (n channels per group)."""
    C = x.shape[1]
    n = C // groups
    out = torch.empty_like(x)
    for g in range(groups):
        for j in range(n):
            out[:, j * groups + g] = x[:, g * n + j]
    return out


def shuffle_attention_by_hand(x, m):
    """Loop over the G groups; each group's first half gets the channel gate, its second half the
    spatial gate with an instance norm written out (biased variance, eps of the GroupNorm)."""
    B, C, H, W = x.shape
    G = m.groups
    c = C // (2 * G)
    cw, cb = m.cweight.flatten(), m.cbias.flatten()
    sw, sb = m.sweight.flatten(), m.sbias.flatten()
    gn_w, gn_b, eps = m.gn.weight, m.gn.bias, m.gn.eps
    sigmoid = lambda t: 1 / (1 + torch.exp(-t))
    refined = torch.empty_like(x)
    for g in range(G):
        start = g * 2 * c
        for j in range(c):
            ch = x[:, start + j]                                    # (B, H, W)
            mean = ch.sum(dim=(1, 2)) / (H * W)
            refined[:, start + j] = ch * sigmoid(cw[j] * mean + cb[j])[:, None, None]
        for j in range(c):
            ch = x[:, start + c + j]
            mean = ch.mean(dim=(1, 2), keepdim=True)
            var = ((ch - mean) ** 2).mean(dim=(1, 2), keepdim=True)
            normed = (ch - mean) / torch.sqrt(var + eps) * gn_w[j] + gn_b[j]
            refined[:, start + c + j] = ch * sigmoid(sw[j] * normed + sb[j])
    return shuffle_by_index(refined, 2)


def randomised(m):
    for p in m.parameters():
        torch.nn.init.normal_(p, std=0.7)
    return m


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("groups", [1, 4, 16])
def test_matches_equations(shape, groups):
    m = randomised(ShuffleAttention(shape[1], groups=groups).double())
    x = torch.randn(shape, dtype=torch.float64)
    torch.testing.assert_close(m(x), shuffle_attention_by_hand(x, m))


def test_gate_is_in_input_order_and_forward_shuffles_it():
    m = randomised(ShuffleAttention(32, groups=4).double())
    x = torch.randn(2, 32, 5, 3, dtype=torch.float64)
    g = m.gate(x)
    assert g.shape == x.shape and bool(((g > 0) & (g < 1)).all())
    torch.testing.assert_close(m(x), shuffle_by_index(x * g, 2))
    channel_half = g[:, 0:4]                      # group 0, channel branch: constant over H, W
    torch.testing.assert_close(channel_half, channel_half[:, :, :1, :1].expand_as(channel_half))


def test_every_gate_is_sigmoid_one_at_init():
    m = ShuffleAttention(128)
    g = m.gate(torch.randn(2, 128, 6, 6))
    torch.testing.assert_close(g, torch.full_like(g, 1 / (1 + torch.exp(torch.tensor(-1.0)).item())))


@pytest.mark.parametrize("C, G", [(128, 64), (256, 64), (2048, 64), (64, 8)])
def test_parameter_count_is_six_c_over_2g(C, G):
    m = ShuffleAttention(C, groups=G)
    assert sum(p.numel() for p in m.parameters()) == 6 * C // (2 * G)
    for name in ["cweight", "cbias", "sweight", "sbias"]:
        assert getattr(m, name).shape == (1, C // (2 * G), 1, 1)


def test_sa_resnet50_adds_708_parameters():
    """Bottleneck outputs 256, 512, 1024, 2048 with 3, 4, 6, 3 blocks, G = 64 (docs/paper_facts.md;
    the abstract's "300" is not what the official code builds)."""
    added = sum(n * sum(p.numel() for p in ShuffleAttention(C).parameters())
                for C, n in [(256, 3), (512, 4), (1024, 6), (2048, 3)])
    assert added == 708


def test_channel_shuffle_is_a_plain_function():
    """Regression: the blog defines the shuffle inside the class without @staticmethod (TypeError)."""
    x = torch.arange(2 * 12 * 2 * 3, dtype=torch.float64).reshape(2, 12, 2, 3)
    for groups in [1, 2, 3, 4]:
        torch.testing.assert_close(channel_shuffle(x, groups), shuffle_by_index(x, groups))
    two_groups = channel_shuffle(torch.arange(6.).reshape(1, 6, 1, 1), 2)
    assert two_groups.flatten().tolist() == [0, 3, 1, 4, 2, 5]


def test_errors_name_the_constraint():
    with pytest.raises(ValueError,
                       match=r"divisible by 128 \(2·groups.*nearest valid values are 128.*groups=32"):
        ShuffleAttention(64)
    with pytest.raises(ValueError, match=r"64 or 72.*groups=3 would work"):
        ShuffleAttention(66, groups=4)
    with pytest.raises(ValueError, match="odd channel count"):
        ShuffleAttention(63, groups=4)
    with pytest.raises(ValueError, match="groups must be a positive integer"):
        ShuffleAttention(64, groups=0)
