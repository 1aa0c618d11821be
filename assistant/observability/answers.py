"""Time each answer and count it by path and outcome, around :meth:`Answerer.answer`.

The answering service carries one decorator, :func:`observed`; nothing else on the answer path
knows about it. The first text's time is noted by :mod:`assistant.observability.discord_http` when
Discord acknowledges the first message the answer posts, found through :data:`ANSWER_IN_FLIGHT`
(a context variable, so tasks the answer starts, such as the stream's writer, see it too).
"""

from __future__ import annotations

import asyncio
import functools
import time
from collections.abc import Awaitable, Callable
from contextvars import ContextVar
from typing import Any, Concatenate, ParamSpec, Protocol, TypeVar

from assistant.delivery.replies import InteractionReply
from assistant.errors import (
    BotError,
    BudgetExhausted,
    ChannelBusy,
    CompletionError,
    ShuttingDown,
    TooManyWaiting,
)
from assistant.observability import metrics

P = ParamSpec("P")
S = TypeVar("S")
A = TypeVar("A")

# Outcomes, by the exception that ended the answer (first match wins).
_OUTCOMES: tuple[tuple[type[BaseException] | tuple[type[BaseException], ...], str], ...] = (
    (BudgetExhausted, "budget"),
    ((ChannelBusy, TooManyWaiting), "busy"),
    (CompletionError, "model_error"),
    (ShuttingDown, "shutdown"),
    (BotError, "refused"),
    (asyncio.CancelledError, "cancelled"),
)


class _Question(Protocol):
    @property
    def guild_id(self) -> int | None: ...
    @property
    def shared_conversation(self) -> bool: ...


class AnswerInFlight:
    """One answer being timed: when it started and whether its first text was seen."""

    def __init__(self, path: str) -> None:
        self.path = path
        self.started = time.perf_counter()
        self.first_text_seen = False

    def first_text(self) -> None:
        """Note the first text of this answer in Discord (once)."""
        recorder = metrics.current()
        if self.first_text_seen or recorder is None:
            return
        self.first_text_seen = True
        recorder.child(recorder.first_text_seconds, self.path).observe(time.perf_counter() - self.started)


ANSWER_IN_FLIGHT: ContextVar[AnswerInFlight | None] = ContextVar("answer_in_flight", default=None)


def question_path(question: _Question, target: object) -> str:
    """Return how the question came: a slash or message command, a bot thread, a DM or a channel."""
    if isinstance(target, InteractionReply):
        return "command"
    if question.shared_conversation:
        return "thread"
    if question.guild_id is None:
        return "dm"
    return "channel"


def outcome_of(error: BaseException) -> str:
    """Return the outcome label for an answer that ended with `error`."""
    return next((label for kind, label in _OUTCOMES if isinstance(error, kind)), "failed")


def observed(
    answer: Callable[Concatenate[S, P], Awaitable[A]],
) -> Callable[Concatenate[S, P], Awaitable[A]]:
    """Count and time every call of the answering service's `answer(question, target)`."""

    @functools.wraps(answer)
    async def timed(service: S, /, *args: P.args, **kwargs: P.kwargs) -> A:
        recorder = metrics.current()
        if recorder is None:
            return await answer(service, *args, **kwargs)
        question: Any = args[0] if args else kwargs["question"]
        target: Any = args[1] if len(args) > 1 else kwargs["target"]
        in_flight = AnswerInFlight(question_path(question, target))
        token = ANSWER_IN_FLIGHT.set(in_flight)
        try:
            result = await answer(service, *args, **kwargs)
        except BaseException as exc:
            recorder.child(recorder.questions, in_flight.path, outcome_of(exc)).inc()
            raise
        finally:
            ANSWER_IN_FLIGHT.reset(token)
        complete = getattr(result, "complete", True)
        recorder.child(recorder.questions, in_flight.path, "answered" if complete else "cut_off").inc()
        recorder.child(recorder.answer_seconds, in_flight.path).observe(
            time.perf_counter() - in_flight.started
        )
        return result

    return timed
