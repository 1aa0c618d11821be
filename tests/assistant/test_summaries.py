"""Tests for assistant.summaries: what a transcript keeps, how it fits the budget, what it says."""

from __future__ import annotations

from datetime import UTC, datetime

from hypothesis import given, settings
from hypothesis import strategies as st

from assistant.budgets.quotas import Shortfall, exhausted_message
from assistant.context import label_user_turn
from assistant.delivery.streaming import STREAMING_MARKER
from assistant.errors import RateLimited, TooManyWaiting
from assistant.model.tokens import estimate_message_tokens
from assistant.summaries import (
    SUMMARY_INSTRUCTION,
    Said,
    coverage_footer,
    fit_transcript,
    is_leftover,
    worth_summarizing,
)

FAST = settings(max_examples=150, deadline=None)


def test_people_and_the_bots_answers_are_kept_in_order() -> None:
    messages = [
        Said("alice", "Shall we ship on Friday?"),
        Said("FakeBot", "Friday works if the tests pass.", mine=True),
        Said("bob", "Agreed.\nI'll write the notes."),
    ]
    transcript = fit_transcript(messages, asker="carol", budget_tokens=10_000)
    assert transcript.request == (
        SUMMARY_INSTRUCTION + "\n\n"
        "alice: Shall we ship on Friday?\n"
        "FakeBot: Friday works if the tests pass.\n"
        "bob: Agreed.\n  I'll write the notes."
    )
    assert (transcript.covered, transcript.left_out) == (3, 0)


def test_system_messages_empty_ones_and_the_bots_leftovers_are_skipped() -> None:
    budget = exhausted_message(Shortfall("member", 10, 10), datetime(2026, 1, 1, tzinfo=UTC))
    messages = [
        Said("alice", "pinned a message", system=True),
        Said("bob", "   "),
        Said("FakeBot", "Half an answer" + STREAMING_MARKER, mine=True),
        Said("FakeBot", "", mine=True),  # a "thinking…" message never filled
        Said("FakeBot", RateLimited.user_message, mine=True),
        Said("FakeBot", TooManyWaiting(3).user_message, mine=True),
        Said("FakeBot", budget, mine=True),
        Said("carol", "", attachments=("plan.png",)),
    ]
    transcript = fit_transcript(messages, asker="dave", budget_tokens=10_000)
    assert transcript.request.endswith("\n\ncarol: [attached: plan.png]")
    assert transcript.covered == 1


def test_another_bots_notice_is_kept_and_so_is_a_person_quoting_one() -> None:
    notice = RateLimited.user_message
    assert not is_leftover(Said("FakeBot", "A full answer.", mine=True))
    assert worth_summarizing(Said("alice", notice))
    assert worth_summarizing(Said("OtherBot", notice))


def test_a_long_channel_keeps_its_newest_messages_within_the_budget() -> None:
    messages = [Said("alice", f"message {n} " + "word " * 40) for n in range(100)]
    transcript = fit_transcript(messages, asker="bob", budget_tokens=1_000)
    assert 0 < transcript.covered < 100 and transcript.left_out == 100 - transcript.covered
    assert "message 99 " in transcript.request
    assert f"message {99 - transcript.covered} " not in transcript.request
    assert estimate_message_tokens(label_user_turn("bob", transcript.request)) <= 1_000


def test_a_newest_message_longer_than_the_budget_is_cut_not_dropped() -> None:
    transcript = fit_transcript([Said("alice", "x" * 10_000)], asker="bob", budget_tokens=300)
    assert transcript.covered == 1
    assert transcript.request.endswith("…")
    assert estimate_message_tokens(label_user_turn("bob", transcript.request)) <= 300


@FAST
@given(
    st.lists(
        st.builds(Said, st.text(min_size=1, max_size=20), st.text(max_size=600), st.booleans()),
        max_size=60,
    ),
    st.integers(min_value=256, max_value=4_000),
)
def test_the_request_never_exceeds_the_budget(messages: list[Said], budget: int) -> None:
    transcript = fit_transcript(messages, asker="asker", budget_tokens=budget)
    assert estimate_message_tokens(label_user_turn("asker", transcript.request)) <= budget
    worth = sum(worth_summarizing(said) for said in messages)
    assert transcript.covered + transcript.left_out == worth


def test_the_footer_says_how_many_messages_and_whether_some_did_not_fit() -> None:
    messages = [Said("alice", "hello")] * 3
    assert coverage_footer(fit_transcript(messages, asker="b", budget_tokens=5_000)) == (
        "-# Summary of the last 3 messages here."
    )
    many = [Said("alice", "word " * 100)] * 30
    footer = coverage_footer(fit_transcript(many, asker="b", budget_tokens=1_000))
    assert "older ones did not fit in `CONTEXT_TOKENS`" in footer
