"""``/2010-04-01/Accounts/{AccountSid}/Messages.json`` and ``…/Messages/{Sid}.json``.

Create sends through ``MessageService.send`` (the path of ``POST /v1/messages``) with one
recipient and answers the message as stored; fetch and list read ``MessageService.get`` and
``.list``; ``Status=canceled`` calls ``MessageService.cancel`` on a scheduled message. The
path's account is the caller's own or one of its subaccounts (``auth.py``): the request acts as
that account and sees its messages alone, as Twilio scopes a request to the account in its URL.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request, Response

from tidings.core.presenters import message_json as public_message
from tidings.core.tenancy import Principal
from tidings.errors import TidingsError
from tidings.features.compat.twilio.auth import acting_as, path_account, twilio_principal
from tidings.features.compat.twilio.dates import Span, date_filter
from tidings.features.compat.twilio.exceptions import (
    METHOD_NOT_ALLOWED,
    TwilioError,
    invalid_parameter,
    unsupported_parameter,
)
from tidings.features.compat.twilio.forms import read_form
from tidings.features.compat.twilio.messages.opt_outs import OptOutCheck
from tidings.features.compat.twilio.messages.responses import (
    MESSAGE_LETTERS,
    MESSAGE_PREFIX,
    accepted_message,
    message_json,
)
from tidings.features.compat.twilio.messages.sending import CREATE_PARAMETERS, refusal, send_request
from tidings.features.compat.twilio.paging import PAGING_PARAMETERS, legacy_page, page_ask
from tidings.features.compat.twilio.sids import from_sid
from tidings.features.messages import MESSAGES, MessageFilter, MessageService
from tidings.features.optouts import OPT_OUTS
from tidings.web.idempotency import idempotency_key, request_hash
from tidings.web.responses import JSONResponse

router = APIRouter(prefix="/api/2010-04-01/Accounts/{account_sid}")
Messages = Annotated[MessageService, Depends(MESSAGES)]
# One per process, as the native caches are: keyed by account, which no two gateways share.
OPT_OUT_CHECK = OptOutCheck()

DATE_FILTERS = {"DateSent": "=", "DateSent<": "<", "DateSent>": ">"}
LIST_PARAMETERS = PAGING_PARAMETERS | {"To", "From"} | DATE_FILTERS.keys()
UPDATE_PARAMETERS = frozenset({"Status", "Body"})
NOT_CANCELABLE = 21200  # Twilio answers a cancel of a message that is not scheduled with a 400
NO_REDACTION = "Tidings does not redact message bodies"
NO_DELETION = (
    "Tidings keeps every message (its events, batch and webhooks refer to it); "
    "cancel a scheduled one with Status=canceled"
)


async def _acting(request: Request, account_sid: str) -> Principal:
    caller = await twilio_principal(request)
    return acting_as(caller, path_account(caller, account_sid))


@router.post("/Messages.json", status_code=201)
async def create_message(request: Request) -> JSONResponse:
    # The hot path: the path parameter is read from the request, not solved by FastAPI, as the
    # native send does (features/messages/endpoints.py).
    caller = await _acting(request, request.path_params["account_sid"])
    form = await read_form(request, CREATE_PARAMETERS)
    body = send_request(form)
    service = MESSAGES.of(request.app)
    await OPT_OUT_CHECK.refuse(OPT_OUTS.of(request.app), caller, str(body.to), body.from_)
    key = idempotency_key(request)
    try:
        batch = await service.send(
            caller, body, idempotency_key=key, request_hash=await request_hash(request) if key else ""
        )
    except TidingsError as exc:
        raise refusal(exc) from None
    to, text = str(body.to), body.body or ""
    message = accepted_message(batch, caller.account_id, to, body.from_, text)
    if message is None:
        message = await service.get(caller, batch["message_ids"][0])
    return JSONResponse(message_json(message), status_code=201)


@router.get("/Messages.json")
async def list_messages(request: Request, account_sid: str, service: Messages) -> JSONResponse:
    caller = await _acting(request, account_sid)
    form = await read_form(request, LIST_PARAMETERS)
    ask = page_ask(form)
    span = Span()
    for name, relation in DATE_FILTERS.items():
        value = form.get(name)
        if value is not None:
            span = span.narrowed(date_filter(name, value, relation))
    where = MessageFilter(to=form.get("To"), sender=form.get("From"), since=span.since, until=span.until)
    page = await service.list(caller, where, cursor=ask.cursor, limit=ask.size)
    records = [message_json(public_message(row)) for row in page.rows]
    return JSONResponse(legacy_page(request, "messages", records, page, ask))


@router.get("/Messages/{sid}.json")
async def fetch_message(request: Request, account_sid: str, sid: str, service: Messages) -> JSONResponse:
    caller = await _acting(request, account_sid)
    await read_form(request)
    message = await service.get(caller, from_sid(sid, MESSAGE_LETTERS, MESSAGE_PREFIX))
    return JSONResponse(message_json(message))


@router.post("/Messages/{sid}.json")
async def update_message(request: Request, account_sid: str, sid: str, service: Messages) -> JSONResponse:
    caller = await _acting(request, account_sid)
    form = await read_form(request, UPDATE_PARAMETERS)
    message_id = from_sid(sid, MESSAGE_LETTERS, MESSAGE_PREFIX)
    message = await service.get(caller, message_id)  # 20404 before any other answer
    if "Body" in form:
        raise unsupported_parameter("Body", NO_REDACTION)
    status = form.get("Status")
    if status is None:
        return JSONResponse(message_json(message))
    if status != "canceled":
        raise invalid_parameter("Status", "the only change is canceled")
    if message["status"] != "scheduled":
        # Native cancel also takes queued messages; Twilio cancels scheduled ones only.
        raise TwilioError(
            NOT_CANCELABLE, f"Message is {message['status']}: only a scheduled message can be canceled"
        )
    try:
        canceled = await service.cancel(caller, message_id)
    except TidingsError as exc:  # it left between the read and the cancel
        raise TwilioError(NOT_CANCELABLE, exc.message) from None
    return JSONResponse(message_json(canceled))


@router.delete("/Messages/{sid}.json")
async def delete_message(request: Request, account_sid: str, sid: str, service: Messages) -> Response:
    caller = await _acting(request, account_sid)
    await read_form(request)
    await service.get(caller, from_sid(sid, MESSAGE_LETTERS, MESSAGE_PREFIX))
    raise TwilioError(METHOD_NOT_ALLOWED, f"Messages cannot be deleted: {NO_DELETION}", 405)
