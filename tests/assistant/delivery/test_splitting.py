"""Tests for assistant.delivery.splitting: cut preferences, code fences, limits and round-trips."""

from __future__ import annotations

import re
from itertools import pairwise

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from assistant.delivery.splitting import (
    DISCORD_MESSAGE_LIMIT,
    Fence,
    Part,
    fence_state,
    find_split,
    split_capped,
    split_message,
    split_parts,
    split_point,
)

FAST = settings(max_examples=200, deadline=None)
PREFIX = re.compile(r"(`{3,}|~{3,})[^\n`]*\n")
SUFFIX = re.compile(r"\n?(`{3,}|~{3,})")


def balanced(text: str) -> bool:
    """Whether every fence opened in ``text`` is closed again (an independent line scan)."""
    opener = ""
    for line in text.split("\n"):
        indent = len(line) - len(line.lstrip(" "))
        run = re.match(r"`{3,}|~{3,}", line[indent:]) if indent <= 3 else None
        if run is None:
            continue
        info = line[indent + run.end() :]
        if not opener:
            opener = "" if run[0][0] == "`" and "`" in info else run[0]
        elif run[0][0] == opener[0] and len(run[0]) >= len(opener) and not info.strip():
            opener = ""
    return not opener


def check_invariants(text: str, limit: int) -> list[Part]:
    """Split ``text`` and assert the properties every split must have."""
    parts = split_parts(text, limit=limit)
    assert "".join(part.body for part in parts) == text
    assert all(len(part.render()) <= limit for part in parts)
    assert parts[0].prefix == "" and parts[-1].suffix == ""
    for part in parts:
        assert part.prefix == "" or PREFIX.fullmatch(part.prefix)
        assert part.suffix == "" or SUFFIX.fullmatch(part.suffix)
    assert all(
        not part.body.endswith("\r") or not next_.body.startswith("\n") for part, next_ in pairwise(parts)
    )
    return parts


# --- unit tests: boundaries --------------------------------------------------------------------


def test_short_text_is_one_part_unchanged() -> None:
    assert split_parts("Hello there.") == [Part("Hello there.")]
    assert split_message("x" * DISCORD_MESSAGE_LIMIT) == ["x" * DISCORD_MESSAGE_LIMIT]


def test_paragraph_break_preferred_over_later_boundaries() -> None:
    text = "a" * 60 + "\n\n" + "b" * 10 + ". c\nd " + "e" * 60
    assert split_parts(text, limit=100)[0].body == "a" * 60 + "\n\n"


def test_early_paragraph_break_loses_to_line_break_in_second_half() -> None:
    text = "a" * 20 + "\n\n" + "b" * 60 + "\n" + "c" * 60
    assert split_parts(text, limit=100)[0].body == "a" * 20 + "\n\n" + "b" * 60 + "\n"


def test_line_break() -> None:
    text = "a" * 70 + "\nbb cc. dd " + "e" * 60
    assert split_parts(text, limit=100)[0].body == "a" * 70 + "\n"


@pytest.mark.parametrize("mark", [".", "!", "?"])
def test_sentence_end(mark: str) -> None:
    text = "a" * 60 + mark + " bb cc dd ee ff gg " + "h" * 60
    assert split_parts(text, limit=100)[0].body == "a" * 60 + mark + " "


def test_word_boundary() -> None:
    text = " ".join(["lorem", "ipsum", "dolor", "sit", "amet"] * 10)
    parts = check_invariants(text, 100)
    assert all(part.body.endswith(" ") for part in parts[:-1])
    assert all(not part.body.startswith(" ") for part in parts)


def test_no_boundary_in_second_half_takes_latest_anywhere() -> None:
    text = "a" * 10 + "\n\n" + "b" * 20 + " " + "c" * 200
    assert split_parts(text, limit=100)[0].body == "a" * 10 + "\n\n" + "b" * 20 + " "


def test_single_long_word_is_hard_cut() -> None:
    assert [len(message) for message in split_message("x" * 5000)] == [2000, 2000, 1000]


def test_crlf_is_never_split() -> None:
    text = "x" * 99 + "\r\n" + "y" * 50
    assert split_parts(text, limit=100)[0].body == "x" * 99
    lines = "\r\n".join(f"line number {i} here" for i in range(40))
    parts = check_invariants(lines, 100)
    assert all(part.body.endswith("\r\n") for part in parts[:-1])


