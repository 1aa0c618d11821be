"""The ledger of answered triggers on both backends: each id is claimed once, across processes too."""

from __future__ import annotations

import asyncio

from storage.backend import Storage
from storage.connect import DatabaseTarget, open_storage

NOW_SECONDS = 1_773_446_400
DAY_SECONDS = 86_400


async def test_a_trigger_is_claimed_once(storage: Storage) -> None:
    assert await storage.answered.claim(1234, now_seconds=NOW_SECONDS) is True
    assert await storage.answered.claim(1234, now_seconds=NOW_SECONDS + 1) is False
    assert await storage.answered.claim(1235, now_seconds=NOW_SECONDS) is True


async def test_two_processes_claiming_the_same_triggers_take_each_once(target: DatabaseTarget) -> None:
    first, second = await open_storage(target), await open_storage(target)
    try:
        claims = await asyncio.gather(
            *(
                s.answered.claim(trigger, now_seconds=NOW_SECONDS)
                for trigger in range(30)
                for s in (first, second)
            )
        )
        assert sum(claims) == 30
        assert all(a != b for a, b in zip(claims[::2], claims[1::2], strict=True))
    finally:
        await first.close()
        await second.close()


async def test_pruning_forgets_old_claims_only(storage: Storage) -> None:
    await storage.answered.claim(1, now_seconds=NOW_SECONDS - 8 * DAY_SECONDS)
    await storage.answered.claim(2, now_seconds=NOW_SECONDS)
    assert await storage.answered.prune(before_seconds=NOW_SECONDS - 7 * DAY_SECONDS) == 1
    assert await storage.answered.claim(1, now_seconds=NOW_SECONDS) is True
    assert await storage.answered.claim(2, now_seconds=NOW_SECONDS) is False
