"""Answer modes end to end: mention, thread, always and off, inherited by threads and forum posts."""

from __future__ import annotations

from assistant.policy import OFF_REFUSAL
from assistant.settings import DEFAULT_SYSTEM_PROMPT
from cogs.config import NEEDS_INTENT
from tests.cogs.config_helpers import config, slash_reply
from tests.conftest import Harness
from tests.fakes.completions import Reply, echo_reply
from tests.fakes.discord import CREATE_PUBLIC_THREADS, FakeChannel

SUPPORT = "You are the help desk of Acme."


def texts(harness: Harness, channel: FakeChannel) -> list[str]:
    return [str(m["content"]) for m in harness.discord.bot_messages(channel)]


async def barrier(harness: Harness) -> None:
    """Ask in #general and wait for the answer: every message sent before it has been handled."""
    asked = await harness.ask("barrier")
    await harness.replies_to(asked)


def database_changes(harness: Harness) -> int:
    """Return how many rows the bot's database connection has changed so far."""
    assert harness.bot is not None
    return int(harness.bot.storage.connection._connection.total_changes)  # type: ignore[attr-defined]


async def test_always_mode_answers_every_member_message_without_a_mention(harness: Harness) -> None:
    harness.model.default = echo_reply
    help_desk = harness.discord.add_text_channel(harness.guild, "help")
    await config(harness, "channel", mode="always", channel=help_desk)
    asked = await harness.discord.user_says(help_desk, harness.alice, "my printer is on fire")
    [answer] = await harness.replies_to(asked, channel=help_desk)
    assert answer["content"] == "Echo: alice: my printer is on fire"
    assert answer["message_reference"]["message_id"] == asked["id"]
    # One conversation per member, as with mentions: bob's question carries alice's exchange as history.
    second = await harness.discord.user_says(help_desk, harness.bob, "mine too")
    await harness.replies_to(second, channel=help_desk)
    assert [m["content"] for m in harness.model.requests[-1].messages[1:]] == [
        "alice: my printer is on fire",
        "Echo: alice: my printer is on fire",
        "bob: mine too",
    ]


async def test_unanswered_messages_cost_no_model_call_and_no_database_write(harness: Harness) -> None:
    announcements = harness.discord.add_text_channel(harness.guild, "announcements")
    await config(harness, "channel", mode="off", channel=announcements)
    await barrier(harness)
    await harness.settled()
    requests, changes = len(harness.model.requests), database_changes(harness)
    await harness.discord.user_says(harness.channel, harness.alice, "just chatting in a mention channel")
    await harness.ask("are you there?", channel=announcements)
    await harness.discord.user_says(announcements, harness.bob, "release notes are out")
    await harness.settled()
    assert (len(harness.model.requests), database_changes(harness)) == (requests, changes)
    await barrier(harness)
    assert texts(harness, announcements) == []


async def test_off_mode_ignores_mentions_and_refuses_ask_chat_and_summarize_in_one_line(
    harness: Harness,
) -> None:
    announcements = harness.discord.add_text_channel(harness.guild, "announcements")
    reply = await config(harness, "channel", mode="off", channel=announcements)
    assert (
        reply
        == f"<#{announcements.id}> is now in **off** mode: I ignore mentions there and refuse /ask, /chat "
        "and /summarize."
    )
    await harness.ask("hello?", channel=announcements)
    for name, options in (
        ("ask", {"question": "hello?"}),
        ("chat", {"prompt": "let's talk"}),
        ("summarize", {}),
    ):
        refused = await slash_reply(harness, name, harness.alice, announcements, **options)
        assert refused.ephemeral and [m["content"] for m in refused.messages()] == [OFF_REFUSAL]
    await barrier(harness)
    assert texts(harness, announcements) == []
    assert harness.discord.threads_of(announcements) == []
    assert len(harness.model.requests) == 1  # the barrier's


async def test_thread_mode_opens_a_thread_from_the_mention_and_keeps_it_across_restarts(
    harness: Harness,
) -> None:
    harness.model.enqueue(Reply(text="Python is a language."), Reply(text="In 1991."))
    ai = harness.discord.add_text_channel(harness.guild, "ai")
    await config(harness, "channel", mode="thread", channel=ai)
    await harness.discord.user_says(ai, harness.alice, "no mention, no answer")
    asked = await harness.ask("what is Python?", channel=ai)
    await harness.discord.wait_for(lambda: bool(harness.discord.threads_of(ai)))
    [thread] = harness.discord.threads_of(ai)
    assert thread.id == int(asked["id"])  # started from the member's message, as Discord does
    assert thread.name == "what is Python?" and thread.type == 11
    await harness.discord.wait_for(lambda: texts(harness, thread) == ["Python is a language."])
    assert texts(harness, ai) == []
    await harness.stop_bot()
    await harness.start_bot()
    follow_up = await harness.discord.user_says(thread, harness.bob, "when was it released?")
    [answer] = await harness.replies_to(follow_up, channel=thread)
    assert answer["content"] == "In 1991."
    assert [m["content"] for m in harness.model.requests[-1].messages[1:]] == [
        "alice: what is Python?",
        "Python is a language.",
        "bob: when was it released?",
    ]


