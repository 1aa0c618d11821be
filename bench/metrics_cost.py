"""What metrics cost the answer path: the added latency with METRICS_ADDRESS unset, then set.

Both runs are the latency scenario of :mod:`bench.live` (whole answers, the model answering in
1 s); with metrics on, a scraper reads ``/metrics`` every second, far more often than Prometheus
does (15 s by default). Runs alternate off/on so drift of the machine falls on both alike, and each
setting's samples are pooled.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import aiohttp
import yarl

from assistant.model.wire import Usage
from assistant.observability import discord_http, metrics
from assistant.observability.answers import observed
from bench.live import Load, answer_after, converse
from bench.stage import Asked, Stage, running_bot
from bench.stats import summary_ms

SCRAPE_INTERVAL_SECONDS = 1.0
RECORDING_ROUNDS = 20_000


@contextlib.asynccontextmanager
async def scraping(port: int) -> AsyncIterator[list[int]]:
    """Scrape /metrics every second until the block ends; yield the sizes scraped."""
    sizes: list[int] = []

    async def scrape() -> None:
        async with aiohttp.ClientSession() as session:
            while True:
                async with session.get(f"http://127.0.0.1:{port}/metrics") as response:
                    sizes.append(len(await response.read()))
                await asyncio.sleep(SCRAPE_INTERVAL_SECONDS)

    task = asyncio.create_task(scrape())
    try:
        yield sizes
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)


async def one_run(workdir: Path, load: Load, *, metrics: bool, run: int) -> tuple[list[float], int]:
    """Run the latency scenario once; return each answer's added seconds and the scrapes made."""
    async with Stage(load.conversations) as stage:
        stage.answer_with(answer_after(load.model_seconds))
        overrides: dict[str, Any] = {"stream": False}
        if metrics:
            overrides["metrics_address"] = ("127.0.0.1", 0)
        settings = stage.settings(workdir / f"metrics-{metrics}-{run}.db", **overrides)
        async with running_bot(settings) as bot:
            await converse(stage, Load(load.conversations, 1, 0.0))  # warm-up
            port = bot.metrics.port if bot.metrics is not None else None
            async with contextlib.AsyncExitStack() as stack:
                scrapes = await stack.enter_async_context(scraping(port)) if port is not None else []
                asked: list[Asked] = await converse(stage, load, first_round=1)
        added = added_seconds(stage, asked)
    return added, len(scrapes)


def added_seconds(stage: Stage, asked: list[Asked]) -> list[float]:
    """Return what the bot added to each answer: before the model's request, and after its answer."""
    requests = stage.model_requests()
    added = []
    for question in asked:
        request = requests[question.tag]
        assert request.finished_at is not None
        visible = stage.tracker.visible_at[question.message_id]
        added.append((request.time - question.at) + (visible - request.finished_at))
    return added


async def metrics_cost(workdir: Path, load: Load, pairs: int) -> dict[str, Any]:
    """Measure the added latency `pairs` times with metrics off and on, alternating."""
    off: list[float] = []
    on: list[float] = []
    scrapes = 0
    for run in range(pairs):
        off += (await one_run(workdir, load, metrics=False, run=run))[0]
        samples, scraped = await one_run(workdir, load, metrics=True, run=run)
        on += samples
        scrapes += scraped
    return {
        "recording_cpu_us": {"off": await recording_cpu_us(on=False), "on": await recording_cpu_us(on=True)},
        "conversations": load.conversations,
        "answers_each": len(off),
        "runs_each": pairs,
        "scrapes": scrapes,
        "off_ms": summary_ms(off),
        "on_ms": summary_ms(on),
    }


class _Service:
    """Stands in for the answering service: its answer is instant, so only the recording is timed."""

    @observed
    async def answer(self, question: object, target: object) -> SimpleNamespace:
        """Pass the answer's Discord requests through the trace, as discord.py would."""
        for params in _ANSWER_REQUESTS:
            await _on_end(None, SimpleNamespace(), params)
        metrics.tokens_used(_USAGE)
        return SimpleNamespace(complete=True)


def _request(method: str, path: str) -> SimpleNamespace:

    response = SimpleNamespace(status=200, headers={})
    return SimpleNamespace(method=method, url=yarl.URL("http://discord.test" + path), response=response)


_ANSWER_REQUESTS = (
    _request("POST", "/api/v10/channels/1/typing"),
    _request("POST", "/api/v10/channels/1/messages"),
)
_USAGE = Usage(
    prompt_tokens=900, completion_tokens=100, total_tokens=1000, cached_tokens=512, reasoning_tokens=50
)
_on_end: Any = discord_http.trace_config().on_request_end[0]  # called with stand-ins for aiohttp's objects


async def recording_cpu_us(*, on: bool) -> float:
    """Return the CPU microseconds one whole answer spends recording (a typing and a message request)."""
    service = _Service()
    question = SimpleNamespace(guild_id=1, shared_conversation=False)
    if on:
        metrics.start()
    try:
        started = time.process_time()
        for _ in range(RECORDING_ROUNDS):
            await service.answer(question, None)
        return round((time.process_time() - started) / RECORDING_ROUNDS * 1e6, 2)
    finally:
        metrics.stop()
