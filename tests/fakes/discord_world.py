"""In-memory model of the fake Discord: users, guilds, channels, messages, commands and permissions."""

from __future__ import annotations

import asyncio
import contextlib
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

# Permission bits (https://discord.com/developers/docs/topics/permissions).
ADMINISTRATOR = 1 << 3
MANAGE_CHANNELS = 1 << 4
MANAGE_GUILD = 1 << 5
ADD_REACTIONS = 1 << 6
VIEW_CHANNEL = 1 << 10
SEND_MESSAGES = 1 << 11
MANAGE_MESSAGES = 1 << 13
EMBED_LINKS = 1 << 14
ATTACH_FILES = 1 << 15
READ_MESSAGE_HISTORY = 1 << 16
MENTION_EVERYONE = 1 << 17
USE_EXTERNAL_EMOJIS = 1 << 18
USE_APPLICATION_COMMANDS = 1 << 31
MANAGE_THREADS = 1 << 34
CREATE_PUBLIC_THREADS = 1 << 35
CREATE_PRIVATE_THREADS = 1 << 36
SEND_MESSAGES_IN_THREADS = 1 << 38
ALL_PERMISSIONS = (1 << 51) - 1

DEFAULT_BOT_PERMISSIONS = (
    VIEW_CHANNEL
    | SEND_MESSAGES
    | READ_MESSAGE_HISTORY
    | CREATE_PUBLIC_THREADS
    | SEND_MESSAGES_IN_THREADS
    | EMBED_LINKS
    | ATTACH_FILES
    | ADD_REACTIONS
)
DEFAULT_MEMBER_PERMISSIONS = DEFAULT_BOT_PERMISSIONS | USE_APPLICATION_COMMANDS | USE_EXTERNAL_EMOJIS
# What anyone may do in a DM; threads and guild management make no sense there.
DM_PERMISSIONS = DEFAULT_MEMBER_PERMISSIONS & ~(CREATE_PUBLIC_THREADS | SEND_MESSAGES_IN_THREADS)

# Gateway intents.
INTENT_GUILDS = 1 << 0
INTENT_GUILD_MEMBERS = 1 << 1
INTENT_GUILD_PRESENCES = 1 << 8
INTENT_GUILD_MESSAGES = 1 << 9
INTENT_DIRECT_MESSAGES = 1 << 12
INTENT_MESSAGE_CONTENT = 1 << 15

# Channel and message types, message flags.
TEXT_CHANNEL = 0
DM_CHANNEL = 1
PUBLIC_THREAD = 11
PRIVATE_THREAD = 12
MESSAGE_DEFAULT = 0
MESSAGE_REPLY = 19
MESSAGE_CHAT_INPUT_COMMAND = 20
FLAG_EPHEMERAL = 1 << 6
FLAG_LOADING = 1 << 7

DISCORD_MESSAGE_LIMIT_CHARS = 2000
ATTACHMENT_SIZE_LIMIT_BYTES = 10 * 1024 * 1024  # an unboosted guild's upload limit
DISCORD_EPOCH_MS = 1420070400000
# Keys kept on stored messages for assertions; never sent to the bot.
FAKE_ONLY_KEYS = ("pinged", "edits", "allowed_mentions", "content_exempt")

USER_MENTION_RE = re.compile(r"<@!?(\d+)>")
ROLE_MENTION_RE = re.compile(r"<@&(\d+)>")
EVERYONE_RE = re.compile(r"@(everyone|here)\b")


def now_iso() -> str:
    """Return the current UTC time as Discord formats timestamps."""
    return datetime.now(UTC).isoformat()


@dataclass
class FakeUser:
    """A Discord account: a person or a bot."""

    id: int
    name: str
    bot: bool = False


@dataclass
class FakeRole:
    """A guild role; @everyone carries the guild's id."""

    id: int
    guild_id: int
    name: str
    permissions: int
    position: int = 0
    bot_id: int | None = None  # set on the bot's managed integration role
    mentionable: bool = False


@dataclass
class FakeGuild:
    """A guild; `members` maps a user id to that member's role ids."""

    id: int
    name: str
    owner_id: int
    roles: dict[int, FakeRole] = field(default_factory=dict)
    members: dict[int, list[int]] = field(default_factory=dict)
    joined_at: str = field(default_factory=now_iso)


