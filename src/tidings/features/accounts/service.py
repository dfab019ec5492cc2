"""Accounts, API keys, authentication and the first-run bootstrap."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from tidings.cache import TTLCache
from tidings.core.clock import now_ms
from tidings.core.cursors import ACCOUNT_IDS, IDS, Page
from tidings.core.ids import new_account_id, new_id, new_secret
from tidings.core.numbers import known_region
from tidings.core.tenancy import Principal, Role
from tidings.crypto import SecretBox, hash_secret, secrets_equal
from tidings.errors import NotFound, Unauthenticated, Unprocessable
from tidings.features.accounts import repository as repo
from tidings.features.accounts.texts import effective_texts, own_texts, save_texts
from tidings.features.channels import new_channel_row
from tidings.store.channels import insert_channel
from tidings.store.engine import Database
from tidings.web.services import ServiceKey
from tidings.webhooks.secrets import new_webhook_secret

# How long a resolved credential is reused without a database read. Revocation is immediate
# in the process that revokes; other processes notice within this many seconds.
AUTH_CACHE_SECONDS = 5.0
KEY_PREFIX = "tdk_"
TOKEN_PREFIX = ""


@dataclass(frozen=True, slots=True)
class Bootstrap:
    account_id: str
    auth_token: str
    api_key: str
    sandbox_channel_id: str


@dataclass(frozen=True, slots=True)
class AccountUpdate:
    """The account after a change, and its new webhook secret when one was just made (shown once)."""

    account: dict[str, Any]
    webhook_secret: str | None = None


@dataclass(frozen=True, slots=True)
class NewKey:
    key: dict[str, Any]
    secret: str


class AccountService:
    def __init__(self, db: Database, box: SecretBox) -> None:
        self._db = db
        self._box = box
        self._principals: TTLCache[Principal] = TTLCache(AUTH_CACHE_SECONDS)
        self._lineages: TTLCache[tuple[str, ...]] = TTLCache(AUTH_CACHE_SECONDS)
        self._accounts: TTLCache[dict[str, Any]] = TTLCache(AUTH_CACHE_SECONDS)

    async def bootstrap(
        self,
        *,
        bootstrap_key: str | None,
        name: str = "Primary",
        sandbox_settings: dict[str, Any] | None = None,
    ) -> Bootstrap | None:
        """On an empty database: the primary account, its sandbox channel and an admin key."""
        async with self._db.write() as conn:
            await repo.lock_for_bootstrap(conn)
            if await repo.count_accounts(conn) > 0:
                return None
            account_id, auth_token = await self._insert_account(conn, name, parent_id=None)
            api_key = bootstrap_key or new_secret(KEY_PREFIX)
            await self._insert_key(conn, account_id, "bootstrap", Role.ADMIN, api_key)
            channel = new_channel_row(
                account_id,
                type="sandbox",
                name="sandbox",
                settings=sandbox_settings,
                is_default=True,
            )
            await insert_channel(conn, channel)
        return Bootstrap(account_id, auth_token, api_key, channel["id"])

    async def create_account(self, principal: Principal, name: str) -> tuple[dict[str, Any], str]:
        """A subaccount of the caller's account; answers it with its auth token (shown once)."""
        principal.require(Role.ADMIN)
        async with self._db.write() as conn:
            account_id, token = await self._insert_account(conn, name, principal.account_id)
            account = await repo.get_account(conn, account_id)
        assert account is not None
        self._principals.clear()  # parents' visible-account sets just grew
        return account, token

    async def get_account(self, principal: Principal, account_id: str) -> dict[str, Any]:
        if not principal.can_read(account_id):
            raise NotFound("no such account", code="account_not_found")
        async with self._db.read() as conn:
            account = await repo.get_account(conn, account_id)
            if account is None:
                raise NotFound("no such account", code="account_not_found")
            account["texts"] = effective_texts(await own_texts(conn, account_id))
        return account

    async def list_subaccounts(
        self, principal: Principal, *, cursor: str | None, limit: int
    ) -> Page[dict[str, Any]]:
        """The caller's direct subaccounts, in id order."""
        paging = ACCOUNT_IDS.paging(cursor, limit)
        async with self._db.read() as conn:
            return paging.page(await repo.list_accounts(conn, [principal.account_id], paging))

    async def update_account(
        self,
        principal: Principal,
        account_id: str,
        *,
        name: str | None,
        webhook_url: str | None,
        set_url: bool,
        texts: Mapping[str, str | None] | None = None,
    ) -> AccountUpdate:
        """Rename an account and/or set (``set_url``) its webhook URL, None clearing it, and/or
        the given ``texts`` (None returning one to its default).

        Setting a URL on an account without a webhook secret makes one, answered this once.
        """
        principal.require(Role.ADMIN)
        await self.get_account(principal, account_id)  # 404 outside the caller's tree
        secret: str | None = None
        async with self._db.write() as conn:
            if name is not None:
                await repo.rename_account(conn, account_id, name)
            if set_url:
                current = await repo.webhook_settings(conn, account_id)
                if current is not None:
                    sealed = current["secret_ciphertext"]
                else:
                    secret = new_webhook_secret()
                    sealed = self._box.seal(secret)
                await repo.save_webhook_settings(
                    conn,
                    account_id,
                    url=webhook_url,
                    secret_ciphertext=sealed,
                    now=now_ms(),
                    exists=current is not None,
                )
            if texts:
                await save_texts(conn, account_id, texts, now=now_ms())
            account = await repo.get_account(conn, account_id)
            assert account is not None
            account["texts"] = effective_texts(await own_texts(conn, account_id))
        self._accounts.discard(account_id)
        return AccountUpdate(account, secret)

    async def rotate_webhook_secret(self, principal: Principal, account_id: str) -> AccountUpdate:
        """A new webhook secret for the account, answered this once; the old one stops signing."""
        principal.require(Role.ADMIN)
        await self.get_account(principal, account_id)
        secret = new_webhook_secret()
        async with self._db.write() as conn:
            current = await repo.webhook_settings(conn, account_id)
            await repo.save_webhook_settings(
                conn,
                account_id,
                url=current["url"] if current else None,
                secret_ciphertext=self._box.seal(secret),
                now=now_ms(),
                exists=current is not None,
            )
            account = await repo.get_account(conn, account_id)
        assert account is not None
        return AccountUpdate(account, secret)

    def auth_token(self, account: dict[str, Any]) -> str:
        return self._box.open(account["auth_token_ciphertext"])

    async def create_key(
        self, principal: Principal, *, name: str, role: Role, account_id: str | None
    ) -> NewKey:
        principal.require(Role.ADMIN)
        target = principal.account_in_tree(account_id or None)
        secret = new_secret(KEY_PREFIX)
        async with self._db.write() as conn:
            key_id = await self._insert_key(conn, target, name, role, secret)
            key = await repo.get_key(conn, key_id, [target])
        assert key is not None
        return NewKey(key, secret)

    async def list_keys(
        self, principal: Principal, *, cursor: str | None, limit: int
    ) -> Page[dict[str, Any]]:
        """The keys of the caller's tree, newest first (admin)."""
        paging = IDS.paging(cursor, limit)
        principal.require(Role.ADMIN)
        async with self._db.read() as conn:
            return paging.page(await repo.list_keys(conn, sorted(principal.account_ids), paging))

    async def get_key(self, principal: Principal, key_id: str) -> dict[str, Any]:
        """One key of the caller's tree, revoked or not (admin): what the Twilio surface's
        ``Keys/{SK}.json`` reads."""
        principal.require(Role.ADMIN)
        async with self._db.read() as conn:
            key = await repo.get_key(conn, key_id, sorted(principal.account_ids))
        if key is None:
            raise NotFound("no such key", code="key_not_found")
        return key

    async def revoke_key(self, principal: Principal, key_id: str) -> dict[str, Any]:
        principal.require(Role.ADMIN)
        async with self._db.write() as conn:
            key = await repo.get_key(conn, key_id, sorted(principal.account_ids))
            if key is None:
                raise NotFound("no such key", code="key_not_found")
            if key["revoked_at"] is None:
                revoked_at = now_ms()
                await repo.revoke_key(conn, key_id, revoked_at)
                key["revoked_at"] = revoked_at
        self._principals.discard("key:" + key["key_hash"])
        return key

    async def authenticate_key(self, secret: str) -> Principal:
        key_hash = hash_secret(secret)

        async def load() -> Principal:
            async with self._db.read() as conn:
                key = await repo.find_key_by_hash(conn, key_hash)
                if key is None:
                    raise Unauthenticated("the API key is not valid", code="invalid_credentials")
                visible = await repo.descendant_ids(conn, key["account_id"])
            return Principal(key["account_id"], Role(key["role"]), frozenset(visible), key["id"])

        return await self._principals.get_or_load("key:" + key_hash, load)

    async def authenticate_basic(self, account_id: str, token: str) -> Principal:
        """Twilio-style Basic auth: the account id and its auth token; an admin of that account."""

        async def load() -> Principal:
            async with self._db.read() as conn:
                account = await repo.get_account(conn, account_id)
                if account is None or not secrets_equal(self.auth_token(account), token):
                    raise Unauthenticated("the account id or auth token is wrong", code="invalid_credentials")
                visible = await repo.descendant_ids(conn, account_id)
            return Principal(account_id, Role.ADMIN, frozenset(visible))

        return await self._principals.get_or_load("basic:" + account_id + ":" + hash_secret(token), load)

    async def primary_account_id(self) -> str | None:
        """The root account of the install (the oldest account without a parent)."""
        async with self._db.read() as conn:
            return await repo.primary_account_id(conn)

    async def visible_accounts(self, account_id: str) -> set[str]:
        async with self._db.read() as conn:
            return await repo.descendant_ids(conn, account_id)

    async def lineage(self, account_id: str) -> tuple[str, ...]:
        """The account and its ancestors, nearest first (cached briefly)."""
        return await self._lineages.get_or_load(account_id, lambda: self._load_lineage(account_id))

    async def cached_account(self, account_id: str) -> dict[str, Any]:
        """The account row, cached briefly: for per-request limits on the send path."""

        async def load() -> dict[str, Any]:
            async with self._db.read() as conn:
                account = await repo.get_account(conn, account_id)
            if account is None:
                raise NotFound("no such account", code="account_not_found")
            return account

        return await self._accounts.get_or_load(account_id, load)

    async def default_country(
        self, account_id: str, *, given: str | None = None, instance: str | None
    ) -> str | None:
        """The country national numbers are read in: the one ``given`` with the request (a 422
        ``invalid_value`` on ``default_country`` when it is none), the account's, the instance's."""
        if given is not None:
            if not known_region(given.upper()):
                raise Unprocessable(
                    f"{given!r} is not an ISO 3166 country code",
                    code="invalid_value",
                    field="default_country",
                )
            return given.upper()
        account = await self.cached_account(account_id)
        country: str | None = account["default_country"] or instance
        return country

    async def _load_lineage(self, account_id: str) -> tuple[str, ...]:
        chain: list[str] = []
        current: str | None = account_id
        async with self._db.read() as conn:
            while current is not None and current not in chain:
                chain.append(current)
                account = await repo.get_account(conn, current)
                current = account["parent_id"] if account else None
        return tuple(chain)

    async def _insert_account(self, conn: Any, name: str, parent_id: str | None) -> tuple[str, str]:
        account_id = new_account_id()
        token = new_secret(TOKEN_PREFIX, 24)
        await repo.insert_account(
            conn,
            {
                "id": account_id,
                "parent_id": parent_id,
                "name": name,
                "auth_token_ciphertext": self._box.seal(token),
                "default_country": None,
                "allowed_countries": None,
                "created_at": now_ms(),
            },
        )
        return account_id, token

    async def _insert_key(self, conn: Any, account_id: str, name: str, role: Role, secret: str) -> str:
        key_id = new_id("key")
        await repo.insert_key(
            conn,
            {
                "id": key_id,
                "account_id": account_id,
                "name": name,
                "role": role.value,
                "key_hash": hash_secret(secret),
                "key_prefix": secret[:8],
                "created_at": now_ms(),
                "revoked_at": None,
            },
        )
        return key_id


# How routers reach this service (tidings.web.services).
ACCOUNTS: ServiceKey[AccountService] = ServiceKey("accounts")
