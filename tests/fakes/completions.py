"""A fake EvoLink (OpenAI-compatible) chat-completions server: an aiohttp app on 127.0.0.1.

It enforces what the real service checks (bearer auth, a known model, non-empty messages with known
roles and string content, `stream_options` only with `stream`) and answers with the scripted
:class:`Reply` objects, in order, then with :attr:`FakeCompletions.default`. Every chat request is
recorded, valid or not, with when it arrived and when its answer started and ended (the event loop's
clock, for benchmarks); requests refused by validation do not use up a scripted reply. With
``prompt_cache=True``, "auto" usage reports the estimated prompt tokens and the part a provider's
prompt cache would serve (:mod:`tests.fakes.prompt_cache`).
"""

from __future__ import annotations

import asyncio
import json
import time
from collections import deque
from collections.abc import Callable, Coroutine, Mapping
from dataclasses import dataclass, field
from http import HTTPStatus
from typing import Any, Literal

from aiohttp import web

from .completions_rules import auto_usage, body_problem, error_response
from .prompt_cache import PromptCache

MODEL_ID = "gpt-5.2"
KEEP_ALIVE_EVERY_CHUNKS = 3


@dataclass
class Reply:
    """One scripted response. Streaming-only fields are ignored for non-stream requests."""

    text: str = "ok"
    status: int = 200
    finish_reason: str | None = "stop"
    # "auto": estimated from the request and the text (chars / 4); None: no usage in the reply.
    usage: dict[str, Any] | Literal["auto"] | None = "auto"
    error_code: str | int | None = None  # the error envelope's code, when status != 200 or mid-stream
    error_message: str = ""
    error_type: str = "new_api_error"
    raw_body: str | bytes | None = None  # sent as is (HTML 502 pages, malformed JSON, hand-written SSE)
    content_type: str | None = None  # for raw_body; defaults to JSON, or SSE for stream requests
    headers: dict[str, str] = field(default_factory=dict)  # e.g. {"Retry-After": "2"}
    delay_seconds: float = 0.0  # before the first byte
    hang: bool = False  # never answer, until the server closes
    release: asyncio.Event | None = None  # answer only once the test sets this
    chunk_size: int = 20  # streaming: characters per content delta (bytes per write for raw_body)
    chunk_delay_seconds: float = 0.0
    cut_after_chunks: int | None = None  # streaming: drop the connection after N content chunks
    stream_error_after_chunks: int | None = None  # streaming: send an {"error": ...} event after N chunks
    send_done: bool = True  # streaming: end with "data: [DONE]"


@dataclass
class RecordedCompletionRequest:
    """One request to /v1/chat/completions, as it arrived."""

    number: int  # 1-based position among all recorded requests
    json: Any  # the decoded body, or None when it was not JSON
    headers: Mapping[str, str]  # case-insensitive
    time: float  # the event loop's clock
    path: str = "/v1/chat/completions"
    started_at: float | None = None  # the answer's first byte, after any scripted delay
    first_content_at: float | None = None  # streams: the first content chunk
    finished_at: float | None = None  # the answer's last byte
    # (prompt tokens, cached tokens) when the server models a prompt cache
    cache_figures: tuple[int, int] | None = None

    @property
    def messages(self) -> list[dict[str, Any]]:
        """The body's ``messages``, or [] when there were none."""
        messages = self.json.get("messages") if isinstance(self.json, dict) else None
        return messages if isinstance(messages, list) else []

    @property
    def stream(self) -> bool:
        """Whether the request asked for a stream."""
        return isinstance(self.json, dict) and self.json.get("stream") is True


def numbered_reply(request: RecordedCompletionRequest) -> Reply:
    """Answer "Answer N", N being the request's position: the fake's default."""
    return Reply(text=f"Answer {request.number}")


def echo_reply(request: RecordedCompletionRequest) -> Reply:
    """Answer "Echo: <the last user message>", to tell concurrent answers apart."""
    users = [m.get("content", "") for m in request.messages if m.get("role") == "user"]
    return Reply(text=f"Echo: {users[-1] if users else ''}")


