"""How the fake completions service writes a successful answer: a whole body, an event stream, raw bytes.

An event stream is framed as the scripted :class:`~tests.fakes.completions.Reply` asks, the ways real
gateways frame it: LF, CRLF or CR-only line ends, a leading byte-order mark, each event's JSON spread
over several `data:` lines, no blank line between events, a Content-Type other than
text/event-stream; or, instead of a stream, the whole chat.completion body with any Content-Type.
When the client goes away mid-stream, the request is marked ``abandoned``.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from aiohttp import web

from .completions_rules import auto_usage

if TYPE_CHECKING:
    from .completions import RecordedCompletionRequest, Reply

KEEP_ALIVE_EVERY_CHUNKS = 3
BYTE_ORDER_MARK = "\ufeff".encode()


def whole_answer(recorded: RecordedCompletionRequest, reply: Reply) -> dict[str, Any]:
    """Return the chat.completion body of the reply, as the service sends it to a non-stream request."""
    answer: dict[str, Any] = {"role": "assistant", "content": reply.text, "refusal": None}
    choice = {"index": 0, "message": answer, "logprobs": None, "finish_reason": reply.finish_reason}
    body: dict[str, Any] = {**envelope(recorded, "chat.completion"), "choices": [choice]}
    if (usage := usage_of(recorded, reply)) is not None:
        body["usage"] = usage
    return body


async def stream_answer(
    request: web.Request, recorded: RecordedCompletionRequest, reply: Reply, headers: dict[str, str]
) -> web.StreamResponse:
    """Send the reply as chat.completion.chunk events; mark the request abandoned if the client leaves."""
    if reply.unstreamed_content_type is not None:  # a gateway that does not stream
        body = json.dumps(whole_answer(recorded, reply)).encode()
        return web.Response(body=body, headers={**headers, "Content-Type": reply.unstreamed_content_type})
    response = web.StreamResponse(
        headers={"Content-Type": reply.stream_content_type, "Cache-Control": "no-cache"}
    )
    response.headers.update(headers)
    await response.prepare(request)
    try:
        await _write_events(request, response, recorded, reply)
    except ConnectionResetError:  # the client closed the stream
        recorded.abandoned = True
    return response


async def _write_events(
    request: web.Request, response: web.StreamResponse, recorded: RecordedCompletionRequest, reply: Reply
) -> None:
    """Write the events: a role chunk, content chunks with keep-alives, then the scripted ending."""
    end = reply.line_end
    between = end if reply.blank_lines else ""
    base = envelope(recorded, "chat.completion.chunk")

    async def send(payload: Mapping[str, Any]) -> None:
        text = json.dumps(payload, indent=1) if reply.split_data else json.dumps(payload)
        lines = "".join(f"data: {line}{end}" for line in text.split("\n"))
        await response.write(f"{lines}{between}".encode())

    def chunk(delta: dict[str, Any], finish_reason: str | None = None) -> dict[str, Any]:
        return {**base, "choices": [{"index": 0, "delta": delta, "finish_reason": finish_reason}]}

    if reply.byte_order_mark:
        await response.write(BYTE_ORDER_MARK)
    await send(chunk({"role": "assistant", "content": ""}))
    await response.write(f": keep-alive{end}{between}".encode())
    pieces = [reply.text[i : i + reply.chunk_size] for i in range(0, len(reply.text), reply.chunk_size)]
    cut, error_at = reply.cut_after_chunks, reply.stream_error_after_chunks
    stop = min(n for n in (cut, error_at, len(pieces)) if n is not None)
    for number, piece in enumerate(pieces[:stop], start=1):
        if recorded.first_content_at is None:
            recorded.first_content_at = asyncio.get_running_loop().time()
        await send(chunk({"content": piece}))
        recorded.content_chunks_sent = number
        if number % KEEP_ALIVE_EVERY_CHUNKS == 0:
            await response.write(f": keep-alive{end}{between}".encode())
        await asyncio.sleep(reply.chunk_delay_seconds)
    if stop == cut and request.transport is not None:
        request.transport.close()  # flushes what was written, then drops the connection mid-body
        return
    if stop == error_at:
        error = {"message": reply.error_message or "upstream error", "type": reply.error_type}
        await send({"error": {**error, "code": reply.error_code}})
    else:
        if reply.finish_reason is not None:
            await send(chunk({}, reply.finish_reason))
        options = recorded.json.get("stream_options")
        if isinstance(options, dict) and options.get("include_usage") is True and reply.usage is not None:
            await send({**base, "choices": [], "usage": usage_of(recorded, reply)})
        if reply.send_done:
            await response.write(f"data: [DONE]{end}{between}".encode())
    await response.write_eof()


async def raw_answer(
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


def envelope(recorded: RecordedCompletionRequest, kind: str) -> dict[str, Any]:
    """Return the keys every answer and chunk starts with."""
    created, model = int(time.time()), recorded.json["model"]
    return {"id": f"chatcmpl-fake{recorded.number}", "object": kind, "created": created, "model": model}


def usage_of(recorded: RecordedCompletionRequest, reply: Reply) -> dict[str, Any] | None:
    """Return the reply's usage: as scripted, or "auto" (see :func:`auto_usage`)."""
    if reply.usage != "auto":
        return reply.usage
    return auto_usage(recorded.messages, reply.text, recorded.cache_figures)
