"""/summarize end to end: read from Discord, fitted, answered privately, budgets kept, nothing recorded."""

from __future__ import annotations

from typing import Any

import pytest

from assistant.errors import RateLimited
from assistant.settings import DEFAULT_SYSTEM_PROMPT
from assistant.summaries import SUMMARY_INSTRUCTION
from cogs.summarize import NO_MESSAGE_CONTENT, NO_READ_HISTORY, NOTHING_TO_SUMMARIZE
from tests.cogs.config_helpers import config
from tests.cogs.test_quota import MEMBER_SPENT, usage
from tests.conftest import Harness
from tests.fakes.completions import Reply
from tests.fakes.discord import READ_MESSAGE_HISTORY, FakeChannel, FakeInteraction, FakeUser
from tests.fakes.discord_messages import store_message


def seed(harness: Harness, lines: list[tuple[FakeUser, str]], channel: FakeChannel | None = None) -> None:
    """Put messages in a channel's history, oldest first, as if written before the test."""
    for author, text in lines:
        store_message(harness.discord.world, channel or harness.channel, author, {"content": text}, pinged=[])


async def summarize(harness: Harness, channel: FakeChannel | None = None, **options: Any) -> FakeInteraction:
    """Run /summarize as alice and wait for its first message."""
    interaction = await harness.discord.slash(
        "summarize", options, channel=channel or harness.channel, author=harness.alice
    )
    await harness.discord.wait_for(lambda: len(interaction.messages()) >= 1)
    return interaction


async def test_a_summary_reads_the_channel_oldest_first_and_answers_privately(harness: Harness) -> None:
    harness.model.enqueue(Reply(text="Earlier."), Reply(text="They agreed to ship on Friday."))
    asked = await harness.ask("remember this?")  # a recorded exchange: it is in the history store
    await harness.replies_to(asked)
    seed(
        harness,
        [
            (harness.alice, "Shall we ship on Friday?"),
            (harness.bob, "Yes, if the tests pass."),
            (harness.discord.bot_user, RateLimited.user_message),  # one of the bot's notices
        ],
    )
    interaction = await summarize(harness)
    assert interaction.ephemeral and interaction.callbacks[0]["type"] == 5
    [answer] = interaction.messages()
    assert answer["content"] == "They agreed to ship on Friday.\n\n-# Summary of the last 4 messages here."
    sent = harness.model.requests[1].messages
    assert sent == [
        {"role": "system", "content": DEFAULT_SYSTEM_PROMPT},
        {
            "role": "user",
            "content": f"alice: {SUMMARY_INSTRUCTION}\n\n"
            "alice: @FakeBot remember this?\n"
            "FakeBot: Earlier.\n"
            "alice: Shall we ship on Friday?\n"
            "bob: Yes, if the tests pass.",
        },
    ]
    assert await harness.stored_turns() == 2  # the summary was not recorded
    assert all("agreed" not in m["content"] for m in harness.discord.bot_messages(harness.channel))


async def test_a_public_summary_of_a_long_channel_says_what_it_covered(harness: Harness) -> None:
    await harness.stop_bot()
    await harness.start_bot(context_tokens=600)
    seed(harness, [(harness.bob, f"point {n}: " + "words " * 30) for n in range(150)])
    harness.model.enqueue(Reply(text="Many points."))
    interaction = await summarize(harness, count=200, private=False)
    assert not interaction.ephemeral
    [answer] = interaction.messages()
    assert answer in harness.discord.bot_messages(harness.channel)
    footer = answer["content"].split("\n\n-# ")[1]
    covered = int(footer.split()[4])
    assert 0 < covered < 150
    left_out = 150 - covered
    assert footer == (
        f"Summary of the last {covered} messages here; {left_out} older ones did not fit in `CONTEXT_TOKENS`."
    )
    [request] = harness.model.requests
    assert "bob: point 149: " in request.messages[1]["content"]
    assert f"bob: point {149 - covered}: " not in request.messages[1]["content"]
    pages = [r for r in harness.discord.requests if r.method == "GET" and r.path.endswith("/messages")]
    assert len(pages) == 2  # 200 messages are two pages of Discord's 100


