"""Parameter counts of attention ResNet-50s against the papers (docs/paper_facts.md), and a closed form each.

Every model is built through a registry key at the paper's placement, on the ``meta`` device:
counting needs no memory and no forward pass. Each test checks two things: the published total, and
the added count against a formula written out here, summed over the 16 bottlenecks.
"""

import pytest
import torch

from attn_course import attention_class, create_attention
from attn_course.registry import attention_spec
from attn_course.models import count_parameters, resnet50, resnext50_32x4d

RESNET50 = 25_557_032
RESNEXT50_32X4D = 25_028_904
BLOCKS_PER_STAGE = (3, 4, 6, 3)
# Channels at each placement, one entry per stage.
OUT_CHANNELS = (256, 512, 1024, 2048)        # after bn3: planes * 4
RESNEXT_WIDTH = (128, 256, 512, 1024)        # the grouped 3×3 of ResNeXt-50 32x4d (32 groups × 4·2^s)


def over_blocks(per_block_count, channels=OUT_CHANNELS):
    """Σ over the 16 bottlenecks of ``per_block_count(C)``, C the channels the module sees."""
    return sum(n * per_block_count(c) for n, c in zip(BLOCKS_PER_STAGE, channels))


def count(builder, *args, **kwargs):
    with torch.device("meta"):
        return count_parameters(builder(*args, **kwargs))


def test_se_with_bias_r16():
    # Official SE-ResNet-50 (Caffe) and timm seresnet50: both excitation layers carry a bias.
    r = 16
    total = count(resnet50, "se")
    assert total == 28_088_024
    assert total - RESNET50 == over_blocks(lambda c: 2 * c * c // r + c // r + c)


def test_se_without_bias_is_the_papers_formula():
    # (2/r) Σ_s N_s C_s², the formula of the SE paper.
    r = 16
    total = count(resnet50, "se", bias=False)
    assert total == 28_071_976
    assert total - RESNET50 == over_blocks(lambda c: 2 * c * c // r)


def test_cbam_official():
    # SE-with-bias channel MLP, plus a 7×7 conv 2 → 1 without bias (98) and BatchNorm2d(1) (2).
    r, k = 16, 7
    total = count(resnet50, "cbam")
    assert total == 28_089_624
    assert total - RESNET50 == over_blocks(lambda c: 2 * c * c // r + c // r + c + 2 * k * k + 2)


def test_eca_kernel_from_the_formula():
    # k = |log2(C)/γ + b/γ|_odd with γ = 2, b = 1 on the block's output channels.
    kernel = {256: 5, 512: 5, 1024: 5, 2048: 7}
    total = count(resnet50, "eca")
    assert total == 25_557_118
    assert total - RESNET50 == over_blocks(lambda c: kernel[c]) == 86


def test_eca_released_checkpoint_kernels_3_5_5_7():
    kernel = {256: 3, 512: 5, 1024: 5, 2048: 7}
    total = count(resnet50, lambda c: create_attention("eca", c, kernel_size=kernel[c]))
    assert total == 25_557_112
    assert total - RESNET50 == over_blocks(lambda c: kernel[c]) == 80


def test_shuffle_attention_g64():
    # Six vectors of C/(2G) per block (two gate weights, two gate biases, GroupNorm's affine pair).
    # The SA-Net abstract says "300" added parameters; the official code gives 708.
    G = 64
    total = count(resnet50, "shuffle")
    assert total == 25_557_740
    assert total - RESNET50 == over_blocks(lambda c: 6 * c // (2 * G)) == 708


def test_simam_is_parameter_free():
    model_total = count(resnet50, "simam")
    assert model_total == RESNET50


def test_nam_channel_branch():
    # One affine BatchNorm per block: 2C.
    total = count(resnet50, "nam")
    assert total == 25_587_240
    assert total - RESNET50 == over_blocks(lambda c: 2 * c)


def sk_added(width, branches=2, reduction=16, min_hidden=32, groups=32):
    """Parameters SK adds to a ResNeXt bottleneck of 3×3 width w.

    The first branch (grouped 3×3 + BN) takes the place of conv2 + bn2; each further branch adds
    another; the selection adds the fuse FC C → d (no bias), its BN, and one FC d → C per branch.
    """
    d = max(width // reduction, min_hidden)
    branch = 9 * width * width // groups + 2 * width
    return (branches - 1) * branch + width * d + 2 * d + branches * d * width


def test_sknet50_against_the_paper():
    # SKNet-50 = SK[M=2, G=32, r=16, L=32] in place of the grouped 3×3 of ResNeXt-50 32x4d.
    # The paper gives 27.5M, rounded to 0.1M, so we accept ±0.05M. Our exact count, 27,479,784,
    # equals timm's skresnext50_32x4d: both build the "5×5" branch as a 3×3 with dilation 2, as the
    # SKNet paper does (9 weights per kernel, not 25), with bias-free FCs. A true 5×5 branch would
    # add Σ 16·w²/32 = 2,514,944 more (≈ 30.0M), far from the paper's figure.
    total = count(resnext50_32x4d, "sk")
    assert total == 27_479_784
    assert abs(total - 27.5e6) <= 0.05e6
    assert total - RESNEXT50_32X4D == over_blocks(sk_added, RESNEXT_WIDTH)


@pytest.mark.parametrize("key", ["se", "cbam", "eca", "shuffle", "simam", "nam", "sk"])
def test_every_block_carries_the_registered_module_at_its_placement(key):
    builder = resnext50_32x4d if key == "sk" else resnet50
    with torch.device("meta"):
        blocks = builder(key).blocks()
    assert len(blocks) == 16
    assert all(type(b.attention) is attention_class(key) for b in blocks)
    assert all(b.placement == attention_spec(key).placement for b in blocks)
