"""A small HTTP client of the native API, for the CLI's send/status/tail commands."""

from __future__ import annotations

from typing import Any

import aiohttp


class ApiError(Exception):
    def __init__(self, status: int, code: str, message: str, field: str | None) -> None:
        where = f" ({field})" if field else ""
        super().__init__(f"{status} {code}: {message}{where}")
        self.status = status
        self.code = code


class TidingsClient:
    def __init__(self, base_url: str, api_key: str) -> None:
        self._base = base_url.rstrip("/")
        self._session = aiohttp.ClientSession(
            headers={"Authorization": f"Bearer {api_key}"},
            timeout=aiohttp.ClientTimeout(total=300),
        )

    async def __aenter__(self) -> TidingsClient:
        return self

    async def __aexit__(self, *_: object) -> None:
        await self._session.close()

    async def request(self, method: str, path: str, json: Any = None, params: Any = None) -> Any:
        try:
            async with self._session.request(method, self._base + path, json=json, params=params) as response:
                body = await response.json(content_type=None)
        except aiohttp.ClientConnectionError as exc:
            raise ApiError(
                0, "unreachable", f"cannot reach {self._base}: {type(exc).__name__}", None
            ) from None
        if response.status >= 400:
            error = (body or {}).get("error", {}) if isinstance(body, dict) else {}
            raise ApiError(
                response.status,
                error.get("code", "error"),
                error.get("message", ""),
                error.get("field"),
            )
        return body
