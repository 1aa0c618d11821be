"""Builders for the JSON objects the fake Discord sends: users, members, roles, channels, guilds, messages."""

from __future__ import annotations

import copy
from typing import Any

from .discord_world import (
    DM_CHANNEL,
    EVERYONE_RE,
    FAKE_ONLY_KEYS,
    MESSAGE_REPLY,
    PRIVATE_THREAD,
    ROLE_MENTION_RE,
    USER_MENTION_RE,
    FakeChannel,
    FakeGuild,
    FakeRole,
    FakeUser,
    World,
)


def user_payload(user: FakeUser) -> dict[str, Any]:
    """Build a user object."""
    payload: dict[str, Any] = {
        "id": str(user.id),
        "username": user.name,
        "global_name": None if user.bot else user.name,
        "discriminator": "0",
        "avatar": None,
        "public_flags": 0,
    }
    if user.bot:
        payload["bot"] = True
    return payload


def member_payload(guild: FakeGuild, user: FakeUser, *, with_user: bool = True) -> dict[str, Any]:
    """Build a guild member object (the partial form without `user` is used inside messages)."""
    payload: dict[str, Any] = {
        "roles": [str(r) for r in guild.members[user.id]],
        "joined_at": guild.joined_at,
        "deaf": False,
        "mute": False,
        "flags": 0,
        "pending": False,
        "nick": None,
        "avatar": None,
        "premium_since": None,
        "communication_disabled_until": None,
    }
    if with_user:
        payload["user"] = user_payload(user)
    return payload


def role_payload(role: FakeRole) -> dict[str, Any]:
    """Build a role object."""
    payload: dict[str, Any] = {
        "id": str(role.id),
        "name": role.name,
        "permissions": str(role.permissions),
        "position": role.position,
        "color": 0,
        "colors": {"primary_color": 0, "secondary_color": None, "tertiary_color": None},
        "hoist": False,
        "managed": role.bot_id is not None,
        "mentionable": role.mentionable,
        "icon": None,
        "unicode_emoji": None,
        "flags": 0,
    }
    if role.bot_id is not None:
        payload["tags"] = {"bot_id": str(role.bot_id)}
    return payload


# What Discord adds for voice channels (2) and forums (15) beyond a text channel's fields.
_KIND_FIELDS: dict[int, dict[str, Any]] = {
    2: {"bitrate": 64_000, "user_limit": 0, "rtc_region": None},
    15: {"available_tags": [], "default_forum_layout": 0, "default_reaction_emoji": None},
}


def channel_payload(world: World, channel: FakeChannel) -> dict[str, Any]:
    """Build a channel object: a text channel, a DM channel or a thread."""
    last = None if channel.last_message_id is None else str(channel.last_message_id)
    if channel.type == DM_CHANNEL:
        recipient = world.users[channel.recipient_id or 0]
        return {
            "id": str(channel.id),
            "type": DM_CHANNEL,
            "last_message_id": last,
            "flags": 0,
            "recipients": [user_payload(recipient)],
        }
    payload: dict[str, Any] = {
        "id": str(channel.id),
        "type": channel.type,
        "guild_id": str(channel.guild_id),
        "name": channel.name,
        "last_message_id": last,
        "rate_limit_per_user": 0,
        "flags": 0,
    }
    if not channel.is_thread:
        payload.update(
            position=channel.position,
            permission_overwrites=copy.deepcopy(channel.overwrites),
            parent_id=None,
            topic=None,
            nsfw=False,
        )
        payload.update(_KIND_FIELDS.get(channel.type, {}))
        return payload
    metadata: dict[str, Any] = {
        "archived": channel.archived,
        "locked": channel.locked,
        "auto_archive_duration": channel.auto_archive_duration,
        "archive_timestamp": channel.archive_timestamp,
        "create_timestamp": channel.create_timestamp,
    }
    if channel.type == PRIVATE_THREAD:
        metadata["invitable"] = channel.invitable
    payload.update(
        parent_id=str(channel.parent_id),
        owner_id=str(channel.owner_id),
        thread_metadata=metadata,
        message_count=channel.message_count,
        total_message_sent=channel.total_message_sent,
        member_count=min(len(channel.member_ids), 50),
    )
    return payload


