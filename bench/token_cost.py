"""Token counting: what the o200k tokenizer costs per answer, next to the characters-based estimate.

Per answer the bot counts the question once (building the context; the stored turn reuses that
count) and the answer once (storing it; also the usage estimate when the service reports none), all on
the event loop. Each kind of answer is about 3,000 characters with a 200-character question;
the old estimate (a quarter token per ASCII character, one per other) is timed the same way, and
its count set beside the real one. Loading the tokenizer, once per process, is timed as well.
"""

from __future__ import annotations

import base64
import json
import random
import time
from collections.abc import Callable
from typing import Any

from assistant.context import label_user_turn
from assistant.model import tokens
from bench.stats import percentile

ANSWER_CHARS = 3_000
QUESTION_CHARS = 200
WARM_UP_ANSWERS = 50


def characters_estimate(text: str) -> int:
    """Return the estimate the bot used before counting with the tokenizer."""
    ascii_chars = len(text.encode("ascii", "ignore"))
    return -(-ascii_chars // 4) + (len(text) - ascii_chars)


def texts(rng: random.Random) -> dict[str, str]:
    """Return an answer of each kind, about ANSWER_CHARS long."""
    words = ["the", "answer", "explains", "each", "step", "with", "an", "example", "short", "note"]
    prose = " ".join(rng.choice(words) for _ in range(ANSWER_CHARS // 5))
    items = [{"id": n, "url": f"https://example.com/items/{n * 7919}", "sha": f"{rng.getrandbits(128):x}"}
             for n in range(40)]  # fmt: skip
    code = "def f(x: int) -> int:\n    return {n} * x + 0x{n:04x}  # step {n}\n"
    cjk = "这个答案一步一步地解释每个步骤，并附上例子。🙂 "
    kinds = {
        "English prose": prose,
        "JSON (ids, URLs, hashes)": json.dumps(items),
        "code": "".join(code.format(n=n) for n in range(80)),
        "base64": base64.b64encode(rng.randbytes(ANSWER_CHARS * 3 // 4)).decode(),
        "Chinese and emoji": cjk * (ANSWER_CHARS // len(cjk)),
    }
    return {name: text[:ANSWER_CHARS] for name, text in kinds.items()}


def per_answer(count: Callable[[str], int], question: str, answer: str, samples: int) -> list[float]:
    """Return the seconds one answer's counting takes, `samples` times."""
    durations = []
    for n in range(WARM_UP_ANSWERS + samples):
        started = time.perf_counter()
        count(question), count(answer)
        if n >= WARM_UP_ANSWERS:
            durations.append(time.perf_counter() - started)
    return durations


def summary_us(seconds: list[float]) -> dict[str, float]:
    """Return p50, p99 and max of durations, in microseconds."""
    return {
        "n": len(seconds),
        "p50": round(percentile(seconds, 0.5) * 1e6, 1),
        "p99": round(percentile(seconds, 0.99) * 1e6, 1),
        "max": round(max(seconds, default=0.0) * 1e6, 1),
    }


def token_cost(samples: int) -> dict[str, Any]:
    """Time the tokenizer and the old estimate on each kind of answer."""
    started = time.perf_counter()
    tokens.build_encoding()  # once per process; the bot does it in a thread at start-up
    load_seconds = time.perf_counter() - started
    rng = random.Random(5)
    question = label_user_turn("member", " ".join("what about this" for _ in range(QUESTION_CHARS // 16)))
    kinds = []
    for name, answer in texts(rng).items():
        kinds.append(
            {
                "kind": name,
                "chars": len(answer),
                "tokens": tokens.estimate_text_tokens(answer),
                "old_estimate": characters_estimate(answer),
                "tokenizer_us": summary_us(
                    per_answer(tokens.estimate_text_tokens, question, answer, samples)
                ),
                "old_estimate_us": summary_us(per_answer(characters_estimate, question, answer, samples)),
            }
        )
    return {"load_seconds": round(load_seconds, 3), "kinds": kinds}
