"""Conversation lanes: one conversation's questions run one at a time, in arrival order.

A lane is keyed by conversation (a member in a channel, or a whole bot thread). Different lanes
run concurrently. A place in a lane is taken synchronously by :meth:`Lanes.join`, so arrival
order is the order in which events were handled, whatever the handlers await before their turn.
Places are also counted per group (a channel): a group at its limit refuses new places, which
bounds the memory a flood of questions can take.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Hashable
from types import TracebackType

from assistant.errors import ChannelBusy


class Lanes:
    """Orders work per conversation key and bounds it per group."""

    def __init__(self, *, group_limit: int | None = None) -> None:
        self._lanes: dict[Hashable, deque[asyncio.Future[None]]] = {}
        self._groups: dict[Hashable, int] = {}
        self._group_limit = group_limit
        self._idle = asyncio.Event()
        self._idle.set()

    def join(self, key: Hashable, *, group: Hashable = None) -> Turnstile:
        """Take the next place in the lane for `key`; enter the result with `async with`.

        Raises ChannelBusy when `group` already holds `group_limit` places.
        """
        held = self._groups.get(group, 0)
        if group is not None and self._group_limit is not None and held >= self._group_limit:
            raise ChannelBusy(f"{held} questions already in flight for {group}")
        self._groups[group] = held + 1
        lane = self._lanes.setdefault(key, deque())
        self._idle.clear()
        place: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        if not lane:
            place.set_result(None)
        lane.append(place)
        return Turnstile(self, key, group, place)

    def waiting(self, key: Hashable) -> int:
        """Return how many places (running included) the lane for `key` holds."""
        return len(self._lanes.get(key, ()))

    def in_group(self, group: Hashable) -> int:
        """Return how many places (running included) `group` holds."""
        return self._groups.get(group, 0)

    async def wait_idle(self) -> None:
        """Wait until no conversation has a question running or waiting."""
        await self._idle.wait()

    def __len__(self) -> int:
        return len(self._lanes)

    def _leave(self, key: Hashable, group: Hashable, place: asyncio.Future[None]) -> None:
        lane = self._lanes.get(key)
        if lane is None or place not in lane:
            return
        remaining = self._groups[group] - 1
        if remaining:
            self._groups[group] = remaining
        else:
            del self._groups[group]
        was_first = lane[0] is place
        lane.remove(place)
        if not lane:
            del self._lanes[key]
            if not self._lanes:
                self._idle.set()
        elif was_first and not lane[0].done():
            lane[0].set_result(None)


class Turnstile:
    """A place in a lane: `async with` waits for its turn and gives the turn on when done."""

    def __init__(self, lanes: Lanes, key: Hashable, group: Hashable, place: asyncio.Future[None]) -> None:
        self._lanes = lanes
        self._key = key
        self._group = group
        self._place = place

    async def __aenter__(self) -> None:
        try:
            await asyncio.shield(self._place)
        except asyncio.CancelledError:
            self._lanes._leave(self._key, self._group, self._place)
            raise

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self._lanes._leave(self._key, self._group, self._place)
