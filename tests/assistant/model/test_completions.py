"""The completions client against the fake service over loopback: answers, errors, retries, secrecy."""

from __future__ import annotations

import json
import logging
import socket
from typing import Any

import pytest

from assistant.errors import (
    AuthenticationFailed,
    BadRequest,
    CompletionError,
    ConnectionFailed,
    ContentFiltered,
    ContextTooLong,
    EmptyAnswer,
    MalformedReply,
    OutOfCredit,
    RateLimited,
    RequestTimedOut,
    ServiceUnavailable,
)
from assistant.model.completions import Completion, CompletionsClient, RetryPolicy, Timeouts, Usage
from assistant.settings import Secret
from tests.assistant.conftest import COMPLETIONS_API_KEY, MakeClient
from tests.fakes.completions import FakeCompletions, Reply

API_KEY = COMPLETIONS_API_KEY
QUESTION = [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "What is 6 times 7?"}]


@pytest.fixture
def client(make_client: MakeClient) -> CompletionsClient:
    return make_client()


async def test_answer_text_usage_and_request_id(fake: FakeCompletions, client: CompletionsClient) -> None:
    usage = {
        "prompt_tokens": 120,
        "completion_tokens": 30,
        "total_tokens": 150,
        "prompt_tokens_details": {"cached_tokens": 64, "text_tokens": 120},
        "completion_tokens_details": {"reasoning_tokens": 18, "audio_tokens": 0},
        "input_tokens": 0,
        "input_tokens_details": None,
    }
    fake.enqueue(Reply(text="42.", usage=usage))
    answer = await client.complete(QUESTION)
    assert answer == Completion("42.", "stop", Usage(120, 30, 150, 64, 18), request_id="req-fake-1")


async def test_default_reply_has_new_api_usage(client: CompletionsClient) -> None:
    answer = await client.complete(QUESTION)
    assert answer.text == "Answer 1"
    assert answer.usage is not None and answer.usage.prompt_tokens > 0 and not answer.usage.estimated


async def test_request_is_exactly_model_messages_and_bearer(
    fake: FakeCompletions, make_client: MakeClient
) -> None:
    await make_client(base_url=fake.base_url + "/").complete(QUESTION)
    [request] = fake.requests
    assert request.path == "/v1/chat/completions"
    assert request.json == {"model": "gpt-5.2", "messages": QUESTION}
    assert request.headers["Authorization"] == f"Bearer {API_KEY}"
    assert request.messages == QUESTION and not request.stream


async def test_a_secret_key_is_sent_as_its_real_value(fake: FakeCompletions, make_client: MakeClient) -> None:
    answer = await make_client(api_key=Secret(API_KEY)).complete(QUESTION)
    assert answer.text == "Answer 1"


def completion_body(message: dict[str, Any] | None = None, **extra: Any) -> str:
    choice = {
        "index": 0,
        "message": message or {"role": "assistant", "content": "Hi"},
        "finish_reason": "stop",
    }
    return json.dumps({"id": "x", "object": "chat.completion", "choices": [choice], **extra})


@pytest.mark.parametrize(
    ("body", "text", "usage"),
    [
        (completion_body(usage=None, surprise={"new": True}), "Hi", None),
        (completion_body(), "Hi", None),
        (
            completion_body(
                usage={"prompt_tokens": 5, "completion_tokens": None, "prompt_tokens_details": None}
            ),
            "Hi",
            Usage(prompt_tokens=5, total_tokens=5),
        ),
        (
            completion_body({"content": [{"type": "text", "text": "A"}, {"type": "text", "text": "B"}]}),
            "AB",
            None,
        ),
        (completion_body({"content": "Visible", "reasoning_content": "hidden thoughts"}), "Visible", None),
        (
            completion_body({"content": None, "refusal": "I can't help with that."}),
            "I can't help with that.",
            None,
        ),
    ],
)
async def test_replies_are_read_tolerantly(
    fake: FakeCompletions, client: CompletionsClient, body: str, text: str, usage: Usage | None
) -> None:
    fake.enqueue(Reply(raw_body=body))
    answer = await client.complete(QUESTION)
    assert (answer.text, answer.usage) == (text, usage)


