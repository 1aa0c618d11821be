"""Synthetic history for the scale benchmark: millions of stored turns, written fast.

Rows are written with plain `sqlite3` (the bot is not running), in big transactions with
``synchronous=OFF`` and no journal: a crash mid-generation just means generating again. The
conversation looks like a busy server's: exchanges come in bursts per channel; one "hot"
channel gets a tenth of all turns; the rest spread over up to 10,000 channels (one per thousand
turns at smaller sizes, so a random channel always has more history than fits a context).
Questions are 20–300 characters and answers 100–2,000, whole words of plain English.

Counting millions of turns with the tokenizer would take minutes, so the counts come from a table:
the o200k pattern splits this text into one piece per word (" word", or "word" at the start) and
every piece is tokenized on its own, so a run of words costs the sum of its pieces, which prefix
sums give at once. The test suite checks these counts against the tokenizer's.
"""

from __future__ import annotations

import bisect
import contextlib
import itertools
import random
import sqlite3
from collections.abc import Iterator
from pathlib import Path

from assistant.context import label_user_turn
from assistant.model.tokens import MESSAGE_OVERHEAD_TOKENS, estimate_text_tokens

HOT_CHANNEL_ID = 1
FIRST_CHANNEL_ID = 1_000
MAX_CHANNELS = 10_000
TURNS_PER_CHANNEL = 1_000
HOT_SHARE = 0.1
ROWS_PER_TRANSACTION = 200_000
GUILD_ID = 1
TEXT_WORDS = 2_000
AUTHOR_ID = 7
AUTHOR_NAME = "member"
_WORDS = [
    "the",
    "bot",
    "answers",
    "questions",
    "about",
    "code",
    "data",
    "and",
    "the",
    "weather",
    "in",
    "a",
    "channel",
    "with",
    "many",
    "people",
]
_INSERT = (
    "INSERT INTO history (guild_id, channel_id, role, author_id, author_name, content, tokens,"
    " discord_message_id, created_at, running_tokens) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
)
Row = tuple[int, int, str, int | None, str, str, int, None, int, int]


def channel_count(total_rows: int) -> int:
    """Return how many ordinary channels share the history at `total_rows` turns."""
    return max(1, min(MAX_CHANNELS, total_rows // TURNS_PER_CHANNEL))


class HistoryGenerator:
    """Grows a database's history to a given number of turns, remembering where each channel stands."""

    def __init__(self, path: Path, seed: int = 7) -> None:
        self.path = path
        self.rows = 0
        self._rng = random.Random(seed)
        self._running: dict[int, int] = {}
        words = [self._rng.choice(_WORDS) for _ in range(TEXT_WORDS)]
        self._text = " ".join(words)  # runs of its words are the turns' content
        # Where each word starts in the text, and the tokens of the pieces before it (" word" each).
        self._starts = list(itertools.accumulate((len(word) + 1 for word in words), initial=0))
        self._spaced = list(itertools.accumulate((estimate_text_tokens(f" {w}") for w in words), initial=0))
        self._bare = [estimate_text_tokens(word) for word in words]
        self._label = estimate_text_tokens(label_user_turn(AUTHOR_NAME, "").rstrip())

    def grow_to(self, total_rows: int) -> None:
        """Append turns until the history holds `total_rows`."""
        with contextlib.closing(sqlite3.connect(self.path, isolation_level=None)) as connection:
            connection.execute("PRAGMA journal_mode = OFF")
            connection.execute("PRAGMA synchronous = OFF")
            connection.execute("PRAGMA cache_size = -1000000")  # 1 GB: the index stays in memory
            while self.rows < total_rows:
                batch = min(ROWS_PER_TRANSACTION, total_rows - self.rows)
                connection.execute("BEGIN")
                connection.executemany(_INSERT, self._turns(batch, channel_count(total_rows)))
                connection.execute("COMMIT")
                self.rows += batch

    def next_turns(self, total_rows: int) -> Iterator[Row]:
        """Yield the next batch of turns towards `total_rows` (for writers other than SQLite's)."""
        batch = min(ROWS_PER_TRANSACTION, total_rows - self.rows)
        self.rows += batch
        return self._turns(batch, channel_count(total_rows))

    def account(self, channel_id: int, tokens: int) -> None:
        """Note turns stored by someone else, so the channel's running total stays right."""
        self._running[channel_id] = self._running.get(channel_id, 0) + tokens

    def random_channel(self, rng: random.Random) -> int:
        """Return an ordinary channel that has history."""
        return FIRST_CHANNEL_ID + rng.randrange(channel_count(self.rows))

    def words_from(self, offset: int, length: int, *, question: bool) -> tuple[str, int]:
        """Return the whole words around `length` characters from `offset`, and their tokens as a turn."""
        first = bisect.bisect_right(self._starts, offset) - 1
        end = max(
            first + 1, min(TEXT_WORDS, bisect.bisect_left(self._starts, self._starts[first] + length + 1))
        )
        content = self._text[self._starts[first] : self._starts[end] - 1]
        if question:  # "member: word word …": the label's pieces, then every word with its space
            tokens = self._label + self._spaced[end] - self._spaced[first]
        else:
            tokens = self._bare[first] + self._spaced[end] - self._spaced[first + 1]
        return content, tokens + MESSAGE_OVERHEAD_TOKENS

    def _turns(self, count: int, channels: int) -> Iterator[Row]:
        """Yield `count` turns in bursts of exchanges per channel."""
        rng, made = self._rng, 0
        while made < count:
            hot = rng.random() < HOT_SHARE
            channel = HOT_CHANNEL_ID if hot else FIRST_CHANNEL_ID + rng.randrange(channels)
            burst = min(count - made, 2 * rng.randint(1, 20))
            for n in range(burst):
                yield self._turn(channel, question=n % 2 == 0)
            made += burst

    def _turn(self, channel: int, *, question: bool) -> Row:
        rng = self._rng
        length = rng.randint(20, 300) if question else rng.randint(100, 2_000)
        content, tokens = self.words_from(rng.randrange(len(self._text) - length), length, question=question)
        running = self._running.get(channel, 0) + tokens
        self._running[channel] = running
        if question:
            return (GUILD_ID, channel, "user", AUTHOR_ID, AUTHOR_NAME, content, tokens, None, 0, running)
        return (GUILD_ID, channel, "assistant", None, "", content, tokens, None, 0, running)


def database_bytes(path: Path) -> int:
    """Return the size of the database with its WAL and shared-memory files."""
    return sum(p.stat().st_size for p in (path, Path(f"{path}-wal"), Path(f"{path}-shm")) if p.exists())
