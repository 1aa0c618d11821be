"""Direct messages, end to end: a hint by default; with ALLOW_DMS, answered with their own history."""

from __future__ import annotations

from typing import Any

from cogs.mentions import DIRECT_MESSAGE_HINT
from tests.conftest import Harness
from tests.fakes.completions import Reply
from tests.fakes.discord import FakeChannel, FakeInteraction, FakeUser


def usage(total: int) -> dict[str, Any]:
    return {"prompt_tokens": total - 10, "completion_tokens": 10, "total_tokens": total}


async def dm(harness: Harness, author: FakeUser, text: str) -> tuple[FakeChannel, str]:
    """Have `author` write to the bot in their DM and return the channel and the bot's reply."""
    channel = harness.discord.dm_channel(author)
    said = await harness.discord.user_says(channel, author, text)
    [reply] = await harness.replies_to(said, channel=channel)
    return channel, str(reply["content"])


async def command(harness: Harness, name: str, channel: FakeChannel, author: FakeUser) -> str:
    interaction: FakeInteraction = await harness.discord.slash(name, channel=channel, author=author)
    await harness.discord.wait_for(lambda: len(interaction.messages()) >= 1)
    assert interaction.ephemeral or channel.type == 1
    return str(interaction.messages()[0]["content"])


async def test_without_allow_dms_a_dm_gets_a_hint_and_no_model_call(harness: Harness) -> None:
    _, reply = await dm(harness, harness.alice, "hello there")
    assert reply == DIRECT_MESSAGE_HINT
    assert harness.model.requests == []


async def test_with_allow_dms_every_dm_is_answered_with_that_dms_history(harness: Harness) -> None:
    await harness.stop_bot()
    await harness.start_bot(allow_dms=True)
    harness.model.enqueue(Reply(text="Noted: 7."), Reply(text="It was 7."), Reply(text="Hi bob."))
    channel, first = await dm(harness, harness.alice, "remember 7")
    assert first == "Noted: 7."
    _, second = await dm(harness, harness.alice, "what was it?")
    assert second == "It was 7."
    assert [m["content"] for m in harness.model.requests[1].messages[1:]] == [
        "alice: remember 7",
        "Noted: 7.",
        "alice: what was it?",
    ]
    # Another member's DM is a conversation of its own.
    await dm(harness, harness.bob, "hi")
    assert [m["content"] for m in harness.model.requests[2].messages[1:]] == ["bob: hi"]
    assert await harness.stored_turns(channel) == 4


async def test_a_dm_is_charged_to_the_members_personal_budget(harness: Harness) -> None:
    await harness.stop_bot()
    await harness.start_bot(allow_dms=True, user_daily_tokens=1_000, dev_guild_id=None)
    harness.model.enqueue(Reply(text="Counted.", usage=usage(1_200)))
    channel, _ = await dm(harness, harness.alice, "count me")
    await harness.settled()
    shown = await command(harness, "usage", channel, harness.alice)
    assert "**Your personal budget (DMs and apps):** 1,200 tokens of 1,000 · 1 request" in shown
    assert "This server" not in shown
    # Spent: the next DM is refused without a model call, naming the personal budget.
    _, refused = await dm(harness, harness.alice, "again")
    assert refused.startswith("You have used up your personal daily token budget: 1,200 of 1,000 tokens")
    assert len(harness.model.requests) == 1
    # The server's budgets are untouched by it, and /usage there shows the personal line too.
    in_server = await command(harness, "usage", harness.channel, harness.alice)
    assert "**This server:** 0 tokens" in in_server
    assert "**Your personal budget (DMs and apps):** 1,200 tokens of 1,000" in in_server


async def test_reset_works_in_a_dm(harness: Harness) -> None:
    await harness.stop_bot()
    await harness.start_bot(allow_dms=True, dev_guild_id=None)
    channel, _ = await dm(harness, harness.alice, "remember 7")
    assert await harness.stored_turns(channel) == 2
    assert "forgot 2 messages" in await command(harness, "reset", channel, harness.alice)
    assert await harness.stored_turns(channel) == 0
