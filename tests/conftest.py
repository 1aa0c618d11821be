"""End-to-end harness: the real bot, connected to the fake Discord and the fake completions service."""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import tempfile
from collections.abc import AsyncIterator, Callable, Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from assistant.model.completions import DEFAULT_RETRY, RetryPolicy
from assistant.settings import Secret, Settings
from bot import AssistantBot, utc_now
from tests.audit import audit
from tests.fakes.completions import FakeCompletions
from tests.fakes.discord import (
    DEFAULT_MEMBER_PERMISSIONS,
    MANAGE_GUILD,
    FakeChannel,
    FakeDiscord,
    FakeGuild,
    FakeUser,
)
from tests.offline import offline
from tests.postgres import TestPostgres

API_KEY = "sk-test-key-never-shown"


@dataclasses.dataclass
class Harness:
    """A running bot and the fakes around it, with the server it lives in."""

    discord: FakeDiscord
    model: FakeCompletions
    settings: Settings
    guild: FakeGuild
    channel: FakeChannel
    alice: FakeUser
    bob: FakeUser
    admin: FakeUser
    bot: AssistantBot | None = None
    task: asyncio.Task[None] | None = None
    # The completions retry policy every start_bot uses unless told otherwise (tests/faults: a fast one).
    retry: RetryPolicy = DEFAULT_RETRY
    # The fake enforces Discord's rate limits; the bot then also keeps to the per-channel ones.
    rate_limits: bool = False

    async def start_bot(
        self,
        *,
        message_content: bool = True,
        clock: Callable[[], datetime] = utc_now,
        edit_interval_seconds: float = 0.05,
        retry: RetryPolicy | None = None,
        **overrides: Any,
    ) -> AssistantBot:
        """Start the bot (again) against the same fakes and database, and wait until it is ready."""
        settings = dataclasses.replace(self.settings, **overrides)
        bot = AssistantBot(
            settings,
            guild_ready_timeout=0.05,
            message_content=message_content,
            clock=clock,
            edit_interval_seconds=edit_interval_seconds,
            retry=retry or self.retry,
            discord_route_limits=self.rate_limits,
        )
        self.bot, self.task = bot, asyncio.create_task(bot.start(settings.discord_token.reveal()))
        ready = asyncio.create_task(bot.wait_until_ready())
        done, _ = await asyncio.wait({ready, self.task}, timeout=10, return_when=asyncio.FIRST_COMPLETED)
        if self.task in done:
            ready.cancel()
            self.task.result()  # surfaces the crash
            raise AssertionError("the bot stopped before it was ready")
        assert ready in done, "the bot did not become ready within 10 s"
        return bot

    async def stop_bot(self) -> None:
        """Close the bot and surface any crash it had."""
        if self.bot is not None:
            await self.bot.close()
        if self.task is not None:
            await asyncio.wait_for(self.task, timeout=10)
        self.bot = self.task = None

    async def settled(self) -> None:
        """Wait until every question the bot took has been answered and stored."""
        assert self.bot is not None
        await self.discord.caught_up()
        await asyncio.wait_for(self.bot.answerer.lanes.wait_idle(), timeout=5)

    async def stored_turns(self, channel: Any = None) -> int:
        """Return how many turns the bot has stored for a channel, once it has settled."""
        await self.settled()
        assert self.bot is not None
        where = channel or self.channel
        return await self.bot.history.count(where if isinstance(where, int) else where.id)

    async def ask(self, text: str, *, author: FakeUser | None = None, channel: Any = None) -> dict:
        """Have a member mention the bot with `text`; return the member's message."""
        mention = f"<@{self.discord.bot_user.id}> {text}"
        return await self.discord.user_says(channel or self.channel, author or self.alice, mention)

    async def replies_to(self, message: dict, count: int = 1, *, channel: Any = None) -> list[dict]:
        """Wait for the bot's messages posted after `message` (at least `count`) and return them."""
        where = channel or self.channel

        def after() -> list[dict]:
            return [m for m in self.discord.bot_messages(where) if int(m["id"]) > int(message["id"])]

        await self.discord.wait_for(lambda: len(after()) >= count)
        return after()


@pytest.fixture(autouse=True, scope="session")
def no_internet() -> Iterator[None]:
    """Run every test offline: only this machine resolves and accepts connections."""
    with offline():
        yield


