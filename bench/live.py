"""Scenarios with the real bot answering: added latency, throughput and streaming.

Each conversation (a member in their own channel) asks, waits for the answer, and asks again.
Added latency is what the bot adds to the model's time: from the question reaching the bot to
the model's request arriving, plus from the model's last byte to the answer's request reaching
Discord. The fakes run in the same event loop and their work is counted in, so the figures are an
upper bound on the bot's own.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from assistant.delivery.streaming import EDIT_INTERVAL_SECONDS
from bench.stage import Asked, Stage, running_bot
from bench.stats import LoopLag, summary_ms
from tests.fakes.completions import RecordedCompletionRequest, Reply

# Discord allows a bot 50 requests per second in all (documented).
DISCORD_GLOBAL_REQUESTS_PER_SECOND = 50
STREAM_CHUNK_CHARS = 12  # about three tokens a chunk
STREAM_CHUNK_SECONDS = 0.04  # 300 characters (about 75 tokens) a second
ModelScript = Callable[[RecordedCompletionRequest], Reply]
STREAM_ANSWER_CHARS = 1_500  # one message (edits per answer are per answer, not per part): 5 s


@dataclass(frozen=True)
class Load:
    """How hard a scenario pushes: conversations at once, questions each, and the model's latency."""

    conversations: int
    rounds: int
    model_seconds: float
    stagger_seconds: float = 0.0  # conversations start at random moments within this


def answer_after(seconds: float) -> ModelScript:
    """Return a model that answers every question with a short text after `seconds`."""

    def reply(request: RecordedCompletionRequest) -> Reply:
        return Reply(
            text=f"Answer {request.number}: " + "Some words of an answer. " * 8, delay_seconds=seconds
        )

    return reply


async def converse(stage: Stage, load: Load, *, first_round: int = 0) -> list[Asked]:
    """Run every conversation for `load.rounds` questions, each after the previous answer."""
    asked: list[Asked] = []
    rng = random.Random(load.conversations)

    async def one(conversation: int) -> None:
        await asyncio.sleep(rng.uniform(0, load.stagger_seconds))
        for round_number in range(first_round, first_round + load.rounds):
            question = await stage.ask(conversation, round_number)
            await stage.tracker.answered(question.message_id)
            asked.append(question)

    await asyncio.gather(*(one(n) for n in range(load.conversations)))
    return asked


def added_latency(stage: Stage, asked: list[Asked]) -> dict[str, Any]:
    """Split each answer's time into before the model, the model, and after it."""
    requests = stage.model_requests()
    before, after, added = [], [], []
    for question in asked:
        request = requests[question.tag]
        assert request.finished_at is not None
        visible = stage.tracker.visible_at[question.message_id]
        before.append(request.time - question.at)
        after.append(visible - request.finished_at)
        added.append(before[-1] + after[-1])
    return {
        "added_ms": summary_ms(added),
        "before_model_ms": summary_ms(before),
        "after_model_ms": summary_ms(after),
    }


async def latency(workdir: Path, load: Load, **overrides: Any) -> dict[str, Any]:
    """Measure the added latency of whole (not streamed) answers at `load` (settings `overrides`)."""
    async with Stage(load.conversations) as stage:
        stage.answer_with(answer_after(load.model_seconds))
        settings = stage.settings(workdir / f"latency-{load.conversations}.db", stream=False, **overrides)
        async with running_bot(settings):
            await converse(stage, Load(load.conversations, 1, 0.0))  # warm-up: connections, caches
            with LoopLag() as lag:
                asked = await converse(stage, load, first_round=1)
        figures = added_latency(stage, asked)
    return {
        "conversations": load.conversations,
        "answers": len(asked),
        "model_seconds": load.model_seconds,
        **figures,
        "loop_lag_ms": summary_ms(lag.samples),
    }


async def throughput(workdir: Path, load: Load) -> dict[str, Any]:
    """Measure answers per second with an instant model, every conversation asking back to back."""
    async with Stage(load.conversations) as stage:
        stage.answer_with(answer_after(0.0))
        settings = stage.settings(workdir / "throughput.db", stream=False)
        async with running_bot(settings):
            await converse(stage, Load(load.conversations, 1, 0.0))
            requests_before = len(stage.discord.requests)
            asked = await converse(stage, load, first_round=1)
            requests = len(stage.discord.requests) - requests_before
        started = min(question.at for question in asked)
        ended = max(stage.tracker.visible_at[question.message_id] for question in asked)
    per_answer = requests / len(asked)
    return {
        "conversations": load.conversations,
        "answers": len(asked),
        "seconds": round(ended - started, 3),
        "answers_per_second": round(len(asked) / (ended - started), 1),
        "discord_requests_per_answer": round(per_answer, 2),
        "discord_limit_answers_per_second": round(DISCORD_GLOBAL_REQUESTS_PER_SECOND / per_answer, 1),
    }


def streamed_answer(chars: int) -> ModelScript:
    """Return a model that streams one-message answers of `chars` characters at a model-like pace."""

    def reply(request: RecordedCompletionRequest) -> Reply:
        text = (f"Streamed answer {request.number}. " + "A sentence that keeps the reader going. " * 60)[
            :chars
        ]
        return Reply(text=text, chunk_size=STREAM_CHUNK_CHARS, chunk_delay_seconds=STREAM_CHUNK_SECONDS)

    return reply


async def streaming(
    workdir: Path, load: Load, chars: int = STREAM_ANSWER_CHARS, interval: float = EDIT_INTERVAL_SECONDS
) -> dict[str, Any]:
    """Measure first chunk → first visible text, edits per answer and last chunk → final text."""
    async with Stage(load.conversations) as stage:
        stage.answer_with(streamed_answer(chars))
        settings = stage.settings(workdir / "streaming.db", stream=True)
        async with running_bot(settings, edit_interval_seconds=interval) as bot:
            asked: list[Asked] = []
            for round_number in range(load.rounds):
                asked += await converse(stage, Load(load.conversations, 1, 0.0), first_round=round_number)
                await bot.answerer.lanes.wait_idle()  # every answer has had its final edit
        first_visible, final_lag, edits = streamed_figures(stage, asked)
    return {
        "conversations": load.conversations,
        "answers": len(asked),
        "answer_chars": chars,
        "chars_per_second": round(STREAM_CHUNK_CHARS / STREAM_CHUNK_SECONDS),
        "edit_interval_seconds": interval,
        "first_chunk_to_visible_ms": summary_ms(first_visible),
        "last_chunk_to_final_text_ms": summary_ms(final_lag),
        "edits_per_answer": round(sum(edits) / len(edits), 2),
        "edits_per_answer_max": max(edits),
    }


def streamed_figures(stage: Stage, asked: list[Asked]) -> tuple[list[float], list[float], list[int]]:
    """Return, per answer, first chunk → first visible, last chunk → final edit, and edit count."""
    requests = stage.model_requests()
    answers = {
        int(m["message_reference"]["message_id"]): m
        for m in stage.discord.world.messages.values()
        if m.get("message_reference") and m["author"]["id"] == str(stage.discord.bot_user.id)
    }
    first_visible, final_lag, edits = [], [], []
    for question in asked:
        request, message = requests[question.tag], answers[question.message_id]
        assert request.first_content_at is not None and request.finished_at is not None
        visible = stage.tracker.visible_at[question.message_id]
        first_visible.append(visible - request.first_content_at)
        final_at = message["edits"][-1]["time"] if message["edits"] else visible
        final_lag.append(max(0.0, final_at - request.finished_at))
        edits.append(len(message["edits"]))
    return first_visible, final_lag, edits