class FakeCompletions:
    """The fake service; ``async with FakeCompletions() as fake`` starts and closes it."""

    def __init__(
        self,
        *,
        api_key: str = "test-key",
        model: str = MODEL_ID,
        models_route: bool = True,
        prompt_cache: bool = False,
    ) -> None:
        self.api_key = api_key
        self.model = model
        self.models_route = models_route  # False: no GET /v1/models (404), as some compatible services
        # Off by default: "auto" usage then keeps its plain chars / 4 prompt count and 0 cached.
        self.prompt_cache = PromptCache() if prompt_cache else None
        self.base_url = ""  # "http://127.0.0.1:{port}/v1" once started
        self.requests: list[RecordedCompletionRequest] = []
        self.default: Callable[[RecordedCompletionRequest], Reply] = numbered_reply
        self._queue: deque[Reply] = deque()
        self._arrived = asyncio.Condition()
        self._closing = asyncio.Event()
        self._runner: web.AppRunner | None = None

    async def start(self) -> None:
        """Listen on a free loopback port."""
        app = web.Application()
        app.router.add_post("/v1/chat/completions", self._chat)
        if self.models_route:
            app.router.add_get("/v1/models", self._models)
        self._runner = web.AppRunner(app, access_log=None, shutdown_timeout=1.0)
        await self._runner.setup()
        await web.TCPSite(self._runner, "127.0.0.1", 0).start()
        self.base_url = f"http://127.0.0.1:{self._runner.addresses[0][1]}/v1"

    async def close(self) -> None:
        """Release hanging replies and stop listening."""
        self._closing.set()
        if self._runner is not None:
            await self._runner.cleanup()

    async def __aenter__(self) -> FakeCompletions:
        await self.start()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.close()

    def enqueue(self, *replies: Reply) -> None:
        """Script the next replies, used in order before :attr:`default`."""
        self._queue.extend(replies)

    async def wait_requests(self, n: int, timeout: float = 5.0) -> None:
        """Wait until at least ``n`` chat requests have arrived."""
        async with asyncio.timeout(timeout), self._arrived:
            await self._arrived.wait_for(lambda: len(self.requests) >= n)

    async def _chat(self, request: web.Request) -> web.StreamResponse:
        try:
            body = json.loads(await request.read())
        except ValueError:
            body = None
        now = asyncio.get_running_loop().time()
        recorded = RecordedCompletionRequest(
            len(self.requests) + 1, body, request.headers.copy(), now, request.path
        )
        async with self._arrived:
            self.requests.append(recorded)
            self._arrived.notify_all()
        headers = {"x-request-id": f"req-fake-{recorded.number}"}
        if (refusal := self._auth_refusal(request, headers)) is not None:
            return refusal
        if (problem := body_problem(body, self.model)) is not None:
            status, code, message = problem
            return error_response(status, code, message, "invalid_request_error", headers)
        if self.prompt_cache is not None:
            recorded.cache_figures = self.prompt_cache.serve(recorded.messages)
        reply = self._queue.popleft() if self._queue else self.default(recorded)
        if not await self._hold(reply):
            return error_response(503, None, "the fake server is shutting down", "server_error", headers)
        recorded.started_at = asyncio.get_running_loop().time()
        response = await self._answer(request, recorded, reply, {**headers, **reply.headers})
        recorded.finished_at = asyncio.get_running_loop().time()
        return response

    async def _models(self, request: web.Request) -> web.StreamResponse:
        if (refusal := self._auth_refusal(request, {})) is not None:
            return refusal
        models = [{"id": self.model, "object": "model", "created": 1_765_000_000, "owned_by": "openai"}]
        return web.json_response(
            {"object": "list", "data": models}, headers={"x-request-id": "req-fake-models"}
        )

    def _auth_refusal(self, request: web.Request, headers: dict[str, str]) -> web.Response | None:
        given = request.headers.get("Authorization", "")
        if given == f"Bearer {self.api_key}":
            return None
        # Like OpenAI, name the key that was sent: the client must keep it out of its errors and logs.
        message = f"Incorrect API key provided: {given.removeprefix('Bearer ')}"
        return error_response(401, "invalid_api_key", message, "invalid_request_error", headers)

    async def _hold(self, reply: Reply) -> bool:
        """Wait for the reply's release, hang or delay; False when the server closes first."""
        if reply.release is not None and not await self._unless_closing(reply.release.wait()):
            return False
        if reply.hang:
            await self._closing.wait()
            return False
        return await self._unless_closing(asyncio.sleep(reply.delay_seconds))

    async def _unless_closing(self, waiting: Coroutine[Any, Any, Any]) -> bool:
        task, closing = asyncio.ensure_future(waiting), asyncio.ensure_future(self._closing.wait())
        await asyncio.wait({task, closing}, return_when=asyncio.FIRST_COMPLETED)
        closing.cancel()
        task.cancel()
        return not self._closing.is_set()

    async def _answer(
        self, request: web.Request, recorded: RecordedCompletionRequest, reply: Reply, headers: dict[str, str]
    ) -> web.StreamResponse:
        if reply.raw_body is not None:
            return await _raw_answer(request, recorded, reply, headers)
        if reply.status != 200:
            message = reply.error_message or HTTPStatus(reply.status).phrase
            return error_response(reply.status, reply.error_code, message, reply.error_type, headers)
        if recorded.stream:
            return await _stream_answer(request, recorded, reply, headers)
        answer: dict[str, Any] = {"role": "assistant", "content": reply.text, "refusal": None}
        choice = {"index": 0, "message": answer, "logprobs": None, "finish_reason": reply.finish_reason}
        body: dict[str, Any] = {**_envelope(recorded, "chat.completion"), "choices": [choice]}
        if (usage := _usage(recorded, reply)) is not None:
            body["usage"] = usage
        return web.json_response(body, headers=headers)


