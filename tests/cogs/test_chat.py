"""/chat, end to end: a thread of the member's own, answered without mentions, across restarts."""

from __future__ import annotations

import asyncio
import logging

import pytest

from cogs.chat import MISSING_INTENT_WARNING
from storage.sqlite.backend import open_sqlite
from tests.conftest import Harness
from tests.fakes.completions import Reply
from tests.fakes.discord import (
    CREATE_PUBLIC_THREADS,
    PUBLIC_THREAD,
    SEND_MESSAGES_IN_THREADS,
    FakeChannel,
    FakeInteraction,
)
from tests.fakes.discord_payloads import channel_payload


async def open_chat(harness: Harness, prompt: str, **where: object) -> tuple[FakeInteraction, FakeChannel]:
    """Run /chat as alice and return the interaction and the thread it opened."""
    channel = where.get("channel", harness.channel)
    interaction = await harness.discord.slash(
        "chat", {"prompt": prompt}, channel=channel, author=harness.alice
    )
    await harness.discord.wait_for(lambda: bool(harness.discord.threads_of(channel)))
    [thread] = harness.discord.threads_of(channel)
    return interaction, thread


def texts(harness: Harness, thread: FakeChannel) -> list[str]:
    return [m["content"] for m in harness.discord.bot_messages(thread)]


async def test_chat_opens_a_named_thread_and_answers_there(harness: Harness) -> None:
    harness.model.enqueue(Reply(text="Let's plan it: first, pick a date."))
    prompt = "Help me plan a birthday party for my sister who loves astronomy and board games, on a budget"
    interaction, thread = await open_chat(harness, prompt)
    await harness.discord.wait_for(lambda: len(texts(harness, thread)) == 2)
    assert thread.type == 11 and thread.parent_id == harness.channel.id
    assert (
        thread.name
        == "Help me plan a birthday party for my sister who loves astronomy and board games, on a budget"
    )
    assert thread.auto_archive_duration == 1440
    assert harness.alice.id in thread.member_ids
    opening, answer = texts(harness, thread)
    assert opening.startswith("**alice** asked:\n> Help me plan")
    assert answer == "Let's plan it: first, pick a date."
    assert interaction.callbacks[0]["type"] == 5
    [pointer] = interaction.messages()
    assert f"<#{thread.id}>" in pointer["content"]
    assert harness.model.requests[0].messages[-1] == {"role": "user", "content": f"alice: {prompt}"}


async def test_a_long_prompt_names_the_thread_within_100_characters_at_a_word(harness: Harness) -> None:
    _, thread = await open_chat(harness, "word " * 60)
    assert 1 <= len(thread.name) <= 100
    assert thread.name.endswith("word…")


async def test_follow_ups_need_no_mention_and_carry_the_threads_history(harness: Harness) -> None:
    harness.model.enqueue(Reply(text="Python is a language."), Reply(text="It was first released in 1991."))
    _, thread = await open_chat(harness, "What is Python?")
    await harness.discord.wait_for(lambda: len(texts(harness, thread)) == 2)
    follow_up = await harness.discord.user_says(thread, harness.bob, "When was it released?")
    [answer] = await harness.replies_to(follow_up, channel=thread)
    assert answer["content"] == "It was first released in 1991."
    assert harness.model.requests[1].messages[1:] == [
        {"role": "user", "content": "alice: What is Python?"},
        {"role": "assistant", "content": "Python is a language."},
        {"role": "user", "content": "bob: When was it released?"},
    ]


async def test_a_mention_inside_the_thread_is_answered_once(harness: Harness) -> None:
    _, thread = await open_chat(harness, "hello")
    await harness.discord.wait_for(lambda: len(texts(harness, thread)) == 2)
    asked = await harness.ask("and now with a mention", channel=thread)
    await harness.replies_to(asked, channel=thread)
    await harness.settled()
    assert len(harness.model.requests) == 2
    assert len(texts(harness, thread)) == 3


async def test_other_channels_still_need_a_mention(harness: Harness) -> None:
    _, thread = await open_chat(harness, "hello")
    await harness.discord.wait_for(lambda: len(texts(harness, thread)) == 2)
    await harness.discord.user_says(harness.channel, harness.alice, "no mention here")
    await harness.settled()
    assert len(harness.model.requests) == 1


