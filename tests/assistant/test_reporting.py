"""Error reporting: known failures get their own line, unexpected ones a generic line and a traceback."""

from __future__ import annotations

import logging

import discord
import pytest
from discord import app_commands

from assistant.errors import GENERIC_FAILURE, RateLimited, SlowDown
from assistant.reporting import describe_failure


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


def test_a_silent_slow_down_still_has_a_message() -> None:
    error = SlowDown(4.2, notify=False)
    assert error.silent
    assert "4 s" in describe_failure(error)


async def _callback(interaction: discord.Interaction) -> None:
    """Do nothing."""
