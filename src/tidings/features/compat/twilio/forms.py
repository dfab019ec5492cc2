"""Twilio's request parameters: form-encoded, read as a multi-dict, every one accounted for.

The SDKs send ``application/x-www-form-urlencoded`` bodies on POST (``+`` for a space, lists as
repeated keys, dotted names such as ``MessagingBinding.Address`` as plain keys) and the query
string on GET, where list requests also carry that Content-Type with no body. A parameter the
resource does not support is a 400 naming it: silently ignoring ``MaxPrice`` or ``Attempt``
would let a client believe they took effect.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from urllib.parse import parse_qsl

from fastapi import Request

from tidings.features.compat.twilio.exceptions import (
    INVALID_PARAMETER,
    TwilioError,
    invalid_parameter,
    unknown_parameter,
)

FORM = "application/x-www-form-urlencoded"


@dataclass(frozen=True)
class Form:
    """The parameters of one request, in the order sent, repeated keys kept."""

    pairs: tuple[tuple[str, str], ...]

    def names(self) -> list[str]:
        return list(dict.fromkeys(name for name, _ in self.pairs))

    def all(self, name: str) -> list[str]:
        return [value for key, value in self.pairs if key == name]

    def get(self, name: str) -> str | None:
        """The one value of ``name``, None when absent; a repeated single-valued parameter is a
        400 rather than a silent pick of one of them."""
        values = self.all(name)
        if len(values) > 1:
            raise invalid_parameter(name, "given more than once")
        return values[0] if values else None

    def __contains__(self, name: object) -> bool:
        return any(key == name for key, _ in self.pairs)

    def only(self, allowed: Collection[str]) -> Form:
        """This form, when every parameter in it is one of ``allowed``; else a 400 naming the
        first that is not."""
        for name in self.names():
            if name not in allowed:
                raise unknown_parameter(name)
        return self


def parse(text: str) -> Form:
    try:
        pairs = parse_qsl(text, keep_blank_values=True, strict_parsing=False, errors="strict")
    except UnicodeDecodeError:
        raise TwilioError(INVALID_PARAMETER, "The parameters are not valid UTF-8") from None
    return Form(tuple(pairs))


async def read_form(request: Request, allowed: Collection[str] = ()) -> Form:
    """The request's parameters, checked against ``allowed``.

    GET and DELETE read the query string (a Content-Type with no body is accepted, as the SDK
    sends it). POST reads the form body; it takes nothing in the query string, which Twilio
    would ignore and we refuse like any unsupported parameter."""
    query_string = request.scope.get("query_string", b"")
    if request.method in ("GET", "DELETE", "HEAD"):
        return parse(request.url.query).only(allowed)
    if query_string:
        parse(request.url.query).only(())
    raw = await request.body()
    if not raw:
        return Form(()).only(allowed)
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type != FORM:
        raise TwilioError(
            INVALID_PARAMETER, f"Send the parameters as {FORM}, not {content_type or 'an unnamed type'}"
        )
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise TwilioError(INVALID_PARAMETER, "The parameters are not valid UTF-8") from None
    return parse(text).only(allowed)
