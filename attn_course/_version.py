"""The package version; every notebook's first cell asserts it."""

__version__ = "0.2.0"
