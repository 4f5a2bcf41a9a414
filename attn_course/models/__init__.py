"""Backbones with attention plug points: ResNet-50 and ResNeXt-50 32x4d in torchvision's layout.

    >>> from attn_course.models import resnet50, count_parameters
    >>> count_parameters(resnet50())
    25557032
    >>> count_parameters(resnet50("se"))
    28088024
"""

from .counting import count_parameters
from .plug import PLACEMENTS
from .resnet import Bottleneck, ResNet, resnet50, resnext50_32x4d

__all__ = ["PLACEMENTS", "Bottleneck", "ResNet", "count_parameters", "resnet50", "resnext50_32x4d"]
