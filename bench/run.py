"""Run the benchmarks, print their table and write it as JSON.

``python -m bench`` runs everything (about 6 minutes on 2 cores, a few of them generating 10^7
stored turns); ``--quick`` stops the history at 10^6; ``--smoke`` runs the smallest sizes in a few
seconds, for the test that keeps this code working. Everything listens on 127.0.0.1 only.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import platform
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from assistant.delivery.streaming import EDIT_INTERVAL_SECONDS
from bench.attachments import attachments
from bench.history_scale import history_at_scale
from bench.live import Load, latency, streaming, throughput
from bench.load import FULL_BURSTS, SMOKE_BURSTS, Burst, load_at_limit
from bench.memory import memory
from bench.metrics_cost import metrics_cost
from bench.postgres import postgres_figures, postgres_table
from bench.report import attachments_table, metrics_table, render, settings_table
from bench.settings_cost import settings_cost
from bench.token_cost import token_cost
from bench.tokens import tokens

log = logging.getLogger("bench")

RESULTS = Path(__file__).resolve().parent / "results" / "latest.json"
MODEL_SECONDS = 1.0  # a fast model's answer; the added latency does not depend on it


@dataclass(frozen=True)
class Plan:
    """The sizes of one run."""

    mode: str
    latency: tuple[Load, ...]
    throughput: Load
    streaming: Load
    stream_chars: int
    edit_interval_seconds: float
    metrics: Load
    metrics_pairs: int
    history_sizes: tuple[int, ...]
    build_samples: int
    memory_conversations: int
    token_turns: int
    token_cost_answers: int
    image_scale: float  # 1.0: images just under 10 MiB
    build_samples_images: int
    load: tuple[Burst, ...]
    postgres_history_sizes: tuple[int, ...]
    reservations: int


FULL = Plan(
    mode="full",
    latency=(Load(1, 20, MODEL_SECONDS), Load(10, 10, MODEL_SECONDS, 1.0), Load(100, 5, MODEL_SECONDS, 1.0)),
    throughput=Load(500, 4, 0.0),  # 4 answers per channel: within Discord's 5 per 5 s
    streaming=Load(10, 3, 0.0),
    stream_chars=1_500,
    edit_interval_seconds=EDIT_INTERVAL_SECONDS,
    metrics=Load(100, 5, MODEL_SECONDS, 1.0),
    metrics_pairs=2,
    history_sizes=(10**4, 10**5, 10**6, 10**7),
    build_samples=400,
    memory_conversations=10_000,
    token_turns=50,
    token_cost_answers=2_000,
    image_scale=1.0,
    build_samples_images=400,
    load=FULL_BURSTS,
    postgres_history_sizes=(10**5, 10**6),
    reservations=4_000,
)
QUICK = Plan(**{**FULL.__dict__, "mode": "quick", "history_sizes": (10**4, 10**5, 10**6)})
SMOKE = Plan(
    mode="smoke",
    latency=(Load(1, 2, 0.01), Load(3, 1, 0.01)),
    throughput=Load(3, 2, 0.0),
    streaming=Load(1, 1, 0.0),
    stream_chars=60,
    edit_interval_seconds=0.05,
    metrics=Load(2, 1, 0.01),
    metrics_pairs=1,
    history_sizes=(2_000,),
    build_samples=20,
    memory_conversations=20,
    token_turns=4,
    token_cost_answers=20,
    image_scale=0.05,
    build_samples_images=20,
    load=SMOKE_BURSTS,
    postgres_history_sizes=(2_000,),
    reservations=40,
)


def settings_load(plan: Plan) -> Load:
    """Return the load the settings' cost is measured at: the latency scenario's 10 conversations.

    Not 100: their 200 Discord requests a second would queue behind DISCORD_REQUESTS_PER_SECOND,
    whose wait (about a second) would drown what the settings cost.
    """
    return plan.latency[1]


def machine() -> dict[str, Any]:
    """Describe where the run happened."""
    cpu = next(
        (line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
         if line.startswith("model name")),
        platform.processor(),
    )  # fmt: skip
    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "python": platform.python_version(),
        "os": platform.platform(),
    }


async def run(plan: Plan, workdir: Path) -> dict[str, Any]:
    """Run every scenario of `plan` in order and return their figures."""
    started = time.perf_counter()
    results: dict[str, Any] = {"mode": plan.mode, "machine": machine()}
    results["latency"] = [await latency(workdir, load) for load in plan.latency]
    log.info("latency done after %.1f s", time.perf_counter() - started)
    results["throughput"] = await throughput(workdir, plan.throughput)
    results["streaming"] = await streaming(
        workdir, plan.streaming, plan.stream_chars, plan.edit_interval_seconds
    )
    results["load"] = await load_at_limit(workdir, plan.load)
    log.info("throughput, streaming and load done after %.1f s", time.perf_counter() - started)
    results["metrics"] = await metrics_cost(workdir, plan.metrics, plan.metrics_pairs)
    results["settings"] = await settings_cost(workdir, settings_load(plan), plan.metrics_pairs)
    results["tokens"] = await tokens(workdir, plan.token_turns)
    results["token_cost"] = token_cost(plan.token_cost_answers)
    results["attachments"] = await attachments(
        workdir, scale=plan.image_scale, samples=plan.build_samples_images
    )
    results["history"] = await history_at_scale(workdir, list(plan.history_sizes), plan.build_samples)
    log.info("tokens and history done after %.1f s", time.perf_counter() - started)
    results["postgres"] = await postgres_run(plan, workdir)
    results["postgres_table"] = postgres_table(results["postgres"])
    log.info("PostgreSQL done after %.1f s", time.perf_counter() - started)
    results["memory"] = await memory(workdir, plan.memory_conversations)
    results["seconds"] = round(time.perf_counter() - started, 1)
    return results


async def postgres_run(plan: Plan, workdir: Path) -> dict[str, Any]:
    """Run the PostgreSQL scenarios at the plan's busiest latency load."""
    return await postgres_figures(
        workdir, plan.latency[-1], list(plan.postgres_history_sizes), plan.build_samples, plan.reservations
    )


