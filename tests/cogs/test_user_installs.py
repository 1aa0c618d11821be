"""User installs end to end: /ask and "Ask about this" where the bot is not, within Discord's rules."""

from __future__ import annotations

from typing import Any

import aiohttp
import pytest

from assistant.delivery.posting import SHORTENED_NOTE
from assistant.settings import DEFAULT_SYSTEM_PROMPT
from cogs.ask_about import COMMAND_NAME
from tests.cogs.test_ask_about import LABEL
from tests.cogs.test_quota import usage
from tests.conftest import Harness
from tests.fakes.completions import Reply
from tests.fakes.discord import FakeChannel, FakeInteraction
from tests.fakes.discord_apps import MAX_FOLLOWUPS

PERSONAL_SPENT = "You have used up your personal daily token budget"
MORE = {"content": "more", "allowed_mentions": {"parse": []}}
LONG_ANSWER = "\n\n".join(f"Paragraph {n}: " + "words " * 60 for n in range(40))  # about 7 messages


@pytest.fixture
def settings_overrides() -> dict[str, Any]:
    """Commands synced globally: only global commands can be installed to a user's account."""
    return {"dev_guild_id": None}


def elsewhere(harness: Harness) -> FakeChannel:
    """Return #general of a server without the bot, where alice and carol are members."""
    carol = harness.discord.add_user("carol")
    _, channel = harness.discord.apps.add_foreign_guild("Elsewhere", [harness.alice, carol])
    return channel


async def user_ask(harness: Harness, channel: FakeChannel, **options: Any) -> FakeInteraction:
    """Run /ask through alice's user install and wait for its first message."""
    interaction = await harness.discord.apps.slash("ask", options, channel=channel, author=harness.alice)
    await harness.discord.wait_for(lambda: len(interaction.messages()) >= 1)
    return interaction


async def personal_tokens(harness: Harness) -> int:
    """Return alice's personal tokens today, once the bot has settled."""
    await harness.settled()
    assert harness.bot is not None
    return (await harness.bot.quotas.personal(harness.alice.id)).tally.total_tokens


async def test_commands_declare_where_they_work(harness: Harness) -> None:
    synced = harness.discord.world.commands[None]
    everywhere = {"integration_types": [0, 1], "contexts": [0, 1, 2]}
    for name in ("ask", COMMAND_NAME):
        assert {key: synced[name][key] for key in everywhere} == everywhere
    for name in ("chat", "config", "quota", "reset", "summarize"):
        assert synced[name]["integration_types"] == [0], name
    for name in ("config", "quota", "summarize"):
        assert synced[name]["contexts"] == [0], name
    assert synced["reset"]["contexts"] == [0, 1]


async def test_ask_where_the_bot_is_not_answers_privately_alone_and_charges_the_member(
    harness: Harness,
) -> None:
    channel = elsewhere(harness)
    harness.model.enqueue(Reply(text="Hello there.", usage=usage(300)))
    interaction = await user_ask(harness, channel, question="hi?")
    assert interaction.ephemeral and interaction.messages()[0]["content"] == "Hello there."
    assert harness.model.requests[0].messages == [
        {"role": "system", "content": DEFAULT_SYSTEM_PROMPT},
        {"role": "user", "content": "alice: hi?"},
    ]
    assert await personal_tokens(harness) == 300
    assert harness.bot is not None
    server = await harness.bot.quotas.report(harness.guild.id, harness.alice.id)
    assert server.day.member.total_tokens == 0
    assert await harness.stored_turns(channel) == 0
    # Through the interaction only: nothing was read from or sent to the channel itself.
    assert not [r for r in harness.discord.requests if f"/channels/{channel.id}" in r.path]


async def test_private_false_answers_in_the_channel(harness: Harness) -> None:
    channel = elsewhere(harness)
    interaction = await user_ask(harness, channel, question="for everyone?", private=False)
    assert not interaction.ephemeral
    assert harness.discord.bot_messages(channel) == interaction.messages()
    assert await harness.stored_turns(channel) == 0


async def test_a_group_dm_works_too(harness: Harness) -> None:
    group = harness.discord.apps.add_group_dm(harness.alice, [harness.bob])
    harness.model.enqueue(Reply(text="Group answer.", usage=usage(120)))
    interaction = await user_ask(harness, group, question="plans?")
    assert interaction.ephemeral and interaction.messages()[0]["content"] == "Group answer."
    assert await personal_tokens(harness) == 120