async def test_without_read_message_history_it_says_so(harness: Harness) -> None:
    hidden = harness.discord.add_text_channel(harness.guild, "hidden", bot_deny=READ_MESSAGE_HISTORY)
    interaction = await summarize(harness, channel=hidden)
    assert interaction.ephemeral and interaction.messages()[0]["content"] == NO_READ_HISTORY
    assert harness.model.requests == []


async def test_without_the_message_content_intent_it_says_so(harness: Harness) -> None:
    await harness.stop_bot()
    await harness.start_bot(message_content=False)
    interaction = await summarize(harness)
    assert interaction.ephemeral and interaction.messages()[0]["content"] == NO_MESSAGE_CONTENT
    assert harness.model.requests == []


async def test_an_empty_channel_has_nothing_to_summarize(harness: Harness) -> None:
    seed(harness, [(harness.discord.bot_user, "")])
    interaction = await summarize(harness, count=10)
    assert interaction.messages()[0]["content"] == NOTHING_TO_SUMMARIZE.format(count=10)
    assert harness.model.requests == []


async def test_summaries_count_against_the_budgets(harness: Harness) -> None:
    await harness.stop_bot()
    await harness.start_bot(user_daily_tokens=1_000)
    seed(harness, [(harness.bob, "Lunch at noon?")])
    harness.model.enqueue(Reply(text="Lunch.", usage=usage(1_000)))
    await summarize(harness)
    refused = await summarize(harness)
    assert refused.messages()[0]["content"].startswith(MEMBER_SPENT)
    assert len(harness.model.requests) == 1
    assert harness.bot is not None
    report = await harness.bot.quotas.report(harness.guild.id, harness.alice.id)
    assert report.day.member.total_tokens == 1_000


async def test_a_thread_is_summarized_on_its_own(harness: Harness) -> None:
    harness.model.enqueue(Reply(text="Opened."), Reply(text="Thread summary."))
    await harness.discord.slash(
        "chat", {"prompt": "plan the trip"}, channel=harness.channel, author=harness.bob
    )
    await harness.discord.wait_for(lambda: bool(harness.discord.threads_of(harness.channel)))
    [thread] = harness.discord.threads_of(harness.channel)
    await harness.discord.wait_for(lambda: len(harness.discord.bot_messages(thread)) == 2)
    seed(harness, [(harness.alice, "Train or car?")], channel=thread)
    seed(harness, [(harness.alice, "Unrelated channel talk.")])
    interaction = await summarize(harness, channel=thread)
    assert interaction.messages()[0]["content"].startswith("Thread summary.")
    content = harness.model.requests[1].messages[1]["content"]
    assert "alice: Train or car?" in content and "Unrelated" not in content


async def test_discord_offers_only_10_to_200_messages(harness: Harness) -> None:
    for count in (9, 201):
        with pytest.raises(AssertionError, match="outside"):
            await harness.discord.slash(
                "summarize", {"count": count}, channel=harness.channel, author=harness.alice
            )


async def test_a_forum_post_is_summarized_with_its_forums_persona(harness: Harness) -> None:
    forum = harness.discord.server.add_forum(harness.guild, "help-forum")
    await config(harness, "persona", text="Answer as a support agent.", channel=forum)
    post, _ = await harness.discord.server.start_forum_post(forum, harness.alice, "Printer", "It's on fire")
    harness.model.enqueue(Reply(text="The printer is on fire."))
    await summarize(harness, channel=post)
    sent = harness.model.requests[-1].messages
    assert sent[0]["content"] == f"{DEFAULT_SYSTEM_PROMPT}\n\nAnswer as a support agent."
    assert sent[1]["content"].endswith("\n\nalice: It's on fire")
