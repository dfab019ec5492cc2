"""The one Settings object: ``TIDINGS_*`` environment, a ``.env`` file, and an optional TOML file.

Precedence (highest first): environment, ``.env``, the TOML file given with ``--config``
(or ``TIDINGS_CONFIG``), defaults. Nothing else in the package reads ``os.environ``.
"""

from __future__ import annotations

import os
import re
import secrets
from pathlib import Path
from typing import Any, Literal, Self

from dotenv import dotenv_values
from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator, model_validator
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)


class DispatchSettings(BaseModel):
    claim_batch_size: int = Field(default=500, ge=1, le=10_000)
    max_in_flight: int = Field(default=2_000, ge=1)  # per worker process, all channels together
    # Concurrent provider calls per channel: at most this many; the limit follows the calls'
    # latency between channel_min_concurrency and it (dispatch/concurrency.py).
    channel_concurrency: int = Field(default=256, ge=1)
    channel_min_concurrency: int = Field(default=32, ge=1)
    lease_seconds: float = Field(default=60, gt=0)
    max_attempts: int = Field(default=6, ge=1)
    retry_base_seconds: float = Field(default=2, gt=0)
    retry_max_seconds: float = Field(default=600, gt=0)
    poll_interval_seconds: float = Field(default=0.25, gt=0, le=1)
    result_flush_ms: float = Field(default=20, gt=0)
    # After a wake-up, wait this long so one claim takes what arrived meanwhile: under a stream
    # of single sends this turns one claim transaction per request into one per few ms.
    claim_gather_ms: float = Field(default=10, ge=0, le=1000)
    # A send waits at most this long for its channel's rate limit, then is requeued (kept under
    # the lease, which must outlast the wait and the send).
    rate_limit_max_wait_seconds: float = Field(default=10, gt=0)
    # Consecutive transient failures that open a channel's circuit, and how long it stays open
    # before one probe send may test the provider again.
    circuit_failure_threshold: int = Field(default=5, ge=1)
    circuit_cooldown_seconds: float = Field(default=30, gt=0)
    # How often a worker checks whether its open channels were changed (or deleted) through the
    # API; a changed one is reopened from its row before its next send.
    channel_refresh_seconds: float = Field(default=2, gt=0, le=300)


# ``${NAME}`` in a declared channel's credentials or settings; ``$${NAME}`` stands for a literal
# ``${NAME}``. Hand-written rather than string.Template or os.path.expandvars: those also expand
# a bare ``$NAME``, which would corrupt secrets that happen to contain a ``$``.
_ENV_REFERENCE = re.compile(r"\$(\$?)\{([A-Za-z_][A-Za-z0-9_]*)\}")


def _expand_references(values: Any) -> Any:
    """String values of a table with their ``${NAME}`` references replaced from the environment
    (then the ``.env`` file). A variable that is not set is an error naming it, never a value."""
    if not isinstance(values, dict):
        return values
    environment: dict[str, str | None] | None = None

    def expand(text: str) -> str:
        nonlocal environment

        def substitute(match: re.Match[str]) -> str:
            nonlocal environment
            escaped, name = match.groups()
            if escaped:
                return "${" + name + "}"
            if environment is None:
                environment = {**dotenv_values(".env"), **os.environ}
            value = environment.get(name)
            if value is None:
                raise ValueError(f"environment variable {name} is not set")
            return value

        return _ENV_REFERENCE.sub(substitute, text)

    return {key: expand(value) if isinstance(value, str) else value for key, value in values.items()}


class DeclaredChannel(BaseModel):
    """A ``[[channels]]`` table of the TOML file: created in the primary account at start when
    no channel there has its name, else updated with the fields given here (see docs/channels.md).
    The type's own models check ``settings`` and ``credentials`` when it is applied."""

    # Errors never echo the input: the credentials table holds secrets.
    model_config = ConfigDict(extra="forbid", hide_input_in_errors=True)
    name: str = Field(min_length=1, max_length=200)
    type: str = Field(min_length=1, max_length=32)
    settings: dict[str, Any] | None = None
    # SecretStr keeps the values out of reprs of the Settings object.
    credentials: dict[str, SecretStr | int | float | bool] | None = Field(default=None, repr=False)
    senders: list[str] | None = None
    mps: int | None = Field(default=None, ge=1, le=100_000)
    max_batch_size: int | None = Field(default=None, ge=1, le=10_000)
    max_segments: int | None = Field(default=None, ge=1, le=255)
    countries: list[str] | None = None
    default: bool | None = None

    _expanded = field_validator("settings", "credentials", mode="before")(_expand_references)


class DeclaredRoute(BaseModel):
    """A ``[[routes]]`` table: channels are named, not given by id (see docs/channels.md)."""

    model_config = ConfigDict(extra="forbid")
    name: str = Field(min_length=1, max_length=200)
    priority: int = Field(default=100, ge=0, le=1_000_000)
    match: dict[str, Any] = Field(default_factory=dict)
    channel: str = Field(min_length=1, max_length=200)
    fallback: str | None = Field(default=None, min_length=1, max_length=200)


