"""Websocket gateway of the fake Discord: HELLO, IDENTIFY/READY, RESUME, heartbeats and dispatches."""

from __future__ import annotations

import asyncio
import json
import logging
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from aiohttp import WSMsgType, web

from .discord_payloads import guild_payload, member_payload, user_payload, wire
from .discord_world import (
    DM_CHANNEL,
    INTENT_DIRECT_MESSAGES,
    INTENT_GUILD_MEMBERS,
    INTENT_GUILD_MESSAGES,
    INTENT_GUILD_PRESENCES,
    INTENT_GUILDS,
    INTENT_MESSAGE_CONTENT,
    VIEW_CHANNEL,
    FakeGuild,
    FakeUser,
    World,
)

log = logging.getLogger(__name__)

HEARTBEAT_INTERVAL_MS = 41250
# Application flags Discord reports for privileged intents switched on (the "limited" variants,
# which is what an unverified bot in under 100 servers has).
APPLICATION_FLAG_FOR_INTENT = {
    INTENT_GUILD_PRESENCES: 1 << 13,
    INTENT_GUILD_MEMBERS: 1 << 15,
    INTENT_MESSAGE_CONTENT: 1 << 19,
}
OP_DISPATCH, OP_HEARTBEAT, OP_IDENTIFY, OP_RESUME = 0, 1, 2, 6
OP_REQUEST_MEMBERS, OP_INVALID_SESSION, OP_HELLO, OP_HEARTBEAT_ACK = 8, 9, 10, 11
# Events whose payload is the guild itself (its id is "id", not "guild_id").
GUILD_EVENTS = frozenset({"GUILD_CREATE", "GUILD_UPDATE", "GUILD_DELETE"})


def shard_of(guild_id: int, shard_count: int) -> int:
    """Return the shard Discord sends a guild's events to."""
    return (guild_id >> 22) % shard_count


@dataclass
class Session:
    """A gateway session: the intents the bot asked for and the connection its events go to."""

    id: str
    intents: int
    seq: int = 0
    connection: Connection | None = None
    shard: tuple[int, int] | None = None  # [shard_id, shard_count] from IDENTIFY; None = unsharded

    def receives(self, guild_id: int | None) -> bool:
        """Return whether this session gets a guild's events (None: a DM, which only shard 0 gets)."""
        if self.shard is None:
            return True
        shard_id, shard_count = self.shard
        return shard_id == (0 if guild_id is None else shard_of(guild_id, shard_count))


class Connection:
    """One websocket connection from a bot process."""

    def __init__(self, ws: web.WebSocketResponse) -> None:
        self.ws = ws
        self.session: Session | None = None
        # Serialises sends so that sequence numbers reach the bot in increasing order.
        self.lock = asyncio.Lock()
        self.beats = 0
        self.last_beat_seq: int | None = None


