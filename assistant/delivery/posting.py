"""The two ways an answer reaches Discord: whole (one call, then the parts) or streamed (edits).

Both settle the request's charge with what the model spent as soon as it is known, and both post
exactly the same final messages for the same answer text.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass

from assistant.budgets.gate import Charge
from assistant.context import Context
from assistant.delivery.replies import ReplyTarget
from assistant.delivery.requests import RequestBudget
from assistant.delivery.splitting import split_capped, with_note
from assistant.delivery.streaming import EDIT_INTERVAL_SECONDS, StreamWriter
from assistant.errors import (
    CompletionError,
    ConnectionFailed,
    ContentFiltered,
    EmptyAnswer,
    RateLimited,
    RequestTimedOut,
    ServiceUnavailable,
)
from assistant.model.completions import CompletionsClient, StreamEnd, TextDelta, Usage
from assistant.model.tokens import estimate_text_tokens

log = logging.getLogger(__name__)

TRUNCATED_NOTE = "\n\n-# (The answer was cut off: it reached the model's length limit.)"
# Where Discord allows only a few messages per interaction (a user install the server lacks).
SHORTENED_NOTE = "\n\n-# (Shortened: Discord lets an app send only {count} messages here.)"
CUT_OFF_NOTE = "\n\n-# ⚠️ The answer was cut off: {reason} Ask again for a complete answer."
_CUT_OFF_REASONS: tuple[tuple[type[CompletionError], str], ...] = (
    (RequestTimedOut, "the AI service stopped sending it."),
    (ConnectionFailed, "the connection to the AI service dropped."),
    (RateLimited, "the AI service hit a rate limit."),
    (ServiceUnavailable, "the AI service had a server error."),
    (ContentFiltered, "the AI service's content filter stopped it."),
)


# Called with the final answer text (and its first message, if already posted) just before the
# final posting, so the exchange can be stored first.
Commit = Callable[[str, int | None], Awaitable[None]]


@dataclass(frozen=True)
class Delivery:
    """What was posted: the answer's text, its messages, and whether it is complete."""

    text: str
    message_ids: list[int]
    usage: Usage
    finish_reason: str | None
    complete: bool = True


async def deliver_whole(
    completions: CompletionsClient,
    context: Context,
    target: ReplyTarget,
    charge: Charge,
    commit: Commit,
    budget: RequestBudget,
    *,
    note: str = "",
) -> Delivery:
    """Wait for the whole answer (typing meanwhile), then post it in parts, `note` last."""
    claim = budget.claim(1 if target.budgeted else 0)  # keep room for the answer's message
    try:
        async with target.working():
            completion = await completions.complete(
                context.messages, reasoning_effort=context.reasoning_effort
            )
        usage = completion.usage or estimated_usage(context, completion.text)
        await commit(completion.text, None)
        # Recording the usage need not hold up the answer: it runs while the parts are posted.
        settling = asyncio.create_task(charge.settle(usage))
        try:
            truncated = TRUNCATED_NOTE if completion.finish_reason == "length" else ""
            text = with_note(completion.text, truncated + (f"\n\n{note}" if note else ""))
            cap = target.max_messages
            shortened = SHORTENED_NOTE.format(count=cap)
            ids = [(await target.send(part)).id for part in split_capped(text, cap, shortened)]
        finally:
            await settling
    finally:
        claim.close()
    return Delivery(completion.text, ids, usage, completion.finish_reason)


async def deliver_streamed(
    completions: CompletionsClient,
    context: Context,
    target: ReplyTarget,
    charge: Charge,
    commit: Commit,
    budget: RequestBudget,
    edit_interval_seconds: float = EDIT_INTERVAL_SECONDS,
    *,
    note: str = "",
) -> Delivery:
    """Show the answer as it streams in, `note` last; a stream cut midway keeps its text and says so."""
    writer = StreamWriter(target, budget, interval_seconds=edit_interval_seconds)
    try:
        return await _stream(completions, context, target, charge, commit, writer, note)
    finally:
        writer.release()  # whatever happened, the budget gets back the room the answer held


async def _stream(
    completions: CompletionsClient,
    context: Context,
    target: ReplyTarget,
    charge: Charge,
    commit: Commit,
    writer: StreamWriter,
    note: str,
) -> Delivery:
    """Feed the stream to `writer`, then bring the answer to its final form."""
    try:
        end = await _read(completions, context, target, writer)
    except CompletionError as exc:
        if not writer.text.strip():
            await writer.abandon()
            raise
        return await _cut_off(writer, context, charge, exc)
    except BaseException:
        await writer.abandon()
        raise
    if end is None and (failure := writer.failure) is not None:
        # Posting failed and the stream was closed early: the service bills what it generated.
        await charge.settle(estimated_usage(context, writer.text))
        raise failure
    assert end is not None  # the client ends every successful stream with a StreamEnd
    return await _finish(end, context, charge, commit, writer, note)


async def _read(
    completions: CompletionsClient, context: Context, target: ReplyTarget, writer: StreamWriter
) -> StreamEnd | None:
    """Feed the model's stream to `writer` until it ends (or Discord refused the answer for good)."""
    end: StreamEnd | None = None
    async with (
        working_until(target, writer.first_visible),
        contextlib.aclosing(
            completions.stream(context.messages, reasoning_effort=context.reasoning_effort)
        ) as events,
    ):
        async for event in events:
            if isinstance(event, TextDelta):
                writer.feed(event.text)
                if writer.failure is not None:
                    break  # Discord refused the answer for good: reading on only spends tokens
            else:
                end = event
                writer.end()  # the final text need wait for nothing more
    return end


async def _finish(
    end: StreamEnd, context: Context, charge: Charge, commit: Commit, writer: StreamWriter, note: str
) -> Delivery:
    """Bring a complete stream's answer to its final form, stored first, and record what it cost."""
    usage = end.usage or estimated_usage(context, writer.text)
    if not writer.text.strip():
        await charge.settle(usage)
        await writer.abandon()
        raise ContentFiltered() if end.finish_reason == "content_filter" else EmptyAnswer()
    ending = (TRUNCATED_NOTE if end.finish_reason == "length" else "") + (f"\n\n{note}" if note else "")
    text = writer.text
    try:
        await commit(text, writer.message_ids[0] if writer.message_ids else None)
        ids = await writer.finish(ending)
    except BaseException:
        await writer.abandon()
        raise
    finally:
        # Recorded once the final text is out: answers ending together then queue only their
        # history writes on the database ahead of their final text.
        await charge.settle(usage)
    return Delivery(text, ids, usage, end.finish_reason)


async def _cut_off(
    writer: StreamWriter, context: Context, charge: Charge, error: CompletionError
) -> Delivery:
    """Keep what arrived, end it with a note saying why, and mark the answer incomplete."""
    log.warning("The answer stream broke after %d characters: %s", len(writer.text), type(error).__name__)
    text = writer.text
    usage = estimated_usage(context, text)
    await charge.settle(usage)  # the service bills what it generated
    reason = next(
        (why for kind, why in _CUT_OFF_REASONS if isinstance(error, kind)), "the AI service failed."
    )
    ids = await writer.finish(CUT_OFF_NOTE.format(reason=reason))
    return Delivery(text, ids, usage, None, complete=False)


@contextlib.asynccontextmanager
async def working_until(target: ReplyTarget, visible: asyncio.Event) -> AsyncIterator[None]:
    """Show that the bot is working until the first text is visible (or the block ends)."""

    async def hold() -> None:
        async with target.working():
            await visible.wait()

    task = asyncio.create_task(hold())
    try:
        yield
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)


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
