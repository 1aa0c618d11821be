"""The answering service: one road from a member's question to the answer in Discord.

mention / slash command (cog) → :meth:`Answerer.answer` → wait for the conversation's turn →
build the context from storage → call the model → post the answer in parts → store the exchange.
Budgets (quotas) and streaming slot in around the model call; the cogs do not change.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Hashable
from dataclasses import dataclass, replace

from assistant.attachments.kinds import FileRef
from assistant.attachments.reader import AttachmentReader
from assistant.budgets.gate import BudgetGate, Charge, Unlimited
from assistant.context import NO_INSTRUCTIONS, Context, ContextBuilder, Instructions, label_user_turn
from assistant.delivery.posting import Commit, Delivery, deliver_streamed, deliver_whole
from assistant.delivery.replies import ReplyTarget
from assistant.delivery.requests import DEFAULT_REQUESTS_PER_SECOND, RequestBudget
from assistant.delivery.streaming import EDIT_INTERVAL_SECONDS
from assistant.errors import AlreadyAnswered, NothingToRead, ShuttingDown
from assistant.lanes import Lanes
from assistant.model.completions import CompletionsClient, Usage
from assistant.model.tokens import estimate_message_tokens
from assistant.observability.answers import observed
from assistant.resets import Resets
from storage.answered import AnsweredLedger
from storage.history import Exchange, HistoryStore, Turn
from storage.images import AttachedImage, ImageStore

log = logging.getLogger(__name__)

# Held against the budgets for the answer while a request is in flight (reasoning included).
COMPLETION_ALLOWANCE_TOKENS = 2_000
# After the grace period, how long cancelled answers get to tell their members.
CANCEL_WAIT_SECONDS = 5.0


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
    # Attachments as Discord described them; read (downloaded, prepared) when the question's turn comes.
    files: tuple[FileRef, ...] = ()
    # Once read: the images that go to the model, and the note telling the member what was left out.
    images: tuple[AttachedImage, ...] = ()
    note: str = ""
    # False where the question stands alone: the channel's stored history is not sent.
    with_history: bool = True
    # A thread's parent channel (a forum post's forum), whose settings (persona) the thread follows.
    parent_id: int | None = None
    # The interaction that asked (a message's id is `message_id`): claimed once across sessions.
    interaction_id: int | None = None

    @property
    def conversation(self) -> Hashable:
        """Return the key of the conversation this question belongs to."""
        if self.shared_conversation:
            return ("channel", self.channel_id)
        return ("member", self.channel_id, self.author_id)

    @property
    def asker(self) -> Hashable:
        """Return the key of the member asking, whose questions in flight are bounded together."""
        return (self.guild_id, self.author_id)


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
        requests: RequestBudget | None = None,
        edit_interval_seconds: float = EDIT_INTERVAL_SECONDS,
        channel_queue_limit: int | None = None,
        member_queue_limit: int | None = None,
        attachments: AttachmentReader | None = None,
        images: ImageStore | None = None,
        instructions: Callable[[Question], Instructions] | None = None,
        ledger: AnsweredLedger | None = None,
    ) -> None:
        self._completions = completions
        self._history = history
        self._attachments = attachments
        self._images = images
        self._context = context
        self._budgets = budgets or Unlimited()
        self._ledger = ledger
        self._stream = stream
        self._requests = requests or RequestBudget(DEFAULT_REQUESTS_PER_SECOND)
        self._edit_interval_seconds = edit_interval_seconds
        # The server's persona and reasoning effort for a question (read from memory, not the database).
        self._instructions = instructions or (lambda question: NO_INSTRUCTIONS)
        self.lanes = Lanes(group_limit=channel_queue_limit, owner_limit=member_queue_limit)
        self._resets = Resets()
        self._tasks: set[asyncio.Task[object]] = set()
        self._closing = False

    @observed
    async def answer(self, question: Question, target: ReplyTarget) -> Answer:
        """Answer `question` at `target` once the conversation's earlier questions are done."""
        if self._closing:
            raise ShuttingDown("question arrived during shutdown")
        # Joining is synchronous, so the place in line is taken in event order.
        turnstile = self.lanes.join(question.conversation, group=question.channel_id, owner=question.asker)
        # Taken on arrival: a /reset from now on forgets this question too, even if it waits in line.
        asked_in = self._resets.epoch(question.channel_id)
        task = asyncio.current_task()
        if task is not None:
            self._tasks.add(task)
        try:
            async with turnstile:
                return await self._answer_in_turn(question, target, asked_in)
        except asyncio.CancelledError:
            if not self._closing:
                raise
            raise ShuttingDown("cancelled at shutdown") from None
        finally:
            if task is not None:
                self._tasks.discard(task)

    async def _answer_in_turn(self, question: Question, target: ReplyTarget, asked_in: int) -> Answer:
        """Build the context, deliver the answer, and keep history in step with what was posted."""
        question = await self._read_files(question)
        await self._claim(question)
        labelled = label_user_turn(question.author_name, question.text)
        context = await self._context.build(
            question.channel_id,
            labelled,
            question.images,
            with_history=question.with_history,
            instructions=self._instructions(question),
        )
        stored: list[int] = []

        async def commit(text: str, first_message_id: int | None) -> None:
            # Stored as soon as the answer is known, before its final posting: whatever reaches
            # Discord is in the history even if the process dies right after.
            if question.record:
                exchange = exchange_for(question, context.question_tokens, text, first_message_id)
                stored.extend(await self._resets.store(exchange, asked_in, store_with_images))

        async def store_with_images(exchange: Exchange) -> list[int]:
            # Inside the reset lock with the exchange: a /reset cannot slip in between.
            ids = await self._history.append_exchange(exchange)
            if question.images and self._images is not None:
                await self._images.add(ids[0], exchange.channel_id, question.images)
            return ids

        try:
            delivery = await self._deliver(question, context, target, commit)
        except BaseException:
            if stored:
                await self._history.remove(stored)  # the member never saw this answer
            raise
        log.info(
            "Answered in channel %s: %d history turns, %d messages, usage %s, finish %s%s",
            question.channel_id, context.history_turns, len(delivery.message_ids), delivery.usage,
            delivery.finish_reason, "" if delivery.complete else " (cut off)",
        )  # fmt: skip
        return Answer(delivery.text, delivery.message_ids, delivery.usage, delivery.complete)

    async def _read_files(self, question: Question) -> Question:
        """Return the question with its attachments read: text files inlined, images ready, a note."""
        if not question.files or self._attachments is None:
            return question
        read = await self._attachments.read(question.files)
        if not (question.text or read.texts or read.images):
            raise NothingToRead(read.note)
        return replace(
            question, text=read.compose(question.text), files=(), images=read.images, note=read.note
        )

    async def _claim(self, question: Question) -> None:
        """Take the question's message or interaction id, or raise AlreadyAnswered if a session has it.

        Claimed in turn, not on arrival, so a conversation's questions keep their order.
        """
        trigger = question.interaction_id or question.message_id
        if self._ledger is None or trigger is None:
            return
        if not await self._ledger.claim(trigger, now_seconds=int(time.time())):
            raise AlreadyAnswered(f"trigger {trigger} is answered by another session")

    async def _deliver(
        self, question: Question, context: Context, target: ReplyTarget, commit: Commit
    ) -> Delivery:
        """Call the model within the budgets: reserve, then settle with the real usage or release."""
        estimate = context.prompt_tokens + COMPLETION_ALLOWANCE_TOKENS
        reservation = await self._budgets.reserve(question.guild_id, question.author_id, estimate)
        charge = Charge(self._budgets, reservation)
        try:
            # A target with few messages gets the answer whole: streaming cannot know where to stop.
            if self._stream and target.max_messages is None:
                return await deliver_streamed(
                    self._completions, context, target, charge, commit, self._requests,
                    self._edit_interval_seconds, note=question.note,
                )  # fmt: skip
            return await deliver_whole(
                self._completions, context, target, charge, commit, self._requests, note=question.note
            )
        finally:
            await charge.release()  # a no-op once settled

    async def forget(self, channel_id: int) -> int:
        """Forget a channel's history and everything asked there until now, answers in flight included."""
        return await self._resets.reset(channel_id, self._history.forget)

    async def close(self, grace_seconds: float) -> None:
        """Take no new questions; let those in flight finish within the grace, then cancel them."""
        self._closing = True
        try:
            await asyncio.wait_for(self.lanes.wait_idle(), timeout=grace_seconds)
        except TimeoutError:
            log.warning(
                "%d answers still running after %.0f s; telling their members",
                len(self._tasks),
                grace_seconds,
            )
            for task in list(self._tasks):
                task.cancel()
            await asyncio.wait_for(self.lanes.wait_idle(), timeout=CANCEL_WAIT_SECONDS)


def exchange_for(
    question: Question, question_tokens: int, text: str, answer_message_id: int | None
) -> Exchange:
    """Return the history rows for a question (counted when its context was built) and its answer."""
    return Exchange(
        guild_id=question.guild_id,
        channel_id=question.channel_id,
        question=Turn(
            role="user",
            content=question.text,
            tokens=question_tokens,
            author_name=question.author_name,
            author_id=question.author_id,
            discord_message_id=question.message_id,
        ),
        answer=Turn(
            role="assistant",
            content=text,
            tokens=estimate_message_tokens(text),
            discord_message_id=answer_message_id,
        ),
    )
