"""/config end to end: admins only, validated values, one ephemeral line per change, settings kept."""

from __future__ import annotations

import logging

import pytest

from assistant.settings import DEFAULT_SYSTEM_PROMPT
from cogs.config import REFUSED
from storage.settings import ServerSettings
from tests.cogs.config_helpers import config
from tests.conftest import Harness
from tests.fakes.discord import MANAGE_GUILD

PIRATE = "Talk like a pirate."
SUPPORT = "You are Acme's support desk: answer about Acme products only."


async def stored_settings(harness: Harness) -> dict[int, ServerSettings]:
    """Return what the database holds, read afresh."""
    assert harness.bot is not None
    return await harness.bot.storage.settings.load_all()


async def system_prompt_of_next_answer(harness: Harness, channel: object = None) -> str:
    """Mention the bot and return the system message the model was sent."""
    asked = await harness.ask("hello?", channel=channel)
    await harness.replies_to(asked, channel=channel)
    return str(harness.model.requests[-1].messages[0]["content"])


async def test_config_is_registered_for_admins_with_its_five_subcommands(harness: Harness) -> None:
    command = harness.discord.world.commands[harness.guild.id]["config"]
    assert int(command["default_member_permissions"]) == MANAGE_GUILD
    assert [option["name"] for option in command["options"]] == [
        "show",
        "persona",
        "channel",
        "access",
        "reasoning",
    ]
    channel = next(o for o in command["options"] if o["name"] == "channel")
    mode = next(o for o in channel["options"] if o["name"] == "mode")
    assert [c["value"] for c in mode["choices"]] == ["mention", "thread", "always", "off"]
    reasoning = next(o for o in command["options"] if o["name"] == "reasoning")
    [effort] = reasoning["options"]
    assert [c["value"] for c in effort["choices"]] == ["none", "low", "medium", "high", "xhigh"]


@pytest.mark.parametrize(
    ("sub", "options"),
    [
        ("show", {}),
        ("persona", {"text": "Talk like a pirate."}),
        ("channel", {"mode": "off"}),
        ("access", {}),
        ("reasoning", {"effort": "high"}),
    ],
)
async def test_non_admins_are_refused_by_every_subcommand_and_nothing_changes(
    harness: Harness, sub: str, options: dict[str, object]
) -> None:
    # A server may show the command to everyone: the check inside still refuses.
    harness.discord.world.commands[harness.guild.id]["config"]["default_member_permissions"] = None
    assert await config(harness, sub, author=harness.alice, **options) == REFUSED
    assert await stored_settings(harness) == {}
    asked = await harness.ask("still answering?")
    await harness.replies_to(asked)
    assert harness.model.requests[-1].messages[0]["content"] == DEFAULT_SYSTEM_PROMPT


async def test_a_server_persona_follows_the_system_prompt_from_the_next_question(harness: Harness) -> None:
    confirmation = await config(harness, "persona", text=PIRATE)
    assert confirmation == (
        "The server's persona is set (19 characters): it applies from the next question in every "
        "channel without a persona of its own."
    )
    assert await system_prompt_of_next_answer(harness) == f"{DEFAULT_SYSTEM_PROMPT}\n\n{PIRATE}"


async def test_a_channels_persona_replaces_the_servers_there_and_clearing_it_restores_it(
    harness: Harness,
) -> None:
    help_desk = harness.discord.add_text_channel(harness.guild, "help")
    await config(harness, "persona", text=PIRATE)
    confirmation = await config(harness, "persona", text=SUPPORT, channel=help_desk)
    assert confirmation == (
        f"<#{help_desk.id}> has its own persona now (61 characters): it applies there and in its threads "
        "from the next question."
    )
    assert await system_prompt_of_next_answer(harness, help_desk) == f"{DEFAULT_SYSTEM_PROMPT}\n\n{SUPPORT}"
    assert await system_prompt_of_next_answer(harness) == f"{DEFAULT_SYSTEM_PROMPT}\n\n{PIRATE}"
    cleared = await config(harness, "persona", channel=help_desk)
    assert cleared == f"<#{help_desk.id}>'s persona is cleared: it uses the server's persona again."
    assert await system_prompt_of_next_answer(harness, help_desk) == f"{DEFAULT_SYSTEM_PROMPT}\n\n{PIRATE}"
    assert await config(harness, "persona") == (
        "The server's persona is cleared: channels without their own use the bot's prompt alone."
    )
    assert await system_prompt_of_next_answer(harness, help_desk) == DEFAULT_SYSTEM_PROMPT


async def test_a_persona_over_4000_characters_is_refused_and_nothing_changes(harness: Harness) -> None:
    reply = await config(harness, "persona", text="x" * 4001)
    assert reply == "A persona can be at most 4,000 characters; this one has 4,001. Nothing was changed."
    assert await stored_settings(harness) == {}
    assert "has its own persona" in await config(harness, "persona", text="x" * 4000, channel=harness.channel)


