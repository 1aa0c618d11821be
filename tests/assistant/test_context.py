"""Context building: system prompt, labelled history within CONTEXT_TOKENS, the question last."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from assistant.context import ContextBuilder, drop_orphaned_answer, label_user_turn
from assistant.errors import QuestionTooLong
from assistant.tokens import estimate_message_tokens
from storage.database import Database
from storage.history import Exchange, HistoryStore, Turn


@pytest.fixture
async def history(tmp_path: Path) -> AsyncIterator[HistoryStore]:
    database = await Database.open(tmp_path / "bot.db")
    yield HistoryStore(database)
    await database.close()


async def remember(history: HistoryStore, author: str, question: str, answer: str) -> None:
    await history.append_exchange(
        Exchange(
            guild_id=1,
            channel_id=5,
            question=Turn(
                "user", question, estimate_message_tokens(label_user_turn(author, question)), author
            ),
            answer=Turn("assistant", answer, estimate_message_tokens(answer)),
        )
    )


async def test_messages_are_system_then_history_oldest_first_then_question(history: HistoryStore) -> None:
    await remember(history, "Ann", "What is 2+2?", "4")
    await remember(history, "Bob", "And 3+3?", "6")
    builder = ContextBuilder(history, system_prompt="Be brief.", budget_tokens=1000)
    context = await builder.build(5, label_user_turn("Cy", "And 4+4?"))
    assert context.messages == [
        {"role": "system", "content": "Be brief."},
        {"role": "user", "content": "Ann: What is 2+2?"},
        {"role": "assistant", "content": "4"},
        {"role": "user", "content": "Bob: And 3+3?"},
        {"role": "assistant", "content": "6"},
        {"role": "user", "content": "Cy: And 4+4?"},
    ]
    assert context.history_turns == 4


async def test_only_the_newest_turns_that_fit_are_sent(history: HistoryStore) -> None:
    for n in range(50):
        await remember(history, "Ann", f"question {n} " + "x" * 400, f"answer {n} " + "y" * 400)
    builder = ContextBuilder(history, system_prompt="S", budget_tokens=1000)
    context = await builder.build(5, "Ann: last")
    history_messages = context.messages[1:-1]
    assert 0 < len(history_messages) < 100
    assert history_messages[-1]["content"].startswith("answer 49")
    assert history_messages[0]["role"] == "user"  # never starts with an answer to a dropped question
    sent = sum(estimate_message_tokens(message["content"]) for message in context.messages[1:])
    assert sent <= 1000


async def test_a_question_over_the_budget_is_refused_not_cut(history: HistoryStore) -> None:
    builder = ContextBuilder(history, system_prompt="S", budget_tokens=300)
    with pytest.raises(QuestionTooLong) as caught:
        await builder.build(5, "Ann: " + "word " * 1000)
    assert "too long" in caught.value.user_message
    assert "300" in caught.value.user_message


def test_a_leading_answer_is_dropped() -> None:
    turns = [Turn("assistant", "a", 1), Turn("user", "q", 1), Turn("assistant", "b", 1)]
    assert drop_orphaned_answer(turns) == turns[1:]
