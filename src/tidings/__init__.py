"""Tidings: a self-hosted, provider-agnostic messaging gateway."""

__version__ = "0.1.0"
