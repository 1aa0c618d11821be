"""Read the bot's /metrics and /health the way Prometheus and a container's probe do."""

from __future__ import annotations

import aiohttp
from prometheus_client.parser import text_string_to_metric_families
from prometheus_client.samples import Sample

from tests.conftest import Harness


def base_url(harness: Harness) -> str:
    """Return where the harness's bot serves metrics."""
    assert harness.bot is not None and harness.bot.metrics is not None
    return f"http://127.0.0.1:{harness.bot.metrics.port}"


async def get(harness: Harness, path: str) -> tuple[int, str]:
    """GET `path` from the metrics server; return the status and the body."""
    async with aiohttp.ClientSession() as session, session.get(base_url(harness) + path) as response:
        return response.status, await response.text()


async def samples(harness: Harness) -> list[Sample]:
    """Scrape /metrics and return every sample."""
    status, body = await get(harness, "/metrics")
    assert status == 200
    return [sample for family in text_string_to_metric_families(body) for sample in family.samples]


def value(found: list[Sample], name: str, **labels: str) -> float:
    """Return the sample `name` with exactly these labels (0 when absent)."""
    matches = [s.value for s in found if s.name == name and s.labels == labels]
    assert len(matches) <= 1, f"{name}{labels} is ambiguous"
    return matches[0] if matches else 0.0
