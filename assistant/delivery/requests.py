"""The request budget: at most N counted Discord requests in any sliding second, by priority.

Discord allows a bot 50 requests per second in all (interaction callbacks and webhooks aside) and
answers more with global 429s. Every counted request takes a slot here first, by priority:
- ``URGENT``: new messages, final text, and anything not marked otherwise;
- ``INTERMEDIATE``: edits of an answer still being written;
- ``TYPING``: the typing indicator, dropped rather than queued when the budget is short.
Within a priority, first come, first served. Message creates, edits and typing triggers also keep
to Discord's 5 per 5 s per channel; intermediate edits and typing use only 3 of them. Each answer
in flight *claims* the writes it still needs (its first message, its final text); intermediate
edits and typing only use the slots those claims leave, so under load answers get fewer
intermediate edits, never a late final text.

A request counts from the moment its slot is granted until one second after it finished: Discord
received it somewhere in between, so no second of Discord's can see more than the ceiling, however
late a busy event loop sends what it was granted. Callers mark a request's priority with
:func:`priority`, or take its slot themselves first (:meth:`RequestBudget.take`) and send the
request inside :func:`prepaid`, so that what they send is decided once the slot is theirs.
:mod:`.gating` applies the budget to discord.py's requests.
"""

from __future__ import annotations

import asyncio
import contextlib
import heapq
import itertools
import time
from collections import deque
from collections.abc import Callable, Iterator
from contextvars import ContextVar
from dataclasses import dataclass, field
from enum import IntEnum

# Discord allows 50 per bot; the default leaves room for the odd request made outside the budget.
DEFAULT_REQUESTS_PER_SECOND = 45
WINDOW_SECONDS = 1.0
# Discord's per-channel limit on message creates, edits and typing triggers.
ROUTE_REQUESTS = 5
ROUTE_WINDOW_SECONDS = 5.0
# Intermediate edits and typing use at most 3 of them: one is kept for final text, and the fifth is
# best left unused, since discord.py holds the caller of a request that empties a bucket until the
# bucket resets (up to 5 s), holding up the answer's conversation.
LOW_PRIORITY_ROUTE_REQUESTS = ROUTE_REQUESTS - 2
# Added to the route window, so requests that arrive a little later than they left still fit
# Discord's window.
ROUTE_MARGIN_SECONDS = 0.25
CREATE = "POST /channels/{channel_id}/messages"
EDIT = "PATCH /channels/{channel_id}/messages/{message_id}"
TYPING_ROUTE = "POST /channels/{channel_id}/typing"
CHANNEL_ROUTES = frozenset({CREATE, EDIT, TYPING_ROUTE})
# Above this many tracked routes, those of idle channels are dropped (at most once a route window).
PRUNE_ABOVE_ROUTES = 1024

# A route limited per channel: (route, channel id).
RouteKey = tuple[str, int]


class Priority(IntEnum):
    """What a request is for; lower goes first."""

    URGENT = 0
    INTERMEDIATE = 1
    TYPING = 2


class RequestDropped(Exception):
    """A typing indicator was not sent: the budget is short."""


_priority: ContextVar[Priority] = ContextVar("discord_request_priority", default=Priority.URGENT)
_prepaid: ContextVar[Slot | None] = ContextVar("discord_request_prepaid", default=None)


@contextlib.contextmanager
def priority(level: Priority) -> Iterator[None]:
    """Mark the Discord requests made inside the block with `level`."""
    token = _priority.set(level)
    try:
        yield
    finally:
        _priority.reset(token)


@contextlib.contextmanager
def prepaid(slot: Slot | None) -> Iterator[None]:
    """Send the Discord request made inside the block on `slot`, which the caller already took."""
    token = _prepaid.set(slot)
    try:
        yield
    finally:
        _prepaid.reset(token)
        if slot is not None and not slot.used:
            slot.release()  # no counted request was made with it


def current_priority() -> Priority:
    """Return the priority of requests made here."""
    return _priority.get()


def prepaid_slot() -> Slot | None:
    """Return the unused slot the caller took for the request made here, marking it used."""
    slot = _prepaid.get()
    if slot is None or slot.used:
        return None
    slot.used = True
    return slot


@dataclass(order=True)
class _Waiter:
    level: Priority
    number: int
    route: RouteKey | None = field(compare=False)
    granted: asyncio.Future[None] = field(compare=False)


class Slot:
    """One granted request: it counts against the budget until a second after it finished."""

    def __init__(self, budget: RequestBudget) -> None:
        self._budget = budget
        self.used = False
        self.released = False

    def release(self) -> None:
        """Note that the request finished (or was never sent); once only."""
        if not self.released:
            self.released = True
            self._budget.finished()


class Claim:
    """Writes an answer in flight still needs; the budget keeps room for them."""

    def __init__(self, budget: RequestBudget, writes: int) -> None:
        self._budget = budget
        self.writes = writes
        budget.claimed += writes

    def use(self) -> None:
        """Note that one claimed write was made."""
        if self.writes > 0:
            self.writes -= 1
            self._budget.claimed -= 1
            self._budget.wake()

    def close(self) -> None:
        """Give back what is left (the answer is done)."""
        self._budget.claimed -= self.writes
        self.writes = 0
        self._budget.wake()


