"""Turning a Discord message into question text: the bot's mention removed, other mentions named."""

from __future__ import annotations

import re

import discord

from assistant.answering import Question
from assistant.attachments.kinds import FileRef

_USER_MENTION = re.compile(r"<@!?(\d+)>")
_ROLE_MENTION = re.compile(r"<@&(\d+)>")
_CHANNEL_MENTION = re.compile(r"<#(\d+)>")
# How much of a replied-to message is quoted to the model as the question's context.
REPLY_CONTEXT_MAX_CHARS = 500


def question_text(message: discord.Message, bot_id: int) -> str:
    """Return what the member asked, without the bot's mention, other mentions as readable names."""
    members = {user.id: user.display_name for user in message.mentions}
    roles = {role.id: role for role in message.role_mentions}

    def user(match: re.Match[str]) -> str:
        user_id = int(match.group(1))
        if user_id == bot_id:
            return ""
        return f"@{members.get(user_id, 'someone')}"

    def role(match: re.Match[str]) -> str:
        found = roles.get(int(match.group(1)))
        if found is None:
            return "@role"
        # Mentioning the bot's own role is a common way of mentioning the bot.
        return (
            "" if found.is_bot_managed() and found.tags and found.tags.bot_id == bot_id else f"@{found.name}"
        )

    def channel(match: re.Match[str]) -> str:
        found = message.guild.get_channel_or_thread(int(match.group(1))) if message.guild else None
        return f"#{found.name}" if found is not None else "#channel"

    text = _USER_MENTION.sub(user, message.content)
    text = _ROLE_MENTION.sub(role, text)
    text = _CHANNEL_MENTION.sub(channel, text)
    return text.strip()


def with_reply_context(message: discord.Message, text: str, bot_id: int) -> str:
    """Prefix the question with the message it replies to, unless that is the bot's own answer."""
    replied = replied_message(message, bot_id)
    if replied is None or not (replied.content or replied.attachments):
        return text
    quoted = " ".join(replied.content.split())
    if len(quoted) > REPLY_CONTEXT_MAX_CHARS:
        quoted = quoted[: REPLY_CONTEXT_MAX_CHARS - 1] + "…"
    if not quoted:  # only attachments, which come with the question
        return f"[replying to {replied.author.display_name}'s attachments]\n{text}".rstrip()
    return f'[replying to {replied.author.display_name}: "{quoted}"]\n{text}'


def replied_message(message: discord.Message, bot_id: int) -> discord.Message | None:
    """Return the message `message` replies to, unless it is unknown or the bot's own answer."""
    reference = message.reference
    replied = reference.resolved if reference is not None else None
    if not isinstance(replied, discord.Message) or replied.author.id == bot_id:
        return None
    return replied


def files_of(message: discord.Message, bot_id: int) -> tuple[FileRef, ...]:
    """Return the files attached to `message`, then those of the message it replies to.

    Only Discord's attachment objects count: a link in the text is never fetched.
    """
    replied = replied_message(message, bot_id)
    attachments = [*message.attachments, *(replied.attachments if replied is not None else ())]
    return tuple(file_ref(attachment) for attachment in attachments)


def file_ref(attachment: discord.Attachment) -> FileRef:
    """Return what the bot needs to know of a Discord attachment."""
    return FileRef(attachment.filename, attachment.url, attachment.size, attachment.content_type)


def is_conversation_message(message: discord.Message) -> bool:
    """Return whether a message is something a person wrote (not a pin, join or thread notice)."""
    return message.type in (discord.MessageType.default, discord.MessageType.reply)


def question_from(
    message: discord.Message, text: str, *, bot_id: int, shared_conversation: bool = False
) -> Question:
    """Return the question `message` asks, `text` being its cleaned-up words."""
    return Question(
        guild_id=message.guild.id if message.guild else None,
        channel_id=message.channel.id,
        author_id=message.author.id,
        author_name=message.author.display_name,
        text=with_reply_context(message, text, bot_id),
        message_id=message.id,
        shared_conversation=shared_conversation,
        files=files_of(message, bot_id),
        parent_id=message.channel.parent_id if isinstance(message.channel, discord.Thread) else None,
    )


def addresses_bot(message: discord.Message, bot_user: discord.abc.User) -> bool:
    """Return whether `message` mentions the bot (not via @everyone) or replies to one of its messages."""
    if any(user.id == bot_user.id for user in message.mentions):
        return True
    if any(role.tags is not None and role.tags.bot_id == bot_user.id for role in message.role_mentions):
        return True
    reference = message.reference
    resolved = reference.resolved if reference is not None else None
    return isinstance(resolved, discord.Message) and resolved.author.id == bot_user.id