@pytest.fixture
def discord_rate_limits() -> bool:
    """Whether the fake Discord enforces Discord's rate limits (and the bot keeps to the per-channel ones).

    On in every module where Discord's limits bear on what it proves (streaming, load, many messages
    in quick succession); off elsewhere, so that many exchanges in one channel run at full speed.
    """
    return False


@pytest.fixture
async def fakes(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture, discord_rate_limits: bool
) -> AsyncIterator[tuple[FakeDiscord, FakeCompletions]]:
    """Start the two fakes and point discord.py at the fake Discord; audit the traffic afterwards.

    Every log record of the test (discord.py's and aiohttp's included) is captured at DEBUG, and at
    teardown :func:`tests.audit.audit` checks that no secret leaked, no send or edit parsed mentions
    and, with rate limits on, that the bot alone never drew a global 429.
    """
    caplog.set_level(logging.DEBUG)
    discord_fake = FakeDiscord(rate_limits=discord_rate_limits)
    model = FakeCompletions(api_key=API_KEY)
    await discord_fake.start()
    await model.start()
    discord_fake.patch(monkeypatch)
    yield discord_fake, model
    await model.close()
    await discord_fake.close()
    records = [*caplog.get_records("setup"), *caplog.get_records("call"), *caplog.records]
    audit(discord_fake, records, secrets=(API_KEY, discord_fake.token))


@pytest.fixture
def retry_policy() -> RetryPolicy:
    """The completions retry policy of the harness's bot (tests/faults overrides it with a fast one)."""
    return DEFAULT_RETRY


@pytest.fixture
def stream() -> bool:
    """Post answers whole unless a test parametrizes this (`STREAM_MODES` in tests/faults)."""
    return False


@pytest.fixture
def settings_overrides(stream: bool) -> dict[str, Any]:
    """Settings the harness's bot starts with, over `test_settings` (a folder's conftest may override)."""
    return {"stream": stream}


@pytest.fixture
async def harness(
    fakes: tuple[FakeDiscord, FakeCompletions],
    tmp_path: Path,
    retry_policy: RetryPolicy,
    settings_overrides: dict[str, Any],
    discord_rate_limits: bool,
) -> AsyncIterator[Harness]:
    """A ready bot in a server with a #general channel and three members."""
    discord_fake, model = fakes
    guild = discord_fake.add_guild("Test Server")
    channel = discord_fake.add_text_channel(guild, "general")
    h = Harness(
        discord=discord_fake,
        model=model,
        settings=test_settings(
            discord_fake, model, tmp_path, **{"dev_guild_id": guild.id, **settings_overrides}
        ),
        guild=guild,
        channel=channel,
        alice=discord_fake.add_member(guild, "alice"),
        bob=discord_fake.add_member(guild, "bob"),
        admin=discord_fake.add_member(guild, "admin", permissions=DEFAULT_MEMBER_PERMISSIONS | MANAGE_GUILD),
        retry=retry_policy,
        rate_limits=discord_rate_limits,
    )
    await h.start_bot()
    yield h
    await h.stop_bot()


def test_settings(
    discord_fake: FakeDiscord, model: FakeCompletions, tmp_path: Path, **overrides: Any
) -> Settings:
    """Settings pointing at the fakes, with a fresh database in `tmp_path`."""
    base = Settings(
        discord_token=Secret(discord_fake.token),
        evolink_api_key=Secret(API_KEY),
        evolink_base_url=model.base_url,
        database_path=tmp_path / "data" / "bot.db",
        stream=False,
        request_timeout_seconds=5.0,
        shutdown_grace_seconds=2.0,
    )
    return dataclasses.replace(base, **overrides)


test_settings.__test__ = False  # type: ignore[attr-defined]


@pytest.fixture(scope="session")
def postgres() -> Iterator[TestPostgres]:
    """Start one real PostgreSQL server for the session, on first use."""
    # Not under pytest's temporary folder: other pytest runs reset its permissions to the owner
    # alone, which locks out the server's own system user.
    server = TestPostgres(Path(tempfile.mkdtemp(prefix="bot-tests-postgres-")) / "data")
    yield server
    server.stop()