async def test_the_thread_stays_a_conversation_after_a_restart_even_archived(harness: Harness) -> None:
    harness.model.enqueue(Reply(text="Remembered."), Reply(text="Still here."), Reply(text="And again."))
    _, thread = await open_chat(harness, "Remember the number 7.")
    await harness.discord.wait_for(lambda: len(texts(harness, thread)) == 2)
    await harness.stop_bot()
    await harness.start_bot()
    follow_up = await harness.discord.user_says(thread, harness.alice, "What number?")
    [answer] = await harness.replies_to(follow_up, channel=thread)
    assert answer["content"] == "Still here."
    assert harness.model.requests[1].messages[1]["content"] == "alice: Remember the number 7."
    # Archived, it is no longer in GUILD_CREATE after a restart; writing in it unarchives it.
    await harness.discord.archive_thread(thread)
    await harness.stop_bot()
    await harness.start_bot()
    again = await harness.discord.user_says(thread, harness.bob, "Are you there?")
    [answer] = await harness.replies_to(again, channel=thread)
    assert answer["content"] == "And again."


async def test_several_members_in_one_thread_are_answered_in_order(harness: Harness) -> None:
    _, thread = await open_chat(harness, "Let's count.")
    await harness.discord.wait_for(lambda: len(texts(harness, thread)) == 2)
    release = asyncio.Event()
    harness.model.enqueue(Reply(text="one", release=release), Reply(text="two"), Reply(text="three"))
    first = await harness.discord.user_says(thread, harness.alice, "first")
    await harness.discord.user_says(thread, harness.bob, "second")
    await harness.discord.user_says(thread, harness.admin, "third")
    await harness.model.wait_requests(2)
    release.set()
    answers = await harness.replies_to(first, count=3, channel=thread)
    assert [a["content"] for a in answers] == ["one", "two", "three"]
    assert [m["content"] for m in harness.model.requests[3].messages[-5:]] == [
        "alice: first", "one", "bob: second", "two", "admin: third",
    ]  # fmt: skip


async def test_without_the_message_content_intent_follow_ups_are_not_answered_and_it_warns(
    harness: Harness, caplog: pytest.LogCaptureFixture
) -> None:
    _, thread = await open_chat(harness, "hello")
    await harness.discord.wait_for(lambda: len(texts(harness, thread)) == 2)
    await harness.stop_bot()
    await harness.start_bot(message_content=False)
    with caplog.at_level(logging.WARNING):
        await harness.discord.user_says(thread, harness.alice, "a follow-up without a mention")
        await harness.discord.user_says(thread, harness.alice, "another one")
        await harness.settled()
    assert len(harness.model.requests) == 1
    assert [r.getMessage() for r in caplog.records].count(MISSING_INTENT_WARNING) == 1
    assert "Message Content Intent" in MISSING_INTENT_WARNING
    # Mentions and slash commands still work.
    asked = await harness.ask("with a mention", channel=thread)
    await harness.replies_to(asked, channel=thread)
    interaction = await harness.discord.slash(
        "ask", {"question": "slash?"}, channel=harness.channel, author=harness.bob
    )
    await harness.discord.wait_for(lambda: len(interaction.messages()) == 1)
    assert len(harness.model.requests) == 3


async def test_chat_inside_a_thread_is_refused(harness: Harness) -> None:
    _, thread = await open_chat(harness, "hello")
    await harness.discord.wait_for(lambda: len(texts(harness, thread)) == 2)
    interaction = await harness.discord.slash(
        "chat", {"prompt": "nested"}, channel=thread, author=harness.bob
    )
    await harness.discord.wait_for(lambda: len(interaction.messages()) == 1)
    assert "already a conversation" in interaction.messages()[0]["content"]
    assert interaction.ephemeral
    assert len(harness.discord.threads_of(harness.channel)) == 1


@pytest.mark.parametrize(
    ("denied", "named"),
    [
        (CREATE_PUBLIC_THREADS, "Create Public Threads"),
        (SEND_MESSAGES_IN_THREADS, "Send Messages in Threads"),
    ],
)
async def test_chat_without_the_permissions_says_which_and_creates_nothing(
    harness: Harness, denied: int, named: str
) -> None:
    locked = harness.discord.add_text_channel(harness.guild, "locked", bot_deny=denied)
    interaction = await harness.discord.slash("chat", {"prompt": "hi"}, channel=locked, author=harness.alice)
    await harness.discord.wait_for(lambda: len(interaction.messages()) == 1)
    reply = interaction.messages()[0]["content"]
    assert named in reply
    assert interaction.ephemeral
    assert harness.discord.threads_of(locked) == []
    assert harness.model.requests == []


