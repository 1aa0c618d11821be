"""The ledger of answered triggers: every message or interaction is answered by one session only.

During a deploy two sessions of one shard overlap and both receive the same events; whichever
claims a trigger's id first answers it, the other stays silent. Claims older than a week are pruned.
"""

from __future__ import annotations

from typing import Protocol


class AnsweredLedger(Protocol):
    """Claims message and interaction ids, once each, across every process sharing the database."""

    async def claim(self, trigger_id: int, *, now_seconds: int) -> bool:
        """Record `trigger_id` as being answered; return False when another session already claimed it."""
        ...

    async def prune(self, *, before_seconds: int) -> int:
        """Forget the claims made before `before_seconds` (unix time); return how many."""
        ...