async def test_threads_and_forum_posts_follow_their_parents_mode_and_persona(harness: Harness) -> None:
    forum = harness.discord.server.add_forum(harness.guild, "help-forum")
    await config(harness, "channel", mode="always", channel=forum)
    await config(harness, "persona", text=SUPPORT, channel=forum)
    post, starter = await harness.discord.server.start_forum_post(
        forum, harness.alice, "Printer", "It's on fire"
    )
    [answer] = await harness.replies_to(starter, channel=post)
    sent = harness.model.requests[-1].messages
    assert sent[0]["content"] == f"{DEFAULT_SYSTEM_PROMPT}\n\n{SUPPORT}"
    assert sent[-1]["content"] == "alice: It's on fire"
    # The forum switched off: its posts fall silent too.
    await config(harness, "channel", mode="off", channel=forum)
    await harness.discord.user_says(post, harness.alice, "hello?")
    await barrier(harness)
    assert texts(harness, post) == [answer["content"]]


async def test_a_chat_thread_uses_its_channels_persona_and_answers_even_when_the_channel_is_off(
    harness: Harness,
) -> None:
    await config(harness, "persona", text=SUPPORT, channel=harness.channel)
    await harness.discord.slash("chat", {"prompt": "hi"}, channel=harness.channel, author=harness.alice)
    await harness.discord.wait_for(lambda: bool(harness.discord.threads_of(harness.channel)))
    [thread] = harness.discord.threads_of(harness.channel)
    await harness.discord.wait_for(lambda: len(texts(harness, thread)) == 2)
    assert harness.model.requests[-1].messages[0]["content"] == f"{DEFAULT_SYSTEM_PROMPT}\n\n{SUPPORT}"
    await config(harness, "channel", mode="off", channel=harness.channel)
    follow_up = await harness.discord.user_says(thread, harness.bob, "still there?")
    await harness.replies_to(follow_up, channel=thread)


async def test_always_mode_needs_the_message_content_intent_and_keeps_the_old_mode(harness: Harness) -> None:
    await harness.stop_bot()
    await harness.start_bot(message_content=False)
    await config(harness, "channel", mode="off")
    reply = await config(harness, "channel", mode="always")
    assert reply == NEEDS_INTENT.format(channel=f"<#{harness.channel.id}>", mode="off")
    assert harness.bot is not None
    await harness.stop_bot()
    await harness.start_bot()
    show = await config(harness, "show")
    assert f"**This channel** (<#{harness.channel.id}>) **off** mode" in show


async def test_modes_and_personas_survive_a_restart(harness: Harness) -> None:
    help_desk = harness.discord.add_text_channel(harness.guild, "help")
    await config(harness, "channel", mode="always", channel=help_desk)
    await config(harness, "persona", text=SUPPORT, channel=help_desk)
    await config(harness, "reasoning", effort="high")
    await harness.stop_bot()
    await harness.start_bot()
    asked = await harness.discord.user_says(help_desk, harness.alice, "hello")
    await harness.replies_to(asked, channel=help_desk)
    request = harness.model.requests[-1].json
    assert request["messages"][0]["content"] == f"{DEFAULT_SYSTEM_PROMPT}\n\n{SUPPORT}"
    assert request["reasoning_effort"] == "high"


async def test_a_reset_leaves_the_settings_alone(harness: Harness) -> None:
    await config(harness, "persona", text=SUPPORT)
    await harness.discord.slash("reset", {}, channel=harness.channel, author=harness.admin)
    await barrier(harness)
    assert harness.model.requests[-1].messages[0]["content"] == f"{DEFAULT_SYSTEM_PROMPT}\n\n{SUPPORT}"


async def test_thread_mode_without_create_public_threads_says_what_is_missing(harness: Harness) -> None:
    ai = harness.discord.add_text_channel(harness.guild, "ai", bot_deny=CREATE_PUBLIC_THREADS)
    await config(harness, "channel", mode="thread", channel=ai)
    asked = await harness.ask("what is Python?", channel=ai)
    [reply] = await harness.replies_to(asked, channel=ai)
    assert reply["content"] == (
        "I can't open a thread here: I'm missing the **Create Public Threads** permission in this channel."
    )
    assert harness.discord.threads_of(ai) == [] and harness.model.requests == []
