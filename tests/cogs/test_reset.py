"""/reset, end to end: moderators anywhere, starters in their own thread, nobody else."""

from __future__ import annotations

import asyncio

import pytest

from cogs.reset import REFUSAL
from tests.conftest import Harness
from tests.fakes.completions import Reply
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


@pytest.mark.parametrize("stream", [False, True], ids=["whole", "streamed"])
async def test_a_reset_during_an_answer_forgets_it_and_the_questions_waiting(
    harness: Harness, stream: bool
) -> None:
    await harness.stop_bot()
    await harness.start_bot(stream=stream)
    moderator = harness.discord.add_member(
        harness.guild, "mod", permissions=DEFAULT_MEMBER_PERMISSIONS | MANAGE_MESSAGES
    )
    release = asyncio.Event()
    harness.model.enqueue(Reply(text="The secret is 7.", release=release))
    being_written = await harness.ask("the secret is 7, remember it")
    waiting = await harness.ask("and also 8")  # same member: waits for its turn behind the first
    await harness.model.wait_requests(1)
    assert "forgot 0 messages" in await reset(harness, harness.channel, moderator)
    release.set()
    await harness.replies_to(being_written, count=2)
    await harness.replies_to(waiting)
    assert await harness.stored_turns() == 0
    fresh = await harness.ask("what is the secret?")
    await harness.replies_to(fresh)
    sent = [m["content"] for m in harness.model.requests[-1].messages]
    assert sent[1:] == ["alice: what is the secret?"]


async def test_a_reset_forgets_nothing_asked_after_it(harness: Harness) -> None:
    moderator = harness.discord.add_member(
        harness.guild, "mod", permissions=DEFAULT_MEMBER_PERMISSIONS | MANAGE_MESSAGES
    )
    await reset(harness, harness.channel, moderator)
    asked = await harness.ask("remember this")
    await harness.replies_to(asked)
    assert await harness.stored_turns() == 2
