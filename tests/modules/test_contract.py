"""The contract every attention module keeps, checked on one table of configurations.

Each row names a registry key, a small channel count and the options it needs. The tests below run
every generic property on every row: construction through the registry, shape/dtype/device kept
(float32, float64, bfloat16; contiguous and channels_last; train and eval), bfloat16 close to a
float64 copy, channels_last giving the same numbers, the meta device, a gradient reaching every
parameter and the input, ``torch.export``, batch independence, known outputs with all-zero
parameters, the gate's shape and range, and errors naming the expected and the received shape.

Module-specific checks (equations against independent definitions, parameter counts, known answers,
specific errors, blog-bug regressions) stay in the per-module files.
"""

from __future__ import annotations

import copy
import math
from dataclasses import dataclass, field
from typing import Callable

import pytest
import torch
from torch import nn

from attn_course import create_attention
from attn_course.modules.shuffle import channel_shuffle
from attn_course.registry import REGISTRY, attention_class

from .conftest import SHAPES, randomise

F64 = torch.float64


def _half(x):
    return 0.5 * x


def _quarter(x):
    return 0.25 * x


def _identity(x):
    return x


def _zero(x):
    return torch.zeros_like(x)


def _zero_stride2(x):
    B, C, H, W = x.shape
    return x.new_zeros(B, C, (H - 1) // 2 + 1, (W - 1) // 2 + 1)


def _shuffled_half(x):
    return channel_shuffle(0.5 * x, 2)


def _x_times_gate(x, g):
    return x * g


def _shuffled_x_times_gate(x, g):
    return channel_shuffle(x * g, 2)


@dataclass(frozen=True)
class Case:
    """One module configuration and the settings its generic checks need.

    init_std / init_overrides: random weights (normal, std per parameter-name suffix) used wherever
        a test wants every term to matter; BatchNorm running statistics are randomised too.
    bf16_tol: (atol, rtol) of bfloat16 against a float64 copy of the same module.
    bf16_layout_tol: (atol, rtol) of bfloat16 channels_last against bfloat16 contiguous.
    bf16_default_init: compare bfloat16 with default weights instead of random ones.
    grad_at_init: None if every parameter gets a gradient at the default initialisation, else why not.
    at_zero: the output when every parameter is zero (eval mode), None if there are no parameters.
    gate: shape of ``gate(x)``: "channel" (B, C, 1, 1), "spatial" (B, 1, H, W), "full" (B, C, H, W).
    from_gate: forward(x) written with gate(x).
    methods: other public methods taking the feature map (their input is checked as forward's).
    stride: spatial stride of the output (SK replacing a down-sampling conv).
    keeps_channels_last: a channels_last input gives a channels_last output.
    """

    id: str
    key: str
    channels: int
    options: dict = field(default_factory=dict)
    init_std: float = 0.5
    init_overrides: tuple = ()
    bf16_tol: tuple = (0.05, 0.05)
    bf16_layout_tol: tuple = (1e-2, 2e-2)
    bf16_default_init: bool = False
    grad_at_init: str | None = None
    at_zero: Callable | None = _half
    gate: str | None = None
    from_gate: Callable | None = None
    methods: tuple = ()
    stride: int = 1
    keeps_channels_last: bool = True

    def build(self) -> nn.Module:
        return attention_class(self.key)(self.channels, **self.options)

    def out_shape(self, shape):
        B, C, H, W = shape
        s = self.stride
        return (B, C, (H - 1) // s + 1, (W - 1) // s + 1)


SHUFFLE_AT_INIT = "sweight starts at 0, so the GroupNorm's affine parameters get no gradient"
CRISS_CROSS_AT_INIT = "gamma starts at 0, so query, key and value get no gradient"

CASES = [
    Case("se", "se", 32, {"reduction": 4}, gate="channel", from_gate=_x_times_gate),
    Case("eca", "eca", 64, init_std=0.7, gate="channel", from_gate=_x_times_gate),
    Case("eca-fixed-k5", "eca", 32, {"kernel_size": 5}, init_std=0.7, gate="channel",
         from_gate=_x_times_gate),
    Case("channel", "channel", 64, bf16_tol=(0.1, 0.05), gate="channel", from_gate=_x_times_gate),
    Case("spatial", "spatial", 64, bf16_tol=(0.1, 0.05), gate="spatial", from_gate=_x_times_gate),
    Case("spatial-avg_max-no-bn-k3", "spatial", 32,
         {"pool_order": "avg_max", "batchnorm": False, "kernel_size": 3},
         bf16_tol=(0.1, 0.05), gate="spatial", from_gate=_x_times_gate),
    Case("cbam", "cbam", 64, bf16_tol=(0.1, 0.05), at_zero=_quarter),
    Case("cbam-r4", "cbam", 64, {"reduction": 4}, bf16_tol=(0.1, 0.05), at_zero=_quarter),
    Case("cbam-avg_max-no-bn", "cbam", 32,
         {"reduction": 4, "pool_order": "avg_max", "spatial_batchnorm": False},
         bf16_tol=(0.1, 0.05), at_zero=_quarter),
    Case("shuffle-g4", "shuffle", 32, {"groups": 4}, init_std=0.7, at_zero=_shuffled_half,
         grad_at_init=SHUFFLE_AT_INIT, gate="full", from_gate=_shuffled_x_times_gate,
         keeps_channels_last=False),
    Case("shuffle-g2", "shuffle", 8, {"groups": 2}, init_std=0.7, at_zero=_shuffled_half,
         grad_at_init=SHUFFLE_AT_INIT, gate="full", from_gate=_shuffled_x_times_gate,
         keeps_channels_last=False),
    Case("simam", "simam", 64, at_zero=None, gate="full", from_gate=_x_times_gate),
    Case("criss_cross", "criss_cross", 16, at_zero=_identity, methods=("affinities", "attention_maps"),
         grad_at_init=CRISS_CROSS_AT_INIT),
    Case("criss_cross-recurrence2", "criss_cross", 16, {"recurrence": 2}, at_zero=_identity,
         methods=("affinities", "attention_maps"), grad_at_init=CRISS_CROSS_AT_INIT),
    Case("sk", "sk", 32, {"groups": 8}, init_std=0.3, at_zero=_zero,
         methods=("selection_weights",), keeps_channels_last=False),
    Case("sk-small", "sk", 16, {"groups": 4, "min_hidden": 4}, init_std=0.3, at_zero=_zero,
         methods=("selection_weights",), keeps_channels_last=False),
    Case("sk-3-branches", "sk", 16, {"groups": 4, "min_hidden": 4, "branches": 3}, init_std=0.3,
         at_zero=_zero, methods=("selection_weights",), keeps_channels_last=False),
    Case("sk-stride2", "sk", 32, {"groups": 8, "stride": 2}, init_std=0.3, at_zero=_zero_stride2,
         methods=("selection_weights",), stride=2, keeps_channels_last=False),
    Case("s2", "s2", 16, init_std=0.25, at_zero=_zero, methods=("split_weights",),
         bf16_layout_tol=(0.1, 0.05)),
    Case("s2-c10", "s2", 10, init_std=1 / math.sqrt(10), at_zero=_zero,
         methods=("split_weights",), bf16_layout_tol=(0.1, 0.05)),
    Case("nam", "nam", 64, init_std=1.0, init_overrides=(("bn.weight", 2.0),), gate="full",
         from_gate=_x_times_gate),
    Case("soca", "soca", 16, {"reduction": 4}, bf16_tol=(0.02, 0.02), bf16_default_init=True,
         gate="channel", from_gate=_x_times_gate, methods=("descriptor",)),
    Case("soca-c32", "soca", 32, {"reduction": 4}, bf16_tol=(0.02, 0.02), bf16_default_init=True,
         gate="channel", from_gate=_x_times_gate, methods=("descriptor",)),
    Case("soca-plain-autograd", "soca", 32, {"reduction": 4, "use_custom_autograd": False},
         bf16_tol=(0.02, 0.02), bf16_default_init=True, gate="channel", from_gate=_x_times_gate,
         methods=("descriptor",)),
    Case("gam", "gam", 32, init_std=0.3, bf16_tol=(0.1, 0.05), at_zero=_quarter,
         methods=("channel_gate", "spatial_gate")),
    Case("gam-grouped", "gam", 32, {"grouped": True}, init_std=0.3, bf16_tol=(0.1, 0.05),
         at_zero=_quarter, methods=("channel_gate", "spatial_gate")),
]
CASE_IDS = [case.id for case in CASES]
cases = pytest.mark.parametrize("case", CASES, ids=CASE_IDS)


def random_module(case: Case, dtype=torch.float32) -> nn.Module:
    return randomise(case.build().to(dtype), case.init_std, case.init_overrides)


def feature_map(case: Case, B=2, H=7, W=5, dtype=torch.float32):
    return torch.randn(B, case.channels, H, W, dtype=dtype)


# ---------------------------------------------------------------- the table itself

def test_every_registry_key_has_a_case():
    assert {case.key for case in CASES} == set(REGISTRY)
    assert len(set(CASE_IDS)) == len(CASE_IDS)


# ---------------------------------------------------------------- construction

@cases
def test_registry_builds_the_same_module(case):
    m = create_attention(case.key, case.channels, **case.options)
    assert type(m) is attention_class(case.key)
    assert repr(m) == repr(case.build())
    assert ({n: p.shape for n, p in m.state_dict().items()}
            == {n: p.shape for n, p in case.build().state_dict().items()})
    with pytest.raises(ValueError, match="positive integer"):
        create_attention(case.key, 0, **case.options)


# ---------------------------------------------------------------- shape, dtype, device, layout

@cases
@pytest.mark.parametrize("training", [True, False], ids=["train", "eval"])
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64, torch.bfloat16], ids=str)
def test_shape_dtype_device_and_layout_kept(case, dtype, training):
    m = case.build().to(dtype).train(training)
    x = feature_map(case, dtype=dtype)
    for inp in [x, x.to(memory_format=torch.channels_last)]:
        y = m(inp)
        assert y.shape == case.out_shape(x.shape) and y.dtype == dtype and y.device == x.device
        assert bool(torch.isfinite(y).all())
    assert y.is_contiguous(memory_format=torch.channels_last) == case.keeps_channels_last


