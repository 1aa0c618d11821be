"""Rules for conversation threads: their names, and what the bot needs to open one."""

from __future__ import annotations

from typing import Literal

import discord

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
