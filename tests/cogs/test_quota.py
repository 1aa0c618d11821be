"""Budgets end to end: refusals with no model call, /usage figures, /quota set, races and midnight."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace
from typing import Any, cast

import discord
import pytest

from assistant.answering import COMPLETION_ALLOWANCE_TOKENS
from assistant.errors import AuthenticationFailed
from assistant.model.tokens import REPLY_PRIMING_TOKENS, estimate_message_tokens
from assistant.settings import DEFAULT_SYSTEM_PROMPT, MAX_DAILY_TOKENS
from cogs.quota import SET_REFUSED, member_name
from storage.usage import Tally
from tests.conftest import Harness
from tests.fakes.clock import MovableClock
from tests.fakes.completions import Reply
from tests.fakes.discord import MANAGE_GUILD, FakeChannel, FakeInteraction, FakeUser

NOON = datetime(2026, 3, 14, 12, 0, tzinfo=UTC)
RESET = "<t:1773532800:R>"  # 2026-03-15 00:00 UTC, the midnight after NOON
SERVER_SPENT = "This server has used up its daily token budget"
MEMBER_SPENT = "You have used up your daily token budget in this server"


def usage(total: int, *, completion: int = 0, cached: int = 0, reasoning: int = 0) -> dict[str, Any]:
    """Return a usage object as the service reports it."""
    return {
        "prompt_tokens": total - completion,
        "completion_tokens": completion,
        "total_tokens": total,
        "prompt_tokens_details": {"cached_tokens": cached},
        "completion_tokens_details": {"reasoning_tokens": reasoning},
    }


async def restart(harness: Harness, clock: MovableClock | None = None, **overrides: Any) -> MovableClock:
    """Restart the bot on a clock the test controls (NOON unless given), with these settings."""
    clock = clock or MovableClock(NOON)
    await harness.stop_bot()
    await harness.start_bot(clock=clock, **overrides)
    return clock


async def mention(harness: Harness, text: str, author: FakeUser, channel: FakeChannel | None = None) -> str:
    """Have `author` mention the bot and return the bot's reply."""
    asked = await harness.ask(text, author=author, channel=channel)
    [reply] = await harness.replies_to(asked, channel=channel)
    return str(reply["content"])


async def slash(harness: Harness, name: str, author: FakeUser, **options: Any) -> FakeInteraction:
    """Run a command and wait for its first message."""
    group, _, sub = name.partition(" ")
    interaction = await harness.discord.slash(
        group, options, channel=harness.channel, author=author, subcommand=sub or None
    )
    await harness.discord.wait_for(lambda: len(interaction.messages()) >= 1)
    return interaction


def text_of(interaction: FakeInteraction) -> str:
    return str(interaction.messages()[0]["content"])


async def today(harness: Harness, user: FakeUser) -> Tally:
    """Return what the ledger holds for `user` today, once the bot has settled."""
    await harness.settled()
    assert harness.bot is not None
    return (await harness.bot.quotas.report(harness.guild.id, user.id)).day.member


async def test_a_spent_server_budget_refuses_without_a_model_call_and_spares_other_servers(
    harness: Harness,
) -> None:
    await restart(harness, guild_daily_tokens=1_000, user_daily_tokens=0)
    harness.model.enqueue(Reply(text="First.", usage=usage(1_200)))
    assert await mention(harness, "first?", harness.alice) == "First."
    refusal = await mention(harness, "second?", harness.bob)
    assert refusal == f"{SERVER_SPENT}: 1,200 of 1,000 tokens today. It resets {RESET}, at midnight UTC."
    assert text_of(await slash(harness, "ask", harness.bob, question="third?")) == refusal
    assert len(harness.model.requests) == 1
    # Another server has its own budget.
    other = harness.discord.add_guild("Other Server")
    other_channel = harness.discord.add_text_channel(other, "lobby")
    carol = harness.discord.add_member(other, "carol")
    harness.model.enqueue(Reply(text="Elsewhere.", usage=usage(1_200)))
    assert await mention(harness, "here?", carol, other_channel) == "Elsewhere."
    assert len(harness.model.requests) == 2


