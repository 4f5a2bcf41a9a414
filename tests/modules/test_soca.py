"""SOCA and its two matrix steps against independent definitions: the covariance as a double loop
over pairs of samples, Newton–Schulz as a textbook loop per matrix, the exact root from an
eigendecomposition, and autograd's own gradients (gradcheck, plain autograd through the same ops)."""

import math

import pytest
import torch

from attn_course import create_attention
from attn_course.modules.soca import (SOCA, CovariancePooling, NewtonSchulzSqrt, covariance,
                                      newton_schulz_sqrt)

from .conftest import SHAPES

F64 = torch.float64


# ---------------------------------------------------------------- independent definitions

def covariance_by_pairs(x):
    """Σ = 1/(2M²) Σ_m Σ_n (x_m − x_n)(x_m − x_n)ᵀ for one (C, M) matrix of samples (no centring)."""
    C, M = x.shape
    sigma = torch.zeros(C, C, dtype=x.dtype)
    for m in range(M):
        for n in range(M):
            d = x[:, m] - x[:, n]
            sigma += torch.outer(d, d)
    return sigma / (2 * M * M)


def newton_schulz_by_hand(a, iterations):
    """Coupled Newton–Schulz (Higham) on one matrix: Y and Z both updated at every step."""
    C = a.shape[0]
    identity = torch.eye(C, dtype=a.dtype)
    trace = sum(a[i, i] for i in range(C))
    y, z = a / trace, identity
    for _ in range(iterations):
        t = (3 * identity - z @ y) / 2
        y, z = y @ t, t @ z
    return y * torch.sqrt(trace)


def sqrt_by_eigh(a):
    """The exact principal square root V diag(√λ) Vᵀ of a symmetric PSD matrix."""
    eigenvalues, vectors = torch.linalg.eigh(a)
    return vectors @ torch.diag(eigenvalues.clamp(min=0).sqrt()) @ vectors.T


def soca_by_hand(x, w_down, b_down, w_up, b_up, iterations):
    """y = x · σ(W_up ReLU(W_down z + b_down) + b_up), z_c = mean_i S_ic, per sample; Σ by torch.cov."""
    B, C, H, W = x.shape
    out = torch.empty_like(x)
    for b in range(B):
        samples = x[b].reshape(C, H * W)
        sigma = torch.cov(samples, correction=0)
        root = newton_schulz_by_hand(sigma, iterations) if sigma.trace() != 0 else sigma
        z = torch.stack([root[:, c].sum() / C for c in range(C)])
        hidden = torch.clamp(w_down @ z + b_down, min=0)
        g = 1 / (1 + torch.exp(-(w_up @ hidden + b_up)))
        for c in range(C):
            out[b, c] = x[b, c] * g[c]
    return out


def random_spd(batch, channels, samples):
    """A covariance of random samples plus a small ridge: SPD, trace far from 0."""
    x = torch.randn(batch, channels, samples, dtype=F64)
    return covariance(x) + 0.1 * torch.eye(channels, dtype=F64)


def relative_error(p, q):
    return (torch.linalg.matrix_norm(p - q) / torch.linalg.matrix_norm(q)).max().item()


def soca_with_random_weights(channels, **options):
    m = SOCA(channels, **options).double()
    for p in m.parameters():
        torch.nn.init.normal_(p, std=0.5)
    return m


# ---------------------------------------------------------------- covariance pooling

@pytest.mark.parametrize("pool", [CovariancePooling.apply, covariance], ids=["custom", "plain"])
@pytest.mark.parametrize("size", [(2, 4, 5), (1, 6, 9), (3, 5, 1)])
def test_covariance_matches_pairwise_double_loop(pool, size):
    x = torch.randn(size, dtype=F64)
    sigma = pool(x)
    for b in range(size[0]):
        torch.testing.assert_close(sigma[b], covariance_by_pairs(x[b]))
        torch.testing.assert_close(sigma[b], torch.cov(x[b], correction=0))


@pytest.mark.parametrize("size", [(2, 4, 5), (2, 5, 7), (2, 6, 9)])
def test_covariance_gradcheck(size):
    x = torch.randn(size, dtype=F64, requires_grad=True)
    assert torch.autograd.gradcheck(CovariancePooling.apply, (x,))


def test_covariance_backward_equals_autograd_for_any_upstream_gradient():
    x = torch.randn(2, 5, 8, dtype=F64, requires_grad=True)
    upstream = torch.randn(2, 5, 5, dtype=F64)      # not symmetric on purpose
    custom, = torch.autograd.grad(CovariancePooling.apply(x), x, upstream)
    plain, = torch.autograd.grad(covariance(x), x, upstream)
    torch.testing.assert_close(custom, plain)


