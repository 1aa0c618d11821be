"""A wire-level fake Discord (REST under /api/v10 and a websocket gateway) for the real discord.py bot.

In-process::

    fake = FakeDiscord()
    await fake.start()
    fake.patch(monkeypatch)            # points discord.py's Route.BASE and DEFAULT_GATEWAY here
    guild = fake.add_guild("Guild")
    channel = fake.add_text_channel(guild)
    alice = fake.add_member(guild, "alice")
    task = asyncio.create_task(bot.start(fake.token))
    await fake.user_says(channel, alice, f"<@{fake.bot_user.id}> hello")
    await fake.wait_for(lambda: fake.bot_messages(channel))

As a subprocess, pass `fake.env()` (DISCORD_API_BASE, DISCORD_GATEWAY_URL) to the bot's entrypoint.

Things worth knowing:
- Stored messages are the wire payloads plus fake-only keys (never sent to the bot): `pinged` (who
  would be notified: "<@id>", "<@&id>", "@everyone", "@here"), `edits` (time, content, allowed_mentions,
  pinged per edit), `allowed_mentions` (as the bot sent it) and `content_exempt`.
- A "thinking" defer (type 5) creates a loading message (flags 128, empty content) that is in the
  channel at once, as on Discord; the first followup or edit_original_response fills it in place (not
  counted in `edits`). `FakeInteraction.original` stays None until then; the filling followup is also
  listed in `followups`, and `messages()` lists each message once.
- `wait_for` re-checks on the fake's own state changes; for state inside the bot (its cache), await
  `caught_up()` (a heartbeat barrier: every dispatch sent so far has been parsed) or the bot's events.
- `FakeDiscord(rate_limits=True)` enforces Discord's global and per-route rate limits, with its
  429s and headers (:mod:`.discord_limits`); `rate_limits` counts the 429s and invalid requests.
- discord.py sleeps 5 s in `before_identify_hook` before any re-IDENTIFY of the same client (e.g. after
  op 9 INVALID_SESSION); a fresh Bot object identifies at once. It retries 500/502/504 after 1 s.
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import Callable, Coroutine
from typing import TYPE_CHECKING, Any

import discord
import yarl
from aiohttp import web

from .discord_apps import Apps
from .discord_cdn import Cdn, FakeFile
from .discord_channels import ChannelRoutes
from .discord_gateway import Gateway
from .discord_interaction_build import FakeInteraction, InteractionBuilder
from .discord_interactions import Interactions
from .discord_limits import RateLimits
from .discord_messages import compute_pinged, delete_message, edit_message, store_message
from .discord_payloads import channel_payload
from .discord_rest import ALL_PARSE, FailRule, Rest
from .discord_server import ServerEdits
from .discord_world import (  # noqa: F401 - re-exported for tests
    ADMINISTRATOR,
    ATTACH_FILES,
    CREATE_PRIVATE_THREADS,
    CREATE_PUBLIC_THREADS,
    DEFAULT_BOT_PERMISSIONS,
    DEFAULT_MEMBER_PERMISSIONS,
    DM_CHANNEL,
    EMBED_LINKS,
    EVERYONE_RE,
    MANAGE_GUILD,
    MANAGE_MESSAGES,
    MANAGE_THREADS,
    MENTION_EVERYONE,
    PRIVATE_THREAD,
    PUBLIC_THREAD,
    READ_MESSAGE_HISTORY,
    SEND_MESSAGES,
    SEND_MESSAGES_IN_THREADS,
    TEXT_CHANNEL,
    USE_APPLICATION_COMMANDS,
    VIEW_CHANNEL,
    FakeChannel,
    FakeGuild,
    FakeRole,
    FakeUser,
    RecordedRequest,
    World,
    now_iso,
)

if TYPE_CHECKING:
    import pytest

log = logging.getLogger(__name__)

DEFAULT_TOKEN = "fake-bot-token"
INTERACTION_TOKEN_SECONDS = 15 * 60
REQUEST_BODY_LIMIT_BYTES = 100 * 1024 * 1024


class FakeDiscord:
    """The fake Discord: one aiohttp app serving REST and the gateway over a shared in-memory world."""

    def __init__(
        self,
        *,
        message_content_enabled: bool = True,
        interaction_deadline_seconds: float = 3.0,
        members_intent_enabled: bool = True,
        presences_intent_enabled: bool = True,
        interaction_token_seconds: float = INTERACTION_TOKEN_SECONDS,
        token: str = DEFAULT_TOKEN,
        rate_limits: bool = False,
    ) -> None:
        self.token = token
        self.world = World(
            token=token,
            message_content_enabled=message_content_enabled,
            members_enabled=members_intent_enabled,
            presences_enabled=presences_intent_enabled,
        )
        self.gateway = Gateway(self.world)
        self.rest = Rest(self.world, self.gateway)
        self.channel_routes = ChannelRoutes(self.rest)
        self.cdn = Cdn(self.world)
        self.builder = InteractionBuilder(self.world, self.cdn)
        self.interactions = Interactions(
            self.world,
            self.rest,
            self.builder,
            deadline_seconds=interaction_deadline_seconds,
            token_seconds=interaction_token_seconds,
        )
        # Message commands, modals and user installs: `fake.apps.message_command(...)` and friends.
        self.apps = Apps(self.world, self.builder, self._flush_and_dispatch)
        # Observation: the same objects the parts fill in (requests in order, unmatched (method, path),
        # bugs of the fake answered with 503, (channel id, loop time) typing calls, IDENTIFY payloads).
        self.requests: list[RecordedRequest] = self.rest.requests
        self.unknown_routes: list[tuple[str, str]] = self.rest.unknown_routes
        self.internal_errors: list[Exception] = self.rest.internal_errors
        self.typing: list[tuple[int, float]] = self.rest.typing
        # Discord's global and per-route rate limits, enforced only when switched on.
        self.rate_limits: RateLimits = self.rest.limits
        self.rate_limits.enabled = rate_limits
        self.identify_payloads: list[dict[str, Any]] = self.gateway.identify_payloads
        self.identified: asyncio.Event = self.gateway.identified  # set after READY + GUILD_CREATEs
        self.port = 0
        self._runner: web.AppRunner | None = None
        self._pending: set[asyncio.Task[None]] = set()
        # Forums and their posts, voice channels, roles and who holds them.
        self.server = ServerEdits(self.world, self.gateway, self._spawn)

    # -- lifecycle -----------------------------------------------------------------------------

    async def start(self) -> None:
        """Serve on 127.0.0.1 on a free port."""
        app = web.Application(client_max_size=REQUEST_BODY_LIMIT_BYTES)
        app.router.add_route("GET", "/gateway", self.gateway.handle)
        app.router.add_route("*", "/api/v10/{tail:.*}", self.rest.handle)
        app.router.add_route("GET", "/attachments/{tail:.*}", self.cdn.handle)
        self._runner = web.AppRunner(app)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.port = self._runner.addresses[0][1]
        self.gateway.resume_url = self.gateway_url
        self.cdn.base_url = f"http://127.0.0.1:{self.port}"

    async def close(self) -> None:
        """Close every websocket and stop the server."""
        await self.flush()
        await self.gateway.close_all(1001)
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    @property
    def api_base(self) -> str:
        """Return the REST base URL discord.py should use."""
        return f"http://127.0.0.1:{self.port}/api/v10"

    @property
    def gateway_url(self) -> str:
        """Return the gateway URL discord.py should connect to."""
        return f"ws://127.0.0.1:{self.port}/gateway"

    def patch(self, monkeypatch: pytest.MonkeyPatch) -> None:
        """Point discord.py at this fake for the current test (restored by monkeypatch)."""
        monkeypatch.setattr(discord.http.Route, "BASE", self.api_base)
        monkeypatch.setattr(discord.gateway.DiscordWebSocket, "DEFAULT_GATEWAY", yarl.URL(self.gateway_url))

    def env(self) -> dict[str, str]:
        """Return the env vars a bot subprocess reads to reach this fake."""
        return {"DISCORD_API_BASE": self.api_base, "DISCORD_GATEWAY_URL": self.gateway_url}

    # -- the world -------------------------------------------------------------------------------

    @property
    def bot_user(self) -> FakeUser:
        """Return the bot's user; its id is the application id."""
        return self.world.bot_user

    def add_guild(
        self,
        name: str = "Guild",
        *,
        bot_permissions: int = DEFAULT_BOT_PERMISSIONS,
        shard: tuple[int, int] | None = None,
    ) -> FakeGuild:
        """Add a guild with the bot in it; its role grants exactly `bot_permissions`.

        `shard` = (shard id, shard count): the guild's id is chosen so Discord routes it to that shard.
        """
        guild = self.world.add_guild(name, bot_permissions, shard)
        self._spawn(self.gateway.dispatch_guild_create(guild))
        return guild

    def add_text_channel(self, guild: FakeGuild, name: str = "general", *, bot_deny: int = 0) -> FakeChannel:
        """Add a text channel; `bot_deny` becomes a member overwrite denying those bits to the bot."""
        position = sum(1 for c in self.world.channels.values() if c.guild_id == guild.id)
        channel = FakeChannel(self.world.next_id(), guild.id, name, TEXT_CHANNEL, position=position)
        if bot_deny:
            overwrite = {"id": str(self.bot_user.id), "type": 1, "allow": "0", "deny": str(bot_deny)}
            channel.overwrites.append(overwrite)
        self.world.add_channel(channel)
        self._spawn(self.gateway.dispatch_guild_event("CHANNEL_CREATE", channel_payload(self.world, channel)))
        return channel

    def add_member(
        self, guild: FakeGuild, name: str, *, permissions: int = DEFAULT_MEMBER_PERMISSIONS, bot: bool = False
    ) -> FakeUser:
        """Add a person (or another bot) to the guild with exactly `permissions`."""
        user = self.world.add_user(name, bot)
        self.world.add_member(guild, user, permissions)
        self._spawn(self.gateway.dispatch_member_add(guild, user))
        return user

    def add_user(self, name: str, *, bot: bool = False) -> FakeUser:
        """Add a person who shares no guild with the bot (the bot cannot DM them: 50007)."""
        return self.world.add_user(name, bot)

    def dm_channel(self, user: FakeUser) -> FakeChannel:
        """Return the DM channel between the bot and `user`."""
        return self.world.dm_channel(user)

    def channel(self, channel: FakeChannel | int) -> FakeChannel:
        """Return the FakeChannel for a channel or id (threads the bot created included)."""
        channel_id = channel if isinstance(channel, int) else channel.id
        if channel_id not in self.world.channels:
            raise AssertionError(f"the fake knows no channel {channel_id}")
        return self.world.channels[channel_id]

    def threads_of(self, parent: FakeChannel | int) -> list[FakeChannel]:
        """Return the threads of a channel, oldest first."""
        parent_id = self.channel(parent).id
        return [c for c in self.world.channels.values() if c.is_thread and c.parent_id == parent_id]

    async def archive_thread(self, thread: FakeChannel | int, *, locked: bool = False) -> None:
        """Archive (and optionally lock) a thread as Discord's auto-archive would; dispatch THREAD_UPDATE."""
        await self.flush()
        channel = self.channel(thread)
        channel.archived, channel.locked, channel.archive_timestamp = True, locked, now_iso()
        self.world.notify()
        await self.gateway.dispatch_guild_event("THREAD_UPDATE", channel_payload(self.world, channel))

    async def delete_channel(self, channel: FakeChannel | int) -> None:
        """Delete a channel or thread (as a moderator would) and dispatch THREAD_DELETE or CHANNEL_DELETE."""
        await self.flush()
        gone = self.channel(channel)
        payload = channel_payload(self.world, gone)
        del self.world.channels[gone.id]
        self.world.notify()
        if gone.is_thread:
            data = {"id": str(gone.id), "guild_id": str(gone.guild_id), "parent_id": str(gone.parent_id)}
            await self.gateway.dispatch_guild_event("THREAD_DELETE", {**data, "type": gone.type})
        else:
            await self.gateway.dispatch_guild_event("CHANNEL_DELETE", payload)

    # -- things people do --------------------------------------------------------------------------

    async def user_says(
        self,
        channel: FakeChannel | int,
        author: FakeUser,
        content: str,
        *,
        reply_to: int | None = None,
        ping_reply: bool = True,
        embeds: list[dict[str, Any]] | None = None,
        files: list[FakeFile] | None = None,
    ) -> dict[str, Any]:
        """Post a user's message (its `files` on the CDN) and dispatch MESSAGE_CREATE, mentions as Discord."""
        await self.flush()  # channels and guilds added just before must reach the bot first
        target = self.channel(channel)
        guild = self.world.guilds.get(target.guild_id or 0)
        if guild is not None and author.id not in guild.members:
            raise AssertionError(f"{author.name} is not a member of {guild.name}")
        if target.type == DM_CHANNEL and author.id != target.recipient_id:
            raise AssertionError(f"{author.name} is not the person in this DM")
        reply = None
        if reply_to is not None:
            reply = self.world.messages.get(reply_to)
            if reply is None or int(reply["channel_id"]) not in (target.id, target.parent_id):
                raise AssertionError(f"cannot reply to message {reply_to}: not in this channel")
        can_everyone = bool(self.world.permissions_for(target, author.id) & MENTION_EVERYONE)
        replied_author = int(reply["author"]["id"]) if reply is not None and ping_reply else None
        pinged = compute_pinged(
            self.world,
            target,
            author,
            content,
            None,
            default_parse=ALL_PARSE,
            replied_author_id=replied_author,
        )
        await self.rest.touch_thread(target)
        message = store_message(
            self.world,
            target,
            author,
            {"content": content, "embeds": embeds or []},
            pinged=pinged,
            mention_everyone=can_everyone and bool(EVERYONE_RE.search(content)),
            reply_to=reply,
            ping_replied=ping_reply,
        )
        message["attachments"] = [self.cdn.attachment(str(target.id), file) for file in files or []]
        await self.gateway.dispatch_message("MESSAGE_CREATE", message)
        return message

    async def user_edits(self, message_id: int, content: str) -> dict[str, Any]:
        """Edit a user's message and dispatch MESSAGE_UPDATE."""
        message = self.world.messages[message_id]
        edit_message(self.world, message, {"content": content})
        await self.gateway.dispatch_message("MESSAGE_UPDATE", message)
        return message

    async def user_deletes(self, message_id: int) -> None:
        """Delete a message and dispatch MESSAGE_DELETE."""
        message = self.world.messages[message_id]
        delete_message(self.world, message)
        await self.gateway.dispatch_message_delete(message)

    async def slash(
        self,
        name: str,
        options: dict[str, Any] | None = None,
        *,
        channel: FakeChannel | int,
        author: FakeUser,
        subcommand: str | None = None,
    ) -> FakeInteraction:
        """Run a synced slash command as `author` (AssertionError if Discord would not offer it)."""
        await self.flush()
        interaction = self.builder.build_slash(name, options or {}, self.channel(channel), author, subcommand)
        await self._dispatch_interaction(interaction)
        return interaction

    async def click(
        self, message_id: int, custom_id: str, *, author: FakeUser, values: list[str] | None = None
    ) -> FakeInteraction:
        """Click a button (or pick select values) on a message and dispatch the component interaction."""
        await self.flush()
        message = self.world.messages[message_id]
        interaction = self.builder.build_click(message, custom_id, author, values)
        await self._dispatch_interaction(interaction)
        return interaction

    async def _flush_and_dispatch(self, interaction: FakeInteraction) -> None:
        """Dispatch an interaction once the events scheduled before it have been sent."""
        await self.flush()
        await self._dispatch_interaction(interaction)

    async def _dispatch_interaction(self, interaction: FakeInteraction) -> None:
        """Start the response deadline and send INTERACTION_CREATE to connected bots."""
        if not self.gateway.live_sessions():
            raise AssertionError("no bot is connected to receive the interaction")
        interaction.dispatched_at = asyncio.get_running_loop().time()
        await self.gateway.dispatch("INTERACTION_CREATE", lambda _session: interaction.payload)

    # -- observation ---------------------------------------------------------------------------------

    def messages_in(self, channel: FakeChannel | int) -> list[dict[str, Any]]:
        """Return every message in the channel, oldest first (people's and the bot's)."""
        return [self.world.messages[i] for i in self.world.channel_messages[self.channel(channel).id]]

    def bot_messages(self, channel: FakeChannel | int) -> list[dict[str, Any]]:
        """Return the bot's messages in the channel, including non-ephemeral interaction responses."""
        bot_id = str(self.bot_user.id)
        return [m for m in self.messages_in(channel) if m["author"]["id"] == bot_id]

    async def wait_for(self, predicate: Callable[[], bool], timeout: float = 5.0) -> None:
        """Wait until `predicate()` holds, re-checking at every request handled or event dispatched."""
        await self.world.wait_until(predicate, timeout, self._describe)

    async def wait_for_request(self, method: str, path_regex: str, timeout: float = 5.0) -> RecordedRequest:
        """Wait for the first REST request matching method and `re.search(path_regex, path)`."""
        pattern = re.compile(path_regex)

        def found() -> RecordedRequest | None:
            return next((r for r in self.requests if r.method == method and pattern.search(r.path)), None)

        await self.wait_for(lambda: found() is not None, timeout)
        request = found()
        assert request is not None
        return request

    async def flush(self) -> None:
        """Wait until dispatches scheduled by the synchronous add_* helpers have been sent."""
        while self._pending:
            await asyncio.gather(*list(self._pending))

    async def caught_up(self, timeout: float = 5.0) -> None:
        """Wait until every connected bot has parsed every event sent so far (handlers may still run)."""
        await self.flush()
        await self.gateway.caught_up(timeout)

    def _describe(self) -> str:
        """Summarise recent traffic for timeout messages."""
        recent = [f"{r.method} {r.path} -> {r.status}" for r in self.requests[-8:]]
        events = [event for _, event, _ in self.gateway.dispatched[-8:]]
        return f"recent requests {recent}; recent dispatches {events}; unknown routes {self.unknown_routes}"

    def _spawn(self, coro: Coroutine[Any, Any, None]) -> None:
        """Run a dispatch in the background when a bot is connected (the add_* helpers are synchronous)."""
        if not self.gateway.live_sessions():
            coro.close()
            return
        task = asyncio.get_running_loop().create_task(coro)
        self._pending.add(task)
        task.add_done_callback(self._pending.discard)

    # -- fault hooks ---------------------------------------------------------------------------------

    def fail_next(
        self,
        method: str,
        path_regex: str,
        status: int,
        body: dict[str, Any],
        headers: dict[str, str] | None = None,
        times: int = 1,
    ) -> None:
        """Make the next `times` requests matching method ("*" = any) and path regex fail as scripted.

        For a rate limit discord.py retries, send status 429 with headers {"Via": "1.1 google"} and a
        body with `retry_after` (seconds); without `Via` it is treated as a Cloudflare ban.
        """
        rule = FailRule(method.upper(), re.compile(path_regex), status, body, dict(headers or {}), times)
        self.rest.fail_rules.append(rule)

    async def close_gateway(self, code: int) -> None:
        """Close every gateway connection with `code` (4000 makes discord.py reconnect and RESUME)."""
        await self.gateway.close_all(code)

    async def send_op(self, op: int, d: Any) -> None:
        """Send a raw opcode to every connection (7 RECONNECT, 9 INVALID_SESSION)."""
        await self.gateway.send_op(op, d)
