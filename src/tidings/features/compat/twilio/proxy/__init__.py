"""Twilio Proxy v1 (``/proxy/v1/Services`` with ``PhoneNumbers``, ``Sessions`` and their
``Participants``), onto the native proxy service and a little translation state of its own."""

from tidings.features.compat.twilio.proxy.urls import router

__all__ = ["router"]
