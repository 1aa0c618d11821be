"""/summarize: what a channel or thread has been talking about, read from Discord."""

from __future__ import annotations

from typing import TYPE_CHECKING

import discord
from discord import app_commands
from discord.ext import commands

from assistant.answering import Question
from assistant.delivery.replies import InteractionReply
from assistant.reach import thread_parent
from assistant.summaries import Said, coverage_footer, fit_transcript

if TYPE_CHECKING:
    from bot import AssistantBot

COUNT_MIN, COUNT_DEFAULT, COUNT_MAX = 10, 50, 200
# What a person (or an app on their behalf) writes; pins, joins and thread notices are not.
CONVERSATION_TYPES = (
    discord.MessageType.default,
    discord.MessageType.reply,
    discord.MessageType.chat_input_command,
    discord.MessageType.context_menu_command,
)
NO_MESSAGE_CONTENT = (
    "I can't summarize: this bot runs without the **Message Content** intent, so Discord shows me "
    "other people's messages empty. The bot's owner can turn it on (Developer Portal → Bot → "
    "Privileged Gateway Intents → Message Content Intent) and restart the bot."
)
NO_READ_HISTORY = (
    "I can't summarize here: I lack the **Read Message History** permission in this channel. "
    "An admin can grant it to my role in the channel's settings."
)
NOTHING_TO_SUMMARIZE = "There is nothing to summarize here yet: no messages with text in the last {count}."


class Summarize(commands.Cog):
    """The /summarize command."""

    def __init__(self, bot: AssistantBot) -> None:
        self.bot = bot

    @app_commands.command(
        name="summarize",
        description="Summarize this channel's recent messages: topics, decisions, questions.",
    )
    @app_commands.describe(
        count=f"How many of the latest messages to read ({COUNT_MIN}-{COUNT_MAX}, default {COUNT_DEFAULT}).",
        private="Only you see the summary (the default).",
    )
    @app_commands.allowed_installs(guilds=True, users=False)
    @app_commands.guild_only()
    async def summarize(
        self,
        interaction: discord.Interaction,
        count: app_commands.Range[int, COUNT_MIN, COUNT_MAX] = COUNT_DEFAULT,
        private: bool = True,
    ) -> None:
        """Summarize the last `count` messages of the channel or thread."""
        refusal = self.bot.policy.command_refusal(interaction) or self.missing_access(interaction)
        channel = interaction.channel
        if refusal is not None or not isinstance(channel, discord.abc.Messageable):
            await interaction.response.send_message(refusal or NO_READ_HISTORY, ephemeral=True)
            return
        await interaction.response.defer(thinking=True, ephemeral=private)
        # Before reading up to 200 messages: a used-up budget is told at once.
        await self.bot.quotas.ensure_available(interaction.guild_id, interaction.user.id)
        messages = [said_from(m, self.bot.user_id) async for m in channel.history(limit=count)]
        messages.reverse()  # Discord pages newest first
        transcript = fit_transcript(
            messages, asker=interaction.user.display_name, budget_tokens=self.bot.settings.context_tokens
        )
        if transcript.covered == 0:
            await interaction.followup.send(NOTHING_TO_SUMMARIZE.format(count=count), ephemeral=private)
            return
        question = Question(
            guild_id=interaction.guild_id,
            channel_id=interaction.channel_id or 0,
            author_id=interaction.user.id,
            author_name=interaction.user.display_name,
            text=transcript.request,
            record=False,
            with_history=False,
            note=coverage_footer(transcript),
            interaction_id=interaction.id,
            parent_id=thread_parent(interaction),
        )
        await self.bot.answerer.answer(question, InteractionReply(interaction, ephemeral=private))

    def missing_access(self, interaction: discord.Interaction) -> str | None:
        """Return why the bot cannot read this channel's messages, or None if it can."""
        if not self.bot.intents.message_content:
            return NO_MESSAGE_CONTENT
        permissions = interaction.app_permissions
        if not (permissions.read_message_history and permissions.view_channel):
            return NO_READ_HISTORY
        return None


def said_from(message: discord.Message, bot_id: int) -> Said:
    """Return a message as the summary reads it: its author's name, its text, its files."""
    return Said(
        author=message.author.display_name,
        text=message.clean_content,
        mine=message.author.id == bot_id,
        system=message.type not in CONVERSATION_TYPES,
        attachments=tuple(attachment.filename for attachment in message.attachments),
    )


async def setup(bot: AssistantBot) -> None:
    """Load the cog."""
    await bot.add_cog(Summarize(bot))
