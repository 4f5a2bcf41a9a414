r"""Covariance pooling and the Newton–Schulz matrix square root, each with a hand-derived backward.

These are the two matrix steps of second-order channel attention (SOCA), Dai et al., "Second-order
Attention Network for Single Image Super-Resolution" (SAN), CVPR 2019; the square root is the
iSQRT-COV iteration of Li et al., "Towards Faster Training of Global Covariance Pooling
Networks by Iterative Matrix Square Root Normalization", CVPR 2018.

Each step comes twice, computing the same numbers with the same operations:

* a plain function (``covariance``, ``newton_schulz_sqrt``) that autograd differentiates by itself;
* a ``torch.autograd.Function`` (``CovariancePooling``, ``NewtonSchulzSqrt``) whose backward is
  written out by hand below, so that the two can be compared (``gradcheck``, memory, time).

Notation: ⟨P, Q⟩ = Σ_ij P_ij Q_ij, and for a product P = A B the chain rule gives
∂L/∂A = (∂L/∂P) Bᵀ and ∂L/∂B = Aᵀ (∂L/∂P). The backward passes use only this rule and never assume
that a matrix is symmetric or that two matrices commute, so they are exact for any input, including
the non-symmetric perturbations ``torch.autograd.gradcheck`` makes.
"""

from __future__ import annotations

import torch
from einops import einsum
from torch.autograd.function import once_differentiable

from ._validation import check_positive_int

__all__ = ["CovariancePooling", "NewtonSchulzSqrt", "covariance", "newton_schulz_sqrt"]


def _check_batch_of_samples(x: torch.Tensor, *, who: str) -> None:
    if not isinstance(x, torch.Tensor) or x.dim() != 3 or not x.is_floating_point():
        got = tuple(x.shape) if isinstance(x, torch.Tensor) else type(x).__name__
        raise ValueError(f"{who}: expected a floating-point tensor of shape (B, C, M), got {got}.")


def _check_batch_of_square_matrices(a: torch.Tensor, *, who: str) -> None:
    if (not isinstance(a, torch.Tensor) or a.dim() != 3 or a.shape[1] != a.shape[2]
            or not a.is_floating_point()):
        got = tuple(a.shape) if isinstance(a, torch.Tensor) else type(a).__name__
        raise ValueError(f"{who}: expected a floating-point tensor of shape (B, C, C), got {got}.")


# ----------------------------------------------------------------------------------------------
# Covariance pooling
# ----------------------------------------------------------------------------------------------

def _centre(x: torch.Tensor) -> torch.Tensor:
    """X Ī · M = X (I − 11ᵀ/M): subtract each channel's mean over the M samples."""
    return x - x.mean(dim=-1, keepdim=True)


def _covariance_of_centred(x_centred: torch.Tensor) -> torch.Tensor:
    return einsum(x_centred, x_centred, "b c m, b d m -> b c d") / x_centred.shape[-1]


def covariance(x: torch.Tensor) -> torch.Tensor:
    """Σ = X Ī Xᵀ of a (B, C, M) batch, differentiated by plain autograd. See ``CovariancePooling``."""
    _check_batch_of_samples(x, who="covariance")
    return _covariance_of_centred(_centre(x))


class CovariancePooling(torch.autograd.Function):
    r"""Σ = X Ī Xᵀ with Ī = (1/M)(I − (1/M) 11ᵀ): the biased covariance of the C channels.

    Input X of shape (B, C, M), the M = H·W positions of a feature map as samples; output Σ of shape
    (B, C, C). SAN's code builds Ī as an M × M matrix; here X Ī = (1/M) X_c is computed by centring,
    X_c = X − mean over M (Ī is the centring projector divided by M), so nothing of size M × M exists.

    Backward. Let G = ∂L/∂Σ (any C × C matrix). A perturbation dX changes Σ by
    dΣ = dX Ī Xᵀ + X Ī dXᵀ, so

        dL = ⟨G, dX Ī Xᵀ⟩ + ⟨G, X Ī dXᵀ⟩ = ⟨G X Īᵀ, dX⟩ + ⟨Gᵀ X Ī, dX⟩,

    and since Ī is symmetric,

        ∂L/∂X = (G + Gᵀ) X Ī = (1/M) (G + Gᵀ) X_c.

    Only X_c is kept for the backward. When G is symmetric (a loss that sees Σ only through
    symmetric use) this is the 2 G X Ī often quoted; the form above is exact for any G.
    """

    @staticmethod
    def forward(ctx, x: torch.Tensor) -> torch.Tensor:
        _check_batch_of_samples(x, who="CovariancePooling")
        x_centred = _centre(x)
        ctx.save_for_backward(x_centred)
        return _covariance_of_centred(x_centred)

    @staticmethod
    @once_differentiable
    def backward(ctx, grad_sigma: torch.Tensor) -> torch.Tensor:
        (x_centred,) = ctx.saved_tensors
        return (grad_sigma + grad_sigma.mT) @ x_centred / x_centred.shape[-1]


