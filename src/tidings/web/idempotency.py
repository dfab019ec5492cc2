"""``Idempotency-Key`` for POSTs whose service does not store the key in its own transaction.

The message intake writes its key atomically with the batch (see the messages service); other
POSTs store their answer right after it is produced. Answers that carry a secret (a new API key,
a new account's auth token) are stored sealed with the instance secret, never in clear.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
from collections.abc import Awaitable, Callable
from typing import Any

from fastapi import Request
from sqlalchemy.exc import IntegrityError

from tidings.core.clock import now_ms
from tidings.core.tenancy import Principal
from tidings.errors import InvalidRequest
from tidings.store.idempotency import store_answers, stored_answer
from tidings.web.responses import JSONResponse
from tidings.web.services import DATABASE, SECRET_BOX

MAX_KEY_LENGTH = 255
_SEALED = "sealed:"


def idempotency_key(request: Request) -> str | None:
    key = request.headers.get("idempotency-key")
    if key is None:
        return None
    key = key.strip()
    if not key or len(key) > MAX_KEY_LENGTH or not key.isprintable():
        raise InvalidRequest(
            f"Idempotency-Key must be 1 to {MAX_KEY_LENGTH} printable characters",
            code="invalid_idempotency_key",
        )
    return key


async def request_hash(request: Request) -> str:
    digest = hashlib.sha256(f"{request.method} {request.url.path}\n".encode())
    digest.update(await request.body())
    return digest.hexdigest()


async def run_idempotent(
    request: Request,
    principal: Principal,
    produce: Callable[[], Awaitable[tuple[int, dict[str, Any]]]],
    *,
    sealed: bool = False,
) -> JSONResponse:
    key = idempotency_key(request)
    if key is None:
        status, body = await produce()
        return JSONResponse(body, status_code=status)
    db, box = DATABASE.of(request.app), SECRET_BOX.of(request.app)
    fingerprint = await request_hash(request)
    stored = await stored_answer(db, principal.account_id, key, fingerprint)
    if stored is not None:
        status, text = stored
        if text.startswith(_SEALED):
            text = box.open(text[len(_SEALED) :])
        return JSONResponse(json.loads(text), status_code=status)
    status, body = await produce()
    text = json.dumps(body)
    if sealed:
        text = _SEALED + box.seal(text)
    answer = {
        "account_id": principal.account_id,
        "key": key,
        "request_hash": fingerprint,
        "status_code": status,
        "response_body": text,
        "created_at": now_ms(),
    }
    # A concurrent twin may have stored its answer first; both did the same work.
    with contextlib.suppress(IntegrityError):
        await db.transact(lambda conn: store_answers(conn, [answer]))
    return JSONResponse(body, status_code=status)