# ---------------------------------------------------------------- Newton–Schulz square root

@pytest.mark.parametrize("sqrtm", [NewtonSchulzSqrt.apply, newton_schulz_sqrt], ids=["custom", "plain"])
@pytest.mark.parametrize("iterations", [1, 2, 5])
def test_newton_schulz_matches_plain_loop(sqrtm, iterations):
    a = random_spd(3, 5, 8)
    root = sqrtm(a, iterations)
    for b in range(3):
        torch.testing.assert_close(root[b], newton_schulz_by_hand(a[b], iterations))


@pytest.mark.parametrize("iterations", [1, 2, 5])
@pytest.mark.parametrize("channels", [4, 6])
def test_newton_schulz_gradcheck(iterations, channels):
    a = random_spd(2, channels, 7).requires_grad_()
    assert torch.autograd.gradcheck(lambda m: NewtonSchulzSqrt.apply(m, iterations), (a,))


@pytest.mark.parametrize("iterations", [1, 2, 3, 5, 8])
def test_newton_schulz_backward_equals_autograd_through_the_same_iteration(iterations):
    a = random_spd(2, 6, 9).requires_grad_()
    upstream = torch.randn(2, 6, 6, dtype=F64)
    custom, = torch.autograd.grad(NewtonSchulzSqrt.apply(a, iterations), a, upstream)
    plain, = torch.autograd.grad(newton_schulz_sqrt(a, iterations), a, upstream)
    torch.testing.assert_close(custom, plain)


def test_gradcheck_of_the_whole_matrix_pipeline():
    x = torch.randn(2, 4, 9, dtype=F64, requires_grad=True)
    assert torch.autograd.gradcheck(
        lambda s: NewtonSchulzSqrt.apply(CovariancePooling.apply(s), 5), (x,))


def test_twenty_steps_are_a_square_root():
    sigma = covariance(torch.randn(4, 12, 144, dtype=F64))
    root = NewtonSchulzSqrt.apply(sigma, 20)
    assert relative_error(root @ root, sigma) < 1e-10
    exact = torch.stack([sqrt_by_eigh(s) for s in sigma])
    assert relative_error(root, exact) < 1e-10


def test_five_steps_are_not_an_exact_square_root():
    """SAN's N = 5 leaves a relative error of order 10⁻² on a random covariance: by design."""
    sigma = covariance(torch.randn(4, 12, 144, dtype=F64))
    root = NewtonSchulzSqrt.apply(sigma, 5)
    assert 5e-3 < relative_error(root @ root, sigma) < 5e-2


@pytest.mark.parametrize("iterations", [1, 5])
@pytest.mark.parametrize("sqrtm", [NewtonSchulzSqrt.apply, newton_schulz_sqrt], ids=["custom", "plain"])
def test_zero_matrix_has_zero_root_and_finite_gradient(sqrtm, iterations):
    a = torch.zeros(2, 4, 4, dtype=F64, requires_grad=True)
    root = sqrtm(a, iterations)
    assert torch.equal(root, torch.zeros_like(root))
    grad, = torch.autograd.grad(root.sum(), a)
    assert bool(grad.isfinite().all())


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_buffers_follow_the_input_dtype(dtype):
    """Blog bug: iteration buffers made as float32 whatever the input; float64 then fails."""
    a = random_spd(2, 5, 8).to(dtype).requires_grad_()
    root = NewtonSchulzSqrt.apply(a, 5)
    root.sum().backward()
    assert root.dtype == dtype and a.grad.dtype == dtype


def test_one_iteration_forward_and_backward():
    """Blog bug: N = 1 returned the wrong matrix and its backward hit an undefined name."""
    a = random_spd(2, 5, 8).requires_grad_()
    trace = a.diagonal(dim1=-2, dim2=-1).sum(-1)[:, None, None]
    y0 = a / trace
    expected = y0 @ (3 * torch.eye(5, dtype=F64) - y0) / 2 * trace.sqrt()
    torch.testing.assert_close(NewtonSchulzSqrt.apply(a, 1), expected)
    custom, = torch.autograd.grad(NewtonSchulzSqrt.apply(a, 1).sum(), a)
    closed_form, = torch.autograd.grad(expected.sum(), a)
    torch.testing.assert_close(custom, closed_form)


