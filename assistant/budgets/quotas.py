"""Daily token budgets per server and per member: the :class:`~assistant.budgets.gate.BudgetGate` in use.

Budgets count ``usage.total_tokens`` per UTC day. Before each model call a request reserves its
estimate, and is refused while a budget is used up, reservations of requests in flight included.
Storage reads the totals and writes the reservation in one transaction, so concurrent requests
can overshoot a budget by at most one request's estimate. The real usage then replaces the
reservation; a failed request releases it and records no tokens.

The rules (days, resets, which budget applies, the refusal) are pure functions at the top, testable
without a database; :class:`QuotaService` applies them to storage.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Literal

from assistant.budgets.gate import Reservation
from assistant.errors import BudgetExhausted, InvalidBudget
from assistant.model.completions import Usage
from assistant.observability import metrics
from assistant.settings import MAX_DAILY_TOKENS
from storage.usage import DayReport, LedgerKey, Standing, StoredBudgets, Tally, UsageStore

log = logging.getLogger(__name__)

UNLIMITED_TOKENS = 0
# The ledger's "server" for questions asked outside any server the bot is in (DMs, user installs):
# a member's row there is their personal budget, USER_DAILY_TOKENS a day.
NO_GUILD_ID = 0

Scope = Literal["server", "member"]


@dataclass(frozen=True)
class Budgets:
    """Daily token limits (0 = unlimited), and which of them are the defaults from the settings."""

    guild_tokens: int
    user_tokens: int
    guild_is_default: bool = False
    user_is_default: bool = False


@dataclass(frozen=True)
class Shortfall:
    """A used-up budget: whose, the tokens counted against it (in flight included) and its limit."""

    scope: Scope
    used_tokens: int
    limit_tokens: int
    held_tokens: int = 0
    personal: bool = False  # the member's personal budget (outside the bot's servers)


def utc_day(moment: datetime) -> date:
    """Return the UTC day `moment` falls on (a naive moment is taken to be UTC)."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).date()


def next_reset(moment: datetime) -> datetime:
    """Return the UTC midnight that ends `moment`'s day, when every budget starts afresh."""
    return datetime.combine(utc_day(moment) + timedelta(days=1), time.min, tzinfo=UTC)


def discord_relative_time(moment: datetime) -> str:
    """Return a Discord timestamp that each reader sees as "in 3 hours" in their own locale."""
    return f"<t:{int(moment.timestamp())}:R>"


def resolve_budgets(stored: StoredBudgets, defaults: Budgets) -> Budgets:
    """Return the budgets in force: the server's own where set, else the defaults."""
    return Budgets(
        guild_tokens=defaults.guild_tokens if stored.daily_tokens is None else stored.daily_tokens,
        user_tokens=defaults.user_tokens if stored.user_daily_tokens is None else stored.user_daily_tokens,
        guild_is_default=stored.daily_tokens is None,
        user_is_default=stored.user_daily_tokens is None,
    )


def is_used_up(used_tokens: int, limit_tokens: int) -> bool:
    """Return whether a budget has no room left; an unlimited one never runs out."""
    return limit_tokens != UNLIMITED_TOKENS and used_tokens >= limit_tokens


def find_shortfall(budgets: Budgets, standing: Standing, *, in_a_server: bool = True) -> Shortfall | None:
    """Return the budget that refuses the next request (the server's first), or None if both have room."""
    if in_a_server and is_used_up(standing.guild_tokens, budgets.guild_tokens):
        return Shortfall("server", standing.guild_tokens, budgets.guild_tokens, standing.guild_held_tokens)
    if is_used_up(standing.user_tokens, budgets.user_tokens):
        used, held = standing.user_tokens, standing.user_held_tokens
        return Shortfall("member", used, budgets.user_tokens, held, personal=not in_a_server)
    return None


def exhausted_message(shortfall: Shortfall, resets_at: datetime) -> str:
    """Return the reply to a request refused for `shortfall`: which budget, used, limit, reset."""
    figures = f"{shortfall.used_tokens:,} of {shortfall.limit_tokens:,} tokens today"
    if shortfall.held_tokens:
        figures += " (counting answers still being written)"
    resets = f"It resets {discord_relative_time(resets_at)}, at midnight UTC."
    if shortfall.scope == "server":
        return f"This server has used up its daily token budget: {figures}. {resets}"
    if shortfall.personal:
        return f"You have used up your personal daily token budget: {figures}. {resets}"
    return f"You have used up your daily token budget in this server: {figures}. {resets}"


def check_budget(tokens: int) -> int:
    """Return `tokens` if it is a valid daily budget (0 = unlimited), else raise InvalidBudget."""
    if isinstance(tokens, bool) or not isinstance(tokens, int) or not 0 <= tokens <= MAX_DAILY_TOKENS:
        raise InvalidBudget(
            f"budget {tokens!r} out of range",
            user_message=(
                f"A budget must be a whole number of tokens from 0 (unlimited) to {MAX_DAILY_TOKENS:,}; "
                f"{tokens!r} is not. Nothing was changed."
            ),
        )
    return tokens


