"""/ask: answer a question in the channel, or privately."""

from __future__ import annotations

from typing import TYPE_CHECKING

import discord
from discord import app_commands
from discord.ext import commands

from assistant.answering import Question
from assistant.delivery.replies import InteractionReply
from assistant.questions import file_ref
from assistant.reach import reach_of

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
        private="Only you see the answer, and it is not added to the channel's history "
        "(the default where the bot is not in the server).",
        image="An image (or a text file) to ask about.",
    )
    @app_commands.allowed_installs(guilds=True, users=True)
    @app_commands.allowed_contexts(guilds=True, dms=True, private_channels=True)
    async def ask(
        self,
        interaction: discord.Interaction,
        question: app_commands.Range[str, 1, QUESTION_MAX_CHARS],
        private: bool | None = None,
        image: discord.Attachment | None = None,
    ) -> None:
        """Answer in the channel or privately; where the bot is absent, through the interaction only."""
        if (refusal := self.bot.policy.command_refusal(interaction)) is not None:
            await interaction.response.send_message(refusal, ephemeral=True)
            return
        reach = reach_of(interaction, allow_dms=self.bot.settings.allow_dms)
        if private is None:
            private = not reach.present
        # Defer first: the model takes longer than Discord's 3-second deadline.
        await interaction.response.defer(thinking=True, ephemeral=private)
        asked = Question(
            guild_id=reach.guild_id,
            channel_id=interaction.channel_id or 0,
            author_id=interaction.user.id,
            author_name=interaction.user.display_name,
            text=question.strip(),
            # Where the bot is absent it neither reads nor keeps the channel's conversation.
            record=reach.present and not private,
            with_history=reach.present,
            # In a /chat thread everyone's questions form one conversation, /ask's included.
            shared_conversation=self.bot.threads.get(interaction.channel_id or 0) is not None,
            files=(file_ref(image),) if image is not None else (),
            parent_id=channel.parent_id
            if isinstance(channel := interaction.channel, discord.Thread)
            else None,
            interaction_id=interaction.id,
        )
        reply = InteractionReply(interaction, ephemeral=private, max_messages=reach.max_messages)
        await self.bot.answerer.answer(asked, reply)


async def setup(bot: AssistantBot) -> None:
    """Load the cog."""
    await bot.add_cog(Ask(bot))
