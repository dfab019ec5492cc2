"""The surface's routes: one router per product resource package, each with its own prefix
(``/api/2010-04-01``, ``/conversations/v1``, ``/proxy/v1``). A new resource adds its line."""

from __future__ import annotations

from fastapi import APIRouter

from tidings.features.compat.twilio.accounts import keys_router as keys
from tidings.features.compat.twilio.accounts import router as accounts
from tidings.features.compat.twilio.conversations import router as conversations
from tidings.features.compat.twilio.messages import router as messages
from tidings.features.compat.twilio.proxy import router as proxy

ROUTERS: tuple[APIRouter, ...] = (
    accounts,
    keys,
    messages,
    conversations,
    proxy,
)