def test_leading_blank_line_does_not_make_a_blank_part() -> None:
    parts = check_invariants("\n" + "x" * 300, 100)
    assert all(part.body.strip() for part in parts)


def test_whitespace_only_parts_are_not_sent() -> None:
    text = "hi" + " " * 450 + "there"
    check_invariants(text, 100)
    assert split_message(text, limit=100) == ["hi" + " " * 98, " " * 52 + "there"]
    assert split_message(" " * 250, limit=100) == []
    assert split_message("") == []


def test_limit_below_minimum_is_rejected() -> None:
    with pytest.raises(ValueError):
        split_parts("text", limit=50)


# --- unit tests: code fences -------------------------------------------------------------------


def code_block(fence: str, language: str, lines: int) -> str:
    """A fenced block of numbered print lines."""
    body = "\n".join(f"print({i})" for i in range(lines))
    return f"{fence}{language}\n{body}\n{fence}\n"


def test_cut_code_block_is_closed_and_reopened_with_language() -> None:
    parts = check_invariants("Intro\n\n" + code_block("```", "python", 30) + "Outro", 100)
    assert len(parts) > 2
    assert parts[0].suffix == "```" and parts[0].body.endswith("\n")
    assert all(part.prefix == "```python\n" for part in parts[1:])
    assert all(balanced(part.render()) for part in parts)


def test_tilde_fence_reopened_with_its_own_run() -> None:
    parts = check_invariants(code_block("~~~~", "rust", 30), 100)
    assert parts[0].suffix == "~~~~"
    assert all(part.prefix == "~~~~rust\n" for part in parts[1:])
    assert all(balanced(part.render()) for part in parts)


def test_suffix_starts_a_new_line_when_cut_mid_line() -> None:
    parts = check_invariants("```\n" + "x" * 300 + "\n```", 100)
    assert parts[0].body.startswith("```\nx")  # not an empty block ending on its opener
    assert parts[0].suffix == "\n```"
    assert parts[1].prefix == "```\n"


def test_no_cut_inside_a_fence_line() -> None:
    text = "a" * 60 + "\n```python title=example.py " + "b " * 20 + "\nprint(1)\n```"
    assert split_parts(text, limit=100)[0].body == "a" * 60 + "\n"


def test_unclosed_fence_at_the_end_is_left_as_written() -> None:
    parts = check_invariants("text\n\n```js\n" + "let x = 1;\n" * 30, 100)
    assert parts[-1].suffix == ""
    assert parts[-1].prefix == "```js\n"


def test_long_answer_with_python_block_in_the_middle() -> None:
    prose = " ".join(f"Sentence number {i} explains a point." for i in range(60))
    code = code_block("```", "python", 200)
    text = prose + "\n\n" + code + "\n" + prose
    assert 5000 <= len(text) <= 7000
    parts = check_invariants(text, DISCORD_MESSAGE_LIMIT)
    assert len(parts) >= 3
    assert all(balanced(part.render()) for part in parts)
    assert any(part.prefix == "```python\n" for part in parts)


def test_fence_state() -> None:
    assert fence_state("```python title=x\nprint(1)\n") == Fence("```", "python")
    assert fence_state("```python\nprint(1)\n```\n") is None
    assert fence_state("````\n```\n") == Fence("````")
    assert fence_state("~~~\n```\n") == Fence("~~~")
    assert fence_state("```" + "x" * 33 + "\n") == Fence("```")
    assert fence_state("``` inline ``` code\n") is None
    assert fence_state("    ```\n") is None
    assert fence_state("more code\n", start=Fence("```", "go")) == Fence("```", "go")


def test_find_split() -> None:
    assert find_split("short") == 5
    # 94 characters of room after the prefix, minus the "\n```" that closes the reopened block.
    assert find_split("x" * 95, limit=100, prefix="```py\n") == 90
    text = "a" * 60 + "\n" + "b" * 60
    assert find_split(text, limit=100) == 61
    assert find_split(text, limit=100, prefix="```\n") == 61
    assert split_point(text, limit=100, prefix="```\n") == (61, Fence("```"))
    with pytest.raises(ValueError):
        find_split(text, limit=100, prefix="x" * 100)


def test_absurd_fence_run_still_fits() -> None:
    text = "`" * 300 + "\n" + "x" * 300 + "\n" + "`" * 300
    check_invariants(text, 100)


# --- property tests ----------------------------------------------------------------------------

