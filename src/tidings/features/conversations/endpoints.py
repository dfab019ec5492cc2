"""``/v1/conversations``: group threads, their participants and their messages."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Path, Query, Request, Response

from tidings.core.tenancy import Principal
from tidings.features.conversations.presenters import conversation_json, participant_json
from tidings.features.conversations.schemas import (
    ConversationIn,
    ConversationOut,
    ConversationPage,
    ConversationUpdate,
    MessageIn,
    MessageOut,
    MessagePage,
    ParticipantIn,
    ParticipantOut,
    ParticipantPage,
)
from tidings.features.conversations.service import CONVERSATIONS, ConversationService
from tidings.web.auth import principal
from tidings.web.idempotency import run_idempotent
from tidings.web.responses import ERRORS, JSONResponse

router = APIRouter(prefix="/v1", tags=["conversations"], responses=ERRORS)
Caller = Annotated[Principal, Depends(principal)]
Conversations = Annotated[ConversationService, Depends(CONVERSATIONS)]
Limit = Annotated[int, Query(ge=1, le=1000)]
Id = Annotated[str, Path(description="The conversation's id (con_…)")]
AccountId = Annotated[
    str | None, Query(description="A subaccount's conversations; default: the caller's account's")
]


@router.post("/conversations", status_code=201, response_model=ConversationOut)
async def create_conversation(
    body: ConversationIn,
    caller: Caller,
    service: Conversations,
    request: Request,
    account_id: AccountId = None,
) -> JSONResponse:
    """Create a conversation (sender or admin), in a subaccount with ``account_id``."""

    async def produce() -> tuple[int, dict[str, Any]]:
        fields = body.model_dump(exclude_unset=True)
        row = await service.create(caller, fields, account_id=account_id)
        return 201, conversation_json(row)

    return await run_idempotent(request, caller, produce)


@router.get("/conversations", response_model=ConversationPage)
async def list_conversations(
    caller: Caller,
    service: Conversations,
    account_id: AccountId = None,
    state: Literal["active", "inactive", "closed"] | None = None,
    cursor: str | None = None,
    limit: Limit = 50,
) -> JSONResponse:
    """The account's conversations, newest first."""
    page = await service.list_conversations(
        caller, account_id=account_id, state=state, cursor=cursor, limit=limit
    )
    return JSONResponse(page.body(conversation_json))


@router.get("/conversations/{conversation_id}", response_model=ConversationOut)
async def get_conversation(conversation_id: Id, caller: Caller, service: Conversations) -> JSONResponse:
    return JSONResponse(conversation_json(await service.get(caller, conversation_id)))


@router.patch("/conversations/{conversation_id}", response_model=ConversationOut)
async def update_conversation(
    conversation_id: Id, body: ConversationUpdate, caller: Caller, service: Conversations, request: Request
) -> JSONResponse:
    """Change fields left in the request; ``state: closed`` sends ``close_message`` first and
    is final (409 ``conversation_closed`` on reopening)."""
    changes = body.model_dump(exclude_unset=True)
    row = await service.update(caller, conversation_id, changes)
    return JSONResponse(conversation_json(row))


@router.delete("/conversations/{conversation_id}", status_code=204)
async def delete_conversation(conversation_id: Id, caller: Caller, service: Conversations) -> Response:
    """Delete the conversation with its participants and messages; sent copies stay as messages."""
    await service.delete(caller, conversation_id)
    return Response(status_code=204)


@router.post("/conversations/{conversation_id}/participants", status_code=201, response_model=ParticipantOut)
async def add_participant(
    conversation_id: Id, body: ParticipantIn, caller: Caller, service: Conversations, request: Request
) -> JSONResponse:
    """Add an address on any channel type, reached from ``proxy_address``; 409
    ``participant_in_use`` when it is in another open conversation on that proxy address."""

    async def produce() -> tuple[int, dict[str, Any]]:
        row = await service.add_participant(caller, conversation_id, body.model_dump())
        return 201, participant_json(row)

    return await run_idempotent(request, caller, produce)


@router.get("/conversations/{conversation_id}/participants", response_model=ParticipantPage)
async def list_participants(conversation_id: Id, caller: Caller, service: Conversations) -> JSONResponse:
    """Every participant, oldest first (a conversation's participants fit in one page)."""
    rows = await service.participants(caller, conversation_id)
    return JSONResponse({"data": [participant_json(r) for r in rows], "next_cursor": None})


@router.delete("/conversations/{conversation_id}/participants/{participant_id}", status_code=204)
async def remove_participant(
    conversation_id: Id,
    participant_id: str,
    caller: Caller,
    service: Conversations,
) -> Response:
    await service.remove_participant(caller, conversation_id, participant_id)
    return Response(status_code=204)


@router.post("/conversations/{conversation_id}/messages", status_code=201, response_model=MessageOut)
async def post_message(
    conversation_id: Id, body: MessageIn, caller: Caller, service: Conversations, request: Request
) -> JSONResponse:
    """Send to every participant but the author, each copy a tracked message; 409
    ``conversation_closed`` sends nothing."""

    async def produce() -> tuple[int, dict[str, Any]]:
        posted = await service.post(caller, conversation_id, author=body.author, body=body.body)
        return 201, posted

    return await run_idempotent(request, caller, produce)


@router.get("/conversations/{conversation_id}/messages", response_model=MessagePage)
async def list_messages(
    conversation_id: Id, caller: Caller, service: Conversations, cursor: str | None = None, limit: Limit = 50
) -> JSONResponse:
    """Newest first, each with its deliveries' current status and error."""
    page = await service.messages(caller, conversation_id, cursor=cursor, limit=limit)
    return JSONResponse(page.body())
