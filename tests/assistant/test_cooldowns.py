"""Member cooldowns: a burst passes, a flood is slowed, one reminder per cooldown."""

from __future__ import annotations

import pytest

from assistant.cooldowns import Cooldowns
from assistant.errors import SlowDown


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_a_burst_passes_then_the_member_waits_for_the_refill() -> None:
    clock = Clock()
    cooldowns = Cooldowns(10.0, burst=3, clock=clock)
    for _ in range(3):
        cooldowns.take("ann")
    with pytest.raises(SlowDown) as caught:
        cooldowns.take("ann")
    assert caught.value.silent is False
    assert "10 s" in caught.value.user_message
    clock.now = 10.0
    cooldowns.take("ann")  # one question refilled


def test_only_the_first_refusal_in_a_period_is_told() -> None:
    clock = Clock()
    cooldowns = Cooldowns(5.0, burst=1, clock=clock)
    cooldowns.take("ann")
    refusals = []
    for _ in range(3):
        with pytest.raises(SlowDown) as caught:
            cooldowns.take("ann")
        refusals.append(caught.value.silent)
    assert refusals == [False, True, True]


def test_members_have_their_own_buckets_and_zero_turns_it_off() -> None:
    cooldowns = Cooldowns(60.0, burst=1, clock=Clock())
    cooldowns.take("ann")
    cooldowns.take("bob")
    unlimited = Cooldowns(0.0, burst=1, clock=Clock())
    for _ in range(100):
        unlimited.take("ann")