@pytest.mark.parametrize(
    ("reply", "error"),
    [
        (Reply(raw_body='{"choices": [], "usage": null}'), MalformedReply),
        (Reply(raw_body='{"object": "chat.completion"}'), MalformedReply),
        (Reply(raw_body='{"choices": [{"message": {"content": "cut'), MalformedReply),
        (Reply(text=""), EmptyAnswer),
        (Reply(text="  \n "), EmptyAnswer),
        (Reply(text="", finish_reason="length"), EmptyAnswer),
        (Reply(text="", finish_reason="content_filter"), ContentFiltered),
    ],
)
async def test_unusable_answers(
    fake: FakeCompletions, client: CompletionsClient, sleeps: list[float], reply: Reply, error: type
) -> None:
    fake.enqueue(reply)
    with pytest.raises(error):
        await client.complete(QUESTION)
    assert len(fake.requests) == 1 and sleeps == []


async def test_length_with_text_is_returned(fake: FakeCompletions, client: CompletionsClient) -> None:
    fake.enqueue(Reply(text="The first half", finish_reason="length"))
    answer = await client.complete(QUESTION)
    assert (answer.text, answer.finish_reason) == ("The first half", "length")


def error_reply(status: int, code: str | int | None = None, message: str = "") -> Reply:
    return Reply(status=status, error_code=code, error_message=message)


@pytest.mark.parametrize(
    ("reply", "error", "scope"),
    [
        (error_reply(401, "invalid_api_key"), AuthenticationFailed, None),
        (error_reply(402), OutOfCredit, "account"),
        (error_reply(402, 1001, "balance low"), OutOfCredit, "account"),
        (error_reply(402, "insufficient_quota"), OutOfCredit, "account"),
        (error_reply(402, "insufficient_user_quota"), OutOfCredit, "account"),
        (error_reply(402, "quota_not_enough"), OutOfCredit, "account"),
        (error_reply(402, "account_balance_insufficient"), OutOfCredit, "account"),
        (error_reply(402, "insufficient_token_quota"), OutOfCredit, "key"),
        (error_reply(402, "key_quota_exhausted"), OutOfCredit, "key"),
        (error_reply(402, "token_daily_quota_exceeded"), OutOfCredit, "key_daily"),
        (error_reply(402, "key_daily_quota_exhausted"), OutOfCredit, "key_daily"),
        (error_reply(403, "insufficient_user_quota"), OutOfCredit, "account"),
        (error_reply(429, "insufficient_quota"), OutOfCredit, "account"),
        (error_reply(403), AuthenticationFailed, None),
        (error_reply(403, "key_disabled"), AuthenticationFailed, None),
        (error_reply(403, "key_model_not_allowed"), AuthenticationFailed, None),
        (error_reply(400, "context_length_exceeded"), ContextTooLong, None),
        (
            error_reply(400, None, "This model's maximum context length is 400000 tokens."),
            ContextTooLong,
            None,
        ),
        (
            error_reply(400, "invalid_request_error", "prompt is too long: 500000 tokens"),
            ContextTooLong,
            None,
        ),
        (error_reply(400, "unsupported_parameter", "Unsupported parameter: 'max_tokens'"), BadRequest, None),
        (error_reply(422), BadRequest, None),
        (error_reply(400, "content_policy_violation"), ContentFiltered, None),
        (error_reply(400, "sensitive_content"), ContentFiltered, None),
    ],
)
async def test_errors_not_retried(
    fake: FakeCompletions,
    client: CompletionsClient,
    sleeps: list[float],
    reply: Reply,
    error: type[CompletionError],
    scope: str | None,
) -> None:
    fake.enqueue(reply, Reply(text="never asked for"))
    with pytest.raises(error) as caught:
        await client.complete(QUESTION)
    assert type(caught.value) is error
    if scope is not None:
        assert isinstance(caught.value, OutOfCredit) and caught.value.scope == scope
    assert f"HTTP {reply.status}" in str(caught.value) and "req-fake-1" in str(caught.value)
    assert len(fake.requests) == 1 and sleeps == []


async def test_unknown_model_is_a_bad_request(fake: FakeCompletions, make_client: MakeClient) -> None:
    with pytest.raises(BadRequest, match="model_not_found"):
        await make_client(model="gpt-0").complete(QUESTION)


async def test_invalid_messages_are_refused_by_the_fake(client: CompletionsClient) -> None:
    with pytest.raises(BadRequest, match="role"):
        await client.complete([{"role": "wizard", "content": "hi"}])
    with pytest.raises(BadRequest, match="non-empty"):
        await client.complete([])


