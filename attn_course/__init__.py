"""attn_course: helpers for the attention-modules course, and a reference library of the modules.

    >>> from attn_course import create_attention
    >>> cbam = create_attention("cbam", 256)
"""

from ._version import __version__
from .registry import attention_class, available_attention, create_attention

__all__ = ["__version__", "attention_class", "available_attention", "create_attention", "mine"]


def __getattr__(name):
    """``attn_course.mine`` (the student's saved modules) is imported on first use."""
    if name == "mine":
        import importlib

        return importlib.import_module("attn_course.mine")
    raise AttributeError(f"module 'attn_course' has no attribute {name!r}")
