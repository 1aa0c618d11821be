"""Long answers with code, end to end: what a member sees, posted whole or streamed.

Models indent code blocks inside list items; each message must show those blocks as code, with
their language, and a cut-off answer must close its block before saying it was cut off.
"""

from __future__ import annotations

import re

import pytest

from assistant.delivery.posting import CUT_OFF_NOTE, TRUNCATED_NOTE
from assistant.delivery.splitting import split_message
from tests.assistant.delivery.oracles import discord
from tests.conftest import Harness
from tests.fakes.completions import Reply

STREAM_MODES = pytest.mark.parametrize("stream", [False, True], ids=["whole", "streamed"])
COMMANDS = [f"    ./configure --prefix=/opt/tool{n} --enable-feature-{n}" for n in range(70)]
PROGRAM = [f"    result_{n} = compute({n}, scale=2)  # step {n}" for n in range(70)]
ANSWER = (
    "Here is how to build it.\n\n1. Configure the build:\n    ```bash\n"
    + "\n".join(COMMANDS)
    + "\n    ```\n2. Then run the program:\n    ```python\n"
    + "\n".join(PROGRAM)
    + "\n    ```\n\nThat is all.\n"
)


@pytest.fixture
def discord_rate_limits() -> bool:
    """Discord's rate limits bear on answers of several messages: the fake enforces them."""
    return True


def code_seen(messages: list[str]) -> dict[str, list[str]]:
    """The lines each language's code blocks show across ``messages``, as Discord renders them."""
    seen: dict[str, list[str]] = {}
    for message in messages:
        classes = discord(message)
        for line in re.finditer(r"[^\n]+", message):
            kinds = {classes[i][0] for i in range(line.start(), line.end()) if not message[i].isspace()}
            if len(kinds) == 1 and (kind := kinds.pop()).startswith("code:"):
                seen.setdefault(kind.removeprefix("code:"), []).append(line[0])
    return seen


async def answer_messages(harness: Harness, reply: Reply, expected: int) -> list[str]:
    """Ask, and return the bot's messages once the answer is final."""
    harness.model.enqueue(reply)
    asked = await harness.ask("how do I build it?")
    await harness.replies_to(asked, count=expected)
    await harness.settled()
    return [m["content"] for m in harness.discord.bot_messages(harness.channel)]


@STREAM_MODES
async def test_list_indented_code_shows_as_code_in_every_message(harness: Harness) -> None:
    assert len(ANSWER) > 6000
    expected = split_message(ANSWER)
    messages = await answer_messages(harness, Reply(text=ANSWER, chunk_size=97), len(expected))
    assert messages == expected
    assert len(messages) >= 4 and all(len(message) <= 2000 for message in messages)
    # Every code line shows as code of its language, once and in order; no fence shows as text.
    assert code_seen(messages) == {"bash": COMMANDS, "python": PROGRAM}
    fences = [line for m in messages for line in m.split("\n") if "```" in line]
    assert all(re.fullmatch(r" {4}```(bash|python)?", line) for line in fences)
    reopened = [m.split("\n", 1)[0] for m in messages[1:]]
    assert set(reopened) <= {"    ```bash", "    ```python", "2. Then run the program:"}
    assert await harness.stored_turns() == 2


@STREAM_MODES
async def test_an_answer_cut_off_by_the_length_limit_closes_its_code_block_first(
    harness: Harness,
) -> None:
    text = ANSWER[: ANSWER.index(PROGRAM[40])]  # ends inside the python block
    messages = await answer_messages(
        harness, Reply(text=text, finish_reason="length", chunk_size=97), len(split_message(text))
    )
    assert messages[-1].endswith("\n    ```" + TRUNCATED_NOTE)
    assert code_seen(messages) == {"bash": COMMANDS, "python": PROGRAM[:40]}
    assert discord(messages[-1])[-5][0] == "text"  # the note shows as text, not code


async def test_a_broken_stream_closes_its_code_block_before_the_note(harness: Harness) -> None:
    await harness.stop_bot()
    await harness.start_bot(stream=True)
    text = "Run this:\n\n- Step one:\n    ```bash\n" + "\n".join(COMMANDS[:30]) + "\n    ```\n"
    chunks = text.index(COMMANDS[20]) // 50 + 1  # the stream breaks inside the block
    harness.model.enqueue(Reply(text=text, chunk_size=50, cut_after_chunks=chunks))
    asked = await harness.ask("and the commands?")
    await harness.replies_to(asked)
    await harness.settled()
    messages = [m["content"] for m in harness.discord.bot_messages(harness.channel)]
    note = CUT_OFF_NOTE.format(reason="the connection to the AI service dropped.")
    assert messages[-1].endswith("\n    ```" + note)
    *whole, last = code_seen(messages)["bash"]  # the last line may have been cut
    assert whole == COMMANDS[: len(whole)] and COMMANDS[len(whole)].startswith(last)
    assert len(whole) >= 19
    assert await harness.stored_turns() == 0
