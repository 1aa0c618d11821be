"""The fake Discord's CDN: members' attachments, served at signed URLs that expire, as Discord does.

An attachment object carries `url` (and `proxy_url`) with Discord's signature parameters `ex`
(expiry, hex unix seconds), `is` (issued) and `hm` (the signature). The CDN answers 404 once a link
has expired or for a bad signature; `expire_all()` makes every issued link expire at once, as a day
passing would. Every download is recorded in `requests` (paths only).
"""

from __future__ import annotations

import hashlib
import time
from dataclasses import dataclass
from typing import Any

from aiohttp import web

from .discord_world import World

LINK_LIFETIME_SECONDS = 24 * 3600  # Discord's current expiry for attachment links


@dataclass(frozen=True)
class FakeFile:
    """A file a member attaches: its name, bytes and type (and the size Discord reports, if different)."""

    filename: str
    data: bytes
    content_type: str | None = None
    size: int | None = None


@dataclass
class _Blob:
    data: bytes
    content_type: str | None
    expires_at: float


class Cdn:
    """Stores attachment bytes and serves them under /attachments/…."""

    def __init__(self, world: World) -> None:
        self.world = world
        self.base_url = ""  # set by FakeDiscord.start()
        self.requests: list[str] = []  # the paths downloaded (or tried), in order
        self._blobs: dict[str, _Blob] = {}

    def attachment(self, scope: str, file: FakeFile) -> dict[str, Any]:
        """Store `file` and return its attachment object; `scope` is a channel id or "ephemeral"."""
        attachment_id = self.world.next_id()
        issued = int(time.time())
        expires = issued + LINK_LIFETIME_SECONDS
        path = f"/attachments/{scope}/{attachment_id}/{file.filename}"
        self._blobs[path] = _Blob(file.data, file.content_type, expires)
        query = f"?ex={expires:x}&is={issued:x}&hm={_signature(path, expires)}&"
        payload: dict[str, Any] = {
            "id": str(attachment_id),
            "filename": file.filename,
            "size": file.size if file.size is not None else len(file.data),
            "url": f"{self.base_url}{path}{query}",
            "proxy_url": f"{self.base_url}{path}{query}",
        }
        if file.content_type is not None:
            payload["content_type"] = file.content_type
        if scope == "ephemeral":
            payload["ephemeral"] = True
        return payload

    def expire_all(self) -> None:
        """Let every link issued so far expire, as a day passing would."""
        for blob in self._blobs.values():
            blob.expires_at = 0

    async def handle(self, request: web.Request) -> web.StreamResponse:
        """Serve an attachment at a valid, unexpired signed URL; 404 otherwise (as Discord's CDN)."""
        path = request.path
        self.requests.append(path)
        self.world.notify()
        blob = self._blobs.get(path)
        expires = int(request.query.get("ex", "0"), 16)
        valid = blob is not None and request.query.get("hm") == _signature(path, expires)
        if blob is None or not valid or time.time() > min(expires, blob.expires_at):
            return web.Response(status=404, text="This content is no longer available.")
        content_type = blob.content_type or "application/octet-stream"
        return web.Response(body=blob.data, headers={"Content-Type": content_type})


def _signature(path: str, expires: int) -> str:
    """Return the fake's signature of a link (Discord's is an HMAC; any keyed hash does here)."""
    return hashlib.sha256(f"fake-cdn:{path}:{expires}".encode()).hexdigest()
