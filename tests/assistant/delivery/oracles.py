"""Checks for the splitter, and independent readings of markdown: CommonMark and Discord's rules.

Each reading gives every character of a text a class: what a reader sees it as. A split is right
when every visible character of the answer has the same class in its part as in the whole answer.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Callable

import regex
from markdown_it import MarkdownIt

from assistant.delivery.splitting import Part, split_parts

PREFIX = re.compile(r"(\|\|)?([ \t>]*```[A-Za-z0-9_+\-.#]*\n[ \t>]*)?")
SUFFIX = re.compile(r"(\n?[ \t>]*```)?(\|\|)?")
GRAPHEME = regex.compile(r"\X")


def check_invariants(text: str, limit: int) -> list[Part]:
    """Split ``text`` and assert the properties every split must have."""
    parts = split_parts(text, limit=limit)
    assert "".join(part.body for part in parts) == text
    assert all(len(part.render()) <= limit for part in parts)
    assert parts[0].prefix == "" and parts[-1].suffix == ""
    for part in parts:
        assert PREFIX.fullmatch(part.prefix) and SUFFIX.fullmatch(part.suffix)
    return parts


def grapheme_cut(text: str, parts: list[Part]) -> bool:
    """Whether any cut between the parts falls inside a grapheme of ``text``."""
    boundaries = {m.end() for m in GRAPHEME.finditer(text)}
    cuts = itertools.accumulate(len(part.body) for part in parts[:-1])
    return any(cut not in boundaries for cut in cuts)


Reading = Callable[[str], list[tuple[str, bool]]]

_COMMONMARK = MarkdownIt("commonmark")
_CLOSER = re.compile(r"[ \t>]*`{3,}[ \t]*")

# Discord's rules (simple-markdown as Discord configures it), as regular expressions.
_CODE_BLOCK = re.compile(r"```(?:([a-z0-9_+\-.#]+?)\n+)?\n*([\s\S]+?)\n*```", re.IGNORECASE)
_SPOILER = re.compile(r"\|\|([\s\S]+?)\|\|")
_INLINE_CODE = re.compile(r"(`+)([\s\S]*?[^`])\1(?!`)")
_ESCAPE = re.compile(r"\\[^0-9A-Za-z\s]")


def commonmark(text: str) -> list[tuple[str, bool]]:
    """Each character's class by markdown-it-py: a fence line, code of a language, or text."""
    lines = text.split("\n")
    classes = ["text"] * len(lines)
    for token in _COMMONMARK.parse(text):
        if token.type != "fence" or token.map is None:
            continue
        start, end = token.map
        language = token.info.split()[0] if token.info.strip() else ""
        classes[start] = "fence"
        for line in range(start + 1, end):
            closer = line == end - 1 and _CLOSER.fullmatch(lines[line])
            classes[line] = "fence" if closer else f"code:{language}"
    return [(classes[line], False) for line, piece in enumerate(lines) for _ in piece + "\n"][: len(text)]


def commonmark_in_list(text: str) -> list[tuple[str, bool]]:
    """Like :func:`commonmark`, but read as the continuation of a list item when it starts indented."""
    if not text[:1].isspace() or text[:1] == "\n":
        return commonmark(text)
    return commonmark("- item\n" + text)[len("- item\n") :]


def discord(text: str) -> list[tuple[str, bool]]:
    """Each character's class by Discord's rules, and whether a spoiler hides it."""
    classes: list[tuple[str, bool]] = [("text", False)] * len(text)
    _discord(text, 0, len(text), False, classes, [])
    return classes


def empty_blocks(text: str) -> list[str]:
    """The code blocks and spoilers Discord would show empty (or holding only blanks) in ``text``."""
    contents: list[str] = []
    _discord(text, 0, len(text), False, [("text", False)] * len(text), contents)
    return [content for content in contents if not content.strip(" \t\r\n>")]


def _discord(
    text: str, i: int, stop: int, hidden: bool, classes: list[tuple[str, bool]], contents: list[str]
) -> None:
    """Read ``text[i:stop]`` left to right, trying Discord's rules at each character."""
    while i < stop:
        if spoiler := _SPOILER.match(text, i, stop):
            _mark(classes, i, spoiler.end(), "markup", hidden)
            contents.append(spoiler[1])
            _discord(text, spoiler.start(1), spoiler.end(1), True, classes, contents)
            i = spoiler.end()
        elif block := _CODE_BLOCK.match(text, i, stop):
            _mark(classes, i, block.end(), "markup", hidden)
            _mark(classes, block.start(2), block.end(2), f"code:{(block[1] or '').lower()}", hidden)
            contents.append(block[2])
            i = block.end()
        elif inline := _INLINE_CODE.match(text, i, stop):
            _mark(classes, i, inline.end(), "markup", hidden)
            _mark(classes, inline.start(2), inline.end(2), "inline", hidden)
            i = inline.end()
        elif _ESCAPE.match(text, i, stop):
            _mark(classes, i, i + 2, "text", hidden)
            i += 2
        else:
            _mark(classes, i, i + 1, "text", hidden)
            i += 1


def _mark(classes: list[tuple[str, bool]], start: int, end: int, kind: str, hidden: bool) -> None:
    for i in range(start, end):
        classes[i] = (kind, hidden)


def differences(
    text: str, parts: list[Part], read: Reading, read_part: Reading | None = None
) -> list[tuple[int, str, object, object]]:
    """The visible characters of ``text`` whose class in their part differs from the whole's."""
    whole = read(text)
    found, pos = [], 0
    for part in parts:
        rendered = (read_part or read)(part.render())
        for j, char in enumerate(part.body):
            if not char.isspace() and whole[pos + j] != rendered[len(part.prefix) + j]:
                found.append((pos + j, char, whole[pos + j], rendered[len(part.prefix) + j]))
        pos += len(part.body)
    return found


def added_text(parts: list[Part]) -> list[str]:
    """The splitter's markers that Discord would show as text (quote markers aside)."""
    shown = []
    for part in parts:
        classes = discord(part.render())
        added = [*range(len(part.prefix)), *range(len(part.render()) - len(part.suffix), len(part.render()))]
        shown += [
            part.render()[i] for i in added if classes[i][0] == "text" and part.render()[i] not in " \t\n>"
        ]
    return shown
