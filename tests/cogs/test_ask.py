"""/ask, end to end: deferred at once, answered by followup, recorded unless private."""

from __future__ import annotations

from assistant.errors import RateLimited
from tests.conftest import Harness
from tests.fakes.completions import Reply


async def test_ask_is_deferred_then_answered_and_recorded(harness: Harness) -> None:
    harness.model.enqueue(Reply(text="42."))
    interaction = await harness.discord.slash(
        "ask", {"question": "meaning of life?"}, channel=harness.channel, author=harness.alice
    )
    await harness.discord.wait_for(lambda: len(interaction.messages()) == 1)
    assert interaction.callbacks[0]["type"] == 5  # deferred: "is thinking…"
    assert not interaction.ephemeral
    [answer] = interaction.messages()
    assert answer["content"] == "42."
    assert harness.model.requests[0].messages[-1] == {"role": "user", "content": "alice: meaning of life?"}
    # The exchange is now part of the channel's context for a mention.
    asked = await harness.ask("and why?")
    await harness.replies_to(asked)
    assert harness.model.requests[1].messages[1:3] == [
        {"role": "user", "content": "alice: meaning of life?"},
        {"role": "assistant", "content": "42."},
    ]


async def test_private_ask_is_ephemeral_and_not_recorded(harness: Harness) -> None:
    harness.model.enqueue(Reply(text="A secret answer."))
    interaction = await harness.discord.slash(
        "ask", {"question": "secret?", "private": True}, channel=harness.channel, author=harness.alice
    )
    await harness.discord.wait_for(lambda: len(interaction.messages()) == 1)
    assert interaction.ephemeral
    assert interaction.messages()[0]["content"] == "A secret answer."
    assert harness.discord.bot_messages(harness.channel) == []
    assert await harness.stored_turns() == 0


async def test_a_slow_model_never_loses_the_interaction(harness: Harness) -> None:
    harness.discord.interactions.deadline_seconds = 0.3
    harness.model.enqueue(Reply(text="Worth the wait.", delay_seconds=0.8))
    interaction = await harness.discord.slash(
        "ask", {"question": "slow?"}, channel=harness.channel, author=harness.alice
    )
    await harness.discord.wait_for(lambda: len(interaction.messages()) == 1)
    assert interaction.messages()[0]["content"] == "Worth the wait."


async def test_a_long_answer_arrives_as_several_followups(harness: Harness) -> None:
    text = "\n\n".join(f"Paragraph {n}: " + "words " * 60 for n in range(20))
    harness.model.enqueue(Reply(text=text))
    interaction = await harness.discord.slash(
        "ask", {"question": "essay"}, channel=harness.channel, author=harness.alice
    )
    await harness.discord.wait_for(
        lambda: sum(len(m["content"]) for m in interaction.messages()) >= len(text) - 50
    )
    parts = [m["content"] for m in interaction.messages()]
    assert len(parts) >= 2 and all(len(p) <= 2000 for p in parts)
    assert "".join(parts).replace("\n", "").replace(" ", "") == text.replace("\n", "").replace(" ", "")


async def test_a_failure_is_told_to_the_member(harness: Harness) -> None:
    harness.model.enqueue(
        *[Reply(status=429, error_code="rate_limit_exceeded", headers={"Retry-After": "0"})] * 3
    )
    interaction = await harness.discord.slash(
        "ask", {"question": "busy?"}, channel=harness.channel, author=harness.alice
    )
    await harness.discord.wait_for(lambda: len(interaction.messages()) == 1)
    assert interaction.messages()[0]["content"] == RateLimited.user_message
    assert len(harness.model.requests) == 3
    assert await harness.stored_turns() == 0
