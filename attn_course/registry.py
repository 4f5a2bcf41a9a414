"""Find an attention module by its short name: ``create_attention("cbam", 256)``.

Each entry names the class, the paper, and where the paper puts the module in a ResNet bottleneck
(``attn_course.models`` reads the placement):

* ``"after_bn3"``: on the residual branch after the last BatchNorm, before the residual addition;
* ``"after_conv2"``: after the 3×3 convolution, before its BatchNorm (SimAM);
* ``"replace_conv2"``: replaces the 3×3 convolution itself (SK).

Classes are imported on first use, so ``import attn_course`` stays light.
"""

from __future__ import annotations

import difflib
import importlib
from dataclasses import dataclass

from torch import nn

from .models.plug import AFTER_BN3, AFTER_CONV2, PLACEMENTS, REPLACE_CONV2

__all__ = ["AttentionSpec", "REGISTRY", "available_attention", "attention_spec", "attention_class",
           "create_attention"]


@dataclass(frozen=True)
class AttentionSpec:
    key: str
    module: str          # file in attn_course.modules
    class_name: str
    paper: str
    placement: str       # one of attn_course.models.plug.PLACEMENTS

    def __post_init__(self):
        if self.placement not in PLACEMENTS:
            raise ValueError(f"{self.key}: placement must be one of {PLACEMENTS}, got {self.placement!r}")


_ENTRIES = [
    AttentionSpec("se", "se", "SEBlock", "Hu et al., Squeeze-and-Excitation Networks, CVPR 2018", AFTER_BN3),
    AttentionSpec("eca", "eca", "ECABlock", "Wang et al., ECA-Net, CVPR 2020", AFTER_BN3),
    AttentionSpec("channel", "cbam", "ChannelAttention", "Woo et al., CBAM (channel part), ECCV 2018", AFTER_BN3),
    AttentionSpec("spatial", "cbam", "SpatialAttention", "Woo et al., CBAM (spatial part), ECCV 2018", AFTER_BN3),
    AttentionSpec("cbam", "cbam", "CBAM", "Woo et al., CBAM, ECCV 2018", AFTER_BN3),
    AttentionSpec("shuffle", "shuffle", "ShuffleAttention", "Zhang & Yang, SA-Net, ICASSP 2021", AFTER_BN3),
    AttentionSpec("simam", "simam", "SimAM", "Yang et al., SimAM, ICML 2021", AFTER_CONV2),
    AttentionSpec("criss_cross", "criss_cross", "CrissCrossAttention", "Huang et al., CCNet, ICCV 2019", AFTER_BN3),
    AttentionSpec("sk", "sk", "SKAttention", "Li et al., Selective Kernel Networks, CVPR 2019", REPLACE_CONV2),
    AttentionSpec("s2", "s2", "S2Attention", "Yu et al., S2-MLPv2, arXiv 2108.01072", AFTER_BN3),
    AttentionSpec("nam", "nam", "NAMAttention", "Liu et al., NAM, arXiv 2111.12419", AFTER_BN3),
    AttentionSpec("soca", "soca", "SOCA", "Dai et al., Second-order Attention Network (SAN), CVPR 2019", AFTER_BN3),
    AttentionSpec("gam", "gam", "GAMAttention", "Liu, Shao, Hoffmann, GAM, arXiv 2112.05561", AFTER_BN3),
]

REGISTRY: dict[str, AttentionSpec] = {spec.key: spec for spec in _ENTRIES}


def available_attention() -> list[str]:
    """The keys ``create_attention`` accepts, in the course's order."""
    return list(REGISTRY)


def attention_spec(key: str) -> AttentionSpec:
    """The registry entry for ``key``; an unknown key raises ``ValueError`` listing the valid ones."""
    if not isinstance(key, str) or key.lower() not in REGISTRY:
        close = difflib.get_close_matches(str(key).lower(), REGISTRY, n=1)
        hint = f" Did you mean {close[0]!r}?" if close else ""
        raise ValueError(f"unknown attention {key!r}.{hint} Valid keys: {', '.join(REGISTRY)}.")
    return REGISTRY[key.lower()]


IMPLEMENTATIONS = ("reference", "mine")


def attention_class(key: str, *, impl: str = "reference") -> type[nn.Module]:
    """The class registered under ``key`` (imported on first use).

    ``impl="mine"`` gives the class you saved under ``key`` with ``attn_course.mine.save``, or the
    reference class (after a one-line notice) while you have not saved one.
    """
    if impl not in IMPLEMENTATIONS:
        raise ValueError(
            f"impl must be \"reference\" (the course's module) or \"mine\" (the one you saved with "
            f"attn_course.mine.save), got {impl!r}")
    spec = attention_spec(key)
    module = importlib.import_module(f"attn_course.modules.{spec.module}")
    reference = getattr(module, spec.class_name)
    if impl == "mine":
        from . import mine

        return mine.load(spec.key, fallback=reference)
    return reference


def create_attention(key: str, channels: int, *, impl: str = "reference", **options) -> nn.Module:
    """Build the attention module ``key`` for a feature map with ``channels`` channels.

    ``options`` are the class's keyword options (``reduction=8``, ``kernel_size=5`` …); see the class's
    docstring, e.g. ``help(attention_class("cbam"))``. ``impl="mine"`` builds the one you saved with
    ``attn_course.mine.save`` instead of the reference (see ``attention_class``).
    """
    return attention_class(key, impl=impl)(channels, **options)
