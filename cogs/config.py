"""/config: a server's admins choose the persona, where and how the bot answers, who may use it,
and how hard it thinks. Every change is confirmed in one ephemeral line saying what now applies."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Literal

import discord
from discord import app_commands
from discord.ext import commands

from assistant.delivery.replies import NO_MENTIONS
from assistant.policy import PERSONA_MAX_CHARS, Place
from assistant.policy.describe import describe_settings
from assistant.reach import admin_group

if TYPE_CHECKING:
    from bot import AssistantBot

log = logging.getLogger(__name__)

Mode = Literal["mention", "thread", "always", "off"]
Effort = Literal["none", "low", "medium", "high", "xhigh"]
SettingsChannel = app_commands.AppCommandChannel | app_commands.AppCommandThread
# Discord's own ceiling for a string option; longer than a persona may be, so the limit gets a clear reply.
TEXT_OPTION_MAX_CHARS = 6000
CHANNEL_TYPES = (discord.ChannelType.text, discord.ChannelType.news, discord.ChannelType.forum)
REFUSED = (
    "Only members with the **Manage Server** permission can change the bot's settings. Nothing was changed."
)
MODE_MEANINGS = {
    "mention": "I answer mentions and replies to me there",
    "thread": "a mention there opens a thread from the member's message, and I answer every message in it",
    "always": "I answer every member message there, no mention needed",
    "off": "I ignore mentions there and refuse /ask, /chat and /summarize",
}
NEEDS_INTENT = (
    "`always` needs the **Message Content** intent, which is off for this bot, so I could not read the "
    "messages. Turn on 'Message Content Intent' in the Developer Portal (your application → Bot) and "
    "restart the bot. {channel} stays in **{mode}** mode."
)


class Config(commands.Cog):
    """The /config command group."""

    config = admin_group("config", "Choose how the assistant behaves in this server.")

    def __init__(self, bot: AssistantBot) -> None:
        self.bot = bot

    async def interaction_check(self, interaction: discord.Interaction) -> bool:
        """Refuse anyone without Manage Server, before every subcommand (servers can unhide /config)."""
        if interaction.permissions.manage_guild:
            return True
        log.info("Refused /config to %s in server %s", interaction.user.id, interaction.guild_id)
        raise app_commands.CheckFailure(REFUSED)  # answered ephemerally by the tree's on_error

    @config.command(name="show", description="See this server's and this channel's settings.")
    async def show(self, interaction: discord.Interaction) -> None:
        """Show the server's settings, the current channel's, and the channels that differ."""
        assert interaction.guild is not None and interaction.guild_id is not None  # guild_only
        report = await self.bot.quotas.report(interaction.guild_id, interaction.user.id)
        text = describe_settings(self.bot.policy, interaction.guild, interaction.channel, report.budgets)
        await interaction.response.send_message(text, ephemeral=True, allowed_mentions=NO_MENTIONS)

    @config.command(name="persona", description="Set the persona of the server or of one channel.")
    @app_commands.describe(
        text="Extra instructions for the assistant (at most 4,000 characters). Left out: clears it.",
        channel="A channel (or forum) of its own persona. Left out: the whole server.",
    )
    async def persona(
        self,
        interaction: discord.Interaction,
        text: app_commands.Range[str, 1, TEXT_OPTION_MAX_CHARS] | None = None,
        channel: SettingsChannel | None = None,
    ) -> None:
        """Set or clear the persona of the server, or of one channel."""
        assert interaction.guild_id is not None
        persona = text.strip() if text is not None else None
        if persona is not None and len(persona) > PERSONA_MAX_CHARS:
            await self.reply(
                interaction,
                f"A persona can be at most {PERSONA_MAX_CHARS:,} characters; this one has "
                f"{len(persona):,}. Nothing was changed.",
            )
            return
        target = None
        if channel is not None and (target := await self.settings_channel(interaction, channel)) is None:
            return
        policy = self.bot.policy
        await policy.set_persona(interaction.guild_id, target, persona or None, by=interaction.user.id)
        await self.reply(
            interaction, persona_confirmation(target, persona, policy.server(interaction.guild_id).persona)
        )

    @config.command(name="channel", description="Choose how the assistant answers in a channel.")
    @app_commands.describe(
        mode="mention: mentions only · thread: a mention opens a thread · always: every message · off",
        channel="The channel (or forum). Left out: this one.",
    )
    async def channel(
        self, interaction: discord.Interaction, mode: Mode, channel: SettingsChannel | None = None
    ) -> None:
        """Set a channel's answer mode."""
        assert interaction.guild_id is not None
        target = await self.settings_channel(interaction, channel)
        if target is None:
            return
        if mode == "always" and not self.bot.intents.message_content:
            before = self.bot.policy.mode(Place(interaction.guild_id, target))
            await self.reply(interaction, NEEDS_INTENT.format(channel=f"<#{target}>", mode=before))
            return
        await self.bot.policy.set_mode(interaction.guild_id, target, mode, by=interaction.user.id)
        await self.reply(interaction, f"<#{target}> is now in **{mode}** mode: {MODE_MEANINGS[mode]}.")

    @config.command(name="access", description="Choose the role whose members may use the assistant.")
    @app_commands.describe(role="Only members with this role (and admins) may use it. Left out: everyone.")
    async def access(self, interaction: discord.Interaction, role: discord.Role | None = None) -> None:
        """Restrict the bot to a role's members, or open it to everyone."""
        assert interaction.guild_id is not None
        if role is not None and role.is_default():
            await self.reply(
                interaction,
                "@everyone is every member: to let everyone use me, run `/config access` without a role. "
                "Nothing was changed.",
            )
            return
        role_id = role.id if role is not None else None
        await self.bot.policy.set_access_role(interaction.guild_id, role_id, by=interaction.user.id)
        if role is None:
            await self.reply(interaction, "Everyone in this server may now use me.")
            return
        name = discord.utils.escape_markdown(role.name)
        await self.reply(
            interaction,
            f"Only members with the **{name}** role (and members with **Manage Server**) may now use me "
            "in this server.",
        )

    @config.command(name="reasoning", description="Choose how hard the model thinks in this server.")
    @app_commands.describe(
        effort="More effort: better answers to hard questions, but slower and more tokens."
    )
    async def reasoning(self, interaction: discord.Interaction, effort: Effort) -> None:
        """Set the server's reasoning effort."""
        assert interaction.guild_id is not None
        await self.bot.policy.set_reasoning_effort(interaction.guild_id, effort, by=interaction.user.id)
        await self.reply(
            interaction, f"Reasoning effort in this server is now **{effort}**, from the next question."
        )

    async def settings_channel(
        self, interaction: discord.Interaction, picked: SettingsChannel | None
    ) -> int | None:
        """Return the channel a setting is for (a thread's parent when run in one), or reply why not."""
        if picked is None:
            current = interaction.channel
            if isinstance(current, discord.Thread) and current.parent_id is not None:
                return current.parent_id  # threads follow their parent channel
            kind, name, channel_id = (
                getattr(current, "type", None),
                getattr(current, "name", ""),
                interaction.channel_id,
            )
        elif isinstance(picked, app_commands.AppCommandThread):
            await self.reply(
                interaction,
                f"<#{picked.id}> is a thread, and threads follow their parent channel: choose "
                f"<#{picked.parent_id}> instead. Nothing was changed.",
            )
            return None
        else:
            kind, name, channel_id = picked.type, picked.name, picked.id
        if kind in CHANNEL_TYPES and channel_id is not None:
            return channel_id
        what = str(kind).replace("_", " ") if kind is not None else "this kind of"
        await self.reply(
            interaction,
            f"#{name} is a {what} channel: settings apply to text channels and forums only. "
            "Nothing was changed.",
        )
        return None

    async def reply(self, interaction: discord.Interaction, text: str) -> None:
        """Answer the admin in one ephemeral message."""
        await interaction.response.send_message(text, ephemeral=True, allowed_mentions=NO_MENTIONS)


def persona_confirmation(channel_id: int | None, persona: str | None, server_persona: str | None) -> str:
    """Return the one line confirming a persona change, saying what now applies."""
    if channel_id is None:
        if persona:
            return (
                f"The server's persona is set ({len(persona):,} characters): it applies from the next "
                "question in every channel without a persona of its own."
            )
        return "The server's persona is cleared: channels without their own use the bot's prompt alone."
    where = f"<#{channel_id}>"
    if persona:
        return (
            f"{where} has its own persona now ({len(persona):,} characters): it applies there and in its "
            "threads from the next question."
        )
    fallback = "the server's persona" if server_persona else "the bot's prompt alone"
    return f"{where}'s persona is cleared: it uses {fallback} again."


async def setup(bot: AssistantBot) -> None:
    """Load the cog."""
    await bot.add_cog(Config(bot))