async def test_a_channel_that_is_not_a_text_channel_or_forum_is_refused(harness: Harness) -> None:
    voice = harness.discord.server.add_voice_channel(harness.guild, "lounge")
    reply = await config(harness, "channel", mode="off", channel=voice)
    assert (
        reply
        == "#lounge is a voice channel: settings apply to text channels and forums only. Nothing was changed."
    )
    reply = await config(harness, "persona", text=PIRATE, channel=voice)
    assert reply.startswith("#lounge is a voice channel")
    assert await stored_settings(harness) == {}


async def test_a_thread_is_refused_as_the_channel_but_run_inside_one_sets_its_parent(
    harness: Harness,
) -> None:
    forum = harness.discord.server.add_forum(harness.guild, "help-forum")
    post, _ = await harness.discord.server.start_forum_post(forum, harness.alice, "Printer", "It's on fire")
    reply = await config(harness, "channel", mode="off", channel=post)
    assert reply == (
        f"<#{post.id}> is a thread, and threads follow their parent channel: choose <#{forum.id}> instead. "
        "Nothing was changed."
    )
    reply = await config(harness, "channel", mode="always", where=post)  # run in the post: its forum
    assert reply == (
        f"<#{forum.id}> is now in **always** mode: I answer every member message there, no mention needed."
    )


async def test_the_access_role_cannot_be_everyone(harness: Harness) -> None:
    everyone = harness.discord.world.guilds[harness.guild.id].roles[harness.guild.id]
    reply = await config(harness, "access", role=everyone)
    assert reply == (
        "@everyone is every member: to let everyone use me, run `/config access` without a role. "
        "Nothing was changed."
    )
    assert await stored_settings(harness) == {}


async def test_the_reasoning_effort_is_sent_from_the_servers_setting_else_the_default(
    harness: Harness,
) -> None:
    await system_prompt_of_next_answer(harness)
    assert harness.model.requests[-1].json["reasoning_effort"] == "low"
    reply = await config(harness, "reasoning", effort="xhigh")
    assert reply == "Reasoning effort in this server is now **xhigh**, from the next question."
    await system_prompt_of_next_answer(harness)
    assert harness.model.requests[-1].json["reasoning_effort"] == "xhigh"


async def test_an_empty_reasoning_effort_setting_sends_none_unless_the_server_chose_one(
    harness: Harness,
) -> None:
    await harness.stop_bot()
    await harness.start_bot(reasoning_effort=None)
    await system_prompt_of_next_answer(harness)
    assert "reasoning_effort" not in harness.model.requests[-1].json
    await config(harness, "reasoning", effort="medium")
    await system_prompt_of_next_answer(harness)
    assert harness.model.requests[-1].json["reasoning_effort"] == "medium"


async def test_show_lists_the_servers_settings_this_channels_and_those_that_differ(harness: Harness) -> None:
    help_desk = harness.discord.add_text_channel(harness.guild, "help")
    announcements = harness.discord.add_text_channel(harness.guild, "announcements")
    before = await config(harness, "show")
    assert before == (
        "**This server**\n"
        "- Persona: none: the bot’s prompt alone\n"
        "- Access: everyone\n"
        "- Reasoning effort: **low** (the bot's default)\n"
        "- Budgets: the server 200,000 tokens a day (the bot's default), each member 50,000 tokens a day "
        "(the bot's default) (change them with `/quota set`)\n"
        f"**This channel** (<#{harness.channel.id}>) **mention** mode · persona: none\n"
        "**Channels that differ:** none (every channel answers mentions with the server's persona)"
    )
    await config(harness, "persona", text=PIRATE)
    await config(harness, "persona", text=SUPPORT, channel=help_desk)
    await config(harness, "channel", mode="always", channel=help_desk)
    await config(harness, "channel", mode="off", channel=announcements)
    await config(harness, "reasoning", effort="high")
    after = await config(harness, "show", where=help_desk)
    assert "- Persona: “Talk like a pirate.” (19 characters)" in after
    assert "- Reasoning effort: **high**" in after
    assert (
        f"**This channel** (<#{help_desk.id}>) **always** mode · persona: its own, “{SUPPORT}” "
        "(61 characters)" in after
    )
    assert (
        f"**Channels that differ:** <#{help_desk.id}>: always, own persona · <#{announcements.id}>: off"
    ) in after


async def test_a_service_without_reasoning_effort_still_answers_and_is_not_sent_it_again(
    harness: Harness, caplog: pytest.LogCaptureFixture
) -> None:
    harness.model.reasoning_effort_supported = False
    for question in ("first?", "second?"):
        asked = await harness.ask(question)
        [answer] = await harness.replies_to(asked)
        assert answer["content"].startswith("Answer")
    sent = [(r.json.get("reasoning_effort"), r.messages[-1]["content"]) for r in harness.model.requests]
    assert sent == [("low", "alice: first?"), (None, "alice: first?"), (None, "alice: second?")]
    warnings = [
        r for r in caplog.records if r.levelno == logging.WARNING and "reasoning_effort" in r.getMessage()
    ]
    assert len(warnings) == 1
