"""Number utilities: normalisation and the latest status sent to a number."""

from __future__ import annotations

from dataclasses import asdict
from typing import Annotated

from fastapi import APIRouter, Depends, Request
from pydantic import BaseModel, ConfigDict, Field

from tidings.config import Settings
from tidings.core.numbers import InvalidNumberError, normalize_number, normalize_numbers
from tidings.core.tenancy import Principal
from tidings.errors import PayloadTooLarge, Unprocessable
from tidings.features.messages import MESSAGES, MessageService
from tidings.web.auth import principal
from tidings.web.idempotency import run_idempotent
from tidings.web.responses import ERRORS, JSONResponse
from tidings.web.services import SETTINGS

router = APIRouter(prefix="/v1/numbers", tags=["numbers"], responses=ERRORS)
Caller = Annotated[Principal, Depends(principal)]
Configured = Annotated[Settings, Depends(SETTINGS)]


class NormalizeRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    numbers: list[str]
    default_country: str | None = Field(default=None, min_length=2, max_length=2)


class InvalidOut(BaseModel):
    input: str
    reason: str


class NormalizeOut(BaseModel):
    valid: list[str]
    invalid: list[InvalidOut]
    duplicates: int


class NumberStatusOut(BaseModel):
    number: str
    status: str
    message_id: str
    updated_at: str


@router.post("/normalize", response_model=NormalizeOut)
async def normalize(
    request: Request, body: NormalizeRequest, caller: Caller, settings: Configured
) -> JSONResponse:
    """E.164, deduplicated; invalid inputs listed with a reason."""
    if len(body.numbers) > settings.max_recipients:
        raise PayloadTooLarge(
            f"at most {settings.max_recipients} numbers per request",
            code="too_many_numbers",
            field="numbers",
        )
    country = (body.default_country or settings.default_country or "").upper() or None

    async def produce() -> tuple[int, dict[str, object]]:
        result = normalize_numbers(body.numbers, country, None)
        return 200, {
            "valid": result.valid,
            "invalid": [asdict(i) for i in result.invalid],
            "duplicates": result.duplicates,
        }

    return await run_idempotent(request, caller, produce)


@router.get("/{number}/status", response_model=NumberStatusOut)
async def number_status(
    number: str,
    caller: Caller,
    settings: Configured,
    messages: Annotated[MessageService, Depends(MESSAGES)],
) -> JSONResponse:
    """The status of the latest message sent to this number."""
    try:
        e164 = normalize_number(number, settings.default_country)
    except InvalidNumberError as error:
        raise Unprocessable(
            f"{number!r} is not a valid number ({error.reason})",
            code="invalid_number",
            field="number",
        ) from None
    return JSONResponse(await messages.number_status(caller, e164))
