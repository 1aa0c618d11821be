"""Conversation lanes: one conversation's questions run one at a time, in arrival order.

A lane is keyed by conversation (a member in a channel, or a whole bot thread). Different lanes
run concurrently. A place in a lane is taken synchronously by :meth:`Lanes.join`, so arrival
order is the order in which events were handled, whatever the handlers await before their turn.
Places are also counted per group (a channel) and per owner (a member): a group or an owner at its
limit refuses new places. That bounds the memory a flood of questions can take, and what one member
can have waiting, without ever slowing a member who waits for each answer: their count never
passes one, however fast the answers come. An owner over its limit is told once; the next refusal
notifies again only after everything the owner had in flight is done.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Hashable
from types import TracebackType

from assistant.errors import ChannelBusy, TooManyWaiting


class Lanes:
    """Orders work per conversation key and bounds it per group."""

    def __init__(self, *, group_limit: int | None = None, owner_limit: int | None = None) -> None:
        self._lanes: dict[Hashable, deque[asyncio.Future[None]]] = {}
        self._groups: dict[Hashable, int] = {}
        self._owners: dict[Hashable, int] = {}
        self._told: set[Hashable] = set()  # owners refused and notified since they last had nothing
        self._group_limit = group_limit
        self._owner_limit = owner_limit
        self._idle = asyncio.Event()
        self._idle.set()

    def join(self, key: Hashable, *, group: Hashable = None, owner: Hashable = None) -> Turnstile:
        """Take the next place in the lane for `key`; enter the result with `async with`.

        Raises TooManyWaiting when `owner` already holds `owner_limit` places (notifying once per
        flood), and ChannelBusy when `group` already holds `group_limit` places.
        """
        self._check_owner(owner)
        held = self._groups.get(group, 0)
        if group is not None and self._group_limit is not None and held >= self._group_limit:
            raise ChannelBusy(f"{held} questions already in flight for {group}")
        self._groups[group] = held + 1
        self._owners[owner] = self._owners.get(owner, 0) + 1
        lane = self._lanes.setdefault(key, deque())
        self._idle.clear()
        place: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        if not lane:
            place.set_result(None)
        lane.append(place)
        return Turnstile(self, key, group, owner, place)

    def _check_owner(self, owner: Hashable) -> None:
        held = self._owners.get(owner, 0)
        if owner is None or self._owner_limit is None or held < self._owner_limit:
            return
        notify = owner not in self._told
        self._told.add(owner)
        raise TooManyWaiting(held, notify=notify)

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

    def _leave(self, key: Hashable, group: Hashable, owner: Hashable, place: asyncio.Future[None]) -> None:
        lane = self._lanes.get(key)
        if lane is None or place not in lane:
            return
        _count_down(self._groups, group)
        if not _count_down(self._owners, owner):
            self._told.discard(owner)
        was_first = lane[0] is place
        lane.remove(place)
        if not lane:
            del self._lanes[key]
            if not self._lanes:
                self._idle.set()
        elif was_first and not lane[0].done():
            lane[0].set_result(None)


def _count_down(counts: dict[Hashable, int], key: Hashable) -> int:
    """Take one from `counts[key]`, dropping the key at zero; return what is left."""
    remaining = counts[key] - 1
    if remaining:
        counts[key] = remaining
    else:
        del counts[key]
    return remaining


class Turnstile:
    """A place in a lane: `async with` waits for its turn and gives the turn on when done."""

    def __init__(
        self, lanes: Lanes, key: Hashable, group: Hashable, owner: Hashable, place: asyncio.Future[None]
    ) -> None:
        self._lanes = lanes
        self._key = key
        self._group = group
        self._owner = owner
        self._place = place

    async def __aenter__(self) -> None:
        try:
            await asyncio.shield(self._place)
        except asyncio.CancelledError:
            self._lanes._leave(self._key, self._group, self._owner, self._place)
            raise

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self._lanes._leave(self._key, self._group, self._owner, self._place)
