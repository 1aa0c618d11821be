"""History at scale: context-build and store times, and database size, at 10^4 … 10^7 stored turns.

The database is a real SQLite file opened the bot's way (:meth:`Database.open`: WAL, migrations),
grown step by step by :class:`~bench.history_data.HistoryGenerator`. At each size it times
:meth:`ContextBuilder.build` with the default settings (CONTEXT_TOKENS 16,000, the default system
prompt) for the hot channel and for random channels, the same with a plain sliding window, and
:meth:`HistoryStore.append_exchange` in the hot channel. The file is in the OS page cache (it was
just written), so these are warm-cache figures.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from assistant.context import SLIDING_WINDOW_TOKENS, ContextBuilder, label_user_turn
from assistant.model.tokens import estimate_message_tokens
from assistant.settings import DEFAULT_SYSTEM_PROMPT, Secret, Settings
from bench.history_data import (
    AUTHOR_NAME,
    GUILD_ID,
    HOT_CHANNEL_ID,
    HistoryGenerator,
    channel_count,
    database_bytes,
)
from bench.stats import summary_ms
from storage.history import Exchange, HistoryStore, Turn
from storage.sqlite.database import Database
from storage.sqlite.history import SqliteHistoryStore

# The default CONTEXT_TOKENS, as a bot started with no such setting uses.
CONTEXT_TOKENS = Settings(discord_token=Secret(""), evolink_api_key=Secret("")).context_tokens
QUESTION = label_user_turn(AUTHOR_NAME, "What did we decide about the release, and what is left to do?")
ANSWER = "We decided to ship on Friday. " * 20
WARM_UP_BUILDS = 20


async def timed(samples: int, work: Callable[[], Awaitable[object]]) -> list[float]:
    """Return the durations of `samples` runs of `work`, after a warm-up."""
    for _ in range(WARM_UP_BUILDS):
        await work()
    durations = []
    for _ in range(samples):
        started = time.perf_counter()
        await work()
        durations.append(time.perf_counter() - started)
    return durations


async def measure(generator: HistoryGenerator, samples: int) -> dict[str, Any]:
    """Time context builds and stores on the SQLite database as it stands."""
    database = await Database.open(generator.path)
    try:
        return await measure_history(SqliteHistoryStore(database), generator, samples)
    finally:
        await database.close()


async def measure_history(history: HistoryStore, generator: HistoryGenerator, samples: int) -> dict[str, Any]:
    """Time context builds and stores on `history` (either backend) as it stands."""
    builder = ContextBuilder(history, system_prompt=DEFAULT_SYSTEM_PROMPT, budget_tokens=CONTEXT_TOKENS)
    sliding = ContextBuilder(
        history,
        system_prompt=DEFAULT_SYSTEM_PROMPT,
        budget_tokens=CONTEXT_TOKENS,
        block_tokens=SLIDING_WINDOW_TOKENS,
    )
    rng = random.Random(generator.rows)
    hot = await builder.build(HOT_CHANNEL_ID, QUESTION)
    figures = {
        "hot_build_ms": summary_ms(await timed(samples, lambda: builder.build(HOT_CHANNEL_ID, QUESTION))),
        "hot_turns_sent": hot.history_turns,
        "random_build_ms": summary_ms(
            await timed(samples, lambda: builder.build(generator.random_channel(rng), QUESTION))
        ),
        "sliding_hot_build_ms": summary_ms(
            await timed(samples, lambda: sliding.build(HOT_CHANNEL_ID, QUESTION))
        ),
        "append_ms": summary_ms(await timed(samples // 4, lambda: append(history, generator))),
    }
    return figures


async def append(history: HistoryStore, generator: HistoryGenerator) -> None:
    """Store a question and answer in the hot channel, as the bot does after each answer."""
    question = Turn("user", QUESTION, estimate_message_tokens(QUESTION), AUTHOR_NAME)
    answer = Turn("assistant", ANSWER, estimate_message_tokens(ANSWER))
    await history.append_exchange(Exchange(GUILD_ID, HOT_CHANNEL_ID, question, answer))
    generator.account(HOT_CHANNEL_ID, question.tokens + answer.tokens)


def remove_database(path: Path) -> None:
    """Delete the database and its WAL files (gigabytes at the largest size)."""
    for leftover in path.parent.glob(f"{path.name}*"):
        leftover.unlink()


async def history_at_scale(workdir: Path, sizes: list[int], samples: int) -> dict[str, Any]:
    """Grow one database through `sizes` stored turns and measure at each."""
    path = workdir / "history.db"
    await (await Database.open(path)).close()  # created and migrated the bot's way
    generator = HistoryGenerator(path)
    steps = []
    try:
        for size in sizes:
            started = time.perf_counter()
            await asyncio.to_thread(generator.grow_to, size)
            generated = time.perf_counter() - started
            stored = database_bytes(path)
            steps.append(
                {
                    "messages": size,
                    "channels": channel_count(size) + 1,
                    "db_mb": round(stored / 1e6, 1),
                    "bytes_per_message": round(stored / size),
                    "generate_seconds": round(generated, 1),
                    **(await measure(generator, samples)),
                }
            )
    finally:
        await asyncio.to_thread(remove_database, path)
    return {"context_tokens": CONTEXT_TOKENS, "steps": steps}
