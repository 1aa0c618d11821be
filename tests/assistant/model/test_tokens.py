"""Token estimates: a quarter token per ASCII character, one per other character, plus framing."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from assistant.model.tokens import MESSAGE_OVERHEAD_TOKENS, estimate_message_tokens, estimate_text_tokens


def test_ascii_prose_is_about_four_characters_a_token() -> None:
    assert estimate_text_tokens("a" * 400) == 100
    assert estimate_text_tokens("abc") == 1
    assert estimate_text_tokens("") == 0


def test_other_scripts_count_a_token_per_character() -> None:
    assert estimate_text_tokens("こんにちは") == 5
    assert estimate_text_tokens("hi 👋") == 2


def test_a_message_adds_its_framing() -> None:
    assert estimate_message_tokens("") == MESSAGE_OVERHEAD_TOKENS


@given(st.text(), st.text())
def test_estimates_never_shrink_when_text_grows(a: str, b: str) -> None:
    assert estimate_text_tokens(a + b) >= max(estimate_text_tokens(a), estimate_text_tokens(b))


@given(st.text())
def test_the_fast_count_is_the_per_character_rule(text: str) -> None:
    ascii_chars = sum(1 for char in text if char.isascii())
    assert estimate_text_tokens(text) == -(-ascii_chars // 4) + (len(text) - ascii_chars)