async def test_the_member_budget_applies_on_its_own(harness: Harness) -> None:
    await restart(harness, guild_daily_tokens=100_000, user_daily_tokens=1_000)
    harness.model.enqueue(Reply(text="Yours.", usage=usage(1_000)), Reply(text="Bob's.", usage=usage(10)))
    assert await mention(harness, "one?", harness.alice) == "Yours."
    refusal = await mention(harness, "two?", harness.alice)
    assert refusal == f"{MEMBER_SPENT}: 1,000 of 1,000 tokens today. It resets {RESET}, at midnight UTC."
    assert await mention(harness, "mine?", harness.bob) == "Bob's."
    assert len(harness.model.requests) == 2


async def test_private_answers_count_like_the_rest(harness: Harness) -> None:
    await restart(harness, user_daily_tokens=500)
    harness.model.enqueue(Reply(text="Secret.", usage=usage(600)))
    answered = await slash(harness, "ask", harness.alice, question="psst?", private=True)
    assert answered.ephemeral and text_of(answered) == "Secret."
    refused = await slash(harness, "ask", harness.alice, question="again?", private=True)
    assert refused.ephemeral and text_of(refused).startswith(f"{MEMBER_SPENT}: 600 of 500 tokens")
    assert len(harness.model.requests) == 1
    assert (await today(harness, harness.alice)).total_tokens == 600


async def test_conversation_threads_and_streamed_answers_count_too(harness: Harness) -> None:
    await restart(harness, user_daily_tokens=1_000, stream=True)
    harness.model.enqueue(Reply(text="Thread answer.", usage=usage(1_000)))
    await harness.discord.slash("chat", {"prompt": "talk?"}, channel=harness.channel, author=harness.alice)
    await harness.discord.wait_for(lambda: bool(harness.discord.threads_of(harness.channel)))
    [thread] = harness.discord.threads_of(harness.channel)
    await harness.discord.wait_for(lambda: len(harness.discord.bot_messages(thread)) == 2)
    assert harness.model.requests[0].stream
    follow_up = await harness.discord.user_says(thread, harness.alice, "and then?")
    [refusal] = await harness.replies_to(follow_up, channel=thread)
    assert refusal["content"].startswith(f"{MEMBER_SPENT}: 1,000 of 1,000 tokens today.")
    assert len(harness.model.requests) == 1
    # A new /chat with the budget spent is refused before any thread is created.
    again = await slash(harness, "chat", harness.alice, prompt="another thread?")
    assert text_of(again).startswith(MEMBER_SPENT)
    assert again.ephemeral
    assert len(harness.discord.threads_of(harness.channel)) == 1
    assert len(harness.model.requests) == 1


async def test_the_budget_resets_at_utc_midnight(harness: Harness) -> None:
    clock = await restart(harness, MovableClock(NOON.replace(hour=23, minute=59)), guild_daily_tokens=1_000)
    harness.model.enqueue(Reply(text="Late.", usage=usage(1_000)), Reply(text="Early.", usage=usage(40)))
    assert await mention(harness, "late?", harness.alice) == "Late."
    assert (await mention(harness, "more?", harness.bob)).endswith(f"It resets {RESET}, at midnight UTC.")
    clock.advance(timedelta(minutes=1))  # 00:00 UTC: a new day
    assert await mention(harness, "morning?", harness.bob) == "Early."
    assert (await today(harness, harness.alice)).total_tokens == 0
    assert (await today(harness, harness.bob)).total_tokens == 40


