"""Twilio Conversations v1 (``/conversations/v1/Conversations``, with ``Participants`` and
``Messages``), onto the native conversations service."""

from tidings.features.compat.twilio.conversations.urls import router

__all__ = ["router"]
