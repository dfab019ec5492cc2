"""Benchmarks of Tidings: run with ``uv run python -m bench --help`` for the scenarios; the
figures and what they mean are in docs/performance.md."""
