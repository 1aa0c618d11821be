"""Fault tests run the harness's bot with a fast retry policy, streaming or not as each test asks.

The completions client's real backoff sleeps 1 s then 2 s; what these tests prove is which failures
are retried and how often, so the delays shrink to milliseconds. A test parametrizes `stream` to run
on both delivery paths; without it, answers are posted whole.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterator
from typing import Any

import discord
import pytest

from assistant.model.completions import RetryPolicy
from tests.faults.checks import BotWarnings

FAST_RETRY = RetryPolicy(attempts=3, base_delay_seconds=0.01, max_delay_seconds=30.0)
# discord.py sleeps 1 + 2n s between its own retries of a Discord 5xx; the tests need not.
DISCORD_RETRY_SLEEP_CAP_SECONDS = 0.01
STREAM_MODES = pytest.mark.parametrize("stream", [False, True], ids=["whole", "streamed"])
STREAMED_ONLY = pytest.mark.parametrize("stream", [True], ids=["streamed"])


@pytest.fixture
def retry_policy() -> RetryPolicy:
    """Retry as the real policy does, without its seconds of backoff."""
    return FAST_RETRY


class _FastSleepAsyncio:
    """The asyncio module as discord.http sees it, with its retry sleeps capped."""

    def __getattr__(self, name: str) -> Any:
        return getattr(asyncio, name)

    @staticmethod
    async def sleep(delay: float, result: Any = None) -> Any:
        return await asyncio.sleep(min(delay, DISCORD_RETRY_SLEEP_CAP_SECONDS), result)


@pytest.fixture
def fast_discord_retries(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Cap the sleeps of discord.py's HTTP client (5xx backoff, 429 retry_after) for one test."""
    monkeypatch.setattr(discord.http, "asyncio", _FastSleepAsyncio())
    yield


@pytest.fixture
def bot_warnings() -> Iterator[BotWarnings]:
    """Collect the bot's own warnings and errors during one test."""
    handler = BotWarnings()
    logging.getLogger().addHandler(handler)
    yield handler
    logging.getLogger().removeHandler(handler)
