"""Summaries of a channel: its recent messages as a transcript, fitted into the context budget.

Pure: the /summarize cog reads the messages from Discord and turns each into a :class:`Said`;
this module drops what is not conversation (system notices, empty messages, the bot's own
leftovers), keeps the newest lines that fit ``CONTEXT_TOKENS`` and writes the request.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from assistant.context import label_user_turn
from assistant.delivery.streaming import STREAMING_MARKER
from assistant.errors import GENERIC_FAILURE, BotError
from assistant.model.tokens import estimate_message_tokens, estimate_text_tokens, load_encoding

SUMMARY_INSTRUCTION = (
    "Summarize the Discord conversation below for someone who missed it: the topics discussed, "
    "the decisions made, the open questions, and who said what (use their names). Be concise: short "
    "sections or bullet points. The transcript is oldest first, one message per entry as `name: text`."
)
# The bot's refusals and failure notices whose wording varies: how each begins.
NOTICE_PREFIXES = (
    "This server has used up its daily token budget",
    "You have used up your daily token budget",
    "You already have ",
    "Your question is too long for me",
    "Discord failed while I was posting my answer",
    "My answer was deleted while I was writing it",
)
ELLIPSIS = "…"


@dataclass(frozen=True)
class Said:
    """One message as read from Discord."""

    author: str
    text: str
    # Posted by this bot (its answers are kept, its leftovers are not).
    mine: bool = False
    # A system message (a pin, a join, a thread notice), not something a person wrote.
    system: bool = False
    attachments: tuple[str, ...] = ()


@dataclass(frozen=True)
class Transcript:
    """The request for the model and how many messages it covers."""

    request: str
    covered: int
    # Messages worth summarizing that were read but did not fit (the oldest ones).
    left_out: int


def static_notices() -> frozenset[str]:
    """Return every fixed failure line the bot can post (its BotErrors' messages)."""
    found = {GENERIC_FAILURE}
    pending: list[type[BotError]] = [BotError]
    while pending:
        kind = pending.pop()
        found.add(kind.user_message)
        pending.extend(kind.__subclasses__())
    return frozenset(found)


_NOTICES = static_notices()


def is_leftover(said: Said) -> bool:
    """Return whether one of the bot's messages is a leftover: unfinished, empty, or a notice."""
    text = said.text.strip()
    return (
        not text
        or said.text.endswith(STREAMING_MARKER)
        or text in _NOTICES
        or text.startswith(NOTICE_PREFIXES)
    )


def worth_summarizing(said: Said) -> bool:
    """Return whether a message belongs in the transcript."""
    if said.system or (said.mine and is_leftover(said)):
        return False
    return bool(said.text.strip() or said.attachments)


def transcript_line(said: Said) -> str:
    """Return one message as the model reads it: `name: text`, attachments named."""
    # Continuation lines are indented so a message's own lines never pass for a new speaker.
    text = "\n  ".join(said.text.strip().splitlines())
    if said.attachments:
        text = f"{text} [attached: {', '.join(said.attachments)}]".strip()
    return f"{said.author}: {text}"


def fit_transcript(messages: Sequence[Said], *, asker: str, budget_tokens: int) -> Transcript:
    """Return the summary request for `messages` (oldest first), newest kept within `budget_tokens`.

    The budget covers the whole question as sent (labelled with `asker`); a newest message that
    alone is too long is cut short rather than leaving nothing to summarize.
    """
    kept = [transcript_line(said) for said in messages if worth_summarizing(said)]
    head = SUMMARY_INSTRUCTION + "\n\n"
    room = budget_tokens - estimate_message_tokens(label_user_turn(asker, head))
    chosen: list[str] = []
    for line in reversed(kept):
        cost = estimate_text_tokens(line + "\n")
        if cost > room:
            if not chosen and room > 1:
                chosen.append(cut_to_tokens(line, room - 1) + ELLIPSIS)
            break
        chosen.append(line)
        room -= cost
    chosen.reverse()
    # Counted piece by piece above; the joined text can tokenize a little differently.
    while (
        chosen and estimate_message_tokens(label_user_turn(asker, head + "\n".join(chosen))) > budget_tokens
    ):
        chosen.pop(0)
    return Transcript(head + "\n".join(chosen), covered=len(chosen), left_out=len(kept) - len(chosen))


def cut_to_tokens(text: str, tokens: int) -> str:
    """Return the start of `text` that is at most `tokens` tokens long."""
    encoding = load_encoding()
    return encoding.decode(encoding.encode_ordinary(text)[: max(tokens, 0)], errors="ignore")


def coverage_footer(transcript: Transcript) -> str:
    """Return the line under the summary saying how many messages it covers."""
    noun = "message" if transcript.covered == 1 else "messages"
    footer = f"-# Summary of the last {transcript.covered} {noun} here"
    if transcript.left_out:
        footer += f"; {transcript.left_out} older ones did not fit in `CONTEXT_TOKENS`"
    return footer + "."
