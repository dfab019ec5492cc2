"""Twilio's Accounts resource (``/2010-04-01/Accounts.json``): the caller's account and its
subaccounts, onto the native accounts service."""

from tidings.features.compat.twilio.accounts.urls import router

__all__ = ["router"]
