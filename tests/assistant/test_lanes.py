"""Lanes: one conversation runs in arrival order; different conversations run side by side."""

from __future__ import annotations

import asyncio

import pytest

from assistant.errors import ChannelBusy, TooManyWaiting
from assistant.lanes import Lanes


async def test_one_lane_runs_in_arrival_order_one_at_a_time() -> None:
    lanes = Lanes()
    order: list[int] = []
    running = 0
    peak = 0

    async def work(n: int) -> None:
        nonlocal running, peak
        async with lanes.join("a"):
            running += 1
            peak = max(peak, running)
            await asyncio.sleep(0)
            order.append(n)
            running -= 1

    await asyncio.gather(*(work(n) for n in range(10)))
    assert order == list(range(10))
    assert peak == 1
    assert len(lanes) == 0


async def test_different_lanes_do_not_wait_for_each_other() -> None:
    lanes = Lanes()
    release = asyncio.Event()
    b_done = asyncio.Event()

    async def slow() -> None:
        async with lanes.join("a"):
            await release.wait()

    async def fast() -> None:
        async with lanes.join("b"):
            b_done.set()

    slow_task = asyncio.create_task(slow())
    await asyncio.sleep(0)
    await asyncio.wait_for(fast(), timeout=1)
    assert b_done.is_set()
    assert lanes.waiting("a") == 1
    release.set()
    await slow_task


async def test_a_place_taken_before_an_await_keeps_its_order() -> None:
    lanes = Lanes()
    order: list[str] = []
    first = lanes.join("a")
    second = lanes.join("a")

    async def enter(turnstile: object, name: str) -> None:
        async with turnstile:  # type: ignore[attr-defined]
            order.append(name)

    await asyncio.gather(enter(second, "second"), enter(first, "first"))
    assert order == ["first", "second"]


async def test_a_cancelled_waiter_hands_the_turn_on() -> None:
    lanes = Lanes()
    release = asyncio.Event()
    reached: list[str] = []

    async def holder() -> None:
        async with lanes.join("a"):
            await release.wait()

    async def waiter(name: str) -> None:
        async with lanes.join("a"):
            reached.append(name)

    hold = asyncio.create_task(holder())
    await asyncio.sleep(0)
    doomed = asyncio.create_task(waiter("doomed"))
    survivor = asyncio.create_task(waiter("survivor"))
    await asyncio.sleep(0)
    doomed.cancel()
    release.set()
    await asyncio.wait_for(asyncio.gather(hold, survivor), timeout=1)
    assert reached == ["survivor"]
    assert len(lanes) == 0


async def test_a_full_group_refuses_new_places_until_one_leaves() -> None:
    lanes = Lanes(group_limit=2)
    first = lanes.join(("member", 1), group="channel")
    lanes.join(("member", 2), group="channel")
    with pytest.raises(ChannelBusy):
        lanes.join(("member", 3), group="channel")
    lanes.join(("member", 3), group="other channel")  # other groups are not affected
    async with first:
        pass
    assert lanes.in_group("channel") == 1
    lanes.join(("member", 3), group="channel")
    assert lanes.in_group("channel") == 2


async def test_an_owner_at_its_limit_is_refused_and_told_once_per_flood() -> None:
    lanes = Lanes(owner_limit=2)
    held = [lanes.join(("member", n), owner="alice") for n in range(2)]
    with pytest.raises(TooManyWaiting) as first:
        lanes.join(("member", 9), owner="alice")
    with pytest.raises(TooManyWaiting) as second:
        lanes.join(("member", 9), owner="alice")
    assert not first.value.silent
    assert second.value.silent
    lanes.join("other", owner="bob")  # another owner is not affected
    for turnstile in held:
        async with turnstile:
            pass
    # Alice had nothing left in flight: a new flood is told again.
    again = [lanes.join(("member", n), owner="alice") for n in range(2)]
    with pytest.raises(TooManyWaiting) as third:
        lanes.join(("member", 9), owner="alice")
    assert not third.value.silent
    for turnstile in again:
        async with turnstile:
            pass


async def test_an_owner_who_waits_for_each_place_is_never_refused() -> None:
    lanes = Lanes(owner_limit=1)
    for _ in range(100):
        async with lanes.join("a", owner="alice"):
            pass
    assert len(lanes) == 0
