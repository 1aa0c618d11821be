"""Load on Discord's real limit: many answers at once, the fake Discord allowing the bot 50 requests a second.

Each burst asks every one of its members at once, each in their own channel, and waits until every
answer is posted. It reports the busiest sliding second of counted Discord requests (the bot's budget
is the default 45), the 429s the fake Discord gave, how long after the model's last chunk each
answer's final text reached Discord, how many answers showed partial text first, and how many
intermediate edits they had. "Writes needed" is what the budget had to carry for the answers to be
complete (one create, plus one final edit for an answer that showed partial text), and "drain s"
the time that takes at the budget's rate: with more answers than one second's budget, that, not the
bot, is what bounds the last final text.
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.stage import Asked, Stage, running_bot
from bench.stats import summary_ms
from tests.fakes.completions import RecordedCompletionRequest, Reply
from tests.fakes.discord_limits import GLOBAL_REQUESTS_PER_SECOND

log = logging.getLogger(__name__)
ModelScript = Callable[[RecordedCompletionRequest], Reply]
COUNTED = re.compile(r"^(?!/interactions/\d+/[^/]+/callback$)(?!/webhooks/)")
ANSWER_WAIT_SECONDS = 300.0
# Between bursts, the budget's window and the channels' route windows empty.
SETTLE_SECONDS = 1.1


@dataclass(frozen=True)
class Burst:
    """Answers asked at once: how many, streamed or whole, and how the model answers."""

    label: str
    answers: int
    stream: bool
    chars: int
    chars_per_second: float  # streaming pace; whole answers come at once after `model_seconds`
    model_seconds: float = 0.0
    chunk_seconds: float = 0.5  # between stream chunks (fewer, larger chunks spare the shared CPU)


FULL_BURSTS = (
    Burst("1 streamed", 1, True, 900, 300.0),
    Burst("20 fast", 20, True, 300, 3_000.0, chunk_seconds=0.05),
    Burst("100 streamed", 100, True, 900, 300.0),
    Burst("300 streamed", 300, True, 900, 300.0),
    Burst("1,000 streamed", 1_000, True, 900, 300.0),
    Burst("1,000 whole", 1_000, False, 300, 0.0, model_seconds=0.5),
)
SMOKE_BURSTS = (
    Burst("2 streamed", 2, True, 120, 600.0, chunk_seconds=0.05),
    Burst("3 whole", 3, False, 80, 0.0, 0.05),
)


def answer_text(number: int, chars: int) -> str:
    """Return the model's answer to its request `number`."""
    return (f"Answer {number}. " + "A sentence that keeps the reader going. " * 40)[:chars]


def model_for(burst: Burst) -> ModelScript:
    """Return a model that answers each request of `burst` as the burst says."""

    def reply(request: RecordedCompletionRequest) -> Reply:
        text = answer_text(request.number, burst.chars)
        chunk = max(1, round(burst.chars_per_second * burst.chunk_seconds)) if burst.stream else 20
        delay = burst.chunk_seconds if burst.stream else 0.0
        return Reply(
            text=text, chunk_size=chunk, chunk_delay_seconds=delay, delay_seconds=burst.model_seconds
        )

    return reply


async def load_at_limit(workdir: Path, bursts: tuple[Burst, ...]) -> dict[str, Any]:
    """Run every burst on Discord's real global limit and return one row per burst."""
    members = sum(burst.answers for burst in bursts)
    rows: list[dict[str, Any]] = []
    async with Stage(members, global_limit=GLOBAL_REQUESTS_PER_SECOND) as stage:
        first = 0
        for stream in (True, False):
            settings = stage.settings(workdir / "load.db", stream=stream)
            async with running_bot(settings) as bot:
                for burst in (b for b in bursts if b.stream is stream):
                    await asyncio.sleep(SETTLE_SECONDS)
                    rows.append(await run_burst(stage, bot, burst, first))
                    first += burst.answers
    return {"budget_per_second": stage.requests_per_second, "bursts": rows}


async def run_burst(stage: Stage, bot: Any, burst: Burst, first: int) -> dict[str, Any]:
    """Ask `burst.answers` members at once and measure how their answers reached Discord."""
    stage.answer_with(model_for(burst))
    limits = stage.discord.rate_limits
    global_before, route_before = limits.global_429s, limits.route_429s
    requests_before = len(stage.discord.requests)
    asked = await asyncio.gather(*(stage.ask(first + n, 0) for n in range(burst.answers)))
    async with asyncio.timeout(ANSWER_WAIT_SECONDS):
        # Every answer is on its way once it shows; then its final text is the lane's last step.
        await asyncio.gather(*(stage.tracker.answered(question.message_id) for question in asked))
        await bot.answerer.lanes.wait_idle()
    requests = stage.discord.requests[requests_before:]
    figures = answer_figures(stage, list(asked), burst)
    return {
        "label": burst.label,
        "answers": burst.answers,
        "stream": burst.stream,
        "peak_requests_per_second": busiest_second(requests),
        "global_429s": limits.global_429s - global_before,
        "route_429s": limits.route_429s - route_before,
        **figures,
        "drain_seconds": round(figures["writes_needed"] / stage.requests_per_second, 2),
    }


def answer_figures(stage: Stage, asked: list[Asked], burst: Burst) -> dict[str, Any]:
    """Return completeness, final-text lag, partial text shown and intermediate edits of the answers."""
    model = stage.model_requests()
    bot_id = str(stage.discord.bot_user.id)
    answers = {
        int(m["message_reference"]["message_id"]): m
        for m in stage.discord.world.messages.values()
        if m.get("message_reference") and m["author"]["id"] == bot_id
    }
    lags, intermediate, partial, complete, writes = [], [], 0, 0, 0
    for question in asked:
        request, message = model.get(question.tag), answers.get(question.message_id)
        if request is None or message is None or request.finished_at is None:
            log.warning("No answer to %s: %s", question.tag, message and message["content"][:200])
            continue
        complete += message["content"] == answer_text(request.number, burst.chars)
        edits = message["edits"]
        final_at = edits[-1]["time"] if edits else stage.tracker.visible_at[question.message_id]
        lags.append(max(0.0, final_at - request.finished_at))
        partial += bool(edits)
        intermediate.append(max(0, len(edits) - 1))
        writes += 2 if edits else 1
    return {
        "complete": complete,
        "final_after_last_chunk_ms": summary_ms(lags),
        "partial_first": partial,
        "intermediate_edits_per_answer": round(sum(intermediate) / max(1, len(intermediate)), 2),
        "writes_needed": writes,
    }


def busiest_second(requests: list[Any]) -> int:
    """Return the most counted, admitted requests in any sliding second."""
    times = sorted(r.time for r in requests if r.status != 429 and COUNTED.match(r.path))
    busiest, start = 0, 0
    for end, at in enumerate(times):
        while times[start] <= at - 1.0:
            start += 1
        busiest = max(busiest, end - start + 1)
    return busiest
