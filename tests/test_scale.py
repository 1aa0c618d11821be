"""Several bot processes, one fake Discord, one PostgreSQL: shards split, deploys overlap, budgets hold."""

from __future__ import annotations

import asyncio
import signal
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from assistant.answering import COMPLETION_ALLOWANCE_TOKENS
from assistant.model.tokens import REPLY_PRIMING_TOKENS, estimate_message_tokens
from assistant.settings import DEFAULT_SYSTEM_PROMPT
from storage.postgres.url import PostgresUrl
from tests.conftest import API_KEY
from tests.fakes.completions import FakeCompletions, Reply
from tests.fakes.discord import FakeChannel, FakeDiscord, FakeUser
from tests.postgres import TestPostgres
from tests.test_bot_process import fakes_env, run_bot

START_SECONDS = 60.0  # a bot process starting on a busy machine: imports, tokenizer, database, gateway
SERVER_SPENT = "This server has used up its daily token budget"
PASSWORD = "pg-password-never-logged"  # the test server trusts local users, so any password works


@dataclass
class Cluster:
    """Bot processes sharing one fake Discord, one fake model and one PostgreSQL database."""

    discord: FakeDiscord
    model: FakeCompletions
    database: PostgresUrl
    folder: Path
    processes: dict[str, asyncio.subprocess.Process] = field(default_factory=dict)
    logs: dict[str, list[str]] = field(default_factory=dict)
    readers: dict[str, asyncio.Future[None]] = field(default_factory=dict)

    async def start(self, name: str, shard: str, **env: str) -> None:
        """Start a bot process running `shard` and wait until the shard says it is ready."""
        folder = self.folder / name
        folder.mkdir(exist_ok=True)
        settings = fakes_env(folder, self.discord, self.model, DATABASE_URL=self.database.dsn, STREAM="false")
        process = await run_bot(folder, {**settings, "SHARD_IDS": shard, **env})
        self.processes[name] = process
        self.logs[name] = []
        self.readers[name] = asyncio.ensure_future(self._read(process, self.logs[name]))
        await self.wait_log(name, f"Shard {shard} of ")

    async def _read(self, process: asyncio.subprocess.Process, lines: list[str]) -> None:
        assert process.stdout is not None
        async for line in process.stdout:
            lines.append(line.decode())
            self.discord.world.notify()  # wakes wait_for, which re-checks the logs too

    async def wait_log(self, name: str, text: str) -> None:
        """Wait until process `name` has logged a line containing `text`."""
        await self.discord.wait_for(lambda: any(text in line for line in self.logs[name]), START_SECONDS)

    async def stop(self, name: str) -> str:
        """Stop a process with SIGTERM, check it stopped cleanly, and return its log."""
        process = self.processes.pop(name)
        process.send_signal(signal.SIGTERM)
        assert process.stderr is not None
        stderr = await asyncio.wait_for(process.stderr.read(), timeout=START_SECONDS)
        await asyncio.wait_for(self.readers.pop(name), timeout=START_SECONDS)
        await process.wait()
        log = "".join(self.logs[name]) + stderr.decode()
        assert process.returncode == 0, log[-3000:]
        assert "Traceback" not in log and PASSWORD not in log
        return log

    async def ask(self, channel: FakeChannel, member: FakeUser, text: str) -> str:
        """Mention the bot and return the one reply to it."""
        asked = await self.discord.user_says(channel, member, f"<@{self.discord.bot_user.id}> {text}")
        await self.discord.wait_for(lambda: replies_to(self.discord, channel, asked["id"]) != [], 30)
        [reply] = replies_to(self.discord, channel, asked["id"])
        return reply


def replies_to(discord_fake: FakeDiscord, channel: FakeChannel, message_id: str) -> list[str]:
    """Return the bot's messages in `channel` replying to `message_id`."""
    return [
        m["content"]
        for m in discord_fake.bot_messages(channel)
        if (m.get("message_reference") or {}).get("message_id") == message_id
    ]


@pytest.fixture
async def cluster(tmp_path: Path, postgres: TestPostgres) -> AsyncIterator[Cluster]:
    discord_fake, model = FakeDiscord(), FakeCompletions(api_key=API_KEY)
    await discord_fake.start()
    await model.start()
    database = await postgres.new_database()
    with_password = PostgresUrl.parse(
        database.dsn.replace("postgresql://postgres@", f"postgresql://postgres:{PASSWORD}@")
    )
    running = Cluster(discord_fake, model, with_password, tmp_path)
    try:
        yield running
    finally:
        for process in running.processes.values():
            process.kill()
            await process.wait()
        for reader in running.readers.values():
            await reader
        await model.close()
        await discord_fake.close()