async def test_a_long_answer_keeps_to_five_messages_and_says_it_was_shortened(harness: Harness) -> None:
    await harness.stop_bot()
    await harness.start_bot(stream=True)
    channel = elsewhere(harness)
    harness.model.enqueue(Reply(text=LONG_ANSWER))
    interaction = await user_ask(harness, channel, question="essay")
    await harness.settled()
    parts = [m["content"] for m in interaction.messages()]
    assert len(parts) == 5 and all(len(part) <= 2000 for part in parts)
    assert parts[-1].endswith(SHORTENED_NOTE.format(count=5))
    assert LONG_ANSWER.startswith(parts[0])
    assert not harness.model.requests[0].stream  # delivered whole: a stream cannot know where to stop
    # Discord itself refuses a sixth followup.
    url = f"{harness.discord.api_base}/webhooks/{harness.discord.bot_user.id}/{interaction.token}"
    async with aiohttp.ClientSession() as session, session.post(url, json=MORE) as response:
        assert response.status == 400
        assert (await response.json())["code"] == MAX_FOLLOWUPS


async def test_the_personal_budget_refuses_without_a_model_call(harness: Harness) -> None:
    await harness.stop_bot()
    await harness.start_bot(user_daily_tokens=500)
    channel = elsewhere(harness)
    harness.model.enqueue(Reply(text="Once.", usage=usage(500)))
    await user_ask(harness, channel, question="one?")
    refused = await user_ask(harness, channel, question="two?")
    assert refused.ephemeral and refused.messages()[0]["content"].startswith(PERSONAL_SPENT)
    assert len(harness.model.requests) == 1


async def test_ask_about_this_where_the_bot_is_not(harness: Harness) -> None:
    channel = elsewhere(harness)
    carol = next(u for u in harness.discord.world.users.values() if u.name == "carol")
    target = await harness.discord.user_says(channel, carol, "Meet at 6?")
    assert harness.discord.gateway.dispatched[-1][1] != "MESSAGE_CREATE"  # the bot never saw it
    shown = await harness.discord.apps.message_command(
        COMMAND_NAME, target, author=harness.alice, user_install=True
    )
    await harness.discord.wait_for(lambda: shown.response_type is not None)
    harness.model.enqueue(Reply(text="Carol proposes 6.", usage=usage(200)))
    submitted = await harness.discord.apps.submit_modal(shown, {LABEL: ""})
    await harness.discord.wait_for(lambda: len(submitted.messages()) == 1)
    assert submitted.ephemeral and submitted.messages()[0]["content"] == "Carol proposes 6."
    expected = 'alice: About this message by carol:\n"""\nMeet at 6?\n"""\nExplain this message.'
    assert harness.model.requests[0].messages[-1]["content"] == expected
    assert await personal_tokens(harness) == 200


async def test_usage_where_the_bot_is_not_shows_the_personal_budget(harness: Harness) -> None:
    channel = elsewhere(harness)
    harness.model.enqueue(Reply(text="Hi.", usage=usage(250)))
    await user_ask(harness, channel, question="hi?")
    shown = await harness.discord.apps.slash("usage", {}, channel=channel, author=harness.alice)
    await harness.discord.wait_for(lambda: len(shown.messages()) == 1)
    text = shown.messages()[0]["content"]
    assert "Your personal budget" in text and "250" in text and "This server" not in text


async def test_a_user_install_in_a_server_with_the_bot_uses_the_servers_budget_and_history(
    harness: Harness,
) -> None:
    harness.model.enqueue(Reply(text="First.", usage=usage(100)), Reply(text="Second.", usage=usage(100)))
    asked = await harness.ask("remember 42")
    await harness.replies_to(asked)
    interaction = await user_ask(harness, harness.channel, question="what number?")
    assert not interaction.ephemeral  # the bot is here: public by default, as always
    assert harness.model.requests[1].messages[1:3] == [
        {"role": "user", "content": "alice: remember 42"},
        {"role": "assistant", "content": "First."},
    ]
    assert harness.bot is not None
    server = await harness.bot.quotas.report(harness.guild.id, harness.alice.id)
    assert server.day.member.total_tokens == 200
    assert await personal_tokens(harness) == 0


async def test_ask_in_the_bots_dm_keeps_the_dms_history_only_with_allow_dms(harness: Harness) -> None:
    dm = harness.discord.dm_channel(harness.alice)
    harness.model.enqueue(Reply(text="One.", usage=usage(100)), Reply(text="Two.", usage=usage(100)))
    first = await user_ask(harness, dm, question="remember 7")
    assert first.ephemeral  # ALLOW_DMS is off: the bot keeps nothing of this DM
    assert await harness.stored_turns(dm) == 0
    await harness.stop_bot()
    await harness.start_bot(allow_dms=True)
    second = await user_ask(harness, dm, question="and now?")
    assert not second.ephemeral and second.messages()[0]["content"] == "Two."
    assert harness.model.requests[1].messages[1:] == [{"role": "user", "content": "alice: and now?"}]
    assert await harness.stored_turns(dm) == 2
    assert await personal_tokens(harness) == 200
