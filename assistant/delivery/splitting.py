"""Split a model answer into Discord messages of at most ``limit`` characters each.

A cut prefers, in order: a paragraph break, a line break, a sentence end, a word boundary and
finally a hard cut; a preferred boundary is only taken in the second half of the window, so parts
are never needlessly tiny. Separators stay at the end of the part before the cut, so the bodies of
the parts concatenate back to the answer exactly. Limits count code points, as Discord does.

Markup is kept the way Discord renders it (:mod:`assistant.delivery.markup` says how Discord reads
it, and which ```` ``` ```` open a block): a part that ends inside a code block gets a closing
fence as ``suffix``, on its own line and indented or quoted like the opening one, and the next part
reopens the block with its language as ``prefix`` (continuing a cut line behind the same indent or
quote). A spoiler cut by a split is closed and reopened with ``||`` the same way, around the
fence. Both count against the limit. No cut falls inside a marker, an inline code span or an
escape, none leaves a part with an empty code block or spoiler, and none splits a grapheme (an
emoji with its modifiers and joiners, a letter with its combining marks, a flag): graphemes are the
``regex`` package's ``\\X``. An answer that ends inside an open code block is left as the model
wrote it, unless a note follows, such as that it was cut off (:func:`with_note` closes the block
before the note).

Markup is read from each part's own rendered text (its prefix, then its body), which is what
Discord renders; the rules above keep that reading equal to the whole answer's.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

import regex

from assistant.delivery.markup import (
    CODE,
    INLINE,
    MAX_SPAN_CHARS,
    SPOILED,
    SPOILER,
    Fence,
    Markup,
    Span,
    open_block,
    scan,
)

DISCORD_MESSAGE_LIMIT = 2000
MIN_LIMIT = 100
# How far past its window a cut looks (the rest of a fence's language line, a closer the cut must
# not leave alone); a streamed answer is cut once this much more text has arrived (see settled()).
LOOKAHEAD_CHARS = 64

_GRAPHEME = regex.compile(r"\X")
# A character (or none) and the run of non-ASCII characters after it; they may form graphemes.
_NON_ASCII = regex.compile(r".?[^\x00-\x7f]+", regex.DOTALL)
_MARKER_RUN = re.compile(r"`{2,}|\|{2,}")
_BLANK = " \t\r\n>"  # what an empty block or spoiler may hold: whitespace and quote markers

# Cut positions (zero-width, right after the separator), best kind first.
_KINDS = tuple(
    re.compile(pattern)
    for pattern in (
        r"(?<=\n\n)|(?<=\n\r\n)",  # paragraph break
        r"(?<=\n)",  # line break
        r"(?<=[.!?] )|(?<=[.!?]\n)|(?<=[.!?]\r\n)",  # sentence end
        r"(?<=\s)",  # word boundary; every other kind is also one of these
    )
)


@dataclass(frozen=True)
class Carry:
    """What is open at a cut: closed at the end of one part and reopened at the start of the next."""

    fence: Fence | None = None
    spoiler: bool = False

    def closing(self, body: str) -> str:
        """The markers that end the part whose body is ``body``."""
        return (self.fence.closing(body) if self.fence else "") + (SPOILER if self.spoiler else "")

    def opening(self, body: str) -> str:
        """The markers that start the part after the one whose body is ``body``."""
        fence = ""
        if self.fence is not None:
            # A cut line goes on behind the same indent or quote, so it stays inside the block.
            fence = self.fence.opening + ("" if body.endswith("\n") else self.fence.indent)
        return (SPOILER if self.spoiler else "") + fence


@dataclass(frozen=True)
class Part:
    """One message: a slice of the answer plus the markers the splitter added around it."""

    body: str
    prefix: str = ""
    suffix: str = ""

    def render(self) -> str:
        """The text to send to Discord."""
        return self.prefix + self.body + self.suffix


def split_point(
    text: str, *, limit: int = DISCORD_MESSAGE_LIMIT, prefix: str = ""
) -> tuple[int, Carry | None]:
    """The first cut of ``text`` sent after ``prefix``, and what to close there and reopen."""
    if limit < MIN_LIMIT:
        raise ValueError(f"limit must be at least {MIN_LIMIT}, got {limit}")
    room = limit - len(prefix)
    if room < 1:
        raise ValueError("prefix leaves no room under the limit")
    if len(text) <= room:
        return len(text), None  # the last part: an unclosed fence stays as written
    read, markup = _read(text, prefix, room)
    allowed, boundaries = _cut_positions(text, room, read, markup, len(prefix))
    window = room
    while True:
        cut = _best_cut(text, window, allowed, boundaries)
        carry = _carry(markup, cut + len(prefix), limit)
        extra = len(carry.closing(text[:cut])) if carry else 0
        if cut + extra <= room:
            return cut, carry
        if room - extra < 1:
            return cut, None  # only with a foreign prefix: drop the markers rather than overflow
        # The window shrinks strictly (room - extra < cut <= window), so this ends.
        window = room - extra


def split_parts(text: str, *, limit: int = DISCORD_MESSAGE_LIMIT) -> list[Part]:
    """Split ``text`` into parts whose bodies concatenate to it; whitespace-only ones are kept."""
    parts: list[Part] = []
    pos, prefix = 0, ""
    while True:
        cut, carry = split_point(text[pos:], limit=limit, prefix=prefix)
        body = text[pos : pos + cut]
        pos += cut
        if pos >= len(text):
            parts.append(Part(body, prefix))
            return parts
        parts.append(Part(body, prefix, carry.closing(body) if carry else ""))
        prefix = carry.opening(body) if carry else ""


def split_message(text: str, *, limit: int = DISCORD_MESSAGE_LIMIT) -> list[str]:
    """Return the rendered parts to send, in order, without whitespace-only ones."""
    # Discord rejects empty messages; a blank part can only come from a huge whitespace run.
    rendered = (part.render() for part in split_parts(text, limit=limit))
    return [message for message in rendered if message.strip()]


def split_capped(text: str, max_parts: int | None, note: str) -> list[str]:
    """Split ``text`` like :func:`split_message`, at most ``max_parts`` of them, ``note`` ending a cut."""
    parts = split_message(text)
    if max_parts is None or len(parts) <= max_parts:
        return parts
    # Split again with room for the note, so the last kept part still fits with it.
    kept = split_message(text, limit=DISCORD_MESSAGE_LIMIT - len(note))[:max_parts]
    kept[-1] += note
    return kept


def settled(text: str, *, limit: int = DISCORD_MESSAGE_LIMIT, prefix: str = "") -> bool:
    """Whether the first cut of ``text``, an answer still growing, stays the same whatever follows."""
    room = limit - len(prefix)
    if len(text) <= room + LOOKAHEAD_CHARS:
        return False
    undecided = _read(text, prefix, room)[1].undecided
    return undecided is None or undecided - len(prefix) > room


def with_note(text: str, note: str) -> str:
    """Append a note (that it was cut off, or a remark) to an answer, closing a block it left open."""
    if not note:
        return text
    fence = open_block(text)
    return text + (fence.closing(text) if fence else "") + note


def _read(text: str, prefix: str, room: int) -> tuple[str, Markup]:
    """The text of a part sent after ``prefix`` as far as it bears on its first cut, and its markup."""
    # Past room, a cut needs the closers of what opens before it: at most MAX_SPAN_CHARS away.
    read = prefix + text[: room + MAX_SPAN_CHARS + LOOKAHEAD_CHARS]
    return read, scan(read)


def _carry(markup: Markup, position: int, limit: int) -> Carry | None:
    """What to close and reopen at ``position`` (in the read text), if its markers fit."""
    code = next((s.fence for s in markup.spans if s.kind == CODE and s.inner < position < s.end), None)
    spoiler = any(s.kind == SPOILED and s.inner < position < s.end for s in markup.spans)
    if code is None:
        return Carry(spoiler=True) if spoiler else None
    # Bound the markers to a third of the limit, so each part keeps room for its text.
    for fence in (code, Fence(indent=code.indent), Fence()):
        carry = Carry(fence, spoiler)
        if len(carry.opening("")) + len(carry.closing("")) <= limit // 3:
            return carry
    return Carry(spoiler=True) if spoiler else None


def _cut_positions(
    text: str, room: int, read: str, markup: Markup, offset: int
) -> tuple[list[bool], list[bool]]:
    """Where in ``text[:room]`` a cut may fall: by every rule, and at grapheme boundaries only."""
    boundaries = _grapheme_boundaries(text, room)
    allowed = boundaries.copy()
    for run in _MARKER_RUN.finditer(text, 0, room + 1):
        _forbid(allowed, run.start() + 1, run.end() - 1)  # inside a run of backticks or bars
    for escape in markup.escapes:
        _forbid(allowed, escape + 1 - offset, escape + 1 - offset)
    for span in markup.spans:
        if span.start - offset > room:
            continue  # it bears on no cut of this part
        for low, high in _breaking_cuts(span, read):
            _forbid(allowed, low - offset, high - offset)
    return allowed, boundaries


def _grapheme_boundaries(text: str, room: int) -> list[bool]:
    """Which positions up to ``room`` fall between two graphemes of ``text``."""
    boundaries = [True] * (room + 1)
    boundaries[0] = False  # a cut before everything is no cut
    crlf = text.find("\r\n", 0, room + 1)
    while crlf >= 0:
        _forbid(boundaries, crlf + 1, crlf + 1)
        crlf = text.find("\r\n", crlf + 1, room + 1)
    # Only non-ASCII characters join their neighbours (CR LF aside): segment just those stretches.
    for stretch in _NON_ASCII.finditer(text, 0, room + 1):
        start, stop = stretch.start(), min(stretch.end() + 1, len(text))  # with the next character
        ends = {grapheme.end() for grapheme in _GRAPHEME.finditer(text, start, stop)}
        _forbid_all(boundaries, (i for i in range(start + 1, stop) if i not in ends))
    return boundaries


def _forbid_all(allowed: list[bool], positions: Iterable[int]) -> None:
    """Forbid cuts at each of ``positions``, as far as they are listed."""
    for i in positions:
        if i < len(allowed):
            allowed[i] = False


def _breaking_cuts(span: Span, read: str) -> list[tuple[int, int]]:
    """The cuts (ranges, both ends included) that would break ``span`` or leave it empty in a part."""
    if span.kind == INLINE:
        return [(span.start + 1, span.stop - 1)]  # inline code is not carried over a cut
    content = read[span.inner : span.end]
    first = span.inner + len(content) - len(content.lstrip(_BLANK))
    # In the opener's indent or quote, in or right after the opener, in or right before the closer.
    indent = len(span.fence.indent) if span.fence else 0
    ranges = [(span.start - indent + 1, first), (span.end, span.stop - 1)]
    if span.closed:
        last = span.inner + len(content.rstrip(_BLANK))  # from here on, only blanks before the closer
        if span.kind == CODE:
            # A block's closer may be far off in a growing answer: look only as far as settled() waits.
            last = max(last, span.end - LOOKAHEAD_CHARS // 2)
        ranges.append((last, span.end))
    if span.kind == SPOILED:
        # "x|" + "||" would close the spoiler one character early.
        ranges += [(i + 1, i + 1) for i in range(span.inner, span.end) if read[i] == "|"]
    return ranges


def _forbid(allowed: list[bool], low: int, high: int) -> None:
    """Forbid cuts at positions ``low`` to ``high``, both included, as far as they are listed."""
    low, high = max(low, 0), min(high, len(allowed) - 1)
    if low <= high:
        allowed[low : high + 1] = [False] * (high + 1 - low)


def _best_cut(text: str, window: int, allowed: list[bool], boundaries: list[bool]) -> int:
    """The preferred cut in ``text[:window]``; ``text`` is longer than ``window``."""
    head = text[:window]
    # A cut inside leading whitespace would make a blank part; only a blank window allows one.
    lowest = len(head) - len(head.lstrip()) + 1
    half = max(lowest, (window + 1) // 2)
    for kind in _KINDS:
        cut = _latest(text, kind, half, window, allowed)
        if cut is not None:
            return cut
    # No boundary in the second half: the latest word boundary (every kind is one) anywhere.
    cut = _latest(text, _KINDS[-1], lowest, window, allowed)
    if cut is not None:
        return cut
    # A hard cut; when markup leaves no room at all, any grapheme boundary will do.
    for candidates in (allowed, boundaries):
        cut = next((i for i in range(window, lowest - 1, -1) if candidates[i]), None)
        if cut is not None:
            return cut
    return window


def _latest(text: str, kind: re.Pattern[str], low: int, high: int, allowed: list[bool]) -> int | None:
    """The last allowed cut position of ``kind`` in ``[low, high]``, if any."""
    if low > high:
        return None
    spots = [match.start() for match in kind.finditer(text, low, high)]
    return next((i for i in reversed(spots) if allowed[i]), None)
