"""Streamed answers: server-sent events framing, and the chat.completion.chunk events inside it.

:func:`iter_sse_data` knows nothing of chat completions; :func:`stream_events` turns its payloads
into :class:`TextDelta` events and one final :class:`StreamEnd`.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, AsyncIterable, Mapping
from contextlib import aclosing
from dataclasses import dataclass

from assistant.errors import ConnectionFailed, MalformedReply
from assistant.model.wire import (
    StreamEnd,
    StreamEvent,
    TextDelta,
    Usage,
    classify_error,
    content_text,
    first_choice,
    id_suffix,
    load_json,
    parse_usage,
    require_answer,
    str_or_none,
)


async def stream_events(
    chunks: AsyncIterable[bytes], request_id: str | None
) -> AsyncGenerator[StreamEvent, None]:
    """Yield the text of each chunk as it comes, then StreamEnd; raise the error a chunk carries.

    ``data: [DONE]`` ends the stream. A stream that stops without [DONE] and without a finish reason
    was cut: :class:`ConnectionFailed` is raised, after whatever text had already been yielded.
    """
    state = StreamState(request_id)
    async with aclosing(iter_sse_data(chunks)) as payloads:
        async for payload in payloads:
            if payload.startswith("[DONE]"):
                state.done = True
                break
            delta = state.feed(payload)
            if delta is not None:
                yield delta
    yield state.end()


async def iter_sse_data(chunks: AsyncIterable[bytes]) -> AsyncGenerator[str, None]:
    """Yield the payload of every `data:` line, in order, as soon as its line is complete.

    Lines are split on bytes and decoded one whole line at a time, so a UTF-8 character cut across
    two network chunks is decoded intact. Comment lines (`: keep-alive`), blank lines and the other
    fields (`event:`, `id:`, `retry:`) are skipped. Each `data:` line is yielded on its own rather
    than joined with the next one as the SSE spec allows: chat-completions servers put one JSON
    object per line, and some of them omit the blank line between events.
    """
    pending = b""
    async for chunk in chunks:
        pending += chunk
        *lines, pending = pending.split(b"\n")
        for line in lines:
            payload = _data_payload(line)
            if payload is not None:
                yield payload
    if pending:  # the last line, when the stream ended without a newline
        payload = _data_payload(pending)
        if payload is not None:
            yield payload


def _data_payload(line: bytes) -> str | None:
    """Return the value of a `data:` line (with or without the space after the colon), else None."""
    if not line.startswith(b"data:"):
        return None
    value = line[len(b"data:") :].rstrip(b"\r")
    if value.startswith(b" "):
        value = value[1:]
    return value.decode("utf-8", errors="replace")


@dataclass
class StreamState:
    """What a stream has said so far: its finish reason, its last usage, whether it wrote text."""

    request_id: str | None
    finish_reason: str | None = None
    usage: Usage | None = None
    wrote_text: bool = False
    done: bool = False

    def feed(self, payload: str) -> TextDelta | None:
        """Take one `data:` payload; return its text, if any; raise the error it carries."""
        if not payload.strip():
            return None
        chunk = load_json(payload.encode(), "stream chunk", self.request_id)
        if not isinstance(chunk, Mapping):
            raise MalformedReply(f"stream chunk is not an object{id_suffix(self.request_id)}")
        if chunk.get("error"):
            raise classify_error(200, chunk, request_id=self.request_id)
        self.usage = parse_usage(chunk.get("usage")) or self.usage
        choice = first_choice(chunk)
        if choice is None:  # the usage chunk
            return None
        self.finish_reason = str_or_none(choice.get("finish_reason")) or self.finish_reason
        delta = choice.get("delta")
        text = content_text(delta.get("content")) if isinstance(delta, Mapping) else ""
        if not text:
            return None
        self.wrote_text = self.wrote_text or bool(text.strip())
        return TextDelta(text)

    def end(self) -> StreamEnd:
        """Close the stream: raise if it was cut short or said nothing, else return its end."""
        if not self.done and self.finish_reason is None:
            raise ConnectionFailed(f"stream ended early, before a finish reason{id_suffix(self.request_id)}")
        if not self.wrote_text:
            require_answer("", self.finish_reason, self.request_id)
        return StreamEnd(self.finish_reason, self.usage, self.request_id)
