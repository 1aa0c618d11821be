"""Preflight checks of Discord: the token, the Message Content intent and the servers the bot is in.

Plain GETs over the preflight's session, with ``Authorization: Bot <token>``, to
``DISCORD_API_BASE`` when set, else discord.py's own base: discord.py's HTTP client would need its
process-global ``Route.BASE`` patched and a login, and brings retries a preflight does not want.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

import aiohttp
import discord
import yarl

from assistant.preflight.results import CheckFailed, CheckResult, Status, Unreachable, http_get, skipped
from assistant.settings import Settings

LOGIN, INTENT, SERVERS = "Discord token", "Message Content intent", "Servers"
INVITE_PERMISSIONS = 309237713920  # view channels, send, send in threads, create public threads, history
GUILD_PAGE_LIMIT = 200  # Discord's largest page of GET /users/@me/guilds
# Application flags: the portal's Message Content switch sets one of them (LIMITED below 100 servers).
GATEWAY_MESSAGE_CONTENT = 1 << 18
GATEWAY_MESSAGE_CONTENT_LIMITED = 1 << 19
REJECTED_FIX = "copy DISCORD_TOKEN again from the Developer Portal → Bot → Reset Token"
INTENT_FIX = "Developer Portal → your application → Bot → Privileged Gateway Intents → Message Content Intent"
USER_AGENT = f"DiscordBot (https://github.com/Rapptz/discord.py, {discord.__version__})"

Get = Callable[..., Awaitable[Any]]


async def check_discord(
    settings: Settings, session: aiohttp.ClientSession, timeout_seconds: float
) -> list[CheckResult]:
    """Check the token, then what it unlocks: the Message Content intent and the bot's servers."""
    base = settings.discord_api_base or discord.http.Route.BASE
    headers = {"Authorization": "Bot " + settings.discord_token.reveal(), "User-Agent": USER_AGENT}

    async def get(path: str, **params: int) -> Any:
        return await _discord_get(session, base + path, headers, timeout_seconds, params)

    try:
        me = await get("/users/@me")
    except CheckFailed as exc:
        return [exc.result(LOGIN), skipped(INTENT, "DISCORD_TOKEN"), skipped(SERVERS, "DISCORD_TOKEN")]
    login = CheckResult(Status.OK, LOGIN, f"accepted: logged in as {me.get('username')} (id {me.get('id')})")
    try:
        application = await get("/oauth2/applications/@me")
    except CheckFailed as exc:
        # For every bot made since 2016 the application id is the bot's user id: the invite still works.
        intent, application_id = exc.result(INTENT), str(me.get("id"))
    else:
        intent, application_id = check_intent(application), str(application.get("id", me.get("id")))
    servers = await check_servers(get, settings.dev_guild_id, application_id)
    return [login, intent, servers]


def check_intent(application: Mapping[str, Any]) -> CheckResult:
    """Warn when the portal has the Message Content intent off: the bot runs, thread follow-ups suffer."""
    flags = int(application.get("flags") or 0)
    if flags & (GATEWAY_MESSAGE_CONTENT | GATEWAY_MESSAGE_CONTENT_LIMITED):
        return CheckResult(Status.OK, INTENT, "on")
    summary = "off: the bot runs, but answers /chat thread follow-ups only when they mention it"
    return CheckResult(Status.WARN, INTENT, summary, INTENT_FIX)


async def check_servers(get: Get, dev_guild_id: int | None, application_id: str) -> CheckResult:
    """Count the bot's servers; warn at none, fail when DEV_GUILD_ID names one it is not in."""
    try:
        guilds = await get("/users/@me/guilds", limit=GUILD_PAGE_LIMIT)
    except CheckFailed as exc:
        return exc.result(SERVERS)
    ids = {int(guild["id"]) for guild in guilds}
    more = "+" if len(ids) >= GUILD_PAGE_LIMIT else ""  # one page is enough to tell "none" from "some"
    count = f"{len(ids)}{more} server{'' if len(ids) == 1 else 's'}"
    invite = invite_url(application_id)
    if dev_guild_id is not None and dev_guild_id not in ids and not more:
        # Start-up syncs the slash commands to that server, which Discord refuses if the bot is not in it.
        summary = f"the bot is in {count}, but not in DEV_GUILD_ID's server {dev_guild_id}"
        return CheckResult(Status.FAIL, SERVERS, summary, f"invite it there: {invite} (or fix DEV_GUILD_ID)")
    if not ids:
        return CheckResult(Status.WARN, SERVERS, "the bot is in no server yet", f"invite it: {invite}")
    return CheckResult(Status.OK, SERVERS, f"the bot is in {count}")


def invite_url(application_id: str) -> str:
    """Return the link that adds the bot, its slash commands and the permissions it needs to a server."""
    query: dict[str, str | int] = {
        "client_id": application_id,
        "scope": "bot applications.commands",
        "permissions": INVITE_PERMISSIONS,
    }
    return str(yarl.URL("https://discord.com/oauth2/authorize").with_query(query))


async def _discord_get(
    session: aiohttp.ClientSession,
    url: str,
    headers: Mapping[str, str],
    timeout_seconds: float,
    params: Mapping[str, int],
) -> Any:
    """GET a Discord route and decode its JSON, or raise CheckFailed with the line to print."""
    try:
        status, body, _ = await http_get(session, url, headers, timeout_seconds, params)
    except Unreachable as exc:
        fix = "check the internet connection (and DISCORD_API_BASE, if you set it)"
        summary = f"not confirmed: Discord ({yarl.URL(url).host}) is unreachable ({exc.reason})"
        raise CheckFailed(summary, fix) from None
    if status == 401:
        raise CheckFailed("rejected by Discord (HTTP 401)", REJECTED_FIX)
    if status == 429 or status >= 500:
        raise CheckFailed(
            f"not confirmed: Discord is busy (HTTP {status})", "wait a few minutes, then check again"
        )
    unexpected = CheckFailed(
        f"not confirmed: Discord answered HTTP {status}", "check DISCORD_API_BASE, if you set it"
    )
    if status != 200:
        raise unexpected
    try:
        return json.loads(body)
    except ValueError:
        raise unexpected from None
