"""Resets: whatever was asked in a channel before a /reset never reaches a later context.

A /reset deletes the channel's stored history, but answers may still be in flight: being written, or
waiting for their turn. Each channel has an epoch that a reset advances at once; a question takes
its channel's epoch when it arrives, and its exchange is stored only if no reset came since. The
check and the write run under one lock that the reset's delete also takes, so a write that passed
the check lands before the delete (which then removes it), never after.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import TypeVar

from storage.history import Exchange

log = logging.getLogger(__name__)

T = TypeVar("T")


class Resets:
    """Per-channel reset epochs, and the lock that orders exchanges against resets."""

    def __init__(self) -> None:
        # Only channels ever reset are here: one int each.
        self._epochs: dict[int, int] = {}
        # One lock for every channel: on SQLite every write is serialised anyway, and with a pool
        # it keeps a write that passed the check ahead of the delete.
        self._lock = asyncio.Lock()

    def epoch(self, channel_id: int) -> int:
        """Return the channel's current epoch (how many resets it has had in this process)."""
        return self._epochs.get(channel_id, 0)

    async def store(
        self, exchange: Exchange, asked_in: int, append: Callable[[Exchange], Awaitable[list[int]]]
    ) -> list[int]:
        """Store `exchange` unless its channel was reset since it was asked; return the stored ids."""
        async with self._lock:
            if self.epoch(exchange.channel_id) != asked_in:
                log.info("Not storing an answer in channel %s: it was reset meanwhile", exchange.channel_id)
                return []
            return await append(exchange)

    async def reset(self, channel_id: int, forget: Callable[[int], Awaitable[T]]) -> T:
        """Advance the channel's epoch at once, then run `forget` after any write already checked."""
        self._epochs[channel_id] = self.epoch(channel_id) + 1
        async with self._lock:
            return await forget(channel_id)
