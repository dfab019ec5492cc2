"""Twilio Proxy v1 (``/proxy/v1/Services`` with ``PhoneNumbers``, ``Sessions``, their
``Participants`` and ``Interactions``), onto the native proxy service and a little translation
state of its own."""

from fastapi import APIRouter

from tidings.features.compat.twilio.proxy.interactions import router as interactions
from tidings.features.compat.twilio.proxy.urls import router as resources

router = APIRouter()
router.include_router(resources)
router.include_router(interactions)

__all__ = ["router"]
