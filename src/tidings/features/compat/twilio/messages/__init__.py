"""Twilio's Messages resource (``/2010-04-01/Accounts/{AccountSid}/Messages``), onto the native
messages service: the same send, read and cancel as ``/v1/messages``."""

from tidings.features.compat.twilio.messages.urls import router

__all__ = ["router"]
