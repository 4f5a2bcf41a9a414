"""The reference implementation of every attention module in the course: one file per mechanism.

Every class is built as ``Cls(channels, *, <options with the paper's defaults>)`` and maps a
(B, C, H, W) tensor to a (B, C, H, W) tensor of the same dtype and device (SK with ``stride=2``, which
replaces a strided convolution, is the one exception). ``attn_course.create_attention(key, channels)``
builds them by name.
"""

from .cbam import CBAM, ChannelAttention, SpatialAttention
from .criss_cross import CrissCrossAttention
from .eca import ECABlock, eca_kernel_size
from .gam import GAMAttention
from .nam import NAMAttention, nam_sparsity_penalty
from .s2 import S2Attention, spatial_shift_1, spatial_shift_2
from .se import SEBlock
from .shuffle import ShuffleAttention, channel_shuffle
from .simam import SimAM
from .sk import SKAttention
from .soca import SOCA

__all__ = [
    "SEBlock", "ECABlock", "eca_kernel_size", "ChannelAttention", "SpatialAttention", "CBAM",
    "ShuffleAttention", "channel_shuffle", "SimAM", "CrissCrossAttention", "SKAttention",
    "S2Attention", "spatial_shift_1", "spatial_shift_2", "NAMAttention", "nam_sparsity_penalty",
    "SOCA", "GAMAttention",
]
