"""Context building: system prompt, labelled history within CONTEXT_TOKENS, the question last.

History windows keep the prompt's prefix (so the provider's prompt cache) from question to question.
"""

from __future__ import annotations

import itertools
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from assistant.context import (
    SLIDING_WINDOW_TOKENS,
    ChatMessage,
    Context,
    ContextBuilder,
    Instructions,
    drop_orphaned_answer,
    label_user_turn,
)
from assistant.errors import QuestionTooLong
from assistant.model.tokens import REPLY_PRIMING_TOKENS, estimate_message_tokens
from storage.history import Exchange, HistoryStore, Turn
from storage.sqlite.database import Database
from storage.sqlite.history import SqliteHistoryStore


@pytest.fixture
async def history(tmp_path: Path) -> AsyncIterator[HistoryStore]:
    database = await Database.open(tmp_path / "bot.db")
    yield SqliteHistoryStore(database)
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


async def test_a_persona_follows_the_system_prompt_and_counts_toward_the_budget(
    history: HistoryStore,
) -> None:
    for n in range(50):
        await remember(history, "Ann", f"question {n} " + "x" * 400, f"answer {n} " + "y" * 400)
    builder = ContextBuilder(
        history, system_prompt="Be brief.", budget_tokens=1000, block_tokens=SLIDING_WINDOW_TOKENS
    )
    plain = await builder.build(5, "Ann: last")
    persona = "You are the support desk of Acme. " + "Stay on topic. " * 40
    dressed = await builder.build(
        5, "Ann: last", instructions=Instructions(persona=persona, reasoning_effort="high")
    )
    assert dressed.messages[0] == {"role": "system", "content": f"Be brief.\n\n{persona}"}
    assert (plain.reasoning_effort, dressed.reasoning_effort) == (None, "high")
    # The persona's tokens come out of CONTEXT_TOKENS: fewer history turns fit beside it.
    assert dressed.history_turns < plain.history_turns
    sent = sum(estimate_message_tokens(message["content"]) for message in dressed.messages)
    assert sent - estimate_message_tokens("Be brief.") <= 1000
    assert dressed.prompt_tokens == sent + REPLY_PRIMING_TOKENS


async def test_a_question_that_does_not_fit_beside_the_persona_is_refused(history: HistoryStore) -> None:
    question, persona = "Ann: " + "word " * 40, "Answer kindly and briefly. " * 20
    question_tokens = estimate_message_tokens(question)
    persona_tokens = estimate_message_tokens(f"S\n\n{persona}") - estimate_message_tokens("S")
    budget = question_tokens + persona_tokens - 1
    builder = ContextBuilder(history, system_prompt="S", budget_tokens=budget)
    await builder.build(5, question)  # fits alone
    with pytest.raises(QuestionTooLong) as caught:
        await builder.build(5, question, instructions=Instructions(persona=persona))
    assert f"the limit is {budget - persona_tokens:,})" in caught.value.user_message


def test_a_leading_answer_is_dropped() -> None:
    turns = [Turn("assistant", "a", 1), Turn("user", "q", 1), Turn("assistant", "b", 1)]
    assert drop_orphaned_answer(turns) == turns[1:]


# -- cache-friendly windows ---------------------------------------------------------------------


def history_part(context: Context) -> list[ChatMessage]:
    """Return the history messages of a context (without the system prompt and the question)."""
    return context.messages[1:-1]


async def converse(history: HistoryStore, builder: ContextBuilder, exchanges: int) -> list[Context]:
    """Ask `exchanges` questions of about 100 tokens each way; return the context of each."""
    contexts = []
    for n in range(exchanges):
        question = f"question {n} " + "quick " * 95
        contexts.append(await builder.build(5, label_user_turn("Ann", question)))
        await remember(history, "Ann", question, f"answer {n} " + "quick " * 95)
    return contexts


async def test_a_full_window_keeps_its_start_until_it_overflows_then_drops_a_block(
    history: HistoryStore,
) -> None:
    builder = ContextBuilder(history, system_prompt="S", budget_tokens=2_000, block_tokens=1_000)
    contexts = await converse(history, builder, 60)
    starts = [history_part(c)[0]["content"] if history_part(c) else None for c in contexts]
    moves = sum(1 for a, b in itertools.pairwise(starts) if a != b)
    # ~210 tokens per exchange, 1,000-token blocks: the start moves about every 5 exchanges,
    # not on every one of the ~50 questions after the window first filled up.
    assert 8 <= moves <= 14
    for before, after in itertools.pairwise(contexts):
        if history_part(before)[:1] == history_part(after)[:1]:
            # Same start: the earlier prompt, its question included, begins the later one.
            assert after.messages[: len(before.messages)] == before.messages
        assert after.prompt_tokens <= 2_000 + estimate_message_tokens("S") + REPLY_PRIMING_TOKENS
    for context in contexts[10:]:  # once the history outgrew the budget
        # After a drop the window still holds at least the budget less a block and an exchange.
        assert sum(estimate_message_tokens(m["content"]) for m in context.messages[1:]) >= 2_000 - 1_000 - 220


async def test_a_question_taking_most_of_the_budget_still_gets_the_newest_turns_that_fit(
    history: HistoryStore,
) -> None:
    builder = ContextBuilder(history, system_prompt="S", budget_tokens=2_000, block_tokens=1_000)
    await converse(history, builder, 20)
    long_question = label_user_turn("Ann", "quick " * 1_500)  # 1,500 tokens: 500 left for history
    context = await builder.build(5, long_question)
    assert context.history_turns > 0
    assert history_part(context)[-1]["content"].startswith("answer 19")
    assert sum(estimate_message_tokens(m["content"]) for m in context.messages[1:]) <= 2_000


async def test_a_sliding_window_moves_its_start_on_every_question_once_full(history: HistoryStore) -> None:
    builder = ContextBuilder(
        history, system_prompt="S", budget_tokens=2_000, block_tokens=SLIDING_WINDOW_TOKENS
    )
    contexts = await converse(history, builder, 30)
    starts = [history_part(c)[0]["content"] for c in contexts[12:]]
    assert all(a != b for a, b in itertools.pairwise(starts))


async def test_the_window_is_the_same_after_a_restart(tmp_path: Path) -> None:
    path = tmp_path / "bot.db"
    database = await Database.open(path)
    store = SqliteHistoryStore(database)
    builder = ContextBuilder(store, system_prompt="S", budget_tokens=2_000)
    await converse(store, builder, 23)  # the window has dropped blocks and grown back since
    before = await builder.build(5, "Ann: next")
    sliding = ContextBuilder(
        store, system_prompt="S", budget_tokens=2_000, block_tokens=SLIDING_WINDOW_TOKENS
    )
    # The window is not simply "the newest that fit": it remembers where the last drop left it.
    assert history_part(await sliding.build(5, "Ann: next"))[0] != history_part(before)[0]
    await database.close()
    reopened = await Database.open(path)
    try:
        rebuilt = ContextBuilder(SqliteHistoryStore(reopened), system_prompt="S", budget_tokens=2_000)
        assert (await rebuilt.build(5, "Ann: next")).messages == before.messages
    finally:
        await reopened.close()