class WebhookSettings(BaseModel):
    """Delivery of signed event webhooks from the outbox (tidings.webhooks.delivery)."""

    poll_interval_seconds: float = Field(default=0.25, gt=0, le=5)
    claim_batch_size: int = Field(default=200, ge=1, le=5_000)
    max_in_flight: int = Field(default=100, ge=1)  # concurrent POSTs per worker process
    connections_per_host: int = Field(default=20, ge=1)
    timeout_seconds: float = Field(default=10, gt=0, le=60)
    lease_seconds: float = Field(default=60, gt=0)
    retry_base_seconds: float = Field(default=5, gt=0)
    retry_max_seconds: float = Field(default=3_600, gt=0)
    # Deliveries are retried until this long after their event, then marked failed (docs/webhooks.md).
    give_up_after_seconds: float = Field(default=86_400, gt=0)


class EventStreamSettings(BaseModel):
    """The live stream, ``GET /v1/events/stream`` (tidings.features.event_stream)."""

    poll_interval_seconds: float = Field(default=0.25, gt=0, le=5)
    keep_alive_seconds: float = Field(default=15, gt=0, le=300)
    # How long a gap in event ids is waited for before it is taken for a rolled-back
    # transaction (see core.tailing); only PostgreSQL leaves gaps.
    gap_timeout_seconds: float = Field(default=10, gt=0, le=600)


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="TIDINGS_",
        env_file=".env",
        env_nested_delimiter="__",
        extra="ignore",
    )

    database_url: str = "sqlite:///./tidings.db"
    redis_url: str | None = None  # set: rate limits shared through Redis (scaled mode)
    redis_key_prefix: str = "tidings"
    host: str = "127.0.0.1"
    port: int = Field(default=8000, ge=0, le=65535)
    data_dir: Path = Path(".tidings")
    secret_key: SecretStr | None = None
    bootstrap_key: SecretStr | None = None
    default_country: str | None = None  # ISO 3166 code used to read national numbers
    max_recipients: int = Field(default=100_000, ge=1)
    max_body_chars: int = Field(default=1_600, ge=1)
    default_max_segments: int = Field(default=10, ge=1, le=255)
    max_schedule_days: int = Field(default=35, ge=1)
    sqlite_synchronous: Literal["OFF", "NORMAL", "FULL"] = "FULL"
    number_workers: int = Field(default=2, ge=0)  # processes that validate large recipient lists
    api_url: str = "http://127.0.0.1:8000"  # where the CLI's client commands send requests
    api_key: SecretStr | None = None  # the key those commands use
    log_level: str = "INFO"
    log_format: Literal["json", "console"] = "json"
    dispatch: DispatchSettings = DispatchSettings()
    webhooks: WebhookSettings = WebhookSettings()
    event_stream: EventStreamSettings = EventStreamSettings()
    # Settings of the sandbox channel created on first run (see channels/sandbox), e.g.
    # TIDINGS_SANDBOX__LATENCY_MS=20 or TIDINGS_SANDBOX__RECEIPT_DELAY_MS=500.
    sandbox: dict[str, Any] = Field(default_factory=dict)
    # Channels and routes declared in the TOML file (``[[channels]]``, ``[[routes]]``), applied to
    # the primary account when ``serve`` or ``api`` starts.
    channels: list[DeclaredChannel] = Field(default_factory=list)
    routes: list[DeclaredRoute] = Field(default_factory=list)
    # One section per compat surface (docs/compat.md), each validated by the surface itself, e.g.
    # TIDINGS_COMPAT__IMQS__ENABLED=false or a ``[compat.twilio]`` table in the TOML file.
    compat: dict[str, dict[str, Any]] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _declared_names_once(self) -> Self:
        for kind, names in (
            ("channels", [c.name for c in self.channels]),
            ("routes", [r.name for r in self.routes]),
        ):
            twice = sorted({name for name in names if names.count(name) > 1})
            if twice:
                raise ValueError(f"{kind} declared more than once: {', '.join(twice)}")
        defaults = [c.name for c in self.channels if c.default]
        if len(defaults) > 1:
            raise ValueError(f"only one declared channel can be the default, not {', '.join(defaults)}")
        return self

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        sources: list[PydanticBaseSettingsSource] = [init_settings, env_settings, dotenv_settings]
        toml_path = _toml_path()
        if toml_path is not None:
            sources.append(TomlConfigSettingsSource(settings_cls, toml_file=toml_path))
        return tuple(sources)

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")

    def resolved_secret_key(self) -> str:
        """The instance secret: configured, or generated once into the data directory."""
        if self.secret_key is not None:
            return self.secret_key.get_secret_value()
        key_file = self.data_dir / "secret.key"
        if key_file.exists():
            return key_file.read_text().strip()
        self.data_dir.mkdir(parents=True, exist_ok=True)
        key = secrets.token_urlsafe(32)
        # O_EXCL: two processes starting together must not each write a different key.
        try:
            fd = os.open(key_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            return key_file.read_text().strip()
        with os.fdopen(fd, "w") as handle:
            handle.write(key)
        return key


_config_file: Path | None = None


def use_config_file(path: Path | None) -> None:
    """Point later :func:`load_settings` calls at a TOML file (the CLI's ``--config``)."""
    global _config_file
    _config_file = path


def _toml_path() -> Path | None:
    if _config_file is not None:
        return _config_file
    from_env = os.environ.get("TIDINGS_CONFIG")
    return Path(from_env) if from_env else None


def load_settings(**overrides: Any) -> Settings:
    """Read settings from every source; keyword overrides win (tests and the CLI use them)."""
    return Settings(**overrides)