@pytest.mark.parametrize(
    ("headers", "delay"), [({"Retry-After": "2"}, 2.0), ({"retry-after-ms": "1500", "Retry-After": "9"}, 1.5)]
)
async def test_rate_limit_waits_retry_after_then_answers(
    fake: FakeCompletions,
    client: CompletionsClient,
    sleeps: list[float],
    headers: dict[str, str],
    delay: float,
) -> None:
    fake.enqueue(Reply(status=429, error_code="rate_limit_exceeded", headers=headers), Reply(text="Now."))
    assert (await client.complete(QUESTION)).text == "Now."
    assert sleeps == [delay] and len(fake.requests) == 2


async def test_rate_limit_storm_backs_off_then_gives_up(
    fake: FakeCompletions, client: CompletionsClient, sleeps: list[float]
) -> None:
    fake.enqueue(*[error_reply(429, "rate_limit_exceeded")] * 3, Reply(text="too late"))
    with pytest.raises(RateLimited):
        await client.complete(QUESTION)
    assert len(fake.requests) == 3 and len(sleeps) == 2
    assert 0.75 <= sleeps[0] <= 1.0 and 1.5 <= sleeps[1] <= 2.0  # 1 s then 2 s, with jitter


async def test_retry_after_over_the_cap_is_raised_at_once(
    fake: FakeCompletions, make_client: MakeClient, sleeps: list[float]
) -> None:
    fake.enqueue(Reply(status=429, headers={"Retry-After": "120"}), Reply(text="too late"))
    with pytest.raises(RateLimited) as caught:
        await make_client(retry=RetryPolicy(attempts=5)).complete(QUESTION)
    assert caught.value.retry_after_seconds == 120.0
    assert len(fake.requests) == 1 and sleeps == []


async def test_server_errors_are_retried_then_raised(
    fake: FakeCompletions, client: CompletionsClient, sleeps: list[float]
) -> None:
    html = "<html><head><title>502 Bad Gateway</title></head><body>" + "nginx " * 200 + "</body></html>"
    fake.enqueue(*[Reply(status=502, raw_body=html, content_type="text/html")] * 3)
    with pytest.raises(ServiceUnavailable) as caught:
        await client.complete(QUESTION)
    assert caught.value.status == 502 and "502 Bad Gateway" in str(caught.value)
    assert len(str(caught.value)) < 400
    assert len(fake.requests) == 3 and len(sleeps) == 2


async def test_a_server_error_then_an_answer(fake: FakeCompletions, client: CompletionsClient) -> None:
    fake.enqueue(error_reply(500), error_reply(503, "model_unavailable"), Reply(text="Back."))
    assert (await client.complete(QUESTION)).text == "Back."
    assert len(fake.requests) == 3


async def test_a_silent_service_times_out_without_retry(
    fake: FakeCompletions, make_client: MakeClient, sleeps: list[float]
) -> None:
    fake.enqueue(Reply(hang=True))
    with pytest.raises(RequestTimedOut):
        await make_client(timeouts=Timeouts(read_seconds=0.2)).complete(QUESTION)
    assert len(fake.requests) == 1 and sleeps == []


async def test_a_refused_connection_is_retried_then_raised(
    make_client: MakeClient, sleeps: list[float]
) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with pytest.raises(ConnectionFailed):
        await make_client(base_url=f"http://127.0.0.1:{port}/v1").complete(QUESTION)
    assert len(sleeps) == 2


async def test_the_key_never_shows(
    fake: FakeCompletions, make_client: MakeClient, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    wrong_key = "sk-wrong-key-that-must-stay-secret"
    client = make_client(api_key=wrong_key)
    with pytest.raises(AuthenticationFailed) as caught:
        await client.complete(QUESTION)  # the fake, like OpenAI, quotes the key it was sent
    assert "Incorrect API key provided" in str(caught.value)
    fake.api_key = wrong_key
    fake.enqueue(error_reply(429), error_reply(500))
    await client.complete(QUESTION)
    assert any(r.levelno == logging.WARNING and "status 429" in r.getMessage() for r in caplog.records)
    shown = [str(caught.value), repr(caught.value), caught.value.user_message, repr(client), caplog.text]
    assert all(wrong_key not in text for text in shown)
