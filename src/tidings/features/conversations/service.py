"""Creating, reading, changing and deleting conversations; their participants and messages.

Who sees what: a conversation belongs to one account. A caller reaches it by id when it can read
that account (its own or a subaccount's: a parent reads its children's, siblings see nothing
and get 404); lists show the caller's account, or a subaccount's with ``account_id``. Every
role reads; ``sender`` and ``admin`` write, as for contacts and messages.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from sqlalchemy import Connection
from sqlalchemy.exc import IntegrityError

from tidings.core.addresses import parse_address
from tidings.core.attributes import attributes_json
from tidings.core.clock import now_ms
from tidings.core.cursors import IDS, Page
from tidings.core.ids import new_id
from tidings.core.numbers import InvalidNumberError
from tidings.core.tenancy import Principal, Role
from tidings.errors import Conflict, NotFound, Unprocessable
from tidings.features.accounts import AccountService
from tidings.features.conversations import repository as repo
from tidings.features.conversations.binding import resolve_channel
from tidings.features.conversations.posting import SYSTEM_AUTHOR, close, post_message
from tidings.features.conversations.presenters import conversation_message_json
from tidings.features.conversations.rules import InvalidDuration, parse_duration, timer_deadlines
from tidings.store.engine import Database
from tidings.web.services import ServiceKey


class ConversationService:
    def __init__(
        self,
        db: Database,
        accounts: AccountService,
        *,
        default_country: str | None,
        on_queued: Callable[[], None] | None = None,
    ) -> None:
        self._db = db
        self._accounts = accounts
        self._default_country = default_country
        self._on_queued = on_queued or (lambda: None)

    # -- conversations -----------------------------------------------------------------------

    async def create(
        self, principal: Principal, fields: Mapping[str, Any], *, account_id: str | None = None
    ) -> dict[str, Any]:
        principal.require(Role.SENDER, Role.ADMIN)
        account = principal.account_in_tree(account_id)
        inactive_after, closed_after = _timers(fields.get("timers") or {}, (None, None))
        now = now_ms()
        state = fields.get("state") or repo.ACTIVE
        row = {
            "id": new_id("con"),
            "account_id": account,
            "friendly_name": fields.get("friendly_name"),
            "attributes": attributes_json(fields.get("attributes")),
            "state": state,
            "close_message": fields.get("close_message"),
            "inactive_after_ms": inactive_after,
            "closed_after_ms": closed_after,
            "last_activity_at": now,
            **timer_deadlines(state, now, inactive_after, closed_after),
            "created_at": now,
            "updated_at": now,
        }
        await self._db.transact(lambda conn: repo.insert_conversation(conn, row))
        return row

    async def list_conversations(
        self,
        principal: Principal,
        *,
        account_id: str | None,
        state: str | None,
        cursor: str | None,
        limit: int,
    ) -> Page[dict[str, Any]]:
        """The account's conversations, newest first, optionally in one state."""
        paging = IDS.paging(cursor, limit)
        account = principal.account_in_tree(account_id)
        async with self._db.read() as conn:
            rows = await conn.run_sync(
                lambda c: repo.list_conversations(c, account, state=state, page=paging)
            )
        return paging.page(rows)

    async def get(self, principal: Principal, conversation_id: str) -> dict[str, Any]:
        async with self._db.read() as conn:
            row = await conn.run_sync(lambda c: repo.get_conversation(c, conversation_id))
        return principal.visible(row, "conversation")

    async def update(
        self, principal: Principal, conversation_id: str, changes: Mapping[str, Any]
    ) -> dict[str, Any]:
        """Apply the given fields; ``state: closed`` sends the close message, then closes."""
        principal.require(Role.SENDER, Role.ADMIN)
        await self.get(principal, conversation_id)  # 404 before any validation detail leaks
        values: dict[str, Any] = {}
        for field in ("friendly_name", "close_message"):
            if field in changes:
                values[field] = changes[field]
        if "attributes" in changes:
            values["attributes"] = attributes_json(changes["attributes"])
        wanted = changes.get("state")

        def change(conn: Connection) -> dict[str, Any]:
            current = _locked(conn, principal, conversation_id)
            if current["state"] == repo.CLOSED and wanted not in (None, repo.CLOSED):
                raise _closed("a closed conversation cannot be reopened", field="state")
            now = max(now_ms(), current["updated_at"] + 1)
            merged = {**current, **values, "updated_at": now}
            if "timers" in changes:
                current_timers = (current["inactive_after_ms"], current["closed_after_ms"])
                timers = _timers(
                    changes["timers"] or {"inactive_after": None, "closed_after": None}, current_timers
                )
                merged["inactive_after_ms"], merged["closed_after_ms"] = timers
            if wanted == repo.CLOSED and current["state"] != repo.CLOSED:
                repo.update_conversation(conn, conversation_id, _columns(merged, current))
                return close(conn, merged, now=now)
            if wanted is not None and wanted != current["state"]:
                merged["state"] = wanted
                if wanted == repo.ACTIVE:  # reactivated by hand: idle time counts from now
                    merged["last_activity_at"] = now
            merged.update(
                timer_deadlines(
                    merged["state"],
                    merged["last_activity_at"],
                    merged["inactive_after_ms"],
                    merged["closed_after_ms"],
                )
            )
            repo.update_conversation(conn, conversation_id, _columns(merged, current))
            return merged

        updated = await self._db.transact(change)
        self._on_queued()
        return updated

    async def delete(self, principal: Principal, conversation_id: str) -> None:
        """Delete the conversation, its participants and messages; copies already queued still
        go out, and every delivered message stays in the account's message history."""
        principal.require(Role.SENDER, Role.ADMIN)

        def remove(conn: Connection) -> None:
            _locked(conn, principal, conversation_id)
            repo.delete_conversation(conn, conversation_id)

        await self._db.transact(remove)

    # -- participants ------------------------------------------------------------------------

    async def add_participant(
        self, principal: Principal, conversation_id: str, fields: Mapping[str, Any]
    ) -> dict[str, Any]:
        """Add an address reached from a proxy address: 409 ``participant_exists`` when it is in
        this conversation, ``participant_in_use`` when it is in another open conversation on
        the same proxy address and channel (inbound could not tell the two apart)."""
        principal.require(Role.SENDER, Role.ADMIN)
        conversation = await self.get(principal, conversation_id)
        if conversation["state"] == repo.CLOSED:
            raise _closed("a closed conversation takes no participants")
        country = await self._accounts.default_country(
            conversation["account_id"], instance=self._default_country
        )
        try:
            address = parse_address(fields["address"], country)
        except InvalidNumberError as error:
            raise Unprocessable(
                f"{fields['address']!r} is not an address ({error.reason})",
                code="invalid_address",
                field="address",
            ) from None
        lineage = await self._accounts.lineage(conversation["account_id"])
        async with self._db.read() as conn:
            channel, proxy = await resolve_channel(conn, lineage, address.kind, fields.get("proxy_address"))
        identity = fields.get("identity")
        row = {
            "id": new_id("cpt"),
            "conversation_id": conversation_id,
            "address": str(address),
            "kind": address.kind.value,
            "proxy_address": proxy,
            "identity": identity,
            "channel_id": channel["id"],
            "created_at": now_ms(),
        }

        def add(conn: Connection) -> None:
            current = _locked(conn, principal, conversation_id)
            if current["state"] == repo.CLOSED:
                raise _closed("a closed conversation takes no participants")
            repo.lock_channel(conn, channel["id"])
            for other in repo.participants_of(conn, conversation_id):
                if other["address"] == row["address"]:
                    raise Conflict(
                        f"{row['address']} is already a participant",
                        code="participant_exists",
                        field="address",
                    )
                if identity is not None and other["identity"] == identity:
                    raise Conflict(
                        f"identity {identity!r} is taken in this conversation",
                        code="identity_taken",
                        field="identity",
                    )
            if repo.open_holders(conn, channel_id=channel["id"], address=row["address"], proxy_address=proxy):
                raise Conflict(
                    f"{row['address']} is already in an open conversation on proxy address {proxy}",
                    code="participant_in_use",
                    field="address",
                )
            repo.insert_participant(conn, row)

        try:
            await self._db.transact(add)
        except IntegrityError:  # a concurrent request added the same address first
            raise Conflict(
                f"{row['address']} is already a participant", code="participant_exists", field="address"
            ) from None
        return row

    async def participants(self, principal: Principal, conversation_id: str) -> list[dict[str, Any]]:
        await self.get(principal, conversation_id)
        async with self._db.read() as conn:
            return await conn.run_sync(lambda c: repo.participants_of(c, conversation_id))

    async def remove_participant(
        self, principal: Principal, conversation_id: str, participant_id: str
    ) -> None:
        principal.require(Role.SENDER, Role.ADMIN)

        def remove(conn: Connection) -> None:
            _locked(conn, principal, conversation_id)
            if not any(p["id"] == participant_id for p in repo.participants_of(conn, conversation_id)):
                raise NotFound(
                    f"no participant {participant_id!r} in this conversation", code="participant_not_found"
                )
            repo.delete_participant(conn, participant_id)

        await self._db.transact(remove)

    # -- messages ----------------------------------------------------------------------------

    async def post(
        self, principal: Principal, conversation_id: str, *, author: str | None, body: str
    ) -> dict[str, Any]:
        """An authored message, copied to every participant but its author (a participant whose
        identity or address is ``author``); 409 ``conversation_closed`` sends nothing."""
        principal.require(Role.SENDER, Role.ADMIN)
        if not body.strip():
            raise Unprocessable("the message body is empty", code="empty_body", field="body")
        written_by = author or SYSTEM_AUTHOR

        def write(conn: Connection) -> dict[str, Any]:
            conversation = _locked(conn, principal, conversation_id)
            if conversation["state"] == repo.CLOSED:
                raise _closed("the conversation is closed: nothing was sent")
            participants = repo.participants_of(conn, conversation_id)
            return post_message(
                conn,
                conversation,
                participants,
                body=body,
                author=written_by,
                author_participant=_author(participants, written_by),
                direction="outbound",
                now=now_ms(),
            )

        posted = await self._db.transact(write)
        self._on_queued()
        return posted

    async def messages(
        self,
        principal: Principal,
        conversation_id: str,
        *,
        cursor: str | None,
        limit: int,
        oldest_first: bool = False,
    ) -> Page[dict[str, Any]]:
        """Newest first (oldest first with ``oldest_first``), each as the API shows it, with its
        deliveries' current statuses and errors."""
        paging = IDS.paging(cursor, limit)
        await self.get(principal, conversation_id)

        def read(conn: Connection) -> list[dict[str, Any]]:
            rows = repo.list_messages(conn, conversation_id, paging, newest_first=not oldest_first)
            deliveries = repo.deliveries_of(conn, [r["id"] for r in rows])
            return [conversation_message_json(r, deliveries.get(r["id"], [])) for r in rows]

        async with self._db.read() as conn:
            return paging.page(await conn.run_sync(read))

    async def message(self, principal: Principal, conversation_id: str, message_id: str) -> dict[str, Any]:
        """One message of the conversation, as :meth:`messages` shows it."""
        await self.get(principal, conversation_id)

        def read(conn: Connection) -> dict[str, Any] | None:
            row = repo.get_message(conn, conversation_id, message_id)
            if row is None:
                return None
            return conversation_message_json(row, repo.deliveries_of(conn, [message_id]).get(message_id, []))

        async with self._db.read() as conn:
            found = await conn.run_sync(read)
        if found is None:
            raise NotFound(f"no message {message_id!r} in this conversation", code="message_not_found")
        return found

    async def messages_before(self, principal: Principal, conversation_id: str, message_id: str) -> int:
        """How many of the conversation's messages are older than ``message_id``: a message's
        stable position in its thread (the Twilio surface shows it as ``index``)."""
        await self.get(principal, conversation_id)
        async with self._db.read() as conn:
            return await conn.run_sync(lambda c: repo.messages_before(c, conversation_id, message_id))


