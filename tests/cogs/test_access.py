"""The access role end to end: on every path, members without it are refused before any model call."""

from __future__ import annotations

from tests.cogs.config_helpers import config, slash_reply
from tests.conftest import Harness
from tests.fakes.discord import FakeChannel, FakeRole

REFUSAL = "Only members with the **Support** role can use me in this server."


def texts(harness: Harness, channel: FakeChannel) -> list[str]:
    return [str(m["content"]) for m in harness.discord.bot_messages(channel)]


async def restrict_to_support(harness: Harness) -> FakeRole:
    """Create a Support role held by bob, and restrict the bot to it."""
    support = harness.discord.server.add_role(harness.guild, "Support")
    await harness.discord.server.grant_role(harness.guild, harness.bob, support)
    reply = await config(harness, "access", role=support)
    assert reply == (
        "Only members with the **Support** role (and members with **Manage Server**) may now use me "
        "in this server."
    )
    return support


async def test_a_mention_without_the_role_gets_one_short_reply_an_hour_and_no_model_call(
    harness: Harness,
) -> None:
    await restrict_to_support(harness)
    first = await harness.ask("hello?")
    [refusal] = await harness.replies_to(first)
    assert refusal["content"] == REFUSAL
    assert refusal["message_reference"]["message_id"] == first["id"]
    await harness.ask("hello again?")
    # bob has the role and the admin has Manage Server: both are answered.
    for member in (harness.bob, harness.admin):
        asked = await harness.ask("and me?", author=member)
        await harness.replies_to(asked)
    assert texts(harness, harness.channel)[0] == REFUSAL
    assert [r.messages[-1]["content"] for r in harness.model.requests] == ["bob: and me?", "admin: and me?"]
    assert texts(harness, harness.channel).count(REFUSAL) == 1


async def test_slash_commands_without_the_role_are_refused_ephemerally(harness: Harness) -> None:
    await restrict_to_support(harness)
    for name, options in (
        ("ask", {"question": "hi"}),
        ("ask", {"question": "hi", "private": True}),
        ("chat", {"prompt": "hi"}),
        ("summarize", {}),
    ):
        refused = await slash_reply(harness, name, harness.alice, harness.channel, **options)
        assert refused.ephemeral and [m["content"] for m in refused.messages()] == [REFUSAL]
    answered = await slash_reply(harness, "ask", harness.bob, harness.channel, question="hi")
    assert not answered.ephemeral
    assert [r.messages[-1]["content"] for r in harness.model.requests] == ["bob: hi"]
    assert harness.discord.threads_of(harness.channel) == []


async def test_bot_threads_and_always_channels_refuse_members_without_the_role(harness: Harness) -> None:
    help_desk = harness.discord.add_text_channel(harness.guild, "help")
    await config(harness, "channel", mode="always", channel=help_desk)
    await harness.discord.slash("chat", {"prompt": "let's talk"}, channel=harness.channel, author=harness.bob)
    await harness.discord.wait_for(lambda: bool(harness.discord.threads_of(harness.channel)))
    [thread] = harness.discord.threads_of(harness.channel)
    await harness.discord.wait_for(lambda: len(texts(harness, thread)) == 2)
    await restrict_to_support(harness)
    in_thread = await harness.discord.user_says(thread, harness.alice, "may I join?")
    [refusal] = await harness.replies_to(in_thread, channel=thread)
    assert refusal["content"] == REFUSAL
    await harness.discord.user_says(help_desk, harness.alice, "help me")  # already told within the hour
    asked = await harness.discord.user_says(help_desk, harness.bob, "help me")
    [answer] = await harness.replies_to(asked, channel=help_desk)
    assert texts(harness, help_desk) == [answer["content"]]
    assert [r.messages[-1]["content"] for r in harness.model.requests] == ["bob: let's talk", "bob: help me"]


async def test_a_deleted_role_stops_restricting_and_show_says_so(harness: Harness) -> None:
    support = await restrict_to_support(harness)
    assert "members with the **Support** role (and Manage Server)" in await config(harness, "show")
    await harness.discord.server.delete_role(harness.guild, support)
    asked = await harness.ask("now?")
    [answer] = await harness.replies_to(asked)
    assert answer["content"] != REFUSAL
    show = await config(harness, "show")
    assert (
        f"Access: everyone: the role chosen (id {support.id}) was deleted, so nobody is restricted." in show
    )


async def test_without_a_role_everyone_may_use_the_bot_again(harness: Harness) -> None:
    await restrict_to_support(harness)
    assert await config(harness, "access") == "Everyone in this server may now use me."
    asked = await harness.ask("now?")
    await harness.replies_to(asked)
    assert [r.messages[-1]["content"] for r in harness.model.requests] == ["alice: now?"]


async def test_the_access_role_survives_a_restart(harness: Harness) -> None:
    await restrict_to_support(harness)
    await harness.stop_bot()
    await harness.start_bot()
    asked = await harness.ask("after the restart?")
    [refusal] = await harness.replies_to(asked)
    assert refusal["content"] == REFUSAL and harness.model.requests == []