def parse_arguments(argv: Sequence[str] | None) -> argparse.Namespace:
    """Read the command line."""
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.splitlines()[0])
    sizes = parser.add_mutually_exclusive_group()
    sizes.add_argument("--quick", action="store_true", help="stop the history at 10^6 stored turns")
    sizes.add_argument("--smoke", action="store_true", help="the smallest sizes, in seconds")
    parser.add_argument(
        "--metrics",
        action="store_true",
        help="only the metrics' cost: added latency, metrics off and on",
    )
    parser.add_argument(
        "--settings",
        action="store_true",
        help="only the server settings' cost: added latency, no settings and every setting in use",
    )
    parser.add_argument(
        "--attachments",
        action="store_true",
        help="only the attachments: preparing four ~10 MiB images, context builds with and without images",
    )
    parser.add_argument(
        "--postgres",
        action="store_true",
        help="only PostgreSQL: added latency, history at scale, reservations across two processes",
    )
    parser.add_argument("--out", type=Path, default=RESULTS, help=f"where to write the JSON ({RESULTS})")
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the benchmarks, print the table, write the JSON."""
    arguments = parse_arguments(argv)
    plan = SMOKE if arguments.smoke else QUICK if arguments.quick else FULL
    # The bot's INFO lines would bury the table; warnings still show.
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr)
    log.setLevel(logging.INFO)  # progress: the full run takes minutes
    with tempfile.TemporaryDirectory(prefix="bench-") as workdir:
        if arguments.metrics:
            figures = asyncio.run(metrics_cost(Path(workdir), plan.metrics, plan.metrics_pairs))
            print(metrics_table(figures))
            return 0
        if arguments.settings:
            figures = asyncio.run(settings_cost(Path(workdir), settings_load(plan), plan.metrics_pairs))
            print(settings_table(figures))
            return 0
        if arguments.attachments:
            figures = asyncio.run(
                attachments(Path(workdir), scale=plan.image_scale, samples=plan.build_samples_images)
            )
            print(attachments_table(figures))
            return 0
        if arguments.postgres:
            print(postgres_table(asyncio.run(postgres_run(plan, Path(workdir)))))
            return 0
        results = asyncio.run(run(plan, Path(workdir)))
    arguments.out.parent.mkdir(parents=True, exist_ok=True)
    arguments.out.write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    print(render(results))
    print(f"\nWritten to {arguments.out}")
    return 0