def _author(participants: list[dict[str, Any]], author: str) -> dict[str, Any] | None:
    """The participant an author names, by identity first, then by address in any form."""
    for participant in participants:
        if participant["identity"] is not None and participant["identity"] == author:
            return participant
    try:
        address = str(parse_address(author))
    except InvalidNumberError:
        return None
    return next((p for p in participants if p["address"] == address), None)


def _columns(merged: Mapping[str, Any], current: Mapping[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in merged.items() if key != "id" and current.get(key) != value}


def _timers(
    given: Mapping[str, Any], current: tuple[int | None, int | None]
) -> tuple[int | None, int | None]:
    """(inactive_after_ms, closed_after_ms) after applying ``given``: a key left out keeps its
    value, ``None`` clears it."""
    result = list(current)
    for index, name in enumerate(("inactive_after", "closed_after")):
        if name not in given:
            continue
        value = given[name]
        try:
            result[index] = None if value is None else parse_duration(value)
        except InvalidDuration as error:
            raise Unprocessable(str(error), code="invalid_duration", field=f"timers.{name}") from None
    return result[0], result[1]


def _locked(conn: Connection, principal: Principal, conversation_id: str) -> dict[str, Any]:
    """The conversation, locked until the transaction ends, when the caller can read it."""
    return principal.visible(repo.get_conversation(conn, conversation_id, lock=True), "conversation")


def _closed(message: str, *, field: str | None = None) -> Conflict:
    return Conflict(message, code="conversation_closed", field=field)


# How routers reach this service (tidings.web.services).
CONVERSATIONS: ServiceKey[ConversationService] = ServiceKey("conversations")