def tally_of(usage: Usage) -> Tally:
    """Return the ledger entry of one answered request."""
    return Tally(
        requests=1,
        estimated_requests=int(usage.estimated),
        prompt_tokens=usage.prompt_tokens,
        completion_tokens=usage.completion_tokens,
        reasoning_tokens=usage.reasoning_tokens,
        cached_tokens=usage.cached_tokens,
        total_tokens=usage.total_tokens,
    )


@dataclass(frozen=True)
class UsageReport:
    """A server's day as /usage shows it."""

    budgets: Budgets
    day: DayReport
    resets_at: datetime


@dataclass(frozen=True)
class PersonalReport:
    """A member's personal day (DMs and servers without the bot) as /usage shows it."""

    tally: Tally
    limit_tokens: int
    resets_at: datetime


class QuotaService:
    """Checks and records each request against its server's and member's daily budgets."""

    def __init__(self, store: UsageStore, *, defaults: Budgets, clock: Callable[[], datetime]) -> None:
        self._store = store
        self._defaults = defaults
        self._clock = clock

    async def clear_stale_reservations(self) -> None:
        """Drop the reservations an earlier run left behind: at start-up nothing is in flight."""
        cleared = await self._store.clear_reservations()
        if cleared:
            log.warning("Released %d token reservations left behind by an earlier run", cleared)

    async def reserve(self, guild_id: int | None, user_id: int, estimate_tokens: int) -> Reservation:
        """Hold `estimate_tokens` for a request, or raise BudgetExhausted if a budget is used up."""
        now = self._clock()

        def shortfall(standing: Standing) -> Shortfall | None:
            budgets = resolve_budgets(standing.budgets, self._defaults)
            return find_shortfall(budgets, standing, in_a_server=guild_id is not None)

        reservation_id, standing = await self._store.reserve(
            ledger_key(guild_id, user_id, now),
            estimate_tokens,
            lambda standing: shortfall(standing) is None,
            now_seconds=int(now.timestamp()),
        )
        if reservation_id is None:
            refused = shortfall(standing)
            assert refused is not None
            raise refusal(refused, now)
        return Reservation(guild_id=guild_id, user_id=user_id, tokens=estimate_tokens, id=reservation_id)

    async def ensure_available(self, guild_id: int | None, user_id: int) -> None:
        """Raise BudgetExhausted now if a budget is already used up (before starting costly work)."""
        now = self._clock()
        standing = await self._store.standing(ledger_key(guild_id, user_id, now))
        budgets = resolve_budgets(standing.budgets, self._defaults)
        refused = find_shortfall(budgets, standing, in_a_server=guild_id is not None)
        if refused is not None:
            raise refusal(refused, now)

    async def settle(self, reservation: Reservation, usage: Usage) -> None:
        """Replace the reservation with the request's real (or estimated) usage."""
        fallback = ledger_key(reservation.guild_id, reservation.user_id, self._clock())
        await self._store.settle(reservation.id, tally_of(usage), fallback=fallback)

    async def release(self, reservation: Reservation) -> None:
        """Drop the reservation of a request that failed, counting the failure but no tokens."""
        fallback = ledger_key(reservation.guild_id, reservation.user_id, self._clock())
        await self._store.release(reservation.id, fallback=fallback)

    async def report(self, guild_id: int, user_id: int, *, top_count: int = 0) -> UsageReport:
        """Return today's usage of a server and one member, with the `top_count` biggest users."""
        now = self._clock()
        day = await self._store.day_report(ledger_key(guild_id, user_id, now), top_count=top_count)
        return UsageReport(resolve_budgets(day.budgets, self._defaults), day, next_reset(now))

    async def personal(self, user_id: int) -> PersonalReport:
        """Return today's usage of a member's personal budget (questions outside the bot's servers)."""
        now = self._clock()
        day = await self._store.day_report(ledger_key(None, user_id, now), top_count=0)
        return PersonalReport(day.member, self._defaults.user_tokens, next_reset(now))

    async def set_budgets(
        self, guild_id: int, daily_tokens: int, user_daily_tokens: int | None, *, by: int
    ) -> Budgets:
        """Set a server's budgets (`user_daily_tokens=None` keeps the member budget) and return them."""
        check_budget(daily_tokens)
        if user_daily_tokens is not None:
            check_budget(user_daily_tokens)
        now_seconds = int(self._clock().timestamp())
        stored = await self._store.set_budgets(
            guild_id, daily_tokens, user_daily_tokens, by=by, now_seconds=now_seconds
        )
        budgets = resolve_budgets(stored, self._defaults)
        log.info(
            "Server %s budgets set by %s: %d a day, %d per member (0 = unlimited)",
            guild_id, by, budgets.guild_tokens, budgets.user_tokens,
        )  # fmt: skip
        return budgets


def refusal(shortfall: Shortfall, now: datetime) -> BudgetExhausted:
    """Count the refusal; return the error that tells a member which budget is used up and when it resets."""
    metrics.budget_refused(shortfall.scope)
    return BudgetExhausted(
        f"{shortfall.scope} budget used up ({shortfall.used_tokens} of {shortfall.limit_tokens} tokens)",
        user_message=exhausted_message(shortfall, next_reset(now)),
    )


def ledger_key(guild_id: int | None, user_id: int, moment: datetime) -> LedgerKey:
    """Return whose usage, on which UTC day, a request at `moment` counts as."""
    return LedgerKey(NO_GUILD_ID if guild_id is None else guild_id, user_id, utc_day(moment))