WORDS = st.text(
    st.characters(exclude_categories=("Cs",), exclude_characters="`~\r\n"),
    min_size=1,
    max_size=12,
)
SEPARATORS = st.sampled_from([" ", " ", " ", "  ", "\n", "\n\n", "\r\n", ". ", "! ", "? ", ".\n", "\t"])
LONG = st.text("abcdefghij", min_size=50, max_size=3000)
MARKERS = st.sampled_from(["```", "```", "````", "~~~", "  ```"])
LANGUAGES = st.sampled_from(["", "python", "js", "c++", "rust title=x", "y" * 40])
FENCE_LINES = st.builds(lambda run, language: f"\n{run}{language}\n", MARKERS, LANGUAGES)
INLINE = st.sampled_from(["`code`", "a```b", "``` inline ```", "~"])
TOKENS = st.one_of(WORDS, SEPARATORS, SEPARATORS, LONG, FENCE_LINES, INLINE)
TEXTS = st.lists(TOKENS, max_size=120).map("".join)
LIMITS = st.integers(min_value=100, max_value=2000)


@st.composite
def fenced_documents(draw: st.DrawFn) -> str:
    """Prose and code blocks whose fences are balanced by construction."""
    chunks = []
    for _ in range(draw(st.integers(1, 6))):
        if draw(st.booleans()):
            chunks.append(draw(st.lists(st.one_of(WORDS, SEPARATORS, LONG), max_size=40).map("".join)))
            continue
        run, language = draw(MARKERS).strip(), draw(LANGUAGES)
        inner = "```" if run == "````" else "~~~ nested" if run[0] == "`" else "``` no"
        lines = draw(st.lists(st.one_of(WORDS, SEPARATORS, LONG, st.just(f"\n{inner}\n")), max_size=40))
        chunks.append(f"\n{run}{language}\n{''.join(lines)}\n{run}\n")
    return "".join(chunks)


@FAST
@given(TEXTS, LIMITS)
def test_split_invariants(text: str, limit: int) -> None:
    parts = check_invariants(text, limit)
    if len(text) <= limit:
        assert parts == [Part(text)]


@FAST
@given(TEXTS, LIMITS)
def test_parts_balanced_when_text_balanced(text: str, limit: int) -> None:
    parts = check_invariants(text, limit)
    if balanced(text):
        assert all(balanced(part.render()) for part in parts)


@FAST
@given(fenced_documents(), LIMITS)
def test_fenced_documents_stay_balanced(text: str, limit: int) -> None:
    assert balanced(text)
    assert all(balanced(part.render()) for part in check_invariants(text, limit))


@FAST
@given(TEXTS, LIMITS)
def test_split_message_sends_no_blank_messages(text: str, limit: int) -> None:
    messages = split_message(text, limit=limit)
    assert all(message.strip() for message in messages)
    assert all(len(message) <= limit for message in messages)
    assert messages == [part.render() for part in split_parts(text, limit=limit) if part.render().strip()]


@FAST
@given(TEXTS, LIMITS)
def test_streaming_helpers_agree_with_split_parts(text: str, limit: int) -> None:
    pos = 0
    for part in split_parts(text, limit=limit):
        cut, fence = split_point(text[pos:], limit=limit, prefix=part.prefix)
        assert find_split(text[pos:], limit=limit, prefix=part.prefix) == cut == len(part.body)
        assert part.suffix == (fence.closing(part.body) if fence else "")
        pos += cut


@FAST
@given(TEXTS)
def test_text_within_limit_is_one_part(text: str) -> None:
    limit = max(100, len(text))
    assert split_parts(text, limit=limit) == [Part(text)]
    assert split_message(text, limit=limit) == ([text] if text.strip() else [])


NOTE = "\n\n-# (Shortened.)"


@FAST
@given(
    st.text(alphabet=st.sampled_from("ab \n`py"), min_size=0, max_size=12_000),
    st.integers(min_value=1, max_value=6),
)
def test_a_capped_split_keeps_the_cap_and_says_when_it_cut(text: str, cap: int) -> None:
    parts = split_capped(text, cap, NOTE)
    whole = split_message(text)
    if len(whole) <= cap:
        assert parts == whole
        return
    assert len(parts) == cap
    assert all(len(part) <= DISCORD_MESSAGE_LIMIT for part in parts)
    assert parts[-1].endswith(NOTE) and not any(part.endswith(NOTE) for part in parts[:-1])
    assert all(balanced(part) for part in parts)


def test_an_uncapped_split_is_the_plain_split() -> None:
    text = "word " * 2_000
    assert split_capped(text, None, NOTE) == split_message(text)
