"""ResNet-50 / ResNeXt-50 against torchvision's published counts and a bottleneck written out by hand."""

import copy

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from attn_course.models import Bottleneck, count_parameters, resnet50, resnext50_32x4d
from attn_course.modules import SEBlock

# torchvision's resnet50() and resnext50_32x4d(): the external anchors (see docs/paper_facts.md).
RESNET50_PARAMETERS = 25_557_032
RESNEXT50_32X4D_PARAMETERS = 25_028_904
BLOCKS_PER_STAGE = (3, 4, 6, 3)


@pytest.fixture(autouse=True)
def _seed():
    torch.manual_seed(0)


def per_block(values):
    """Expand one value per stage into one value per block, in block order."""
    return [v for v, n in zip(values, BLOCKS_PER_STAGE) for _ in range(n)]


class Probe(nn.Module):
    """Stand-in attention: remembers its input and returns ``scale * x`` (subsampled by ``stride``)."""

    def __init__(self, channels, stride=1, groups=1, scale=0.0):
        super().__init__()
        self.channels, self.stride, self.groups, self.scale = channels, stride, groups, scale

    def forward(self, x):
        assert x.shape[1] == self.channels
        self.seen = x.detach().clone()
        return self.scale * x[:, :, ::self.stride, ::self.stride]


def record(module, *, inputs=False):
    """Keep a copy of ``module``'s output (or first input) each call; copies survive in-place ReLUs."""
    store = []
    if inputs:
        module.register_forward_pre_hook(lambda m, args: store.append(args[0].detach().clone()))
    else:
        module.register_forward_hook(lambda m, args, out: store.append(out.detach().clone()))
    return store


def call_order(block):
    """Names of the block's children in the order the forward pass calls them (ReLU left out)."""
    order = []
    for name, child in block.named_children():
        if name not in ("relu", "downsample"):
            child.register_forward_hook(lambda m, a, o, name=name: order.append(name))
    return order


def bottleneck_by_hand(block, x):
    """v1.5 bottleneck as explicit functional ops (eval-mode BatchNorm): stride on the 3×3."""
    def bn(t, layer):
        return F.batch_norm(t, layer.running_mean, layer.running_var, layer.weight, layer.bias)
    out = F.relu(bn(F.conv2d(x, block.conv1.weight), block.bn1))
    out = F.conv2d(out, block.conv2.weight, stride=block.stride, padding=1, groups=block.conv2.groups)
    out = F.relu(bn(out, block.bn2))
    out = bn(F.conv2d(out, block.conv3.weight), block.bn3)
    if block.downsample is None:
        shortcut = x
    else:
        conv, norm = block.downsample
        shortcut = bn(F.conv2d(x, conv.weight, stride=block.stride), norm)
    return F.relu(out + shortcut)


def randomise_batchnorm(module):
    for m in module.modules():
        if isinstance(m, nn.BatchNorm2d):
            m.running_mean.normal_()
            m.running_var.uniform_(0.5, 2.0)
            m.weight.data.normal_()
            m.bias.data.normal_()


# ---------------------------------------------------------------- counts and shapes

def test_parameter_counts_match_torchvision():
    with torch.device("meta"):
        assert count_parameters(resnet50()) == RESNET50_PARAMETERS
        assert count_parameters(resnext50_32x4d()) == RESNEXT50_32X4D_PARAMETERS
        assert count_parameters(resnet50(num_classes=10)) == RESNET50_PARAMETERS - 990 * 2049


