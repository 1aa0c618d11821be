"""Tests for assistant.delivery.splitting: cut preferences, code fences, limits and round-trips."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from assistant.delivery.markup import Fence, open_block
from assistant.delivery.splitting import (
    DISCORD_MESSAGE_LIMIT,
    Carry,
    Part,
    split_capped,
    split_message,
    split_parts,
    split_point,
    with_note,
)
from tests.assistant.delivery.oracles import (
    check_invariants,
    commonmark,
    commonmark_in_list,
    differences,
    discord,
    empty_blocks,
    grapheme_cut,
)

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


# --- unit tests: code blocks -------------------------------------------------------------------


def code_block(language: str, lines: int, indent: str = "") -> str:
    """A fenced block of numbered print lines, every line behind ``indent``."""
    body = "".join(f"{indent}print({i})\n" for i in range(lines))
    return f"{indent}```{language}\n{body}{indent}```\n"


def test_cut_code_block_is_closed_and_reopened_with_language() -> None:
    parts = check_invariants("Intro\n\n" + code_block("python", 30) + "Outro", 100)
    assert len(parts) > 2
    assert parts[0].suffix == "```" and parts[0].body.endswith("\n")
    assert all(part.prefix == "```python\n" for part in parts[1:])
    assert not differences("Intro\n\n" + code_block("python", 30) + "Outro", parts, commonmark)


@pytest.mark.parametrize(
    ("container", "indent"),
    [("1. Install it:\n", "    "), ("- Install it:\n", "    "), ("1. Install it:\n", "\t"), ("", "> ")],
)
def test_an_indented_or_quoted_block_keeps_its_indent_and_language(container: str, indent: str) -> None:
    text = "Steps:\n\n" + container + code_block("bash", 40, indent) + "2. Done.\n"
    parts = check_invariants(text, 200)
    assert len(parts) >= 3
    assert all(part.prefix == f"{indent}```bash\n" for part in parts[1:])
    assert all(part.suffix == f"{indent}```" for part in parts[:-1])
    assert not differences(text, parts, commonmark, commonmark_in_list)
    assert not differences(text, parts, discord)


def test_a_block_opened_after_a_list_marker_reopens_without_the_marker() -> None:
    text = "1. ```js\n" + "".join(f"let v{i} = {i};\n" for i in range(30)) + "```\n"
    parts = check_invariants(text, 120)
    assert all(part.prefix == "```js\n" for part in parts[1:])
    assert not differences(text, parts, discord)


def test_a_cut_line_in_a_quoted_block_goes_on_behind_the_quote() -> None:
    text = "> ```\n> " + "x" * 300 + "\n> ```\n"
    parts = check_invariants(text, 100)
    assert parts[0].suffix == "\n> ```"
    assert all(part.prefix == "> ```\n> " for part in parts[1:])
    assert not differences(text, parts, commonmark)


def test_suffix_starts_a_new_line_when_cut_mid_line() -> None:
    parts = check_invariants("```\n" + "x" * 300 + "\n```", 100)
    assert parts[0].body.startswith("```\nx")  # not an empty block ending on its opener
    assert parts[0].suffix == "\n```"
    assert parts[1].prefix == "```\n"


def test_no_part_begins_with_an_empty_code_block() -> None:
    # The best cut, a line break, falls right before the closing fence: taking it would send
    # "```py\n```" at the top of the next message.
    text = "```py\n" + "a" * 88 + "\n```\n" + "More text after the block. " * 5
    parts = check_invariants(text, 100)
    assert parts[0].body != "```py\n" + "a" * 88 + "\n"
    assert not any(empty_blocks(part.render()) for part in parts)
    assert not differences(text, parts, discord)


def test_no_cut_inside_a_fence_line() -> None:
    # The line break right after the opener would leave the first message an empty block.
    text = "a" * 60 + "\n```python\n" + "x" * 100 + "\n```"
    assert split_parts(text, limit=100)[0].body == "a" * 60 + "\n"


def test_a_language_discord_does_not_show_is_not_reopened() -> None:
    # "```python title=x" has no language for Discord: that line is shown as code.
    text = "```python title=x\n" + "print(1)\n" * 30 + "```\n"
    assert all(part.prefix == "```\n" for part in check_invariants(text, 100)[1:])


def test_tildes_and_mid_line_backticks_follow_discord() -> None:
    tildes = "~~~\n" + "line\n" * 40 + "~~~\n"  # not a code block for Discord
    assert all(part.prefix == "" for part in check_invariants(tildes, 100))
    inline = "Say " + "```" + "word " * 40 + "```" + " ok"  # a code block for Discord
    parts = check_invariants(inline, 100)
    assert parts[1].prefix == "```\n"
    assert not differences(inline, parts, discord)


def test_unclosed_fence_at_the_end_is_left_as_written() -> None:
    parts = check_invariants("text\n\n```js\n" + "let x = 1;\n" * 30, 100)
    assert parts[-1].suffix == ""
    assert parts[-1].prefix == "```js\n"


def test_a_cut_off_answer_closes_its_block_before_the_note() -> None:
    note = "\n\n-# cut off"
    assert with_note("```py\nprint(1)\n", note) == "```py\nprint(1)\n```" + note
    assert with_note("- x\n    ```py\n    print(1)", note) == "- x\n    ```py\n    print(1)\n    ```" + note
    assert with_note("```py\nprint(1)\n```\nDone", note) == "```py\nprint(1)\n```\nDone" + note
    assert with_note("```py\nprint(1)\n", "") == "```py\nprint(1)\n"


def test_split_point_reports_what_to_carry() -> None:
    # 94 characters of room after the prefix, minus the "\n```" that closes the reopened block.
    assert split_point("x" * 95, limit=100, prefix="```py\n") == (90, Carry(Fence("py")))
    text = "a" * 60 + "\n" + "b" * 60
    assert split_point(text, limit=100) == (61, None)
    assert split_point(text, limit=100, prefix="```\n") == (61, Carry(Fence()))
    with pytest.raises(ValueError):
        split_point(text, limit=100, prefix="x" * 100)


def test_absurd_fence_run_still_fits() -> None:
    text = "`" * 300 + "\n" + "x" * 300 + "\n" + "`" * 300
    check_invariants(text, 100)


def test_long_answer_with_python_block_in_the_middle() -> None:
    prose = " ".join(f"Sentence number {i} explains a point." for i in range(60))
    text = prose + "\n\n" + code_block("python", 200) + "\n" + prose
    assert 5000 <= len(text) <= 7000
    parts = check_invariants(text, DISCORD_MESSAGE_LIMIT)
    assert len(parts) >= 3
    assert any(part.prefix == "```python\n" for part in parts)
    assert not differences(text, parts, commonmark)


# --- unit tests: spoilers and graphemes --------------------------------------------------------


def test_a_cut_spoiler_is_closed_and_reopened() -> None:
    text = "The twist: ||" + "the butler did it all along, " * 10 + "|| and that is all."
    parts = check_invariants(text, 100)
    assert len(parts) >= 3
    assert all(part.suffix == "||" for part in parts[:-1])
    assert all(part.prefix == "||" for part in parts[1:])
    assert not differences(text, parts, discord)


def test_a_spoiler_around_a_code_block_closes_both() -> None:
    text = "||Answer:\n```py\n" + "print('hidden')\n" * 12 + "```\n||"
    parts = check_invariants(text, 100)
    assert parts[0].suffix == "```||"
    assert parts[1].prefix == "||```py\n"
    assert not differences(text, parts, discord)


def test_a_lone_or_an_inline_double_bar_is_not_a_spoiler() -> None:
    lone = "Use a || b when either will do. " + "Nothing else pairs with it here. " * 8
    assert all(part.prefix == "" for part in check_invariants(lone, 100))
    inline = "Write `a || b` here, " * 8 + "and `c || d` there."
    assert all(part.prefix == "" for part in check_invariants(inline, 100))
    # Two of them pair up, in Discord as here.
    paired = "Use a || b when either will do. " * 8
    assert any(part.prefix == "||" for part in check_invariants(paired, 100))


@pytest.mark.parametrize(
    "grapheme",
    [
        "👩‍👩‍👧‍👦",  # a family: four emoji joined by zero-width joiners
        "👍🏽",  # a thumb with a skin-tone modifier
        "e\u0301\u0302",  # e with two combining accents
        "🇫🇷",  # a flag: two regional indicators
        "🏳️‍🌈",  # a flag with a variation selector and a joiner
    ],
)
def test_a_forced_cut_never_splits_a_grapheme(grapheme: str) -> None:
    for lead in range(4):  # shift the run so the hard cut falls on every offset of the grapheme
        text = "x" * lead + grapheme * (300 // len(grapheme))
        parts = check_invariants(text, 100)
        assert not grapheme_cut(text, parts)
        assert all(part.body.startswith(grapheme) for part in parts[1:])


# --- a capped split ----------------------------------------------------------------------------

NOTE = "\n\n-# (Shortened.)"


@settings(max_examples=100, deadline=None)
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
    assert all(open_block(part.removesuffix(NOTE)) is None for part in parts)


def test_an_uncapped_split_is_the_plain_split() -> None:
    text = "word " * 2_000
    assert split_capped(text, None, NOTE) == split_message(text)
