"""The stream writer: paced edits, finished messages equal to the whole answer's split, nothing lost."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
from dataclasses import dataclass, field

from hypothesis import given, settings
from hypothesis import strategies as st

from assistant.delivery.pacing import Pacer
from assistant.delivery.splitting import split_message
from assistant.delivery.streaming import STREAMING_MARKER, StreamWriter


@dataclass
class Sent:
    id: int
    content: str
    history: list[str] = field(default_factory=list)


class RecordingTarget:
    """A reply target that records every send and edit, checking Discord's rules as it goes."""

    def __init__(self, limit: int = 2000) -> None:
        self.limit = limit
        self.messages: list[Sent] = []
        self.operations: list[tuple[str, int, str]] = []

    @property
    def pace_key(self) -> int:
        return 1

    async def send(self, content: str) -> Sent:
        self._check(content)
        message = Sent(len(self.messages) + 1, content, [content])
        self.messages.append(message)
        self.operations.append(("send", message.id, content))
        return message

    async def edit(self, message: Sent, content: str) -> None:
        self._check(content)
        message.content = content
        message.history.append(content)
        self.operations.append(("edit", message.id, content))

    def working(self) -> contextlib.AbstractAsyncContextManager[None]:
        return contextlib.nullcontext()

    def _check(self, content: str) -> None:
        assert content.strip(), "Discord rejects blank messages"
        assert len(content) <= self.limit, f"{len(content)} characters is over the limit"


def instant_pacer() -> Pacer:
    async def no_sleep(_: float) -> None:
        await asyncio.sleep(0)

    return Pacer(0.0, sleep=no_sleep)


async def stream(text: str, chunks: list[int], limit: int = 2000, note: str = "") -> RecordingTarget:
    target = RecordingTarget(limit)
    writer = StreamWriter(target, instant_pacer(), pace_key=1, limit=limit)
    pos = 0
    for size in chunks:
        writer.feed(text[pos : pos + size])
        pos += size
        await asyncio.sleep(0)  # let the writer show some of it
    writer.feed(text[pos:])
    await writer.finish(note)
    return target


PIECES = st.sampled_from(
    ["word ", "Sentence one. ", "line\n", "\n\n", "```python\n", "```\n", "x" * 90, "é", "~~~\n", "code()\n"]
)


@settings(max_examples=150, deadline=None)
@given(
    st.lists(PIECES, min_size=1, max_size=120).map("".join),
    st.lists(st.integers(1, 300), max_size=40),
    st.sampled_from([100, 250, 2000]),
)
async def test_final_messages_equal_the_whole_answers_split(text: str, chunks: list[int], limit: int) -> None:
    target = await stream(text, chunks, limit)
    assert [m.content for m in target.messages] == split_message(text, limit=limit)


async def test_a_5000_character_answer_with_code_streams_into_the_same_messages() -> None:
    code = "```python\n" + "".join(f"value_{n} = compute({n})  # step {n}\n" for n in range(120)) + "```\n"
    text = "Here is the plan.\n\n" + "Explain it all. " * 60 + "\n\n" + code + "\nThat is the end. " * 20
    assert len(text) > 5000
    target = await stream(text, [37] * 200)
    assert [m.content for m in target.messages] == split_message(text)
    assert len(target.messages) >= 3


async def test_the_marker_shows_while_writing_and_the_final_edit_removes_it() -> None:
    target = await stream("Hello there, this is streaming.", [5, 5, 5, 5])
    [message] = target.messages
    assert message.content == "Hello there, this is streaming."
    assert any(state.endswith(STREAMING_MARKER) for state in message.history[:-1])
    assert not message.content.endswith(STREAMING_MARKER)


async def test_a_note_is_appended_to_the_last_message() -> None:
    target = await stream("Partial answ", [4, 4], note="\n\n-# cut off")
    assert target.messages[-1].content == "Partial answ\n\n-# cut off"


async def test_blank_text_is_never_sent() -> None:
    target = await stream("\n\n   \n", [1, 1, 1])
    assert target.messages == []


async def test_operations_after_the_first_are_spaced_by_the_pace() -> None:
    now = [0.0]

    async def advance(seconds: float) -> None:
        now[0] += seconds
        await asyncio.sleep(0)

    pacer = Pacer(1.0, clock=lambda: now[0], sleep=advance)
    target = RecordingTarget(limit=100)
    times: list[float] = []
    original_send, original_edit = target.send, target.edit

    async def timed_send(content: str) -> Sent:
        times.append(now[0])
        return await original_send(content)

    async def timed_edit(message: Sent, content: str) -> None:
        times.append(now[0])
        await original_edit(message, content)

    target.send, target.edit = timed_send, timed_edit  # type: ignore[method-assign]
    writer = StreamWriter(target, pacer, pace_key=1, limit=100)
    for n in range(30):
        writer.feed(f"word{n} ")
        await asyncio.sleep(0)
    await writer.finish()
    assert target.operations[0][0] == "send" and times[0] == 0.0
    assert len(times) >= 3
    assert all(later - earlier >= 1.0 for earlier, later in itertools.pairwise(times))
    assert [m.content for m in target.messages] == split_message(writer.text, limit=100)
