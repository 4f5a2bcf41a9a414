"""Turn the ``attention=`` argument of a ResNet builder into a recipe for each bottleneck.

A bottleneck offers three plug points (the names are the registry's placements):

* ``"after_bn3"``: on the residual branch after the last BatchNorm, before the residual addition;
  the module sees ``planes * 4`` channels (SE, ECA, CBAM, ShuffleAttention, NAM, ...);
* ``"after_conv2"``: after the 3×3 convolution, before its BatchNorm; the module sees the bottleneck
  width (SimAM);
* ``"replace_conv2"``: the module *is* the 3×3 convolution stage (conv, BatchNorm and ReLU); it is
  built as ``factory(width, stride=stride, groups=groups)`` and must map ``width`` channels to
  ``width`` channels at the block's stride (SK).
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from dataclasses import dataclass

from torch import nn

__all__ = ["PLACEMENTS", "AFTER_BN3", "AFTER_CONV2", "REPLACE_CONV2", "AttentionPlug",
           "resolve_attention"]

AFTER_BN3, AFTER_CONV2, REPLACE_CONV2 = PLACEMENTS = ("after_bn3", "after_conv2", "replace_conv2")


@dataclass(frozen=True)
class AttentionPlug:
    """Where the attention goes in every bottleneck, and how to build it.

    ``build(channels)`` for ``"after_bn3"`` / ``"after_conv2"``;
    ``build(channels, stride=..., groups=...)`` for ``"replace_conv2"``.
    """

    placement: str
    build: Callable[..., nn.Module]


def _check_placement(placement) -> str:
    if placement not in PLACEMENTS:
        raise ValueError(
            f"placement must be one of {', '.join(repr(p) for p in PLACEMENTS)}, got {placement!r}."
        )
    return placement


def _accepts_stride_and_groups(cls: type) -> bool:
    parameters = inspect.signature(cls).parameters
    takes_kwargs = any(p.kind is inspect.Parameter.VAR_KEYWORD for p in parameters.values())
    return takes_kwargs or {"stride", "groups"} <= parameters.keys()


def _from_key(key: str, placement, options: dict, impl: str) -> AttentionPlug:
    from attn_course.registry import attention_class, attention_spec   # the registry imports us

    spec = attention_spec(key)
    placement = spec.placement if placement is None else _check_placement(placement)
    cls = attention_class(spec.key, impl=impl)
    if placement == "replace_conv2" and not _accepts_stride_and_groups(cls):
        raise ValueError(
            f"placement 'replace_conv2' needs a module built as Cls(width, stride=..., groups=...); "
            f"{cls.__name__} ({spec.key!r}) takes no stride/groups. Use 'after_bn3' or 'after_conv2'."
        )

    def build(channels: int, **conv_options) -> nn.Module:
        return cls(channels, **conv_options, **options)

    return AttentionPlug(placement, build)


def resolve_attention(attention, placement=None, options: dict | None = None, *,
                      impl: str = "reference") -> AttentionPlug | None:
    """Read the builders' ``attention``/``placement``/``**options`` arguments.

    Args:
        attention: ``None`` (a plain ResNet), a registry key such as ``"se"``, or a callable
            ``factory(channels) -> nn.Module`` (for ``"replace_conv2"``:
            ``factory(width, stride=..., groups=...)``).
        placement: one of :data:`PLACEMENTS`; ``None`` means the registry's placement for a key and
            ``"after_bn3"`` for a callable.
        options: keyword options for the registered class (only with a key).
        impl: with a key, ``"reference"`` (the course's module) or ``"mine"`` (the one saved with
            ``attn_course.mine.save``; see ``attn_course.registry.attention_class``).

    Returns:
        An :class:`AttentionPlug`, or ``None`` for a plain network.
    """
    options = options or {}
    if attention is None:
        if options or placement is not None:
            raise ValueError(
                "placement and attention options need an attention module: pass attention= a "
                f"registry key or a factory, got attention=None with placement={placement!r}, "
                f"options={sorted(options)}."
            )
        return None
    if isinstance(attention, str):
        return _from_key(attention, placement, options, impl)
    if callable(attention):
        if options:
            raise ValueError(
                "attention options apply to a registry key only; with a factory, bind them inside "
                f"it (e.g. lambda c: ECABlock(c, kernel_size=5)). Got options {sorted(options)}."
            )
        placement = "after_bn3" if placement is None else _check_placement(placement)
        return AttentionPlug(placement, attention)
    raise ValueError(
        "attention must be None, a registry key (str) or a callable factory(channels) -> nn.Module, "
        f"got {type(attention).__name__}."
    )
