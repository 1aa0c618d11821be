"""Discord's rate limits, as the fake enforces them when switched on (``FakeDiscord(rate_limits=True)``).

- **Global**: at most 50 requests per bot in any sliding second. Over it, Discord answers 429 with
  ``global: true``, ``retry_after`` (seconds) and the headers ``Retry-After``, ``X-RateLimit-Global``,
  ``X-RateLimit-Scope: global`` and ``Via`` (discord.py takes a 429 without ``Via`` for a Cloudflare
  ban). Interaction callbacks and webhook routes (interaction followups and their edits) are exempt.
- **Per route**: message creates, message edits and the typing trigger each allow 5 per 5 s per
  channel, a window that opens at the bucket's first request. Every answer on those routes carries
  ``X-RateLimit-Limit/Remaining/Reset/Reset-After/Bucket``; over it, a 429 with ``global: false``
  and ``X-RateLimit-Scope: user``.
- **Invalid requests**: 401, 403 and 429 answers are counted (Discord bans an IP for a while after
  10,000 of them in 10 minutes).

A rejected request does not count against the global limit. ``spend`` plays another program on the
same token (the limit is per bot, not per process).
"""

from __future__ import annotations

import asyncio
import math
import re
import time
from collections import deque
from dataclasses import dataclass, field
from typing import Any

GLOBAL_REQUESTS_PER_SECOND = 50
GLOBAL_WINDOW_SECONDS = 1.0
ROUTE_REQUESTS = 5
ROUTE_WINDOW_SECONDS = 5.0
INVALID_STATUSES = frozenset({401, 403, 429})
VIA = "1.1 google"
RATE_LIMITED = "You are being rate limited."

# Routes with their own per-channel bucket: (method, path pattern, bucket hash).
_CHANNEL_ROUTES: tuple[tuple[str, re.Pattern[str], str], ...] = (
    ("POST", re.compile(r"^/channels/(?P<channel>\d+)/messages$"), "fakemessagecreate"),
    ("PATCH", re.compile(r"^/channels/(?P<channel>\d+)/messages/\d+$"), "fakemessageedit"),
    ("POST", re.compile(r"^/channels/(?P<channel>\d+)/typing$"), "faketyping"),
)
_EXEMPT = re.compile(r"^/interactions/\d+/[^/]+/callback$|^/webhooks/\d+/[^/]+")

Answer = tuple[int, dict[str, Any], dict[str, str]]


@dataclass
class Bucket:
    """One route's fixed window for one channel."""

    opened_at: float
    used: int = 0


@dataclass
class RateLimits:
    """The global and per-route limits, the 429s they gave and the invalid requests seen."""

    enabled: bool = False
    global_per_second: int = GLOBAL_REQUESTS_PER_SECOND
    counted: deque[float] = field(default_factory=deque)  # times of admitted, counted requests
    buckets: dict[tuple[str, int], Bucket] = field(default_factory=dict)
    global_429s: int = 0
    route_429s: int = 0
    invalid_requests: int = 0
    spent_elsewhere: int = 0
    busiest_second: int = 0  # the most counted requests seen in one sliding second

    def admit(self, method: str, path: str, now: float) -> Answer | None:
        """Return the 429 to answer with, or None when the request may go ahead (and count it)."""
        if not self.enabled or _EXEMPT.match(path):
            return None
        self._slide(now)
        if len(self.counted) >= self.global_per_second:
            self.global_429s += 1
            return _global_429(self.counted[0] + GLOBAL_WINDOW_SECONDS - now)
        route = self._bucket(method, path, now)
        if route is not None and route[1].used >= ROUTE_REQUESTS:
            self.route_429s += 1
            retry_after = route[1].opened_at + ROUTE_WINDOW_SECONDS - now
            return 429, _body(retry_after, is_global=False), self._route_headers(route, now, retry_after)
        if route is not None:
            route[1].used += 1
        self._count(now)
        return None

    def headers(self, method: str, path: str, now: float) -> dict[str, str]:
        """Return the X-RateLimit-* headers of an admitted request's answer (none off the buckets)."""
        if not self.enabled:
            return {}
        route = self._bucket(method, path, now)
        return {} if route is None else self._route_headers(route, now, None)

    def saw(self, status: int) -> None:
        """Count an invalid request (401, 403, 429)."""
        if status in INVALID_STATUSES:
            self.invalid_requests += 1

    def spend(self, requests: int, now: float | None = None) -> None:
        """Count `requests` made at `now` by another program on the same bot token."""
        at = asyncio.get_running_loop().time() if now is None else now
        self.spent_elsewhere += requests
        for _ in range(requests):
            self._count(at)

    def _count(self, now: float) -> None:
        self.counted.append(now)
        self.busiest_second = max(self.busiest_second, len(self.counted))

    def _slide(self, now: float) -> None:
        while self.counted and self.counted[0] <= now - GLOBAL_WINDOW_SECONDS:
            self.counted.popleft()

    def _bucket(self, method: str, path: str, now: float) -> tuple[str, Bucket] | None:
        """Return the (hash, bucket) of a per-channel route, opening a new window when the last ended."""
        for route_method, pattern, bucket_hash in _CHANNEL_ROUTES:
            match = pattern.match(path)
            if route_method == method and match is not None:
                key = (bucket_hash, int(match["channel"]))
                bucket = self.buckets.get(key)
                if bucket is None or now >= bucket.opened_at + ROUTE_WINDOW_SECONDS:
                    bucket = self.buckets[key] = Bucket(now)
                return bucket_hash, bucket
        return None

    def _route_headers(
        self, route: tuple[str, Bucket], now: float, retry_after: float | None
    ) -> dict[str, str]:
        bucket_hash, bucket = route
        reset_after = max(0.0, bucket.opened_at + ROUTE_WINDOW_SECONDS - now)
        headers = {
            "X-RateLimit-Limit": str(ROUTE_REQUESTS),
            "X-RateLimit-Remaining": str(max(0, ROUTE_REQUESTS - bucket.used)),
            "X-RateLimit-Reset": f"{time.time() + reset_after:.3f}",
            "X-RateLimit-Reset-After": f"{reset_after:.3f}",
            "X-RateLimit-Bucket": bucket_hash,
        }
        if retry_after is not None:
            headers |= {"Retry-After": str(math.ceil(retry_after)), "X-RateLimit-Scope": "user", "Via": VIA}
        return headers


def _body(retry_after: float, *, is_global: bool) -> dict[str, Any]:
    return {"message": RATE_LIMITED, "retry_after": round(max(retry_after, 0.001), 3), "global": is_global}


def _global_429(retry_after: float) -> Answer:
    headers = {
        "Retry-After": str(math.ceil(retry_after)),
        "X-RateLimit-Global": "true",
        "X-RateLimit-Scope": "global",
        "Via": VIA,
    }
    return 429, _body(retry_after, is_global=True), headers
