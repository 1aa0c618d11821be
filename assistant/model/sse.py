"""Streamed answers: server-sent events framing, and the chat.completion.chunk events inside it.

:func:`iter_sse_data` decodes the SSE framing as the `openai` package's ``SSEDecoder`` does (the
tests use it as the oracle) and knows nothing of chat completions; :func:`read_stream` turns a
streaming request's body into :class:`TextDelta` events and one final :class:`StreamEnd`, whether
the body is an event stream (whatever its Content-Type says) or one whole chat.completion.

Decided beyond the SSE spec, to take what real gateways send:

- An event whose data lines are not one JSON value together, but each of them is (or is
  ``[DONE]``), was several events from a server that left out the blank lines between them: each
  line is read as its own event. Data lines that join into one JSON value are one event, as the
  spec says. The two cannot be confused: several JSON values joined by newlines are never valid JSON.
- A last event not followed by a blank line is still read (``SSEDecoder`` drops it).
- Bytes that are not UTF-8 become U+FFFD instead of failing the answer.
"""

from __future__ import annotations

import json
import re
from collections.abc import AsyncGenerator, AsyncIterable, AsyncIterator, Iterator, Mapping
from contextlib import aclosing
from dataclasses import dataclass, field

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
    parse_completion,
    parse_usage,
    require_answer,
    str_or_none,
)

BYTE_ORDER_MARK = "\ufeff"
DONE = "[DONE]"
_LINE_END = re.compile(rb"\r\n|\r|\n")
_BODY_START = b" \t\r\n"  # skipped (with a byte-order mark) to see how a body starts


async def read_stream(
    chunks: AsyncIterable[bytes], request_id: str | None
) -> AsyncGenerator[StreamEvent, None]:
    """Yield the answer of a streaming request's body: events as they come, or one whole answer.

    A body that starts with ``{`` is a whole chat.completion (or an error object): some gateways
    answer a streaming request that way, with any Content-Type. Anything else is an event stream.
    """
    head, rest = await _peek(aiter(chunks))
    if _meaningful(head).startswith(b"{"):
        body = head + b"".join([chunk async for chunk in rest])
        completion = parse_completion(body, request_id)
        yield TextDelta(completion.text)
        yield StreamEnd(completion.finish_reason, completion.usage, request_id)
        return
    async with aclosing(stream_events(_prepend(head, rest), request_id)) as events:
        async for event in events:
            yield event


async def stream_events(
    chunks: AsyncIterable[bytes], request_id: str | None
) -> AsyncGenerator[StreamEvent, None]:
    """Yield the text of each chunk as it comes, then StreamEnd; raise the error a chunk carries.

    ``data: [DONE]`` ends the stream. A stream that stops without [DONE] and without a finish reason
    was cut: :class:`ConnectionFailed` is raised, after whatever text had already been yielded.
    """
    state = StreamState(request_id)
    async with aclosing(iter_sse_data(chunks)) as events:
        async for data in events:
            for payload in event_payloads(data):
                if payload.startswith(DONE):
                    state.done = True
                    break
                delta = state.feed(payload)
                if delta is not None:
                    yield delta
            if state.done:
                break
    yield state.end()


async def iter_sse_data(chunks: AsyncIterable[bytes]) -> AsyncGenerator[str, None]:
    """Yield the data of every event that has some, as soon as the blank line ending it arrives.

    Lines end at CR, LF or CRLF (a CRLF cut between two chunks is one line end); each line is
    decoded whole, so a UTF-8 character cut across chunks is intact. A leading byte-order mark is
    dropped. An event's `data:` lines are joined with "\\n"; comments and the `event:`, `id:` and
    `retry:` fields (which chat completions do not use) are read and set aside.
    """
    lines, event = _LineSplitter(), _Event()
    async for chunk in chunks:
        for line in lines.feed(chunk):
            if (data := event.read(line)) is not None:
                yield data
    for line in lines.finish():
        if (data := event.read(line)) is not None:
            yield data
    if (data := event.read("")) is not None:  # a last event without its blank line
        yield data


def event_payloads(data: str) -> list[str]:
    """Return the JSON payloads in one event's data: the data itself, or its lines (see the module)."""
    if "\n" not in data or _is_json(data):
        return [data]
    lines = [line for line in data.split("\n") if line.strip()]
    if all(line.startswith(DONE) or _is_json(line) for line in lines):
        return lines
    return [data]  # neither: it fails as malformed


def _is_json(text: str) -> bool:
    try:
        json.loads(text)
    except ValueError:
        return False
    return True


class _LineSplitter:
    """Split bytes into lines at CR, LF or CRLF, across chunk boundaries; decode each line."""

    def __init__(self) -> None:
        self._pending = bytearray()
        self._after_cr = False  # the last line ended with CR: an LF starting the next chunk is its end
        self._first = True

    def feed(self, chunk: bytes) -> Iterator[str]:
        """Yield the lines that `chunk` completes."""
        if not chunk:
            return
        start = 1 if self._after_cr and chunk.startswith(b"\n") else 0
        self._after_cr = False
        for match in _LINE_END.finditer(chunk, start):
            self._pending += chunk[start : match.start()]
            start = match.end()
            self._after_cr = match.group() == b"\r" and start == len(chunk)
            yield self._take()
        self._pending += chunk[start:]

    def finish(self) -> Iterator[str]:
        """Yield the last line, when the stream ended without a line end."""
        if self._pending:
            yield self._take()

    def _take(self) -> str:
        line = self._pending.decode("utf-8", errors="replace")
        self._pending.clear()
        if self._first:
            self._first = False
            line = line.removeprefix(BYTE_ORDER_MARK)
        return line


@dataclass
class _Event:
    """The data lines of the event being read."""

    data: list[str] = field(default_factory=list)

    def read(self, line: str) -> str | None:
        """Take one line; return the event's data when the line ends an event that has some."""
        if not line:
            data, self.data = self.data, []
            return "\n".join(data) if data else None
        name, _, value = line.partition(":")
        if name == "data":  # also a comment (name ""), event, id, retry or unknown field: set aside
            self.data.append(value.removeprefix(" "))
        return None


async def _peek(chunks: AsyncIterator[bytes]) -> tuple[bytes, AsyncIterator[bytes]]:
    """Read until the body's first meaningful byte (or its end); return what was read and the rest."""
    head = b""
    async for chunk in chunks:
        head += chunk
        if _meaningful(head):
            break
    return head, chunks


def _meaningful(head: bytes) -> bytes:
    """Return `head` without a leading byte-order mark and whitespace."""
    return head.removeprefix(BYTE_ORDER_MARK.encode()).lstrip(_BODY_START)


async def _prepend(head: bytes, rest: AsyncIterator[bytes]) -> AsyncIterator[bytes]:
    yield head
    async for chunk in rest:
        yield chunk


@dataclass
class StreamState:
    """What a stream has said so far: its finish reason, its last usage, whether it wrote text."""

    request_id: str | None
    finish_reason: str | None = None
    usage: Usage | None = None
    wrote_text: bool = False
    done: bool = False

    def feed(self, payload: str) -> TextDelta | None:
        """Take one event's JSON payload; return its text, if any; raise the error it carries."""
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