def guild_payload(world: World, guild: FakeGuild, *, all_members: bool) -> dict[str, Any]:
    """Build the full GUILD_CREATE guild; without the members intent only the bot's member is sent."""
    member_ids = list(guild.members) if all_members else [world.bot_user.id]
    channels = [c for c in world.channels.values() if c.guild_id == guild.id]
    return {
        "id": str(guild.id),
        "name": guild.name,
        "icon": None,
        "owner_id": str(guild.owner_id),
        "unavailable": False,
        # Equal to len(members) with the members intent, so discord.py never asks for chunks.
        "member_count": len(guild.members),
        "large": False,
        "joined_at": guild.joined_at,
        "roles": [role_payload(r) for r in guild.roles.values()],
        "channels": [channel_payload(world, c) for c in channels if not c.is_thread],
        "threads": [channel_payload(world, c) for c in channels if c.is_thread and not c.archived],
        "members": [member_payload(guild, world.users[uid]) for uid in member_ids],
        "emojis": [],
        "stickers": [],
        "features": [],
        "voice_states": [],
        "presences": [],
        "stage_instances": [],
        "guild_scheduled_events": [],
        "soundboard_sounds": [],
        "preferred_locale": "en-US",
        "verification_level": 0,
        "default_message_notifications": 0,
        "explicit_content_filter": 0,
        "mfa_level": 0,
        "nsfw_level": 0,
        "premium_tier": 0,
        "afk_timeout": 300,
        "system_channel_id": None,
        "system_channel_flags": 0,
        "description": None,
        "application_id": None,
    }


def mention_payloads(world: World, channel: FakeChannel, user_ids: list[int]) -> list[dict[str, Any]]:
    """Build the `mentions` array: users carrying a partial `member` in guilds."""
    guild = world.guilds.get(channel.guild_id or 0)
    result = []
    for user_id in user_ids:
        entry = user_payload(world.users[user_id])
        if guild is not None and user_id in guild.members:
            entry["member"] = member_payload(guild, world.users[user_id], with_user=False)
        result.append(entry)
    return result


def parse_mentions(world: World, channel: FakeChannel, content: str) -> tuple[list[int], list[int], bool]:
    """Find the users, roles and @everyone/@here a text mentions, as Discord's parser does."""
    users = []
    for match in USER_MENTION_RE.finditer(content):
        user_id = int(match.group(1))
        if user_id in world.users and user_id not in users:
            users.append(user_id)
    guild = world.guilds.get(channel.guild_id or 0)
    roles = []
    for match in ROLE_MENTION_RE.finditer(content):
        role_id = int(match.group(1))
        if guild is not None and role_id in guild.roles and role_id not in roles:
            roles.append(role_id)
    return users, roles, bool(EVERYONE_RE.search(content))


def wire(
    world: World, message: dict[str, Any], *, blank: bool = False, nested: bool = False
) -> dict[str, Any]:
    """Return the message as sent to the bot; `blank` emulates a missing MESSAGE_CONTENT intent."""
    # Shallow: the payload is serialised to JSON at once, and only its top level is changed here.
    payload = {k: v for k, v in message.items() if k not in FAKE_ONLY_KEYS}
    if blank and not message.get("content_exempt"):
        payload.update(content="", embeds=[], attachments=[], components=[])
        payload.pop("poll", None)
    reference = message.get("message_reference")
    if reference is not None and message["type"] == MESSAGE_REPLY and not nested:
        # Built from the live message like Discord does; null once the original is deleted.
        original = world.messages.get(int(reference["message_id"]))
        payload["referenced_message"] = (
            None if original is None else wire(world, original, blank=blank, nested=True)
        )
    return payload
