"""Settings store on both backends: changes read back at once, survive a reopen, stay per server."""

from __future__ import annotations

import sqlite3

import asyncpg
import pytest

from storage.backend import Storage
from storage.connect import DatabaseTarget, open_storage
from storage.settings import ChannelSettings, ServerSettings, SettingsStore

GUILD, OTHER_GUILD, CHANNEL, ADMIN = 100, 200, 300, 9
# What each backend raises when a CHECK constraint refuses a value.
REFUSED = (sqlite3.IntegrityError, asyncpg.CheckViolationError)


@pytest.fixture
def store(storage: Storage) -> SettingsStore:
    return storage.settings


async def test_a_server_without_settings_has_the_defaults(store: SettingsStore) -> None:
    assert await store.server(GUILD) == ServerSettings(GUILD)
    assert await store.load_all() == {}


async def test_every_change_returns_the_servers_settings_as_they_now_are(store: SettingsStore) -> None:
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


async def test_a_channel_back_at_the_defaults_no_longer_differs(store: SettingsStore) -> None:
    await store.set_channel_mode(GUILD, CHANNEL, "off", by=ADMIN)
    await store.set_channel_persona(GUILD, CHANNEL, "Quiet.", by=ADMIN)
    await store.set_channel_mode(GUILD, CHANNEL, None, by=ADMIN)
    assert (await store.server(GUILD)).channels == {CHANNEL: ChannelSettings("Quiet.", None)}
    cleared = await store.set_channel_persona(GUILD, CHANNEL, None, by=ADMIN)
    assert cleared == ServerSettings(GUILD)


async def test_clearing_a_server_value_keeps_the_others(store: SettingsStore) -> None:
    await store.set_server_persona(GUILD, "Be terse.", by=ADMIN)
    await store.set_access_role(GUILD, 555, by=ADMIN)
    assert await store.set_access_role(GUILD, None, by=ADMIN) == ServerSettings(GUILD, "Be terse.")


async def test_settings_survive_reopening_and_stay_with_their_server(target: DatabaseTarget) -> None:
    storage = await open_storage(target)
    await storage.settings.set_server_persona(GUILD, "Pirate speak.", by=ADMIN)
    await storage.settings.set_channel_mode(OTHER_GUILD, CHANNEL, "thread", by=ADMIN)
    await storage.close()
    reopened = await open_storage(target)
    try:
        everything = await reopened.settings.load_all()
    finally:
        await reopened.close()
    assert everything == {
        GUILD: ServerSettings(GUILD, "Pirate speak."),
        OTHER_GUILD: ServerSettings(OTHER_GUILD, channels={CHANNEL: ChannelSettings(None, "thread")}),
    }


async def test_the_database_refuses_unknown_modes_and_efforts(store: SettingsStore) -> None:
    with pytest.raises(REFUSED):
        await store.set_channel_mode(GUILD, CHANNEL, "sometimes", by=ADMIN)
    with pytest.raises(REFUSED):
        await store.set_reasoning_effort(GUILD, "extreme", by=ADMIN)
    assert await store.load_all() == {}
