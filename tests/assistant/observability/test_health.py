"""/health: 200 when every shard is connected and the database answers, 503 otherwise."""

from __future__ import annotations

import asyncio

import pytest

from assistant.observability import probe
from tests.assistant.observability.scrape import get, samples, value
from tests.conftest import Harness
from tests.postgres import TestPostgres


async def test_a_ready_bot_is_healthy(harness: Harness) -> None:
    assert await get(harness, "/health") == (200, "gateway: connected\ndatabase: answers\n")


async def test_unhealthy_while_the_gateway_is_down_and_healthy_once_back(harness: Harness) -> None:
    gateway = harness.discord.gateway
    gateway.refusing = True
    await gateway.close_all(4000)
    await harness.discord.wait_for(lambda: gateway.refused >= 1)  # the bot tried again, and failed
    status, body = await get(harness, "/health")
    assert (status, body.splitlines()[0]) == (503, "gateway: not connected")
    assert value(await samples(harness), "assistant_shards_connected") == 0
    gateway.refusing = False
    # discord.py waits up to 2 s (its backoff) before trying again.
    await harness.discord.wait_for(lambda: bool(gateway.live_sessions()), timeout=10)
    await harness.discord.caught_up()
    assert (await get(harness, "/health"))[0] == 200


async def test_unhealthy_once_the_database_is_closed(harness: Harness) -> None:
    assert harness.bot is not None
    await harness.bot.storage.close()
    status, body = await get(harness, "/health")
    assert (status, body.splitlines()[1]) == (503, "database: does not answer")


async def test_the_container_probe_follows_health(harness: Harness, monkeypatch: pytest.MonkeyPatch) -> None:
    assert harness.bot is not None and harness.bot.metrics is not None
    monkeypatch.setattr(probe, "load_dotenv", lambda: None)  # a developer's own .env stays out of it
    monkeypatch.setenv("DISCORD_TOKEN", "token")
    monkeypatch.setenv("EVOLINK_API_KEY", "key")
    monkeypatch.setenv("METRICS_ADDRESS", f"0.0.0.0:{harness.bot.metrics.port}")
    assert await asyncio.to_thread(probe.main) == 0
    await harness.bot.storage.close()
    assert await asyncio.to_thread(probe.main) == 1


def test_the_probe_passes_when_metrics_are_off(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(probe, "load_dotenv", lambda: None)  # a developer's own .env stays out of it
    monkeypatch.setenv("DISCORD_TOKEN", "token")
    monkeypatch.setenv("EVOLINK_API_KEY", "key")
    monkeypatch.delenv("METRICS_ADDRESS", raising=False)
    assert probe.main() == 0
    assert probe.health_url("::", 9464) == "http://[::1]:9464/health"


async def test_unhealthy_while_postgresql_is_down(harness: Harness, postgres: TestPostgres) -> None:
    await harness.stop_bot()
    await harness.start_bot(postgres_url=await postgres.new_database())
    assert (await get(harness, "/health"))[0] == 200
    postgres.pause()
    try:
        status, body = await get(harness, "/health")
        assert (status, body.splitlines()[1]) == (503, "database: does not answer")
    finally:
        postgres.resume()
