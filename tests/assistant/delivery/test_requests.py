"""The request budget: a sliding second, priorities, routes and claims, on a clock the test moves."""

from __future__ import annotations

import asyncio

from hypothesis import given, settings
from hypothesis import strategies as st

from assistant.delivery.requests import (
    CREATE,
    EDIT,
    LOW_PRIORITY_ROUTE_REQUESTS,
    ROUTE_MARGIN_SECONDS,
    ROUTE_REQUESTS,
    ROUTE_WINDOW_SECONDS,
    Priority,
    RequestBudget,
)


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def budget(per_second: int) -> tuple[RequestBudget, Clock]:
    clock = Clock()
    return RequestBudget(per_second, clock=clock), clock


async def sent(requests: RequestBudget, level: Priority, route: tuple[str, int] | None = None) -> None:
    """Take a slot for a request that is answered at once."""
    (await requests.take(level, route)).release()


async def turns(count: int = 3) -> None:
    for _ in range(count):
        await asyncio.sleep(0)


async def test_at_most_the_ceiling_in_any_sliding_second() -> None:
    requests, clock = budget(3)
    for _ in range(3):
        await sent(requests, Priority.URGENT)
    fourth = asyncio.ensure_future(requests.take(Priority.URGENT))
    clock.now += 0.99
    requests.wake()
    await turns()
    assert not fourth.done()
    clock.now += 0.02
    requests.wake()
    await turns()
    assert fourth.done()


async def test_a_request_counts_until_a_second_after_it_finished_however_late_it_was_sent() -> None:
    requests, clock = budget(1)
    slot = await requests.take(Priority.URGENT)
    clock.now += 5.0  # granted long ago, still in flight
    after = asyncio.ensure_future(requests.take(Priority.URGENT))
    await turns()
    assert not after.done()
    slot.release()
    await turns()
    assert not after.done()
    clock.now += 1.01
    requests.wake()
    await turns()
    assert after.done()


async def test_waiters_are_served_urgent_first_then_in_arrival_order() -> None:
    requests, clock = budget(1)
    await sent(requests, Priority.URGENT)
    served: list[str] = []

    async def wait(name: str, level: Priority) -> None:
        await sent(requests, level)
        served.append(name)

    tasks = [
        asyncio.ensure_future(wait(name, level))
        for name, level in [
            ("edit", Priority.INTERMEDIATE),
            ("first", Priority.URGENT),
            ("second", Priority.URGENT),
        ]
    ]
    await turns()
    for _ in range(3):
        clock.now += 1.0
        requests.wake()
        await turns()
    await asyncio.gather(*tasks)
    assert served == ["first", "second", "edit"]


async def test_typing_is_dropped_while_anyone_waits_or_when_claims_leave_no_room() -> None:
    requests, clock = budget(3)
    typing = requests.try_take(Priority.TYPING)
    assert typing is not None
    typing.release()
    claim = requests.claim(2)  # an answer's first message and final text
    assert requests.try_take(Priority.TYPING) is None  # 1 used + 2 claimed leave nothing
    await sent(requests, Priority.URGENT)
    claim.use()
    await sent(requests, Priority.URGENT)
    waiting = asyncio.ensure_future(requests.take(Priority.URGENT))
    await turns()
    clock.now += 1.0
    assert requests.try_take(Priority.TYPING) is None  # someone is waiting: typing never queues
    requests.wake()
    await waiting
    claim.close()
    assert requests.claimed == 0


async def test_a_channel_gets_five_writes_per_route_window_and_edits_only_three() -> None:
    requests, clock = budget(100)
    edits = (EDIT, 7)
    for _ in range(LOW_PRIORITY_ROUTE_REQUESTS):
        await sent(requests, Priority.INTERMEDIATE, edits)
    intermediate = asyncio.ensure_future(requests.take(Priority.INTERMEDIATE, edits))
    await turns()
    assert not intermediate.done()
    for _ in range(ROUTE_REQUESTS - LOW_PRIORITY_ROUTE_REQUESTS):
        await sent(requests, Priority.URGENT, edits)  # final text still fits
    async with asyncio.timeout(1):  # these never wait on the clock
        await sent(requests, Priority.URGENT, (CREATE, 7))  # another route, its own window
        await sent(requests, Priority.URGENT, (EDIT, 8))  # another channel, its own window
    final = asyncio.ensure_future(requests.take(Priority.URGENT, edits))
    clock.now += ROUTE_WINDOW_SECONDS + ROUTE_MARGIN_SECONDS + 0.01
    requests.wake()
    await turns()
    assert final.done() and intermediate.done()


async def test_a_cancelled_wait_gives_up_its_place() -> None:
    requests, clock = budget(1)
    await sent(requests, Priority.URGENT)
    first = asyncio.ensure_future(requests.take(Priority.URGENT))
    second = asyncio.ensure_future(requests.take(Priority.URGENT))
    await turns()
    first.cancel()
    await turns()
    clock.now += 1.0
    requests.wake()
    await turns()
    assert second.done() and not second.cancelled()


class Recorded(RequestBudget):
    """A budget that notes when it granted each slot."""

    granted: list[float]

    def _record(self, now: float, route: tuple[str, int] | None) -> None:
        self.granted.append(now)
        super()._record(now, route)


@settings(max_examples=60, deadline=None)
@given(
    st.integers(1, 10),
    st.lists(st.tuples(st.floats(0, 0.7), st.sampled_from(list(Priority))), min_size=1, max_size=60),
)
async def test_no_sliding_second_ever_holds_more_than_the_ceiling(
    per_second: int, arrivals: list[tuple[float, Priority]]
) -> None:
    clock = Clock()
    requests = Recorded(per_second, clock=clock)
    requests.granted = []
    pending: list[asyncio.Future[None]] = []
    for gap, level in arrivals:
        clock.now += gap
        requests.wake()
        if level is Priority.TYPING:
            if (slot := requests.try_take(level)) is not None:
                slot.release()
        else:
            pending.append(asyncio.ensure_future(sent(requests, level)))
        await turns(1)
    while not all(task.done() for task in pending):
        clock.now += 0.25
        requests.wake()
        await turns(1)
    granted = requests.granted
    assert len(granted) >= len(pending)
    assert all(sum(1 for t in granted if start <= t < start + 1.0) <= per_second for start in granted)
