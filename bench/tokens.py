"""Tokens: prompt tokens per turn over a long conversation, and the share a prompt cache serves.

One member holds a 50-turn conversation with the real bot (default CONTEXT_TOKENS and system
prompt) while the fake model reports ``cached_tokens`` as OpenAI does (a shared prefix with any
earlier prompt, from 1,024 tokens in steps of 128). The same conversation runs once per history
window: a plain sliding window (the old behaviour), and block windows dropping 50 % (the default)
and 30 % of the budget at a time. Answers are 1,200–3,600 characters, so the history outgrows
16,000 tokens about halfway through.
"""

from __future__ import annotations

import functools
import random
from pathlib import Path
from typing import Any
from unittest import mock

import bot as bot_module
from assistant.context import SLIDING_WINDOW_TOKENS, ContextBuilder
from bench.stage import Stage, running_bot
from tests.fakes.completions import RecordedCompletionRequest, Reply

WINDOWS: dict[str, float | None] = {"sliding": None, "blocks 50% (default)": 0.5, "blocks 30%": 0.3}
_WORDS = [
    "the",
    "answer",
    "explains",
    "each",
    "step",
    "with",
    "an",
    "example",
    "and",
    "a",
    "short",
    "note",
    "about",
    "edge",
    "cases",
]


def text_of(rng: random.Random, low: int, high: int) -> str:
    """Return prose of a length between `low` and `high` characters."""
    length = rng.randint(low, high)
    words: list[str] = []
    while sum(len(word) + 1 for word in words) < length:
        words.append(rng.choice(_WORDS))
    return " ".join(words)[:length]


def long_answers(request: RecordedCompletionRequest) -> Reply:
    """Answer with 1,200–3,600 characters, the same for the same request number in every run."""
    return Reply(text=text_of(random.Random(request.number), 1_200, 3_600))


async def conversation(workdir: Path, name: str, fraction: float | None, turns: int) -> dict[str, Any]:
    """Hold the conversation with one window policy; return its per-turn prompt and cached tokens."""
    async with Stage(1, prompt_cache=True) as stage:
        stage.answer_with(long_answers)
        settings = stage.settings(workdir / f"tokens-{fraction}.db", stream=False)
        block = SLIDING_WINDOW_TOKENS if fraction is None else round(settings.context_tokens * fraction)
        # bot.py builds its ContextBuilder with the default window; the baseline swaps in another.
        with mock.patch.object(
            bot_module, "ContextBuilder", functools.partial(ContextBuilder, block_tokens=block)
        ):
            async with running_bot(settings):
                rng = random.Random(1)
                for turn in range(turns):
                    asked = await stage.ask(0, turn, text_of(rng, 80, 400))
                    await stage.tracker.answered(asked.message_id)
        figures = [r.cache_figures for r in stage.model.requests if r.cache_figures is not None]
    prompts = [prompt for prompt, _ in figures]
    cached = [hit for _, hit in figures]
    half = len(prompts) // 2
    return {
        "window": name,
        "block_tokens": block,
        "turns": len(prompts),
        "prompt_tokens_per_turn": round(sum(prompts) / len(prompts)),
        "uncached_tokens_per_turn": round((sum(prompts) - sum(cached)) / len(prompts)),
        "cached_share": round(sum(cached) / sum(prompts), 3),
        # The second half: the history has outgrown the budget, as in any long conversation.
        "second_half_cached_share": round(sum(cached[half:]) / max(1, sum(prompts[half:])), 3),
        "prompt_tokens": prompts,
        "cached_tokens": cached,
    }


async def tokens(workdir: Path, turns: int) -> dict[str, Any]:
    """Run the conversation with every window policy and compare them with the sliding window."""
    runs = [await conversation(workdir, name, fraction, turns) for name, fraction in WINDOWS.items()]
    sliding = runs[0]["cached_share"]
    for run in runs:  # None when the conversation was too short for any cache hit
        run["cached_share_vs_sliding"] = round(run["cached_share"] / sliding, 2) if sliding else None
    return {"turns": turns, "windows": runs}
