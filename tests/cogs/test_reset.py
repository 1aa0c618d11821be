"""/reset, end to end: moderators anywhere, starters in their own thread, nobody else."""

from __future__ import annotations

from cogs.reset import REFUSAL
from tests.conftest import Harness
from tests.fakes.discord import DEFAULT_MEMBER_PERMISSIONS, MANAGE_MESSAGES, FakeChannel


async def chat_thread(harness: Harness) -> FakeChannel:
    await harness.discord.slash(
        "chat", {"prompt": "Remember 7"}, channel=harness.channel, author=harness.alice
    )
    await harness.discord.wait_for(lambda: bool(harness.discord.threads_of(harness.channel)))
    [thread] = harness.discord.threads_of(harness.channel)
    await harness.discord.wait_for(lambda: len(harness.discord.bot_messages(thread)) == 2)
    return thread


async def reset(harness: Harness, channel: FakeChannel, author: object) -> str:
    interaction = await harness.discord.slash("reset", channel=channel, author=author)  # type: ignore[arg-type]
    await harness.discord.wait_for(lambda: len(interaction.messages()) == 1)
    assert interaction.ephemeral
    return interaction.messages()[0]["content"]


async def test_the_starter_resets_their_thread_and_the_next_question_starts_afresh(harness: Harness) -> None:
    thread = await chat_thread(harness)
    await harness.settled()
    assert "forgot 2 messages" in await reset(harness, thread, harness.alice)
    follow_up = await harness.discord.user_says(thread, harness.alice, "What number?")
    await harness.replies_to(follow_up, channel=thread)
    assert [m["role"] for m in harness.model.requests[-1].messages] == ["system", "user"]


async def test_a_moderator_resets_a_channel(harness: Harness) -> None:
    moderator = harness.discord.add_member(
        harness.guild, "mod", permissions=DEFAULT_MEMBER_PERMISSIONS | MANAGE_MESSAGES
    )
    asked = await harness.ask("remember this")
    await harness.replies_to(asked)
    assert await harness.stored_turns() == 2
    assert "forgot 2 messages" in await reset(harness, harness.channel, moderator)
    assert await harness.stored_turns() == 0


async def test_others_are_refused_and_nothing_is_deleted(harness: Harness) -> None:
    thread = await chat_thread(harness)
    asked = await harness.ask("remember this")
    await harness.replies_to(asked)
    assert await reset(harness, harness.channel, harness.alice) == REFUSAL
    assert await reset(harness, thread, harness.bob) == REFUSAL
    assert await harness.stored_turns() == 2
    assert await harness.stored_turns(thread) == 2
