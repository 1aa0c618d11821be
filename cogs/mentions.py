"""Channel messages and DMs: answer members as each channel's answer mode says (mentions by default).

`mention`: a mention of the bot or a reply to it is a question. `thread`: such a question opens a
thread from the member's message and is answered there; the thread then goes on like a /chat
thread. `always`: every member message is a question. `off`: nothing is. Bot threads are the Chat
cog's. What a message gets is the policy's decision; a message that gets nothing costs nothing.
Direct messages are answered without a mention when `ALLOW_DMS` is on (each DM keeps its own
history, charged to the member's personal daily budget); otherwise a DM gets a one-line hint.
"""

from __future__ import annotations

import dataclasses
import logging
from typing import TYPE_CHECKING

import discord
from discord.ext import commands

from assistant.answering import Question
from assistant.delivery.replies import NO_MENTIONS, ChannelReply, MessageReply
from assistant.policy import Route, place_of
from assistant.questions import (
    addresses_bot,
    files_of,
    is_conversation_message,
    question_from,
    question_text,
)
from assistant.reporting import report_failure, report_failure_in
from assistant.threads import missing_permissions, open_thread_on, opened_by_bot

if TYPE_CHECKING:
    from bot import AssistantBot

log = logging.getLogger(__name__)

EMPTY_MENTION_HINT = "Ask me something after the mention, e.g. `@me how do I center a div?` (or use `/ask`)."
DIRECT_MESSAGE_HINT = "I answer in servers only: mention me in a channel, or use `/ask` there."
EMPTY_DIRECT_MESSAGE_HINT = "Write your question here, no need to mention me."


class Mentions(commands.Cog):
    """Answer members' messages in server channels, as each channel's mode says."""

    def __init__(self, bot: AssistantBot) -> None:
        self.bot = bot

    @commands.Cog.listener()
    async def on_message(self, message: discord.Message) -> None:
        """Answer the message if the channel's mode makes it a question."""
        if not self.is_candidate(message):
            return
        if message.guild is None:
            await self.answer_direct_message(message)
            return
        addressed = addresses_bot(message, message.guild.me)
        place = place_of(message.channel, message.guild.id, message.channel.id)
        in_thread = isinstance(message.channel, discord.Thread)
        way = self.bot.policy.route(place, addressed=addressed, in_thread=in_thread)
        if way is Route.IGNORE:
            return
        try:
            await self.answer(message, way, addressed=addressed)
        except Exception as exc:
            await report_failure(message, exc)

    def is_candidate(self, message: discord.Message) -> bool:
        """Return whether the message is a person writing outside a bot thread."""
        if message.author.bot or message.author.id == self.bot.user_id:
            return False
        if not is_conversation_message(message):
            return False
        # A bot thread: the Chat cog answers every message there, mentions included (and finds a
        # thread the bot opened in another process, which this one has no record of yet).
        channel = message.channel
        return self.bot.threads.get(channel.id) is None and not opened_by_bot(channel, self.bot.user_id)

    async def answer_direct_message(self, message: discord.Message) -> None:
        """Answer a DM when `ALLOW_DMS` is on; else tell the member where the bot answers."""
        try:
            if not self.bot.settings.allow_dms:
                await message.channel.send(DIRECT_MESSAGE_HINT, allowed_mentions=NO_MENTIONS)
                return
            text = question_text(message, self.bot.user_id)
            if not text and not files_of(message, self.bot.user_id):
                await message.reply(EMPTY_DIRECT_MESSAGE_HINT, allowed_mentions=NO_MENTIONS)
                return
            question = question_from(message, text, bot_id=self.bot.user_id)
            await self.bot.answerer.answer(question, MessageReply(message))
        except Exception as exc:
            await report_failure(message, exc)

    async def answer(self, message: discord.Message, way: Route, *, addressed: bool) -> None:
        """Answer the member's question here, or in a new thread from their message."""
        text = question_text(message, self.bot.user_id)
        asked = bool(text) or bool(files_of(message, self.bot.user_id))
        if not asked and not addressed:
            return  # a sticker in an `always` channel: nothing was asked
        if await self.bot.policy.turn_away(message):
            return
        if not asked:
            await message.reply(EMPTY_MENTION_HINT, allowed_mentions=NO_MENTIONS)
            return
        question = question_from(message, text, bot_id=self.bot.user_id)
        if way is Route.OPEN_THREAD:
            await self.answer_in_new_thread(message, question, text)
        else:
            await self.bot.answerer.answer(question, MessageReply(message))

    async def answer_in_new_thread(self, message: discord.Message, question: Question, text: str) -> None:
        """Open a bot thread from the member's message and answer there."""
        channel = message.channel
        assert isinstance(channel, discord.TextChannel) and message.guild is not None
        missing = missing_permissions(channel.permissions_for(message.guild.me))
        if missing:
            names = " and ".join(f"**{name}**" for name in missing)
            await message.reply(
                f"I can't open a thread here: I'm missing the {names} permission in this channel.",
                allowed_mentions=NO_MENTIONS,
            )
            return
        # A spent budget is refused before the thread is opened (the answer re-checks atomically).
        await self.bot.quotas.ensure_available(question.guild_id, question.author_id)
        thread = await open_thread_on(message, text, self.bot.threads)
        asked = dataclasses.replace(
            question, channel_id=thread.id, parent_id=channel.id, shared_conversation=True
        )
        try:
            await self.bot.answerer.answer(asked, ChannelReply(thread))
        except Exception as exc:
            await report_failure_in(thread, exc)


async def setup(bot: AssistantBot) -> None:
    """Load the cog."""
    await bot.add_cog(Mentions(bot))
