"""Read the markup a split must keep whole, the way Discord's client reads a message.

Discord's parser (simple-markdown with Discord's rules) reads a message left to right and tries its
rules at every punctuation mark, with no notion of block structure for code. What a split needs:

- **Code blocks.** A ```` ``` ```` anywhere opens a code block (at a line start, indented by spaces
  or a tab, after a list marker, behind a ``> `` quote, even mid-line) that ends at the next
  ```` ``` ````, with at least one character between. Its language is the run of
  ``[A-Za-z0-9_+-.#]`` right after the backticks when a line break follows it (so
  ```` ```python title=x ```` has none: Discord shows that line as code). ``~~~`` opens nothing
  and indentation never matters, unlike CommonMark. One deliberate difference: a ```` ``` ````
  still waiting for its closer counts as open (Discord shows it as text until the closer comes),
  because models write ```` ``` ```` only to open a block and a streamed answer must be cut
  before the closer has arrived.
- **Inline code** (`` `x` ``, ``` ``x`` ```): its content is raw, so ``||`` or ```` ``` ```` in it are text.
- **Spoilers** ``||x||``: ``||`` opens a spoiler only when another ``||`` follows with at least one
  character between; a lone ``||`` (a logical "or" in prose) is text. Its content is read again
  by the same rules, so a code block in a spoiler must close inside it.
- **Escapes**: a backslash before punctuation makes that character text.

Inline code and spoilers whose closer is more than :data:`MAX_SPAN_CHARS` away are read as text (no
message could show them whole anyway), so whether a marker opens anything is known at most that
many characters later; :attr:`Markup.undecided` says where a text still growing is not known yet.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

FENCE = "```"
SPOILER = "||"
MAX_SPAN_CHARS = 2000

CODE, INLINE, SPOILED = "code", "inline", "spoiler"

_LANGUAGE = re.compile(r"[A-Za-z0-9_+\-.#]+\n")
_LANGUAGE_SO_FAR = re.compile(r"[A-Za-z0-9_+\-.#]*")
_INLINE_CODE = re.compile(r"(`+)([\s\S]*?[^`])\1(?!`)")
_ESCAPABLE = re.compile(r"[^0-9A-Za-z\s]")
_MARKER = re.compile(r"[\\`|]")
_INDENT = re.compile(r"[ \t>]*")


@dataclass(frozen=True)
class Fence:
    """An open code block: its language and what stands before its opening fence on that line."""

    language: str = ""
    indent: str = ""  # spaces, tabs and quote markers only: a list marker is not repeated

    @property
    def opening(self) -> str:
        """The line that reopens this block at the start of the next part."""
        return f"{self.indent}{FENCE}{self.language}\n"

    def closing(self, body: str) -> str:
        """The fence that closes this block after ``body``, on a line of its own."""
        return ("" if body.endswith("\n") else "\n") + self.indent + FENCE


@dataclass(frozen=True)
class Span:
    """One piece of markup: opener ``[start, inner)``, content ``[inner, end)``, closer ``[end, stop)``."""

    kind: str
    start: int
    inner: int
    end: int
    stop: int
    fence: Fence | None = None
    closed: bool = True


@dataclass
class Markup:
    """The markup of a text: its spans, its escaping backslashes, and where reading is undecided."""

    spans: list[Span] = field(default_factory=list)
    escapes: list[int] = field(default_factory=list)
    undecided: int | None = None  # the first marker whose reading depends on text not yet there

    def wait_at(self, position: int) -> None:
        """Note that the marker at ``position`` is read only once more text arrives."""
        if self.undecided is None:
            self.undecided = position


def scan(text: str) -> Markup:
    """Read the code blocks, inline code, spoilers and escapes of ``text``."""
    markup = Markup()
    _scan(text, 0, len(text), markup)
    return markup


def open_block(text: str) -> Fence | None:
    """The code block still open at the end of ``text``, if any."""
    return next((s.fence for s in scan(text).spans if s.kind == CODE and not s.closed), None)


def _scan(text: str, i: int, stop: int, markup: Markup) -> None:
    """Read ``text[i:stop]``; ``stop`` below ``len(text)`` means a spoiler's content."""
    while True:
        found = _MARKER.search(text, i, stop)
        if found is None:
            return
        i = found.start()
        if text[i] == "\\":
            i = _escape(text, i, stop, markup)
        elif text[i] == "|":
            i = _spoiler(text, i, stop, markup)
        else:
            i = _backticks(text, i, stop, markup)


def _escape(text: str, i: int, stop: int, markup: Markup) -> int:
    """Skip an escaped character; return where reading goes on."""
    if i + 1 >= stop:
        if stop == len(text):
            markup.wait_at(i)
        return i + 1
    if _ESCAPABLE.match(text, i + 1):
        markup.escapes.append(i)
        return i + 2
    return i + 1


def _spoiler(text: str, i: int, stop: int, markup: Markup) -> int:
    """Read a spoiler opening at ``i``, if it is one; return where reading goes on."""
    bound = i + len(SPOILER) + MAX_SPAN_CHARS + len(SPOILER)
    close = text.find(SPOILER, i + 3, min(stop, bound)) if text.startswith(SPOILER, i, stop) else -1
    if close < 0:
        if stop == len(text) and bound > stop:
            markup.wait_at(i)  # a closer may still come
        return i + 1  # Discord's text rule takes one "|" and tries again at the next
    markup.spans.append(Span(SPOILED, i, i + 2, close, close + 2))
    _scan(text, i + 2, close, markup)
    return close + 2


def _backticks(text: str, i: int, stop: int, markup: Markup) -> int:
    """Read a code block or inline code opening at ``i``, if it is one; return where reading goes on."""
    if text.startswith(FENCE, i, stop):
        span = _code_block(text, i, stop, markup)
        if span is not None:
            markup.spans.append(span)
            return span.stop
    bound = i + MAX_SPAN_CHARS
    # One character past the bound, so the closer's "no backtick follows" sees the real text.
    match = _INLINE_CODE.match(text, i, min(stop, bound + 1))
    if match is not None and match.end() <= bound:
        if match.end() == stop == len(text):
            markup.wait_at(i)  # a backtick may still follow the closer
        markup.spans.append(Span(INLINE, i, i + len(match[1]), match.end() - len(match[1]), match.end()))
        return match.end()
    if stop == len(text) and bound >= stop:
        markup.wait_at(i)
    return i + 1


def _code_block(text: str, i: int, stop: int, markup: Markup) -> Span | None:
    """The code block opening at ``i``; at the top level it is open until its closer comes."""
    language = _LANGUAGE.match(text, i + 3, stop)
    inner = language.end() if language else i + 3
    if language is None and stop == len(text) and _LANGUAGE_SO_FAR.fullmatch(text, i + 3, stop):
        markup.wait_at(i)  # the language line is not complete yet
    line = text.rfind("\n", 0, i) + 1
    indent = text[line:i] if _INDENT.fullmatch(text, line, i) else ""
    fence = Fence(language[0][:-1] if language else "", indent)
    close = text.find(FENCE, inner + 1, stop)
    if close >= 0:
        return Span(CODE, i, inner, close, close + 3, fence)
    if stop < len(text):
        return None  # inside a spoiler a block must close before the spoiler does
    return Span(CODE, i, inner, stop, stop, fence, closed=False)