async def test_usage_shows_the_recorded_figures(harness: Harness) -> None:
    await restart(harness)
    scripted = usage(1_545, completion=345, cached=1_000, reasoning=300)
    harness.model.enqueue(Reply(text="Counted.", usage=scripted), Reply(text="Also.", usage=usage(55)))
    await slash(harness, "ask", harness.alice, question="count me")
    await mention(harness, "and me", harness.bob)
    mine = await slash(harness, "usage", harness.alice)
    assert mine.ephemeral and mine.callbacks[0]["type"] == 4  # answered at once, only to alice
    assert text_of(mine) == "\n".join(
        [
            f"**Token usage today** (UTC day, resets {RESET})",
            "**This server:** 1,600 tokens of 200,000 · 2 requests",
            "-# prompt 1,255 (1,000 cached) · completion 345 (300 reasoning)",
            "**You:** 1,545 tokens of 50,000 · 1 request",
            "-# prompt 1,200 (1,000 cached) · completion 345 (300 reasoning)",
            "**Your personal budget (DMs and apps):** 0 tokens of 50,000 · 0 requests",
        ]
    )
    admins = text_of(await slash(harness, "usage", harness.admin)).splitlines()
    # The admin has used nothing; members the bot has no cached name for are shown as mentions.
    assert admins[3:] == [
        "**You:** 0 tokens of 50,000 · 0 requests",
        "**Top members today**",
        f"1. <@{harness.alice.id}>: 1,545 tokens · 1 request",
        f"2. <@{harness.bob.id}>: 55 tokens · 1 request",
        "**Your personal budget (DMs and apps):** 0 tokens of 50,000 · 0 requests",
    ]
    assert "Top members" not in text_of(mine)


async def test_an_answer_without_usage_is_recorded_as_an_estimate(harness: Harness) -> None:
    await restart(harness)
    harness.model.enqueue(Reply(text="No receipt.", usage=None))
    assert await mention(harness, "count?", harness.alice) == "No receipt."
    recorded = await today(harness, harness.alice)
    assert recorded.estimated_requests == 1 and recorded.requests == 1
    assert recorded.total_tokens > len("alice: count?") // 4  # at least the question's estimate
    shown = text_of(await slash(harness, "usage", harness.alice))
    assert "-# 1 answer came with no usage report, so its tokens are estimated." in shown


def test_top_members_are_named_from_the_cache_or_mentioned() -> None:
    class Guild:
        def get_member(self, user_id: int) -> SimpleNamespace | None:
            return SimpleNamespace(display_name="Ann_the_*great*") if user_id == 1 else None

    guild = cast(discord.Guild, Guild())
    assert member_name(guild, 1) == r"Ann\_the\_\*great\*"
    assert member_name(guild, 2) == "<@2>"
    assert member_name(None, 3) == "<@3>"


async def test_an_admin_sets_the_servers_budgets_and_they_apply_at_once(harness: Harness) -> None:
    await restart(harness)
    confirmed = await slash(harness, "quota set", harness.admin, daily_tokens=1_000)
    assert confirmed.ephemeral
    assert text_of(confirmed) == (
        "Budgets set. This server: **1,000 tokens a day**. "
        "Each member: **50,000 tokens a day** (the bot's default). "
        "They apply at once to today's usage and reset at midnight UTC."
    )
    harness.model.enqueue(Reply(text="Spent.", usage=usage(1_000)))
    assert await mention(harness, "spend", harness.alice) == "Spent."
    assert (await mention(harness, "more", harness.bob)).startswith(f"{SERVER_SPENT}: 1,000 of 1,000")
    raised = await slash(harness, "quota set", harness.admin, daily_tokens=0, user_daily_tokens=0)
    assert "This server: **unlimited**. Each member: **unlimited**." in text_of(raised)
    assert await mention(harness, "more", harness.bob) == "Answer 2"


async def test_quota_set_is_registered_for_admins_with_validated_values(harness: Harness) -> None:
    quota = harness.discord.world.commands[harness.guild.id]["quota"]
    assert int(quota["default_member_permissions"]) == MANAGE_GUILD
    [subcommand] = quota["options"]
    assert subcommand["name"] == "set"
    ranges = {
        o["name"]: (o.get("min_value"), o.get("max_value"), o["required"]) for o in subcommand["options"]
    }
    assert ranges == {
        "daily_tokens": (0, MAX_DAILY_TOKENS, True),
        "user_daily_tokens": (0, MAX_DAILY_TOKENS, False),
    }
    with pytest.raises(AssertionError, match="outside"):  # the Discord client refuses it
        await harness.discord.slash(
            "quota", {"daily_tokens": -1}, channel=harness.channel, author=harness.admin, subcommand="set"
        )


