"""CrissCrossAttention against a brute-force loop over every pixel's row and column."""

import pytest
import torch

from attn_course.modules.criss_cross import CrissCrossAttention

from .conftest import SHAPES


def conv1x1(x, conv):
    return torch.einsum("oc,bchw->bohw", conv.weight.flatten(1), x) + conv.bias[:, None, None]


def criss_cross_by_hand(x, m):
    """One pass: for every pixel list its H + W − 1 criss-cross positions (column without the pixel
    itself, then the whole row), softmax their scores, and sum the values they weigh.

    Returns the output and the (B, H, W, H + W) weights in the module's layout (column slot of the
    pixel itself = 0).
    """
    B, C, H, W = x.shape
    q, k, v = conv1x1(x, m.query), conv1x1(x, m.key), conv1x1(x, m.value)
    out = x.clone()
    maps = torch.zeros(B, H, W, H + W, dtype=x.dtype)
    for b in range(B):
        for h in range(H):
            for w in range(W):
                candidates = [(i, w) for i in range(H) if i != h] + [(h, j) for j in range(W)]
                slots = [i for i in range(H) if i != h] + [H + j for j in range(W)]
                assert len(candidates) == H + W - 1
                scores = torch.stack([q[b, :, h, w] @ k[b, :, i, j] for i, j in candidates])
                weights = torch.exp(scores - scores.max())
                weights = weights / weights.sum()
                aggregate = sum(a * v[b, :, i, j] for a, (i, j) in zip(weights, candidates))
                out[b, :, h, w] = m.gamma * aggregate + x[b, :, h, w]
                maps[b, h, w, slots] = weights
    return out, maps


def randomised(m):
    for p in m.parameters():
        torch.nn.init.normal_(p, std=0.5)
    return m


@pytest.mark.parametrize("shape", SHAPES)
def test_matches_brute_force(shape):
    m = randomised(CrissCrossAttention(shape[1]).double())
    x = torch.randn(shape, dtype=torch.float64)
    expected, expected_maps = criss_cross_by_hand(x, m)
    torch.testing.assert_close(m(x), expected)
    torch.testing.assert_close(m.affinities(x), expected_maps)


@pytest.mark.parametrize("reduction", [1, 4])
def test_recurrence_applies_shared_weights_again(reduction):
    m = randomised(CrissCrossAttention(16, reduction=reduction, recurrence=2).double())
    x = torch.randn(2, 16, 5, 4, dtype=torch.float64)
    once, _ = criss_cross_by_hand(x, m)
    twice, _ = criss_cross_by_hand(once, m)
    torch.testing.assert_close(m(x), twice)
    assert len(list(m.parameters())) == 7          # one set of weights, whatever the recurrence


def test_identity_at_init():
    x = torch.randn(2, 64, 6, 5)
    for recurrence in [1, 2]:
        m = CrissCrossAttention(64, recurrence=recurrence)
        assert m.gamma.item() == 0
        torch.testing.assert_close(m(x), x, rtol=0, atol=0)


@pytest.mark.parametrize("dtype", [torch.float64, torch.float32, torch.bfloat16])
def test_self_mask_follows_input_dtype(dtype):
    """Regression: the official mask is a float32 tensor made with .cuda(); ours follows the input."""
    m = randomised(CrissCrossAttention(16)).to(dtype)
    for H, W in [(1, 1), (1, 6), (5, 1), (4, 7)]:
        x = torch.randn(2, 16, H, W, dtype=dtype)
        maps = m.affinities(x)
        assert maps.dtype == dtype and maps.device == x.device and maps.shape == (2, H, W, H + W)
        assert bool(torch.isfinite(maps).all())
        own_column_slot = maps[:, torch.arange(H), :, torch.arange(H)]
        assert bool((own_column_slot == 0).all())
        torch.testing.assert_close(maps.sum(-1).double(), torch.ones(2, H, W, dtype=torch.float64),
                                   atol=1e-2, rtol=0)


@pytest.mark.parametrize("C, r", [(64, 8), (512, 8), (16, 1), (10, 3)])
def test_parameter_count(C, r):
    inner = C // r
    expected = 2 * (C * inner + inner) + C * C + C + 1
    assert sum(p.numel() for p in CrissCrossAttention(C, reduction=r).parameters()) == expected


def test_cost_grows_as_hw_times_h_plus_w():
    """Each pixel scores H + W positions, against H·W for a non-local block."""
    m = CrissCrossAttention(8)
    for H, W in [(8, 8), (16, 12)]:
        maps = m.affinities(torch.randn(1, 8, H, W))
        assert maps.numel() == H * W * (H + W) < (H * W) ** 2


def test_errors_name_the_constraint():
    with pytest.raises(ValueError, match="at most 4"):
        CrissCrossAttention(4)
    with pytest.raises(ValueError, match="recurrence must be a positive integer"):
        CrissCrossAttention(64, recurrence=0)


def test_batch_size_is_not_a_channel_argument():
    """Regression for the blog's prose: one module serves any batch size."""
    m = randomised(CrissCrossAttention(16).double())
    x = torch.randn(5, 16, 4, 3, dtype=torch.float64)
    torch.testing.assert_close(torch.cat([m(x[i:i + 1]) for i in range(5)]), m(x))