@cases
@pytest.mark.parametrize("shape", SHAPES, ids=str)
def test_batch_one_one_pixel_and_odd_sizes(case, shape):
    B, _, H, W = shape
    m = random_module(case, F64).eval()
    x = feature_map(case, B, H, W, dtype=F64)
    y = m(x)
    assert y.shape == case.out_shape(x.shape) and bool(torch.isfinite(y).all())


@cases
def test_channels_last_gives_the_same_numbers(case):
    m = random_module(case).eval()
    x = feature_map(case)
    y_cl = m(x.to(memory_format=torch.channels_last))
    assert y_cl.is_contiguous(memory_format=torch.channels_last) == case.keeps_channels_last
    torch.testing.assert_close(y_cl, m(x))


@cases
def test_bfloat16_close_to_float64_and_channels_last(case):
    m = case.build() if case.bf16_default_init else random_module(case)
    m = m.eval().to(torch.bfloat16)
    x = feature_map(case).to(torch.bfloat16)
    y = m(x)
    assert y.dtype == torch.bfloat16 and y.device == x.device
    reference = copy.deepcopy(m).double()(x.double())
    atol, rtol = case.bf16_tol
    torch.testing.assert_close(y.double(), reference, atol=atol, rtol=rtol)
    y_cl = m(x.to(memory_format=torch.channels_last))
    assert y_cl.is_contiguous(memory_format=torch.channels_last) == case.keeps_channels_last
    atol, rtol = case.bf16_layout_tol                           # bfloat16 sums in another order
    torch.testing.assert_close(y_cl, y, atol=atol, rtol=rtol)


