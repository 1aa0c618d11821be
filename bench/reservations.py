"""One process's share of the reservations benchmark: `python -m bench.reservations URL COUNT TASKS`.

Opens the database, prints "ready", waits for a line on standard input (so every worker starts at
once), then holds and settles COUNT budget reservations in one server (the contended case: every
hold of a server's day takes the same lock), TASKS at a time, and prints the seconds it took.
"""

from __future__ import annotations

import asyncio
import json
import sys
import time
from datetime import date

from storage.connect import open_storage
from storage.postgres.url import PostgresUrl
from storage.usage import LedgerKey, Standing, Tally

GUILD_ID = 1
DAY = date(2026, 3, 14)
TOKENS = 2_000


async def reserve_and_settle(url: PostgresUrl, count: int, tasks: int) -> float:
    """Return the seconds `count` reservations and settlements took, `tasks` at a time."""
    storage = await open_storage(url)
    queue: asyncio.Queue[int] = asyncio.Queue()
    for user_id in range(count):
        queue.put_nowait(user_id)

    def admit(standing: Standing) -> bool:
        return True

    async def worker() -> None:
        while not queue.empty():
            key = LedgerKey(GUILD_ID, queue.get_nowait() % 100, DAY)
            held, _ = await storage.usage.reserve(key, TOKENS, admit, now_seconds=int(time.time()))
            assert held is not None
            await storage.usage.settle(held, Tally(requests=1, total_tokens=TOKENS // 2), fallback=key)

    try:
        print("ready", flush=True)
        await asyncio.to_thread(sys.stdin.readline)
        started = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(tasks)))
        return time.perf_counter() - started
    finally:
        await storage.close()


def main() -> None:
    """Run one worker process and print its figures."""
    url, count, tasks = PostgresUrl.parse(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
    print(json.dumps({"seconds": asyncio.run(reserve_and_settle(url, count, tasks))}), flush=True)


if __name__ == "__main__":
    main()
