"""Mentions and DMs: answer a member who @mentions the bot, replies to it, or writes to it in a DM.

Direct messages are answered without a mention when `ALLOW_DMS` is on (each DM keeps its own
history, charged to the member's personal daily budget); otherwise a DM gets a one-line hint.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

import discord
from discord.ext import commands

from assistant.delivery.replies import NO_MENTIONS, MessageReply
from assistant.questions import (
    addresses_bot,
    files_of,
    is_conversation_message,
    question_from,
    question_text,
)
from assistant.reporting import report_failure

if TYPE_CHECKING:
    from bot import AssistantBot

log = logging.getLogger(__name__)

EMPTY_MENTION_HINT = "Ask me something after the mention, e.g. `@me how do I center a div?` (or use `/ask`)."
DIRECT_MESSAGE_HINT = "I answer in servers only: mention me in a channel, or use `/ask` there."
EMPTY_DIRECT_MESSAGE_HINT = "Write your question here, no need to mention me."


class Mentions(commands.Cog):
    """Answer @mentions and replies to the bot in server channels."""

    def __init__(self, bot: AssistantBot) -> None:
        self.bot = bot

    @commands.Cog.listener()
    async def on_message(self, message: discord.Message) -> None:
        """Answer the message if it is addressed to the bot."""
        if not self.should_answer(message):
            return
        try:
            if message.guild is None and not self.bot.settings.allow_dms:
                await message.channel.send(DIRECT_MESSAGE_HINT, allowed_mentions=NO_MENTIONS)
                return
            text = question_text(message, self.bot.user_id)
            if not text and not files_of(message, self.bot.user_id):
                hint = EMPTY_MENTION_HINT if message.guild is not None else EMPTY_DIRECT_MESSAGE_HINT
                await message.reply(hint, allowed_mentions=NO_MENTIONS)
                return
            await self.bot.answerer.answer(
                question_from(message, text, bot_id=self.bot.user_id), MessageReply(message)
            )
        except Exception as exc:
            await report_failure(message, exc)

    def should_answer(self, message: discord.Message) -> bool:
        """Return whether the message is a person addressing the bot."""
        if message.author.bot or message.author.id == self.bot.user_id:
            return False
        if not is_conversation_message(message):
            return False
        if self.bot.threads.get(message.channel.id) is not None:
            return False  # a /chat thread: the Chat cog answers every message there, mentions included
        if message.guild is None:
            return True
        return addresses_bot(message, message.guild.me)


async def setup(bot: AssistantBot) -> None:
    """Load the cog."""
    await bot.add_cog(Mentions(bot))
