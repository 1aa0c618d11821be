"""Fixtures for the completions client's tests: the fake service and clients whose sleeps are recorded."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from typing import Any

import aiohttp
import pytest

from assistant.model.completions import CompletionsClient
from tests.fakes.completions import FakeCompletions

COMPLETIONS_API_KEY = "sk-completions-test-0123456789abcdef"

MakeClient = Callable[..., CompletionsClient]


@pytest.fixture
async def fake() -> AsyncIterator[FakeCompletions]:
    """A fake completions service that accepts COMPLETIONS_API_KEY."""
    async with FakeCompletions(api_key=COMPLETIONS_API_KEY) as server:
        yield server


@pytest.fixture
def sleeps() -> list[float]:
    """The backoff delays the clients asked for, in order."""
    return []


@pytest.fixture
async def make_client(fake: FakeCompletions, sleeps: list[float]) -> AsyncIterator[MakeClient]:
    """Build clients on one session; their sleeps are recorded instead of waited."""

    async def record(seconds: float) -> None:
        sleeps.append(seconds)

    async with aiohttp.ClientSession() as session:

        def make(**overrides: Any) -> CompletionsClient:
            options: dict[str, Any] = {
                "base_url": fake.base_url,
                "api_key": COMPLETIONS_API_KEY,
                "model": "gpt-5.2",
                "sleep": record,
            }
            return CompletionsClient(session, **{**options, **overrides})

        yield make
