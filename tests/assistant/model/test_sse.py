"""Streamed answers: SSE framing, chunk parsing, mid-stream failures and retries before the first delta."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import aiohttp
import pytest

from assistant.errors import (
    AuthenticationFailed,
    ConnectionFailed,
    ContentFiltered,
    EmptyAnswer,
    MalformedReply,
    OutOfCredit,
)
from assistant.model.completions import CompletionsClient, StreamEnd, StreamEvent, TextDelta, Usage
from tests.assistant.conftest import COMPLETIONS_API_KEY, MakeClient
from tests.fakes.completions import ZERO_USAGE, FakeCompletions, Reply

API_KEY = COMPLETIONS_API_KEY
QUESTION = [{"role": "user", "content": "Tell me a story."}]
STORY = "Once upon a time, a small bot answered questions in a busy Discord server. The end."


@pytest.fixture
def client(make_client: MakeClient) -> CompletionsClient:
    return make_client()


async def collect(client: CompletionsClient, events: list[StreamEvent] | None = None) -> list[StreamEvent]:
    """Read the whole stream into `events` (so a test still sees them when the stream raises)."""
    events = [] if events is None else events
    async for event in client.stream(QUESTION):
        events.append(event)
    return events


def text_of(events: list[StreamEvent]) -> str:
    return "".join(event.text for event in events if isinstance(event, TextDelta))


def sse(*payloads: dict[str, Any] | str) -> str:
    return "".join(f"data: {p if isinstance(p, str) else json.dumps(p)}\n\n" for p in payloads)


def delta(content: Any, finish_reason: str | None = None) -> dict[str, Any]:
    return {"choices": [{"index": 0, "delta": {"content": content}, "finish_reason": finish_reason}]}


async def test_deltas_make_the_answer_and_usage_comes_last(
    fake: FakeCompletions, client: CompletionsClient
) -> None:
    fake.enqueue(Reply(text=STORY, chunk_size=7))
    events = await collect(client)
    assert text_of(events) == STORY and len(events) == len(range(0, len(STORY), 7)) + 1
    end = events[-1]
    assert isinstance(end, StreamEnd) and end.finish_reason == "stop" and end.request_id == "req-fake-1"
    assert end.usage is not None and end.usage.completion_tokens == (len(STORY) + 3) // 4
    [request] = fake.requests
    assert request.json == {
        "model": "gpt-5.2",
        "messages": QUESTION,
        "stream": True,
        "stream_options": {"include_usage": True},
    }


async def test_a_stream_without_usage(fake: FakeCompletions, client: CompletionsClient) -> None:
    fake.enqueue(Reply(text="Short.", usage=None))
    events = await collect(client)
    assert text_of(events) == "Short." and events[-1] == StreamEnd("stop", None, "req-fake-1")


async def test_hand_written_stream_is_parsed_robustly(
    fake: FakeCompletions, client: CompletionsClient
) -> None:
    body = (
        ": welcome\r\n\r\nevent: message\nid: 1\n"
        + 'data:{"choices":[{"index":0,"delta":{"role":"assistant"},"finish_reason":null}],"usage":null}\n\n'
        + sse(delta(None), delta("Héllo "), {"choices": [{"delta": {"reasoning_content": "hmm"}}]})
        + ": keep-alive\n\n"
        + sse(delta([{"type": "text", "text": "wörld 🎉"}]), {"choices": [{"delta": {}}], "extra": 1})
        + sse({"choices": [], "usage": {"prompt_tokens": 3, "completion_tokens": 1, "total_tokens": 4}})
        + sse(delta("", "stop"), {"choices": [], "usage": {"prompt_tokens": 9, "completion_tokens": 2}})
        + "data: [DONE]\n\ndata: ignored after done\n\n"
    )
    fake.enqueue(Reply(raw_body=body, chunk_size=3))  # 3-byte writes split lines and characters
    events = await collect(client)
    assert text_of(events) == "Héllo wörld 🎉"
    assert events[-1] == StreamEnd("stop", Usage(9, 2, 11), "req-fake-1")


@pytest.mark.parametrize(
    "framing",
    [
        {"line_end": "\r"},
        {"line_end": "\r\n"},
        {"byte_order_mark": True},
        {"split_data": True},
        {"blank_lines": False},
        {"stream_content_type": "application/json"},
        {"stream_content_type": "text/plain; charset=utf-8"},
        {"line_end": "\r", "byte_order_mark": True, "split_data": True, "stream_content_type": "text/html"},
    ],
    ids=["cr-only", "crlf", "bom", "multi-line-data", "no-blank-lines", "as-json", "as-text", "all-at-once"],
)
async def test_streams_framed_as_gateways_frame_them(
    fake: FakeCompletions, client: CompletionsClient, sleeps: list[float], framing: dict[str, Any]
) -> None:
    fake.enqueue(Reply(text=STORY, chunk_size=7, **framing))
    events = await collect(client)
    assert text_of(events) == STORY and len(fake.requests) == 1 and sleeps == []
    end = events[-1]
    assert isinstance(end, StreamEnd) and end.finish_reason == "stop"
    assert end.usage is not None and end.usage.completion_tokens == (len(STORY) + 3) // 4


@pytest.mark.parametrize("content_type", ["text/plain", "text/html; charset=utf-8", "application/json"])
async def test_a_whole_answer_to_a_stream_request_is_the_answer(
    fake: FakeCompletions, client: CompletionsClient, sleeps: list[float], content_type: str
) -> None:
    fake.enqueue(Reply(text=STORY, unstreamed_content_type=content_type), Reply(text="never asked for"))
    events = await collect(client)
    assert events[:-1] == [TextDelta(STORY)] and len(fake.requests) == 1 and sleeps == []
    end = events[-1]
    assert isinstance(end, StreamEnd) and (end.finish_reason, end.request_id) == ("stop", "req-fake-1")
    assert end.usage is not None and end.usage.completion_tokens == (len(STORY) + 3) // 4


async def test_zero_usage_is_no_usage(fake: FakeCompletions, client: CompletionsClient) -> None:
    fake.enqueue(Reply(text="Short.", usage=ZERO_USAGE), Reply(text="Whole.", usage=ZERO_USAGE))
    assert (await collect(client))[-1] == StreamEnd("stop", None, "req-fake-1")
    assert (await client.complete(QUESTION)).usage is None


async def test_missing_done_is_fine_after_a_finish_reason(
    fake: FakeCompletions, client: CompletionsClient
) -> None:
    fake.enqueue(Reply(text="Done anyway.", send_done=False))
    events = await collect(client)
    assert text_of(events) == "Done anyway." and isinstance(events[-1], StreamEnd)


async def test_done_without_a_finish_reason_is_fine(fake: FakeCompletions, client: CompletionsClient) -> None:
    fake.enqueue(Reply(text="No reason given.", finish_reason=None))
    events = await collect(client)
    end = events[-1]
    assert isinstance(end, StreamEnd) and (end.finish_reason, end.request_id) == (None, "req-fake-1")
    assert text_of(events) == "No reason given."


@pytest.mark.parametrize(
    "reply",
    [
        Reply(text=STORY, chunk_size=10, cut_after_chunks=2),
        Reply(text=STORY, finish_reason=None, send_done=False),
    ],
)
async def test_a_cut_stream_raises_after_its_deltas(
    fake: FakeCompletions, client: CompletionsClient, sleeps: list[float], reply: Reply
) -> None:
    fake.enqueue(reply)
    events: list[StreamEvent] = []
    with pytest.raises(ConnectionFailed):
        await collect(client, events)
    assert text_of(events) and STORY.startswith(text_of(events))
    assert not any(isinstance(event, StreamEnd) for event in events)
    assert len(fake.requests) == 1 and sleeps == []


async def test_an_error_event_after_deltas_is_classified(
    fake: FakeCompletions, client: CompletionsClient
) -> None:
    fake.enqueue(Reply(text=STORY, chunk_size=10, stream_error_after_chunks=2, error_code="content_filter"))
    events: list[StreamEvent] = []
    with pytest.raises(ContentFiltered):
        await collect(client, events)
    assert text_of(events) == STORY[:20] and len(fake.requests) == 1


@pytest.mark.parametrize(
    "failure",
    [
        Reply(status=429, error_code="rate_limit_exceeded", headers={"Retry-After": "1"}),
        Reply(status=502, raw_body="<html>Bad Gateway</html>", content_type="text/html"),
        Reply(text=STORY, cut_after_chunks=0),
        Reply(text=STORY, stream_error_after_chunks=0, error_code="rate_limit_exceeded"),
    ],
)
async def test_failures_before_the_first_delta_are_retried(
    fake: FakeCompletions, client: CompletionsClient, sleeps: list[float], failure: Reply
) -> None:
    fake.enqueue(failure, Reply(text="Second try."))
    events = await collect(client)
    assert text_of(events) == "Second try." and len(fake.requests) == 2 and len(sleeps) == 1


@pytest.mark.parametrize(
    ("reply", "error"),
    [
        (Reply(status=401, error_code="invalid_api_key"), AuthenticationFailed),
        (Reply(status=402, error_code="key_daily_quota_exhausted"), OutOfCredit),
        (Reply(text=STORY, stream_error_after_chunks=0, error_code="insufficient_user_quota"), OutOfCredit),
        (Reply(text=""), EmptyAnswer),
        (Reply(text="", finish_reason="length"), EmptyAnswer),
        (Reply(text="", finish_reason="content_filter"), ContentFiltered),
        (Reply(raw_body=sse(delta("Hi"), "{not json")), MalformedReply),
        (
            Reply(raw_body='{"error": {"code": "insufficient_user_quota"}}', content_type="text/plain"),
            OutOfCredit,
        ),
    ],
)
async def test_stream_failures_not_retried(
    fake: FakeCompletions, client: CompletionsClient, sleeps: list[float], reply: Reply, error: type
) -> None:
    fake.enqueue(reply, Reply(text="never asked for"))
    with pytest.raises(error):
        await collect(client)
    assert len(fake.requests) == 1 and sleeps == []


async def test_a_json_answer_to_a_stream_request(fake: FakeCompletions, client: CompletionsClient) -> None:
    body = {"choices": [{"message": {"content": "All at once."}, "finish_reason": "stop"}], "usage": None}
    fake.enqueue(Reply(raw_body=json.dumps(body), content_type="application/json"))
    assert await collect(client) == [TextDelta("All at once."), StreamEnd("stop", None, "req-fake-1")]


async def test_stopping_early_closes_the_stream(fake: FakeCompletions, client: CompletionsClient) -> None:
    fake.enqueue(Reply(text=STORY, chunk_size=5), Reply(text="Next."))
    stream = client.stream(QUESTION)
    first = await anext(stream)
    await stream.aclose()
    assert first == TextDelta(STORY[:5])
    assert text_of(await collect(client)) == "Next."


async def test_the_fake_waits_for_release_and_counts_requests(
    fake: FakeCompletions, client: CompletionsClient
) -> None:
    release = asyncio.Event()
    fake.enqueue(Reply(text="Held.", release=release))
    reading = asyncio.create_task(collect(client))
    await fake.wait_requests(1)
    assert not reading.done()
    release.set()
    assert text_of(await reading) == "Held."


async def test_the_fake_lists_models_behind_auth(fake: FakeCompletions) -> None:
    async with aiohttp.ClientSession() as session:
        async with session.get(f"{fake.base_url}/models") as refused:
            assert refused.status == 401 and "error" in await refused.json()
        headers = {"Authorization": f"Bearer {API_KEY}"}
        async with session.get(f"{fake.base_url}/models", headers=headers) as listed:
            assert [model["id"] for model in (await listed.json())["data"]] == ["gpt-5.2"]
