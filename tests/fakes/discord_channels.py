"""Channel routes of the fake Discord: channels, messages, typing, threads and DMs."""

from __future__ import annotations

import asyncio
from typing import Any

from .discord_messages import (
    ApiError,
    compute_pinged,
    delete_message,
    edit_message,
    empty_message,
    form_error,
    is_empty,
    store_message,
    validate_body,
)
from .discord_payloads import channel_payload, wire
from .discord_rest import ALL_PARSE, Call, Reply, Rest
from .discord_world import (
    ATTACH_FILES,
    CREATE_PRIVATE_THREADS,
    CREATE_PUBLIC_THREADS,
    DM_CHANNEL,
    MANAGE_MESSAGES,
    MANAGE_THREADS,
    PRIVATE_THREAD,
    PUBLIC_THREAD,
    READ_MESSAGE_HISTORY,
    SEND_MESSAGES_IN_THREADS,
    TEXT_CHANNEL,
    FakeChannel,
)

THREAD_ARCHIVE_MINUTES = (60, 1440, 4320, 10080)
HISTORY_MAX_LIMIT = 100


class ChannelRoutes:
    """Serve what a bot does in channels, with Discord's permission and validation rules."""

    def __init__(self, rest: Rest) -> None:
        self.rest = rest
        self.world = rest.world
        cid, mid = r"/channels/(?P<cid>\d+)", r"/messages/(?P<mid>\d+)"
        rest.route("GET", cid, self.get_channel)
        rest.route("GET", cid + "/messages", self.list_messages)
        rest.route("POST", cid + "/messages", self.create_message)
        rest.route("GET", cid + mid, self.get_message)
        rest.route("PATCH", cid + mid, self.patch_message)
        rest.route("DELETE", cid + mid, self.delete_message)
        rest.route("POST", cid + "/typing", self.trigger_typing)
        rest.route("POST", cid + mid + "/threads", self.thread_from_message)
        rest.route("POST", cid + "/threads", self.thread_without_message)
        rest.route("PUT", cid + r"/thread-members/(?P<uid>\d+)", self.add_thread_member)
        rest.route("POST", r"/users/@me/channels", self.open_dm)

    async def get_channel(self, call: Call) -> Reply:
        """Return a channel or thread."""
        channel = self.rest.channel(call.id("cid"))
        self.rest.require(channel, 0)
        return 200, channel_payload(self.world, channel)

    async def open_dm(self, call: Call) -> Reply:
        """Open (or return) the DM channel with a user."""
        user = self.world.users.get(int((call.body or {}).get("recipient_id", 0)))
        if user is None:
            raise ApiError(404, 10013, "Unknown User")
        return 200, channel_payload(self.world, self.world.dm_channel(user))

    def _wire_for_rest(self, message: dict[str, Any]) -> dict[str, Any]:
        """Blank content on REST reads too when the portal intent is off, as Discord does."""
        return wire(self.world, message, blank=not self.world.message_content_enabled)

    async def list_messages(self, call: Call) -> Reply:
        """Return channel history, newest first, honouring limit/before/after/around."""
        channel = self.rest.channel(call.id("cid"))
        self.rest.require(channel, READ_MESSAGE_HISTORY)
        limit = int(call.query.get("limit", 50))
        if not 1 <= limit <= HISTORY_MAX_LIMIT:
            raise form_error(("limit",), "NUMBER_TYPE_MAX", "int value should be between 1 and 100.")
        ids = sorted(self.world.channel_messages[channel.id])
        if "around" in call.query:
            pivot = int(call.query["around"])
            before = [i for i in ids if i < pivot][-(limit // 2) :] if limit > 1 else []
            ids = before + [i for i in ids if i >= pivot][: limit - len(before)]
        elif "after" in call.query:
            ids = [i for i in ids if i > int(call.query["after"])][:limit]
        else:
            ids = [i for i in ids if i < int(call.query.get("before", 1 << 63))][-limit:]
        return 200, [self._wire_for_rest(self.world.messages[i]) for i in reversed(ids)]

    async def get_message(self, call: Call) -> Reply:
        """Return one message."""
        channel = self.rest.channel(call.id("cid"))
        self.rest.require(channel, READ_MESSAGE_HISTORY)
        return 200, self._wire_for_rest(self.rest.message_in(channel, call.id("mid")))

    async def create_message(self, call: Call) -> Reply:
        """Post a message as the bot, enforcing permissions, limits, replies and recording pings."""
        channel = self.rest.channel(call.id("cid"))
        self.rest.require(channel, self.rest.send_permission(channel) | (ATTACH_FILES if call.files else 0))
        if channel.type == DM_CHANNEL and not self._shares_guild(channel.recipient_id or 0):
            raise ApiError(403, 50007, "Cannot send messages to this user")
        body = call.body or {}
        validate_body(body)
        if is_empty({**body, "attachments": call.files}):
            raise empty_message()
        reply_to = self._reply_target(channel, body.get("message_reference"))
        if channel.is_thread and channel.archived and channel.locked:
            perms = self.world.permissions_for(channel, self.world.bot_user.id)
            if not perms & MANAGE_THREADS:
                raise ApiError(400, 160005, "Thread is locked")
        nonce = body.get("nonce")
        if body.get("enforce_nonce") and nonce is not None:
            for message_id in self.world.channel_messages[channel.id]:
                earlier = self.world.messages[message_id]
                if earlier.get("nonce") == nonce and earlier["author"]["id"] == str(self.world.bot_user.id):
                    return 200, wire(self.world, earlier)
        await self.rest.touch_thread(channel)
        bot = self.world.bot_user
        allowed = body.get("allowed_mentions")
        replied_author = None if reply_to is None else int(reply_to["author"]["id"])
        pinged = compute_pinged(
            self.world,
            channel,
            bot,
            body.get("content") or "",
            allowed,
            default_parse=ALL_PARSE,
            replied_author_id=replied_author,
        )
        message = store_message(
            self.world,
            channel,
            bot,
            body,
            pinged=pinged,
            mention_everyone=any(p in ("@everyone", "@here") for p in pinged),
            reply_to=reply_to,
            ping_replied=allowed is None or bool(allowed.get("replied_user")),
            files=call.files,
        )
        await self.rest.gateway.dispatch_message("MESSAGE_CREATE", message)
        return 200, wire(self.world, message)

    def _shares_guild(self, user_id: int) -> bool:
        """Tell whether the bot and this user are in a common guild (needed to DM them)."""
        return any(user_id in g.members for g in self.world.guilds.values())

    def _reply_target(self, channel: FakeChannel, reference: dict[str, Any] | None) -> dict[str, Any] | None:
        """Resolve message_reference; unknown targets fail unless fail_if_not_exists is false."""
        if reference is None:
            return None
        target = self.world.messages.get(int(reference.get("message_id", 0)))
        if target is not None and int(target["channel_id"]) in (channel.id, channel.parent_id):
            return target
        if reference.get("fail_if_not_exists", True):
            raise form_error(("message_reference",), "REPLIES_UNKNOWN_MESSAGE", "Unknown message")
        return None

    async def patch_message(self, call: Call) -> Reply:
        """Edit one of the bot's messages; dispatch MESSAGE_UPDATE."""
        channel = self.rest.channel(call.id("cid"))
        self.rest.require(channel, 0)
        message = self.rest.message_in(channel, call.id("mid"))
        if message["author"]["id"] != str(self.world.bot_user.id):
            raise ApiError(403, 50005, "Cannot edit a message authored by another user")
        if channel.is_thread and channel.archived:
            raise ApiError(400, 50083, "Thread is archived")
        body = call.body or {}
        validate_body(body)
        edit_message(self.world, message, body, files=call.files, default_parse=ALL_PARSE)
        await self.rest.gateway.dispatch_message("MESSAGE_UPDATE", message)
        return 200, wire(self.world, message)

    async def delete_message(self, call: Call) -> Reply:
        """Delete the bot's own message, or anyone's with MANAGE_MESSAGES."""
        channel = self.rest.channel(call.id("cid"))
        message = self.rest.message_in(channel, call.id("mid"))
        if message["author"]["id"] != str(self.world.bot_user.id):
            self.rest.require(channel, MANAGE_MESSAGES)
        delete_message(self.world, message)
        await self.rest.gateway.dispatch_message_delete(message)
        return 204, None

    async def trigger_typing(self, call: Call) -> Reply:
        """Record a typing indicator."""
        channel = self.rest.channel(call.id("cid"))
        self.rest.require(channel, self.rest.send_permission(channel))
        self.rest.typing.append((channel.id, asyncio.get_running_loop().time()))
        return 204, None

    # -- threads ---------------------------------------------------------------------------------

    async def thread_from_message(self, call: Call) -> Reply:
        """Start a public thread on a message; the thread id is the message id (160004 if taken)."""
        parent = self.rest.channel(call.id("cid"))
        if parent.type != TEXT_CHANNEL:
            raise ApiError(400, 50024, "Cannot execute action on this channel type")
        self.rest.require(parent, CREATE_PUBLIC_THREADS | READ_MESSAGE_HISTORY)
        message = self.rest.message_in(parent, call.id("mid"))
        if int(message["id"]) in self.world.channels:
            raise ApiError(400, 160004, "A thread has already been created for this message")
        return 201, await self._new_thread(parent, call.body or {}, int(message["id"]), PUBLIC_THREAD)

    async def thread_without_message(self, call: Call) -> Reply:
        """Start a thread with no starter message; `type` defaults to PRIVATE_THREAD like Discord."""
        parent = self.rest.channel(call.id("cid"))
        if parent.type != TEXT_CHANNEL:
            raise ApiError(400, 50024, "Cannot execute action on this channel type")
        body = call.body or {}
        kind = body.get("type") or PRIVATE_THREAD
        if kind not in (PUBLIC_THREAD, PRIVATE_THREAD):
            raise form_error(("type",), "BASE_TYPE_CHOICES", "Value must be one of (11, 12).")
        self.rest.require(parent, CREATE_PUBLIC_THREADS if kind == PUBLIC_THREAD else CREATE_PRIVATE_THREADS)
        return 201, await self._new_thread(parent, body, self.world.next_id(), kind)

    async def add_thread_member(self, call: Call) -> Reply:
        """Add a member to a thread (needs the bot to be able to post there; 50083 if archived)."""
        thread = self.rest.channel(call.id("cid"))
        if not thread.is_thread:
            raise ApiError(400, 50024, "Cannot execute action on this channel type")
        if thread.archived:
            raise ApiError(400, 50083, "Thread is archived")
        self.rest.require(thread, SEND_MESSAGES_IN_THREADS)
        user_id = call.id("uid")
        if user_id not in self.world.users:
            raise ApiError(404, 10013, "Unknown User")
        thread.member_ids.add(user_id)
        return 204, None

    async def _new_thread(self, parent: FakeChannel, body: dict[str, Any], thread_id: int, kind: int) -> Any:
        """Validate the name and archive duration, store the thread and dispatch THREAD_CREATE."""
        name = body.get("name")
        if not isinstance(name, str) or not 1 <= len(name) <= 100:
            raise form_error(("name",), "BASE_TYPE_BAD_LENGTH", "Must be between 1 and 100 in length.")
        duration = body.get("auto_archive_duration") or 1440
        if duration not in THREAD_ARCHIVE_MINUTES:
            raise form_error(
                ("auto_archive_duration",),
                "BASE_TYPE_CHOICES",
                "Value must be one of {60, 1440, 4320, 10080}.",
            )
        bot_id = self.world.bot_user.id
        thread = FakeChannel(
            thread_id,
            parent.guild_id,
            name,
            kind,
            parent_id=parent.id,
            owner_id=bot_id,
            auto_archive_duration=duration,
            invitable=bool(body.get("invitable", True)),
            member_ids={bot_id},
        )
        self.world.add_channel(thread)
        payload = channel_payload(self.world, thread)
        await self.rest.gateway.dispatch_guild_event("THREAD_CREATE", {**payload, "newly_created": True})
        return payload