@cases
def test_float32_close_to_float64(case):
    m = random_module(case).eval()
    x = feature_map(case)
    reference = copy.deepcopy(m).double()(x.double())
    torch.testing.assert_close(m(x).double(), reference, atol=1e-5, rtol=1.3e-6)


@cases
@pytest.mark.parametrize("dtype", [torch.float32, torch.float16], ids=str)
@pytest.mark.parametrize("training", [True, False], ids=["train", "eval"])
def test_follows_the_input_device(case, dtype, training):
    m = case.build().train(training).to("meta", dtype)
    x = torch.empty(2, case.channels, 4, 4, device="meta", dtype=dtype)
    y = m(x)
    assert y.device.type == "meta" and y.dtype == dtype and y.shape == case.out_shape(x.shape)


# ---------------------------------------------------------------- gradients, export, batches

@cases
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64], ids=str)
@pytest.mark.parametrize("init", ["default", "random"])
def test_gradient_reaches_every_parameter_and_the_input(case, init, dtype):
    if init == "default" and case.grad_at_init:
        pytest.skip(case.grad_at_init)
    m = (case.build().to(dtype) if init == "default" else random_module(case, dtype)).train()
    x = feature_map(case, 3, 5, 4, dtype=dtype).requires_grad_()
    m(x).square().sum().backward()
    for name, p in m.named_parameters():
        assert p.grad is not None and bool(p.grad.isfinite().all()), name
        assert p.grad.abs().sum() > 0, name
    assert bool(x.grad.isfinite().all()) and x.grad.abs().sum() > 0


