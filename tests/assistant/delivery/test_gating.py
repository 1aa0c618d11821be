"""discord.py through the request budget: counted routes take slots, none hangs after a global 429."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import discord
import pytest

from assistant.delivery import gating
from assistant.delivery.requests import Priority, RequestBudget, RequestDropped, priority
from tests.fakes.discord import FakeChannel, FakeDiscord
from tests.fakes.discord_limits import GLOBAL_REQUESTS_PER_SECOND

RETRY_AFTER_SECONDS = 0.2


@pytest.fixture
async def fake(monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[FakeDiscord]:
    discord_fake = FakeDiscord(rate_limits=True)
    await discord_fake.start()
    discord_fake.patch(monkeypatch)
    yield discord_fake
    await discord_fake.close()


async def logged_in(fake: FakeDiscord) -> discord.http.HTTPClient:
    http = discord.http.HTTPClient(asyncio.get_running_loop())
    await http.static_login(fake.token)
    return http


async def typing_cancelled_in_a_global_429(
    fake: FakeDiscord, http: discord.http.HTTPClient, channel: FakeChannel
) -> None:
    """Use up the global limit elsewhere, start a typing request, cancel it while it sleeps off the 429."""
    now = asyncio.get_running_loop().time()
    fake.rate_limits.spend(GLOBAL_REQUESTS_PER_SECOND, now=now - 1.0 + RETRY_AFTER_SECONDS)
    typing = asyncio.ensure_future(http.send_typing(channel.id))
    await fake.wait_for(lambda: fake.rate_limits.global_429s == 1)
    typing.cancel()
    await asyncio.gather(typing, return_exceptions=True)


async def test_discord_py_alone_hangs_for_ever_after_a_request_cancelled_in_a_global_429(
    fake: FakeDiscord,
) -> None:
    # The flaw the gate works around (discord.py 2.7.1); if this fails, discord.py fixed it.
    channel = fake.add_text_channel(fake.add_guild(), "general")
    http = await logged_in(fake)
    try:
        await typing_cancelled_in_a_global_429(fake, http, channel)
        later = asyncio.ensure_future(
            http.send_message(channel.id, params=discord.http.handle_message_parameters("hi"))
        )
        done, _ = await asyncio.wait({later}, timeout=RETRY_AFTER_SECONDS * 10)
        assert not done, "discord.py released its global lock: the workaround may no longer be needed"
        later.cancel()
    finally:
        await http.close()


async def test_through_the_gate_the_lock_is_released_and_later_requests_go(fake: FakeDiscord) -> None:
    channel = fake.add_text_channel(fake.add_guild(), "general")
    http = await logged_in(fake)
    gating.install(http, RequestBudget(45))
    try:
        await typing_cancelled_in_a_global_429(fake, http, channel)
        async with asyncio.timeout(5):
            await http.send_message(channel.id, params=discord.http.handle_message_parameters("hi"))
        assert [m["content"] for m in fake.bot_messages(channel)] == ["hi"]
        # The cancelled typing request still completed once the 429 was slept off.
        assert [r.status for r in fake.requests if r.path.endswith("/typing")] == [429, 204]
    finally:
        await http.close()


async def test_counted_requests_take_slots_and_exempt_ones_do_not(fake: FakeDiscord) -> None:
    channel = fake.add_text_channel(fake.add_guild(), "general")
    http = await logged_in(fake)
    budget = RequestBudget(4)
    gating.install(http, budget)
    try:
        await http.send_message(channel.id, params=discord.http.handle_message_parameters("one"))
        with priority(Priority.TYPING):
            await http.send_typing(channel.id)
            with pytest.raises(RequestDropped):  # typing may use half the budget at most
                await http.send_typing(channel.id)
        assert budget.used == 2
        assert (
            gating.counts(
                discord.http.Route(
                    "POST",
                    "/interactions/{interaction_id}/{interaction_token}/callback",
                    interaction_id=1,
                    interaction_token="t",
                )
            )
            is False
        )
        assert (
            gating.counts(
                discord.http.Route(
                    "POST", "/webhooks/{webhook_id}/{webhook_token}", webhook_id=1, webhook_token="t"
                )
            )
            is False
        )
        assert gating.route_key(
            discord.http.Route("POST", "/channels/{channel_id}/messages", channel_id=5)
        ) == ("POST /channels/{channel_id}/messages", 5)
    finally:
        await http.close()
