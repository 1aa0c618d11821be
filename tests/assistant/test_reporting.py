"""Error reporting: known failures get their own line, unexpected ones a generic line and a traceback."""

from __future__ import annotations

import logging

import discord
import pytest
from discord import app_commands

from assistant.errors import GENERIC_FAILURE, RateLimited, TooManyWaiting
from assistant.reporting import (
    ANSWER_DELETED,
    DISCORD_FAILURE,
    describe_failure,
    interaction_expired,
    unreachable_in,
)


def test_a_bot_error_is_told_in_its_own_words() -> None:
    assert describe_failure(RateLimited("HTTP 429")) == RateLimited.user_message


def test_a_command_invoke_error_is_unwrapped() -> None:
    command = app_commands.Command(name="x", description="x", callback=_callback)
    wrapped = app_commands.CommandInvokeError(command, RateLimited("HTTP 429"))
    assert describe_failure(wrapped) == RateLimited.user_message


def test_an_unexpected_error_gets_a_generic_line_and_its_traceback_is_logged(
    caplog: pytest.LogCaptureFixture,
) -> None:
    try:
        raise KeyError("sk-should-not-reach-the-member")
    except KeyError as exc:
        with caplog.at_level(logging.ERROR):
            text = describe_failure(exc)
    assert text == GENERIC_FAILURE
    assert "sk-should-not" not in text
    [record] = caplog.records
    assert record.exc_info is not None and record.exc_info[0] is KeyError


def test_a_missing_permission_is_named_generally() -> None:
    response = type("Response", (), {"status": 403, "reason": "Forbidden"})()
    forbidden = discord.Forbidden(response, {"code": 50013, "message": "Missing Permissions"})  # type: ignore[arg-type]
    assert "permission" in describe_failure(forbidden)


def test_a_silent_flood_notice_still_has_a_message() -> None:
    error = TooManyWaiting(3, notify=False)
    assert error.silent
    assert "3 questions waiting" in describe_failure(error)


def discord_error(kind: type[discord.HTTPException], status: int, code: int) -> discord.HTTPException:
    """Return the exception discord.py raises for a Discord error answer."""
    response = type("Response", (), {"status": status, "reason": "error"})()
    return kind(response, {"code": code, "message": f"error {code}"})  # type: ignore[arg-type]


def test_discord_failing_on_its_side_is_told_as_such_not_as_a_crash(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING):
        assert describe_failure(discord_error(discord.DiscordServerError, 503, 0)) == DISCORD_FAILURE
        assert describe_failure(discord_error(discord.NotFound, 404, 10008)) == ANSWER_DELETED
    assert [record.levelname for record in caplog.records] == ["WARNING", "WARNING"]


def test_a_channel_the_bot_cannot_post_in_or_that_is_gone_is_only_logged() -> None:
    channel = discord.PartialMessageable(state=None, id=42)  # type: ignore[arg-type]
    forbidden = unreachable_in(channel, discord_error(discord.Forbidden, 403, 50013))
    assert forbidden is not None and "channel 42" in forbidden and "Send Messages" in forbidden
    gone = unreachable_in(channel, discord_error(discord.NotFound, 404, 10003))
    assert gone is not None and "deleted" in gone
    assert unreachable_in(channel, discord_error(discord.NotFound, 404, 10008)) is None  # can be told
    assert unreachable_in(channel, RateLimited("HTTP 429")) is None


def test_an_expired_interaction_is_recognised_wrapped_or_not() -> None:
    command = app_commands.Command(name="x", description="x", callback=_callback)
    expired = discord_error(discord.HTTPException, 401, 50027)
    assert interaction_expired(expired)
    assert interaction_expired(app_commands.CommandInvokeError(command, expired))
    assert not interaction_expired(discord_error(discord.NotFound, 404, 10062))


async def _callback(interaction: discord.Interaction) -> None:
    """Do nothing."""
