"""Settings: read once from the environment (and `.env`) into one frozen, typed object.

Every name here is part of the user-facing contract (see the README's settings table and
`.env.example`). A missing or malformed value raises :class:`SettingsError` naming the setting and
how to fix it; `bot.py` prints that one line and exits with status 2.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar

from assistant.shards import MAX_SHARDS, check_shard_ids, parse_shard_ids
from storage.postgres.url import PostgresUrl, masked

T = TypeVar("T")

DEFAULT_BASE_URL = "https://api.evolink.ai/v1"
DEFAULT_MODEL = "gpt-5.2"
DEFAULT_DATABASE_URL = "sqlite:///data/bot.db"
# A relative sqlite:/// path is relative to the folder of bot.py, whatever the working directory.
PROJECT_FOLDER = Path(__file__).resolve().parent.parent
DEFAULT_SYSTEM_PROMPT = (
    "You are a helpful assistant in a Discord server. Several people may talk to you; each of "
    "their messages starts with the author's display name and a colon. Answer the latest message "
    "clearly and concisely, formatted in Discord markdown (no tables; use lists and code blocks)."
)
MAX_CONTEXT_TOKENS = 400_000
MAX_DAILY_TOKENS = 10_000_000_000
# Discord carries at most 10 attachments a message; twice that covers a question and its follow-ups.
MAX_IMAGES_PER_REQUEST = 20
# Discord allows a bot 50 requests per second unless it has granted that bot more.
MAX_DISCORD_REQUESTS_PER_SECOND = 1_000
LOG_LEVELS = ("CRITICAL", "ERROR", "WARNING", "INFO", "DEBUG")
# What `reasoning_effort` may be; REASONING_EFFORT empty means the parameter is not sent at all.
REASONING_EFFORTS = ("none", "low", "medium", "high", "xhigh")
DEFAULT_REASONING_EFFORT = "low"


class SettingsError(Exception):
    """A setting is missing or malformed; the message names it and says how to fix it."""


class Secret(str):
    """A string that never shows itself in a repr, a format or a log line."""

    def __repr__(self) -> str:
        return "Secret('***')"

    def __str__(self) -> str:
        return "***"

    def __format__(self, spec: str) -> str:
        return "***"

    def reveal(self) -> str:
        """Return the real value, for the one place that sends it."""
        return str.__str__(self)


@dataclass(frozen=True)
class Settings:
    """Everything the bot is configured with."""

    discord_token: Secret = field(repr=False)
    evolink_api_key: Secret = field(repr=False)
    evolink_base_url: str = DEFAULT_BASE_URL
    evolink_model: str = DEFAULT_MODEL
    database_path: Path = Path("data/bot.db")
    postgres_url: PostgresUrl | None = None  # set when DATABASE_URL is postgresql://; then it is used
    system_prompt: str = DEFAULT_SYSTEM_PROMPT
    context_tokens: int = 16_000
    guild_daily_tokens: int = 200_000
    user_daily_tokens: int = 50_000
    stream: bool = True
    dev_guild_id: int | None = None
    log_level: str = "INFO"
    request_timeout_seconds: float = 120.0
    channel_queue_limit: int = 20
    member_queue_limit: int = 3
    shutdown_grace_seconds: float = 20.0
    # (host, port) serving /metrics and /health; None = no metrics.
    metrics_address: tuple[str, int] | None = None
    allow_dms: bool = False
    max_images: int = 4
    discord_requests_per_second: int = 45
    reasoning_effort: str | None = DEFAULT_REASONING_EFFORT  # None: not sent
    # Test and self-hosting hooks: point discord.py at another Discord-compatible endpoint.
    discord_api_base: str | None = None
    discord_gateway_url: str | None = None
    shard_count: int | None = None
    shard_ids: tuple[int, ...] | None = None

    @property
    def database(self) -> Path | PostgresUrl:
        """Return the database DATABASE_URL names: a SQLite file, or a PostgreSQL URL."""
        return self.postgres_url or self.database_path

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> Settings:
        """Build settings from an environment mapping, failing on the first bad value."""
        reader = _Reader(env)
        database = reader.get("DATABASE_URL", DEFAULT_DATABASE_URL, parse_database_url)
        shard_count = reader.get("SHARD_COUNT", "", _optional(_int_between(1, MAX_SHARDS)))
        shard_ids = reader.get("SHARD_IDS", "", parse_shard_ids)
        reader.check("SHARD_IDS", lambda: check_shard_ids(shard_ids, shard_count))
        return cls(
            discord_token=Secret(reader.required("DISCORD_TOKEN", "the bot token from the Developer Portal")),
            evolink_api_key=Secret(reader.required("EVOLINK_API_KEY", "your EvoLink API key")),
            evolink_base_url=reader.get("EVOLINK_BASE_URL", DEFAULT_BASE_URL, _base_url),
            evolink_model=reader.get("EVOLINK_MODEL", DEFAULT_MODEL, _non_empty),
            database_path=database if isinstance(database, Path) else Path("data/bot.db"),
            postgres_url=database if isinstance(database, PostgresUrl) else None,
            system_prompt=reader.get("SYSTEM_PROMPT", DEFAULT_SYSTEM_PROMPT, _non_empty),
            context_tokens=reader.get("CONTEXT_TOKENS", "16000", _int_between(256, MAX_CONTEXT_TOKENS)),
            guild_daily_tokens=reader.get("GUILD_DAILY_TOKENS", "200000", _int_between(0, MAX_DAILY_TOKENS)),
            user_daily_tokens=reader.get("USER_DAILY_TOKENS", "50000", _int_between(0, MAX_DAILY_TOKENS)),
            stream=reader.get("STREAM", "true", _boolean),
            dev_guild_id=reader.get("DEV_GUILD_ID", "", _optional_snowflake),
            log_level=reader.get("LOG_LEVEL", "INFO", _log_level),
            request_timeout_seconds=reader.get("REQUEST_TIMEOUT_SECONDS", "120", _float_between(1, 900)),
            channel_queue_limit=reader.get("CHANNEL_QUEUE_LIMIT", "20", _int_between(1, 1000)),
            member_queue_limit=reader.get("MEMBER_QUEUE_LIMIT", "3", _int_between(1, 100)),
            shutdown_grace_seconds=reader.get("SHUTDOWN_GRACE_SECONDS", "20", _float_between(0, 600)),
            metrics_address=reader.get("METRICS_ADDRESS", "", _optional_host_port),
            allow_dms=reader.get("ALLOW_DMS", "false", _boolean),
            max_images=reader.get("MAX_IMAGES", "4", _int_between(0, MAX_IMAGES_PER_REQUEST)),
            discord_requests_per_second=reader.get(
                "DISCORD_REQUESTS_PER_SECOND", "45", _int_between(1, MAX_DISCORD_REQUESTS_PER_SECOND)
            ),
            reasoning_effort=reader.get_or_empty("REASONING_EFFORT", DEFAULT_REASONING_EFFORT, _effort),
            discord_api_base=reader.get("DISCORD_API_BASE", "", _optional_url),
            discord_gateway_url=reader.get("DISCORD_GATEWAY_URL", "", _optional_url),
            shard_count=shard_count,
            shard_ids=shard_ids,
        )


class _Reader:
    """Reads one setting at a time and turns a bad value into a SettingsError naming it."""

    def __init__(self, env: Mapping[str, str]) -> None:
        self._env = env

    def required(self, name: str, what: str) -> str:
        value = self._env.get(name, "").strip()
        if not value:
            raise SettingsError(
                f"{name} is not set: put {what} in .env or the environment (see .env.example)."
            )
        return value

    def get(self, name: str, default: str, parse: Callable[[str], T]) -> T:
        raw = self._env.get(name, "").strip() or default
        try:
            return parse(raw)
        except ValueError as exc:
            raise SettingsError(f"{name} is malformed: {exc} (see .env.example).") from None

    def get_or_empty(self, name: str, default: str, parse: Callable[[str], T]) -> T:
        """Read a setting whose empty value means something (it is not the default)."""
        if name not in self._env:
            return self.get(name, default, parse)
        return self.get(name, "", parse)

    def check(self, name: str, check: Callable[[], None]) -> None:
        try:
            check()
        except ValueError as exc:
            raise SettingsError(f"{name} is malformed: {exc} (see .env.example).") from None


def parse_database_url(url: str) -> Path | PostgresUrl:
    """Turn `sqlite:///relative` (to bot.py's folder) or `sqlite:////absolute` into a path, else a URL."""
    if url.startswith(("postgresql:", "postgres:")):
        return PostgresUrl.parse(url)
    prefix = "sqlite:///"
    if not url.startswith(prefix) or len(url) == len(prefix):
        raise ValueError(
            "expected sqlite:///relative/path, sqlite:////absolute/path or "
            f"postgresql://user:password@host:5432/database, got {masked(url)!r}"
        )
    path = Path(url[len(prefix) :])
    if str(path) == ":memory:" or path.is_absolute():
        return path
    return PROJECT_FOLDER / path


def _non_empty(value: str) -> str:
    if not value:
        raise ValueError("it must not be empty")
    return value


def _http_url(value: str) -> str:
    if not value.startswith(("http://", "https://")) or len(value.split("://", 1)[1]) == 0:
        raise ValueError(f"expected an http(s):// URL, got {value!r}")
    return value


def _base_url(value: str) -> str:
    # A common slip is pasting the whole endpoint; the client adds /chat/completions itself.
    base = _http_url(value).rstrip("/")
    return base.removesuffix("/chat/completions")


def _optional_url(value: str) -> str | None:
    if not value:
        return None
    if "://" not in value:
        raise ValueError(f"expected a URL, got {value!r}")
    return value.rstrip("/")


def _int_between(low: int, high: int) -> Callable[[str], int]:
    def parse(value: str) -> int:
        try:
            number = int(value.replace("_", ""))
        except ValueError:
            raise ValueError(f"expected a whole number, got {value!r}") from None
        if not low <= number <= high:
            raise ValueError(f"expected a whole number from {low:,} to {high:,}, got {number:,}")
        return number

    return parse


def _float_between(low: float, high: float) -> Callable[[str], float]:
    def parse(value: str) -> float:
        try:
            number = float(value)
        except ValueError:
            raise ValueError(f"expected a number of seconds, got {value!r}") from None
        if not low <= number <= high:
            raise ValueError(f"expected {low:g} to {high:g} seconds, got {number:g}")
        return number

    return parse


def _boolean(value: str) -> bool:
    lowered = value.lower()
    if lowered in ("1", "true", "yes", "on"):
        return True
    if lowered in ("0", "false", "no", "off"):
        return False
    raise ValueError(f"expected true or false, got {value!r}")


def _optional(parse: Callable[[str], T]) -> Callable[[str], T | None]:
    def parse_unless_empty(value: str) -> T | None:
        return parse(value) if value else None

    return parse_unless_empty


def _optional_snowflake(value: str) -> int | None:
    if not value:
        return None
    if not value.isdigit() or len(value) > 20 or int(value) == 0:
        raise ValueError(
            f"expected a server id (a 17–20 digit number; right-click the server, Copy ID), got {value!r}"
        )
    return int(value)


def _optional_host_port(value: str) -> tuple[str, int] | None:
    if not value:
        return None
    host, _, port = value.rpartition(":")
    host = host.removeprefix("[").removesuffix("]")  # [::1]:9464
    if not host or not port.isdigit() or not 1 <= int(port) <= 65535:
        raise ValueError(f"expected host:port, such as 127.0.0.1:9464 or 0.0.0.0:9464, got {value!r}")
    return host, int(port)


def _effort(value: str) -> str | None:
    if not value:
        return None
    lowered = value.lower()
    if lowered not in REASONING_EFFORTS:
        raise ValueError(
            f"expected one of {', '.join(REASONING_EFFORTS)} (or empty: not sent), got {value!r}"
        )
    return lowered


def _log_level(value: str) -> str:
    upper = value.upper()
    if upper not in LOG_LEVELS or not isinstance(logging.getLevelName(upper), int):
        raise ValueError(f"expected one of {', '.join(LOG_LEVELS)}, got {value!r}")
    return upper