async def _stream_answer(
    request: web.Request, recorded: RecordedCompletionRequest, reply: Reply, headers: dict[str, str]
) -> web.StreamResponse:
    """Send the reply as chat.completion.chunk events, with keep-alives, cuts and errors as scripted."""
    response = web.StreamResponse(headers={"Content-Type": "text/event-stream", "Cache-Control": "no-cache"})
    response.headers.update(headers)
    await response.prepare(request)
    base = _envelope(recorded, "chat.completion.chunk")

    async def send(payload: Mapping[str, Any]) -> None:
        await response.write(f"data: {json.dumps(payload)}\n\n".encode())

    def chunk(delta: dict[str, Any], finish_reason: str | None = None) -> dict[str, Any]:
        return {**base, "choices": [{"index": 0, "delta": delta, "finish_reason": finish_reason}]}

    await send(chunk({"role": "assistant", "content": ""}))
    await response.write(b": keep-alive\n\n")
    pieces = [reply.text[i : i + reply.chunk_size] for i in range(0, len(reply.text), reply.chunk_size)]
    cut, error_at = reply.cut_after_chunks, reply.stream_error_after_chunks
    stop = min(n for n in (cut, error_at, len(pieces)) if n is not None)
    for number, piece in enumerate(pieces[:stop], start=1):
        if recorded.first_content_at is None:
            recorded.first_content_at = asyncio.get_running_loop().time()
        await send(chunk({"content": piece}))
        if number % KEEP_ALIVE_EVERY_CHUNKS == 0:
            await response.write(b": keep-alive\n\n")
        await asyncio.sleep(reply.chunk_delay_seconds)
    if stop == cut and request.transport is not None:
        request.transport.close()  # flushes what was written, then drops the connection mid-body
        return response
    if stop == error_at:
        error = {"message": reply.error_message or "upstream error", "type": reply.error_type}
        await send({"error": {**error, "code": reply.error_code}})
    else:
        if reply.finish_reason is not None:
            await send(chunk({}, reply.finish_reason))
        options = recorded.json.get("stream_options")
        if isinstance(options, dict) and options.get("include_usage") is True and reply.usage is not None:
            await send({**base, "choices": [], "usage": _usage(recorded, reply)})
        if reply.send_done:
            await response.write(b"data: [DONE]\n\n")
    await response.write_eof()
    return response


async def _raw_answer(
    request: web.Request, recorded: RecordedCompletionRequest, reply: Reply, headers: dict[str, str]
) -> web.StreamResponse:
    """Send raw_body as is; for a stream, in chunk_size-byte writes so lines split across chunks."""
    body = reply.raw_body.encode() if isinstance(reply.raw_body, str) else (reply.raw_body or b"")
    streaming = recorded.stream and reply.status == 200
    content_type = reply.content_type or ("text/event-stream" if streaming else "application/json")
    headers = {"Content-Type": content_type, **headers}
    if not streaming:
        return web.Response(status=reply.status, body=body, headers=headers)
    response = web.StreamResponse(headers=headers)
    await response.prepare(request)
    for start in range(0, len(body), reply.chunk_size):
        await response.write(body[start : start + reply.chunk_size])
        await asyncio.sleep(reply.chunk_delay_seconds)
    await response.write_eof()
    return response


def _envelope(recorded: RecordedCompletionRequest, kind: str) -> dict[str, Any]:
    created, model = int(time.time()), recorded.json["model"]
    return {"id": f"chatcmpl-fake{recorded.number}", "object": kind, "created": created, "model": model}


def _usage(recorded: RecordedCompletionRequest, reply: Reply) -> dict[str, Any] | None:
    """The reply's usage: as scripted, or "auto" (see :func:`auto_usage`)."""
    if reply.usage != "auto":
        return reply.usage
    return auto_usage(recorded.messages, reply.text, recorded.cache_figures)
