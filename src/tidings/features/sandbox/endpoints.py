"""Sandbox handsets: read what a number received; reply as that number."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request
from pydantic import BaseModel, ConfigDict, Field

from tidings.core.tenancy import Principal
from tidings.features.messages import MessageOut
from tidings.features.sandbox.service import SANDBOX, SandboxService
from tidings.web.auth import principal
from tidings.web.idempotency import run_idempotent
from tidings.web.responses import ERRORS, JSONResponse

router = APIRouter(prefix="/v1/sandbox", tags=["sandbox"], responses=ERRORS)
Caller = Annotated[Principal, Depends(principal)]
Sandbox = Annotated[SandboxService, Depends(SANDBOX)]


class HandsetMessageIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    to: str = Field(min_length=1, max_length=64, description="One of the sandbox channel's senders")
    body: str = Field(max_length=1600)
    channel: str | None = None


class HandsetInbox(BaseModel):
    data: list[MessageOut]


@router.get("/handsets/{number}/messages", response_model=HandsetInbox)
async def handset_inbox(
    number: str, caller: Caller, service: Sandbox, limit: Annotated[int, Query(ge=1, le=1000)] = 100
) -> JSONResponse:
    data = await service.handset_messages(caller, number, limit=limit)
    return JSONResponse({"data": data})


@router.post("/handsets/{number}/messages", status_code=201, response_model=MessageOut)
async def handset_reply(
    request: Request, number: str, body: HandsetMessageIn, caller: Caller, service: Sandbox
) -> JSONResponse:
    async def produce() -> tuple[int, dict[str, object]]:
        message = await service.send_from_handset(
            caller, number, to=body.to, body=body.body, channel=body.channel
        )
        return 201, message

    return await run_idempotent(request, caller, produce)
