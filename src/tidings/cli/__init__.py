"""The ``tidings`` command line: run the gateway, migrate, send, and administer from the shell."""

from __future__ import annotations

import sys

from tidings.cli import admin, channels, messaging, server, simulate  # noqa: F401 - importing registers the commands
from tidings.cli.base import app

__all__ = ["app", "run"]


def run() -> None:  # pragma: no cover - console entry point
    try:
        app()
    except KeyboardInterrupt:
        sys.exit(130)
