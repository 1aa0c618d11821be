"""The answering service: one road from a member's question to the answer in Discord.

mention / slash command (cog) → :meth:`Answerer.answer` → wait for the conversation's turn →
build the context from storage → call the model → post the answer in parts → store the exchange.
Budgets (quotas) and streaming slot in around the model call; the cogs do not change.
"""

from __future__ import annotations

import logging
from collections.abc import Hashable
from dataclasses import dataclass

from assistant.budgets import BudgetGate, Charge, Unlimited
from assistant.completions import CompletionsClient, Usage
from assistant.context import Context, ContextBuilder, label_user_turn
from assistant.delivery import Delivery, deliver_streamed, deliver_whole
from assistant.lanes import Lanes
from assistant.pacing import Pacer
from assistant.replies import ReplyTarget
from assistant.tokens import estimate_message_tokens
from storage.history import Exchange, HistoryStore, Turn

log = logging.getLogger(__name__)

# Held against the budgets for the answer while a request is in flight (reasoning included).
COMPLETION_ALLOWANCE_TOKENS = 2_000


@dataclass(frozen=True)
class Question:
    """A member's question and where it was asked."""

    guild_id: int | None
    channel_id: int
    author_id: int
    author_name: str
    text: str
    message_id: int | None = None
    # False for private answers: they are never written to the channel's shared history.
    record: bool = True
    # True in a bot thread, where everyone's messages form one conversation.
    shared_conversation: bool = False

    @property
    def conversation(self) -> Hashable:
        """Return the key of the conversation this question belongs to."""
        if self.shared_conversation:
            return ("channel", self.channel_id)
        return ("member", self.channel_id, self.author_id)


@dataclass(frozen=True)
class Answer:
    """What was posted for a question."""

    text: str
    message_ids: list[int]
    usage: Usage
    complete: bool


class Answerer:
    """Answers questions in order per conversation, with the channel's history as context."""

    def __init__(
        self,
        *,
        completions: CompletionsClient,
        history: HistoryStore,
        context: ContextBuilder,
        budgets: BudgetGate | None = None,
        stream: bool = False,
        pacer: Pacer | None = None,
    ) -> None:
        self._completions = completions
        self._history = history
        self._context = context
        self._budgets = budgets or Unlimited()
        self._stream = stream
        self._pacer = pacer or Pacer()
        self.lanes = Lanes()

    async def answer(self, question: Question, target: ReplyTarget) -> Answer:
        """Answer `question` at `target` once the conversation's earlier questions are done."""
        # Joining is synchronous, so the place in line is taken in event order.
        async with self.lanes.join(question.conversation):
            labelled = label_user_turn(question.author_name, question.text)
            context = await self._context.build(question.channel_id, labelled)
            delivery = await self._deliver(question, context, target)
            log.info(
                "Answered in channel %s: %d history turns, %d messages, usage %s, finish %s%s",
                question.channel_id, context.history_turns, len(delivery.message_ids), delivery.usage,
                delivery.finish_reason, "" if delivery.complete else " (cut off)",
            )  # fmt: skip
            answer = Answer(delivery.text, delivery.message_ids, delivery.usage, delivery.complete)
            # Only a complete answer becomes history: a cut-off one would mislead the next question.
            if question.record and answer.complete:
                await self._history.append_exchange(exchange_for(question, labelled, answer))
            return answer

    async def _deliver(self, question: Question, context: Context, target: ReplyTarget) -> Delivery:
        """Call the model within the budgets: reserve, then settle with the real usage or release."""
        estimate = context.prompt_tokens + COMPLETION_ALLOWANCE_TOKENS
        reservation = await self._budgets.reserve(question.guild_id, question.author_id, estimate)
        charge = Charge(self._budgets, reservation)
        try:
            if self._stream:
                return await deliver_streamed(self._completions, context, target, charge, self._pacer)
            return await deliver_whole(self._completions, context, target, charge)
        finally:
            await charge.release()  # a no-op once settled


def exchange_for(question: Question, labelled: str, answer: Answer) -> Exchange:
    """Return the history rows for a question and its posted answer."""
    return Exchange(
        guild_id=question.guild_id,
        channel_id=question.channel_id,
        question=Turn(
            role="user",
            content=question.text,
            tokens=estimate_message_tokens(labelled),
            author_name=question.author_name,
            author_id=question.author_id,
            discord_message_id=question.message_id,
        ),
        answer=Turn(
            role="assistant",
            content=answer.text,
            tokens=estimate_message_tokens(answer.text),
            discord_message_id=answer.message_ids[0] if answer.message_ids else None,
        ),
    )
