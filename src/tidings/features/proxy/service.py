"""Pool numbers, sessions and system texts of proxy sessions, as the API uses them.

Who does what: a caller works on its own account, or with ``account_id`` on a subaccount (as
``/v1/contacts`` does); a session is also found by id anywhere in the caller's tree. Every role
reads; ``sender`` and ``admin`` create and end sessions (messaging, like sends); only ``admin``
changes the pool and the texts (account configuration). Any other account answers 404.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from sqlalchemy import Connection
from sqlalchemy.exc import IntegrityError

from tidings.core.clock import now_ms
from tidings.core.cursors import IDS, Page
from tidings.core.ids import new_id
from tidings.core.numbers import InvalidNumberError
from tidings.core.tenancy import Principal, Role
from tidings.errors import Conflict, NotFound, Unprocessable
from tidings.features.accounts import AccountService, save_texts
from tidings.features.proxy import lifecycle
from tidings.features.proxy import repository as repo
from tidings.features.proxy.rules import (
    ACTIVE,
    INTERACTION,
    RELAY,
    SETTING_TEXTS,
    EndReason,
    expiry,
    has_expired,
    participant_address,
    phone_value,
    pool_counts,
    sender_channel,
)
from tidings.store.channels import channels_of
from tidings.store.engine import Database
from tidings.web.services import ServiceKey

NUMBER_ID_PREFIX = "pxn"


class ProxyService:
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
        self._on_queued = on_queued

    # -- pool numbers ------------------------------------------------------------------------

    async def add_number(self, principal: Principal, raw: str, *, account_id: str | None) -> dict[str, Any]:
        """Add a number to the account's pool. It must be a sender of a channel the account may
        use (its own, else its nearest ancestor's): 422 ``not_a_sender`` otherwise; 409
        ``number_exists`` when it is in the pool, ``number_taken`` when in another account's
        pool on the same channel (an inbound message must find one pool number)."""
        principal.require(Role.ADMIN)
        account = principal.account_in_tree(account_id)
        country = await self._accounts.default_country(account, instance=self._default_country)
        number = phone_value(raw, country)
        if number is None:
            raise Unprocessable(f"{raw!r} is not a phone number", code="invalid_number", field="number")
        lineage = await self._accounts.lineage(account)
        async with self._db.read() as conn:
            channel = sender_channel(await channels_of(conn, lineage), lineage, number)
        if channel is None:
            raise Unprocessable(
                f"{number} is not a sender of any channel this account may use",
                code="not_a_sender",
                field="number",
            )
        row = {
            "id": new_id(NUMBER_ID_PREFIX),
            "account_id": account,
            "number": number,
            "channel_id": channel["id"],
            "created_at": now_ms(),
            "removed_at": None,
        }

        def add(conn: Connection) -> None:
            repo.lock_account(conn, account)
            if repo.live_number(conn, [account], number) is not None:
                raise Conflict(f"{number} is in the pool already", code="number_exists", field="number")
            repo.insert_number(conn, row)

        try:
            await self._db.transact(add)
        except IntegrityError:  # the (channel, number) index: another account's pool holds it
            raise Conflict(
                f"{number} is a pool number of another account on this channel",
                code="number_taken",
                field="number",
            ) from None
        return {**row, "active_sessions": 0}

    async def list_numbers(
        self, principal: Principal, *, account_id: str | None, cursor: str | None, limit: int
    ) -> tuple[Page[dict[str, Any]], dict[str, int]]:
        """A page of the pool, newest first, and the whole pool's counts."""
        paging = IDS.paging(cursor, limit)
        account = principal.account_in_tree(account_id)
        async with self._db.read() as conn:

            def read(sync: Connection) -> tuple[Page[dict[str, Any]], dict[str, int]]:
                page = paging.page(repo.numbers_page(sync, account, paging))
                return page, pool_counts(repo.active_by_number(sync, account))

            return await conn.run_sync(read)

    async def get_number(self, principal: Principal, ref: str, *, account_id: str | None) -> dict[str, Any]:
        """A live pool number, by id or by number."""
        async with self._db.read() as conn:

            def read(sync: Connection) -> dict[str, Any]:
                row = _number(sync, principal, ref, account_id)
                counts = repo.active_by_number(sync, row["account_id"])
                return {**row, "active_sessions": counts.get(row["id"], 0)}

            return await conn.run_sync(read)

    async def remove_number(
        self, principal: Principal, ref: str, *, account_id: str | None, end_sessions: bool
    ) -> None:
        """Take a number out of the pool: 409 ``number_in_use`` while it serves active
        sessions, unless ``end_sessions`` ends them first (each with its end message)."""
        principal.require(Role.ADMIN)
        now = now_ms()

        def remove(conn: Connection) -> int:
            number = _number(conn, principal, ref, account_id)
            repo.lock_account(conn, number["account_id"])
            active = repo.active_sessions_on(conn, number["id"])
            if active and not end_sessions:
                raise Conflict(
                    f"{number['number']} serves {len(active)} active session(s); end them first "
                    "or pass end_sessions=true",
                    code="number_in_use",
                )
            for session in active:
                lifecycle.end_session(conn, session, EndReason.NUMBER_REMOVED, now=now)
            repo.remove_number(conn, number["id"], now=now)
            return len(active)

        if await self._db.transact(remove):
            self._queued()

    # -- sessions ----------------------------------------------------------------------------

    async def create_session(
        self,
        principal: Principal,
        fields: Mapping[str, Any],
        *,
        account_id: str | None,
        own_number: bool = False,
    ) -> dict[str, Any]:
        """A session on a pool number free of both participants (409 ``pool_exhausted`` when
        none is); the start message goes to both, if configured. ``own_number`` asks for a
        number serving no other session (Flowroute's one session per number, for
        ``/compat/smsproxy``) instead of the pool reuse rule.

        Besides the API's fields: ``expires_at`` (epoch ms) in place of ``ttl_minutes``, and
        ``proxy_number_ids``, the pool numbers it may use (the Twilio surface's service owns
        some of the pool); None: any."""
        principal.require(Role.SENDER)
        account = principal.account_in_tree(account_id)
        country = await self._accounts.default_country(account, instance=self._default_country)
        a = _participant(fields["participant_a"], country, "participant_a")
        b = _participant(fields["participant_b"], country, "participant_b")
        if a == b:
            raise Unprocessable(
                "the two participants are the same address", code="same_participant", field="participant_b"
            )
        now = now_ms()
        expires_at = fields.get("expires_at") or expiry(now, fields.get("ttl_minutes"))
        session = await self._db.transact(
            lambda conn: lifecycle.start_session(
                conn,
                account_id=account,
                participants=(a, b),
                expires_at=expires_at,
                now=now,
                own_number=own_number,
                number_ids=fields.get("proxy_number_ids"),
            )
        )
        self._queued()
        return session

    async def list_sessions(
        self,
        principal: Principal,
        *,
        account_id: str | None,
        status: str | None,
        cursor: str | None,
        limit: int,
    ) -> Page[dict[str, Any]]:
        """The account's sessions, newest first, optionally of one status."""
        paging = IDS.paging(cursor, limit)
        account = principal.account_in_tree(account_id)
        async with self._db.read() as conn:
            rows = await conn.run_sync(
                lambda sync: repo.sessions_page(sync, account, status=status, page=paging)
            )
        return paging.page(rows)

    async def get_session(self, principal: Principal, session_id: str) -> dict[str, Any]:
        async with self._db.read() as conn:
            return await conn.run_sync(lambda sync: _session(sync, principal.account_ids, session_id))

    async def end_session(self, principal: Principal, session_id: str) -> dict[str, Any]:
        """End an active session (its end message to both, if configured); 409
        ``session_ended`` when it has ended already."""
        principal.require(Role.SENDER)
        now = now_ms()

        def end(conn: Connection) -> dict[str, Any]:
            session = _session(conn, principal.account_ids, session_id)
            ended = (
                lifecycle.end_session(conn, session, EndReason.DELETED, now=now)
                if session["status"] == ACTIVE
                else None
            )
            if ended is None:
                raise Conflict(f"session {session_id} has ended already", code="session_ended")
            return ended

        ended = await self._db.transact(end)
        self._queued()
        return ended

    async def send(self, principal: Principal, session_id: str, recipient: str, body: str) -> str:
        """Send ``body`` into an active session: to ``recipient`` (one of its participants, in
        its canonical form) from the pool number, on its channel, as a relay goes
        (``metadata.proxy: "interaction"``); the queued message's id. 409 ``session_ended``
        when the session has ended or its time ran out; 422 ``not_a_participant``."""
        principal.require(Role.SENDER)
        now = now_ms()

        def send(conn: Connection) -> str:
            session = _session(conn, principal.account_ids, session_id)
            if session["status"] != ACTIVE or has_expired(session["expires_at"], now):
                raise Conflict(f"session {session_id} has ended", code="session_ended")
            if recipient not in (session["participant_a"], session["participant_b"]):
                raise Unprocessable(
                    f"{recipient} is not a participant of this session", code="not_a_participant", field="to"
                )
            metadata = {"proxy_session_id": session["id"], "proxy": INTERACTION}
            return lifecycle.relay(conn, session, recipient, body, now=now, metadata=metadata)

        message_id = await self._db.transact(send)
        self._queued()
        return message_id

    async def session_messages(self, principal: Principal, session_id: str) -> list[dict[str, Any]]:
        """What the session carried between its participants, oldest first: its relays (each
        with the ``inbound_id`` it relayed) and the messages sent into it, with their current
        status; not its system texts."""
        async with self._db.read() as conn:

            def read(sync: Connection) -> list[dict[str, Any]]:
                session = _session(sync, principal.account_ids, session_id)
                return [
                    row
                    for row in repo.carried_messages(sync, session)
                    if row["metadata"].get("proxy_session_id") == session_id
                    and row["metadata"].get("proxy") in (RELAY, INTERACTION)
                ]

            return await conn.run_sync(read)

    # -- system texts ------------------------------------------------------------------------

    async def texts(self, principal: Principal, *, account_id: str | None) -> dict[str, str | None]:
        account = principal.account_in_tree(account_id)
        async with self._db.read() as conn:
            own = await conn.run_sync(lambda sync: repo.texts_of(sync, account))
        return {field: own.get(text) for field, text in SETTING_TEXTS.items()}

    async def set_texts(
        self, principal: Principal, changes: Mapping[str, str | None], *, account_id: str | None
    ) -> dict[str, str | None]:
        """Set the given texts; ``None`` stops that one being sent."""
        principal.require(Role.ADMIN)
        account = principal.account_in_tree(account_id)
        named = {SETTING_TEXTS[field].value: body for field, body in changes.items()}
        async with self._db.write() as conn:
            await save_texts(conn, account, named, now=now_ms())
        return await self.texts(principal, account_id=account)

    # -- helpers -----------------------------------------------------------------------------

    def _queued(self) -> None:
        if self._on_queued is not None:
            self._on_queued()


def _participant(raw: str, country: str | None, field: str) -> str:
    try:
        return participant_address(raw, country)
    except InvalidNumberError as error:
        raise Unprocessable(
            f"{raw!r} is not an SMS or WhatsApp address ({error.reason})", code="invalid_address", field=field
        ) from None


def _number(conn: Connection, principal: Principal, ref: str, account_id: str | None) -> dict[str, Any]:
    """A live pool number by id anywhere in the caller's tree, or by number (``+1…``) in the
    account named (the caller's by default)."""
    if ref.startswith(f"{NUMBER_ID_PREFIX}_"):
        row = repo.live_number(conn, principal.account_ids, ref)
    else:
        number = phone_value(ref)
        row = repo.live_number(conn, [principal.account_in_tree(account_id)], number) if number else None
    if row is None:
        raise NotFound(f"no pool number {ref!r}", code="proxy_number_not_found")
    return row


def _session(conn: Connection, account_ids: frozenset[str], session_id: str) -> dict[str, Any]:
    row = repo.session_by_id(conn, account_ids, session_id)
    if row is None:
        raise NotFound(f"no proxy session {session_id!r}", code="proxy_session_not_found")
    return row


# How routers reach this service (tidings.web.services).
PROXY: ServiceKey[ProxyService] = ServiceKey("proxy")
