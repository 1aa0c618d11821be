"""/ask: answer a question in the channel, or privately."""

from __future__ import annotations

from typing import TYPE_CHECKING

import discord
from discord import app_commands
from discord.ext import commands

from assistant.answering import Question
from assistant.delivery.replies import InteractionReply
from assistant.questions import file_ref

if TYPE_CHECKING:
    from bot import AssistantBot

# Discord's own ceiling for a string option is 6,000 characters.
QUESTION_MAX_CHARS = 6000


class Ask(commands.Cog):
    """The /ask command."""

    def __init__(self, bot: AssistantBot) -> None:
        self.bot = bot

    @app_commands.command(
        name="ask", description="Ask the assistant a question, with this channel's conversation as context."
    )
    @app_commands.describe(
        question="What do you want to know?",
        private="Only you see the answer, and it is not added to the channel's history.",
        image="An image (or a text file) to ask about.",
    )
    @app_commands.guild_only()
    async def ask(
        self,
        interaction: discord.Interaction,
        question: app_commands.Range[str, 1, QUESTION_MAX_CHARS],
        private: bool = False,
        image: discord.Attachment | None = None,
    ) -> None:
        """Answer a question in the channel, or privately."""
        if (refusal := self.bot.policy.command_refusal(interaction)) is not None:
            await interaction.response.send_message(refusal, ephemeral=True)
            return
        # Defer first: the model takes longer than Discord's 3-second deadline.
        await interaction.response.defer(thinking=True, ephemeral=private)
        asked = Question(
            guild_id=interaction.guild_id,
            channel_id=interaction.channel_id or 0,
            author_id=interaction.user.id,
            author_name=interaction.user.display_name,
            text=question.strip(),
            record=not private,
            # In a /chat thread everyone's questions form one conversation, /ask's included.
            shared_conversation=self.bot.threads.get(interaction.channel_id or 0) is not None,
            files=(file_ref(image),) if image is not None else (),
            parent_id=channel.parent_id
            if isinstance(channel := interaction.channel, discord.Thread)
            else None,
            interaction_id=interaction.id,
        )
        await self.bot.answerer.answer(asked, InteractionReply(interaction, ephemeral=private))


async def setup(bot: AssistantBot) -> None:
    """Load the cog."""
    await bot.add_cog(Ask(bot))
