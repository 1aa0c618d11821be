"""/usage and /quota set: what the server and its members used today, and the server's budgets."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

import discord
from discord import app_commands
from discord.ext import commands

from assistant.budgets.quotas import Budgets, PersonalReport, UsageReport, discord_relative_time
from assistant.delivery.replies import NO_MENTIONS
from assistant.reach import admin_group, reach_of
from assistant.settings import MAX_DAILY_TOKENS
from storage.usage import Tally

if TYPE_CHECKING:
    from bot import AssistantBot

log = logging.getLogger(__name__)

TOP_MEMBERS_SHOWN = 5
SET_REFUSED = (
    "Only members with the **Manage Server** permission can change this server's budgets. "
    "Nothing was changed."
)


class Quota(commands.Cog):
    """The /usage and /quota set commands."""

    quota = admin_group("quota", "Manage this server's daily token budgets.")

    def __init__(self, bot: AssistantBot) -> None:
        self.bot = bot

    @app_commands.command(name="usage", description="See the tokens this server and you have used today.")
    @app_commands.allowed_installs(guilds=True, users=True)
    @app_commands.allowed_contexts(guilds=True, dms=True, private_channels=True)
    async def usage(self, interaction: discord.Interaction) -> None:
        """Show the caller today's usage against the budgets (and, to admins, the top members)."""
        personal = await self.bot.quotas.personal(interaction.user.id)
        guild_id = reach_of(interaction, allow_dms=self.bot.settings.allow_dms).guild_id
        if guild_id is None or interaction.guild is None:  # a DM, or a server the bot is not in
            text = format_personal(personal, heading=True)
        else:
            top_count = TOP_MEMBERS_SHOWN if interaction.permissions.manage_guild else 0
            report = await self.bot.quotas.report(
                interaction.guild.id, interaction.user.id, top_count=top_count
            )
            text = format_usage(report, interaction.guild) + "\n" + format_personal(personal, heading=False)
        await interaction.response.send_message(text, ephemeral=True, allowed_mentions=NO_MENTIONS)

    @quota.command(name="set", description="Set this server's daily token budgets (0 = unlimited).")
    @app_commands.describe(
        daily_tokens="Tokens the whole server may use per UTC day (0 = unlimited).",
        user_daily_tokens="Tokens each member may use per UTC day (0 = unlimited). Left out: unchanged.",
    )
    async def set_budgets(
        self,
        interaction: discord.Interaction,
        daily_tokens: app_commands.Range[int, 0, MAX_DAILY_TOKENS],
        user_daily_tokens: app_commands.Range[int, 0, MAX_DAILY_TOKENS] | None = None,
    ) -> None:
        """Set this server's daily budgets; only members with Manage Server may."""
        assert interaction.guild_id is not None  # guild_only
        # Discord hides the command from non-admins by default, but a server can change that default.
        if not interaction.permissions.manage_guild:
            log.info("Refused /quota set to %s in server %s", interaction.user.id, interaction.guild_id)
            await interaction.response.send_message(SET_REFUSED, ephemeral=True)
            return
        budgets = await self.bot.quotas.set_budgets(
            interaction.guild_id, daily_tokens, user_daily_tokens, by=interaction.user.id
        )
        await interaction.response.send_message(format_budgets_set(budgets), ephemeral=True)


def format_usage(report: UsageReport, guild: discord.Guild | None) -> str:
    """Return the /usage reply."""
    day = report.day
    lines = [f"**Token usage today** (UTC day, resets {discord_relative_time(report.resets_at)})"]
    lines += describe_tally("This server", day.guild, report.budgets.guild_tokens)
    lines += describe_tally("You", day.member, report.budgets.user_tokens)
    if day.held_tokens:
        lines.append(f"-# Another {day.held_tokens:,} tokens are held for answers being written right now.")
    if day.top:
        lines.append("**Top members today**")
        lines += [
            f"{place}. {member_name(guild, user_id)}: {tally.total_tokens:,} tokens · {count_requests(tally)}"
            for place, (user_id, tally) in enumerate(day.top, start=1)
        ]
    return "\n".join(lines)


def format_personal(report: PersonalReport, *, heading: bool) -> str:
    """Return the lines of a member's personal budget (DMs and servers without the bot)."""
    lines = (
        [f"**Token usage today** (UTC day, resets {discord_relative_time(report.resets_at)})"]
        if heading
        else []
    )
    lines += describe_tally("Your personal budget (DMs and apps)", report.tally, report.limit_tokens)
    return "\n".join(lines)


def describe_tally(label: str, tally: Tally, limit_tokens: int) -> list[str]:
    """Return the lines for one budget: total against the limit, requests, then what the total is made of."""
    limit = "(no limit)" if limit_tokens == 0 else f"of {limit_tokens:,}"
    lines = [f"**{label}:** {tally.total_tokens:,} tokens {limit} · {count_requests(tally)}"]
    if tally.total_tokens:
        lines.append(
            f"-# prompt {tally.prompt_tokens:,} ({tally.cached_tokens:,} cached) · "
            f"completion {tally.completion_tokens:,} ({tally.reasoning_tokens:,} reasoning)"
        )
    if tally.estimated_requests:
        count = tally.estimated_requests
        answers, their = ("1 answer", "its") if count == 1 else (f"{count:,} answers", "their")
        lines.append(f"-# {answers} came with no usage report, so {their} tokens are estimated.")
    return lines


def count_requests(tally: Tally) -> str:
    """Return "3 requests" (with the failed ones when there were any)."""
    text = f"{tally.requests:,} request{'' if tally.requests == 1 else 's'}"
    if tally.failed_requests:
        text += f" (+{tally.failed_requests:,} failed)"
    return text


def member_name(guild: discord.Guild | None, user_id: int) -> str:
    """Return a member's display name when cached, else a mention (which pings nobody here)."""
    member = guild.get_member(user_id) if guild is not None else None
    return discord.utils.escape_markdown(member.display_name) if member is not None else f"<@{user_id}>"


def format_budgets_set(budgets: Budgets) -> str:
    """Return the confirmation of /quota set."""

    def amount(tokens: int, is_default: bool) -> str:
        text = "unlimited" if tokens == 0 else f"{tokens:,} tokens a day"
        return f"**{text}**" + (" (the bot's default)" if is_default else "")

    return (
        f"Budgets set. This server: {amount(budgets.guild_tokens, budgets.guild_is_default)}. "
        f"Each member: {amount(budgets.user_tokens, budgets.user_is_default)}. "
        "They apply at once to today's usage and reset at midnight UTC."
    )


async def setup(bot: AssistantBot) -> None:
    """Load the cog."""
    await bot.add_cog(Quota(bot))