@dataclass
class FakeChannel:
    """A guild text channel, a DM channel or a thread."""

    id: int
    guild_id: int | None
    name: str
    type: int = TEXT_CHANNEL
    parent_id: int | None = None
    position: int = 0
    overwrites: list[dict[str, Any]] = field(default_factory=list)
    recipient_id: int | None = None
    owner_id: int | None = None
    archived: bool = False
    locked: bool = False
    invitable: bool = True
    auto_archive_duration: int = 1440
    archive_timestamp: str = field(default_factory=now_iso)
    create_timestamp: str = field(default_factory=now_iso)
    message_count: int = 0
    total_message_sent: int = 0
    member_ids: set[int] = field(default_factory=set)
    last_message_id: int | None = None

    @property
    def is_thread(self) -> bool:
        """Tell whether this channel is a thread."""
        return self.type in (PUBLIC_THREAD, PRIVATE_THREAD)


@dataclass
class RecordedRequest:
    """One REST request as the fake received it."""

    method: str
    path: str
    query: dict[str, str]
    json: Any
    headers: dict[str, str]
    time: float
    files: list[dict[str, Any]] = field(default_factory=list)
    status: int = 0


class World:
    """Everything the fake Discord knows, plus the change signal `wait_for` listens to."""

    def __init__(
        self,
        *,
        token: str,
        message_content_enabled: bool,
        members_enabled: bool = True,
        presences_enabled: bool = True,
    ) -> None:
        self.token = token
        # Which privileged intents the application has switched on in the developer portal.
        self.privileged_enabled = {
            INTENT_MESSAGE_CONTENT: message_content_enabled,
            INTENT_GUILD_MEMBERS: members_enabled,
            INTENT_GUILD_PRESENCES: presences_enabled,
        }
        self._last_id = 0
        self.bot_user = FakeUser(self.next_id(), "FakeBot", bot=True)
        # The person who owns the application in the developer portal.
        self.app_owner = FakeUser(self.next_id(), "app owner")
        self.users: dict[int, FakeUser] = {self.bot_user.id: self.bot_user, self.app_owner.id: self.app_owner}
        self.guilds: dict[int, FakeGuild] = {}
        self.channels: dict[int, FakeChannel] = {}
        self.messages: dict[int, dict[str, Any]] = {}
        self.deleted_messages: list[dict[str, Any]] = []
        self.channel_messages: dict[int, list[int]] = {}
        # Synced commands: key None = global, else a guild id; inner key = command name.
        self.commands: dict[int | None, dict[str, dict[str, Any]]] = {None: {}}
        self._command_ids: dict[tuple[int | None, str], int] = {}
        self._changed = asyncio.Event()

    def next_id(self) -> int:
        """Return a fresh snowflake, time-based like Discord's and strictly increasing."""
        candidate = (int(time.time() * 1000) - DISCORD_EPOCH_MS) << 22
        self._last_id = max(candidate, self._last_id + 1)
        return self._last_id

    def next_id_on_shard(self, shard_id: int, shard_count: int) -> int:
        """Return a fresh snowflake that Discord routes to `shard_id` of `shard_count` (whole ms later)."""
        candidate = self.next_id()
        while (candidate >> 22) % shard_count != shard_id:
            candidate += 1 << 22
        self._last_id = candidate
        return candidate

    def notify(self) -> None:
        """Wake every `wait_for` so it re-checks its predicate."""
        changed, self._changed = self._changed, asyncio.Event()
        changed.set()

    @property
    def message_content_enabled(self) -> bool:
        """Tell whether the Message Content intent is switched on for the application."""
        return self.privileged_enabled[INTENT_MESSAGE_CONTENT]

    async def wait_until(
        self, predicate: Callable[[], bool], timeout: float, describe: Callable[[], str]
    ) -> None:
        """Re-check `predicate` at every state change; raise AssertionError with `describe()` on timeout."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while not predicate():
            remaining = deadline - loop.time()
            if remaining <= 0:
                raise AssertionError(f"timed out after {timeout:.1f}s: {describe()}")
            # Taken before awaiting, with no yield since the check, so no notify can slip between them.
            changed = self._changed
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(changed.wait(), remaining)

    # -- building the world -------------------------------------------------------------------

    def add_guild(self, name: str, bot_permissions: int, shard: tuple[int, int] | None = None) -> FakeGuild:
        """Create a guild owned by a fresh person, with the bot as a member holding its own role."""
        owner = self.add_user(f"{name} owner")
        guild_id = self.next_id() if shard is None else self.next_id_on_shard(*shard)
        guild = FakeGuild(guild_id, name, owner.id)
        # @everyone grants nothing so that each member's permissions are exactly what the test asked for.
        guild.roles[guild.id] = FakeRole(guild.id, guild.id, "@everyone", 0)
        self.guilds[guild.id] = guild
        bot = self.bot_user
        bot_role = FakeRole(self.next_id(), guild.id, bot.name, bot_permissions, 1, bot.id)
        guild.roles[bot_role.id] = bot_role
        guild.members[self.bot_user.id] = [bot_role.id]
        guild.members[owner.id] = []
        return guild

    def add_user(self, name: str, bot: bool = False) -> FakeUser:
        """Create a user that belongs to no guild yet."""
        user = FakeUser(self.next_id(), name, bot)
        self.users[user.id] = user
        return user

    def add_member(self, guild: FakeGuild, user: FakeUser, permissions: int) -> FakeRole:
        """Make the user a member with a personal role granting `permissions`."""
        role = FakeRole(self.next_id(), guild.id, user.name, permissions, 1)
        guild.roles[role.id] = role
        guild.members[user.id] = [role.id]
        return role

    def add_channel(self, channel: FakeChannel) -> FakeChannel:
        """Register a channel or thread."""
        self.channels[channel.id] = channel
        self.channel_messages[channel.id] = []
        return channel

    def dm_channel(self, user: FakeUser) -> FakeChannel:
        """Return the DM channel between the bot and `user`, creating it once."""
        for channel in self.channels.values():
            if channel.type == DM_CHANNEL and channel.recipient_id == user.id:
                return channel
        return self.add_channel(FakeChannel(self.next_id(), None, "", DM_CHANNEL, recipient_id=user.id))

    def sync_commands(self, guild_id: int | None, body: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """Replace the synced commands of one scope, keeping ids stable per name like Discord."""
        stored: dict[str, dict[str, Any]] = {}
        for command in body:
            key = (guild_id, command["name"])
            command_id = self._command_ids.setdefault(key, self.next_id())
            full = {"type": 1, "description": "", "options": [], **command}
            full.update(id=str(command_id), application_id=str(self.bot_user.id), version=str(self.next_id()))
            if guild_id is not None:
                full["guild_id"] = str(guild_id)
            stored[command["name"]] = full
        self.commands[guild_id] = stored
        return list(stored.values())

    # -- permissions ----------------------------------------------------------------------------

    def permissions_for(self, channel: FakeChannel, user_id: int) -> int:
        """Compute a user's permissions in a channel with Discord's algorithm (threads use the parent)."""
        if channel.guild_id is None:
            # A group DM (type 3) is open to its members only; the bot is never one.
            return DM_PERMISSIONS if channel.type != 3 or user_id in channel.member_ids else 0
        guild = self.guilds[channel.guild_id]
        if user_id not in guild.members:
            return 0
        if user_id == guild.owner_id:
            return ALL_PERMISSIONS
        role_ids = guild.members[user_id]
        perms = guild.roles[guild.id].permissions
        for role_id in role_ids:
            perms |= guild.roles[role_id].permissions
        if perms & ADMINISTRATOR:
            return ALL_PERMISSIONS
        base = self.channels[channel.parent_id] if channel.parent_id and channel.is_thread else channel
        overwrites = {(int(o["id"]), o["type"]): o for o in base.overwrites}
        layers = [[(guild.id, 0)], [(role_id, 0) for role_id in role_ids], [(user_id, 1)]]
        for layer in layers:
            allow = deny = 0
            for key in layer:
                if key in overwrites:
                    allow |= int(overwrites[key]["allow"])
                    deny |= int(overwrites[key]["deny"])
            perms = (perms & ~deny) | allow
        # Without VIEW_CHANNEL nothing else in the channel applies.
        return perms if perms & VIEW_CHANNEL else 0

    def guild_permissions(self, guild: FakeGuild, user_id: int) -> int:
        """Compute a member's guild-wide permissions (roles only)."""
        if user_id == guild.owner_id:
            return ALL_PERMISSIONS
        perms = guild.roles[guild.id].permissions
        for role_id in guild.members.get(user_id, []):
            perms |= guild.roles[role_id].permissions
        return ALL_PERMISSIONS if perms & ADMINISTRATOR else perms
