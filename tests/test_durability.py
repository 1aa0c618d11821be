"""Killed with SIGKILL under load, the bot leaves a sound database holding every answer it delivered.

`python bot.py` runs against the fakes while four members keep mentioning it in two channels and the
model answers after small delays. Once answers are flowing and questions are still in flight, the
process is killed with SIGKILL. Then: ``PRAGMA integrity_check`` is "ok", the history holds whole
exchanges only, every answer that reached Discord is in it (by its question's message id and its
text), and the bot started again on the same database answers.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
import sqlite3
import sys
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import API_KEY
from tests.fakes.completions import FakeCompletions, RecordedCompletionRequest, Reply
from tests.fakes.discord import FakeChannel, FakeDiscord, FakeUser
from tests.test_bot_process import ROOT, fakes_env

pytestmark = pytest.mark.slow

ANSWERS_BEFORE_THE_KILL = 20
QUESTION_INTERVAL_SECONDS = 0.01  # the members' pace: a steady load, not a wait for anything
PROCESS_TIMEOUT_SECONDS = 30


def answer_after_a_moment(request: RecordedCompletionRequest) -> Reply:
    """Answer "Answer to <question>" after 0–200 ms, so several answers are always in flight."""
    question = [m["content"] for m in request.messages if m["role"] == "user"][-1].split(": ", 1)[-1]
    return Reply(text=f"Answer to {question}", delay_seconds=0.05 * (request.number % 5))


@contextlib.asynccontextmanager
async def bot_process(
    tmp_path: Path, env: dict[str, str], run: int
) -> AsyncIterator[asyncio.subprocess.Process]:
    """Run `python bot.py`, its output in a log file; kill it at the end if it is still running."""
    log_file = (tmp_path / f"bot-{run}.log").open("wb")
    process = await asyncio.create_subprocess_exec(
        sys.executable, str(ROOT / "bot.py"), cwd=tmp_path, env=env, stdout=log_file, stderr=log_file
    )
    try:
        yield process
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
        log_file.close()


async def online(discord_fake: FakeDiscord, identifies: int) -> None:
    """Wait until the bot process has identified `identifies` times in all and parsed its guilds."""
    await discord_fake.wait_for(
        lambda: len(discord_fake.identify_payloads) == identifies, PROCESS_TIMEOUT_SECONDS
    )
    await discord_fake.caught_up(timeout=PROCESS_TIMEOUT_SECONDS)


def delivered(discord_fake: FakeDiscord, channels: list[FakeChannel]) -> set[tuple[int, str]]:
    """Return (question message id, answer text) of every answer posted as a reply to its question."""
    return {
        (int(m["message_reference"]["message_id"]), m["content"])
        for channel in channels
        for m in discord_fake.bot_messages(channel)
        if m.get("message_reference") and m["content"].startswith("Answer to ")
    }


def stored_exchanges(database: Path) -> tuple[str, set[tuple[int, str]]]:
    """Return the integrity check's verdict and (question id, answer text) of every stored exchange."""
    with contextlib.closing(sqlite3.connect(database)) as db:
        [(verdict,)] = db.execute("PRAGMA integrity_check").fetchall()
        rows = db.execute("SELECT role, content, discord_message_id FROM history ORDER BY id").fetchall()
    questions, answers = rows[::2], rows[1::2]
    assert [q[0] for q in questions] == ["user"] * len(questions), "an answer without its question"
    assert [a[0] for a in answers] == ["assistant"] * len(questions), "a question without its answer"
    return verdict, {(q[2], a[1]) for q, a in zip(questions, answers, strict=True)}


async def ask_steadily(
    discord_fake: FakeDiscord, channels: list[FakeChannel], members: list[FakeUser], asked: list[Any]
) -> None:
    """Have the members take turns mentioning the bot, in both channels, until cancelled."""
    number = 0
    while True:
        member = members[number % len(members)]
        channel = channels[number // len(members) % len(channels)]  # every member in every channel
        asked.append(
            await discord_fake.user_says(channel, member, f"<@{discord_fake.bot_user.id}> q{number}")
        )
        number += 1
        await asyncio.sleep(QUESTION_INTERVAL_SECONDS)


@dataclass
class Scene:
    """The fakes, the server the bot serves, and the environment of its process."""

    discord: FakeDiscord
    model: FakeCompletions
    channels: list[FakeChannel]
    members: list[FakeUser]
    env: dict[str, str]


@pytest.fixture
async def scene(tmp_path: Path) -> AsyncIterator[Scene]:
    """Two channels, four members, a model answering after a moment, and the bot's settings."""
    discord_fake, model = FakeDiscord(), FakeCompletions(api_key=API_KEY)
    await discord_fake.start()
    await model.start()
    model.default = answer_after_a_moment
    guild = discord_fake.add_guild("Durable Server")
    env = fakes_env(
        tmp_path,
        discord_fake,
        model,
        DEV_GUILD_ID=str(guild.id),
        STREAM="false",  # a streamed answer is visible in part before it is stored, by design
    )
    yield Scene(
        discord_fake,
        model,
        [discord_fake.add_text_channel(guild, name) for name in ("general", "help")],
        [discord_fake.add_member(guild, name) for name in ("ann", "ben", "cat", "dan")],
        env,
    )
    await model.close()
    await discord_fake.close()


async def kill_under_load(scene: Scene, tmp_path: Path) -> int:
    """Run the bot under load, SIGKILL it once answers flow, and return how many questions were asked."""
    asked: list[Any] = []
    async with bot_process(tmp_path, scene.env, run=1) as process:
        await online(scene.discord, identifies=1)
        load = asyncio.create_task(ask_steadily(scene.discord, scene.channels, scene.members, asked))
        await scene.discord.wait_for(
            lambda: len(delivered(scene.discord, scene.channels)) >= ANSWERS_BEFORE_THE_KILL,
            PROCESS_TIMEOUT_SECONDS,
        )
        process.send_signal(signal.SIGKILL)
        await process.wait()
        load.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await load
    return len(asked)


async def test_sigkill_under_load_loses_no_delivered_answer_and_restarts(
    scene: Scene, tmp_path: Path
) -> None:
    asked = await kill_under_load(scene, tmp_path)
    answered = delivered(scene.discord, scene.channels)
    assert asked > len(answered), "no question was in flight at the kill"
    verdict, stored = stored_exchanges(tmp_path / "state" / "bot.db")
    assert verdict == "ok"
    assert answered <= stored, f"delivered but not stored: {sorted(answered - stored)}"
    print(f"asked {asked}, delivered {len(answered)}, stored {len(stored)}, integrity {verdict}")

    async with bot_process(tmp_path, scene.env, run=2) as process:
        await online(scene.discord, identifies=2)
        mention = f"<@{scene.discord.bot_user.id}> back?"
        again = await scene.discord.user_says(scene.channels[0], scene.members[0], mention)
        expected = (int(again["id"]), "Answer to back?")
        await scene.discord.wait_for(lambda: expected in delivered(scene.discord, scene.channels))
        process.send_signal(signal.SIGTERM)
        assert await asyncio.wait_for(process.wait(), PROCESS_TIMEOUT_SECONDS) == 0
    logs = "".join(log.read_text() for log in sorted(tmp_path.glob("bot-*.log")))
    assert API_KEY not in logs and scene.discord.token not in logs
    assert "Traceback" not in (tmp_path / "bot-2.log").read_text()