async def test_non_admins_cannot_change_the_budgets(harness: Harness) -> None:
    with pytest.raises(AssertionError, match="hidden"):  # Discord does not offer them the command
        await harness.discord.slash(
            "quota", {"daily_tokens": 1}, channel=harness.channel, author=harness.alice, subcommand="set"
        )
    # A server can open the command to everyone in its Integrations settings; the command still refuses.
    harness.discord.world.commands[harness.guild.id]["quota"]["default_member_permissions"] = None
    refused = await slash(harness, "quota set", harness.alice, daily_tokens=1, user_daily_tokens=1)
    assert refused.ephemeral and text_of(refused) == SET_REFUSED
    assert harness.bot is not None
    report = await harness.bot.quotas.report(harness.guild.id, harness.alice.id)
    assert (report.budgets.guild_tokens, report.budgets.user_tokens) == (200_000, 50_000)
    assert await mention(harness, "still there?", harness.alice) == "Answer 1"


async def test_a_failed_call_releases_its_reservation(harness: Harness) -> None:
    # An estimate is over 2,000 tokens, so a reservation left behind would spend this budget.
    await restart(harness, guild_daily_tokens=2_000)
    harness.model.enqueue(Reply(status=401, error_code="invalid_api_key"))
    assert await mention(harness, "fail?", harness.alice) == AuthenticationFailed.user_message
    assert await today(harness, harness.alice) == Tally(failed_requests=1)
    assert await mention(harness, "now?", harness.alice) == "Answer 2"
    assert harness.bot is not None
    assert (await harness.bot.quotas.report(harness.guild.id, harness.alice.id)).day.held_tokens == 0


async def test_reservations_left_by_a_crash_are_released_at_start_up(harness: Harness) -> None:
    await restart(harness, guild_daily_tokens=5_000)
    assert harness.bot is not None
    await harness.bot.quotas.reserve(harness.guild.id, harness.alice.id, 5_000)  # never settled
    assert (await mention(harness, "blocked?", harness.alice)).startswith(SERVER_SPENT)
    await restart(harness, guild_daily_tokens=5_000)
    assert await mention(harness, "free?", harness.alice) == "Answer 1"


async def test_twenty_simultaneous_questions_stay_within_one_estimate_of_the_limit(harness: Harness) -> None:
    members = [harness.discord.add_member(harness.guild, f"m{n:02}") for n in range(20)]
    estimate = (
        estimate_message_tokens(DEFAULT_SYSTEM_PROMPT)
        + estimate_message_tokens("m00: same?")
        + REPLY_PRIMING_TOKENS
        + COMPLETION_ALLOWANCE_TOKENS
    )
    limit = 4 * estimate + estimate // 2  # room for five reservations to start, not six
    await restart(harness, guild_daily_tokens=limit, user_daily_tokens=0)
    answer_now = asyncio.Event()  # admitted answers wait, so every question is in flight at once
    harness.model.enqueue(*[Reply(text="ok", usage=usage(estimate - 100), release=answer_now)] * 20)
    asked = [
        await harness.discord.slash(
            "ask", {"question": "same?", "private": True}, channel=harness.channel, author=m
        )
        for m in members
    ]

    def replied(start: str) -> int:
        return sum(1 for i in asked if i.messages() and text_of(i).startswith(start))

    await harness.model.wait_requests(5)
    await harness.discord.wait_for(lambda: replied(SERVER_SPENT) == 15)
    assert len(harness.model.requests) == 5
    sent = [sum(estimate_message_tokens(m["content"]) for m in r.messages) for r in harness.model.requests]
    assert {tokens + REPLY_PRIMING_TOKENS + COMPLETION_ALLOWANCE_TOKENS for tokens in sent} == {estimate}
    answer_now.set()
    await harness.discord.wait_for(lambda: replied("ok") == 5)
    await harness.settled()
    assert harness.bot is not None
    report = await harness.bot.quotas.report(harness.guild.id, members[0].id)
    assert report.day.guild.requests == 5 and report.day.held_tokens == 0
    assert limit - estimate <= report.day.guild.total_tokens <= limit + estimate
