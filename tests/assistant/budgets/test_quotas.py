"""Quota rules (days, resets, budgets, refusals) as pure functions, and the service on a real database."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, date, datetime, timedelta, timezone
from pathlib import Path

import pytest

from assistant.budgets.quotas import (
    Budgets,
    QuotaService,
    Shortfall,
    check_budget,
    discord_relative_time,
    exhausted_message,
    find_shortfall,
    is_used_up,
    next_reset,
    resolve_budgets,
    tally_of,
    utc_day,
)
from assistant.errors import BudgetExhausted, InvalidBudget
from assistant.model.completions import Usage
from assistant.settings import MAX_DAILY_TOKENS
from storage.sqlite.database import Database
from storage.sqlite.usage import SqliteUsageStore
from storage.usage import Standing, StoredBudgets, Tally
from tests.fakes.clock import MovableClock

NOON = datetime(2026, 3, 14, 12, 0, tzinfo=UTC)
MIDNIGHT = datetime(2026, 3, 15, tzinfo=UTC)
DEFAULTS = Budgets(guild_tokens=200_000, user_tokens=50_000)


def standing(guild_tokens: int = 0, user_tokens: int = 0, held: int = 0) -> Standing:
    return Standing(StoredBudgets(), guild_tokens, held, user_tokens, held)


# -- days and resets ---------------------------------------------------------------------------------


def test_the_day_ends_at_utc_midnight() -> None:
    assert utc_day(MIDNIGHT - timedelta(seconds=1)) == date(2026, 3, 14)
    assert utc_day(MIDNIGHT) == date(2026, 3, 15)


def test_the_day_is_the_utc_one_whatever_the_clocks_zone() -> None:
    # 01:00 in UTC+2 is still 23:00 the evening before in UTC.
    assert utc_day(datetime(2026, 3, 15, 1, 0, tzinfo=timezone(timedelta(hours=2)))) == date(2026, 3, 14)
    assert utc_day(datetime(2026, 3, 14, 23, 59)) == date(2026, 3, 14)  # naive is taken as UTC


def test_budgets_reset_at_the_next_utc_midnight() -> None:
    assert next_reset(NOON) == MIDNIGHT
    assert next_reset(MIDNIGHT - timedelta(microseconds=1)) == MIDNIGHT
    assert next_reset(MIDNIGHT) == MIDNIGHT + timedelta(days=1)  # midnight starts a whole new day


def test_the_reset_is_shown_as_a_discord_relative_timestamp() -> None:
    assert discord_relative_time(MIDNIGHT) == f"<t:{int(MIDNIGHT.timestamp())}:R>" == "<t:1773532800:R>"


# -- budgets -----------------------------------------------------------------------------------------


def test_unset_budgets_are_the_defaults_and_zero_stays_unlimited() -> None:
    assert resolve_budgets(StoredBudgets(), DEFAULTS) == Budgets(200_000, 50_000, True, True)
    assert resolve_budgets(StoredBudgets(0, None), DEFAULTS) == Budgets(0, 50_000, False, True)
    assert resolve_budgets(StoredBudgets(10, 3), DEFAULTS) == Budgets(10, 3, False, False)


@pytest.mark.parametrize(
    ("used", "limit", "expected"),
    [(0, 1, False), (999, 1_000, False), (1_000, 1_000, True), (1_500, 1_000, True), (10**12, 0, False)],
)
def test_a_budget_is_used_up_once_it_reaches_its_limit(used: int, limit: int, expected: bool) -> None:
    assert is_used_up(used, limit) is expected


def test_the_server_budget_is_reported_before_the_members() -> None:
    budgets = Budgets(guild_tokens=1_000, user_tokens=500)
    assert find_shortfall(budgets, standing(1_000, 500)) == Shortfall("server", 1_000, 1_000)
    assert find_shortfall(budgets, standing(900, 500, held=200)) == Shortfall("member", 500, 500, 200)
    assert find_shortfall(budgets, standing(999, 499)) is None
    assert find_shortfall(Budgets(0, 0), standing(10**9, 10**9)) is None
    # Outside a server only the member's budget applies.
    assert find_shortfall(budgets, standing(5_000, 0), in_a_server=False) is None


@pytest.mark.parametrize("tokens", [0, 1, 50_000, MAX_DAILY_TOKENS])
def test_valid_budgets_are_whole_numbers_in_range(tokens: int) -> None:
    assert check_budget(tokens) == tokens


@pytest.mark.parametrize("tokens", [-1, MAX_DAILY_TOKENS + 1, True, 2.5])
def test_invalid_budgets_are_refused_with_the_range(tokens: int) -> None:
    with pytest.raises(InvalidBudget) as refused:
        check_budget(tokens)
    assert f"0 (unlimited) to {MAX_DAILY_TOKENS:,}" in refused.value.user_message
    assert "Nothing was changed" in refused.value.user_message


# -- messages and tallies ----------------------------------------------------------------------------


def test_the_refusal_names_the_server_budget_its_figures_and_the_reset() -> None:
    text = exhausted_message(Shortfall("server", 200_512, 200_000), MIDNIGHT)
    assert text == (
        "This server has used up its daily token budget: 200,512 of 200,000 tokens today. "
        "It resets <t:1773532800:R>, at midnight UTC."
    )


def test_the_refusal_names_the_members_budget_and_answers_in_flight() -> None:
    text = exhausted_message(Shortfall("member", 51_000, 50_000, held_tokens=2_100), MIDNIGHT)
    assert text.startswith("You have used up your daily token budget in this server: 51,000 of 50,000")
    assert "(counting answers still being written)" in text
    assert text.endswith("It resets <t:1773532800:R>, at midnight UTC.")


def test_a_usage_becomes_one_request_in_the_ledger() -> None:
    usage = Usage(1_200, 345, 1_545, cached_tokens=1_000, reasoning_tokens=300)
    assert tally_of(usage) == Tally(1, 0, 0, 1_200, 345, 300, 1_000, 1_545)
    assert tally_of(Usage(10, 5, 15, estimated=True)).estimated_requests == 1


# -- the service on a real database ----------------------------------------------------------------


@pytest.fixture
async def quotas(tmp_path: Path) -> AsyncIterator[tuple[QuotaService, MovableClock]]:
    database = await Database.open(tmp_path / "bot.db")
    clock = MovableClock(MIDNIGHT - timedelta(minutes=5))
    yield QuotaService(SqliteUsageStore(database), defaults=Budgets(3_000, 0), clock=clock), clock
    await database.close()


async def test_the_service_refuses_once_the_day_is_spent_then_resets_at_midnight(
    quotas: tuple[QuotaService, MovableClock],
) -> None:
    service, clock = quotas
    reservation = await service.reserve(1, 10, 2_000)
    await service.settle(reservation, Usage(2_500, 500, 3_000))
    with pytest.raises(BudgetExhausted) as refused:
        await service.reserve(1, 20, 10)
    assert refused.value.user_message.startswith("This server has used up its daily token budget: 3,000 of")
    assert "<t:1773532800:R>" in refused.value.user_message  # the coming midnight
    clock.now = MIDNIGHT
    await service.release(await service.reserve(1, 20, 10))
    report = await service.report(1, 20)
    assert report.day.guild == Tally(failed_requests=1)
    assert report.resets_at == MIDNIGHT + timedelta(days=1)