def test_matrix_step_errors_name_the_shape():
    with pytest.raises(ValueError, match=r"\(B, C, C\).*\(2, 4, 5\)"):
        NewtonSchulzSqrt.apply(torch.randn(2, 4, 5), 5)
    with pytest.raises(ValueError, match=r"\(B, C, M\).*\(4, 5\)"):
        CovariancePooling.apply(torch.randn(4, 5))
    with pytest.raises(ValueError, match="iterations must be a positive integer"):
        NewtonSchulzSqrt.apply(random_spd(1, 3, 4), 0)


# ---------------------------------------------------------------- the SOCA module

@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("use_custom_autograd", [True, False])
def test_matches_equations(shape, use_custom_autograd):
    C = shape[1]
    m = soca_with_random_weights(C, use_custom_autograd=use_custom_autograd)
    x = torch.randn(shape, dtype=F64)
    expected = soca_by_hand(x, m.conv_down.weight.flatten(1), m.conv_down.bias,
                            m.conv_up.weight.flatten(1), m.conv_up.bias, iterations=5)
    torch.testing.assert_close(m(x), expected)


@pytest.mark.parametrize("iterations", [1, 3])
def test_matches_equations_with_other_options(iterations):
    m = soca_with_random_weights(16, reduction=4, iterations=iterations)
    x = torch.randn(2, 16, 5, 3, dtype=F64)
    expected = soca_by_hand(x, m.conv_down.weight.flatten(1), m.conv_down.bias,
                            m.conv_up.weight.flatten(1), m.conv_up.bias, iterations=iterations)
    torch.testing.assert_close(m(x), expected)


def test_custom_and_plain_autograd_give_the_same_gradients():
    x = torch.randn(2, 16, 5, 7, dtype=F64)
    grads = []
    for use_custom_autograd in (True, False):
        torch.manual_seed(1)
        m = soca_with_random_weights(16, reduction=4, use_custom_autograd=use_custom_autograd)
        xi = x.clone().requires_grad_()
        m(xi).square().sum().backward()
        grads.append([xi.grad] + [p.grad for p in m.parameters()])
    for custom, plain in zip(*grads):
        torch.testing.assert_close(custom, plain)


@pytest.mark.parametrize("use_custom_autograd", [True, False])
def test_one_by_one_map_gives_finite_values_and_gradients(use_custom_autograd):
    """A 1×1 map has zero covariance: z = 0 and the gate is σ(W_up ReLU(b_down) + b_up)."""
    m = soca_with_random_weights(8, reduction=2, use_custom_autograd=use_custom_autograd)
    x = torch.randn(3, 8, 1, 1, dtype=F64, requires_grad=True)
    expected_gate = torch.sigmoid(m.conv_up.weight.flatten(1) @ torch.relu(m.conv_down.bias)
                                  + m.conv_up.bias)
    torch.testing.assert_close(m.gate(x), expected_gate.expand(3, 8)[..., None, None])
    m(x).sum().backward()
    assert bool(x.grad.isfinite().all())
    assert all(bool(p.grad.isfinite().all()) for p in m.parameters())


def test_matrix_part_runs_in_float32_under_autocast():
    m = SOCA(16, reduction=4)
    x = torch.randn(2, 16, 5, 5)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        z = m.descriptor(x)
    assert z.dtype == torch.float32
    torch.testing.assert_close(z, m.descriptor(x))


def test_parameter_count():
    C, r = 256, 16
    assert sum(p.numel() for p in SOCA(C).parameters()) == 2 * C * C // r + C // r + C


def test_registry_builds_it():
    m = create_attention("soca", 32, reduction=8, iterations=3)
    assert isinstance(m, SOCA) and m.iterations == 3 and m.conv_down.out_channels == 4


def test_errors_name_the_constraint():
    with pytest.raises(ValueError, match="at most 8"):
        SOCA(8, reduction=16)
    with pytest.raises(ValueError, match="reduction must be a positive integer"):
        SOCA(8, reduction=0)
    for bad in (0, -1, 2.5, True):
        with pytest.raises(ValueError, match="iterations must be a positive integer"):
            SOCA(8, reduction=2, iterations=bad)


def test_blog_regressions_one_iteration_and_float64():
    m = SOCA(8, reduction=2, iterations=1).double()
    x = torch.randn(2, 8, 3, 3, dtype=F64, requires_grad=True)
    out = m(x)
    out.sum().backward()
    assert out.dtype == F64 and bool(x.grad.isfinite().all())
    assert math.isfinite(out.sum().item())
