"""ResNet-50 and ResNeXt-50 (32x4d) with a plug point for attention in every bottleneck.

The layout is torchvision's (He et al., "Deep Residual Learning for Image Recognition", CVPR 2016,
in the "v1.5" variant that strides the 3×3 convolution, and Xie et al., "Aggregated Residual
Transformations", CVPR 2017, for the grouped 3×3 of ResNeXt), with the same layer names, so that
``resnet50()`` counts exactly 25,557,032 parameters and ``resnext50_32x4d()`` 25,028,904.

    >>> from attn_course.models import resnet50
    >>> se_resnet50 = resnet50("se")                   # SE after bn3 in each of the 16 blocks
    >>> simam_resnet50 = resnet50("simam")             # SimAM after conv2, the paper's placement
    >>> from attn_course.modules.eca import ECABlock
    >>> kernel = {256: 3, 512: 5, 1024: 5, 2048: 7}       # per stage, as the released ECA-Net50
    >>> eca_resnet50 = resnet50(lambda c: ECABlock(c, kernel_size=kernel[c]))

See :mod:`attn_course.models.plug` for the three placements.
"""

from __future__ import annotations

import torch
import torch.fx
from torch import nn

from .._arguments import positive_int
from .plug import AttentionPlug, resolve_attention

__all__ = ["Bottleneck", "ResNet", "resnet50", "resnext50_32x4d"]

EXPANSION = 4                         # a bottleneck's output has planes * 4 channels
STAGE_PLANES = (64, 128, 256, 512)    # the bottleneck "planes" of stages C2..C5
STAGE_STRIDES = (4, 8, 16, 32)        # the stride of each stage's output w.r.t. the input image
RESNET50_DEPTHS = (3, 4, 6, 3)        # blocks per stage


class Bottleneck(nn.Module):
    """Residual bottleneck 1×1 → 3×3 (strided, grouped) → 1×1, with an attention plug point.

    Without attention::

        out = relu(bn1(conv1(x)))
        out = relu(bn2(conv2(out)))              # conv2 carries the stride and the groups
        out = bn3(conv3(out))
        y   = relu(out + downsample(x))          # downsample = identity when shapes agree

    The attention goes where ``placement`` says: ``attention(bn3 output)`` before the addition
    (``"after_bn3"``), ``bn2(attention(conv2 output))`` (``"after_conv2"``), or in place of
    ``conv2``, ``bn2`` and their ReLU (``"replace_conv2"``; then there is no ``conv2``/``bn2``).

    Args:
        inplanes: channels of the input.
        planes: the block's base width; the output has ``planes * 4`` channels.
        stride: stride of the 3×3 convolution (and of the shortcut's 1×1 projection).
        groups: groups of the 3×3 convolution (32 for ResNeXt-50 32x4d).
        width_per_group: channels per group at ``planes = 64`` (4 for ResNeXt 32x4d, 64 for ResNet);
            the 3×3 works on ``width = planes * width_per_group // 64 * groups`` channels.
        attention, placement, **attention_options: as in :func:`resnet50` (``attention`` may also
            be an :class:`~attn_course.models.plug.AttentionPlug`, as the ResNet passes it).

    Submodules: ``conv1 bn1 conv2 bn2 conv3 bn3 relu downsample`` and ``attention`` (an
    ``nn.Identity`` for a plain block); ``placement`` records where ``attention`` sits.
    """

    def __init__(self, inplanes: int, planes: int, stride: int = 1, *, groups: int = 1,
                 width_per_group: int = 64, attention=None, placement=None, **attention_options):
        super().__init__()
        plug = (attention if isinstance(attention, AttentionPlug)
                else resolve_attention(attention, placement, attention_options))
        width = planes * width_per_group // 64 * groups
        out_channels = planes * EXPANSION
        self.width, self.out_channels, self.stride = width, out_channels, stride
        self.placement = "after_bn3" if plug is None else plug.placement

        self.conv1 = nn.Conv2d(inplanes, width, kernel_size=1, bias=False)
        self.bn1 = nn.BatchNorm2d(width)
        if self.placement == "replace_conv2":
            self.attention = plug.build(width, stride=stride, groups=groups)
        else:
            self.conv2 = nn.Conv2d(width, width, kernel_size=3, stride=stride, padding=1,
                                   groups=groups, bias=False)
            self.bn2 = nn.BatchNorm2d(width)
            if plug is None:
                self.attention = nn.Identity()
            else:
                channels = width if self.placement == "after_conv2" else out_channels
                self.attention = plug.build(channels)
        self.conv3 = nn.Conv2d(width, out_channels, kernel_size=1, bias=False)
        self.bn3 = nn.BatchNorm2d(out_channels)
        self.relu = nn.ReLU(inplace=True)
        self.downsample = None
        if stride != 1 or inplanes != out_channels:
            self.downsample = nn.Sequential(
                nn.Conv2d(inplanes, out_channels, kernel_size=1, stride=stride, bias=False),
                nn.BatchNorm2d(out_channels),
            )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        shortcut = x if self.downsample is None else self.downsample(x)
        out = self.relu(self.bn1(self.conv1(x)))
        if self.placement == "replace_conv2":
            out = self.attention(out)
        else:
            out = self.conv2(out)
            if self.placement == "after_conv2":
                out = self.attention(out)
            out = self.relu(self.bn2(out))
        out = self.bn3(self.conv3(out))
        if self.placement == "after_bn3":
            out = self.attention(out)
        return self.relu(out + shortcut)


