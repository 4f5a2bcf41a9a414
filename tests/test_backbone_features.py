"""The backbones as a detector uses them: multi-scale features for a neck, traced by torch.fx,
exported by torch.export, with every attention of the registry."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from attn_course.models import count_parameters, resnet50, resnext50_32x4d
from attn_course.models.resnet import ResNet
from attn_course.registry import available_attention

KEYS = available_attention()
BUILDERS = {"resnet50": resnet50, "resnext50_32x4d": resnext50_32x4d}


class TinyFPN(nn.Module):
    """A feature pyramid (Lin et al., 2017) in a dozen lines: lateral 1×1 convs to one width, a
    top-down pass that upsamples and adds, a 3×3 conv per level, and a 1×1 "objectness" head."""

    def __init__(self, in_channels, width=32):
        super().__init__()
        self.lateral = nn.ModuleList(nn.Conv2d(c, width, 1) for c in in_channels)
        self.smooth = nn.ModuleList(nn.Conv2d(width, width, 3, padding=1) for _ in in_channels)
        self.head = nn.Conv2d(width, 1, 1)

    def forward(self, features: list[torch.Tensor]) -> list[torch.Tensor]:
        laterals = [conv(f) for conv, f in zip(self.lateral, features)]
        for i in range(len(laterals) - 1, 0, -1):   # from the coarsest level down
            laterals[i - 1] = laterals[i - 1] + F.interpolate(laterals[i], size=laterals[i - 1].shape[-2:])
        return [self.head(conv(level)) for conv, level in zip(self.smooth, laterals)]


@pytest.mark.parametrize("name", BUILDERS)
def test_features_only_returns_c3_c4_c5_with_their_channels_and_strides(name):
    backbone = BUILDERS[name](features_only=True).eval()
    assert backbone.out_levels == ("C3", "C4", "C5")
    assert backbone.out_channels == (512, 1024, 2048) and backbone.out_strides == (8, 16, 32)
    assert not hasattr(backbone, "fc") and not hasattr(backbone, "avgpool")
    with torch.no_grad():
        features = backbone(torch.randn(1, 3, 64, 96))
    assert list(features) == ["C3", "C4", "C5"]
    for (level, f), channels, stride in zip(features.items(), backbone.out_channels, backbone.out_strides):
        assert tuple(f.shape) == (1, channels, 64 // stride, 96 // stride), level
    # the classifier's 2048·1000 + 1000 parameters are all that is missing
    assert count_parameters(BUILDERS[name]()) - count_parameters(backbone) == 2_049_000


def test_features_match_the_classifier_networks_stages():
    torch.manual_seed(0)
    full = resnet50("se").eval()
    backbone = resnet50("se", features_only=True, out_levels=("C2", "C4"))
    backbone.load_state_dict({k: v for k, v in full.state_dict().items()
                              if k.startswith(tuple(n for n, _ in backbone.named_children()))})
    backbone.eval()
    x = torch.randn(1, 3, 64, 64)
    with torch.no_grad():
        expected, got = full.features(x), backbone(x)
    assert list(got) == ["C2", "C4"] and backbone.out_channels == (256, 1024)
    for level in got:
        torch.testing.assert_close(got[level], expected[level])


def test_stages_after_the_deepest_level_are_not_built():
    backbone = resnet50(features_only=True, out_levels=("C3",))
    assert [n for n, _ in backbone.named_children() if n.startswith("layer")] == ["layer1", "layer2"]


@pytest.mark.parametrize("levels", [(), ("C6",), ("C3", "C3"), ("P3",)], ids=str)
def test_bad_levels_name_the_valid_ones(levels):
    with pytest.raises(ValueError, match="C2, C3, C4, C5"):
        resnet50(features_only=True, out_levels=levels)


def test_features_only_must_be_a_bool():
    with pytest.raises(TypeError, match="True or False"):
        resnet50(features_only="yes")


# Three attentions make a ResNet-50 too heavy for a unit test on a 2-core CPU at C4 and C5: GAM's two
# 7×7 convolutions give GAM-ResNet-50 528,602,472 parameters, S2's Linear layers S2-ResNet-50
# 186,573,864, and SOCA takes the Newton–Schulz square root of a 2048 × 2048 covariance in each C5
# block (seconds per block). They train their step through the stages up to C3 (all their blocks
# at 256 and 512 channels, the strided one included).
HEAVY_LEVELS = {"gam": ("C3",), "s2": ("C3",), "soca": ("C3",)}


@pytest.mark.parametrize("key", KEYS)
def test_a_tiny_fpn_neck_trains_one_step_on_every_attention(key):
    torch.manual_seed(0)
    levels = HEAVY_LEVELS.get(key, ("C3", "C4", "C5"))
    backbone = resnet50(key, features_only=True, out_levels=levels)
    neck = TinyFPN(backbone.out_channels)
    parameters = list(backbone.parameters()) + list(neck.parameters())
    optimiser = torch.optim.SGD(parameters, lr=0.01)
    images = torch.randn(2, 3, 64, 32)   # C5 is 2×1: more than one position, as a gate needs
    targets = [torch.rand(2, 1, 64 // s, 32 // s) for s in backbone.out_strides]
    stem_before = backbone.conv1.weight.detach().clone()

    outputs = neck(list(backbone(images).values()))
    loss = sum(F.binary_cross_entropy_with_logits(o, t) for o, t in zip(outputs, targets))
    optimiser.zero_grad()
    loss.backward()
    optimiser.step()

    assert torch.isfinite(loss)
    assert not torch.equal(backbone.conv1.weight, stem_before)   # the step was taken
    attention = {n for n, _ in backbone.named_parameters() if ".attention." in n}
    reached = {n for n, p in backbone.named_parameters()
               if p.grad is not None and bool(p.grad.abs().sum() > 0)}
    # the gradient reaches every attention parameter, except those whose gradient is exactly 0 at
    # initialisation by design (ShuffleAttention's GroupNorm affine behind sweight = 0,
    # criss-cross's query/key/value behind gamma = 0)
    zero_at_init = {n for n in attention if n.split(".")[-2] in {"gn", "query", "key", "value"}}
    assert attention - zero_at_init <= reached, sorted(attention - zero_at_init - reached)[:5]


@pytest.mark.parametrize("name", BUILDERS)
@pytest.mark.parametrize("key", KEYS)
def test_torch_fx_traces_the_full_backbones_with_every_attention(name, key):
    with torch.device("meta"):   # tracing needs no weights: the meta device builds in milliseconds
        backbone = BUILDERS[name](key, features_only=True)
    graph = torch.fx.symbolic_trace(backbone).graph
    outputs = [node for node in graph.nodes if node.op == "output"]
    assert len(outputs) == 1
    assert sum(1 for node in graph.nodes if node.op == "call_module" and node.target.endswith("conv3")) == 16


def _small(name: str, key: str) -> ResNet:
    """The same blocks and placements as the full backbone, one bottleneck per stage."""
    layout = {"resnet50": {}, "resnext50_32x4d": {"groups": 32, "width_per_group": 4}}[name]
    return ResNet((1, 1, 1, 1), attention=key, features_only=True,
                  out_levels=HEAVY_LEVELS.get(key, ("C3", "C4", "C5")), **layout)


@pytest.mark.parametrize("name", BUILDERS)
@pytest.mark.parametrize("key", KEYS)
def test_traced_and_exported_backbones_compute_what_eager_does(name, key):
    torch.manual_seed(0)
    backbone = _small(name, key).eval()
    x = torch.randn(1, 3, 32, 32)
    with torch.no_grad():
        expected = backbone(x)
        traced = torch.fx.symbolic_trace(backbone)(x)
        exported = torch.export.export(backbone, (x,)).module()(x)
    for level in expected:
        torch.testing.assert_close(traced[level], expected[level])
        torch.testing.assert_close(exported[level], expected[level])

