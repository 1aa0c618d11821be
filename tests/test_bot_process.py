"""`python bot.py` as a process: a bad setting is one line; against the fakes it answers and stops cleanly."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from pathlib import Path

import pytest

from tests.conftest import API_KEY
from tests.fakes.completions import FakeCompletions, Reply
from tests.fakes.discord import FakeDiscord

ROOT = Path(__file__).resolve().parent.parent


def bot_env(tmp_path: Path, **values: str) -> dict[str, str]:
    """A clean environment for the bot process: nothing inherited that could configure it."""
    env = {"PATH": os.environ.get("PATH", ""), "PYTHONUNBUFFERED": "1", "HOME": str(tmp_path)}
    env.update(values)
    return env


def fakes_env(
    tmp_path: Path, discord_fake: FakeDiscord, model: FakeCompletions, **values: str
) -> dict[str, str]:
    """The bot process's environment pointing at the fakes, with a database under `tmp_path`/state."""
    settings = {
        "DISCORD_TOKEN": discord_fake.token,
        "EVOLINK_API_KEY": model.api_key,
        "EVOLINK_BASE_URL": model.base_url,
        "DATABASE_URL": f"sqlite:///{tmp_path}/state/bot.db",  # absolute: relative ones are from bot.py
        **discord_fake.env(),
    }
    return bot_env(tmp_path, **{**settings, **values})


async def run_bot(tmp_path: Path, env: dict[str, str], *arguments: str) -> asyncio.subprocess.Process:
    return await asyncio.create_subprocess_exec(
        sys.executable, str(ROOT / "bot.py"), *arguments, cwd=tmp_path, env=env,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip


@pytest.mark.parametrize("missing", ["DISCORD_TOKEN", "EVOLINK_API_KEY"])
async def test_a_missing_setting_stops_start_up_with_one_line(tmp_path: Path, missing: str) -> None:
    env = bot_env(tmp_path, DISCORD_TOKEN="x", EVOLINK_API_KEY="y")
    del env[missing]
    process = await run_bot(tmp_path, env)
    _, stderr = await asyncio.wait_for(process.communicate(), timeout=30)
    assert process.returncode == 2
    lines = stderr.decode().strip().splitlines()
    assert len(lines) == 1, stderr.decode()
    assert missing in lines[0] and "Traceback" not in lines[0]


@pytest.mark.parametrize("portal_intent", [True, False], ids=["intent-on", "intent-off-in-portal"])
async def test_the_process_answers_a_mention_and_exits_cleanly_on_sigterm(
    tmp_path: Path, portal_intent: bool
) -> None:
    discord_fake = FakeDiscord(message_content_enabled=portal_intent, rate_limits=True)
    model = FakeCompletions(api_key=API_KEY)
    await discord_fake.start()
    await model.start()
    guild = discord_fake.add_guild("Process Server")
    channel = discord_fake.add_text_channel(guild, "general")
    alice = discord_fake.add_member(guild, "alice")
    env = fakes_env(
        tmp_path, discord_fake, model, DEV_GUILD_ID=str(guild.id), STREAM="false",
        DISCORD_REQUESTS_PER_SECOND="22",  # one of two processes sharing the bot's token
    )  # fmt: skip
    process = await run_bot(tmp_path, env)
    try:
        # With the intent off in the portal, the first IDENTIFY is refused (4014) and the bot
        # identifies again without it.
        await discord_fake.wait_for(
            lambda: len(discord_fake.identify_payloads) == (1 if portal_intent else 2), 30
        )
        model.enqueue(Reply(text="Hello from a process."))
        # The bot has parsed READY and GUILD_CREATE once it answers a heartbeat sent after them.
        await discord_fake.caught_up(timeout=30)
        asked = await discord_fake.user_says(channel, alice, f"<@{discord_fake.bot_user.id}> hi")
        await discord_fake.wait_for(lambda: len(discord_fake.bot_messages(channel)) == 1, timeout=30)
        [answer] = discord_fake.bot_messages(channel)
        assert answer["content"] == "Hello from a process."
        assert answer["message_reference"]["message_id"] == asked["id"]
        process.send_signal(signal.SIGTERM)
        stdout, stderr = await asyncio.wait_for(process.communicate(), timeout=30)
        assert process.returncode == 0, stderr.decode()[-2000:]
        log = stdout.decode() + stderr.decode()
        assert "Traceback" not in log
        assert API_KEY not in log and discord_fake.token not in log
        assert ("Message Content intent is off" in log) is not portal_intent
        assert f"model gpt-5.2 at {model.base_url}, database {tmp_path}/state/bot.db" in log
        assert "PyNaCl" not in log and "davey" not in log  # the bot has no voice
        assert "Discord requests: at most 22 per second from this process" in log
        assert (tmp_path / "state" / "bot.db").exists()
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
        await model.close()
        await discord_fake.close()


@pytest.mark.parametrize("key", [API_KEY, "sk-wrong-key-for-the-check"], ids=["good-setup", "wrong-key"])
async def test_check_prints_the_checklist_and_exits_non_zero_on_a_failure(tmp_path: Path, key: str) -> None:
    discord_fake = FakeDiscord()
    model = FakeCompletions(api_key=API_KEY)
    await discord_fake.start()
    await model.start()
    discord_fake.add_guild("Process Server")
    env = fakes_env(tmp_path, discord_fake, model, EVOLINK_API_KEY=key)
    try:
        process = await run_bot(tmp_path, env, "--check")
        stdout, stderr = await asyncio.wait_for(process.communicate(), timeout=30)
    finally:
        await model.close()
        await discord_fake.close()
    output = stdout.decode() + stderr.decode()
    assert process.returncode == (0 if key == API_KEY else 1), output
    assert "Traceback" not in output
    assert "✓ Discord token" in output and "✓ Servers" in output
    assert ("✗ EvoLink API key" in output) is (key != API_KEY)
    for secret in (key, discord_fake.token):  # nor six characters of one in a row (the fake echoes the key)
        assert not [secret[i : i + 6] for i in range(len(secret) - 5) if secret[i : i + 6] in output]
    assert (tmp_path / "state" / "bot.db").exists()  # opened and migrated
    assert discord_fake.identify_payloads == []  # a check never goes online
