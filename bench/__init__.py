"""Benchmarks of Tidings: run with ``uv run python -m bench`` (see bench/README.md)."""
