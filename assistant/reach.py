"""Where an interaction was made, and what that allows: history, whose budget, how many messages.

A member can run the app's commands where the bot itself is absent: in a server that never added
it or in a group DM, through their own user install. There the bot sees nothing but the
interaction: it reads no channel and keeps no history, the member's personal budget pays, and
Discord allows only five followup messages per interaction when only a user install authorized it.
Commands for a server's admins (:func:`admin_group`) are offered in servers that installed the bot only.
"""

from __future__ import annotations

from dataclasses import dataclass

import discord
from discord import app_commands

# Discord's limit on followups to an interaction that only a user install authorized.
USER_INSTALL_FOLLOWUP_LIMIT = 5


@dataclass(frozen=True)
class Reach:
    """What answering an interaction may use where it was made."""

    # The server whose budget applies; None: the member's personal budget.
    guild_id: int | None
    # The bot reads this channel and keeps its history (a server it is in, or its DM when allowed).
    present: bool
    # How many messages the answer may take; None: no limit.
    max_messages: int | None


def reach_of(interaction: discord.Interaction, *, allow_dms: bool) -> Reach:
    """Return what an interaction's answer may use, from where it was made and who installed the app."""
    guild_id = interaction.guild_id
    # The cache, not interaction.guild: discord.py makes a stand-in guild for servers the bot is not in.
    in_server = guild_id is not None and interaction.client.get_guild(guild_id) is not None
    in_bot_dm = guild_id is None and interaction.context.dm_channel
    only_user_install = interaction.is_user_integration() and not interaction.is_guild_integration()
    return Reach(
        guild_id=guild_id if in_server else None,
        present=in_server or (in_bot_dm and allow_dms),
        max_messages=USER_INSTALL_FOLLOWUP_LIMIT if only_user_install else None,
    )


def thread_parent(interaction: discord.Interaction) -> int | None:
    """Return the parent channel of the thread an interaction was made in (None outside threads)."""
    channel = interaction.channel
    return channel.parent_id if isinstance(channel, discord.Thread) else None


def admin_group(name: str, description: str) -> app_commands.Group:
    """Return a slash-command group for a server's admins: Manage Server by default, servers only.

    The default permission only hides the group; every subcommand checks Manage Server again,
    because a server can change who sees it.
    """
    return app_commands.Group(
        name=name,
        description=description,
        guild_only=True,
        allowed_installs=app_commands.AppInstallationType(guild=True, user=False),
        allowed_contexts=app_commands.AppCommandContext(guild=True),
        default_permissions=discord.Permissions(manage_guild=True),
    )
