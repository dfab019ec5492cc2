"""``/conversations/v1/Conversations`` with ``Participants`` and ``Messages``.

Each endpoint reads the form (``forms.py``, unknown parameters refused), translates it
(``parameters.py``) and calls the native ``ConversationService`` -- the methods behind
``/v1/conversations`` -- then shows the answer in Twilio's JSON (``responses.py``). A request
acts for the account whose credentials it carries, as Twilio's v1 APIs do: a parent's credentials
do not reach its subaccounts' conversations here (use the subaccount's own), and nobody reaches a
parent's or a sibling's (20404).
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request, Response

from tidings.core.cursors import Page
from tidings.core.tenancy import Principal
from tidings.features.compat.twilio.auth import acting_as, twilio_principal
from tidings.features.compat.twilio.conversations.parameters import (
    CONVERSATION_PARAMETERS,
    MESSAGE_PARAMETERS,
    PARTICIPANT_PARAMETERS,
    conversation_fields,
    message_fields,
    participant_fields,
)
from tidings.features.compat.twilio.conversations.responses import (
    CONVERSATION,
    MESSAGE,
    PARTICIPANT,
    conversation_json,
    message_json,
    participant_json,
)
from tidings.features.compat.twilio.dates import Span, date_filter
from tidings.features.compat.twilio.exceptions import invalid_parameter, not_found
from tidings.features.compat.twilio.forms import read_form
from tidings.features.compat.twilio.paging import PAGING_PARAMETERS, page_ask, v1_page
from tidings.features.compat.twilio.sids import from_sid
from tidings.features.conversations import CONVERSATIONS, ConversationService
from tidings.web.responses import JSONResponse

router = APIRouter(prefix="/conversations/v1/Conversations")
Conversations = Annotated[ConversationService, Depends(CONVERSATIONS)]

LIST_PARAMETERS = PAGING_PARAMETERS | {"StartDate", "EndDate", "State"}
MESSAGE_LIST_PARAMETERS = PAGING_PARAMETERS | {"Order"}
STATES = frozenset({"initializing", "active", "inactive", "closed"})


async def _caller(request: Request) -> Principal:
    caller = await twilio_principal(request)
    return acting_as(caller, caller.account_id)


Caller = Annotated[Principal, Depends(_caller)]


def _conversation_id(sid: str) -> str:
    return from_sid(sid, CONVERSATION[0], CONVERSATION[1])


# -- conversations ---------------------------------------------------------------------------


@router.post("", status_code=201)
async def create_conversation(request: Request, caller: Caller, service: Conversations) -> JSONResponse:
    form = await read_form(request, CONVERSATION_PARAMETERS)
    row = await service.create(caller, conversation_fields(form, creating=True))
    return JSONResponse(conversation_json(request, row), status_code=201)


@router.get("")
async def list_conversations(request: Request, caller: Caller, service: Conversations) -> JSONResponse:
    """Newest first. ``StartDate``/``EndDate`` (``YYYY-MM-DD`` or a time, creation on or after /
    on or before) are applied to each native page, so a page may hold fewer rows than asked;
    its next-page link still walks the rest."""
    form = await read_form(request, LIST_PARAMETERS)
    ask = page_ask(form)
    state = form.get("State")
    if state is not None and state not in STATES:
        raise invalid_parameter("State", "one of " + ", ".join(sorted(STATES)))
    span = Span()
    for name, relation in (("StartDate", ">"), ("EndDate", "<")):
        value = form.get(name)
        if value is not None:
            span = span.narrowed(date_filter(name, value, relation))
    page = await service.list_conversations(
        caller, account_id=None, state=state, cursor=ask.cursor, limit=ask.size
    )
    records = [
        conversation_json(request, row)
        for row in page.rows
        if state != "initializing"
        and (span.since is None or row["created_at"] >= span.since)
        and (span.until is None or row["created_at"] < span.until)
    ]
    return JSONResponse(v1_page(request, "conversations", records, page, ask))


@router.get("/{sid}")
async def fetch_conversation(
    request: Request, sid: str, caller: Caller, service: Conversations
) -> JSONResponse:
    await read_form(request)
    return JSONResponse(conversation_json(request, await service.get(caller, _conversation_id(sid))))


@router.post("/{sid}")
async def update_conversation(
    request: Request, sid: str, caller: Caller, service: Conversations
) -> JSONResponse:
    """``State=closed`` closes (final: the native close, its close message first); ``active`` /
    ``inactive`` move between the open states."""
    form = await read_form(request, CONVERSATION_PARAMETERS)
    conversation_id = _conversation_id(sid)
    await service.get(caller, conversation_id)  # 20404 before any parameter problem
    changes = conversation_fields(form, creating=False)
    row = await service.update(caller, conversation_id, changes)
    return JSONResponse(conversation_json(request, row))


@router.delete("/{sid}", status_code=204)
async def delete_conversation(request: Request, sid: str, caller: Caller, service: Conversations) -> Response:
    await read_form(request)
    await service.delete(caller, _conversation_id(sid))
    return Response(status_code=204)


# -- participants ----------------------------------------------------------------------------


@router.post("/{sid}/Participants", status_code=201)
async def add_participant(request: Request, sid: str, caller: Caller, service: Conversations) -> JSONResponse:
    form = await read_form(request, PARTICIPANT_PARAMETERS)
    conversation = await service.get(caller, _conversation_id(sid))
    row = await service.add_participant(caller, conversation["id"], participant_fields(form))
    return JSONResponse(participant_json(request, conversation["account_id"], row), status_code=201)


@router.get("/{sid}/Participants")
async def list_participants(
    request: Request, sid: str, caller: Caller, service: Conversations
) -> JSONResponse:
    """Oldest first, in one page: a conversation's participants are few (the native list)."""
    form = await read_form(request, PAGING_PARAMETERS)
    ask = page_ask(form)
    conversation = await service.get(caller, _conversation_id(sid))
    rows = await service.participants(caller, conversation["id"])
    records = [participant_json(request, conversation["account_id"], row) for row in rows]
    return JSONResponse(v1_page(request, "participants", records, _one_page(rows), ask))


