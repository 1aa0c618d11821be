"""Per-channel conversation history: its records, the window arithmetic, and the store interface.

Each stored turn carries its channel's running token total (`running_tokens`, this turn included).
A context window starts at a block boundary of that total (:func:`window_boundary`), so the
window is a pure function of the stored rows: it stays the same from one question to the next
until the history outgrows it, and a restart does not move it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

Role = Literal["user", "assistant"]


@dataclass(frozen=True)
class Turn:
    """One stored message of a conversation."""

    role: Role
    content: str
    tokens: int
    author_name: str = ""
    author_id: int | None = None
    discord_message_id: int | None = None
    id: int | None = field(default=None, compare=False)  # the row's id once stored


@dataclass(frozen=True)
class Exchange:
    """A question and its answer, stored together or not at all."""

    guild_id: int | None
    channel_id: int
    question: Turn
    answer: Turn


class HistoryStore(Protocol):
    """Reads and writes channel history."""

    async def newest(self, channel_id: int, *, budget_tokens: int) -> list[Turn]:
        """Return the channel's newest turns whose tokens add up to at most `budget_tokens`, oldest first."""
        ...

    async def window(self, channel_id: int, *, budget_tokens: int, block_tokens: int) -> list[Turn]:
        """Return the channel's context window (see :func:`window_boundary`), oldest first."""
        ...

    async def append_exchange(self, exchange: Exchange) -> list[int]:
        """Store a question and its answer (both or neither); return their row ids."""
        ...

    async def remove(self, ids: list[int]) -> None:
        """Delete the given turns (an exchange whose answer never reached Discord)."""
        ...

    async def forget(self, channel_id: int) -> int:
        """Delete the channel's history and return how many turns were forgotten."""
        ...

    async def count(self, channel_id: int) -> int:
        """Return how many turns the channel has stored."""
        ...

    async def recount(self, tokens_of: Callable[[Turn], int]) -> int:
        """Recount, once, the turns stored before counts were exact; return how many were recounted.

        Their running totals are rebuilt with the last batch; an interrupted recount starts again.
        """
        ...


def window_boundary(total_tokens: int, budget_tokens: int, block_tokens: int) -> int:
    """Return where a channel's context window starts, in its running token total.

    The smallest multiple of `block_tokens` that leaves at most `budget_tokens` after it: as the
    history grows, the start stays put until the window overflows, then jumps a whole block, so
    consecutive prompts share their prefix. A block of 1 token is a plain sliding window.
    """
    overflow = total_tokens - budget_tokens
    if overflow <= 0:
        return 0
    return -(-overflow // block_tokens) * block_tokens


def window_turns(rows: Iterable[Sequence[Any]], budget_tokens: int, block_tokens: int) -> list[Turn]:
    """Return, oldest first, the turns of a window read newest first.

    Each row is (role, content, tokens, running, author name, author id, message id, row id).
    `rows` are the turns that end after the boundary plus at most one more; the newest one's
    running total is the channel's total. Shared by every backend, so the window is the same in each.
    """
    kept: list[Turn] = []
    spent = 0
    boundary: int | None = None
    for role, content, tokens, running, author_name, author_id, message_id, turn_id in rows:  # newest 1st
        if boundary is None:
            boundary = window_boundary(running, budget_tokens, block_tokens)
        # The budget check also holds the line if running totals have gaps (removed turns).
        if running - tokens < boundary or spent + tokens > budget_tokens:
            break
        spent += tokens
        kept.append(Turn(role, content, tokens, author_name, author_id, message_id, turn_id))
    return kept[::-1]
