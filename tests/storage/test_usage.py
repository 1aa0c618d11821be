"""Usage store on both backends: atomic reservations, settling, releasing, budgets, day reports."""

from __future__ import annotations

import asyncio
from dataclasses import fields
from datetime import date
from pathlib import Path

import aiosqlite
import pytest

from storage.backend import Storage
from storage.connect import DatabaseTarget, open_storage
from storage.sqlite.database import Database, pending_migrations
from storage.sqlite.usage import TALLY_COLUMNS, SqliteUsageStore
from storage.usage import LedgerKey, Standing, StoredBudgets, Tally, UsageStore

DAY = date(2026, 3, 14)
NOW_SECONDS = 1_773_446_400
ALICE = LedgerKey(guild_id=1, user_id=10, day=DAY)
BOB = LedgerKey(guild_id=1, user_id=20, day=DAY)


@pytest.fixture
def store(storage: Storage) -> UsageStore:
    return storage.usage


def admit_all(standing: Standing) -> bool:
    return True


async def standing_of(store: UsageStore, key: LedgerKey) -> Standing:
    """Return what a reservation for `key` would see, without holding anything."""
    _, standing = await store.reserve(key, 1, lambda _: False, now_seconds=NOW_SECONDS)
    return standing


async def held_tokens(store: UsageStore, *keys: LedgerKey) -> int:
    """Return the tokens held in flight on the test day in the servers of `keys` (ALICE's by default)."""
    servers = {key.guild_id for key in keys or (ALICE,)}
    return sum([(await store.day_report(LedgerKey(g, 0, DAY), top_count=0)).held_tokens for g in servers])


def test_the_column_list_follows_the_tally_fields() -> None:
    assert TALLY_COLUMNS.replace(" ", "").split(",") == [field.name for field in fields(Tally)]


async def test_a_reservation_counts_for_the_server_and_the_member_until_settled(store: UsageStore) -> None:
    first, standing = await store.reserve(ALICE, 2_000, admit_all, now_seconds=NOW_SECONDS)
    assert first is not None
    assert standing == Standing(StoredBudgets(), 0, 0, 0, 0)  # what the first request saw
    seen_by_bob = await standing_of(store, BOB)
    assert (seen_by_bob.guild_tokens, seen_by_bob.guild_held_tokens) == (2_000, 2_000)
    assert (seen_by_bob.user_tokens, seen_by_bob.user_held_tokens) == (0, 0)
    await store.settle(first, Tally(requests=1, total_tokens=700, prompt_tokens=500), fallback=ALICE)
    after = await standing_of(store, ALICE)
    assert (after.guild_tokens, after.guild_held_tokens, after.user_tokens) == (700, 0, 700)


async def test_a_refused_reservation_holds_nothing(store: UsageStore) -> None:
    refused, _ = await store.reserve(ALICE, 2_000, lambda _: False, now_seconds=NOW_SECONDS)
    assert refused is None
    assert await held_tokens(store) == 0


async def test_concurrent_reservations_see_each_other(store: UsageStore) -> None:
    limit_tokens = 5_000

    async def ask(user_id: int) -> int | None:
        key = LedgerKey(1, user_id, DAY)
        reservation, _ = await store.reserve(
            key, 1_000, lambda s: s.guild_tokens < limit_tokens, now_seconds=NOW_SECONDS
        )
        return reservation

    granted = [r for r in await asyncio.gather(*(ask(user_id) for user_id in range(50))) if r is not None]
    assert len(granted) == 5  # 0, 1,000 … 4,000 held were below the limit; 5,000 is not
    assert (await standing_of(store, ALICE)).guild_held_tokens == 5_000


async def test_settling_records_on_the_reserved_day_and_sums_the_usage(store: UsageStore) -> None:
    reservation, _ = await store.reserve(ALICE, 2_000, admit_all, now_seconds=NOW_SECONDS)
    assert reservation is not None
    usage = Tally(1, 0, 1, 1_200, 345, 300, 1_000, 1_545)
    # Settled after midnight: it still counts on the day it was reserved.
    await store.settle(reservation, usage, fallback=LedgerKey(1, 10, date(2026, 3, 15)))
    report = await store.day_report(ALICE, top_count=5)
    assert report.member == usage
    assert report.guild == usage
    assert (await store.day_report(LedgerKey(1, 10, date(2026, 3, 15)), top_count=5)).guild == Tally()


async def test_settling_a_vanished_reservation_records_on_the_fallback(store: UsageStore) -> None:
    reservation, _ = await store.reserve(ALICE, 2_000, admit_all, now_seconds=NOW_SECONDS)
    assert reservation is not None
    await store.clear_reservations()
    await store.settle(reservation, Tally(requests=1, total_tokens=50), fallback=BOB)
    assert (await store.day_report(BOB, top_count=0)).member.total_tokens == 50


async def test_releasing_counts_a_failure_and_no_tokens(store: UsageStore) -> None:
    reservation, _ = await store.reserve(ALICE, 2_000, admit_all, now_seconds=NOW_SECONDS)
    assert reservation is not None
    await store.release(reservation, fallback=ALICE)
    assert await held_tokens(store) == 0
    assert (await store.day_report(ALICE, top_count=0)).member == Tally(failed_requests=1)


async def test_clearing_drops_the_reservations_left_behind(store: UsageStore) -> None:
    keys = (ALICE, BOB, LedgerKey(2, 10, DAY))
    for key in keys:  # made long ago (NOW_SECONDS): no answer in flight still holds them
        await store.reserve(key, 100, admit_all, now_seconds=NOW_SECONDS)
    assert await store.clear_reservations() == 3
    assert await held_tokens(store, *keys) == 0


