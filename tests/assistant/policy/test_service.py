"""The policy service: settings held in memory, replaced on change, and refusals at most once an hour."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from assistant.answering import Question
from assistant.context import Instructions
from assistant.policy.service import REFUSAL_NOTICE_EVERY_SECONDS, Policy
from storage.sqlite.database import Database
from storage.sqlite.settings import SqliteSettingsStore as SettingsStore
from storage.sqlite.threads import SqliteThreadStore as ThreadStore

GUILD, CHANNEL, THREAD, ADMIN = 1, 10, 20, 7


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
async def database(tmp_path: Path) -> AsyncIterator[Database]:
    database = await Database.open(tmp_path / "bot.db")
    yield database
    await database.close()


def question(
    channel_id: int = CHANNEL, guild_id: int | None = GUILD, parent_id: int | None = None
) -> Question:
    return Question(guild_id, channel_id, 5, "ann", "hi", parent_id=parent_id)


async def test_questions_get_the_persona_and_effort_that_apply_without_a_database_trip(
    database: Database,
) -> None:
    threads = ThreadStore(database)
    policy = Policy(SettingsStore(database), threads, default_effort="low")
    assert await policy.load() == 0
    assert policy.instructions(question()) == Instructions(None, "low")
    await policy.set_persona(GUILD, CHANNEL, "Support desk.", by=ADMIN)
    await policy.set_reasoning_effort(GUILD, "high", by=ADMIN)
    await threads.add(THREAD, guild_id=GUILD, parent_id=CHANNEL, starter_id=5)
    await database.close()  # from here on, any read of the database would fail
    assert policy.instructions(question()) == Instructions("Support desk.", "high")
    # A bot thread without a parent on its question still finds its channel through the registry.
    assert policy.instructions(question(THREAD)) == Instructions("Support desk.", "high")
    assert policy.instructions(question(30, parent_id=CHANNEL)) == Instructions("Support desk.", "high")
    assert policy.instructions(question(guild_id=None)) == Instructions(None, "low")


async def test_settings_are_loaded_at_start_up(database: Database) -> None:
    await SettingsStore(database).set_channel_mode(GUILD, CHANNEL, "always", by=ADMIN)
    policy = Policy(SettingsStore(database), ThreadStore(database), default_effort=None)
    assert await policy.load() == 1
    assert policy.server(GUILD).channels[CHANNEL].mode == "always"


async def test_setting_the_default_mode_stores_no_setting(database: Database) -> None:
    policy = Policy(SettingsStore(database), ThreadStore(database), default_effort=None)
    await policy.set_mode(GUILD, CHANNEL, "off", by=ADMIN)
    await policy.set_mode(GUILD, CHANNEL, "mention", by=ADMIN)
    assert policy.server(GUILD).channels == {}
    assert await SettingsStore(database).load_all() == {}


async def test_a_refused_member_is_told_at_most_once_an_hour(database: Database) -> None:
    clock = Clock()
    policy = Policy(SettingsStore(database), ThreadStore(database), default_effort=None, clock=clock)
    assert policy._notice_due(GUILD, 5)
    clock.now += REFUSAL_NOTICE_EVERY_SECONDS - 1
    assert not policy._notice_due(GUILD, 5)
    assert policy._notice_due(GUILD, 6)  # another member
    clock.now += 1
    assert policy._notice_due(GUILD, 5)
