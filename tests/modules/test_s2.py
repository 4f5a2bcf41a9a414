"""S2Attention and its spatial shifts against constructions written plainly in the test:
torch.roll plus a border fix-up, explicit index loops, and S2-MLPv2's equations."""

import math

import pytest
import torch

from attn_course.modules.s2 import S2Attention, spatial_shift_1, spatial_shift_2

from .conftest import SHAPES

H_AXIS, W_AXIS = 2, 3
# (axis, step) per channel quarter; step +1 moves content towards larger indices.
SHIFT_1 = [(W_AXIS, +1), (W_AXIS, -1), (H_AXIS, +1), (H_AXIS, -1)]
SHIFT_2 = [(H_AXIS, +1), (H_AXIS, -1), (W_AXIS, +1), (W_AXIS, -1)]


def quarter_bounds(C):
    """Four near-equal chunks; the first C mod 4 get one channel more."""
    sizes = [C // 4 + (i < C % 4) for i in range(4)]
    starts = [sum(sizes[:i]) for i in range(4)]
    return list(zip(starts, sizes))


def shift_by_roll(x, moves):
    """torch.roll wraps around; put the vacated border row/column back to its original values."""
    out = x.clone()
    for (start, size), (axis, step) in zip(quarter_bounds(x.shape[1]), moves):
        q = x[:, start:start + size]
        rolled = torch.roll(q, shifts=step, dims=axis)
        border = 0 if step > 0 else q.shape[axis] - 1
        index = [slice(None)] * 4
        index[axis] = border
        rolled[tuple(index)] = q[tuple(index)]
        out[:, start:start + size] = rolled
    return out


def shift_by_loops(x, moves):
    """y[c, h, w] = x[c, h − dh, w − dw] where that source exists, else x[c, h, w]."""
    B, C, H, W = x.shape
    out = torch.empty_like(x)
    for (start, size), (axis, step) in zip(quarter_bounds(C), moves):
        dh, dw = (step, 0) if axis == H_AXIS else (0, step)
        for c in range(start, start + size):
            for h in range(H):
                for w in range(W):
                    sh, sw = h - dh, w - dw
                    inside = 0 <= sh < H and 0 <= sw < W
                    out[:, c, h, w] = x[:, c, sh, sw] if inside else x[:, c, h, w]
    return out


def s2_by_hand(x, m):
    C = x.shape[1]
    t = torch.einsum("oc,bchw->bohw", m.mlp1.weight, x) + m.mlp1.bias[:, None, None]
    parts = [shift_by_roll(t[:, :C], SHIFT_1), shift_by_roll(t[:, C:2 * C], SHIFT_2), t[:, 2 * C:]]
    a = sum(p.sum(dim=(2, 3)) for p in parts)                                           # (B, C)
    hidden = a @ m.attn_fc1.weight.T
    hidden = 0.5 * hidden * (1 + torch.erf(hidden / math.sqrt(2)))                       # GELU
    a_hat = hidden @ m.attn_fc2.weight.T                                                 # (B, 3C)
    exps = [torch.exp(a_hat[:, k * C:(k + 1) * C]) for k in range(3)]
    weights = [e / sum(exps) for e in exps]
    mixed = sum(w[:, :, None, None] * p for w, p in zip(weights, parts))
    y = torch.einsum("oc,bchw->bohw", m.mlp2.weight, mixed) + m.mlp2.bias[:, None, None]
    return y, torch.stack(weights, dim=1)


SHIFT_SHAPES = [(1, 8, 1, 1), (2, 8, 1, 5), (1, 6, 4, 1), (2, 5, 3, 4), (1, 3, 5, 5), (1, 1, 2, 3)]


@pytest.mark.parametrize("shape", SHIFT_SHAPES)
@pytest.mark.parametrize("shift, moves", [(spatial_shift_1, SHIFT_1), (spatial_shift_2, SHIFT_2)])
def test_shift_matches_roll_and_loops(shape, shift, moves):
    x = torch.randn(shape, dtype=torch.float64)
    kept = x.clone()
    y = shift(x)
    torch.testing.assert_close(y, shift_by_roll(x, moves), rtol=0, atol=0)
    torch.testing.assert_close(y, shift_by_loops(x, moves), rtol=0, atol=0)
    torch.testing.assert_close(x, kept, rtol=0, atol=0)            # out of place


@pytest.mark.parametrize("C", [4, 7, 64])
@pytest.mark.parametrize("shift, moves", [(spatial_shift_1, SHIFT_1), (spatial_shift_2, SHIFT_2)])
def test_every_interior_element_moves_exactly_one_step(C, shift, moves):
    """Regression: the blog's in-place assignment between overlapping slices smears one column
    over the row. With all-distinct values, every output element must come from exactly one
    step back along its quarter's direction, and the vacated border keeps its own value."""
    B, H, W = 1, 4, 5
    x = torch.arange(B * C * H * W, dtype=torch.float64).reshape(B, C, H, W)
    y = shift(x)
    for (start, size), (axis, step) in zip(quarter_bounds(C), moves):
        dh, dw = (step, 0) if axis == H_AXIS else (0, step)
        for c in range(start, start + size):
            for h in range(H):
                for w in range(W):
                    _, c_src, h_src, w_src = (x == y[0, c, h, w]).nonzero()[0].tolist()
                    on_vacated_border = (h - dh) not in range(H) or (w - dw) not in range(W)
                    expected = (0, 0) if on_vacated_border else (dh, dw)
                    assert c_src == c and (h - h_src, w - w_src) == expected, (c, h, w)
    assert len(torch.unique(y[0, :, 1:-1, 1:-1])) == C * (H - 2) * (W - 2)    # nothing smeared


@pytest.mark.parametrize("shape", SHAPES + [(2, 6, 3, 4), (1, 3, 1, 5), (2, 100, 3, 2)])
def test_matches_equations(shape):
    m = S2Attention(shape[1]).double()
    for p in m.parameters():
        torch.nn.init.normal_(p, std=1 / math.sqrt(shape[1]))
    x = torch.randn(shape, dtype=torch.float64)
    expected, expected_weights = s2_by_hand(x, m)
    torch.testing.assert_close(m(x), expected)
    torch.testing.assert_close(m.split_weights(x), expected_weights)


@pytest.mark.parametrize("C", [64, 96, 100, 512])
def test_any_channel_count_works(C):
    """Regression: the blog's split attention is 512 wide whatever C (shape error for C ≠ 512)."""
    m = S2Attention(C)
    x = torch.randn(2, C, 3, 2)
    y = m(x)
    assert y.shape == x.shape and bool(torch.isfinite(y).all())
    assert m.attn_fc1.weight.shape == (C, C) and m.attn_fc2.weight.shape == (3 * C, C)


@pytest.mark.parametrize("C", [1, 6, 64, 512])
def test_parameter_count(C):
    assert sum(p.numel() for p in S2Attention(C).parameters()) == 8 * C * C + 4 * C


def test_split_weights_sum_to_one():
    m = S2Attention(16)
    a = m.split_weights(torch.randn(2, 16, 5, 3))
    assert a.shape == (2, 3, 16) and bool((a > 0).all())
    torch.testing.assert_close(a.sum(dim=1), torch.ones(2, 16))


@pytest.mark.parametrize("dtype", [torch.float32, torch.bfloat16])
def test_shifts_keep_dtype(dtype):
    x = torch.randn(2, 16, 7, 5, dtype=dtype)
    assert spatial_shift_1(x).dtype == dtype and spatial_shift_2(x).dtype == dtype
