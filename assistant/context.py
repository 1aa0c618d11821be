"""Context building: the system prompt, the channel's history window, the new question.

The window is cache-friendly. Providers serve the part of a prompt that repeats an earlier prompt's
beginning from their prompt cache (cheaper, faster). A sliding window, dropping the oldest turn
whenever a new one arrives, changes the prompt right after the system prompt on every question, so
nothing past it is ever cached. Instead, once the history outgrows the budget, the window drops a
whole block of old turns (half the budget by default) and then keeps its start while it grows back:
every question until the next drop repeats the previous prompt and adds to its end. The start is
computed from stored running totals (:mod:`storage.history`), so it survives restarts.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from assistant.errors import QuestionTooLong
from assistant.model.tokens import REPLY_PRIMING_TOKENS, estimate_message_tokens
from storage.history import HistoryStore, Turn
from storage.images import IMAGE_LINE_PREFIX, AttachedImage, ImageStore

# A chat message; its content is a string, or text and image parts when images go with it.
ChatMessage = dict[str, Any]

# Share of CONTEXT_TOKENS dropped at once when the history outgrows it: larger drops mean fewer
# cache misses and smaller prompts, smaller drops keep more history. The window then holds
# between half and all of the budget.
WINDOW_BLOCK_FRACTION = 0.5
# Personas whose system message and token count are kept (one per server or channel that has one).
PERSONAS_REMEMBERED = 1024
# A block of one token: the window slides turn by turn (the old behaviour, kept for comparison).
SLIDING_WINDOW_TOKENS = 1


def label_user_turn(author_name: str, text: str) -> str:
    """Return a user turn as the model sees it: prefixed with its author's display name."""
    return f"{author_name}: {text}"


@dataclass(frozen=True)
class Instructions:
    """What a server's settings add to a request: a persona after the system prompt, a reasoning effort."""

    persona: str | None = None
    reasoning_effort: str | None = None


NO_INSTRUCTIONS = Instructions()


@dataclass(frozen=True)
class Context:
    """The messages of one request, and what they are estimated to cost."""

    messages: list[ChatMessage]
    prompt_tokens: int
    history_turns: int
    reasoning_effort: str | None = None  # sent as `reasoning_effort`; None: not sent
    question_tokens: int = 0  # the question's own, images included: what its stored turn counts


class ContextBuilder:
    """Builds the messages sent with each question from a channel's stored history."""

    def __init__(
        self,
        history: HistoryStore,
        *,
        system_prompt: str,
        budget_tokens: int,
        block_tokens: int | None = None,
        images: ImageStore | None = None,
        max_images: int = 0,
    ) -> None:
        self._history = history
        self._images = images
        self._max_images = max_images
        self._system_prompt = system_prompt
        # Counted once: SYSTEM_PROMPT is the same for every question.
        self._system_tokens = estimate_message_tokens(system_prompt)
        self._personas: dict[str, tuple[str, int]] = {}
        self._budget_tokens = budget_tokens
        if block_tokens is None:
            block_tokens = round(budget_tokens * WINDOW_BLOCK_FRACTION)
        self._block_tokens = max(SLIDING_WINDOW_TOKENS, block_tokens)

    async def build(
        self,
        channel_id: int,
        question: str,
        images: Sequence[AttachedImage] = (),
        *,
        with_history: bool = True,
        instructions: Instructions = NO_INSTRUCTIONS,
    ) -> Context:
        """Return the context for `question` (already labelled, with its `images`) asked in `channel_id`.

        `CONTEXT_TOKENS` covers a server's persona, the history and the question, images included;
        `SYSTEM_PROMPT` is always sent on top. A question that does not fit beside the persona is
        refused, never cut. Images of earlier turns in the window go again, newest first, while the
        request holds fewer than `max_images`. Without history the question stands alone.
        """
        system, persona_tokens = self._system(instructions.persona)
        question_tokens = estimate_message_tokens(question) + sum(image.tokens for image in images)
        if question_tokens + persona_tokens > self._budget_tokens:
            raise QuestionTooLong(question_tokens, max(0, self._budget_tokens - persona_tokens))
        turns: list[Turn] = []
        if with_history:
            turns = await self._history.window(
                channel_id,
                budget_tokens=self._budget_tokens - persona_tokens - question_tokens,
                block_tokens=self._block_tokens,
            )
            turns = drop_orphaned_answer(turns)
        earlier = await self._earlier_images(channel_id, turns, self._max_images - len(images))
        messages: list[ChatMessage] = [{"role": "system", "content": system}]
        messages.extend(
            {"role": turn.role, "content": content_of(render_turn(turn), earlier.get(turn.id, ()))}
            for turn in turns
        )
        messages.append({"role": "user", "content": content_of(question, images)})
        history_tokens = sum(turn.tokens for turn in turns)
        prompt_tokens = (
            self._system_tokens + persona_tokens + history_tokens + question_tokens + REPLY_PRIMING_TOKENS
        )
        return Context(messages, prompt_tokens, len(turns), instructions.reasoning_effort, question_tokens)

    def _system(self, persona: str | None) -> tuple[str, int]:
        """Return the system message with a server's persona after SYSTEM_PROMPT, and the persona's tokens."""
        if not persona:
            return self._system_prompt, 0
        # Counted once per persona, not per question: a 4,000-character one takes ~0.4 ms to count.
        known = self._personas.get(persona)
        if known is None:
            if len(self._personas) >= PERSONAS_REMEMBERED:
                self._personas.clear()
            system = f"{self._system_prompt}\n\n{persona}"
            known = self._personas[persona] = (system, estimate_message_tokens(system) - self._system_tokens)
        return known

    async def _earlier_images(
        self, channel_id: int, turns: list[Turn], room: int
    ) -> dict[int | None, list[AttachedImage]]:
        """Return the newest stored images of the window's turns (at most `room`), by turn id."""
        if self._images is None or room <= 0 or not turns or turns[0].id is None:
            return {}
        if not any(IMAGE_LINE_PREFIX in turn.content for turn in turns if turn.role == "user"):
            return {}  # a text-only window: the answer path is what it was before images
        found: dict[int | None, list[AttachedImage]] = {}
        for stored in await self._images.newest(channel_id, since_turn_id=turns[0].id, limit=room):
            found.setdefault(stored.turn_id, []).append(stored.image)
        return found


def content_of(text: str, images: Sequence[AttachedImage]) -> str | list[dict[str, Any]]:
    """Return a message's content: the text alone, or a text part followed by image parts."""
    if not images:
        return text
    parts: list[dict[str, Any]] = [{"type": "text", "text": text}]
    parts.extend({"type": "image_url", "image_url": {"url": image.data_url()}} for image in images)
    return parts


def render_turn(turn: Turn) -> str:
    """Return a stored turn's content as the model sees it."""
    if turn.role == "user":
        return label_user_turn(turn.author_name, turn.content)
    return turn.content


def turn_tokens(turn: Turn) -> int:
    """Return a stored turn's tokens as the model sees it (what `Turn.tokens` records)."""
    return estimate_message_tokens(render_turn(turn))


def drop_orphaned_answer(turns: list[Turn]) -> list[Turn]:
    """Drop a leading answer whose question fell outside the window: it reads as a non sequitur."""
    start = 0
    while start < len(turns) and turns[start].role == "assistant":
        start += 1
    return turns[start:]
