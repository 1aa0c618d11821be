"""Message rules of the fake Discord: validation, creation, edits, pings and error bodies."""

from __future__ import annotations

import asyncio
from typing import Any

from .discord_payloads import member_payload, mention_payloads, parse_mentions, user_payload
from .discord_world import (
    DISCORD_MESSAGE_LIMIT_CHARS,
    DM_CHANNEL,
    EVERYONE_RE,
    MENTION_EVERYONE,
    MESSAGE_CHAT_INPUT_COMMAND,
    MESSAGE_DEFAULT,
    MESSAGE_REPLY,
    FakeChannel,
    FakeUser,
    World,
    now_iso,
)

EMBED_LIMITS_CHARS = {"title": 256, "description": 4096}
EMBED_TOTAL_LIMIT_CHARS = 6000
MAX_EMBEDS = 10


class ApiError(Exception):
    """A Discord error response: an HTTP status and the JSON body Discord would send."""

    def __init__(self, status: int, code: int, message: str, errors: dict[str, Any] | None = None) -> None:
        super().__init__(f"{status} (code {code}) {message}")
        self.status = status
        self.body: dict[str, Any] = {"code": code, "message": message}
        if errors is not None:
            self.body["errors"] = errors


def form_error(path: tuple[str, ...], code: str, message: str) -> ApiError:
    """Build a 50035 Invalid Form Body error with Discord's nested `errors` shape."""
    errors: dict[str, Any] = {"_errors": [{"code": code, "message": message}]}
    for key in reversed(path):
        errors = {key: errors}
    return ApiError(400, 50035, "Invalid Form Body", errors)


def unknown_channel() -> ApiError:
    """Return the 404 for a channel the fake does not know."""
    return ApiError(404, 10003, "Unknown Channel")


def unknown_message() -> ApiError:
    """Return the 404 for a message the fake does not know."""
    return ApiError(404, 10008, "Unknown Message")


def missing_permissions() -> ApiError:
    """Return Discord's 403 for a permission the bot lacks."""
    return ApiError(403, 50013, "Missing Permissions")


def missing_access() -> ApiError:
    """Return Discord's 403 for a channel the bot cannot see."""
    return ApiError(403, 50001, "Missing Access")


def validate_body(body: dict[str, Any], prefix: tuple[str, ...] = ()) -> None:
    """Enforce content length, embed limits and allowed_mentions shape; `prefix` nests error paths."""
    content = body.get("content")
    if content is not None and not isinstance(content, str):
        raise form_error((*prefix, "content"), "STRING_TYPE_CONVERT", "Could not interpret value as string.")
    if content is not None and len(content) > DISCORD_MESSAGE_LIMIT_CHARS:
        raise form_error((*prefix, "content"), "BASE_TYPE_MAX_LENGTH", "Must be 2000 or fewer in length.")
    embeds = body.get("embeds") or []
    if len(embeds) > MAX_EMBEDS:
        raise form_error((*prefix, "embeds"), "BASE_TYPE_MAX_LENGTH", "Must be 10 or fewer in length.")
    total = 0
    for index, embed in enumerate(embeds):
        for key, limit in EMBED_LIMITS_CHARS.items():
            text = embed.get(key) or ""
            if len(text) > limit:
                path = (*prefix, "embeds", str(index), key)
                raise form_error(path, "BASE_TYPE_MAX_LENGTH", f"Must be {limit} or fewer in length.")
            total += len(text.strip())
    if total > EMBED_TOTAL_LIMIT_CHARS:
        raise form_error(
            (*prefix, "embeds"), "MESSAGE_EMBEDS_TOO_LONG", "Embed size exceeds maximum size of 6000"
        )
    allowed = body.get("allowed_mentions")
    if allowed is not None:
        parse = allowed.get("parse") or []
        for kind in ("users", "roles"):
            if kind in parse and allowed.get(kind):
                raise form_error(
                    (*prefix, "allowed_mentions"),
                    "MESSAGE_ALLOWED_MENTIONS_PARSE_EXCLUSIVE",
                    f'parse:["{kind}"] and {kind}: [ids] are mutually exclusive.',
                )