class ResNet(nn.Module):
    """A bottleneck ResNet: stem (7×7/2 conv, BN, ReLU, 3×3/2 max-pool), four stages, GAP, FC.

    Use :func:`resnet50` or :func:`resnext50_32x4d` rather than building it directly.

    With ``features_only=True`` it is a detector's backbone: no pooling and no classifier, and
    ``forward`` returns the stage outputs a neck (an FPN) reads, ``{"C3": ..., "C4": ..., "C5": ...}``
    by default, at strides 8, 16 and 32 (timm's ``features_only``, torchvision's ``return_layers``).
    Stages after the deepest requested level are not built.

    Attributes:
        feature_channels: channels of C2..C5, ``(256, 512, 1024, 2048)``.
        feature_strides: strides of C2..C5 w.r.t. the input, ``(4, 8, 16, 32)``.
        out_levels, out_channels, out_strides: with ``features_only``, the levels ``forward``
            returns, in order, with their channels and strides (``None`` otherwise).
    """

    feature_channels = tuple(planes * EXPANSION for planes in STAGE_PLANES)
    feature_strides = STAGE_STRIDES
    LEVELS = ("C2", "C3", "C4", "C5")

    def __init__(self, depths=RESNET50_DEPTHS, *, num_classes: int = 1000, groups: int = 1,
                 width_per_group: int = 64, attention=None, placement=None,
                 features_only: bool = False, out_levels=("C3", "C4", "C5"),
                 impl: str = "reference", **attention_options):
        super().__init__()
        num_classes = positive_int(num_classes, name="num_classes", where="ResNet")
        if not isinstance(features_only, bool):
            raise TypeError(f"features_only must be True or False, got {features_only!r}.")
        self.features_only = features_only
        self.out_levels = self.out_channels = self.out_strides = None
        deepest = len(STAGE_PLANES)
        if features_only:
            self.out_levels = self._check_levels(out_levels)
            indices = [self.LEVELS.index(level) for level in self.out_levels]
            self.out_channels = tuple(self.feature_channels[i] for i in indices)
            self.out_strides = tuple(self.feature_strides[i] for i in indices)
            deepest = max(indices) + 1
        plug = resolve_attention(attention, placement, attention_options, impl=impl)
        self.conv1 = nn.Conv2d(3, 64, kernel_size=7, stride=2, padding=3, bias=False)
        self.bn1 = nn.BatchNorm2d(64)
        self.relu = nn.ReLU(inplace=True)
        self.maxpool = nn.MaxPool2d(kernel_size=3, stride=2, padding=1)

        inplanes = 64
        for index, (planes, depth) in enumerate(zip(STAGE_PLANES[:deepest], depths)):
            first_stride = 1 if index == 0 else 2
            blocks = []
            for block_index in range(depth):
                stride = first_stride if block_index == 0 else 1
                blocks.append(Bottleneck(inplanes, planes, stride, groups=groups,
                                         width_per_group=width_per_group, attention=plug))
                inplanes = planes * EXPANSION
            self.add_module(f"layer{index + 1}", nn.Sequential(*blocks))

        if not features_only:
            self.avgpool = nn.AdaptiveAvgPool2d(1)
            self.fc = nn.Linear(inplanes, num_classes)
        self._init_backbone()

    @classmethod
    def _check_levels(cls, out_levels) -> tuple[str, ...]:
        levels = (out_levels,) if isinstance(out_levels, str) else tuple(out_levels)
        unknown = [level for level in levels if level not in cls.LEVELS]
        if not levels or unknown or len(set(levels)) != len(levels):
            raise ValueError(f"out_levels must be distinct names among {', '.join(cls.LEVELS)}, "
                             f"got {out_levels!r}.")
        return tuple(sorted(levels, key=cls.LEVELS.index))

    def _init_backbone(self) -> None:
        """He (fan-out) init for the backbone's convolutions, BN to (1, 0); attention keeps its own.

        A module that replaces the 3×3 stage (SK) *is* the backbone's convolution there: its
        convolutions and BatchNorms are initialised like the rest of the backbone.

        A model built on the ``meta`` device (shapes only) has no values to initialise: skipping
        it there also spares the seconds PyTorch spends importing its compiler the first time
        ``normal_`` runs on a meta tensor.
        """
        own_init = {id(m) for block in self.blocks() if block.placement != "replace_conv2"
                    for m in block.attention.modules()}
        for module in self.modules():
            if id(module) in own_init:
                continue
            if any(p.is_meta for p in module.parameters(recurse=False)):
                continue
            if isinstance(module, nn.Conv2d):
                nn.init.kaiming_normal_(module.weight, mode="fan_out", nonlinearity="relu")
            elif isinstance(module, nn.BatchNorm2d):
                nn.init.ones_(module.weight)
                nn.init.zeros_(module.bias)

    def blocks(self) -> list[Bottleneck]:
        """The bottlenecks in order (16 for ResNet-50)."""
        return [block for stage in self.stages() for block in stage]

    def stages(self) -> list[nn.Sequential]:
        """``[layer1, layer2, layer3, layer4]``, producing C2..C5 (fewer when a backbone built
        with ``features_only`` stops early)."""
        return [getattr(self, f"layer{i}") for i in range(1, 5) if hasattr(self, f"layer{i}")]

    def _check_input(self, x) -> None:
        if isinstance(x, torch.fx.Proxy):   # being traced by torch.fx: no shape to check yet
            return
        if not isinstance(x, torch.Tensor) or x.dim() != 4 or x.shape[1] != 3:
            got = tuple(x.shape) if isinstance(x, torch.Tensor) else type(x).__name__
            raise ValueError(f"ResNet: expected an image batch of shape (B, 3, H, W), got {got}.")

    def features(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        """Every stage output built, ``{"C2": ..., "C5": ...}``, at strides 4, 8, 16, 32."""
        self._check_input(x)
        out = self.maxpool(self.relu(self.bn1(self.conv1(x))))
        features = {}
        for level, stage in zip(self.LEVELS, self.stages()):
            out = stage(out)
            features[level] = out
        return features

    def forward(self, x: torch.Tensor):
        """Class logits, shape (B, num_classes); with ``features_only``, the dict of the
        ``out_levels`` feature maps."""
        features = self.features(x)
        if self.features_only:
            return {level: features[level] for level in self.out_levels}
        return self.fc(torch.flatten(self.avgpool(features["C5"]), 1))


def resnet50(attention=None, *, num_classes: int = 1000, placement=None, features_only=False,
             out_levels=("C3", "C4", "C5"), impl="reference", **attention_options) -> ResNet:
    """ResNet-50 (25,557,032 parameters without attention), optionally with attention in each block.

    Args:
        attention: ``None``; a registry key (``"se"``, ``"simam"``, ``"sk"`` ...: see
            ``attn_course.registry``), placed where the paper puts it; or a callable
            ``factory(channels) -> nn.Module``, placed after bn3 unless ``placement`` says otherwise.
        num_classes: outputs of the final linear layer.
        placement: ``"after_bn3"``, ``"after_conv2"`` or ``"replace_conv2"`` to override the default
            (see :mod:`attn_course.models.plug`).
        features_only: return the feature maps of ``out_levels`` (a dict) instead of class
            logits, for a detector's neck; the classifier is not built.
        out_levels: with ``features_only``, which of ``"C2"``..``"C5"`` to return; the default
            C3, C4, C5 (strides 8, 16, 32; 512, 1024, 2048 channels) is what an FPN reads. The
            model's ``out_channels`` and ``out_strides`` list them.
        impl: with a registry key, ``"reference"`` or ``"mine"`` (your saved module; see
            ``attn_course.registry.attention_class``).
        **attention_options: keyword options for the registered class, e.g. ``reduction=8``.

        >>> backbone = resnet50("cbam", features_only=True)
        >>> backbone.out_channels, backbone.out_strides
        ((512, 1024, 2048), (8, 16, 32))
        >>> {name: tuple(c.shape) for name, c in backbone(torch.zeros(1, 3, 64, 96)).items()}
        {'C3': (1, 512, 8, 12), 'C4': (1, 1024, 4, 6), 'C5': (1, 2048, 2, 3)}
    """
    return ResNet(RESNET50_DEPTHS, num_classes=num_classes, attention=attention,
                  placement=placement, features_only=features_only, out_levels=out_levels,
                  impl=impl, **attention_options)


def resnext50_32x4d(attention=None, *, num_classes: int = 1000, placement=None,
                    features_only=False, out_levels=("C3", "C4", "C5"), impl="reference",
                    **attention_options) -> ResNet:
    """ResNeXt-50 32x4d (25,028,904 parameters): 32 groups of width 4 in the 3×3 convolutions.

    Same arguments as :func:`resnet50`; ``resnext50_32x4d("sk")`` is SKNet-50.
    """
    return ResNet(RESNET50_DEPTHS, num_classes=num_classes, groups=32, width_per_group=4,
                  attention=attention, placement=placement, features_only=features_only,
                  out_levels=out_levels, impl=impl, **attention_options)