# ----------------------------------------------------------------------------------------------
# Newton–Schulz square root
# ----------------------------------------------------------------------------------------------

def _trace_scale(a: torch.Tensor) -> torch.Tensor:
    """s = tr(A), shape (B, 1, 1), with 1 in place of a zero trace.

    A positive semi-definite matrix with zero trace is the zero matrix (the covariance of a 1×1
    map), whose square root is zero. Dividing by 0 would give NaN; dividing by 1 leaves Y₀ = 0, every
    Yₖ = 0, the output exactly 0 and every gradient finite. Where the trace is not zero nothing
    changes.
    """
    trace = torch.diagonal(a, dim1=-2, dim2=-1).sum(dim=-1)
    return trace.masked_fill(trace == 0, 1)[:, None, None]


def _inner(p: torch.Tensor, q: torch.Tensor) -> torch.Tensor:
    """⟨P, Q⟩ per batch element, shape (B, 1, 1)."""
    return (p * q).sum(dim=(-2, -1), keepdim=True)


def _half_three_minus(three_eye: torch.Tensor, product: torch.Tensor) -> torch.Tensor:
    """T = ½ (3I − P)."""
    return 0.5 * (three_eye - product)


def _coupled_iteration(y0: torch.Tensor, iterations: int):
    """Run N steps from Y₀, Z₀ = I; return Y_N, [Y₀ … Y_{N−1}] and [Z₁ … Z_{N−1}].

    Step k computes T_k = ½(3I − Z_{k−1} Y_{k−1}), Y_k = Y_{k−1} T_k and, except at the last step,
    Z_k = T_k Z_{k−1}. The first step uses Z₀ = I, so it needs no product: T₁ = ½(3I − Y₀), Z₁ = T₁.
    """
    three_eye = 3 * torch.eye(y0.shape[-1], dtype=y0.dtype, device=y0.device)
    ys, zs = [y0], []
    t = _half_three_minus(three_eye, y0)
    y, z = y0 @ t, t
    for k in range(2, iterations + 1):
        ys.append(y)
        zs.append(z)
        t = _half_three_minus(three_eye, z @ y)
        y, z = y @ t, (t @ z if k < iterations else None)
    return y, ys, zs


def newton_schulz_sqrt(a: torch.Tensor, iterations: int) -> torch.Tensor:
    """A^{1/2} by N Newton–Schulz steps, differentiated by plain autograd. See ``NewtonSchulzSqrt``."""
    _check_batch_of_square_matrices(a, who="newton_schulz_sqrt")
    check_positive_int(iterations, name="iterations", module="newton_schulz_sqrt")
    scale = _trace_scale(a)
    y_n, _, _ = _coupled_iteration(a / scale, iterations)
    return y_n * scale.sqrt()