async def test_two_processes_split_the_shards_and_one_restarts_without_losing_state(cluster: Cluster) -> None:
    discord_fake = cluster.discord
    zero, one = discord_fake.add_guild("Zero", shard=(0, 2)), discord_fake.add_guild("One", shard=(1, 2))
    here, there = discord_fake.add_text_channel(zero), discord_fake.add_text_channel(one)
    alice, bob = discord_fake.add_member(zero, "alice"), discord_fake.add_member(one, "bob")
    await cluster.start("first", "0", SHARD_COUNT="2")
    await cluster.start("second", "1", SHARD_COUNT="2")
    assert sorted(p["shard"] for p in discord_fake.identify_payloads) == [[0, 2], [1, 2]]

    cluster.model.enqueue(Reply(text="Zero here."), Reply(text="One here."))
    assert await cluster.ask(here, alice, "who answers zero?") == "Zero here."
    assert await cluster.ask(there, bob, "who answers one?") == "One here."

    second = await cluster.stop("second")
    assert "Running shards 1 of 2" in second and "Shard 1 of 2 ready with 1 servers" in second
    assert f"Answered in channel {there.id}" in second and f"Answered in channel {here.id}" not in second
    await cluster.start("second", "1", SHARD_COUNT="2")
    cluster.model.enqueue(Reply(text="Still one."))
    assert await cluster.ask(there, bob, "and now?") == "Still one."
    # The restarted process read the conversation the first run stored in PostgreSQL.
    assert "bob: who answers one?" in cluster.model.requests[-1].texts("user")

    first = await cluster.stop("first")
    assert "Running shards 0 of 2" in first and "Shard 0 of 2 ready with 1 servers" in first
    assert f"Answered in channel {here.id}" in first and f"Answered in channel {there.id}" not in first
    await cluster.stop("second")
    await discord_fake.wait_for(lambda: discord_fake.gateway.live_sessions() == [], 10)  # every shard closed


async def test_overlapping_sessions_of_one_shard_answer_each_message_once_within_the_budget(
    cluster: Cluster,
) -> None:
    discord_fake = cluster.discord
    guild = discord_fake.add_guild("Deploying")
    channel = discord_fake.add_text_channel(guild)
    members = [discord_fake.add_member(guild, f"m{n:02}") for n in range(6)]
    estimate = (
        estimate_message_tokens(DEFAULT_SYSTEM_PROMPT)
        + estimate_message_tokens("m00: same?")
        + REPLY_PRIMING_TOKENS
        + COMPLETION_ALLOWANCE_TOKENS
    )
    budget = {"GUILD_DAILY_TOKENS": str(2 * estimate + estimate // 2), "USER_DAILY_TOKENS": "0"}
    # A deploy: the new process runs the same shard while the old one still does.
    await cluster.start("old", "0", SHARD_COUNT="1", **budget)
    await cluster.start("new", "0", SHARD_COUNT="1", **budget)

    answer_now = asyncio.Event()  # admitted answers wait, so every question is in flight at once
    usage = {"prompt_tokens": estimate - 100, "completion_tokens": 0, "total_tokens": estimate - 100}
    cluster.model.enqueue(*[Reply(text="ok", usage=usage, release=answer_now)] * 6)
    mention = f"<@{discord_fake.bot_user.id}> same?"
    asked = [await discord_fake.user_says(channel, member, mention) for member in members]

    def refused() -> int:
        return sum(1 for m in discord_fake.bot_messages(channel) if m["content"].startswith(SERVER_SPENT))

    await discord_fake.wait_for(lambda: refused() == 3, 30)
    await cluster.model.wait_requests(3, timeout=30)
    answer_now.set()
    await discord_fake.wait_for(lambda: len(discord_fake.bot_messages(channel)) == 6, 30)
    assert len(cluster.model.requests) == 3  # room for three to start: within one estimate of the limit
    assert all(len(replies_to(discord_fake, channel, message["id"])) == 1 for message in asked)

    logs = await cluster.stop("old") + await cluster.stop("new")
    assert logs.count("AlreadyAnswered") == 6  # each message: one session answered, the other stood back
