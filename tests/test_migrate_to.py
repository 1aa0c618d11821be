"""`python bot.py --migrate-to URL`: every table copied into an empty database, verified by counts."""

from __future__ import annotations

import asyncio
import io
import sqlite3
from pathlib import Path
from typing import Any

import pytest

from assistant import migrate
from assistant.settings import Settings
from tests.conftest import Harness
from tests.fakes import images
from tests.fakes.completions import Reply
from tests.fakes.discord_cdn import FakeFile
from tests.postgres import TestPostgres


def contents(path: Path) -> dict[str, list[tuple[Any, ...]]]:
    """Return every table's rows, sorted."""
    with sqlite3.connect(path) as db:
        names = [row[0] for row in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
        return {name: sorted(db.execute(f'SELECT * FROM "{name}"').fetchall(), key=repr) for name in names}  # noqa: S608


async def run(settings: Settings, url: str) -> tuple[int, str]:
    """Run the command (it runs its own event loop, so in a thread); return its status and output."""
    out = io.StringIO()
    status = await asyncio.to_thread(migrate.run, settings, url, out)
    return status, out.getvalue()


@pytest.fixture
async def used(harness: Harness) -> Settings:
    """A database the bot has used: answers, an image, a /chat thread, usage and budgets; the bot stopped."""
    harness.model.enqueue(Reply(text="One."), Reply(text="Two."), Reply(text="In the thread."))
    await harness.replies_to(await harness.ask("first?"))
    mention = f"<@{harness.discord.bot_user.id}> and this?"
    picture = FakeFile("diagram.png", images.png(64, 48), "image/png")
    await harness.replies_to(
        await harness.discord.user_says(harness.channel, harness.alice, mention, files=[picture])
    )
    chat = await harness.discord.slash(
        "chat", {"prompt": "a topic"}, channel=harness.channel, author=harness.bob
    )
    await harness.discord.wait_for(lambda: len(chat.messages()) >= 1)
    quota = await harness.discord.slash(
        "quota", {"daily_tokens": 90_000}, channel=harness.channel, author=harness.admin, subcommand="set"
    )
    await harness.discord.wait_for(lambda: len(quota.messages()) >= 1 or bool(quota.callbacks))
    await harness.settled()
    await harness.stop_bot()
    return harness.settings


async def test_every_table_is_copied_and_the_counts_match(used: Settings, tmp_path: Path) -> None:
    target = tmp_path / "copy" / "bot.db"
    status, output = await run(used, f"sqlite:///{target}")
    assert status == 0, output
    assert "the counts match" in output
    source = contents(used.database_path)
    assert len(source["history_images"]) == 1 and len(source["conversation_threads"]) == 1
    assert contents(target) == source
    assert "  history: 6 of 6 rows" in output


async def test_a_target_that_holds_data_is_refused(
    used: Settings, tmp_path: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    target = tmp_path / "copy.db"
    assert (await run(used, f"sqlite:///{target}"))[0] == 0
    before = contents(target)
    status, _ = await run(used, f"sqlite:///{target}")
    assert status == 1
    error = capfd.readouterr().err
    assert error.startswith("--migrate-to: the target database is not empty (rows: ") and "history 6" in error
    assert contents(target) == before


async def test_a_malformed_target_is_named(used: Settings, capfd: pytest.CaptureFixture[str]) -> None:
    assert (await run(used, "mysql://nope"))[0] == 2
    assert capfd.readouterr().err.startswith("--migrate-to: expected sqlite:///")


async def test_sqlite_to_postgresql_and_back_keeps_every_row(
    used: Settings, postgres: TestPostgres, tmp_path: Path
) -> None:
    target = await postgres.new_database()
    status, output = await run(used, target.dsn)
    assert status == 0, output
    assert "the counts match" in output and "***" not in output  # the URL has no password here
    back = tmp_path / "back.db"
    status, output = await run(migrate.with_database(used, target), f"sqlite:///{back}")
    assert status == 0, output
    assert contents(back) == contents(used.database_path)


async def test_a_postgresql_target_that_holds_data_is_refused(
    used: Settings, postgres: TestPostgres, capfd: pytest.CaptureFixture[str]
) -> None:
    target = await postgres.new_database()
    assert (await run(used, target.dsn))[0] == 0
    assert (await run(used, target.dsn))[0] == 1
    assert "the target database is not empty (rows: " in capfd.readouterr().err
