"""Number utilities: normalisation and the latest status sent to a number."""

from __future__ import annotations

from dataclasses import asdict
from typing import Annotated

from fastapi import APIRouter, Depends, Request
from pydantic import BaseModel, ConfigDict, Field

from tidings.core.numbers import InvalidNumberError, normalize_number, normalize_numbers
from tidings.core.tenancy import Principal
from tidings.errors import PayloadTooLarge, Unprocessable
from tidings.web.auth import principal
from tidings.web.idempotency import run_idempotent
from tidings.web.responses import ERRORS, JSONResponse

router = APIRouter(prefix="/v1/numbers", tags=["numbers"], responses=ERRORS)
Caller = Annotated[Principal, Depends(principal)]


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
async def normalize(request: Request, body: NormalizeRequest, caller: Caller) -> JSONResponse:
    """E.164, deduplicated; invalid inputs listed with a reason."""
    gateway = request.app.state.gateway
    if len(body.numbers) > gateway.settings.max_recipients:
        raise PayloadTooLarge(
            f"at most {gateway.settings.max_recipients} numbers per request",
            code="too_many_numbers",
            field="numbers",
        )
    country = (body.default_country or gateway.settings.default_country or "").upper() or None

    async def produce() -> tuple[int, dict[str, object]]:
        result = normalize_numbers(body.numbers, country, None)
        return 200, {
            "valid": result.valid,
            "invalid": [asdict(i) for i in result.invalid],
            "duplicates": result.duplicates,
        }

    return await run_idempotent(request, caller, produce)


@router.get("/{number}/status", response_model=NumberStatusOut)
async def number_status(request: Request, number: str, caller: Caller) -> JSONResponse:
    """The status of the latest message sent to this number."""
    gateway = request.app.state.gateway
    try:
        e164 = normalize_number(number, gateway.settings.default_country)
    except InvalidNumberError as error:
        raise Unprocessable(
            f"{number!r} is not a valid number ({error.reason})",
            code="invalid_number",
            field="number",
        ) from None
    return JSONResponse(await gateway.messages.number_status(caller, e164))
