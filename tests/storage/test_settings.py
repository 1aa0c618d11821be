"""Settings store on a real SQLite file: changes read back at once, survive a reopen, stay per server."""

from __future__ import annotations

import sqlite3
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from storage.settings import ChannelSettings, ServerSettings
from storage.sqlite.database import Database
from storage.sqlite.settings import SqliteSettingsStore as SettingsStore

GUILD, OTHER_GUILD, CHANNEL, ADMIN = 100, 200, 300, 9


@pytest.fixture
async def database(tmp_path: Path) -> AsyncIterator[Database]:
    database = await Database.open(tmp_path / "bot.db")
    yield database
    await database.close()


async def test_a_server_without_settings_has_the_defaults(database: Database) -> None:
    store = SettingsStore(database)
    assert await store.server(GUILD) == ServerSettings(GUILD)
    assert await store.load_all() == {}


async def test_every_change_returns_the_servers_settings_as_they_now_are(database: Database) -> None:
    store = SettingsStore(database)
    await store.set_server_persona(GUILD, "Be terse.", by=ADMIN)
    await store.set_access_role(GUILD, 555, by=ADMIN)
    await store.set_channel_persona(GUILD, CHANNEL, "You are a support agent.", by=ADMIN)
    now = await store.set_reasoning_effort(GUILD, "high", by=ADMIN)
    assert now == ServerSettings(
        GUILD, "Be terse.", 555, "high", {CHANNEL: ChannelSettings("You are a support agent.", None)}
    )
    now = await store.set_channel_mode(GUILD, CHANNEL, "always", by=ADMIN)
    assert now.channels == {CHANNEL: ChannelSettings("You are a support agent.", "always")}
    assert await store.server(GUILD) == now


async def test_a_channel_back_at_the_defaults_no_longer_differs(database: Database) -> None:
    store = SettingsStore(database)
    await store.set_channel_mode(GUILD, CHANNEL, "off", by=ADMIN)
    await store.set_channel_persona(GUILD, CHANNEL, "Quiet.", by=ADMIN)
    await store.set_channel_mode(GUILD, CHANNEL, None, by=ADMIN)
    assert (await store.server(GUILD)).channels == {CHANNEL: ChannelSettings("Quiet.", None)}
    cleared = await store.set_channel_persona(GUILD, CHANNEL, None, by=ADMIN)
    assert cleared == ServerSettings(GUILD)


async def test_clearing_a_server_value_keeps_the_others(database: Database) -> None:
    store = SettingsStore(database)
    await store.set_server_persona(GUILD, "Be terse.", by=ADMIN)
    await store.set_access_role(GUILD, 555, by=ADMIN)
    assert await store.set_access_role(GUILD, None, by=ADMIN) == ServerSettings(GUILD, "Be terse.")


async def test_settings_survive_reopening_and_stay_with_their_server(tmp_path: Path) -> None:
    database = await Database.open(tmp_path / "bot.db")
    store = SettingsStore(database)
    await store.set_server_persona(GUILD, "Pirate speak.", by=ADMIN)
    await store.set_channel_mode(OTHER_GUILD, CHANNEL, "thread", by=ADMIN)
    await database.close()
    reopened = await Database.open(tmp_path / "bot.db")
    try:
        everything = await SettingsStore(reopened).load_all()
    finally:
        await reopened.close()
    assert everything == {
        GUILD: ServerSettings(GUILD, "Pirate speak."),
        OTHER_GUILD: ServerSettings(OTHER_GUILD, channels={CHANNEL: ChannelSettings(None, "thread")}),
    }


async def test_the_database_refuses_unknown_modes_and_efforts(database: Database) -> None:
    store = SettingsStore(database)
    with pytest.raises(sqlite3.IntegrityError):
        await store.set_channel_mode(GUILD, CHANNEL, "sometimes", by=ADMIN)
    with pytest.raises(sqlite3.IntegrityError):
        await store.set_reasoning_effort(GUILD, "extreme", by=ADMIN)
    assert await store.load_all() == {}