class NewtonSchulzSqrt(torch.autograd.Function):
    r"""Approximate square root of a batch of SPD matrices A (B, C, C) by N Newton–Schulz steps.

    ``NewtonSchulzSqrt.apply(a, iterations)``, N = ``iterations`` ≥ 1 (SAN uses 5). Works in any
    floating dtype; every buffer is made with A's dtype and device.

    Forward (iSQRT-COV, as used by SAN):

        s   = tr(A)                                  pre-normalisation, so that ‖A/s‖₂ ≤ 1
        Y₀  = A / s,   Z₀ = I
        T_k = ½ (3I − Z_{k−1} Y_{k−1})
        Y_k = Y_{k−1} T_k,   Z_k = T_k Z_{k−1}       k = 1 … N
        out = √s · Y_N                               post-compensation

    Y_k tends to (A/s)^{1/2} and Z_k to (A/s)^{−1/2}.

    The last step computes only Y_N (Z_N is never used) and the first uses Z₀ = I (T₁ = ½(3I − Y₀),
    Z₁ = T₁), as in the official iSQRT-COV and SAN code. A zero matrix (zero trace, e.g. the
    covariance of a 1×1 map) is divided by 1 instead of 0 and returns exactly 0.

    The iteration converges quadratically only once Y is close to the root; from A/s with small
    eigenvalues it is slow, so N = 5 is *not* an exact square root: on a random covariance
    ‖out² − A‖/‖A‖ grows with C and with the number of positions M (measured on the covariance of
    random features, M = 16 … 4096: about 0.01–0.03 at C = 12, 0.05–0.18 at C = 32, 0.05–0.41 at
    C = 64), and reaching ~10⁻⁷ takes 10 or more steps. SAN trains with the 5-step map as it is; compare against
    Newton–Schulz with the same N, not an eigendecomposition.

    Backward. Write Ȳ_k = ∂L/∂Y_k, Z̄_k = ∂L/∂Z_k, T̄_k = ∂L/∂T_k and G = ∂L/∂out.

    1. Post-compensation out = √s Y_N:  Ȳ_N = √s G,  s̄ = ⟨G, Y_N⟩ / (2√s).
    2. Reverse the recurrence, k = N … 1, starting from Z̄_N = 0 (Z_N is not used). With the
       product rule for Y_k = Y_{k−1} T_k and Z_k = T_k Z_{k−1}, and T_k = ½(3I − Z_{k−1} Y_{k−1}):

           T̄_k     = Y_{k−1}ᵀ Ȳ_k + Z̄_k Z_{k−1}ᵀ
           Ȳ_{k−1} = Ȳ_k T_kᵀ − ½ Z_{k−1}ᵀ T̄_k
           Z̄_{k−1} = T_kᵀ Z̄_k − ½ T̄_k Y_{k−1}ᵀ            (not needed for k = 1: Z₀ = I is fixed)

       For k = 1, Z₀ = I turns the first two lines into T̄₁ = Y₀ᵀ Ȳ₁ + Z̄₁, Ȳ₀ = Ȳ₁ T₁ᵀ − ½ T̄₁.
    3. Pre-normalisation Y₀ = A / s:  Ā += Ȳ₀ / s,  s̄ −= ⟨Ȳ₀, A⟩ / s² = ⟨Ȳ₀, Y₀⟩ / s.
    4. Trace s = tr(A), ∂s/∂A = I:  Ā += s̄ I.

    For a zero A (scale replaced by 1) steps 1 and 3 give s̄ = 0 because Y_N = Y₀ = 0, which is the
    gradient plain autograd finds through the replacement.

    The forward keeps Y₀ … Y_{N−1}, Z₁ … Z_{N−1} and Y_N; the backward recomputes each T_k with one
    product instead of storing it, so this Function holds about two C × C matrices per step where
    plain autograd holds three. SAN's official backward instead uses the symmetric, commuting form
    of these equations (valid for symmetric A and G); the transposes above make it exact for any
    input, so ``gradcheck`` passes with non-symmetric perturbations. The result equals plain
    autograd through ``newton_schulz_sqrt`` to rounding.
    """

    @staticmethod
    def forward(ctx, a: torch.Tensor, iterations: int) -> torch.Tensor:
        _check_batch_of_square_matrices(a, who="NewtonSchulzSqrt")
        check_positive_int(iterations, name="iterations", module="NewtonSchulzSqrt")
        scale = _trace_scale(a)
        y_n, ys, zs = _coupled_iteration(a / scale, iterations)
        ctx.iterations = iterations
        ctx.save_for_backward(scale, y_n, *ys, *zs)
        return y_n * scale.sqrt()

    @staticmethod
    @once_differentiable
    def backward(ctx, grad_out: torch.Tensor):
        scale, y_n, *history = ctx.saved_tensors
        n = ctx.iterations
        ys, zs = history[:n], history[n:]          # Y₀ … Y_{N−1};  Z₁ … Z_{N−1}
        eye = torch.eye(y_n.shape[-1], dtype=y_n.dtype, device=y_n.device)
        three_eye = 3 * eye
        root = scale.sqrt()

        grad_y = grad_out * root                                        # step 1
        grad_scale = _inner(grad_out, y_n) / (2 * root)
        grad_z = None                                                   # Z_N is never used
        for k in range(n, 1, -1):                                       # step 2, k = N … 2
            y, z = ys[k - 1], zs[k - 2]
            t = _half_three_minus(three_eye, z @ y)
            grad_t = y.mT @ grad_y
            if grad_z is not None:
                grad_t = grad_t + grad_z @ z.mT
            grad_z_prev = -0.5 * grad_t @ y.mT
            if grad_z is not None:
                grad_z_prev = grad_z_prev + t.mT @ grad_z
            grad_y, grad_z = grad_y @ t.mT - 0.5 * z.mT @ grad_t, grad_z_prev
        y0 = ys[0]                                                      # step 2, k = 1 (Z₀ = I)
        t = _half_three_minus(three_eye, y0)
        grad_t = y0.mT @ grad_y if grad_z is None else y0.mT @ grad_y + grad_z
        grad_y0 = grad_y @ t.mT - 0.5 * grad_t

        grad_a = grad_y0 / scale                                        # step 3
        grad_scale = grad_scale - _inner(grad_y0, y0) / scale
        grad_a = grad_a + grad_scale * eye                              # step 4
        return grad_a, None