class RequestBudget:
    """Grants slots for Discord requests: at most `per_second` in any sliding second, by priority."""

    def __init__(
        self, per_second: int, *, route_limits: bool = True, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.per_second = per_second
        self._route_limits = route_limits  # off only in tests against a Discord that has none
        self.claimed = 0
        self._clock = clock
        # A request counts from its grant until a second after it finished: Discord saw it
        # somewhere in between, however late this busy event loop sent it.
        self._in_flight = 0
        self._finished: deque[float] = deque()
        self._routes: dict[RouteKey, deque[float]] = {}
        self._waiters: list[_Waiter] = []
        self._numbers = itertools.count()
        self._timer: asyncio.TimerHandle | None = None
        self._pruned_at = 0.0

    def claim(self, writes: int) -> Claim:
        """Keep room for `writes` urgent writes of an answer in flight."""
        return Claim(self, writes)

    @property
    def used(self) -> int:
        """Return the requests counting against the budget now: in flight or finished within a second."""
        return self._in_flight + len(self._finished)

    def try_take(self, level: Priority, route: RouteKey | None = None) -> Slot | None:
        """Take a slot now if one is free and nobody waits; else take nothing."""
        now = self._clock()
        self._slide(now)
        if self._waiters or not self._fits(level, route, now):
            return None
        self._record(now, route)
        return Slot(self)

    async def take(self, level: Priority, route: RouteKey | None = None) -> Slot:
        """Wait for a slot (cancelling the wait gives up the place in line)."""
        waiter = _Waiter(level, next(self._numbers), route, asyncio.get_running_loop().create_future())
        heapq.heappush(self._waiters, waiter)
        self.wake()
        try:
            await waiter.granted
        except asyncio.CancelledError:
            if waiter.granted.done() and not waiter.granted.cancelled():
                self.finished()  # granted as the wait was cancelled: give the slot back
            else:
                with contextlib.suppress(ValueError):
                    self._waiters.remove(waiter)
                heapq.heapify(self._waiters)
                self.wake()
            raise
        return Slot(self)

    def finished(self) -> None:
        """Note that a granted request finished; it counts for one more second."""
        self._in_flight -= 1
        self._finished.append(self._clock())
        if self._waiters:
            self.wake()

    def wake(self) -> None:
        """Grant every waiter that fits now, best first, and plan the next look."""
        now = self._clock()
        self._slide(now)
        blocked: list[_Waiter] = []
        while self._waiters and self.used < self.per_second:
            waiter = heapq.heappop(self._waiters)
            if waiter.granted.done():
                continue  # cancelled
            if self._fits(waiter.level, waiter.route, now):
                self._record(now, waiter.route)
                waiter.granted.set_result(None)
            else:
                blocked.append(waiter)
        for waiter in blocked:
            heapq.heappush(self._waiters, waiter)
        self._plan(now, blocked)

    def _fits(self, level: Priority, route: RouteKey | None, now: float) -> bool:
        """Tell whether a request of `level` on `route` may go now."""
        used = self.used
        if used >= self.per_second:
            return False
        if level is not Priority.URGENT and used + self.claimed >= self.per_second:
            return False
        if level is Priority.TYPING and used + self.claimed >= self.per_second // 2:
            return False  # "typing…" never takes more than half the budget
        if route is None or not self._route_limits:
            return True
        limit = ROUTE_REQUESTS if level is Priority.URGENT else LOW_PRIORITY_ROUTE_REQUESTS
        return self._route_used(route, now) < limit

    def _route_used(self, route: RouteKey, now: float) -> int:
        """Return how many requests `route` made within its window."""
        times = self._routes.get(route)
        if not times:
            return 0
        while times and times[0] <= now - ROUTE_WINDOW_SECONDS - ROUTE_MARGIN_SECONDS:
            times.popleft()
        if not times:
            del self._routes[route]
        return len(times)

    def _record(self, now: float, route: RouteKey | None) -> None:
        self._in_flight += 1
        if route is not None:
            self._routes.setdefault(route, deque()).append(now)

    def _slide(self, now: float) -> None:
        """Forget requests older than their windows (idle channels' routes now and then)."""
        finished = self._finished
        while finished and finished[0] <= now - WINDOW_SECONDS:
            finished.popleft()
        if len(self._routes) > PRUNE_ABOVE_ROUTES and now - self._pruned_at > ROUTE_WINDOW_SECONDS:
            self._pruned_at = now
            horizon = now - ROUTE_WINDOW_SECONDS - ROUTE_MARGIN_SECONDS
            self._routes = {key: times for key, times in self._routes.items() if times[-1] > horizon}

    def _plan(self, now: float, blocked: list[_Waiter]) -> None:
        """Look again when the earliest slot a waiter needs frees up."""
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        if not self._waiters:
            return
        # A finished request frees its slot a second later; one in flight wakes us when it finishes.
        moments = [self._finished[0] + WINDOW_SECONDS] if self._finished else []
        for waiter in blocked:
            times = self._routes.get(waiter.route) if waiter.route is not None else None
            if times:
                moments.append(times[0] + ROUTE_WINDOW_SECONDS + ROUTE_MARGIN_SECONDS)
        if moments:
            self._timer = asyncio.get_running_loop().call_later(max(0.0, min(moments) - now), self.wake)
