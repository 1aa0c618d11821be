"""The benchmark's synthetic history stores the same token counts the bot would."""

from __future__ import annotations

import random
from pathlib import Path

from assistant.context import label_user_turn
from assistant.model.tokens import estimate_message_tokens
from bench.history_data import AUTHOR_NAME, HistoryGenerator


def test_the_fast_counts_equal_the_bots_counts(tmp_path: Path) -> None:
    generator = HistoryGenerator(tmp_path / "history.db")
    rng = random.Random(3)
    for n in range(400):
        question = n % 2 == 0
        length = rng.randint(20, 300) if question else rng.randint(100, 2_000)
        content, tokens = generator.words_from(rng.randrange(8_000 - length), length, question=question)
        as_sent = label_user_turn(AUTHOR_NAME, content) if question else content
        assert tokens == estimate_message_tokens(as_sent), as_sent
        assert abs(len(content) - length) < 15  # whole words, about as long as asked
