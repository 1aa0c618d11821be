"""Split a model answer into Discord messages of at most ``limit`` characters each.

A cut prefers, in order: a paragraph break, a line break, a sentence end, a word boundary and
finally a hard cut; a preferred boundary is only taken in the second half of the window, so parts
are never needlessly tiny. Separators stay at the end of the part before the cut, so the bodies of
the parts concatenate back to the answer exactly.

Code fences (```` ``` ```` or ``~~~``, CommonMark-like) are tracked line by line: a part that ends
inside an open block gets a closing fence as ``suffix`` and the next part reopens the block, with
its language, as ``prefix``; both count against the limit. An answer that ends inside an open
block is left as the model wrote it.

Fence state is always read from a part's own rendered text (its prefix, then its body), which is
what Discord renders: every part begins at a line start. To keep that equal to the state of the
whole answer, no cut falls inside a fence line or right before a fence-like run mid-line.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

DISCORD_MESSAGE_LIMIT = 2000
MIN_LIMIT = 100
MAX_LANGUAGE = 32

# Up to 3 spaces of indent, a run of 3+ backticks or tildes, then the info string.
_FENCE_LINE = re.compile(r" {0,3}(?P<marker>`{3,}|~{3,})(?P<info>.*)")

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
class Fence:
    """An open code fence: its opening run of backticks or tildes and its language."""

    marker: str
    language: str = ""

    @property
    def opening(self) -> str:
        """The line that reopens this block at the start of the next part."""
        return f"{self.marker}{self.language}\n"

    def closing(self, body: str) -> str:
        """The fence that closes this block after ``body``, on a line of its own."""
        return self.marker if body.endswith("\n") else "\n" + self.marker


@dataclass(frozen=True)
class Part:
    """One message: a slice of the answer plus the fence lines the splitter added around it."""

    body: str
    prefix: str = ""
    suffix: str = ""

    def render(self) -> str:
        """The text to send to Discord."""
        return self.prefix + self.body + self.suffix


def fence_state(text: str, *, start: Fence | None = None) -> Fence | None:
    """The fence still open at the end of ``text`` (``text[:i]`` for index i), given ``start``."""
    fence = start
    for line in text.split("\n"):
        match = _FENCE_LINE.match(line)
        if match is None:
            continue
        marker, info = match["marker"], match["info"]
        if fence is None:
            # CommonMark: a backtick info string holding a backtick is inline code, not a fence.
            if not (marker[0] == "`" and "`" in info):
                fence = Fence(marker, _language(marker, info))
        elif marker[0] == fence.marker[0] and len(marker) >= len(fence.marker) and not info.strip():
            fence = None  # a closer: same char, at least as long, no info string
    return fence


def find_split(text: str, *, limit: int = DISCORD_MESSAGE_LIMIT, prefix: str = "") -> int:
    """Where to end the first message of ``text`` sent after ``prefix``; ``len(text)`` if all fits."""
    return split_point(text, limit=limit, prefix=prefix)[0]


def split_point(
    text: str, *, limit: int = DISCORD_MESSAGE_LIMIT, prefix: str = ""
) -> tuple[int, Fence | None]:
    """The first cut of ``text`` sent after ``prefix``, and the fence to close there and reopen."""
    if limit < MIN_LIMIT:
        raise ValueError(f"limit must be at least {MIN_LIMIT}, got {limit}")
    room = limit - len(prefix)
    if room < 1:
        raise ValueError("prefix leaves no room under the limit")
    if len(text) <= room:
        return len(text), None  # the last part: an unclosed fence stays as written
    start, window = fence_state(prefix), room
    openers = _opener_ends(text[:room], start)
    while True:
        cut = _best_cut(text, window, openers)
        fence = _carry(fence_state(text[:cut], start=start), limit)
        extra = len(fence.closing(text[:cut])) if fence else 0
        if cut + extra <= room:
            return cut, fence
        if room - extra < 1:
            return cut, None  # only with a foreign prefix: drop the fence rather than overflow
        # The window shrinks strictly (room - extra < cut <= window), so this ends.
        window = room - extra


def split_parts(text: str, *, limit: int = DISCORD_MESSAGE_LIMIT) -> list[Part]:
    """Split ``text`` into parts whose bodies concatenate to it; whitespace-only ones are kept."""
    parts: list[Part] = []
    pos, prefix = 0, ""
    while True:
        cut, fence = split_point(text[pos:], limit=limit, prefix=prefix)
        body = text[pos : pos + cut]
        pos += cut
        if pos >= len(text):
            parts.append(Part(body, prefix))
            return parts
        parts.append(Part(body, prefix, fence.closing(body) if fence else ""))
        prefix = fence.opening if fence else ""


def split_message(text: str, *, limit: int = DISCORD_MESSAGE_LIMIT) -> list[str]:
    """Return the rendered parts to send, in order, without whitespace-only ones."""
    # Discord rejects empty messages; a blank part can only come from a huge whitespace run.
    rendered = (part.render() for part in split_parts(text, limit=limit))
    return [message for message in rendered if message.strip()]


def _language(marker: str, info: str) -> str:
    """The first word of an info string, or "" when too long or when it would lengthen the run."""
    words = info.split()
    language = words[0] if words else ""
    # Reopened as marker + language: a leading marker char would change the fence length.
    if len(language) > MAX_LANGUAGE or language.startswith(marker[0]):
        return ""
    return language


def _carry(fence: Fence | None, limit: int) -> Fence | None:
    """The fence to close and reopen across a cut, or None when the fence lines would not fit."""
    if fence is None:
        return None
    # Bound reopen + close to a third of the limit, so each part keeps room for its text.
    for candidate in (fence, Fence(fence.marker)):
        if len(candidate.opening) + len(fence.marker) + 1 <= limit // 3:
            return candidate
    return None


def _opener_ends(text: str, start: Fence | None) -> frozenset[int]:
    """The positions right after each line of ``text`` that opens a fence, given ``start``."""
    ends, pos, fence = set(), 0, start
    for line in text.split("\n")[:-1]:  # the last piece has no newline, so no line start after it
        pos += len(line) + 1
        opened = fence_state(line, start=fence)
        if fence is None and opened is not None:
            ends.add(pos)
        fence = opened
    return frozenset(ends)


def _best_cut(text: str, window: int, openers: frozenset[int]) -> int:
    """The preferred cut in ``text[:window]``; ``text`` is longer than ``window``."""
    head = text[:window]
    # A cut inside leading whitespace would make a blank part; only a blank window allows one.
    lowest = len(head) - len(head.lstrip()) + 1
    half = max(lowest, (window + 1) // 2)
    for kind in _KINDS:
        cut = _latest(text, kind, half, window, openers)
        if cut is not None:
            return cut
    # No boundary in the second half: the latest word boundary (every kind is one) anywhere.
    cut = _latest(text, _KINDS[-1], lowest, window, openers)
    if cut is not None:
        return cut
    hard = (i for i in range(window, lowest - 1, -1) if _cut_ok(text, i, openers))
    return next(hard, window)


def _latest(text: str, kind: re.Pattern[str], low: int, high: int, openers: frozenset[int]) -> int | None:
    """The last allowed cut position of ``kind`` in ``[low, high]``, if any."""
    if low > high:
        return None
    spots = [match.start() for match in kind.finditer(text, low, high)]
    return next((i for i in reversed(spots) if _cut_ok(text, i, openers)), None)


def _cut_ok(text: str, i: int, openers: frozenset[int]) -> bool:
    """Whether a cut before ``text[i]`` keeps ``\\r\\n`` and fence lines whole."""
    start = text.rfind("\n", 0, i) + 1
    if start == i:
        return i not in openers  # a part ending on its block's opener would send an empty block
    if text[i - 1] == "\r" and text.startswith("\n", i):
        return False
    # Mid-line: neither split a fence line nor start the next part with a fence-like run.
    return not (_FENCE_LINE.match(text, start) or _FENCE_LINE.match(text, i))


def split_capped(text: str, max_parts: int | None, note: str) -> list[str]:
    """Split ``text`` like :func:`split_message`, at most ``max_parts`` of them, ``note`` ending a cut."""
    parts = split_message(text)
    if max_parts is None or len(parts) <= max_parts:
        return parts
    # Split again with room for the note, so the last kept part still fits with it.
    kept = split_message(text, limit=DISCORD_MESSAGE_LIMIT - len(note))[:max_parts]
    kept[-1] += note
    return kept