def is_empty(message: dict[str, Any]) -> bool:
    """Tell whether Discord would reject the message as empty (50006)."""
    keys = ("embeds", "attachments", "components", "sticker_ids", "poll")
    return not (message.get("content") or "").strip() and not any(message.get(k) for k in keys)


def empty_message() -> ApiError:
    """Return the 400 Discord sends for a message with nothing in it."""
    return ApiError(400, 50006, "Cannot send an empty message")


def compute_pinged(
    world: World,
    channel: FakeChannel,
    author: FakeUser,
    content: str,
    allowed: dict[str, Any] | None,
    *,
    default_parse: tuple[str, ...],
    replied_author_id: int | None = None,
) -> list[str]:
    """List who would be notified ("<@id>", "<@&id>", "@everyone", "@here") under `allowed`."""
    users, roles, _ = parse_mentions(world, channel, content)
    if allowed is None:
        parse, user_ids, role_ids, replied = default_parse, set(), set(), True
    else:
        parse = tuple(allowed.get("parse") or ())
        user_ids = {int(u) for u in allowed.get("users") or []}
        role_ids = {int(r) for r in allowed.get("roles") or []}
        replied = bool(allowed.get("replied_user", False))
    can_everyone = bool(world.permissions_for(channel, author.id) & MENTION_EVERYONE)
    pinged = [f"<@{u}>" for u in users if u != author.id and ("users" in parse or u in user_ids)]
    guild = world.guilds.get(channel.guild_id or 0)
    for role_id in roles:
        mentionable = guild is not None and (guild.roles[role_id].mentionable or can_everyone)
        if mentionable and ("roles" in parse or role_id in role_ids):
            pinged.append(f"<@&{role_id}>")
    if "everyone" in parse and can_everyone:
        pinged.extend(sorted({f"@{m}" for m in EVERYONE_RE.findall(content)}))
    reply_ping = f"<@{replied_author_id}>"
    if replied_author_id not in (None, author.id) and replied and reply_ping not in pinged:
        pinged.append(reply_ping)
    return pinged


