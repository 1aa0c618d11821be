"""The two error paths: slash commands (`CommandTree.on_error`) and listeners (`report_failure`).

Both turn an exception into one short line for the member: a :class:`BotError` says what went
wrong; anything unexpected is logged with its traceback and answered with a generic line.
"""

from __future__ import annotations

import logging

import discord
from discord import app_commands

from assistant.errors import GENERIC_FAILURE, BotError
from assistant.replies import NO_MENTIONS

log = logging.getLogger(__name__)


def describe_failure(error: BaseException) -> str:
    """Return the member-facing line for `error`, logging it as it deserves."""
    if isinstance(error, app_commands.CommandInvokeError):
        error = error.original
    if isinstance(error, BotError):
        log.warning("Answer failed: %s: %s", type(error).__name__, error)
        return error.user_message
    if isinstance(error, app_commands.CheckFailure):
        log.info("Command check refused: %s", error)
        return str(error) or "You can't use this command here."
    if isinstance(error, discord.Forbidden):
        log.warning("Discord refused an action for lack of permission: %s", error.text)
        return "I'm missing a permission I need here (Send Messages, Read Message History or threads)."
    log.error("Unexpected error while answering", exc_info=error)
    return GENERIC_FAILURE


async def report_failure(message: discord.Message, error: BaseException) -> None:
    """Tell the author of `message` that answering it failed."""
    text = describe_failure(error)
    if isinstance(error, BotError) and error.silent:
        return
    try:
        await message.channel.send(
            text, reference=message.to_reference(fail_if_not_exists=False), allowed_mentions=NO_MENTIONS
        )
    except discord.HTTPException as exc:
        log.warning("Could not tell the member about the failure in channel %s: %s", message.channel.id, exc)


async def report_failure_in(channel: discord.abc.Messageable, error: BaseException) -> None:
    """Tell a channel (a conversation thread) that answering failed."""
    text = describe_failure(error)
    if isinstance(error, BotError) and error.silent:
        return
    try:
        await channel.send(text, allowed_mentions=NO_MENTIONS)
    except discord.HTTPException as exc:
        log.warning("Could not report a failure in a channel: %s", exc)


class AssistantTree(app_commands.CommandTree):
    """A command tree whose errors reach the member as one short, ephemeral line."""

    async def on_error(self, interaction: discord.Interaction, error: app_commands.AppCommandError) -> None:
        """Answer the member whose command failed."""
        text = describe_failure(error)
        try:
            if interaction.response.is_done():
                await interaction.followup.send(text, ephemeral=True, allowed_mentions=NO_MENTIONS)
            else:
                await interaction.response.send_message(text, ephemeral=True, allowed_mentions=NO_MENTIONS)
        except discord.HTTPException as exc:
            log.warning("Could not report a command failure to the member: %s", exc)