async def test_budgets_are_stored_per_server_and_an_omitted_member_budget_is_kept(store: UsageStore) -> None:
    assert await store.budgets(1) == StoredBudgets(None, None)
    assert await store.set_budgets(1, 100_000, None, by=99, now_seconds=NOW_SECONDS) == StoredBudgets(100_000)
    assert await store.set_budgets(1, 0, 5_000, by=99, now_seconds=NOW_SECONDS) == StoredBudgets(0, 5_000)
    assert await store.set_budgets(1, 80_000, None, by=99, now_seconds=NOW_SECONDS) == StoredBudgets(
        80_000, 5_000
    )
    assert await store.budgets(1) == StoredBudgets(80_000, 5_000)
    assert await store.budgets(2) == StoredBudgets()
    assert (await standing_of(store, ALICE)).budgets == StoredBudgets(80_000, 5_000)


async def test_the_day_report_sums_the_server_and_ranks_its_members(store: UsageStore) -> None:
    spend = [(ALICE, 300), (BOB, 900), (LedgerKey(1, 30, DAY), 600), (ALICE, 100)]
    spend += [(LedgerKey(2, 10, DAY), 5_000), (LedgerKey(1, 10, date(2026, 3, 13)), 7_000)]
    for key, tokens in spend:
        reservation, _ = await store.reserve(key, tokens, admit_all, now_seconds=NOW_SECONDS)
        assert reservation is not None
        await store.settle(reservation, Tally(requests=1, total_tokens=tokens), fallback=key)
    held, _ = await store.reserve(BOB, 2_000, admit_all, now_seconds=NOW_SECONDS)
    report = await store.day_report(ALICE, top_count=2)
    assert report.guild == Tally(requests=4, total_tokens=1_900)  # neither server 2 nor yesterday
    assert report.member == Tally(requests=2, total_tokens=400)
    assert [(user_id, tally.total_tokens) for user_id, tally in report.top] == [(20, 900), (30, 600)]
    assert report.held_tokens == 2_000
    assert held is not None


async def test_the_servers_day_total_the_check_reads_equals_its_members_sum(store: UsageStore) -> None:
    spend = [(ALICE, 300), (BOB, 900), (ALICE, 100), (LedgerKey(2, 10, DAY), 5_000)]
    for key, tokens in spend:
        reservation, _ = await store.reserve(key, tokens, admit_all, now_seconds=NOW_SECONDS)
        assert reservation is not None
        await store.settle(reservation, Tally(requests=1, total_tokens=tokens), fallback=key)
    failed, _ = await store.reserve(BOB, 50, admit_all, now_seconds=NOW_SECONDS)
    assert failed is not None
    await store.release(failed, fallback=BOB)
    report = await store.day_report(ALICE, top_count=0)
    assert (await store.standing(ALICE)).guild_tokens == report.guild.total_tokens == 1_300


async def test_the_server_totals_are_backfilled_from_existing_usage(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    async with aiosqlite.connect(path) as db:
        for number, script in pending_migrations(0):
            if number < 5:
                await db.executescript(f"{script}\nPRAGMA user_version = {number};")
        await db.executemany(
            "INSERT INTO usage_daily (guild_id, day, user_id, requests, total_tokens) VALUES (1, ?, ?, 1, ?)",
            [(DAY.isoformat(), 10, 300), (DAY.isoformat(), 20, 900)],
        )
        await db.commit()
    database = await Database.open(path)
    try:
        assert (await SqliteUsageStore(database).standing(ALICE)).guild_tokens == 1_200
    finally:
        await database.close()


async def test_reservations_from_two_processes_see_each_other(target: DatabaseTarget) -> None:
    # Two opened storages are two processes' pools (or connections): the hold is atomic in the database.
    first, second = await open_storage(target), await open_storage(target)
    limit_tokens = 5_000

    async def ask(user_id: int) -> int | None:
        store = (first, second)[user_id % 2].usage
        reservation, _ = await store.reserve(
            LedgerKey(1, user_id, DAY),
            1_000,
            lambda s: s.guild_tokens < limit_tokens,
            now_seconds=NOW_SECONDS,
        )
        return reservation

    try:
        granted = [r for r in await asyncio.gather(*(ask(user_id) for user_id in range(40))) if r is not None]
        assert len(granted) == 5
        assert await held_tokens(first.usage) == 5_000
    finally:
        await first.close()
        await second.close()


async def test_holds_and_settlements_racing_in_two_processes_all_succeed(target: DatabaseTarget) -> None:
    # Settlements below the estimate shrink the totals between a hold's read and its write: that must
    # not make holds retry until they give up (admission at a higher total stays right at a lower one).
    first, second = await open_storage(target), await open_storage(target)

    async def hold_and_settle(store: UsageStore, user_id: int) -> None:
        for _ in range(5):
            key = LedgerKey(1, user_id, DAY)
            held, _ = await store.reserve(key, 1_000, admit_all, now_seconds=NOW_SECONDS)
            assert held is not None
            await store.settle(held, Tally(requests=1, total_tokens=400), fallback=key)

    try:
        await asyncio.gather(*(hold_and_settle((first, second)[n % 2].usage, n) for n in range(16)))
        report = await first.usage.day_report(ALICE, top_count=0)
        assert (report.guild.requests, report.guild.total_tokens, report.held_tokens) == (80, 32_000, 0)
    finally:
        await first.close()
        await second.close()
