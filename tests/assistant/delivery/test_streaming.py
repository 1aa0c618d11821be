"""The stream writer: paced edits, finished messages equal to the whole answer's split, nothing lost."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
from dataclasses import dataclass, field

from hypothesis import given, settings
from hypothesis import strategies as st

from assistant.delivery.requests import RequestBudget
from assistant.delivery.splitting import split_message
from assistant.delivery.streaming import STREAMING_MARKER, StreamWriter


@dataclass
class Sent:
    id: int
    content: str
    history: list[str] = field(default_factory=list)


class RecordingTarget:
    """A reply target that records every send and edit, checking Discord's rules as it goes."""

    def __init__(self, limit: int = 2000, *, budgeted: bool = False) -> None:
        self.limit = limit
        self.budgeted = budgeted
        self.messages: list[Sent] = []
        self.operations: list[tuple[str, int, str]] = []

    @property
    def channel_id(self) -> int:
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


def unpaced(target: RecordingTarget, budget: RequestBudget | None = None, **options: float) -> StreamWriter:
    """A writer with no interval between edits and no hold before the first message."""
    timing = {"interval_seconds": 0.0, "hold_seconds": 0.0, **options}
    return StreamWriter(target, budget or RequestBudget(1000), limit=target.limit, **timing)


async def stream(text: str, chunks: list[int], limit: int = 2000, note: str = "") -> RecordingTarget:
    target = RecordingTarget(limit)
    writer = unpaced(target)
    pos = 0
    for size in chunks:
        writer.feed(text[pos : pos + size])
        pos += size
        await asyncio.sleep(0)  # let the writer show some of it
    writer.feed(text[pos:])
    await writer.finish(note)
    return target


PIECES = st.sampled_from(
    [
        *("word ", "Sentence one. ", "line\n", "\n\n", "x" * 90, "é", "~~~\n", "code()\n"),
        *("```python\n", "```\n", "1. Step\n    ```js\n", "    ```\n", "> ```\n", "> quoted\n", "\t```\n"),
        *("||", "`a || b`", "`", "\\", "👩\u200d👩\u200d👧", "👍🏽", "e\u0301", "🇫🇷" * 30),
    ]
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


async def test_a_note_closes_a_code_block_left_open_before_it() -> None:
    text = "Steps:\n1. Run:\n    ```bash\n" + "".join(f"    echo {n}\n" for n in range(60))
    target = await stream(text, [50] * 20, note="\n\n-# cut off")
    messages = [m.content for m in target.messages]
    assert messages == split_message(text + "    ```\n\n-# cut off")
    assert messages[-1].endswith("    echo 59\n    ```\n\n-# cut off")
    assert all(m.startswith("    ```bash\n") and m.count("```") == 2 for m in messages[1:])


async def test_a_spoiler_still_open_holds_the_cut_until_its_closer_comes() -> None:
    text = "Guess: ||" + "the answer is hidden here, " * 6 + "|| and more text follows. " * 3
    target = await stream(text, [7] * 40, limit=100)
    assert [m.content for m in target.messages] == split_message(text, limit=100)
    assert target.messages[1].content.startswith("||")


async def test_blank_text_is_never_sent() -> None:
    target = await stream("\n\n   \n", [1, 1, 1])
    assert target.messages == []


async def test_edits_of_text_still_being_written_are_spaced_by_the_interval() -> None:
    target = RecordingTarget(limit=100)
    times: list[float] = []
    original_edit = target.edit

    async def timed_edit(message: Sent, content: str) -> None:
        times.append(asyncio.get_running_loop().time())
        await original_edit(message, content)

    target.edit = timed_edit  # type: ignore[method-assign]
    writer = unpaced(target, interval_seconds=0.05)
    for n in range(12):
        writer.feed(f"word{n} ")
        await asyncio.sleep(0.02)
    await writer.finish()
    intermediate = times[:-1]  # the final edit does not wait for the interval
    assert len(intermediate) >= 2
    assert all(later - earlier >= 0.05 for earlier, later in itertools.pairwise(intermediate))
    assert [m.content for m in target.messages] == split_message(writer.text, limit=100)


async def test_a_short_answer_complete_within_the_hold_is_posted_once() -> None:
    target = RecordingTarget(budgeted=True)
    writer = unpaced(target, hold_seconds=10.0)
    writer.feed("A short ")
    await asyncio.sleep(0)
    writer.feed("answer.")
    async with asyncio.timeout(5):
        await writer.finish()
    assert target.operations == [("send", 1, "A short answer.")]


async def test_the_final_text_does_not_wait_for_the_edit_interval() -> None:
    target = RecordingTarget(budgeted=True)
    writer = unpaced(target, interval_seconds=60.0)
    writer.feed("First words")
    await writer.first_visible.wait()
    writer.feed(" and the rest.")
    async with asyncio.timeout(5):
        await writer.finish()
    assert target.operations == [
        ("send", 1, "First words" + STREAMING_MARKER),
        ("edit", 1, "First words and the rest."),
    ]


async def test_an_edit_still_waiting_for_the_budget_when_the_answer_ends_is_never_sent() -> None:
    # Two requests a second, both claimed by this answer (its first message and its final text):
    # an intermediate edit has no room and waits; the end overtakes it.
    budget = RequestBudget(2)
    target = RecordingTarget(budgeted=True)
    writer = unpaced(target, budget)
    writer.feed("Partial")
    await writer.first_visible.wait()
    writer.feed(" text, then more")
    for _ in range(5):
        await asyncio.sleep(0)  # the edit is now waiting for a slot
    async with asyncio.timeout(5):
        await writer.finish()
    assert target.operations == [
        ("send", 1, "Partial" + STREAMING_MARKER),
        ("edit", 1, "Partial text, then more"),
    ]
    assert budget.claimed == 0
