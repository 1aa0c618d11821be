"""The charge of one request: settled once; a database lost after the answer went out is only logged."""

from __future__ import annotations

import logging

import pytest

from assistant.budgets.gate import Charge, Reservation
from assistant.model.completions import Usage
from storage.errors import StorageUnavailable


class LostDatabase:
    """A gate whose database went away after the reservation was made."""

    async def reserve(self, guild_id: int | None, user_id: int, estimate_tokens: int) -> Reservation:
        raise AssertionError("not called")

    async def settle(self, reservation: Reservation, usage: Usage) -> None:
        raise StorageUnavailable("PostgreSQL connection lost")

    async def release(self, reservation: Reservation) -> None:
        raise StorageUnavailable("PostgreSQL connection lost")


async def test_settling_on_a_lost_database_logs_instead_of_failing_the_answer(
    caplog: pytest.LogCaptureFixture,
) -> None:
    charge = Charge(LostDatabase(), Reservation(1, 2, 3_000, id=4))
    with caplog.at_level(logging.WARNING):
        await charge.settle(Usage(prompt_tokens=10, completion_tokens=5, total_tokens=15))
    assert charge.settled
    assert "usage could not be recorded" in caplog.text
    await charge.release()  # already settled: nothing more is asked of the database
