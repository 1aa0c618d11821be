"""Serve ``/metrics`` (Prometheus text format) and ``/health`` on ``METRICS_ADDRESS``.

``/health`` answers 200 when every shard this process runs is connected to Discord's gateway and
the database answers within :data:`DATABASE_PING_SECONDS`, else 503, with one line per check in
the body. The gauges read the bot's state at scrape time: nothing on the answer path updates them.
"""

from __future__ import annotations

import asyncio
import logging
import math
from collections.abc import Iterator
from typing import Any, Protocol

from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from assistant.observability import metrics

log = logging.getLogger(__name__)

DATABASE_PING_SECONDS = 2.0


class ObservedBot(Protocol):
    """What the server reads of the bot (an `AssistantBot`)."""

    storage: Any
    answerer: Any

    def is_ready(self) -> bool: ...
    def is_closed(self) -> bool: ...


def shard_states(bot: Any) -> list[tuple[int, bool, float]]:
    """Return (shard id, connected, gateway latency in seconds) for every shard of this process."""
    shards = getattr(bot, "shards", None)
    if isinstance(shards, dict):  # an AutoShardedClient: ShardInfo per shard launched so far
        return [(shard_id, not info.is_closed(), info.latency) for shard_id, info in sorted(shards.items())]
    ws = getattr(bot, "ws", None)
    return [(getattr(bot, "shard_id", None) or 0, ws is not None and ws.open, bot.latency)]


def gateway_ready(bot: ObservedBot) -> bool:
    """Return whether the bot is ready and every one of its shards is connected."""
    if bot.is_closed() or not bot.is_ready():
        return False
    states = shard_states(bot)
    return bool(states) and all(connected for _, connected, _ in states)


async def database_answers(bot: ObservedBot) -> bool:
    """Return whether the database answers a trivial query in time."""
    try:
        await asyncio.wait_for(bot.storage.connection.schema_version(), timeout=DATABASE_PING_SECONDS)
    except Exception as exc:  # closed, locked past the timeout, unreachable: all mean "not healthy"
        log.debug("Health check: the database did not answer: %s", type(exc).__name__)
        return False
    return True


class BotStateCollector(Collector):
    """Gauges read from the bot when Prometheus scrapes: shards, gateway latency, conversations."""

    def __init__(self, bot: ObservedBot) -> None:
        self._bot = bot

    def collect(self) -> Iterator[GaugeMetricFamily]:
        """Yield the gauges as they are now."""
        states = shard_states(self._bot)
        connected = GaugeMetricFamily("assistant_shards_connected", "Shards of this process connected.")
        connected.add_metric([], sum(1 for _, up, _ in states if up))
        yield connected
        total = GaugeMetricFamily("assistant_shards", "Shards this process runs (launched so far).")
        total.add_metric([], len(states))
        yield total
        latency = GaugeMetricFamily(
            "assistant_gateway_latency_seconds", "Heartbeat round trip per shard.", labels=["shard"]
        )
        for shard_id, _, seconds in states:
            if math.isfinite(seconds):
                latency.add_metric([str(shard_id)], seconds)
        yield latency
        waiting = GaugeMetricFamily(
            "assistant_conversations_waiting", "Conversations with a question being answered or waiting."
        )
        answerer = getattr(self._bot, "answerer", None)
        waiting.add_metric([], len(answerer.lanes) if answerer is not None else 0)
        yield waiting


class MetricsServer:
    """The HTTP server on METRICS_ADDRESS, recording while it runs."""

    def __init__(self, bot: ObservedBot, runner: web.AppRunner, port: int) -> None:
        self._bot = bot
        self._runner = runner
        self.port = port

    @classmethod
    async def start(cls, bot: ObservedBot, host: str, port: int) -> MetricsServer:
        """Serve on host:port (port 0: any free port, see `.port`), then start recording."""
        app = web.Application()
        runner = web.AppRunner(app, access_log=None, handle_signals=False)
        server = cls(bot, runner, port)
        app.router.add_get("/metrics", server._metrics)
        app.router.add_get("/health", server._health)
        await runner.setup()
        site = web.TCPSite(runner, host, port)
        try:
            await site.start()
        except BaseException:
            await runner.cleanup()
            raise
        metrics.start().registry.register(BotStateCollector(bot))
        server.port = runner.addresses[0][1]  # the port chosen, when 0 asked for any
        log.info("Metrics at http://%s:%d/metrics, health at /health", host, server.port)
        return server

    async def close(self) -> None:
        """Stop serving and recording."""
        await self._runner.cleanup()
        metrics.stop()

    async def _metrics(self, request: web.Request) -> web.Response:
        recorder = metrics.current()
        body = generate_latest(recorder.registry) if recorder is not None else b""
        return web.Response(body=body, headers={"Content-Type": CONTENT_TYPE_LATEST})

    async def _health(self, request: web.Request) -> web.Response:
        gateway = gateway_ready(self._bot)
        database = await database_answers(self._bot)
        lines = [f"gateway: {'connected' if gateway else 'not connected'}",
                 f"database: {'answers' if database else 'does not answer'}"]  # fmt: skip
        return web.Response(status=200 if gateway and database else 503, text="\n".join(lines) + "\n")


async def serve_metrics(bot: ObservedBot, address: tuple[str, int] | None) -> MetricsServer | None:
    """Serve metrics and health on `address` (None: not at all); a port that is taken is logged."""
    if address is None:
        return None
    host, port = address
    try:
        return await MetricsServer.start(bot, host, port)
    except OSError as exc:
        log.error("METRICS_ADDRESS %s:%d cannot be served (%s); running without metrics", host, port, exc)
        return None
