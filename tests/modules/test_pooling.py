"""The whole-axis pools behind the modules: values against loops, gradients against closed forms."""

import itertools

import pytest
import torch

from attn_course.modules._pooling import channel_max, channel_mean, spatial_max, spatial_mean


def spatial_max_by_loop(x):
    B, C, H, W = x.shape
    out = torch.full((B, C, 1, 1), -torch.inf, dtype=x.dtype)
    for b, c, h, w in itertools.product(range(B), range(C), range(H), range(W)):
        out[b, c, 0, 0] = max(out[b, c, 0, 0], x[b, c, h, w])
    return out


def channel_max_by_loop(x):
    B, C, H, W = x.shape
    out = x[:, :1].clone()
    for c in range(1, C):
        out = torch.maximum(out, x[:, c:c + 1])
    return out


@pytest.mark.parametrize("shape", [(2, 3, 4, 5), (1, 1, 1, 1), (1, 4, 1, 7)], ids=str)
@pytest.mark.parametrize("needs_grad", [False, True], ids=["amax", "indexed"])
def test_values_match_a_loop(shape, needs_grad):
    x = torch.randn(shape, dtype=torch.float64).requires_grad_(needs_grad)
    assert torch.equal(spatial_max(x).detach(), spatial_max_by_loop(x.detach()))
    assert torch.equal(channel_max(x).detach(), channel_max_by_loop(x.detach()))
    with torch.no_grad():                     # grad disabled: the amax path, same numbers
        assert torch.equal(spatial_max(x), spatial_max_by_loop(x.detach()))
        assert torch.equal(channel_max(x), channel_max_by_loop(x.detach()))


def test_gradient_goes_to_the_unique_maximum():
    x = torch.randn(2, 3, 4, 5, dtype=torch.float64, requires_grad=True)
    spatial_max(x).sum().backward()
    expected = (x == spatial_max_by_loop(x.detach())).double()
    assert torch.equal(x.grad, expected)
    x.grad = None
    channel_max(x).sum().backward()
    assert torch.equal(x.grad, (x == channel_max_by_loop(x.detach())).double())


def test_tied_maxima_send_the_whole_gradient_to_one_position():
    """An all-zero map (a dead channel after a ReLU) ties everywhere: one position gets it all."""
    x = torch.zeros(1, 2, 3, 3, requires_grad=True)
    spatial_max(x).sum().backward()
    assert x.grad.flatten(2).sum(-1).tolist() == [[1.0, 1.0]]
    assert (x.grad.flatten(2) == 1).sum(-1).tolist() == [[1, 1]]
    x.grad = None
    channel_max(x).sum().backward()
    assert torch.equal(x.grad.sum(1), torch.ones(1, 3, 3)) and ((x.grad == 1).sum(1) == 1).all()


@pytest.mark.parametrize("shape", [(2, 3, 4, 5), (1, 1, 1, 1), (3, 7, 1, 9)], ids=str)
def test_means_match_a_loop_and_spread_the_gradient_evenly(shape):
    B, C, H, W = shape
    x = torch.randn(shape, dtype=torch.float64, requires_grad=True)
    by_loop_hw = torch.zeros(B, C, 1, 1, dtype=torch.float64)
    by_loop_c = torch.zeros(B, 1, H, W, dtype=torch.float64)
    for b, c, h, w in itertools.product(range(B), range(C), range(H), range(W)):
        by_loop_hw[b, c, 0, 0] += x[b, c, h, w].item() / (H * W)
        by_loop_c[b, 0, h, w] += x[b, c, h, w].item() / C
    torch.testing.assert_close(spatial_mean(x), by_loop_hw)
    torch.testing.assert_close(channel_mean(x), by_loop_c)
    spatial_mean(x).sum().backward()                  # d mean / d x = 1 / (H W) everywhere
    torch.testing.assert_close(x.grad, torch.full_like(x, 1 / (H * W)))
    x.grad = None
    channel_mean(x).sum().backward()
    torch.testing.assert_close(x.grad, torch.full_like(x, 1 / C))


@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16], ids=str)
def test_means_keep_low_precision_dtypes_accurate(dtype):
    x = torch.rand(2, 64, 20, 20).to(dtype)
    assert spatial_mean(x).dtype == dtype and channel_mean(x).dtype == dtype
    torch.testing.assert_close(spatial_mean(x).double(), x.double().mean((2, 3), keepdim=True),
                               atol=1e-2, rtol=1e-2)
