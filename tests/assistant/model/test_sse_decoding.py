"""SSE framing, checked against the `openai` package's SSEDecoder as an independent oracle.

Where the two differ on purpose (see :mod:`assistant.model.sse`): a leading byte-order mark is
dropped, and a last event without its blank line is still read; the oracle is given the stream
without the mark and with a blank line added, which is what those two rules mean.
"""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import AsyncIterator

import pytest
from hypothesis import given
from hypothesis import strategies as st
from openai._streaming import SSEDecoder

from assistant.model.sse import event_payloads, iter_sse_data

BOM = "\ufeff".encode()
# "" makes a comment line; "dat" and "data " are unknown fields, which both decoders ignore.
FIELD_NAMES = ("data", "data", "data", "event", "id", "retry", "", "dat", "data ")
LINE_ENDS = ("\n", "\r", "\r\n")
values = st.text(st.characters(exclude_characters="\r\n", exclude_categories=("Cs",)), max_size=12)
lines = st.builds(
    lambda name, colon, space, value, end: f"{name}{colon}{space}{value}{end}",
    st.sampled_from(FIELD_NAMES),
    st.sampled_from(("", ":")),
    st.sampled_from(("", " ", "  ")),
    values | st.sampled_from(('{"a": 1}', "[DONE]", "5")),
    st.sampled_from(LINE_ENDS),
)
events = st.builds(
    lambda body, end: "".join(body) + end, st.lists(lines, max_size=5), st.sampled_from(LINE_ENDS)
)
streams = st.builds(
    lambda body, tail: ("".join(body) + "".join(tail)).encode(),
    st.lists(events, max_size=6),
    st.lists(lines, max_size=2),  # a last event that may lack its blank line
)


def chunked(raw: bytes, cuts: list[int]) -> list[bytes]:
    """Cut `raw` at the given offsets (anywhere, inside a line end or a UTF-8 character too)."""
    bounds = sorted({0, len(raw), *(cut % (len(raw) + 1) for cut in cuts)})
    return [raw[start:end] for start, end in itertools.pairwise(bounds)]


def ours(chunks: list[bytes]) -> list[str]:
    async def feed() -> AsyncIterator[bytes]:
        for chunk in chunks:
            yield chunk

    async def collect() -> list[str]:
        return [data async for data in iter_sse_data(feed())]

    return asyncio.run(collect())


def oracle(chunks: list[bytes]) -> list[str]:
    """Return the data of openai's events, given the stream's last event its blank line."""
    return [event.data for event in SSEDecoder().iter_bytes(iter([*chunks, b"\n\n"]))]


@given(streams, st.lists(st.integers(min_value=0), max_size=30))
def test_the_same_data_as_openais_decoder_however_the_stream_is_chunked(raw: bytes, cuts: list[int]) -> None:
    # The oracle also yields events without data (and, once an id was seen, after every blank
    # line) with data ""; neither kind carries anything, and the client skips blank payloads.
    assert [data for data in ours(chunked(raw, cuts)) if data] == [d for d in oracle([raw]) if d]


@given(streams, st.lists(st.integers(min_value=0), max_size=30))
def test_a_leading_byte_order_mark_is_dropped(raw: bytes, cuts: list[int]) -> None:
    assert ours(chunked(BOM + raw, cuts)) == ours([raw])


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (b'data: {"a":\r\ndata: 1}\r\n\r\n', ['{"a":\n1}']),  # CRLF, one event over two data lines
        (b"data: one\rdata: two\r\rdata: three\r\r", ["one\ntwo", "three"]),  # CR only
        (b"\xef\xbb\xbfdata: first\n\n", ["first"]),
        (b": comment\nevent: delta\nid: 7\nretry: 100\ndata:x\n\n", ["x"]),
        (b"data: [DONE]", ["[DONE]"]),  # the last event, without its line end
        (b"event: ping\n\n\n\n", []),
    ],
    ids=["crlf-multiline", "cr-only", "bom", "other-fields", "no-line-end", "no-data"],
)
def test_framings_real_servers_send(raw: bytes, expected: list[str]) -> None:
    assert ours([raw]) == expected
    assert ours([raw[i : i + 1] for i in range(len(raw))]) == expected


@pytest.mark.parametrize(
    ("data", "payloads"),
    [
        ('{"a": 1}', ['{"a": 1}']),
        ('{"a":\n1}', ['{"a":\n1}']),  # one JSON value over two data lines: one event (the spec)
        ('{"a": 1}\n{"b": 2}\n[DONE]', ['{"a": 1}', '{"b": 2}', "[DONE]"]),  # blank lines left out
        ('{"a": 1}\nnot json', ['{"a": 1}\nnot json']),  # neither: left whole, to fail as malformed
    ],
)
def test_events_run_together_are_told_apart(data: str, payloads: list[str]) -> None:
    assert event_payloads(data) == payloads