async def _participant(
    service: ConversationService, caller: Principal, sid: str, participant_sid: str
) -> tuple[dict[str, Any], dict[str, Any]]:
    conversation = await service.get(caller, _conversation_id(sid))
    participant_id = from_sid(participant_sid, PARTICIPANT[0], PARTICIPANT[1])
    for row in await service.participants(caller, conversation["id"]):
        if row["id"] == participant_id:
            return conversation, row
    raise not_found()


@router.get("/{sid}/Participants/{participant_sid}")
async def fetch_participant(
    request: Request, sid: str, participant_sid: str, caller: Caller, service: Conversations
) -> JSONResponse:
    await read_form(request)
    conversation, row = await _participant(service, caller, sid, participant_sid)
    return JSONResponse(participant_json(request, conversation["account_id"], row))


@router.delete("/{sid}/Participants/{participant_sid}", status_code=204)
async def remove_participant(
    request: Request, sid: str, participant_sid: str, caller: Caller, service: Conversations
) -> Response:
    await read_form(request)
    conversation, row = await _participant(service, caller, sid, participant_sid)
    await service.remove_participant(caller, conversation["id"], row["id"])
    return Response(status_code=204)


# -- messages --------------------------------------------------------------------------------


@router.post("/{sid}/Messages", status_code=201)
async def post_message(request: Request, sid: str, caller: Caller, service: Conversations) -> JSONResponse:
    """An authored message: the native post, which copies it to every participant but its author."""
    form = await read_form(request, MESSAGE_PARAMETERS)
    conversation = await service.get(caller, _conversation_id(sid))
    author, body = message_fields(form)
    posted = await service.post(caller, conversation["id"], author=author, body=body)
    index = await service.messages_before(caller, conversation["id"], posted["id"])
    return JSONResponse(message_json(request, conversation["account_id"], posted, index), status_code=201)


@router.get("/{sid}/Messages")
async def list_messages(request: Request, sid: str, caller: Caller, service: Conversations) -> JSONResponse:
    """``Order=asc`` (Twilio's default) oldest first, ``desc`` newest first. ``index`` is the
    count of older messages: the first page's first row is counted once, the rest follow it."""
    form = await read_form(request, MESSAGE_LIST_PARAMETERS)
    ask = page_ask(form)
    order = form.get("Order") or "asc"
    if order not in ("asc", "desc"):
        raise invalid_parameter("Order", "asc or desc")
    conversation = await service.get(caller, _conversation_id(sid))
    page = await service.messages(
        caller, conversation["id"], cursor=ask.cursor, limit=ask.size, oldest_first=order == "asc"
    )
    records = []
    if page.rows:
        first = await service.messages_before(caller, conversation["id"], page.rows[0]["id"])
        step = 1 if order == "asc" else -1
        records = [
            message_json(request, conversation["account_id"], row, first + step * offset)
            for offset, row in enumerate(page.rows)
        ]
    return JSONResponse(v1_page(request, "messages", records, page, ask))


@router.get("/{sid}/Messages/{message_sid}")
async def fetch_message(
    request: Request, sid: str, message_sid: str, caller: Caller, service: Conversations
) -> JSONResponse:
    await read_form(request)
    conversation = await service.get(caller, _conversation_id(sid))
    message_id = from_sid(message_sid, MESSAGE[0], MESSAGE[1])
    row = await service.message(caller, conversation["id"], message_id)
    index = await service.messages_before(caller, conversation["id"], message_id)
    return JSONResponse(message_json(request, conversation["account_id"], row, index))


def _one_page(rows: list[dict[str, Any]]) -> Page[dict[str, Any]]:
    return Page(rows, max(len(rows), 1), None)
