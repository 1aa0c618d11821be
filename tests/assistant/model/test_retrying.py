"""Retries against a gateway that retries by itself: a total deadline, and one log line per failure."""

from __future__ import annotations

import logging

import pytest

from assistant.errors import ConnectionFailed, RateLimited, ServiceUnavailable
from assistant.model.completions import RetryPolicy
from assistant.model.wire import REQUEST_ID_HEADERS
from tests.assistant.conftest import MakeClient
from tests.fakes.completions import FakeCompletions, Reply

QUESTION = [{"role": "user", "content": "Anyone there?"}]
# What one failed attempt costs behind a LiteLLM proxy that retries each call three times itself.
GATEWAY_ATTEMPT_SECONDS = 8.0


class GatewayClock:
    """The client's clock: each request that reached the fake took GATEWAY_ATTEMPT_SECONDS; sleeps count."""

    def __init__(self, fake: FakeCompletions, sleeps: list[float]) -> None:
        self._fake, self._sleeps = fake, sleeps

    def __call__(self) -> float:
        return GATEWAY_ATTEMPT_SECONDS * len(self._fake.requests) + sum(self._sleeps)


def server_error() -> Reply:
    return Reply(status=502, error_code=None, error_message="upstream failed", error_type="server_error")


@pytest.mark.parametrize("stream", [False, True], ids=["whole", "streamed"])
async def test_slow_failures_stop_at_the_deadline_not_the_count(
    fake: FakeCompletions, make_client: MakeClient, sleeps: list[float], stream: bool
) -> None:
    fake.enqueue(*[server_error() for _ in range(5)])
    client = make_client(retry=RetryPolicy(attempts=5), clock=GatewayClock(fake, sleeps))
    with pytest.raises(ServiceUnavailable):
        if stream:
            [event async for event in client.stream(QUESTION)]
        else:
            await client.complete(QUESTION)
    # 8 s, a wait of about 1 s, 8 s: a third attempt after a 2 s wait could end at 27 s, past 20 s.
    assert len(fake.requests) == 2 and len(sleeps) == 1
    assert GATEWAY_ATTEMPT_SECONDS * 2 + sum(sleeps) <= RetryPolicy().deadline_seconds


async def test_fast_failures_use_every_attempt_within_the_deadline(
    fake: FakeCompletions, make_client: MakeClient, sleeps: list[float]
) -> None:
    fake.enqueue(server_error(), server_error(), Reply(text="Third time."))
    assert (await make_client().complete(QUESTION)).text == "Third time."
    assert len(fake.requests) == 3 and len(sleeps) == 2


async def test_a_retry_after_that_would_pass_the_deadline_is_not_waited_for(
    fake: FakeCompletions, make_client: MakeClient, sleeps: list[float]
) -> None:
    fake.enqueue(Reply(status=429, error_code="rate_limit_exceeded", headers={"Retry-After": "25"}))
    with pytest.raises(RateLimited):
        await make_client().complete(QUESTION)
    assert len(fake.requests) == 1 and sleeps == []


@pytest.mark.parametrize("header", REQUEST_ID_HEADERS)
async def test_each_failure_is_logged_once_with_the_gateways_request_id(
    fake: FakeCompletions, make_client: MakeClient, caplog: pytest.LogCaptureFixture, header: str
) -> None:
    caplog.set_level(logging.WARNING, logger="assistant.model")
    fake.enqueue(*[Reply(status=503, error_code="model_unavailable", request_id_header=header)] * 3)
    with pytest.raises(ServiceUnavailable) as caught:
        await make_client().complete(QUESTION)
    assert caught.value.request_id == "req-fake-3"
    lines = [r.getMessage() for r in caplog.records if r.name.startswith("assistant.model")]
    assert len(lines) == 3
    for number, line in enumerate(lines, start=1):
        assert f"attempt {number}/3" in line and f"request id req-fake-{number}" in line
    assert "retrying" in lines[0] and "not retried: that was the last attempt" in lines[2]


async def test_a_cut_stream_is_logged_with_its_request_id(
    fake: FakeCompletions, make_client: MakeClient, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="assistant.model")
    fake.enqueue(
        Reply(text="Half an answer", chunk_size=4, cut_after_chunks=2, request_id_header="request-id")
    )
    with pytest.raises(ConnectionFailed):
        [event async for event in make_client().stream(QUESTION)]
    [line] = [r.getMessage() for r in caplog.records if r.name.startswith("assistant.model")]
    assert "request id req-fake-1" in line and "not retried: text was already shown" in line
