"""The recording calls and the METRICS_ADDRESS setting, without a bot."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace

import pytest
import yarl
from multidict import CIMultiDict

from assistant.errors import BudgetExhausted, ChannelBusy, RateLimited, ShuttingDown, TooManyWaiting
from assistant.observability import discord_http, metrics
from assistant.observability.answers import outcome_of
from assistant.observability.server import BotStateCollector, serve_metrics
from assistant.settings import Settings, SettingsError

REQUIRED = {"DISCORD_TOKEN": "discord-token-value", "EVOLINK_API_KEY": "sk-secret-value"}


@pytest.fixture
def recorder() -> Iterator[metrics.Recorder]:
    """Record into a fresh registry for one test."""
    yield metrics.start()
    metrics.stop()


def sample(recorder: metrics.Recorder, name: str, **labels: str) -> float | None:
    """Return a sample's value from the recorder's registry."""
    return recorder.registry.get_sample_value(name, labels)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [("", None), ("127.0.0.1:9464", ("127.0.0.1", 9464)), ("[::]:80", ("::", 80)),
     ("[::1]:9464", ("::1", 9464)), ("localhost:65535", ("localhost", 65535))],
)  # fmt: skip
def test_metrics_address_is_host_and_port(raw: str, expected: tuple[str, int] | None) -> None:
    assert Settings.from_env(REQUIRED | {"METRICS_ADDRESS": raw}).metrics_address == expected


@pytest.mark.parametrize("raw", ["9464", ":9464", "host:", "host:port", "host:0", "host:70000"])
def test_a_malformed_metrics_address_is_named(raw: str) -> None:
    with pytest.raises(SettingsError, match=r"^METRICS_ADDRESS is malformed: expected host:port"):
        Settings.from_env(REQUIRED | {"METRICS_ADDRESS": raw})


def test_nothing_is_recorded_while_metrics_are_off() -> None:
    metrics.stop()
    metrics.completion_failed(RateLimited(), retrying=True)
    metrics.budget_refused("member")
    assert metrics.current() is None


@pytest.mark.parametrize(
    ("error", "outcome"),
    [(BudgetExhausted(), "budget"), (ChannelBusy(), "busy"), (TooManyWaiting(3), "busy"),
     (RateLimited(), "model_error"), (ShuttingDown(), "shutdown"), (asyncio.CancelledError(), "cancelled"),
     (RuntimeError("boom"), "failed")],
)  # fmt: skip
def test_outcomes_follow_the_error(error: BaseException, outcome: str) -> None:
    assert outcome_of(error) == outcome


def request_end(method: str, path: str, status: int, **headers: str) -> SimpleNamespace:
    """Return what aiohttp hands a trace's end-of-request callback."""
    response = SimpleNamespace(status=status, headers=CIMultiDict(headers))
    return SimpleNamespace(method=method, url=yarl.URL("http://discord.test" + path), response=response)


async def test_discord_requests_and_429s_are_counted_by_method_status_and_scope(
    recorder: metrics.Recorder,
) -> None:
    trace = discord_http.trace_config()
    [on_end] = trace.on_request_end
    context = SimpleNamespace()
    await on_end(None, context, request_end("POST", "/api/v10/channels/1/messages", 200))
    await on_end(
        None,
        context,
        request_end("POST", "/api/v10/channels/1/messages", 429, **{"X-RateLimit-Scope": "user"}),
    )
    await on_end(None, context, request_end("PATCH", "/api/v10/channels/1/messages/2", 429))
    await on_end(None, context, request_end("GET", "/api/v10/gateway", 101))  # the websocket upgrade
    assert sample(recorder, "assistant_discord_requests_total", method="POST", status="200") == 1
    assert sample(recorder, "assistant_discord_requests_total", method="POST", status="429") == 1
    assert sample(recorder, "assistant_discord_rate_limited_total", scope="user") == 1
    assert sample(recorder, "assistant_discord_rate_limited_total", scope="unknown") == 1
    assert sample(recorder, "assistant_discord_requests_total", method="GET", status="101") is None


def test_the_readme_lists_every_metric(recorder: metrics.Recorder) -> None:
    readme = (Path(__file__).resolve().parents[3] / "README.md").read_text(encoding="utf-8")
    bot = SimpleNamespace(ws=None, latency=float("nan"), answerer=None, shard_id=None)
    families = [*recorder.registry.collect(), *BotStateCollector(bot).collect()]  # type: ignore[arg-type]
    names = {family.name for family in families if not family.name.startswith("process_")}
    assert len(names) == 13
    for name in names:
        listed = f"`{name}_total`" if family_type(families, name) == "counter" else f"`{name}`"
        assert listed in readme, name


def family_type(families: list, name: str) -> str:
    """Return the type of the metric family called `name`."""
    return next(family.type for family in families if family.name == name)


async def test_a_taken_port_is_one_error_line_and_the_bot_runs_on(caplog: pytest.LogCaptureFixture) -> None:
    bot = SimpleNamespace(ws=None, latency=float("nan"), answerer=None, shard_id=None)
    first = await serve_metrics(bot, ("127.0.0.1", 0))  # type: ignore[arg-type]
    assert first is not None
    try:
        assert await serve_metrics(bot, ("127.0.0.1", first.port)) is None  # type: ignore[arg-type]
    finally:
        await first.close()
    [record] = [
        r for r in caplog.records if r.name == "assistant.observability.server" and r.levelname == "ERROR"
    ]
    assert record.getMessage().startswith(f"METRICS_ADDRESS 127.0.0.1:{first.port} cannot be served")
    assert metrics.current() is None