class Gateway:
    """Serve `/gateway` and fan dispatches out to live sessions, honouring intents and permissions."""

    def __init__(self, world: World) -> None:
        self.world = world
        self.resume_url = ""
        self.sessions: dict[str, Session] = {}
        self.connections: list[Connection] = []
        self.identify_payloads: list[dict[str, Any]] = []
        self.resume_payloads: list[dict[str, Any]] = []
        self.identified = asyncio.Event()
        # An outage: while True, connections are refused as Cloudflare does when the gateway is down.
        self.refusing = False
        self.refused = 0
        self.recommended_shards = 1  # what GET /gateway/bot tells a bot with no SHARD_COUNT
        # Everything dispatched, as (session id, event name, payload), for debugging and assertions.
        self.dispatched: list[tuple[str, str, dict[str, Any]]] = []

    async def handle(self, request: web.Request) -> web.StreamResponse:
        """Run one websocket connection until either side closes it."""
        if self.refusing:
            self.refused += 1
            self.world.notify()
            return web.Response(status=503, text="upstream connect error")
        ws = web.WebSocketResponse(max_msg_size=0)
        await ws.prepare(request)
        conn = Connection(ws)
        self.connections.append(conn)
        try:
            hello = {"heartbeat_interval": HEARTBEAT_INTERVAL_MS, "_trace": ["fake-discord"]}
            await self._send(conn, {"op": OP_HELLO, "d": hello, "s": None, "t": None})
            async for msg in ws:
                if msg.type is not WSMsgType.TEXT:
                    await ws.close(code=4002, message=b"Error while decoding payload.")
                    break
                await self._on_frame(conn, json.loads(msg.data))
                self.world.notify()
        finally:
            self.connections.remove(conn)
            if conn.session is not None and conn.session.connection is conn:
                conn.session.connection = None
            self.world.notify()
        return ws

    async def _on_frame(self, conn: Connection, frame: dict[str, Any]) -> None:
        """Answer one client frame the way Discord does."""
        op = frame.get("op")
        data: Any = frame.get("d")
        if op == OP_HEARTBEAT:
            conn.beats += 1
            conn.last_beat_seq = data
            await self._send(conn, {"op": OP_HEARTBEAT_ACK, "d": None, "s": None, "t": None})
        elif op == OP_IDENTIFY:
            await self._identify(conn, data or {})
        elif op == OP_RESUME:
            await self._resume(conn, data or {})
        elif conn.session is None:
            await conn.ws.close(code=4003, message=b"Not authenticated.")
        elif op == OP_REQUEST_MEMBERS:
            await self._request_members(conn.session, data or {})
        elif op not in (3, 4):  # presence and voice state updates are accepted and ignored
            await conn.ws.close(code=4001, message=b"Unknown opcode.")

    async def _identify(self, conn: Connection, data: dict[str, Any]) -> None:
        """Check token and intents, then send READY and one GUILD_CREATE per guild."""
        self.identify_payloads.append(data)
        if conn.session is not None:
            await conn.ws.close(code=4005, message=b"Already authenticated.")
            return
        if data.get("token") != self.world.token:
            await conn.ws.close(code=4004, message=b"Authentication failed.")
            return
        intents = data.get("intents")
        if not isinstance(intents, int):
            await conn.ws.close(code=4013, message=b"Invalid intent(s).")
            return
        if any(intents & bit and not on for bit, on in self.world.privileged_enabled.items()):
            await conn.ws.close(code=4014, message=b"Disallowed intent(s).")
            return
        shard = data.get("shard")
        if shard is not None and not (
            isinstance(shard, list) and len(shard) == 2 and 0 <= shard[0] < shard[1]
        ):
            await conn.ws.close(code=4010, message=b"Invalid shard.")
            return
        session = Session(
            uuid.uuid4().hex, intents, connection=conn, shard=None if shard is None else (shard[0], shard[1])
        )
        conn.session = session
        self.sessions[session.id] = session
        await self._send_dispatch(session, "READY", self._ready_payload(session, data))
        for guild in list(self.world.guilds.values()):
            if session.receives(guild.id):
                await self._send_dispatch(session, "GUILD_CREATE", self.guild_create(session, guild))
        self.identified.set()

    def _ready_payload(self, session: Session, identify: dict[str, Any]) -> dict[str, Any]:
        """Build READY: the bot user, unavailable guilds, the session and where to resume."""
        flags = sum(f for bit, f in APPLICATION_FLAG_FOR_INTENT.items() if self.world.privileged_enabled[bit])
        bot = self.world.bot_user
        payload: dict[str, Any] = {
            "v": 10,
            "user": {**user_payload(bot), "verified": True, "mfa_enabled": False, "flags": 0, "email": None},
            "guilds": [{"id": str(g), "unavailable": True} for g in self.world.guilds if session.receives(g)],
            "session_id": session.id,
            "session_type": "normal",
            "resume_gateway_url": self.resume_url,
            "application": {"id": str(bot.id), "flags": flags},
            "private_channels": [],
            "relationships": [],
            "presences": [],
            "guild_join_requests": [],
            "geo_ordered_rtc_regions": [],
            "user_settings": {},
            "_trace": ["fake-discord"],
        }
        if "shard" in identify:
            payload["shard"] = identify["shard"]
        return payload

    def guild_create(self, session: Session, guild: FakeGuild) -> dict[str, Any]:
        """Build GUILD_CREATE for a session; all members only with the GUILD_MEMBERS intent."""
        return guild_payload(self.world, guild, all_members=bool(session.intents & INTENT_GUILD_MEMBERS))

    async def _resume(self, conn: Connection, data: dict[str, Any]) -> None:
        """Re-attach a session to this connection; nothing is replayed."""
        self.resume_payloads.append(data)
        session = self.sessions.get(data.get("session_id", ""))
        if data.get("token") != self.world.token:
            await conn.ws.close(code=4004, message=b"Authentication failed.")
        elif session is None:
            await self._send(conn, {"op": OP_INVALID_SESSION, "d": False, "s": None, "t": None})
        else:
            conn.session = session
            session.connection = conn
            await self._send_dispatch(session, "RESUMED", {"_trace": ["fake-discord"]})

    async def _request_members(self, session: Session, data: dict[str, Any]) -> None:
        """Answer op 8 with a single GUILD_MEMBERS_CHUNK."""
        guild = self.world.guilds.get(int(data.get("guild_id", 0)))
        if guild is None:
            return
        query = (data.get("query") or "").lower()
        wanted = {int(u) for u in data.get("user_ids") or []}
        users = [self.world.users[uid] for uid in guild.members]
        users = [u for u in users if (u.id in wanted if wanted else u.name.lower().startswith(query))]
        chunk: dict[str, Any] = {
            "guild_id": str(guild.id),
            "members": [member_payload(guild, u) for u in users],
            "chunk_index": 0,
            "chunk_count": 1,
            "not_found": [],
        }
        if data.get("nonce") is not None:
            chunk["nonce"] = data["nonce"]
        await self._send_dispatch(session, "GUILD_MEMBERS_CHUNK", chunk)

    async def _send(self, conn: Connection, frame: dict[str, Any]) -> None:
        """Send one TEXT frame (discord.py only decompresses BINARY frames)."""
        try:
            await conn.ws.send_str(json.dumps(frame))
        except (ConnectionResetError, RuntimeError) as exc:
            log.debug("fake gateway: dropped frame to a closing socket: %s", exc)

    async def _send_dispatch(self, session: Session, event: str, data: dict[str, Any]) -> None:
        """Send one op 0 dispatch with the session's next sequence number; lost if disconnected."""
        conn = session.connection
        if conn is None or conn.ws.closed:
            return
        async with conn.lock:
            session.seq += 1
            await self._send(conn, {"op": OP_DISPATCH, "t": event, "s": session.seq, "d": data})
        self.dispatched.append((session.id, event, data))
        self.world.notify()

    # -- fan-out used by REST handlers and the facade ------------------------------------------

    def live_sessions(self) -> list[Session]:
        """Return the sessions that currently have a connection."""
        return [s for s in self.sessions.values() if s.connection is not None and not s.connection.ws.closed]

    async def dispatch(self, event: str, build: Callable[[Session], dict[str, Any] | None]) -> None:
        """Dispatch `event` to the live sessions of its guild's shard; `build` gives the payload or None."""
        for session in self.live_sessions():
            data = build(session)
            if data is not None and session.receives(_guild_of(event, data)):
                await self._send_dispatch(session, event, data)

    async def dispatch_guild_event(self, event: str, data: dict[str, Any]) -> None:
        """Dispatch a guild-level event (channels, threads) to sessions with the GUILDS intent."""
        await self.dispatch(event, lambda s: data if s.intents & INTENT_GUILDS else None)

    async def dispatch_message(self, event: str, message: dict[str, Any]) -> None:
        """Dispatch MESSAGE_CREATE/UPDATE, filtered by intents and VIEW_CHANNEL, blanked without content."""
        channel = self.world.channels[int(message["channel_id"])]
        needed = INTENT_DIRECT_MESSAGES if channel.type == DM_CHANNEL else INTENT_GUILD_MESSAGES
        visible = channel.type == DM_CHANNEL or bool(
            self.world.permissions_for(channel, self.world.bot_user.id) & VIEW_CHANNEL
        )

        def build(session: Session) -> dict[str, Any] | None:
            if not (session.intents & needed and visible):
                return None
            return wire(self.world, message, blank=not session.intents & INTENT_MESSAGE_CONTENT)

        await self.dispatch(event, build)

    async def dispatch_message_delete(self, message: dict[str, Any]) -> None:
        """Dispatch MESSAGE_DELETE with the same intent filtering as creates."""
        channel = self.world.channels[int(message["channel_id"])]
        needed = INTENT_DIRECT_MESSAGES if channel.type == DM_CHANNEL else INTENT_GUILD_MESSAGES
        data: dict[str, Any] = {k: message[k] for k in ("id", "channel_id", "guild_id") if k in message}
        await self.dispatch("MESSAGE_DELETE", lambda s: data if s.intents & needed else None)

    async def dispatch_guild_create(self, guild: FakeGuild) -> None:
        """Dispatch GUILD_CREATE for a guild added while connected."""
        await self.dispatch("GUILD_CREATE", lambda s: self.guild_create(s, guild))

    async def dispatch_member_add(self, guild: FakeGuild, user: FakeUser) -> None:
        """Dispatch GUILD_MEMBER_ADD to sessions with the GUILD_MEMBERS intent."""
        data = {**member_payload(guild, user), "guild_id": str(guild.id)}
        await self.dispatch("GUILD_MEMBER_ADD", lambda s: data if s.intents & INTENT_GUILD_MEMBERS else None)

    # -- fault hooks ----------------------------------------------------------------------------

    async def send_op(self, op: int, data: Any) -> None:
        """Send a raw opcode (7 RECONNECT, 9 INVALID_SESSION, 1 HEARTBEAT) to every connection."""
        for conn in list(self.connections):
            await self._send(conn, {"op": op, "d": data, "s": None, "t": None})

    async def close_all(self, code: int) -> None:
        """Close every connection with `code` (4000 makes discord.py RESUME)."""
        for conn in list(self.connections):
            await conn.ws.close(code=code, message=b"closed by the fake")

    async def caught_up(self, timeout: float) -> None:
        """Wait until every connected bot has parsed all dispatches sent so far (a heartbeat barrier)."""
        targets = [(c, c.beats, c.session.seq) for c in self.connections if c.session is not None]
        for conn, _, _ in targets:
            # A server op 1 makes discord.py beat at once, after the frames before it were parsed.
            await self._send(conn, {"op": OP_HEARTBEAT, "d": None, "s": None, "t": None})

        def done() -> bool:
            return all(c.ws.closed or (c.beats > n and (c.last_beat_seq or 0) >= s) for c, n, s in targets)

        await self.world.wait_until(done, timeout, lambda: "the bot to acknowledge the heartbeat barrier")


def _guild_of(event: str, data: dict[str, Any]) -> int | None:
    """Return the guild an event belongs to, which decides its shard (None: a DM)."""
    guild_id = data.get("id") if event in GUILD_EVENTS else data.get("guild_id")
    return None if guild_id is None else int(guild_id)
