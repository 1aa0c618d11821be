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
from collections import deque
from collections.abc import Callable, Coroutine, Mapping
from dataclasses import dataclass, field
from http import HTTPStatus
from typing import Any, Literal

from aiohttp import web

from .completions_answers import raw_answer, stream_answer, whole_answer
from .completions_content import image_urls, text_of
from .completions_rules import body_problem, error_response, reasoning_problem
from .prompt_cache import PromptCache

MODEL_ID = "gpt-5.2"
# What gateways that do not count tokens report as usage (the client must treat it as none).
ZERO_USAGE = {"prompt_tokens": 0, "completion_tokens": 0, "total_tokens": 0}
REQUEST_BODY_LIMIT_BYTES = 64 * 1024 * 1024


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
    # How a stream is framed (see tests.fakes.completions_answers), and which header names its id.
    line_end: str = "\n"  # or "\r\n", or "\r" alone
    byte_order_mark: bool = False  # the stream starts with U+FEFF
    split_data: bool = False  # each event's JSON spread over several data: lines
    blank_lines: bool = True  # False: no blank line between events, as some servers send
    stream_content_type: str = "text/event-stream"  # e.g. application/json, as some gateways label it
    unstreamed_content_type: str | None = None  # set: a stream request gets the whole body, so labelled
    request_id_header: str = "x-request-id"  # or request-id, x-oneapi-request-id, x-litellm-call-id


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
    content_chunks_sent: int = 0  # streams: the content chunks written so far
    abandoned: bool = False  # streams: the client closed the stream before its end

    @property
    def messages(self) -> list[dict[str, Any]]:
        """The body's ``messages``, or [] when there were none."""
        messages = self.json.get("messages") if isinstance(self.json, dict) else None
        return messages if isinstance(messages, list) else []

    @property
    def image_urls(self) -> list[str]:
        """The data URLs of every image part, in message order."""
        return [url for message in self.messages for url in image_urls(message.get("content"))]

    def texts(self, role: str = "user") -> list[str]:
        """The text of each message of `role`, in order (text parts joined)."""
        return [text_of(m.get("content")) for m in self.messages if m.get("role") == role]

    @property
    def stream(self) -> bool:
        """Whether the request asked for a stream."""
        return isinstance(self.json, dict) and self.json.get("stream") is True


def numbered_reply(request: RecordedCompletionRequest) -> Reply:
    """Answer "Answer N", N being the request's position: the fake's default."""
    return Reply(text=f"Answer {request.number}")


def echo_reply(request: RecordedCompletionRequest) -> Reply:
    """Answer "Echo: <the last user message>", to tell concurrent answers apart."""
    users = [text_of(m.get("content")) for m in request.messages if m.get("role") == "user"]
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
        reasoning_effort_supported: bool = True,
    ) -> None:
        self.api_key = api_key
        self.model = model
        self.models_route = models_route  # False: no GET /v1/models (404), as some compatible services
        # False: `reasoning_effort` is refused with OpenAI's 400 "Unsupported parameter" (a model without it).
        self.reasoning_effort_supported = reasoning_effort_supported
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
        # OpenAI takes up to 50 MB of images in one request (aiohttp's default cap is 1 MiB).
        app = web.Application(client_max_size=REQUEST_BODY_LIMIT_BYTES)
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

    async def wait_answered(self, number: int, timeout: float = 5.0) -> RecordedCompletionRequest:
        """Wait until the answer to the `number`-th request (1-based) has ended; return that request."""
        async with asyncio.timeout(timeout), self._arrived:
            await self._arrived.wait_for(
                lambda: len(self.requests) >= number and self.requests[number - 1].finished_at is not None
            )
        return self.requests[number - 1]

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
        request_id = f"req-fake-{recorded.number}"
        headers = {"x-request-id": request_id}
        if (refusal := self._auth_refusal(request, headers)) is not None:
            return refusal
        if (problem := body_problem(body, self.model)) is not None:
            status, code, message = problem
            return error_response(status, code, message, "invalid_request_error", headers)
        if (rejected := reasoning_problem(body, self.reasoning_effort_supported)) is not None:
            code, message = rejected
            return error_response(400, code, message, "invalid_request_error", headers, "reasoning_effort")
        if self.prompt_cache is not None:
            recorded.cache_figures = self.prompt_cache.serve(recorded.messages)
        reply = self._queue.popleft() if self._queue else self.default(recorded)
        headers = {reply.request_id_header: request_id}
        if not await self._hold(reply):
            return error_response(503, None, "the fake server is shutting down", "server_error", headers)
        recorded.started_at = asyncio.get_running_loop().time()
        response = await self._answer(request, recorded, reply, {**headers, **reply.headers})
        async with self._arrived:
            recorded.finished_at = asyncio.get_running_loop().time()
            self._arrived.notify_all()
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
            return await raw_answer(request, recorded, reply, headers)
        if reply.status != 200:
            message = reply.error_message or HTTPStatus(reply.status).phrase
            return error_response(reply.status, reply.error_code, message, reply.error_type, headers)
        if recorded.stream:
            return await stream_answer(request, recorded, reply, headers)
        return web.json_response(whole_answer(recorded, reply), headers=headers)
