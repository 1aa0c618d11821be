"""The "Ask about this" message command end to end: the pop-up, the private answer, budgets."""

from __future__ import annotations

from typing import Any

import pytest

from assistant.policy import OFF_REFUSAL
from assistant.settings import DEFAULT_SYSTEM_PROMPT
from cogs.ask_about import COMMAND_NAME, QUESTION_MAX_CHARS
from tests.cogs.config_helpers import config
from tests.cogs.test_access import REFUSAL, restrict_to_support
from tests.cogs.test_quota import MEMBER_SPENT, usage
from tests.conftest import Harness
from tests.fakes import images
from tests.fakes.completions import Reply
from tests.fakes.discord import FakeInteraction, FakeUser
from tests.fakes.discord_cdn import FakeFile

LABEL = "Your question (leave empty to explain it)"


async def ask_about(
    harness: Harness, message: dict[str, Any], question: str, author: FakeUser | None = None
) -> FakeInteraction:
    """Run "Ask about this" on `message`, fill in the pop-up with `question`, wait for the first answer."""
    shown = await harness.discord.apps.message_command(COMMAND_NAME, message, author=author or harness.alice)
    await harness.discord.wait_for(lambda: shown.response_type is not None)
    submitted = await harness.discord.apps.submit_modal(shown, {LABEL: question})
    await harness.discord.wait_for(lambda: len(submitted.messages()) >= 1)
    return submitted


async def test_the_answer_is_private_about_that_message_and_not_recorded(harness: Harness) -> None:
    harness.model.enqueue(Reply(text="Earlier."), Reply(text="It runs eight jobs at once."))
    asked = await harness.ask("remember this?")
    await harness.replies_to(asked)
    target = await harness.discord.user_says(
        harness.channel, harness.bob, f"<@{harness.alice.id}> build with `make -j8`."
    )
    shown = await harness.discord.apps.message_command(COMMAND_NAME, target, author=harness.alice)
    await harness.discord.wait_for(lambda: shown.response_type is not None)
    [modal] = [body for body in shown.callbacks if body["type"] == 9]
    [[field]] = [row["components"] for row in modal["data"]["components"]]
    assert (field["max_length"], field["required"]) == (QUESTION_MAX_CHARS, False)
    submitted = await harness.discord.apps.submit_modal(shown, {LABEL: "Why -j8?"})
    await harness.discord.wait_for(lambda: len(submitted.messages()) == 1)
    assert submitted.ephemeral and submitted.callbacks[0]["type"] == 5
    assert submitted.messages()[0]["content"] == "It runs eight jobs at once."
    # Only the message and the question: no channel history.
    assert harness.model.requests[1].messages == [
        {"role": "system", "content": DEFAULT_SYSTEM_PROMPT},
        {
            "role": "user",
            "content": 'alice: About this message by bob:\n"""\n@alice build with `make -j8`.\n"""\nWhy -j8?',
        },
    ]
    assert await harness.stored_turns() == 2
    assert len(harness.discord.bot_messages(harness.channel)) == 1
    assert harness.bot is not None
    report = await harness.bot.quotas.report(harness.guild.id, harness.alice.id)
    assert report.day.member.requests == 2  # the server's budget, as any question here


async def test_an_empty_question_asks_to_explain_it(harness: Harness) -> None:
    target = await harness.discord.user_says(harness.channel, harness.bob, "LGTM, ship it")
    await ask_about(harness, target, "")
    assert harness.model.requests[0].messages[-1]["content"].endswith('"""\nExplain this message.')


async def test_it_works_without_the_message_content_intent(harness: Harness) -> None:
    await harness.stop_bot()
    await harness.start_bot(message_content=False)
    target = await harness.discord.user_says(harness.channel, harness.bob, "The deploy is at 5pm.")
    await ask_about(harness, target, "When?")
    assert "The deploy is at 5pm." in harness.model.requests[0].messages[-1]["content"]


async def test_the_messages_attachments_go_along(harness: Harness) -> None:
    files = [
        FakeFile("diagram.png", images.png(64, 48), "image/png"),
        FakeFile("build.log", b"step 2 FAILED\n", "text/plain; charset=utf-8"),
    ]
    target = await harness.discord.user_says(harness.channel, harness.bob, "see attached", files=files)
    await ask_about(harness, target, "What failed?")
    [request] = harness.model.requests
    text = request.messages[-1]["content"][0]["text"]
    assert "[file: build.log]\n```text\nstep 2 FAILED\n```" in text and "[image: diagram.png]" in text
    assert len(request.image_urls) == 1


async def test_the_budgets_apply(harness: Harness) -> None:
    await harness.stop_bot()
    await harness.start_bot(user_daily_tokens=1_000)
    harness.model.enqueue(Reply(text="Sure.", usage=usage(1_000)))
    target = await harness.discord.user_says(harness.channel, harness.bob, "hello")
    await ask_about(harness, target, "")
    refused = await ask_about(harness, target, "again?")
    assert refused.ephemeral and refused.messages()[0]["content"].startswith(MEMBER_SPENT)
    assert len(harness.model.requests) == 1


async def test_discord_refuses_a_question_over_1000_characters(harness: Harness) -> None:
    target = await harness.discord.user_says(harness.channel, harness.bob, "hello")
    shown = await harness.discord.apps.message_command(COMMAND_NAME, target, author=harness.alice)
    await harness.discord.wait_for(lambda: shown.response_type is not None)
    with pytest.raises(AssertionError, match="would not submit"):
        await harness.discord.apps.submit_modal(shown, {LABEL: "x" * (QUESTION_MAX_CHARS + 1)})


async def refused_at_once(harness: Harness, message: dict[str, Any], author: FakeUser) -> str:
    """Run "Ask about this" and return the one line it was refused with (no pop-up shown)."""
    shown = await harness.discord.apps.message_command(COMMAND_NAME, message, author=author)
    await harness.discord.wait_for(lambda: len(shown.messages()) == 1)
    assert shown.ephemeral and shown.callbacks[0]["type"] == 4
    return str(shown.messages()[0]["content"])


async def test_an_off_channel_refuses_it(harness: Harness) -> None:
    await config(harness, "channel", mode="off")
    target = await harness.discord.user_says(harness.channel, harness.bob, "hello")
    assert await refused_at_once(harness, target, harness.alice) == OFF_REFUSAL
    assert harness.model.requests == []


async def test_the_access_role_applies(harness: Harness) -> None:
    await restrict_to_support(harness)
    target = await harness.discord.user_says(harness.channel, harness.bob, "hello")
    assert await refused_at_once(harness, target, harness.alice) == REFUSAL
    await ask_about(harness, target, "", author=harness.bob)  # bob has the role
    assert len(harness.model.requests) == 1


async def test_the_pop_up_comes_within_discords_deadline(harness: Harness) -> None:
    harness.discord.interactions.deadline_seconds = 0.3  # Discord allows 3 s; the pop-up needs no waiting
    target = await harness.discord.user_says(harness.channel, harness.bob, "hello")
    shown = await harness.discord.apps.message_command(COMMAND_NAME, target, author=harness.alice)
    await harness.discord.wait_for(lambda: shown.response_type is not None)
    assert shown.response_type == 9
