"""The core knows nothing of HTTP, web frameworks or databases (STYLE.md)."""

from __future__ import annotations

import ast
from pathlib import Path

import tidings.core

FORBIDDEN = {"fastapi", "starlette", "sqlalchemy", "httpx", "aiohttp", "asyncpg", "aiosqlite", "uvicorn"}


def test_core_imports_no_framework() -> None:
    core = Path(tidings.core.__file__).parent
    offenders = []
    for path in core.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            names = []
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module]
            offenders += [f"{path.name}: {n}" for n in names if n.split(".")[0] in FORBIDDEN]
    assert offenders == []
    assert len(list(core.rglob("*.py"))) >= 8  # the scan really looked at the modules
