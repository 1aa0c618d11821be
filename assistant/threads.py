"""Rules for conversation threads: their names, and what the bot needs to open one."""

from __future__ import annotations

import logging
from typing import Literal

import discord

from storage.threads import ThreadStore

log = logging.getLogger(__name__)

THREAD_NAME_MAX_CHARS = 100
DEFAULT_THREAD_NAME = "Conversation"
# Discord lets a thread go quiet for 60, 1440, 4320 or 10080 minutes before archiving it.
THREAD_AUTO_ARCHIVE_MINUTES: Literal[60, 1440, 4320, 10080] = 1440

# What the bot needs in a channel to open a conversation there, with the names members see.
REQUIRED_THREAD_PERMISSIONS = (
    ("view_channel", "View Channel"),
    ("create_public_threads", "Create Public Threads"),
    ("send_messages_in_threads", "Send Messages in Threads"),
)


def thread_name(prompt: str) -> str:
    """Return a 1–100 character thread name from a prompt, cut at a word."""
    words = " ".join(prompt.split())
    if not words:
        return DEFAULT_THREAD_NAME
    if len(words) <= THREAD_NAME_MAX_CHARS:
        return words
    cut = words[: THREAD_NAME_MAX_CHARS - 1]
    space = cut.rfind(" ")
    # A single enormous word is cut where it must be.
    if space >= THREAD_NAME_MAX_CHARS // 2:
        cut = cut[:space]
    return cut.rstrip() + "…"


def missing_permissions(permissions: discord.Permissions) -> list[str]:
    """Return the names of the permissions the bot lacks to hold a conversation thread."""
    return [label for flag, label in REQUIRED_THREAD_PERMISSIONS if not getattr(permissions, flag)]


async def open_thread_on(message: discord.Message, prompt: str, registry: ThreadStore) -> discord.Thread:
    """Start a public thread on a member's message, record it as a conversation and add the member."""
    thread = await message.create_thread(
        name=thread_name(prompt),
        auto_archive_duration=THREAD_AUTO_ARCHIVE_MINUTES,
        reason=f"a question from {message.author} in a thread-mode channel",
    )
    await registry.add(
        thread.id, guild_id=thread.guild.id, parent_id=message.channel.id, starter_id=message.author.id
    )
    try:
        await thread.add_user(message.author)
    except discord.HTTPException as exc:
        log.info("Could not add the asker to thread %s: %s", thread.id, exc)
    return thread


def opened_by_bot(channel: object, bot_id: int) -> bool:
    """Return whether `channel` is a thread the bot opened: only conversation threads are."""
    return isinstance(channel, discord.Thread) and channel.owner_id == bot_id
