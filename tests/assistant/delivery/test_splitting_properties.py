"""Property tests for the splitter, with CommonMark (markdown-it-py) and Discord's rules as oracles.

Every visible character of an answer must read the same in its part as in the whole answer: code
of the same language, spoiler-hidden or not; parts stay under the limit and lose nothing.
"""

from __future__ import annotations

from hypothesis import assume, given, settings
from hypothesis import strategies as st

from assistant.delivery.markup import MAX_SPAN_CHARS
from assistant.delivery.splitting import Part, split_message, split_parts, split_point
from tests.assistant.delivery.oracles import (
    added_text,
    check_invariants,
    commonmark,
    commonmark_in_list,
    differences,
    discord,
    empty_blocks,
    grapheme_cut,
)

FAST = settings(max_examples=100, deadline=None)

GRAPHEMES = st.sampled_from(["👩‍👩‍👧‍👦", "👍🏽", "e\u0301", "🇫🇷", "🏳️‍🌈", "ก\u0e33", "é"])
LETTERS = st.text(st.characters(categories=("Ll", "Lu", "Lo")), min_size=1, max_size=10)
WORDS = st.one_of(LETTERS, LETTERS, GRAPHEMES, st.lists(GRAPHEMES, min_size=1, max_size=60).map("".join))
LONG = st.text("abcdefghij", min_size=50, max_size=250)
SEPARATORS = st.sampled_from([" ", " ", " ", "\n", "\n\n", ". ", ", "])
LANGUAGES = st.sampled_from(["", "python", "js", "c++", "c#", "objective-c"])
LIMITS = st.integers(min_value=100, max_value=400)
NOTHING: st.SearchStrategy[str] = st.nothing()


@st.composite
def prose(draw: st.DrawFn, extra: st.SearchStrategy[str] = NOTHING, max_words: int = 20) -> str:
    """Words with separators between them, never starting a line with a space."""
    words = draw(st.lists(st.one_of(WORDS, LONG, extra), min_size=1, max_size=max_words))
    return "".join(word + draw(SEPARATORS) for word in words[:-1]) + words[-1]


@st.composite
def code_block(draw: st.DrawFn, indent: str) -> str:
    """A fenced block whose every line stands behind ``indent``, holding some visible code."""
    lines = draw(
        st.lists(
            st.one_of(st.just(""), st.lists(st.one_of(WORDS, LONG), min_size=1, max_size=6).map(" ".join)),
            max_size=12,
        )
    )
    lines.append(draw(LETTERS))
    body = "".join(f"{indent}{line}\n" if line else f"{indent.rstrip()}\n" for line in lines)
    return f"{indent}```{draw(LANGUAGES)}\n{body}{indent}```\n"


# Where models put code blocks: at the top, indented in list items (spaces or a tab), in a quote.
CONTAINERS = st.sampled_from(
    [("", ""), ("", "  "), ("- Step:\n", "    "), ("1. Step:\n", "    "), ("- Step:\n", "\t"), ("", "> ")]
)


@st.composite
def commonmark_documents(draw: st.DrawFn) -> tuple[str, int]:
    """Prose and code blocks that CommonMark and Discord read alike, and how many blocks they hold."""
    chunks, blocks = [], 0
    for _ in range(draw(st.integers(1, 6))):
        if draw(st.booleans()):
            chunks.append(draw(prose()) + "\n")
            continue
        container, indent = draw(CONTAINERS)
        chunks.append(container + draw(code_block(indent)))
        blocks += 1
    return "".join(chunks), blocks


@st.composite
def discord_documents(draw: st.DrawFn) -> str:
    """Prose with inline code, escapes, spoilers and code blocks anywhere, as Discord reads them."""
    inline = st.sampled_from(["`x`", "`a || b`", "`` a`b ``", "\\`", "\\|", "`def f(): ...`"])
    chunks = []
    for _ in range(draw(st.integers(1, 4))):
        kind = draw(st.sampled_from(["prose", "block", "inline block", "spoiler", "spoiled block"]))
        text = draw(prose(inline))
        if kind == "block":
            text += "\n" + draw(code_block(draw(st.sampled_from(["", "    ", "\t", "> "]))))
        elif kind == "inline block":
            # A space first: a language longer than a third of the limit is not reopened.
            text += " ``` " + draw(prose(max_words=60)) + "``` "
        elif kind == "spoiler":
            # Not "`a || b`": the spoiler would end inside it, in Discord as here.
            text += " ||" + draw(prose(st.sampled_from(["`x`", "\\`", "`def f(): ...`"]))) + "|| "
        elif kind == "spoiled block":
            text += " ||" + draw(prose()) + "\n" + draw(code_block("")) + "|| "
        chunks.append(text)
    return "\n".join(chunks)


@FAST
@given(commonmark_documents(), LIMITS)
def test_code_blocks_read_the_same_by_commonmark_in_parts_and_whole(
    document: tuple[str, int], limit: int
) -> None:
    text, blocks = document
    assert sum(1 for line in commonmark(text) if line[0] == "fence") >= 2 * blocks  # the oracle sees them
    parts = check_invariants(text, limit)
    assert differences(text, parts, commonmark, commonmark_in_list) == []
    assert differences(text, parts, discord) == []
    assert not any(empty_blocks(part.render()) for part in parts)


@FAST
@given(discord_documents(), LIMITS)
def test_code_spoilers_and_inline_code_read_the_same_by_discord_in_parts_and_whole(
    text: str, limit: int
) -> None:
    # Spoilers and inline code longer than MAX_SPAN_CHARS are text to the splitter (not to Discord).
    assume(len(text) < MAX_SPAN_CHARS)
    assert not empty_blocks(text)
    parts = check_invariants(text, limit)
    assert differences(text, parts, discord) == []
    assert not any(empty_blocks(part.render()) for part in parts)
    assert added_text(parts) == []  # every added marker is markup to Discord
    assert not grapheme_cut(text, parts)


# Anything at all: markers in odd places, unbalanced, runs of them.
ANYTHING = st.lists(
    st.one_of(
        WORDS,
        SEPARATORS,
        LONG,
        st.sampled_from(["```", "```py\n", "\n    ```\n", "> ```", "||", "`", "\\", "|", "~~~", "\r\n"]),
    ),
    max_size=120,
).map("".join)


@FAST
@given(ANYTHING, LIMITS)
def test_any_text_splits_losslessly_under_the_limit_without_cutting_graphemes(text: str, limit: int) -> None:
    parts = check_invariants(text, limit)
    if len(text) <= limit:
        assert parts == [Part(text)]
    assert not grapheme_cut(text, parts)


@FAST
@given(ANYTHING, LIMITS)
def test_split_message_sends_no_blank_messages(text: str, limit: int) -> None:
    messages = split_message(text, limit=limit)
    assert all(message.strip() for message in messages)
    assert all(len(message) <= limit for message in messages)
    assert messages == [part.render() for part in split_parts(text, limit=limit) if part.render().strip()]


@FAST
@given(ANYTHING, LIMITS)
def test_split_point_agrees_with_split_parts(text: str, limit: int) -> None:
    pos = 0
    for part in split_parts(text, limit=limit):
        cut, carry = split_point(text[pos:], limit=limit, prefix=part.prefix)
        assert cut == len(part.body)
        assert part.suffix == (carry.closing(part.body) if carry and pos + cut < len(text) else "")
        pos += cut
