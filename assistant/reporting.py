"""The two error paths: slash commands (`CommandTree.on_error`) and listeners (`report_failure`).

Both turn an exception into one short line for the member: a :class:`BotError` says what went
wrong; anything unexpected is logged with its traceback and answered with a generic line. When the
member cannot be reached at all (the bot may no longer post in the channel, the channel is gone, the
interaction expired), one warning says why instead, and nothing is posted.
"""

from __future__ import annotations

import logging

import discord
from discord import app_commands

from assistant.delivery.replies import NO_MENTIONS
from assistant.errors import GENERIC_FAILURE, BotError
from storage.errors import StorageUnavailable

log = logging.getLogger(__name__)

DISCORD_FAILURE = (
    "Discord failed while I was posting my answer (a server error on its side). Please ask again."
)
DATABASE_UNAVAILABLE = "I can't reach my database right now, so I couldn't answer. Please try again shortly."
ANSWER_DELETED = "My answer was deleted while I was writing it, so I stopped. Ask again if you still need it."
# Discord's JSON error codes for a channel or message that is gone and an expired interaction token.
UNKNOWN_CHANNEL, UNKNOWN_MESSAGE = 10003, 10008
UNKNOWN_WEBHOOK, INVALID_WEBHOOK_TOKEN = 10015, 50027
# What posting an answer takes: seeing the channel, writing in it, and reading history to reply.
POSTING_PERMISSIONS = (
    ("view_channel", "View Channel"),
    ("send_messages", "Send Messages"),
    ("read_message_history", "Read Message History"),
)
THREAD_POSTING_PERMISSIONS = (
    ("view_channel", "View Channel"),
    ("send_messages_in_threads", "Send Messages in Threads"),
    ("read_message_history", "Read Message History"),
)


def describe_failure(error: BaseException) -> str:
    """Return the member-facing line for `error`, logging it as it deserves."""
    if isinstance(error, app_commands.CommandInvokeError):
        error = error.original
    if isinstance(error, BotError):
        level = logging.INFO if error.silent else logging.WARNING
        log.log(level, "Answer failed: %s: %s", type(error).__name__, error)
        return error.user_message
    if isinstance(error, StorageUnavailable):
        log.warning("The database is unavailable: %s", error)
        return DATABASE_UNAVAILABLE
    if isinstance(error, app_commands.CheckFailure):
        log.info("Command check refused: %s", error)
        return str(error) or "You can't use this command here."
    if isinstance(error, discord.Forbidden):
        log.warning("Discord refused an action for lack of permission: %s", error.text)
        return "I'm missing a permission I need here (Send Messages, Read Message History or threads)."
    if isinstance(error, discord.DiscordServerError):
        log.warning("Discord failed with a server error (%s): %s", error.status, error.text)
        return DISCORD_FAILURE
    if isinstance(error, discord.NotFound) and error.code == UNKNOWN_MESSAGE:
        log.warning("A message of an answer was deleted while it was being written: %s", error.text)
        return ANSWER_DELETED
    log.error("Unexpected error while answering", exc_info=error)
    return GENERIC_FAILURE


def unreachable_in(channel: discord.abc.Messageable, error: BaseException) -> str | None:
    """Return why nobody can be told about `error` in `channel` (the line to log), or None if they can."""
    if isinstance(error, discord.Forbidden):
        needs = (
            " and ".join(missing_to_post(channel)) or "View Channel, Send Messages and Read Message History"
        )
        return (
            f"Cannot post in {describe_place(channel)}: the bot lacks {needs} there, so an answer "
            f"was dropped (Discord: {error.text or error.status}). Grant it in the channel's permissions."
        )
    if isinstance(error, discord.NotFound) and error.code == UNKNOWN_CHANNEL:
        return (
            f"{describe_place(channel)} was deleted before an answer could be posted; the answer was dropped."
        )
    return None


def describe_place(channel: discord.abc.Messageable) -> str:
    """Return "#name (id) in Server" for a log line, or what of it the channel has."""
    if isinstance(channel, discord.abc.GuildChannel | discord.Thread):
        return f"#{channel.name} ({channel.id}) in {channel.guild.name}"
    return f"channel {getattr(channel, 'id', '?')}"


def missing_to_post(channel: discord.abc.Messageable) -> list[str]:
    """Return the names of the posting permissions the bot's cache says it lacks in `channel`."""
    if not isinstance(channel, discord.abc.GuildChannel | discord.Thread):
        return []
    permissions = channel.permissions_for(channel.guild.me)
    needed = THREAD_POSTING_PERMISSIONS if isinstance(channel, discord.Thread) else POSTING_PERMISSIONS
    return [label for flag, label in needed if not getattr(permissions, flag)]


def interaction_expired(error: BaseException) -> bool:
    """Tell whether `error` says the interaction can no longer be answered (its 15 minutes are over)."""
    if isinstance(error, app_commands.CommandInvokeError):
        error = error.original
    return isinstance(error, discord.HTTPException) and error.code in (UNKNOWN_WEBHOOK, INVALID_WEBHOOK_TOKEN)


async def report_failure(message: discord.Message, error: BaseException) -> None:
    """Tell the author of `message` that answering it failed (or log why they cannot be told)."""
    await _report(message.channel, error, reference=message.to_reference(fail_if_not_exists=False))


async def report_failure_in(channel: discord.abc.Messageable, error: BaseException) -> None:
    """Tell a channel (a conversation thread) that answering failed (or log why it cannot be told)."""
    await _report(channel, error)


async def _report(
    channel: discord.abc.Messageable,
    error: BaseException,
    *,
    reference: discord.MessageReference | None = None,
) -> None:
    if (reason := unreachable_in(channel, error)) is not None:
        log.warning(reason)
        return
    text = describe_failure(error)
    if isinstance(error, BotError) and error.silent:
        return
    try:
        if reference is None:
            await channel.send(text, allowed_mentions=NO_MENTIONS)
        else:
            await channel.send(text, reference=reference, allowed_mentions=NO_MENTIONS)
    except discord.HTTPException as exc:
        log.warning("Could not tell the member about a failure in %s: %s", describe_place(channel), exc)


async def report_interaction_failure(interaction: discord.Interaction, error: BaseException) -> None:
    """Answer the member whose command or form failed (an expired interaction can only be logged)."""
    if interaction_expired(error):
        log.warning(
            "The interaction of /%s expired (Discord allows 15 minutes) before its answer was ready; "
            "the answer was dropped",
            interaction.command.qualified_name if interaction.command else "a command",
        )
        return
    text = describe_failure(error)
    try:
        if interaction.response.is_done():
            await interaction.followup.send(text, ephemeral=True, allowed_mentions=NO_MENTIONS)
        else:
            await interaction.response.send_message(text, ephemeral=True, allowed_mentions=NO_MENTIONS)
    except discord.HTTPException as exc:
        log.warning("Could not report a command failure to the member: %s", exc)


class AssistantTree(app_commands.CommandTree):
    """A command tree whose errors reach the member as one short, ephemeral line."""

    async def on_error(self, interaction: discord.Interaction, error: app_commands.AppCommandError) -> None:
        """Answer the member whose command failed."""
        await report_interaction_failure(interaction, error)