@cases
@pytest.mark.parametrize("size", [(2, 7, 5), (1, 1, 1)], ids=str)
def test_torch_export_matches_eager(case, size):
    B, H, W = size
    m = random_module(case, F64).eval()
    x = feature_map(case, B, H, W, dtype=F64)
    exported = torch.export.export(m, (x,))
    torch.testing.assert_close(exported.module()(x), m(x))


@cases
@pytest.mark.parametrize("training", [False, True], ids=["eval", "train"])
def test_torch_fx_symbolic_trace_matches_eager(case, training):
    m = random_module(case, F64).train(training)
    x = feature_map(case, 2, 7, 5, dtype=F64)
    traced = torch.fx.symbolic_trace(m)
    torch.manual_seed(0)
    expected = m(x)
    torch.testing.assert_close(traced(x), expected)
    with pytest.raises(ValueError, match=rf"\(B, {case.channels}, H, W\)"):   # eager keeps its checks
        m(torch.randn(2, case.channels + 1, 5, 5, dtype=F64))


# The maps that are not a gate on x: criss-cross's per-query weights over each query's column and row.
PER_QUERY_MAPS = {"criss_cross": {"column", "row"}}


@cases
def test_attention_maps_name_maps_that_broadcast_against_x(case):
    m = random_module(case, F64).eval()
    x = feature_map(case, 2, 6, 5, dtype=F64)
    maps = m.attention_maps(x)
    assert isinstance(maps, dict) and maps and all(isinstance(k, str) for k in maps)
    B, C, H, W = x.shape
    for name, value in maps.items():
        assert isinstance(value, torch.Tensor) and value.dtype == x.dtype, name
        assert bool(value.isfinite().all()), name
        if name in PER_QUERY_MAPS.get(case.key, ()):
            assert value.shape[:3] == (B, H, W), name
            continue
        assert value.dim() == 4 and value.shape[0] == B, name
        out = case.out_shape(x.shape)
        assert torch.broadcast_shapes(value.shape, out) == out, (name, tuple(value.shape))
    if hasattr(m, "gate"):
        (only,) = maps.values()
        torch.testing.assert_close(only, m.gate(x))


@cases
def test_samples_do_not_mix_in_eval_mode(case):
    m = random_module(case, F64).eval()
    x = feature_map(case, 4, 5, 4, dtype=F64)
    torch.testing.assert_close(torch.cat([m(x[i:i + 1]) for i in range(4)]), m(x))


# ---------------------------------------------------------------- known answers shared by all

