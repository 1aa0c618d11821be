"""What `/config show` says: a server's settings, the current channel's, and the channels that differ."""

from __future__ import annotations

from collections.abc import Mapping

import discord

from assistant.budgets.quotas import Budgets
from assistant.policy.resolution import DEFAULT_MODE, Place, persona_at
from assistant.policy.service import Policy, place_of
from storage.settings import ChannelSettings, ServerSettings

PERSONA_EXCERPT_CHARS = 80
# The reply stays well under Discord's 2,000 characters however many channels differ.
CHANNELS_LISTED = 20


def describe_settings(policy: Policy, guild: discord.Guild, channel: object, budgets: Budgets) -> str:
    """Return the /config show reply."""
    server = policy.server(guild.id)
    lines = [
        "**This server**",
        f"- Persona: {describe_persona(server.persona, 'none: the bot’s prompt alone')}",
        f"- Access: {describe_access(policy, guild, server)}",
        f"- Reasoning effort: {describe_effort(server, policy.default_effort)}",
        f"- Budgets: {describe_budgets(budgets)}",
    ]
    channel_id = getattr(channel, "id", None)
    if channel_id is not None:
        lines.append(describe_here(policy, server, place_of(channel, guild.id, channel_id)))
    lines.append(describe_differences(server.channels))
    return "\n".join(lines)


def describe_persona(persona: str | None, otherwise: str) -> str:
    """Return a persona's first words and length, or `otherwise` when there is none."""
    if not persona:
        return otherwise
    flat = " ".join(persona.split())
    excerpt = flat if len(flat) <= PERSONA_EXCERPT_CHARS else flat[: PERSONA_EXCERPT_CHARS - 1] + "…"
    return f"“{discord.utils.escape_markdown(excerpt)}” ({len(persona):,} characters)"


def describe_access(policy: Policy, guild: discord.Guild, server: ServerSettings) -> str:
    """Return who may use the bot, saying so when the chosen role was deleted."""
    if server.access_role_id is None:
        return "everyone"
    role = policy.access_role(guild)
    if role is None:
        return (
            f"everyone: the role chosen (id {server.access_role_id}) was deleted, so nobody is "
            "restricted. Choose another with `/config access`."
        )
    return f"members with the **{discord.utils.escape_markdown(role.name)}** role (and Manage Server)"


def describe_effort(server: ServerSettings, default: str | None) -> str:
    """Return the server's reasoning effort and where it comes from."""
    if server.reasoning_effort is not None:
        return f"**{server.reasoning_effort}**"
    if default is None:
        return "not sent (the bot's default, REASONING_EFFORT is empty)"
    return f"**{default}** (the bot's default)"


def describe_budgets(budgets: Budgets) -> str:
    """Return the server's daily token budgets."""

    def amount(tokens: int, is_default: bool) -> str:
        text = "unlimited" if tokens == 0 else f"{tokens:,} tokens a day"
        return text + (" (the bot's default)" if is_default else "")

    return (
        f"the server {amount(budgets.guild_tokens, budgets.guild_is_default)}, each member "
        f"{amount(budgets.user_tokens, budgets.user_is_default)} (change them with `/quota set`)"
    )


def describe_here(policy: Policy, server: ServerSettings, place: Place) -> str:
    """Return the line about the channel the command was run in."""
    mode = policy.mode(place)
    own = server.channels.get(place.settings_channel_id)
    if own is not None and own.persona is not None:
        persona = "its own, " + describe_persona(own.persona, "")
    elif persona_at(server, place):
        persona = "the server's"
    else:
        persona = "none"
    where = f"**This channel** (<#{place.channel_id}>)"
    if place.parent_id is not None:
        where = f"**This thread** follows <#{place.parent_id}>:"
    return f"{where} **{mode}** mode · persona: {persona}"


def describe_differences(channels: Mapping[int, ChannelSettings]) -> str:
    """Return the channels whose mode or persona differs from the server's defaults."""
    if not channels:
        return "**Channels that differ:** none (every channel answers mentions with the server's persona)"
    shown = []
    for channel_id, own in list(channels.items())[:CHANNELS_LISTED]:
        parts = [own.mode or DEFAULT_MODE]
        if own.persona is not None:
            parts.append("own persona")
        shown.append(f"<#{channel_id}>: {', '.join(parts)}")
    more = len(channels) - len(shown)
    tail = f" · and {more} more" if more > 0 else ""
    return "**Channels that differ:** " + " · ".join(shown) + tail
