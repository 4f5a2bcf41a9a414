"""The package version; every notebook's first cell asserts it."""

__version__ = "0.3.0"
