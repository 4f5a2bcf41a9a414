"""The reference implementation of every attention module in the course: one file per mechanism.

Every class is built as ``Cls(channels, *, <options with the paper's defaults>)`` and maps a
(B, C, H, W) tensor to a (B, C, H, W) tensor of the same dtype and device.
"""

from .se import SEBlock

__all__ = ["SEBlock"]
