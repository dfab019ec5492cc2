"""Twilio's Accounts resource (``/2010-04-01/Accounts.json``): the caller's account and its
subaccounts, and their API keys (``Keys.json``), onto the native accounts service."""

from tidings.features.compat.twilio.accounts.keys import router as keys_router
from tidings.features.compat.twilio.accounts.urls import router

__all__ = ["keys_router", "router"]
