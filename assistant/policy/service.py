"""The policy service: who may use the bot where, how it answers there, and with which persona.

Every cog asks it before any model call; nothing else decides these things. The settings are
read from the database once, at start-up, and kept in memory: the answer path never waits on a
database trip for them. Every change made with /config goes to the database first and then
replaces the server's settings in memory with what the database now holds. With several processes
(shards) on one PostgreSQL database this stays exact without re-reading: a server's messages and
its /config commands both arrive at the one shard that owns the server.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

import discord

from assistant.answering import Question
from assistant.context import Instructions
from assistant.policy.resolution import Place, Route, effort_of, mode_at, persona_at, route
from storage.settings import ServerSettings, SettingsStore
from storage.threads import ThreadStore

log = logging.getLogger(__name__)

# A member refused for lack of the access role hears it at most this often (mentions, always mode).
REFUSAL_NOTICE_EVERY_SECONDS = 3600.0
# Above this many remembered refusals, those older than the notice interval are forgotten.
REFUSALS_REMEMBERED = 4096
OFF_REFUSAL = "I'm switched off in this channel, so I can't answer here. Ask me in another channel."


def access_refusal_text(role: discord.Role) -> str:
    """Return what a member without the access role is told."""
    name = discord.utils.escape_markdown(role.name)
    return f"Only members with the **{name}** role can use me in this server."


def place_of(channel: object, guild_id: int | None, channel_id: int) -> Place:
    """Return where a message or command is, with a thread's parent channel when it is a thread."""
    if isinstance(channel, discord.Thread):
        return Place(guild_id, channel_id, channel.parent_id)
    return Place(guild_id, channel_id)


class Policy:
    """Decides, from a server's settings held in memory, what each member's message or command gets."""

    def __init__(
        self,
        store: SettingsStore,
        threads: ThreadStore,
        *,
        default_effort: str | None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._store = store
        self._threads = threads
        self._default_effort = default_effort
        self._clock = clock
        self._servers: dict[int, ServerSettings] = {}
        self._refused_at: dict[tuple[int, int], float] = {}

    async def load(self) -> int:
        """Read every server's settings into memory; return how many servers have any."""
        self._servers = await self._store.load_all()
        return len(self._servers)

    def server(self, guild_id: int) -> ServerSettings:
        """Return a server's settings (the defaults when it has none)."""
        return self._servers.get(guild_id) or ServerSettings(guild_id)

    @property
    def default_effort(self) -> str | None:
        """Return the reasoning effort of servers that chose none (REASONING_EFFORT)."""
        return self._default_effort

    # -- the answer path -----------------------------------------------------------------------

    def instructions(self, question: Question) -> Instructions:
        """Return the persona and reasoning effort a question is asked with."""
        if question.guild_id is None:
            return Instructions(None, self._default_effort)
        server = self._servers.get(question.guild_id)
        if server is None:
            return Instructions(None, self._default_effort)
        parent_id = question.parent_id
        if parent_id is None and (thread := self._threads.get(question.channel_id)) is not None:
            parent_id = thread.parent_id
        place = Place(question.guild_id, question.channel_id, parent_id)
        return Instructions(persona_at(server, place), effort_of(server, self._default_effort))

    def mode(self, place: Place) -> str:
        """Return the answer mode at `place`."""
        server = self._servers.get(place.guild_id) if place.guild_id is not None else None
        return mode_at(server, place)

    def route(self, place: Place, *, addressed: bool, in_thread: bool) -> Route:
        """Return what a member's message at `place` gets (bot threads are the Chat cog's)."""
        return route(self.mode(place), addressed=addressed, in_thread=in_thread)

    # -- who may ask ---------------------------------------------------------------------------

    def access_role(self, guild: discord.Guild) -> discord.Role | None:
        """Return the role a server restricts the bot to; None when open to all or the role is deleted."""
        role_id = self.server(guild.id).access_role_id
        return guild.get_role(role_id) if role_id is not None else None

    def access_refusal(
        self, guild: discord.Guild | None, user: object, *, manages_server: bool
    ) -> str | None:
        """Return why `user` may not use the bot in `guild`, or None when they may."""
        if guild is None or manages_server:
            return None
        role = self.access_role(guild)
        if role is None:
            return None
        if isinstance(user, discord.Member) and user.get_role(role.id) is not None:
            return None
        return access_refusal_text(role)

    async def turn_away(self, message: discord.Message) -> bool:
        """Return True when the author may not use the bot, having told them (at most once an hour)."""
        author = message.author
        manages = isinstance(author, discord.Member) and author.guild_permissions.manage_guild
        refusal = self.access_refusal(message.guild, author, manages_server=manages)
        if refusal is None or message.guild is None:
            return False
        if self._notice_due(message.guild.id, author.id):
            await message.reply(refusal, allowed_mentions=discord.AllowedMentions.none())
        return True

    def command_refusal(self, interaction: discord.Interaction) -> str | None:
        """Return the one line a slash command that asks the model is refused with, or None."""
        if interaction.guild_id is None:
            return None
        channel_id = interaction.channel_id or 0
        place = place_of(interaction.channel, interaction.guild_id, channel_id)
        if self._threads.get(channel_id) is None and self.mode(place) == "off":
            return OFF_REFUSAL
        manages = interaction.permissions.manage_guild
        return self.access_refusal(interaction.guild, interaction.user, manages_server=manages)

    def _notice_due(self, guild_id: int, user_id: int) -> bool:
        """Tell whether a refused member should hear why (at most once an hour), and note it."""
        now = self._clock()
        key = (guild_id, user_id)
        last = self._refused_at.get(key)
        if last is not None and now - last < REFUSAL_NOTICE_EVERY_SECONDS:
            return False
        if len(self._refused_at) >= REFUSALS_REMEMBERED:
            cutoff = now - REFUSAL_NOTICE_EVERY_SECONDS
            self._refused_at = {k: t for k, t in self._refused_at.items() if t > cutoff}
        self._refused_at[key] = now
        return True

    # -- changes (/config) ---------------------------------------------------------------------

    async def set_persona(
        self, guild_id: int, channel_id: int | None, persona: str | None, *, by: int
    ) -> ServerSettings:
        """Set or clear the persona of a server, or of one channel when `channel_id` is given."""
        if channel_id is None:
            return self._keep(await self._store.set_server_persona(guild_id, persona, by=by))
        return self._keep(await self._store.set_channel_persona(guild_id, channel_id, persona, by=by))

    async def set_mode(self, guild_id: int, channel_id: int, mode: str, *, by: int) -> ServerSettings:
        """Set a channel's answer mode (the default, mention, is stored as no setting)."""
        stored = None if mode == "mention" else mode
        return self._keep(await self._store.set_channel_mode(guild_id, channel_id, stored, by=by))

    async def set_access_role(self, guild_id: int, role_id: int | None, *, by: int) -> ServerSettings:
        """Restrict the bot to a role's members, or with None open it to everyone."""
        return self._keep(await self._store.set_access_role(guild_id, role_id, by=by))

    async def set_reasoning_effort(self, guild_id: int, effort: str, *, by: int) -> ServerSettings:
        """Set a server's reasoning effort."""
        return self._keep(await self._store.set_reasoning_effort(guild_id, effort, by=by))

    def _keep(self, server: ServerSettings) -> ServerSettings:
        self._servers[server.guild_id] = server
        log.info("Settings of server %s changed", server.guild_id)
        return server