@cases
def test_zero_parameters_give_the_known_output(case):
    if case.at_zero is None:
        pytest.skip("no parameters")
    m = case.build().eval()
    for p in m.parameters():
        nn.init.zeros_(p)
    x = feature_map(case, 2, 5, 3)
    torch.testing.assert_close(m(x), case.at_zero(x))


@cases
def test_gate_shape_range_and_forward(case):
    if case.gate is None:
        pytest.skip("no single gate method")
    m = random_module(case, F64).eval()
    x = feature_map(case, 2, 5, 3, dtype=F64)
    g = m.gate(x)
    B, C, H, W = x.shape
    expected = {"channel": (B, C, 1, 1), "spatial": (B, 1, H, W), "full": (B, C, H, W)}[case.gate]
    assert g.shape == expected and bool(((g > 0) & (g < 1)).all())
    torch.testing.assert_close(m(x), case.from_gate(x, g))


# ---------------------------------------------------------------- errors

@cases
def test_wrong_input_names_both_shapes(case):
    m = case.build()
    C = case.channels
    for method in ("forward", "attention_maps") + tuple(set(case.methods) - {"attention_maps"}):
        call = getattr(m, method)
        with pytest.raises(ValueError, match=rf"\(B, {C}, H, W\).*\(2, {C // 2}, 5, 5\)"):
            call(torch.randn(2, C // 2, 5, 5))
        with pytest.raises(ValueError, match=rf"\(B, {C}, H, W\).*\(2, {2 * C}, 5, 5\)"):
            call(torch.randn(2, 2 * C, 5, 5))
        with pytest.raises(ValueError, match=rf"\(B, {C}, H, W\).*\({C}, 5, 5\)"):
            call(torch.randn(C, 5, 5))
        with pytest.raises(TypeError, match="floating-point"):
            call(torch.ones(2, C, 5, 5, dtype=torch.int64))


# ---------------------------------------------------------------- on a CUDA GPU (skipped without one)

needs_cuda = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")


def _assert_same_on_both(cpu_tensors, cuda_tensors, what):
    for name, (a, b) in zip(what, zip(cpu_tensors, cuda_tensors)):
        assert b.device.type == "cuda", name
        torch.testing.assert_close(b.cpu(), a, msg=lambda m, name=name: f"{name}: {m}")


@needs_cuda
@cases
def test_cuda_matches_cpu_forward_backward_and_running_stats(case):
    """Training step in float64 on both devices: output, every gradient and BatchNorm buffers agree."""
    m = random_module(case, F64).train()
    gpu = copy.deepcopy(m).cuda()
    x = feature_map(case, 3, 6, 5, dtype=F64).requires_grad_()
    x_gpu = x.detach().cuda().requires_grad_()
    y, y_gpu = m(x), gpu(x_gpu)
    _assert_same_on_both([y], [y_gpu], ["output"])
    weight = torch.randn_like(y)
    (y * weight).sum().backward()
    (y_gpu * weight.cuda()).sum().backward()
    names = ["x.grad"] + [f"{n}.grad" for n, _ in m.named_parameters()]
    _assert_same_on_both([x.grad] + [p.grad for p in m.parameters()],
                         [x_gpu.grad] + [p.grad for p in gpu.parameters()], names)
    _assert_same_on_both(list(m.buffers()), list(gpu.buffers()), [n for n, _ in m.named_buffers()])


@needs_cuda
@cases
@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16], ids=str)
def test_cuda_half_precision_and_channels_last(case, dtype):
    m = (case.build() if case.bf16_default_init else random_module(case)).eval().to(dtype)
    x = feature_map(case).to(dtype)
    reference = copy.deepcopy(m).double()(x.double())        # the same rounded numbers, exactly
    m, x = m.cuda(), x.cuda()
    atol, rtol = case.bf16_tol
    for inp in [x, x.to(memory_format=torch.channels_last)]:
        y = m(inp)
        assert y.dtype == dtype and y.device == x.device and y.shape == reference.shape
        torch.testing.assert_close(y.double().cpu(), reference, atol=atol, rtol=rtol)
    assert y.is_contiguous(memory_format=torch.channels_last) == case.keeps_channels_last