async def test_chat_in_a_direct_message_is_refused(harness: Harness) -> None:
    await harness.stop_bot()
    await harness.start_bot(dev_guild_id=None)  # global commands are what DMs offer
    dm = harness.discord.dm_channel(harness.alice)
    interaction = await harness.discord.slash("chat", {"prompt": "hi"}, channel=dm, author=harness.alice)
    await harness.discord.wait_for(lambda: len(interaction.messages()) == 1)
    assert "servers" in interaction.messages()[0]["content"]
    assert harness.model.requests == []


async def test_a_deleted_thread_is_forgotten(harness: Harness) -> None:
    _, thread = await open_chat(harness, "hello")
    await harness.discord.wait_for(lambda: len(texts(harness, thread)) == 2)
    assert await harness.stored_turns(thread) == 2
    await harness.discord.delete_channel(thread)
    await harness.settled()
    assert harness.bot is not None and harness.bot.threads.get(thread.id) is None
    assert await harness.stored_turns(thread) == 0


async def test_ask_inside_a_conversation_thread_joins_its_conversation(harness: Harness) -> None:
    _, thread = await open_chat(harness, "Remember the word 'teal'.")
    await harness.discord.wait_for(lambda: len(texts(harness, thread)) == 2)
    release = asyncio.Event()
    harness.model.enqueue(Reply(text="first", release=release), Reply(text="second"))
    await harness.discord.user_says(thread, harness.bob, "a follow-up")
    await harness.model.wait_requests(2)
    interaction = await harness.discord.slash(
        "ask", {"question": "which word?"}, channel=thread, author=harness.alice
    )
    await harness.discord.wait_for(lambda: bool(interaction.callbacks))  # deferred: its question is under way
    await harness.discord.caught_up()
    release.set()
    await harness.discord.wait_for(lambda: len(interaction.messages()) == 1)
    # Queued behind the thread's follow-up, so it saw that exchange.
    assert [m["content"] for m in harness.model.requests[2].messages[-3:]] == [
        "bob: a follow-up", "first", "alice: which word?",
    ]  # fmt: skip


async def test_a_thread_another_process_opened_is_answered_here_too(harness: Harness) -> None:
    """A deploy's overlapping session (or the shard's owner before a re-shard) opened it and recorded
    it in the shared database after this process loaded its threads."""
    world = harness.discord.world
    thread = world.add_channel(
        FakeChannel(
            world.next_id(), harness.guild.id, "opened elsewhere", PUBLIC_THREAD,
            parent_id=harness.channel.id, owner_id=harness.discord.bot_user.id,
        )
    )  # fmt: skip
    await harness.discord.gateway.dispatch_guild_event(
        "THREAD_CREATE", {**channel_payload(world, thread), "newly_created": True}
    )
    other_process = await open_sqlite(harness.settings.database_path)
    try:
        await other_process.threads.add(
            thread.id, guild_id=harness.guild.id, parent_id=harness.channel.id, starter_id=harness.alice.id
        )
    finally:
        await other_process.close()
    harness.model.enqueue(Reply(text="Answered by this process."))
    said = await harness.discord.user_says(thread, harness.alice, "no mention needed here")
    [answer] = await harness.replies_to(said, channel=thread)
    assert answer["content"] == "Answered by this process."
    assert len(harness.model.requests) == 1
    # A thread of someone else's is still not a conversation.
    their_thread = world.add_channel(
        FakeChannel(
            world.next_id(), harness.guild.id, "members only", PUBLIC_THREAD,
            parent_id=harness.channel.id, owner_id=harness.alice.id,
        )
    )  # fmt: skip
    await harness.discord.gateway.dispatch_guild_event(
        "THREAD_CREATE", {**channel_payload(world, their_thread), "newly_created": True}
    )
    await harness.discord.user_says(their_thread, harness.alice, "just chatting")
    await harness.settled()
    assert len(harness.model.requests) == 1
