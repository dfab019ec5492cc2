"""Opaque list cursors: the last position of a page, base64url-encoded and checked on the way in."""

from __future__ import annotations

import base64
import binascii
import re

from tidings.errors import InvalidRequest

ID_POSITION = re.compile(r"^[a-z]{2,5}_[0-9A-Z]{26}$")
NUMBER_POSITION = re.compile(r"^[0-9]{1,19}$")


def encode_cursor(position: str) -> str:
    return base64.urlsafe_b64encode(position.encode()).decode().rstrip("=")


def decode_cursor(cursor: str | None, shape: re.Pattern[str] = ID_POSITION) -> str | None:
    """The position inside a cursor we issued; anything else is a 400 ``invalid_cursor``."""
    if cursor is None:
        return None
    try:
        position = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
    except (binascii.Error, UnicodeDecodeError, ValueError):
        position = ""
    if not shape.fullmatch(position):
        raise InvalidRequest("the cursor is not valid", code="invalid_cursor", field="cursor")
    return position