def test_output_and_stage_shapes():
    model = resnet50(num_classes=7).eval()
    x = torch.randn(1, 3, 64, 96)
    with torch.no_grad():
        features = model.features(x)
        logits = model(x)
    assert logits.shape == (1, 7)
    assert list(features) == ["C2", "C3", "C4", "C5"]
    for (name, c), channels, stride in zip(features.items(), model.feature_channels,
                                            model.feature_strides):
        assert c.shape == (1, channels, 64 // stride, 96 // stride), name
    assert model.feature_channels == (256, 512, 1024, 2048)
    assert model.feature_strides == (4, 8, 16, 32)


def test_resnext_shapes_and_grouped_conv():
    model = resnext50_32x4d(num_classes=5).eval()
    assert [b.conv2.groups for b in model.blocks()] == [32] * 16
    assert [b.width for b in model.blocks()] == per_block([128, 256, 512, 1024])
    with torch.no_grad():
        assert model(torch.randn(1, 3, 32, 32)).shape == (1, 5)


def test_plain_blocks_have_identity_attention_and_stride_on_the_3x3():
    model = resnet50()
    blocks = model.blocks()
    assert len(blocks) == 16
    assert all(isinstance(b.attention, nn.Identity) for b in blocks)
    first_strided = model.layer2[0]
    assert first_strided.conv1.stride == (1, 1) and first_strided.conv2.stride == (2, 2)


@pytest.mark.parametrize("inplanes, planes, stride, groups, width_per_group",
                         [(64, 64, 1, 1, 64), (256, 64, 1, 1, 64), (256, 128, 2, 1, 64),
                          (256, 128, 2, 32, 4)])
def test_bottleneck_matches_functional_definition(inplanes, planes, stride, groups, width_per_group):
    block = Bottleneck(inplanes, planes, stride, groups=groups, width_per_group=width_per_group).double()
    randomise_batchnorm(block)
    block.eval()
    x = torch.randn(2, inplanes, 9, 7, dtype=torch.float64)
    torch.testing.assert_close(block(x), bottleneck_by_hand(block, x))


# ---------------------------------------------------------------- where the attention sits

def test_after_bn3_sees_bn3_output_before_the_addition():
    block = Bottleneck(256, 64, attention=Probe).eval()
    bn3_out, order = record(block.bn3), call_order(block)
    x = torch.randn(2, 256, 6, 6)
    y = block(x)
    torch.testing.assert_close(block.attention.seen, bn3_out[0])
    torch.testing.assert_close(y, torch.relu(x))      # probe returns 0: only the shortcut is left
    assert order == ["conv1", "bn1", "conv2", "bn2", "conv3", "bn3", "attention"]


def test_after_conv2_sits_between_conv2_and_bn2():
    block = Bottleneck(256, 64, 2, attention=lambda c: Probe(c, scale=2.0),
                       placement="after_conv2").eval()
    conv2_out, bn2_in, order = record(block.conv2), record(block.bn2, inputs=True), call_order(block)
    block(torch.randn(2, 256, 6, 6))
    assert block.attention.channels == 64
    torch.testing.assert_close(block.attention.seen, conv2_out[0])
    torch.testing.assert_close(bn2_in[0], 2.0 * conv2_out[0])
    assert order == ["conv1", "bn1", "conv2", "attention", "bn2", "conv3", "bn3"]


def test_replace_conv2_replaces_the_3x3_stage():
    block = Bottleneck(256, 128, 2, groups=32, width_per_group=4,
                       attention=lambda c, **conv: Probe(c, scale=3.0, **conv),
                       placement="replace_conv2").eval()
    bn1_out, conv3_in, order = record(block.bn1), record(block.conv3, inputs=True), call_order(block)
    block(torch.randn(2, 256, 6, 6))
    probe = block.attention
    assert (probe.channels, probe.stride, probe.groups) == (256, 2, 32)
    assert not hasattr(block, "conv2") and not hasattr(block, "bn2")
    torch.testing.assert_close(probe.seen, torch.relu(bn1_out[0]))
    torch.testing.assert_close(conv3_in[0], 3.0 * probe.seen[:, :, ::2, ::2])
    assert order == ["conv1", "bn1", "attention", "conv3", "bn3"]


@pytest.mark.parametrize("builder, placement, expected", [
    (resnet50, None, per_block([256, 512, 1024, 2048])),
    (resnet50, "after_conv2", per_block([64, 128, 256, 512])),
    (resnext50_32x4d, "after_conv2", per_block([128, 256, 512, 1024])),
])
def test_factory_gets_the_channels_of_its_placement(builder, placement, expected):
    with torch.device("meta"):
        model = builder(Probe, placement=placement)
    assert [b.attention.channels for b in model.blocks()] == expected


def test_replace_conv2_gets_width_stride_and_groups():
    with torch.device("meta"):
        model = resnext50_32x4d(Probe, placement="replace_conv2")
    got = [(b.attention.channels, b.attention.stride, b.attention.groups) for b in model.blocks()]
    strides = [2 if i in (3, 7, 13) else 1 for i in range(16)]
    assert got == [(w, s, 32) for w, s in zip(per_block([128, 256, 512, 1024]), strides)]


def test_registry_key_uses_paper_placement_and_options():
    model = resnet50("se", reduction=8)
    for block, channels in zip(model.blocks(), per_block([256, 512, 1024, 2048])):
        assert isinstance(block.attention, SEBlock) and block.placement == "after_bn3"
        assert block.attention.channels == channels and block.attention.reduction == 8
    with torch.no_grad():
        assert model.eval()(torch.randn(1, 3, 32, 32)).shape == (1, 1000)


def test_backbone_init_leaves_the_attention_alone():
    def zero_conv(channels):
        conv = nn.Conv2d(channels, channels, 1)
        nn.init.zeros_(conv.weight)
        return conv
    block = resnet50(zero_conv).layer1[0]
    assert block.attention.weight.abs().sum() == 0
    assert block.conv1.weight.std() > 0


def test_a_module_replacing_the_3x3_is_initialised_as_the_backbone():
    torch.manual_seed(0)
    sk_block = resnext50_32x4d("sk").layer3[0]
    branch_conv = sk_block.attention.branches[1][0]          # the dilated 3×3 of the first SK block
    fan_out = branch_conv.out_channels * 9                    # what torch.nn.init counts as fan-out
    # He (fan-out) normal, as torchvision's ResNet and every other conv of the backbone
    assert abs(branch_conv.weight.std().item() - (2 / fan_out) ** 0.5) < 0.1 * (2 / fan_out) ** 0.5
    assert torch.equal(sk_block.attention.fc_bn.weight, torch.ones_like(sk_block.attention.fc_bn.weight))


# ---------------------------------------------------------------- errors

def test_bad_placement_names_the_valid_ones():
    with pytest.raises(ValueError, match="after_bn3.*after_conv2.*replace_conv2.*'middle'"):
        resnet50("se", placement="middle")
    with pytest.raises(ValueError, match="after_bn3.*after_conv2.*replace_conv2"):
        resnet50(Probe, placement=3)


def test_bad_key_lists_the_valid_keys():
    expected = r"unknown attention 'sse'.*Did you mean 'se'.*Valid keys: se, eca"
    with pytest.raises(ValueError, match=expected):
        resnet50("sse")


@pytest.mark.parametrize("kwargs, message", [
    (dict(attention=42), "None, a registry key.*got int"),
    (dict(attention=Probe, reduction=8), "options apply to a registry key only"),
    (dict(placement="after_bn3"), "need an attention module"),
    (dict(attention="se", placement="replace_conv2"), "SEBlock.*no stride/groups"),
    (dict(num_classes=0), "num_classes must be a positive integer, got 0"),
])
def test_bad_arguments_raise_value_error(kwargs, message):
    with pytest.raises(ValueError, match=message):
        resnet50(**kwargs)


def test_wrong_input_names_expected_and_received_shape():
    with torch.device("meta"):
        model = resnet50()
    with pytest.raises(ValueError, match=r"\(B, 3, H, W\), got \(2, 1, 32, 32\)"):
        model(torch.randn(2, 1, 32, 32, device="meta"))


def test_count_parameters_rejects_non_modules():
    with pytest.raises(ValueError, match="nn.Module, got list"):
        count_parameters([])


# ---------------------------------------------------------------- on a CUDA GPU (skipped without one)

@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")
@pytest.mark.parametrize("key", ["cbam", "simam", "sk"])
def test_cuda_training_step_matches_cpu(key):
    """One training step (forward, backward) of a backbone with attention gives the same logits and
    gradients on the GPU as on the CPU, in float64."""
    torch.manual_seed(0)
    builder = resnext50_32x4d if key == "sk" else resnet50
    model = builder(key, num_classes=10).double().train()
    gpu = copy.deepcopy(model).cuda()
    x = torch.randn(2, 3, 64, 48, dtype=torch.float64)
    y, y_gpu = model(x), gpu(x.cuda())
    assert y_gpu.device.type == "cuda"
    torch.testing.assert_close(y_gpu.cpu(), y)
    y.square().sum().backward()
    y_gpu.square().sum().backward()
    for (name, p), p_gpu in zip(model.named_parameters(), gpu.parameters()):
        torch.testing.assert_close(p_gpu.grad.cpu(), p.grad, msg=lambda m, name=name: f"{name}: {m}")


def test_a_meta_model_has_no_init_and_needs_no_compiler():
    """On the meta device there are no values to initialise: building ResNet-50 there must not run
    normal_ on meta tensors, which imports PyTorch's compiler (seconds) the first time."""
    import subprocess
    import sys

    code = ("import sys, torch\n"
            "from attn_course.models import resnet50, count_parameters\n"
            "with torch.device('meta'):\n"
            "    model = resnet50('se')\n"
            "print(count_parameters(model), all(p.is_meta for p in model.parameters()),\n"
            "      'torch._dynamo' in sys.modules)\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    with torch.device("meta"):
        expected = count_parameters(resnet50("se"))
    assert out.stdout.split() == [str(expected), "True", "False"]
