"""Every list pages the same way on each backend: ``limit`` rows a page in the list's own order,
``next_cursor`` the base64url text of the last row's id (cursors issued before stay valid), and
``null`` on the last page."""

from __future__ import annotations

import base64
import re
from typing import Any

from support.gateway import RunningGateway


def _cursor_of(position: str) -> str:
    return base64.urlsafe_b64encode(position.encode()).decode().rstrip("=")


async def _walk(gw: RunningGateway, path: str, limit: int = 1) -> list[dict[str, Any]]:
    """Every row of a list read ``limit`` at a time, checking each page's cursor on the way."""
    glue = "&" if "?" in path else "?"
    seen: list[dict[str, Any]] = []
    cursor: str | None = None
    while True:
        page = await gw.call("GET", f"{path}{glue}limit={limit}" + (f"&cursor={cursor}" if cursor else ""))
        assert page.status == 200, page.body
        assert 0 < len(page.body["data"]) <= limit or not seen
        seen += page.body["data"]
        cursor = page.body["next_cursor"]
        if cursor is None:
            return seen
        assert len(page.body["data"]) == limit
        if "id" in seen[-1]:
            assert cursor == _cursor_of(seen[-1]["id"])
        else:  # a message's events: numbered rows, their number the position
            assert re.fullmatch(
                r"[0-9]+", base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
            )


async def _pages_like_one_big_page(gw: RunningGateway, path: str, *, newest_first: bool, count: int) -> None:
    whole = await gw.call("GET", path + ("&" if "?" in path else "?") + "limit=1000")
    assert whole.status == 200 and whole.body["next_cursor"] is None, whole.body
    rows = whole.body["data"]
    assert len(rows) == count, (path, rows)
    if "id" in rows[0]:
        ids = [row["id"] for row in rows]
        assert ids == sorted(ids, reverse=newest_first), path
    assert await _walk(gw, path) == rows, path
    assert await _walk(gw, path, limit=2) == rows, path


async def _made(gw: RunningGateway, path: str, body: dict[str, Any]) -> dict[str, Any]:
    made = await gw.call("POST", path, body)
    assert made.status in (200, 201, 202), (path, made.body)
    return dict(made.body)


async def test_every_list_pages_in_its_order_with_the_cursors_it_always_issued(gw: RunningGateway) -> None:
    for n in range(3):
        await _made(gw, "/v1/accounts", {"name": f"sub {n}"})
        await _made(gw, "/v1/keys", {"name": f"key {n}"})
        await _made(gw, "/v1/contacts", {"external_id": f"c{n}", "addresses": {"sms": f"+1415555030{n}"}})
        await _made(gw, "/v1/opt-outs", {"address": f"+1415555040{n}"})
        await _made(gw, "/v1/conversations", {"friendly_name": f"talk {n}"})
    channels = (await gw.call("GET", "/v1/channels")).body["data"]
    senders = ["+14155550901", "+14155550902", "+14155550903"]
    patched = await gw.call("PATCH", f"/v1/channels/{channels[0]['id']}", {"senders": senders})
    assert patched.status == 200, patched.body
    for n, number in enumerate(senders):
        await _made(gw, "/v1/channels", {"type": "sandbox", "name": f"extra {n}"})
        await _made(gw, "/v1/proxy/numbers", {"number": number})
        await _made(
            gw, "/v1/proxy/sessions", {"participant_a": f"+1415555060{n}", "participant_b": "+14155550699"}
        )
    sent = await _made(
        gw, "/v1/messages", {"to": ["+14155550701", "+14155550702", "+14155550703"], "body": "hi"}
    )
    message_id = sent["message_ids"][0]
    delivered = await gw.wait_for_status(message_id, {"delivered"})
    talk = (await gw.call("GET", "/v1/conversations?limit=1")).body["data"][0]["id"]
    for n in range(3):
        await _made(gw, f"/v1/conversations/{talk}/messages", {"body": f"note {n}"})

    await _pages_like_one_big_page(gw, "/v1/accounts", newest_first=False, count=3)
    await _pages_like_one_big_page(gw, "/v1/keys", newest_first=True, count=4)  # with the bootstrap key
    await _pages_like_one_big_page(gw, "/v1/channels", newest_first=False, count=4)
    await _pages_like_one_big_page(gw, "/v1/contacts", newest_first=True, count=3)
    await _pages_like_one_big_page(gw, "/v1/opt-outs", newest_first=True, count=3)
    await _pages_like_one_big_page(gw, "/v1/conversations", newest_first=True, count=3)
    await _pages_like_one_big_page(gw, f"/v1/conversations/{talk}/messages", newest_first=True, count=3)
    await _pages_like_one_big_page(gw, "/v1/proxy/numbers", newest_first=True, count=3)
    await _pages_like_one_big_page(gw, "/v1/proxy/sessions", newest_first=True, count=3)
    # Three outbound messages, and any the proxy sessions sent.
    listed = (await gw.call("GET", "/v1/messages?limit=1000")).body["data"]
    await _pages_like_one_big_page(gw, "/v1/messages", newest_first=True, count=len(listed))
    assert {"+14155550701", "+14155550702", "+14155550703"} <= {m["to"] for m in listed}
    events = (await gw.call("GET", f"/v1/messages/{message_id}/events")).body["data"]
    assert events[-1]["status"] == delivered["status"] and len(events) >= 3
    await _pages_like_one_big_page(
        gw, f"/v1/messages/{message_id}/events", newest_first=False, count=len(events)
    )
    pool = await gw.call("GET", "/v1/proxy/numbers?limit=1")
    assert list(pool.body)[:2] == ["data", "next_cursor"] and pool.body["pool_size"] == 3  # counts follow
