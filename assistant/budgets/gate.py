"""The budget gate the answering service passes before every model call.

:class:`Unlimited` lets everything through; the quota service (per-server and per-member daily
token budgets) implements the same protocol. A request *reserves* its estimate before the call,
then *settles* with the real usage, or *releases* the reservation when the call fails.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Protocol

from assistant.model.completions import Usage
from assistant.observability import metrics
from storage.errors import StorageUnavailable

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Reservation:
    """Tokens held for one request while it is in flight."""

    guild_id: int | None
    user_id: int
    tokens: int
    id: int = 0


class BudgetGate(Protocol):
    """Checks and records what each request costs."""

    async def reserve(self, guild_id: int | None, user_id: int, estimate_tokens: int) -> Reservation:
        """Hold `estimate_tokens` for a request, or raise BudgetExhausted if a budget cannot cover it."""
        ...

    async def settle(self, reservation: Reservation, usage: Usage) -> None:
        """Replace the reservation with the request's real usage."""
        ...

    async def release(self, reservation: Reservation) -> None:
        """Drop the reservation of a request that failed."""
        ...


class Unlimited:
    """A gate with no budgets: every request passes and nothing is recorded."""

    async def reserve(self, guild_id: int | None, user_id: int, estimate_tokens: int) -> Reservation:
        """Let the request through."""
        return Reservation(guild_id=guild_id, user_id=user_id, tokens=estimate_tokens)

    async def settle(self, reservation: Reservation, usage: Usage) -> None:
        """Record nothing."""

    async def release(self, reservation: Reservation) -> None:
        """Record nothing."""


class Charge:
    """One request's reservation: settled once with what it spent, or released if it spent nothing."""

    def __init__(self, gate: BudgetGate, reservation: Reservation) -> None:
        self._gate = gate
        self._reservation = reservation
        self.settled = False

    async def settle(self, usage: Usage) -> None:
        """Record what the request spent (once)."""
        if not self.settled:
            self.settled = True
            metrics.tokens_used(usage)
            try:
                await self._gate.settle(self._reservation, usage)
            except StorageUnavailable as exc:
                # The answer is out: the member must not hear it failed. The hold stays until it
                # expires (PostgreSQL) or the next start-up (SQLite), counting its estimate meanwhile.
                log.warning(
                    "An answer's usage could not be recorded (%s); its hold counts until it expires", exc
                )

    async def release(self) -> None:
        """Give the reservation back, unless the request was already settled."""
        if not self.settled:
            self.settled = True
            await self._gate.release(self._reservation)
