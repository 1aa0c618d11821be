"""The fake gateway shards as Discord does: GET /gateway/bot, IDENTIFY's shard, events routed by server."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest

from tests.fakes.discord import FakeDiscord
from tests.fakes.discord_gateway import OP_HELLO, OP_IDENTIFY, shard_of
from tests.fakes.discord_world import (
    INTENT_DIRECT_MESSAGES,
    INTENT_GUILD_MESSAGES,
    INTENT_GUILDS,
    INTENT_MESSAGE_CONTENT,
)


@pytest.fixture
async def fake() -> AsyncIterator[FakeDiscord]:
    discord_fake = FakeDiscord()
    await discord_fake.start()
    yield discord_fake
    await discord_fake.close()


async def identify(
    session: aiohttp.ClientSession, fake: FakeDiscord, shard: list[int]
) -> aiohttp.ClientWebSocketResponse:
    """Connect and IDENTIFY as `shard` with every intent; return the socket after HELLO."""
    ws = await session.ws_connect(fake.gateway_url)
    hello = json.loads((await ws.receive()).data)
    assert hello["op"] == OP_HELLO
    payload = {
        "token": fake.token,
        "intents": INTENT_GUILDS | INTENT_GUILD_MESSAGES | INTENT_DIRECT_MESSAGES | INTENT_MESSAGE_CONTENT,
        "shard": shard,
        "properties": {},
    }
    await ws.send_str(json.dumps({"op": OP_IDENTIFY, "d": payload}))
    return ws


async def dispatches(ws: aiohttp.ClientWebSocketResponse, count: int) -> list[tuple[str, dict[str, Any]]]:
    """Read `count` dispatches as (event name, data)."""
    frames = [json.loads((await ws.receive(timeout=5)).data) for _ in range(count)]
    return [(frame["t"], frame["d"]) for frame in frames]


async def test_gateway_bot_recommends_a_shard_count_and_the_gateway(fake: FakeDiscord) -> None:
    fake.gateway.recommended_shards = 3
    async with aiohttp.ClientSession() as session:
        headers = {"Authorization": f"Bot {fake.token}"}
        async with session.get(f"{fake.api_base}/gateway/bot", headers=headers) as response:
            body = await response.json()
    assert body["shards"] == 3 and body["url"] == fake.gateway_url
    assert body["session_start_limit"]["max_concurrency"] == 1


async def test_a_shard_gets_only_its_servers_and_direct_messages_go_to_shard_zero(fake: FakeDiscord) -> None:
    zero, one = fake.add_guild("Zero", shard=(0, 2)), fake.add_guild("One", shard=(1, 2))
    assert (shard_of(zero.id, 2), shard_of(one.id, 2)) == (0, 1)
    here, there = fake.add_text_channel(zero), fake.add_text_channel(one)
    alice, bob = fake.add_member(zero, "alice"), fake.add_member(one, "bob")
    await fake.flush()
    async with aiohttp.ClientSession() as session:
        first, second = await identify(session, fake, [0, 2]), await identify(session, fake, [1, 2])
        (ready, data), (created, guild) = await dispatches(first, 2)
        assert (ready, [g["id"] for g in data["guilds"]], data["shard"]) == ("READY", [str(zero.id)], [0, 2])
        assert (created, guild["id"]) == ("GUILD_CREATE", str(zero.id))
        (_, data), (_, guild) = await dispatches(second, 2)
        assert [g["id"] for g in data["guilds"]] == [str(one.id)] and guild["id"] == str(one.id)

        await fake.user_says(there, bob, "for shard one")
        await fake.user_says(here, alice, "for shard zero")
        await fake.user_says(fake.dm_channel(bob), bob, "a DM")
        [(event, message)] = await dispatches(second, 1)
        assert (event, message["content"]) == ("MESSAGE_CREATE", "for shard one")
        firsts = await dispatches(first, 2)
        assert [m["content"] for _, m in firsts] == ["for shard zero", "a DM"]
        await first.close()
        await second.close()


async def test_a_shard_outside_its_count_is_refused_with_4010(fake: FakeDiscord) -> None:
    async with aiohttp.ClientSession() as session:
        ws = await identify(session, fake, [2, 2])
        closed = await ws.receive(timeout=5)
        assert closed.type is aiohttp.WSMsgType.CLOSE and closed.data == 4010
