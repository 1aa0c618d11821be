"""REST core of the fake Discord: routing, auth, recording, injected failures, login and commands."""

from __future__ import annotations

import asyncio
import json
import logging
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from .discord_gateway import Gateway
from .discord_limits import RateLimits
from .discord_messages import (
    ApiError,
    form_error,
    missing_access,
    missing_permissions,
    unknown_channel,
    unknown_message,
)
from .discord_payloads import channel_payload, user_payload
from .discord_world import (
    ATTACHMENT_SIZE_LIMIT_BYTES,
    SEND_MESSAGES,
    SEND_MESSAGES_IN_THREADS,
    VIEW_CHANNEL,
    FakeChannel,
    RecordedRequest,
    World,
    now_iso,
)

log = logging.getLogger(__name__)

ALL_PARSE = ("users", "roles", "everyone")
# The application flag the portal's Message Content switch sets for a bot in under 100 servers.
GATEWAY_MESSAGE_CONTENT_LIMITED = 1 << 19
GUILD_PAGE_LIMIT = 200
COMMAND_NAME_RE = re.compile(r"^[-_\w]{1,32}$")


@dataclass
class Call:
    """One parsed REST request as a route handler sees it."""

    match: re.Match[str]
    body: Any
    files: list[dict[str, Any]]
    query: dict[str, str]

    def id(self, name: str) -> int:
        """Return a numeric path parameter."""
        return int(self.match[name])


Reply = tuple[int, Any]
Handler = Callable[[Call], Awaitable[Reply]]


@dataclass
class FailRule:
    """A scripted failure for the next matching request(s)."""

    method: str
    path_regex: re.Pattern[str]
    status: int
    body: dict[str, Any]
    headers: dict[str, str] = field(default_factory=dict)
    times: int = 1


def json_response(status: int, data: Any, headers: dict[str, str] | None = None) -> web.Response:
    """Build a response whose Content-Type is exactly application/json (discord.py compares with ==)."""
    if status == 204 or data is None:
        return web.Response(status=status, headers=headers)
    body = json.dumps(data).encode()
    return web.Response(
        status=status, body=body, headers={"Content-Type": "application/json", **(headers or {})}
    )


