"""Every Discord request that counts against the bot's global limit goes through the request budget.

:func:`install` wraps discord.py's ``HTTPClient.request``: a request on a counted route first takes
a slot from the :class:`~assistant.delivery.requests.RequestBudget` (at the priority its caller
marked), then runs shielded from cancellation. Interaction callbacks and webhook routes (interaction
followups and their edits) are exempt from Discord's global limit and pass straight through; discord.py
sends most of them through its webhook adapter, which never comes here.

Why shielded: discord.py 2.7.1 clears its global lock before sleeping off a global 429 and sets it
again only after the sleep. A request cancelled in that sleep (a typing indicator whose answer has
arrived) never sets it, and every later request waits for ever. Shielded, the request finishes its
sleep and releases the lock, while its caller moves on at once.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from discord.http import HTTPClient, Route

from assistant.delivery.requests import (
    CHANNEL_ROUTES,
    Priority,
    RequestBudget,
    RequestDropped,
    RouteKey,
    Slot,
    current_priority,
    prepaid_slot,
)

log = logging.getLogger(__name__)

Request = Callable[..., Awaitable[Any]]


def counts(route: Route) -> bool:
    """Tell whether a request on `route` counts against the bot's global limit."""
    return route.webhook_token is None and not route.path.startswith("/interactions/")


def route_key(route: Route) -> RouteKey | None:
    """Return the per-channel limit a request on `route` falls under, if any."""
    if route.key in CHANNEL_ROUTES and route.channel_id is not None:
        return route.key, int(route.channel_id)
    return None


def install(http: HTTPClient, budget: RequestBudget) -> None:
    """Make every counted request of `http` take a slot of `budget` first, and never be cut short."""
    send: Request = http.request

    async def request(route: Route, **kwargs: Any) -> Any:
        slot = await take_slot(budget, route) if counts(route) else None
        return await shielded(send(route, **kwargs), slot)

    http.request = request  # type: ignore[method-assign]


async def take_slot(budget: RequestBudget, route: Route) -> Slot:
    """Return the slot the caller took for this request, or take one at the caller's priority."""
    slot = prepaid_slot()
    if slot is not None:
        return slot
    level = current_priority()
    if level is not Priority.TYPING:
        return await budget.take(level, route_key(route))
    taken = budget.try_take(level, route_key(route))
    if taken is None:
        raise RequestDropped()
    return taken


async def shielded(request: Awaitable[Any], slot: Slot | None = None) -> Any:
    """Await `request` in its own task; if the caller is cancelled, the request still completes.

    Its `slot` is given back when the request finishes, whoever waits for it.
    """
    task = asyncio.ensure_future(request)
    if slot is not None:
        task.add_done_callback(lambda _: slot.release())
    try:
        return await asyncio.shield(task)
    except asyncio.CancelledError:
        task.add_done_callback(_consume)
        raise


def _consume(task: asyncio.Future[Any]) -> None:
    """Read the outcome of a request nobody waits for any more, so it is never reported as lost."""
    if not task.cancelled() and task.exception() is not None:
        log.debug("A Discord request finished after its caller left: %r", task.exception())
