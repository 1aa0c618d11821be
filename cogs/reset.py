"""/reset: forget the stored conversation of the current channel or thread."""

from __future__ import annotations

from typing import TYPE_CHECKING

import discord
from discord import app_commands
from discord.ext import commands

if TYPE_CHECKING:
    from bot import AssistantBot

REFUSAL = (
    "Only members with the **Manage Messages** permission can reset this channel's history "
    "(in a /chat thread, its starter can too). Nothing was deleted."
)


class Reset(commands.Cog):
    """The /reset command."""

    def __init__(self, bot: AssistantBot) -> None:
        self.bot = bot

    @app_commands.command(
        name="reset", description="Forget the assistant's history of this channel or thread."
    )
    @app_commands.allowed_installs(guilds=True, users=False)
    @app_commands.allowed_contexts(guilds=True, dms=True, private_channels=False)
    async def reset(self, interaction: discord.Interaction) -> None:
        """Forget the history of the channel or thread the command is run in."""
        channel_id = interaction.channel_id
        assert channel_id is not None
        if not self.may_reset(interaction, channel_id):
            await interaction.response.send_message(REFUSAL, ephemeral=True)
            return
        forgotten = await self.bot.answerer.forget(channel_id)
        noun = "message" if forgotten == 1 else "messages"
        await interaction.response.send_message(
            f"Done: I forgot {forgotten} {noun} of this conversation. The next question starts afresh.",
            ephemeral=True,
        )

    def may_reset(self, interaction: discord.Interaction, channel_id: int) -> bool:
        """Return whether the member may reset here: moderators anywhere, starters in their thread."""
        if interaction.guild_id is None or interaction.permissions.manage_messages:
            return True  # a DM with the bot is the member's own conversation
        thread = self.bot.threads.get(channel_id)
        return thread is not None and thread.starter_id == interaction.user.id


async def setup(bot: AssistantBot) -> None:
    """Load the cog."""
    await bot.add_cog(Reset(bot))
