"""What a server's own people change in the fake Discord: forums and their posts, other channel
kinds, roles and who holds them. Each change is dispatched as Discord's gateway does.

Used through :attr:`FakeDiscord.server`::

    forum = fake.server.add_forum(guild, "help-forum")
    post, starter = await fake.server.start_forum_post(forum, alice, "Printer on fire", "What now?")
    support = fake.server.add_role(guild, "Support")
    await fake.server.grant_role(guild, alice, support)
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from typing import Any

from .discord_gateway import Gateway
from .discord_messages import compute_pinged, store_message
from .discord_payloads import channel_payload, member_payload, role_payload
from .discord_rest import ALL_PARSE
from .discord_world import (
    INTENT_GUILD_MEMBERS,
    PUBLIC_THREAD,
    FakeChannel,
    FakeGuild,
    FakeRole,
    FakeUser,
    World,
)

VOICE_CHANNEL, FORUM_CHANNEL = 2, 15
Spawn = Callable[[Coroutine[Any, Any, None]], None]


class ServerEdits:
    """Forums, forum posts, voice channels and roles, added or changed as a server's people would."""

    def __init__(self, world: World, gateway: Gateway, spawn: Spawn) -> None:
        self.world = world
        self.gateway = gateway
        self._spawn = spawn  # runs a dispatch in the background when a bot is connected

    def add_forum(self, guild: FakeGuild, name: str = "forum") -> FakeChannel:
        """Add a forum channel (type 15): members post threads in it, not messages."""
        return self._add_channel(guild, name, FORUM_CHANNEL)

    def add_voice_channel(self, guild: FakeGuild, name: str = "voice") -> FakeChannel:
        """Add a voice channel (type 2)."""
        return self._add_channel(guild, name, VOICE_CHANNEL)

    def _add_channel(self, guild: FakeGuild, name: str, kind: int) -> FakeChannel:
        position = sum(1 for c in self.world.channels.values() if c.guild_id == guild.id)
        channel = FakeChannel(self.world.next_id(), guild.id, name, kind, position=position)
        self.world.add_channel(channel)
        self._spawn(self.gateway.dispatch_guild_event("CHANNEL_CREATE", channel_payload(self.world, channel)))
        return channel

    async def start_forum_post(
        self, forum: FakeChannel, author: FakeUser, title: str, content: str
    ) -> tuple[FakeChannel, dict[str, Any]]:
        """Post in a forum as a member: a public thread whose starter message shares its id."""
        if forum.type != FORUM_CHANNEL:
            raise AssertionError(f"#{forum.name} is not a forum")
        thread_id = self.world.next_id()
        post = FakeChannel(
            thread_id, forum.guild_id, title, PUBLIC_THREAD, parent_id=forum.id, owner_id=author.id,
            member_ids={author.id},
        )  # fmt: skip
        self.world.add_channel(post)
        await self.gateway.dispatch_guild_event(
            "THREAD_CREATE", {**channel_payload(self.world, post), "newly_created": True}
        )
        pinged = compute_pinged(self.world, post, author, content, None, default_parse=ALL_PARSE)
        starter = store_message(
            self.world, post, author, {"content": content}, pinged=pinged, extra={"id": str(thread_id)}
        )
        await self.gateway.dispatch_message("MESSAGE_CREATE", starter)
        return post, starter

    def add_role(self, guild: FakeGuild, name: str, *, permissions: int = 0) -> FakeRole:
        """Create a role (held by nobody yet) and dispatch GUILD_ROLE_CREATE."""
        role = FakeRole(self.world.next_id(), guild.id, name, permissions, 1)
        guild.roles[role.id] = role
        data = {"guild_id": str(guild.id), "role": role_payload(role)}
        self._spawn(self.gateway.dispatch_guild_event("GUILD_ROLE_CREATE", data))
        return role

    async def grant_role(self, guild: FakeGuild, user: FakeUser, role: FakeRole) -> None:
        """Give a member a role and dispatch GUILD_MEMBER_UPDATE (to bots with the members intent)."""
        guild.members[user.id].append(role.id)
        await self._member_changed(guild, user)

    async def delete_role(self, guild: FakeGuild, role: FakeRole) -> None:
        """Delete a role (members lose it) and dispatch GUILD_ROLE_DELETE."""
        del guild.roles[role.id]
        for role_ids in guild.members.values():
            if role.id in role_ids:
                role_ids.remove(role.id)
        data = {"guild_id": str(guild.id), "role_id": str(role.id)}
        await self.gateway.dispatch_guild_event("GUILD_ROLE_DELETE", data)

    async def _member_changed(self, guild: FakeGuild, user: FakeUser) -> None:
        data = {**member_payload(guild, user), "guild_id": str(guild.id)}
        await self.gateway.dispatch(
            "GUILD_MEMBER_UPDATE", lambda s: data if s.intents & INTENT_GUILD_MEMBERS else None
        )
