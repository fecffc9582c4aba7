"""The package version, in one place below every layer (the package facade imports it too)."""

__version__ = "0.1.0"
