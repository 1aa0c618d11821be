"""The threads that are bot conversations (opened by /chat): their record and the store interface.

A store mirrors its threads in memory, so the message listener decides synchronously whether a
message belongs to a bot thread (a thread's messages keep their arrival order); the database keeps
the list across restarts and, with PostgreSQL, shares it between processes.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True)
class ConversationThread:
    """A thread in which the bot answers every message."""

    thread_id: int
    guild_id: int
    parent_id: int
    starter_id: int
    created_at: int = 0


class ThreadStore(Protocol):
    """Records bot conversation threads."""

    async def load(self) -> int:
        """Read every recorded thread into memory; return how many there are."""
        ...

    def get(self, thread_id: int) -> ConversationThread | None:
        """Return the conversation thread with this id, if it is one."""
        ...

    async def find(self, thread_id: int) -> ConversationThread | None:
        """Read one thread from the database (another process may have recorded it) and mirror it."""
        ...

    async def add(
        self, thread_id: int, *, guild_id: int, parent_id: int, starter_id: int
    ) -> ConversationThread:
        """Record a new conversation thread."""
        ...

    async def remove(self, thread_id: int) -> bool:
        """Forget a thread (it was deleted) and its history; return whether it was a conversation."""
        ...
