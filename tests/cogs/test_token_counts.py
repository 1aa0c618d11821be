"""A JSON-heavy channel: what the model is sent stays within CONTEXT_TOKENS by the real o200k count."""

from __future__ import annotations

import json

from tests.conftest import Harness
from tests.fakes.completions import RecordedCompletionRequest, Reply
from tests.tokenizer import reference_count

CONTEXT_TOKENS = 2_000
EXCHANGES = 12
# Per message as the bot frames it (role and delimiters), on top of the content's own tokens.
FRAMING_TOKENS = 4


def json_answer(request: RecordedCompletionRequest) -> Reply:
    """Answer with JSON full of ids, URLs and hashes: about 1,300 characters, 500+ o200k tokens."""
    items = [
        {
            "id": 10_000 + n,
            "url": f"https://api.example.com/v2/items/{n * 7919}?rev={n}",
            "sha": f"{n * 2654435761:x}",
        }
        for n in range(12)
    ]
    return Reply(text=json.dumps({"request": request.number, "items": items}))


def sent_tokens(request: RecordedCompletionRequest) -> int:
    """Return what CONTEXT_TOKENS covers (the history and the question), by the real tokenizer."""
    return sum(reference_count(m["content"]) + FRAMING_TOKENS for m in request.messages[1:])


def old_estimate(text: str) -> int:
    """Return the characters-based estimate the bot used before (a quarter token per ASCII char)."""
    return -(-len(text) // 4) + FRAMING_TOKENS


async def test_a_json_heavy_channel_never_sends_more_than_context_tokens(harness: Harness) -> None:
    await harness.stop_bot()
    await harness.start_bot(context_tokens=CONTEXT_TOKENS)
    harness.model.default = json_answer
    for n in range(EXCHANGES):
        asked = await harness.ask(
            json.dumps({"question": n, "ids": list(range(n, n + 30)), "hex": f"{n:064x}"})
        )
        await harness.replies_to(asked)
    requests = harness.model.requests
    assert len(requests) == EXCHANGES
    assert all(sent_tokens(request) <= CONTEXT_TOKENS for request in requests)
    last = requests[-1].messages
    assert len(last) < 2 * EXCHANGES  # the history outgrew the budget and was cut
    assert sent_tokens(requests[-1]) >= CONTEXT_TOKENS // 2 - 600  # and the window is still used
    # What was sent would have measured far less the old way: by it, the budget held twice as much.
    assert sum(old_estimate(m["content"]) for m in last[1:]) < 0.6 * sent_tokens(requests[-1])
