"""Server settings in PostgreSQL (see :mod:`storage.settings`): one row per server that changed any,
one per channel that differs from its server; the same statements as SQLite's, in `$n` form."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable

import asyncpg

from storage.postgres.database import PostgresDatabase
from storage.settings import ChannelSettings, ServerSettings

_SELECT_GUILD = "SELECT guild_id, persona, access_role_id, reasoning_effort FROM guild_settings"
_SELECT_ONE_GUILD = _SELECT_GUILD + " WHERE guild_id = $1"
_SELECT_CHANNELS = "SELECT guild_id, channel_id, persona, mode FROM channel_settings"
_SELECT_ONE_GUILD_CHANNELS = _SELECT_CHANNELS + " WHERE guild_id = $1"
_UPSERT_GUILD = (
    "INSERT INTO guild_settings (guild_id, updated_by, updated_at) VALUES ($1, $2, $3)"
    " ON CONFLICT (guild_id) DO UPDATE SET updated_by = excluded.updated_by, updated_at = excluded.updated_at"
)
_SET_GUILD_PERSONA = "UPDATE guild_settings SET persona = $1 WHERE guild_id = $2"
_SET_ACCESS_ROLE = "UPDATE guild_settings SET access_role_id = $1 WHERE guild_id = $2"
_SET_REASONING = "UPDATE guild_settings SET reasoning_effort = $1 WHERE guild_id = $2"
_UPSERT_CHANNEL = (
    "INSERT INTO channel_settings (channel_id, guild_id, updated_by, updated_at) VALUES ($1, $2, $3, $4)"
    " ON CONFLICT (channel_id) DO UPDATE SET"
    " updated_by = excluded.updated_by, updated_at = excluded.updated_at"
)
_SET_CHANNEL_PERSONA = "UPDATE channel_settings SET persona = $1 WHERE channel_id = $2"
_SET_CHANNEL_MODE = "UPDATE channel_settings SET mode = $1 WHERE channel_id = $2"
_DROP_DEFAULT_CHANNEL = (
    "DELETE FROM channel_settings WHERE channel_id = $1 AND persona IS NULL AND mode IS NULL"
)


class PostgresSettingsStore:
    """Reads and changes the server settings in PostgreSQL; each method is one unit of work."""

    def __init__(self, database: PostgresDatabase, *, clock: Callable[[], float] = time.time) -> None:
        self._database = database
        self._clock = clock

    async def load_all(self) -> dict[int, ServerSettings]:
        """Return the settings of every server that changed any, by server id."""
        async with self._database.transaction() as db:
            guilds = await db.fetch(_SELECT_GUILD)
            channels = await db.fetch(_SELECT_CHANNELS)
        return _assemble(guilds, channels)

    async def server(self, guild_id: int) -> ServerSettings:
        """Return one server's settings (the defaults when it changed none)."""
        async with self._database.connection() as db:
            return await _server(db, guild_id)

    async def set_server_persona(self, guild_id: int, persona: str | None, *, by: int) -> ServerSettings:
        """Set (or with None clear) the server's persona."""
        async with self._database.transaction() as db:
            await db.execute(_UPSERT_GUILD, guild_id, by, int(self._clock()))
            await db.execute(_SET_GUILD_PERSONA, persona, guild_id)
            return await _server(db, guild_id)

    async def set_access_role(self, guild_id: int, role_id: int | None, *, by: int) -> ServerSettings:
        """Restrict the bot to members with `role_id`, or with None open it to everyone."""
        async with self._database.transaction() as db:
            await db.execute(_UPSERT_GUILD, guild_id, by, int(self._clock()))
            await db.execute(_SET_ACCESS_ROLE, role_id, guild_id)
            return await _server(db, guild_id)

    async def set_reasoning_effort(self, guild_id: int, effort: str | None, *, by: int) -> ServerSettings:
        """Set the server's reasoning effort (None: the bot's default)."""
        async with self._database.transaction() as db:
            await db.execute(_UPSERT_GUILD, guild_id, by, int(self._clock()))
            await db.execute(_SET_REASONING, effort, guild_id)
            return await _server(db, guild_id)

    async def set_channel_persona(
        self, guild_id: int, channel_id: int, persona: str | None, *, by: int
    ) -> ServerSettings:
        """Set (or with None clear) one channel's persona."""
        async with self._database.transaction() as db:
            await db.execute(_UPSERT_CHANNEL, channel_id, guild_id, by, int(self._clock()))
            await db.execute(_SET_CHANNEL_PERSONA, persona, channel_id)
            await db.execute(_DROP_DEFAULT_CHANNEL, channel_id)
            return await _server(db, guild_id)

    async def set_channel_mode(
        self, guild_id: int, channel_id: int, mode: str | None, *, by: int
    ) -> ServerSettings:
        """Set one channel's answer mode (None: the default, mention)."""
        async with self._database.transaction() as db:
            await db.execute(_UPSERT_CHANNEL, channel_id, guild_id, by, int(self._clock()))
            await db.execute(_SET_CHANNEL_MODE, mode, channel_id)
            await db.execute(_DROP_DEFAULT_CHANNEL, channel_id)
            return await _server(db, guild_id)


async def _server(db: asyncpg.Connection, guild_id: int) -> ServerSettings:
    guilds = await db.fetch(_SELECT_ONE_GUILD, guild_id)
    channels = await db.fetch(_SELECT_ONE_GUILD_CHANNELS, guild_id)
    return _assemble(guilds, channels).get(guild_id) or ServerSettings(guild_id)


def _assemble(
    guilds: Iterable[asyncpg.Record], channels: Iterable[asyncpg.Record]
) -> dict[int, ServerSettings]:
    """Group channel rows under their server's row (a server may have channel rows only)."""
    by_guild: dict[int, dict[int, ChannelSettings]] = {}
    for row in channels:
        channel = ChannelSettings(row["persona"], row["mode"])
        by_guild.setdefault(row["guild_id"], {})[row["channel_id"]] = channel
    servers = {
        row["guild_id"]: ServerSettings(
            row["guild_id"],
            row["persona"],
            row["access_role_id"],
            row["reasoning_effort"],
            by_guild.get(row["guild_id"], {}),
        )
        for row in guilds
    }
    for guild_id, channel_settings in by_guild.items():
        servers.setdefault(guild_id, ServerSettings(guild_id, channels=channel_settings))
    return servers
