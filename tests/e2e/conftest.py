"""Fixtures of the end-to-end tests; their helpers are in ``support.cli``."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from support.cli import Server


@pytest.fixture
def servers() -> Iterator[list[Server]]:
    """Servers started by one test, all stopped afterwards."""
    started: list[Server] = []
    yield started
    for server in started:
        server.stop()
