"""reasoning_effort: sent as asked, and dropped for good once the service rejects it."""

from __future__ import annotations

import json
import logging

import pytest

from assistant.errors import BadRequest
from assistant.model.completions import StreamEnd, TextDelta
from assistant.model.reasoning import rejection_of
from tests.assistant.conftest import MakeClient
from tests.fakes.completions import FakeCompletions, Reply

QUESTION = [{"role": "user", "content": "What is 6 times 7?"}]


def error(message: str, *, param: str | None = None, code: str | None = None) -> bytes:
    return json.dumps(
        {"error": {"message": message, "type": "invalid_request_error", "param": param, "code": code}}
    ).encode()


@pytest.mark.parametrize(
    ("status", "body", "rejected"),
    [
        (400, error("Unsupported parameter: 'reasoning_effort' is not supported with this model.",
                    param="reasoning_effort", code="unsupported_parameter"), "parameter"),
        (400, error("Unrecognized request argument supplied: reasoning_effort"), "parameter"),
        (400, error("Unsupported value: 'reasoning_effort' does not support 'xhigh' with this model.",
                    param="reasoning_effort", code="unsupported_value"), "value"),
        (400, error("Invalid value: 'extreme'.", param="reasoning_effort", code="invalid_value"), "value"),
        (400, error("'messages' must be a non-empty array"), None),
        (400, error("maximum context length is 400000 tokens", code="context_length_exceeded"), None),
        (500, error("reasoning_effort exploded"), None),
        (400, b"<html>Bad Request</html>", None),
        (400, b'["not an envelope"]', None),
    ],
)  # fmt: skip
def test_only_a_400_about_reasoning_effort_counts_as_its_rejection(
    status: int, body: bytes, rejected: str | None
) -> None:
    assert rejection_of(status, body) == rejected


async def test_the_effort_is_sent_as_asked_and_not_when_none(
    fake: FakeCompletions, make_client: MakeClient
) -> None:
    client = make_client()
    await client.complete(QUESTION, reasoning_effort="high")
    await client.complete(QUESTION)
    assert fake.requests[0].json["reasoning_effort"] == "high"
    assert "reasoning_effort" not in fake.requests[1].json


async def test_an_unsupported_parameter_is_dropped_for_good_with_one_warning(
    fake: FakeCompletions, make_client: MakeClient, caplog: pytest.LogCaptureFixture
) -> None:
    fake.reasoning_effort_supported = False
    client = make_client()
    first = await client.complete(QUESTION, reasoning_effort="low")
    second = await client.complete(QUESTION, reasoning_effort="high")
    assert (first.text, second.text) == ("Answer 2", "Answer 3")  # the refused request was the first
    assert [("reasoning_effort" in r.json) for r in fake.requests] == [True, False, False]
    assert [r.json["messages"] for r in fake.requests] == [QUESTION] * 3
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1 and "does not support reasoning_effort" in warnings[0].getMessage()
    assert not client.reasoning_effort_supported


async def test_a_stream_is_asked_again_without_the_parameter(
    fake: FakeCompletions, make_client: MakeClient
) -> None:
    fake.reasoning_effort_supported = False
    fake.enqueue(Reply(text="Forty-two."))
    client = make_client()
    events = [event async for event in client.stream(QUESTION, reasoning_effort="medium")]
    assert "".join(e.text for e in events if isinstance(e, TextDelta)) == "Forty-two."
    assert isinstance(events[-1], StreamEnd)
    assert [("reasoning_effort" in r.json) for r in fake.requests] == [True, False]


async def test_a_rejected_value_alone_is_dropped(fake: FakeCompletions, make_client: MakeClient) -> None:
    fake.enqueue(
        Reply(
            status=400,
            error_code="unsupported_value",
            error_type="invalid_request_error",
            error_message="Unsupported value: 'reasoning_effort' does not support 'xhigh' with this model.",
        )
    )
    client = make_client()
    await client.complete(QUESTION, reasoning_effort="xhigh")
    await client.complete(QUESTION, reasoning_effort="xhigh")
    await client.complete(QUESTION, reasoning_effort="low")
    sent = [r.json.get("reasoning_effort") for r in fake.requests]
    assert sent == ["xhigh", None, None, "low"]
    assert client.reasoning_effort_supported


async def test_a_second_failure_without_the_parameter_is_reported_as_usual(
    fake: FakeCompletions, make_client: MakeClient
) -> None:
    fake.reasoning_effort_supported = False
    fake.enqueue(
        Reply(status=400, error_message="Something else is wrong", error_type="invalid_request_error")
    )
    client = make_client()
    with pytest.raises(BadRequest):
        await client.complete(QUESTION, reasoning_effort="low")
    assert len(fake.requests) == 2