class Rest:
    """Route table, request log and the login and command routes; other modules add their routes."""

    def __init__(self, world: World, gateway: Gateway) -> None:
        self.world = world
        self.gateway = gateway
        self.routes: list[tuple[str, re.Pattern[str], Handler, bool]] = []
        self.requests: list[RecordedRequest] = []
        self.unknown_routes: list[tuple[str, str]] = []
        self.typing: list[tuple[int, float]] = []
        self.fail_rules: list[FailRule] = []
        self.internal_errors: list[Exception] = []
        self.limits = RateLimits()
        bot_routes: list[tuple[str, str, Handler]] = [
            ("GET", r"/gateway/bot", self.get_gateway_bot),
            ("GET", r"/users/@me", self.get_me),
            ("GET", r"/users/@me/guilds", self.get_my_guilds),
            ("GET", r"/oauth2/applications/@me", self.get_application),
            ("PUT", r"/applications/(?P<app>\d+)(?:/guilds/(?P<gid>\d+))?/commands", self.put_commands),
            ("GET", r"/applications/(?P<app>\d+)(?:/guilds/(?P<gid>\d+))?/commands", self.get_commands),
        ]
        for method, pattern, handler in bot_routes:
            self.route(method, pattern, handler)

    def route(self, method: str, pattern: str, handler: Handler, *, auth: bool = True) -> None:
        """Register a handler; `auth` routes require `Authorization: Bot <token>`."""
        self.routes.append((method, re.compile(pattern + "$"), handler, auth))

    async def handle(self, request: web.Request) -> web.Response:
        """Record, authenticate, route and answer one request under /api/v10."""
        path = "/" + request.match_info["tail"]
        record = RecordedRequest(
            request.method,
            path,
            dict(request.query),
            None,
            dict(request.headers),
            asyncio.get_running_loop().time(),
        )
        self.requests.append(record)
        headers: dict[str, str] = {}
        try:
            record.json, record.files = await self._read_body(request)
            # Admitted in the order requests are read, each at that moment (not when it arrived).
            admitted_at = asyncio.get_running_loop().time()
            limited = self.limits.admit(request.method, path, admitted_at)
            if limited is not None:
                status, data, headers = limited
            else:
                status, data, headers = await self._answer(request, path, record)
                headers = {**self.limits.headers(request.method, path, admitted_at), **headers}
        except ApiError as exc:
            status, data = exc.status, exc.body
        except Exception as exc:
            # A bug in the fake: 503 is not retried by discord.py, so the test fails fast and loudly.
            log.exception("fake discord: internal error on %s %s", request.method, path)
            self.internal_errors.append(exc)
            status, data = 503, {"code": 0, "message": f"fake discord internal error: {exc!r}"}
        record.status = status
        self.limits.saw(status)
        self.world.notify()
        return json_response(status, data, headers)

    async def _answer(
        self, request: web.Request, path: str, record: RecordedRequest
    ) -> tuple[int, Any, dict]:
        """Apply scripted failures, then auth, then the matching handler."""
        for rule in self.fail_rules:
            if rule.times > 0 and rule.method in (request.method, "*") and rule.path_regex.search(path):
                rule.times -= 1
                return rule.status, rule.body, rule.headers
        for method, pattern, handler, auth in self.routes:
            match = pattern.match(path)
            if match is None or method != request.method:
                continue
            if auth and request.headers.get("Authorization") != f"Bot {self.world.token}":
                return 401, {"code": 0, "message": "401: Unauthorized"}, {}
            status, data = await handler(Call(match, record.json, record.files, record.query))
            return status, data, {}
        log.warning("fake discord: unknown route %s %s", request.method, path)
        self.unknown_routes.append((request.method, path))
        return 404, {"code": 0, "message": "404: Not Found"}, {}

    async def _read_body(self, request: web.Request) -> tuple[Any, list[dict[str, Any]]]:
        """Parse a JSON body, or a multipart body with `payload_json` and `files[n]`."""
        if request.content_type.startswith("multipart/"):
            form = await request.post()
            files = [
                {"field": k, "filename": v.filename, "content_type": v.content_type, "data": v.file.read()}
                for k, v in form.items()
                if isinstance(v, web.FileField)
            ]
            if sum(len(f["data"]) for f in files) > ATTACHMENT_SIZE_LIMIT_BYTES:
                raise ApiError(413, 40005, "Request entity too large")
            raw = form.get("payload_json")
            return (json.loads(raw) if isinstance(raw, str) else None), files
        text = await request.text()
        if not text:
            return None, []
        try:
            return json.loads(text), []
        except json.JSONDecodeError:
            raise ApiError(400, 50109, "The request body contains invalid JSON.") from None

    # -- helpers shared with interactions and the facade -----------------------------------------

    def channel(self, channel_id: int) -> FakeChannel:
        """Return a known channel or raise 10003."""
        channel = self.world.channels.get(channel_id)
        if channel is None:
            raise unknown_channel()
        return channel

    def require(self, channel: FakeChannel, needed: int) -> None:
        """Raise 50001 if the bot cannot see the channel, 50013 if it lacks `needed`."""
        perms = self.world.permissions_for(channel, self.world.bot_user.id)
        if not perms & VIEW_CHANNEL:
            raise missing_access()
        if perms & needed != needed:
            raise missing_permissions()

    def message_in(self, channel: FakeChannel, message_id: int) -> dict[str, Any]:
        """Return a message of this channel or raise 10008."""
        message = self.world.messages.get(message_id)
        if message is None or int(message["channel_id"]) != channel.id:
            raise unknown_message()
        return message

    async def touch_thread(self, channel: FakeChannel) -> None:
        """Posting in an archived, unlocked thread unarchives it (THREAD_UPDATE), as on Discord."""
        if channel.is_thread and channel.archived and not channel.locked:
            channel.archived = False
            channel.archive_timestamp = now_iso()
            await self.gateway.dispatch_guild_event("THREAD_UPDATE", channel_payload(self.world, channel))

    def send_permission(self, channel: FakeChannel) -> int:
        """Return the permission needed to post in this channel."""
        return SEND_MESSAGES_IN_THREADS if channel.is_thread else SEND_MESSAGES

    # -- users, application, commands ------------------------------------------------------------

    async def get_gateway_bot(self, call: Call) -> Reply:
        """Return where to connect and how many shards Discord recommends (AutoShardedClient asks)."""
        limit = {"total": 1000, "remaining": 999, "reset_after": 86_400_000, "max_concurrency": 1}
        return 200, {
            "url": self.gateway.resume_url,
            "shards": self.gateway.recommended_shards,
            "session_start_limit": limit,
        }

    async def get_me(self, call: Call) -> Reply:
        """Return the bot user (discord.py's login call)."""
        bot = self.world.bot_user
        return 200, {**user_payload(bot), "verified": True, "mfa_enabled": False, "flags": 0, "email": None}

    async def get_my_guilds(self, call: Call) -> Reply:
        """Return the bot's guilds as partial guilds, by id, paged like Discord (`after`, `limit`)."""
        limit, after = int(call.query.get("limit", GUILD_PAGE_LIMIT)), int(call.query.get("after", 0))
        if not 1 <= limit <= GUILD_PAGE_LIMIT:
            raise form_error(("limit",), "NUMBER_TYPE_MAX", f"Must be 1 to {GUILD_PAGE_LIMIT}.")
        bot_id = self.world.bot_user.id
        mine = sorted(g.id for g in self.world.guilds.values() if bot_id in g.members and g.id > after)
        guilds = [self.world.guilds[guild_id] for guild_id in mine[:limit]]
        return 200, [
            {
                "id": str(guild.id),
                "name": guild.name,
                "icon": None,
                "owner": guild.owner_id == bot_id,
                "permissions": str(self.world.guild_permissions(guild, bot_id)),
                "features": [],
            }
            for guild in guilds
        ]

    async def get_application(self, call: Call) -> Reply:
        """Return the application (discord.py reads its id as application_id)."""
        bot = self.world.bot_user
        owner = user_payload(self.world.app_owner)
        application: dict[str, Any] = {
            "id": str(bot.id),
            "name": bot.name,
            "icon": None,
            "description": "",
            "summary": "",
            "bot_public": True,
            "bot_require_code_grant": False,
            "verify_key": "0" * 64,
            "owner": owner,
            "team": None,
            "flags": GATEWAY_MESSAGE_CONTENT_LIMITED if self.world.message_content_enabled else 0,
            "bot": user_payload(bot),
            "rpc_origins": [],
        }
        return 200, application

    def _scope(self, call: Call) -> int | None:
        """Check the application id and return the command scope (None = global)."""
        if call.id("app") != self.world.bot_user.id:
            raise ApiError(403, 50001, "Missing Access")
        gid = call.match["gid"]
        if gid is not None and int(gid) not in self.world.guilds:
            raise ApiError(403, 50001, "Missing Access")
        return None if gid is None else int(gid)

    async def put_commands(self, call: Call) -> Reply:
        """Bulk-overwrite commands, validating names, descriptions and option counts like Discord."""
        scope = self._scope(call)
        body = call.body or []
        seen: set[str] = set()
        for index, command in enumerate(body):
            name = command.get("name", "")
            if command.get("type", 1) == 1 and not (COMMAND_NAME_RE.match(name) and name == name.lower()):
                raise form_error((str(index), "name"), "APPLICATION_COMMAND_INVALID_NAME", "Invalid name")
            if command.get("type", 1) == 1 and not 1 <= len(command.get("description", "")) <= 100:
                raise form_error((str(index), "description"), "BASE_TYPE_BAD_LENGTH", "Must be 1-100 long.")
            if len(command.get("options") or []) > 25:
                raise form_error((str(index), "options"), "BASE_TYPE_MAX_LENGTH", "Must be 25 or fewer.")
            if name in seen:
                raise form_error(
                    (str(index), "name"), "APPLICATION_COMMANDS_DUPLICATE_NAME", "Duplicate name"
                )
            seen.add(name)
        return 200, self.world.sync_commands(scope, body)

    async def get_commands(self, call: Call) -> Reply:
        """Return the synced commands of one scope."""
        return 200, list(self.world.commands.get(self._scope(call), {}).values())
