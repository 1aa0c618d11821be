"""The fake Discord rate limits as Discord does: global and per-route 429s, their headers, exemptions."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import aiohttp
import pytest

from tests.fakes.discord import FakeChannel, FakeDiscord
from tests.fakes.discord_limits import GLOBAL_REQUESTS_PER_SECOND, ROUTE_REQUESTS

Limited = tuple[FakeDiscord, FakeChannel, aiohttp.ClientSession]


@pytest.fixture
async def limited() -> AsyncIterator[Limited]:
    fake = FakeDiscord(rate_limits=True)
    await fake.start()
    guild = fake.add_guild("Limits")
    channel = fake.add_text_channel(guild, "general")
    async with aiohttp.ClientSession(headers={"Authorization": f"Bot {fake.token}"}) as session:
        yield fake, channel, session
    await fake.close()


async def post_message(
    fake: FakeDiscord, session: aiohttp.ClientSession, channel_id: int
) -> aiohttp.ClientResponse:
    url = f"{fake.api_base}/channels/{channel_id}/messages"
    async with session.post(url, json={"content": "hi"}) as response:
        await response.read()
        return response


async def test_the_51st_request_in_a_second_gets_a_global_429_discord_py_can_read(limited: Limited) -> None:
    fake, channel, session = limited
    fake.rate_limits.spend(GLOBAL_REQUESTS_PER_SECOND - 1, now=asyncio.get_running_loop().time())
    fake.rate_limits.spent_elsewhere = 0  # these stand for the test's own requests
    assert (await post_message(fake, session, channel.id)).status == 200
    url = f"{fake.api_base}/channels/{channel.id}/messages"
    async with session.post(url, json={"content": "one too many"}) as response:
        body = await response.json()
        assert response.status == 429
        assert body["global"] is True and 0 < body["retry_after"] <= 1.0
        assert response.headers["Via"]  # without it discord.py takes the 429 for a Cloudflare ban
        assert response.headers["X-RateLimit-Global"] == "true"
        assert response.headers["X-RateLimit-Scope"] == "global"
        assert int(response.headers["Retry-After"]) >= 1
    assert fake.rate_limits.global_429s == 1
    assert fake.rate_limits.invalid_requests == 1
    assert len(fake.bot_messages(channel)) == 1


async def test_interaction_callbacks_and_webhooks_are_exempt_from_the_global_limit(limited: Limited) -> None:
    fake, _, session = limited
    fake.rate_limits.spend(GLOBAL_REQUESTS_PER_SECOND, now=asyncio.get_running_loop().time())
    async with session.post(f"{fake.api_base}/interactions/1/token/callback", json={"type": 5}) as response:
        assert response.status != 429
    async with session.post(f"{fake.api_base}/webhooks/1/token", json={"content": "x"}) as response:
        assert response.status != 429
    assert fake.rate_limits.global_429s == 0


async def test_a_channel_takes_five_messages_per_window_with_the_headers_that_say_so(
    limited: Limited,
) -> None:
    fake, channel, session = limited
    other = fake.add_text_channel(fake.world.guilds[channel.guild_id], "other")
    remaining = []
    for _ in range(ROUTE_REQUESTS):
        response = await post_message(fake, session, channel.id)
        assert response.status == 200
        remaining.append(int(response.headers["X-RateLimit-Remaining"]))
        assert response.headers["X-RateLimit-Limit"] == str(ROUTE_REQUESTS)
        assert 0 < float(response.headers["X-RateLimit-Reset-After"]) <= 5.0
        assert response.headers["X-RateLimit-Bucket"]
    assert remaining == [4, 3, 2, 1, 0]
    url = f"{fake.api_base}/channels/{channel.id}/messages"
    async with session.post(url, json={"content": "sixth"}) as response:
        body = await response.json()
        assert response.status == 429 and body["global"] is False
        assert response.headers["X-RateLimit-Scope"] == "user" and response.headers["Via"]
    assert (await post_message(fake, session, other.id)).status == 200  # its own bucket
    assert (fake.rate_limits.route_429s, fake.rate_limits.global_429s) == (1, 0)


async def test_unauthorized_requests_count_as_invalid(limited: Limited) -> None:
    fake, _, _ = limited
    async with aiohttp.ClientSession() as anonymous, anonymous.get(f"{fake.api_base}/users/@me") as response:
        assert response.status == 401
    assert fake.rate_limits.invalid_requests == 1


async def test_switched_off_nothing_is_limited() -> None:
    fake = FakeDiscord()
    await fake.start()
    channel = fake.add_text_channel(fake.add_guild("Free"), "general")
    async with aiohttp.ClientSession(headers={"Authorization": f"Bot {fake.token}"}) as session:
        statuses = [(await post_message(fake, session, channel.id)).status for _ in range(ROUTE_REQUESTS + 2)]
    await fake.close()
    assert statuses == [200] * (ROUTE_REQUESTS + 2)