def _attachments(channel: FakeChannel, world: World, files: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Turn uploaded files into attachment objects."""
    result = []
    for upload in files:
        attachment_id = world.next_id()
        url = f"https://cdn.discordapp.com/attachments/{channel.id}/{attachment_id}/{upload['filename']}"
        result.append(
            {
                "id": str(attachment_id),
                "filename": upload["filename"],
                "size": len(upload["data"]),
                "url": url,
                "proxy_url": url.replace("cdn.discordapp.com", "media.discordapp.net"),
                "content_type": upload["content_type"],
            }
        )
    return result


def store_message(
    world: World,
    channel: FakeChannel,
    author: FakeUser,
    body: dict[str, Any],
    *,
    pinged: list[str],
    mention_everyone: bool = False,
    reply_to: dict[str, Any] | None = None,
    ping_replied: bool = False,
    files: list[dict[str, Any]] | None = None,
    in_channel: bool = True,
    extra: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Create and store a message, computing `mentions` from the content like Discord's server does."""
    content = body.get("content") or ""
    users, roles, _ = parse_mentions(world, channel, content)
    explicit_bot_mention = world.bot_user.id in users
    replied_author = None if reply_to is None else int(reply_to["author"]["id"])
    if ping_replied and replied_author not in (None, author.id, *users):
        users.append(replied_author or 0)
    message: dict[str, Any] = {
        "id": str(world.next_id()),
        "channel_id": str(channel.id),
        "author": user_payload(author),
        "content": content,
        "timestamp": now_iso(),
        "edited_timestamp": None,
        "tts": bool(body.get("tts", False)),
        "mention_everyone": mention_everyone,
        "mentions": mention_payloads(world, channel, users),
        "mention_roles": [str(r) for r in roles],
        "attachments": _attachments(channel, world, files or []),
        "embeds": [{"type": "rich", **e} for e in body.get("embeds") or []],
        "pinned": False,
        "type": MESSAGE_REPLY if reply_to is not None else MESSAGE_DEFAULT,
        "flags": int(body.get("flags") or 0),
        "components": body.get("components") or [],
    }
    guild = world.guilds.get(channel.guild_id or 0)
    if guild is not None:
        message["guild_id"] = str(guild.id)
        if author.id in guild.members:  # an app answering where it is not a member has no member object
            message["member"] = member_payload(guild, author, with_user=False)
    if body.get("nonce") is not None:
        message["nonce"] = body["nonce"]
    if reply_to is not None:
        message["message_reference"] = {
            "type": 0,
            "message_id": reply_to["id"],
            "channel_id": reply_to["channel_id"],
        }
        if guild is not None:
            message["message_reference"]["guild_id"] = str(guild.id)
    message.update(extra or {})
    # Discord keeps content for the bot's own messages, DMs, explicit mentions, and ping-on replies to
    # the bot's regular (not slash-command) messages; everything else is blanked without the intent.
    reply_pings_bot = (
        reply_to is not None
        and ping_replied
        and replied_author == world.bot_user.id
        and reply_to["type"] != MESSAGE_CHAT_INPUT_COMMAND
    )
    exempt = author.id == world.bot_user.id or channel.type == DM_CHANNEL or explicit_bot_mention
    message.update(
        pinged=list(pinged),
        edits=[],
        allowed_mentions=body.get("allowed_mentions"),
        content_exempt=exempt or reply_pings_bot,
    )
    world.messages[int(message["id"])] = message
    if in_channel:
        world.channel_messages[channel.id].append(int(message["id"]))
        channel.last_message_id = int(message["id"])
        if channel.is_thread:
            channel.message_count += 1
            channel.total_message_sent += 1
            channel.member_ids.add(author.id)
    world.notify()
    return message


def edit_message(
    world: World,
    message: dict[str, Any],
    body: dict[str, Any],
    *,
    files: list[dict[str, Any]] | None = None,
    default_parse: tuple[str, ...] = ("users", "roles", "everyone"),
) -> None:
    """Apply an edit: replace given fields, re-parse mentions with the edit's own allowed_mentions."""
    channel = world.channels[int(message["channel_id"])]
    author = world.users[int(message["author"]["id"])]
    updated = dict(message)
    for key in ("content", "components", "flags"):
        if key in body:
            updated[key] = body[key] if body[key] is not None else ("" if key == "content" else [])
    if "embeds" in body:
        updated["embeds"] = [{"type": "rich", **e} for e in body["embeds"] or []]
    if "attachments" in body:
        keep = {str(a.get("id")) for a in body["attachments"] or []}
        updated["attachments"] = [a for a in message["attachments"] if a["id"] in keep]
    updated["attachments"] = updated["attachments"] + _attachments(channel, world, files or [])
    if is_empty(updated):
        raise empty_message()
    content = updated.get("content") or ""
    # Discord parses an edit with default allowances unless the edit itself carries allowed_mentions.
    pinged = compute_pinged(
        world, channel, author, content, body.get("allowed_mentions"), default_parse=default_parse
    )
    users, roles, _ = parse_mentions(world, channel, content)
    updated.update(
        mentions=mention_payloads(world, channel, users),
        mention_roles=[str(r) for r in roles],
        edited_timestamp=now_iso(),
    )
    updated["flags"] = int(updated.get("flags") or 0)
    message.update(updated)
    message["pinged"] = message["pinged"] + [p for p in pinged if p not in message["pinged"]]
    edit = {
        "time": asyncio.get_running_loop().time(),
        "content": content,
        "allowed_mentions": body.get("allowed_mentions"),
        "pinged": pinged,
    }
    message["edits"].append(edit)
    world.notify()


def delete_message(world: World, message: dict[str, Any]) -> None:
    """Remove a message from its channel; replies to it then carry `referenced_message: null`."""
    message_id = int(message["id"])
    world.messages.pop(message_id, None)
    ids = world.channel_messages.get(int(message["channel_id"]), [])
    if message_id in ids:
        ids.remove(message_id)
    world.deleted_messages.append(message)
    world.notify()
