"""Twilio's two list envelopes, built on the native pages.

A list endpoint asks a native service for one page (``cursor``, ``limit``: the native keyset
paging of ``core/cursors.py``) and shows the answer here. The next page's link carries the native
cursor inside Twilio's opaque ``PageToken`` (``PA`` + cursor), so paging is stateless and a token
we did not issue fails the native check (a 400).

- 2010-04-01: the records key and exactly the meta keys the SDK removes (``page``, ``page_size``,
  ``start``, ``end``, ``uri``, ``first_page_uri``, ``previous_page_uri``, ``next_page_uri``);
  any other top-level key makes the SDK refuse the page. Links are relative to the product root.
- v1: the records key and ``meta`` with absolute URLs of this gateway (``locations.py``), which
  the SDK requests as given.

``previous_page_uri``/``previous_page_url`` are always null: the pages are keyset cuts walked
forward, which is all the SDKs' iteration uses.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from starlette.requests import HTTPConnection

from tidings.core.cursors import Page
from tidings.features.compat.twilio.exceptions import invalid_parameter
from tidings.features.compat.twilio.forms import Form
from tidings.features.compat.twilio.locations import product_path, product_url, request_product

DEFAULT_PAGE_SIZE = 50
MAX_PAGE_SIZE = 1000
TOKEN_PREFIX = "PA"
PAGING_PARAMETERS = frozenset({"PageSize", "Page", "PageToken"})


@dataclass(frozen=True)
class PageAsk:
    """The page a list request asks for: its size, its number (Twilio's ``Page``, only shown
    back) and the native cursor its ``PageToken`` carries."""

    size: int
    number: int
    cursor: str | None
    filters: tuple[tuple[str, str], ...]  # the request's other parameters, kept in the links


def page_ask(form: Form) -> PageAsk:
    """``PageSize`` (default 50, at most 1000: larger asks get 1000, as Twilio caps them),
    ``Page`` and ``PageToken`` of a list request."""
    size = _whole_number(form, "PageSize", DEFAULT_PAGE_SIZE, minimum=1)
    number = _whole_number(form, "Page", 0, minimum=0)
    token = form.get("PageToken")
    cursor = None
    if token is not None:
        if not token.startswith(TOKEN_PREFIX) or len(token) == len(TOKEN_PREFIX):
            raise invalid_parameter("PageToken", "not a token this gateway issued")
        cursor = token[len(TOKEN_PREFIX) :]
    elif number > 0:
        raise invalid_parameter("Page", "a page after the first needs the PageToken of its next_page_uri")
    filters = tuple((k, v) for k, v in form.pairs if k not in PAGING_PARAMETERS)
    return PageAsk(min(size, MAX_PAGE_SIZE), number, cursor, filters)


def legacy_page(
    request: HTTPConnection, key: str, records: list[dict[str, Any]], page: Page[Any], ask: PageAsk
) -> dict[str, Any]:
    """The 2010-04-01 envelope of one page of ``records`` (already in Twilio's shape)."""
    path = product_path(request)
    start = ask.number * ask.size
    return {
        key: records,
        "page": ask.number,
        "page_size": ask.size,
        "start": start,
        "end": start + max(len(records), 1) - 1,
        "uri": _link(path, ask, ask.number, ask.cursor),
        "first_page_uri": _link(path, ask, 0, None),
        "previous_page_uri": None,
        "next_page_uri": _next(path, ask, page),
    }


def v1_page(
    request: HTTPConnection, key: str, records: list[dict[str, Any]], page: Page[Any], ask: PageAsk
) -> dict[str, Any]:
    """The v1 envelope (Conversations, Proxy) of one page, with absolute links."""
    product = request_product(request)
    path = product_path(request)
    next_path = _next(path, ask, page)
    return {
        key: records,
        "meta": {
            "page": ask.number,
            "page_size": ask.size,
            "key": key,
            "url": product_url(request, product, _link(path, ask, ask.number, ask.cursor)),
            "first_page_url": product_url(request, product, _link(path, ask, 0, None)),
            "previous_page_url": None,
            "next_page_url": None if next_path is None else product_url(request, product, next_path),
        },
    }


def _next(path: str, ask: PageAsk, page: Page[Any]) -> str | None:
    cursor = page.next_cursor
    return None if cursor is None else _link(path, ask, ask.number + 1, cursor)


def _link(path: str, ask: PageAsk, number: int, cursor: str | None) -> str:
    query = [*ask.filters, ("PageSize", str(ask.size)), ("Page", str(number))]
    if cursor is not None:
        query.append(("PageToken", TOKEN_PREFIX + cursor))
    return f"{path}?{urlencode(query)}"


def _whole_number(form: Form, name: str, default: int, *, minimum: int) -> int:
    value = form.get(name)
    if value is None:
        return default
    if not value.isdigit() or int(value) < minimum:
        raise invalid_parameter(name, f"expected a whole number of at least {minimum}")
    return int(value)
