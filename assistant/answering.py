"""The answering service: one road from a member's question to the answer in Discord.

mention / slash command (cog) → :meth:`Answerer.answer` → wait for the conversation's turn →
build the context from storage → call the model → post the answer in parts → store the exchange.
Budgets (quotas) and streaming slot in around the model call; the cogs do not change.
"""

from __future__ import annotations

import logging
from collections.abc import Hashable
from dataclasses import dataclass

from assistant.budgets import BudgetGate, Unlimited
from assistant.completions import Completion, CompletionsClient, Usage
from assistant.context import Context, ContextBuilder, label_user_turn
from assistant.lanes import Lanes
from assistant.replies import ReplyTarget
from assistant.splitting import split_message
from assistant.tokens import estimate_message_tokens, estimate_text_tokens
from storage.history import Exchange, HistoryStore, Turn

log = logging.getLogger(__name__)

# Held against the budgets for the answer while a request is in flight (reasoning included).
COMPLETION_ALLOWANCE_TOKENS = 2_000
TRUNCATED_NOTE = "\n\n-# (The answer was cut off: it reached the model's length limit.)"


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
    completion: Completion
    message_ids: list[int]


class Answerer:
    """Answers questions in order per conversation, with the channel's history as context."""

    def __init__(
        self,
        *,
        completions: CompletionsClient,
        history: HistoryStore,
        context: ContextBuilder,
        budgets: BudgetGate | None = None,
    ) -> None:
        self._completions = completions
        self._history = history
        self._context = context
        self._budgets = budgets or Unlimited()
        self.lanes = Lanes()

    async def answer(self, question: Question, target: ReplyTarget) -> Answer:
        """Answer `question` at `target` once the conversation's earlier questions are done."""
        # Joining is synchronous, so the place in line is taken in event order.
        async with self.lanes.join(question.conversation):
            labelled = label_user_turn(question.author_name, question.text)
            context = await self._context.build(question.channel_id, labelled)
            completion = await self._call_model(question, context, target)
            log.info(
                "Answered in channel %s: %d history turns, usage %s, finish %s",
                question.channel_id, context.history_turns, completion.usage, completion.finish_reason,
            )  # fmt: skip
            sent = await self._post(target, completion)
            answer = Answer(text=completion.text, completion=completion, message_ids=sent)
            if question.record:
                await self._history.append_exchange(exchange_for(question, labelled, answer))
            return answer

    async def _call_model(self, question: Question, context: Context, target: ReplyTarget) -> Completion:
        """Call the model within the budgets: reserve, then settle with the real usage or release."""
        estimate = context.prompt_tokens + COMPLETION_ALLOWANCE_TOKENS
        reservation = await self._budgets.reserve(question.guild_id, question.author_id, estimate)
        try:
            async with target.working():
                completion = await self._completions.complete(context.messages)
        except BaseException:
            await self._budgets.release(reservation)
            raise
        await self._budgets.settle(reservation, completion.usage or estimated_usage(context, completion.text))
        return completion

    async def _post(self, target: ReplyTarget, completion: Completion) -> list[int]:
        text = completion.text
        if completion.finish_reason == "length":
            text += TRUNCATED_NOTE
        return [(await target.send(part)).id for part in split_message(text)]


def estimated_usage(context: Context, text: str) -> Usage:
    """Return the usage to record when the service reported none."""
    log.warning("The completions service reported no usage; recording an estimate")
    completion_tokens = estimate_text_tokens(text)
    return Usage(
        prompt_tokens=context.prompt_tokens,
        completion_tokens=completion_tokens,
        total_tokens=context.prompt_tokens + completion_tokens,
        estimated=True,
    )


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
