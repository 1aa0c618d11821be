"""Discord misbehaves while the bot answers: rate limits, server errors, lost permissions, deletions.

Whatever Discord refuses, the bot keeps running, stores only exchanges that were posted, counts the
model's tokens once (they were spent even when the posting failed), and either tells the member what
went wrong or, when it cannot reach them at all, logs one clear line saying why.
"""

from __future__ import annotations

import pytest

from assistant.reporting import ANSWER_DELETED, DISCORD_FAILURE
from tests.conftest import Harness
from tests.fakes.discord import SEND_MESSAGES, SEND_MESSAGES_IN_THREADS, FakeChannel
from tests.fakes.discord_payloads import channel_payload
from tests.faults.checks import (
    USAGE_TOKENS,
    BotWarnings,
    answer,
    answer_held_until,
    assert_recorded,
    assert_still_answers,
    ledger,
    reply_texts,
)
from tests.faults.conftest import STREAM_MODES, STREAMED_ONLY

CHANNEL_MESSAGES = r"^/channels/\d+/messages$"
RATE_LIMITED = {"message": "You are being rate limited.", "retry_after": 0.01, "global": False}
# discord.py treats a 429 as a rate limit (and retries it) only when it came through a proxy.
VIA_PROXY = {"Via": "1.1 google"}

pytestmark = pytest.mark.usefixtures("fast_discord_retries")


async def set_bot_denied(harness: Harness, channel: FakeChannel, deny: int) -> None:
    """Change what the bot is denied in `channel` (0: nothing) and tell the bot, as a moderator would."""
    bot_id = str(harness.discord.bot_user.id)
    channel.overwrites[:] = [o for o in channel.overwrites if o["id"] != bot_id]
    if deny:
        channel.overwrites.append({"id": bot_id, "type": 1, "allow": "0", "deny": str(deny)})
    payload = channel_payload(harness.discord.world, channel)
    await harness.discord.gateway.dispatch_guild_event("CHANNEL_UPDATE", payload)
    await harness.discord.caught_up()


# --- rate limits and server errors: retried by discord.py, or told -----------------------------


@STREAM_MODES
async def test_a_rate_limited_send_is_retried_and_the_answer_posted_once(harness: Harness) -> None:
    harness.discord.fail_next("POST", CHANNEL_MESSAGES, 429, RATE_LIMITED, VIA_PROXY, times=2)
    harness.model.enqueue(answer("After the rate limit."))
    asked = await harness.ask("hi")
    assert await reply_texts(harness, asked) == ["After the rate limit."]
    await assert_recorded(harness, turns=2, requests=1, failed=0, tokens=USAGE_TOKENS)
    await assert_still_answers(harness)


@STREAMED_ONLY
async def test_rate_limited_edits_still_end_in_the_whole_answer(harness: Harness) -> None:
    harness.discord.fail_next("PATCH", r"^/channels/\d+/messages/\d+$", 429, RATE_LIMITED, VIA_PROXY, times=3)
    text = " ".join(["A streamed answer that needs a few edits to show."] * 3)
    reply = answer(text)
    reply.chunk_size, reply.chunk_delay_seconds = 30, 0.02
    harness.model.enqueue(reply)
    asked = await harness.ask("stream it")
    assert await reply_texts(harness, asked) == [text]
    await assert_recorded(harness, turns=2, requests=1, failed=0, tokens=USAGE_TOKENS)


@STREAM_MODES
async def test_a_discord_500_on_send_is_retried_and_the_answer_posted(harness: Harness) -> None:
    harness.discord.fail_next(
        "POST", CHANNEL_MESSAGES, 500, {"code": 0, "message": "500: Internal Server Error"}
    )
    harness.model.enqueue(answer("Through the 500."))
    asked = await harness.ask("hi")
    assert await reply_texts(harness, asked) == ["Through the 500."]
    await assert_recorded(harness, turns=2, requests=1, failed=0, tokens=USAGE_TOKENS)


@STREAM_MODES
async def test_discord_failing_to_post_the_answer_is_told_and_nothing_stored(
    harness: Harness, bot_warnings: BotWarnings
) -> None:
    harness.discord.fail_next("POST", CHANNEL_MESSAGES, 503, {"code": 0, "message": "Service Unavailable"})
    harness.model.enqueue(answer("Lost to Discord."))
    asked = await harness.ask("hi")
    assert await reply_texts(harness, asked) == [DISCORD_FAILURE]
    # The model did answer (and bill): its tokens count once; the exchange nobody saw is not stored.
    await assert_recorded(harness, turns=0, requests=1, failed=0, tokens=USAGE_TOKENS)
    assert bot_warnings.errors == [], "an expected Discord failure is no crash"
    await assert_still_answers(harness)


async def test_a_failing_typing_indicator_does_not_stop_the_answer(harness: Harness) -> None:
    harness.discord.fail_next("POST", r"/typing$", 403, {"code": 50013, "message": "Missing Permissions"})
    harness.model.enqueue(answer("Typed or not."))
    asked = await harness.ask("hi")
    assert await reply_texts(harness, asked) == ["Typed or not."]
    await assert_recorded(harness, turns=2, requests=1, failed=0, tokens=USAGE_TOKENS)


# --- permission lost and things deleted mid-answer -------------------------------------------------


@STREAM_MODES
async def test_losing_send_messages_mid_answer_logs_one_clear_warning(
    harness: Harness, bot_warnings: BotWarnings
) -> None:
    release = await answer_held_until(harness)
    asked = await harness.ask("hi")
    await harness.model.wait_requests(1)
    await set_bot_denied(harness, harness.channel, SEND_MESSAGES)
    release.set()
    [warning] = await bot_warnings.wait()
    assert warning.startswith("WARNING") and "Send Messages" in warning and "#general" in warning
    await assert_recorded(harness, turns=0, requests=1, failed=0, tokens=USAGE_TOKENS)
    assert [m for m in harness.discord.bot_messages(harness.channel) if int(m["id"]) > int(asked["id"])] == []
    await set_bot_denied(harness, harness.channel, 0)
    await assert_still_answers(harness)
    assert bot_warnings.lines == [warning]  # one line, and no attempt to post the failure anyway


async def test_losing_send_messages_in_threads_names_that_permission(
    harness: Harness, bot_warnings: BotWarnings
) -> None:
    harness.model.enqueue(answer("Opening answer."), answer("Never posted."))
    await harness.discord.slash("chat", {"prompt": "a topic"}, channel=harness.channel, author=harness.alice)
    await harness.discord.wait_for(lambda: bool(harness.discord.threads_of(harness.channel)))
    [thread] = harness.discord.threads_of(harness.channel)
    await harness.discord.wait_for(lambda: len(harness.discord.bot_messages(thread)) == 2)
    await set_bot_denied(harness, harness.channel, SEND_MESSAGES_IN_THREADS)  # threads follow their parent
    await harness.discord.user_says(thread, harness.alice, "and a follow-up")
    [warning] = await bot_warnings.wait()
    assert "Send Messages in Threads" in warning and "#a topic" in warning
    assert len(harness.discord.bot_messages(thread)) == 2
    await assert_recorded(harness, turns=2, requests=2, failed=0, tokens=2 * USAGE_TOKENS, channel=thread.id)


@STREAM_MODES
async def test_a_question_deleted_mid_answer_is_still_answered(harness: Harness) -> None:
    release = await answer_held_until(harness, "For the record.")
    asked = await harness.ask("hi")
    await harness.model.wait_requests(1)
    await harness.discord.user_deletes(int(asked["id"]))
    release.set()
    assert await reply_texts(harness, asked) == ["For the record."]
    [posted] = [m for m in harness.discord.bot_messages(harness.channel) if int(m["id"]) > int(asked["id"])]
    assert "message_reference" not in posted  # nothing left to reply to
    await assert_recorded(harness, turns=2, requests=1, failed=0, tokens=USAGE_TOKENS)


@STREAM_MODES
async def test_a_channel_deleted_mid_answer_logs_one_clear_line(
    harness: Harness, bot_warnings: BotWarnings
) -> None:
    doomed = harness.discord.add_text_channel(harness.guild, "doomed")
    release = await answer_held_until(harness)
    await harness.ask("hi", channel=doomed)
    await harness.model.wait_requests(1)
    await harness.discord.delete_channel(doomed)
    release.set()
    [line] = await bot_warnings.wait()
    assert line.startswith("WARNING") and str(doomed.id) in line and "deleted" in line
    await assert_recorded(harness, turns=0, requests=1, failed=0, tokens=USAGE_TOKENS, channel=doomed.id)
    await assert_still_answers(harness)
    assert bot_warnings.lines == [line]


@STREAMED_ONLY
async def test_an_answer_deleted_while_it_streams_stops_and_says_so(
    harness: Harness, bot_warnings: BotWarnings
) -> None:
    words = " ".join(f"word{n}" for n in range(400))
    reply = answer(words)
    reply.chunk_size, reply.chunk_delay_seconds = 10, 0.02  # about 5 s of stream, unless the bot leaves
    harness.model.enqueue(reply)
    asked = await harness.ask("a long one")
    [first] = await harness.replies_to(asked)
    await harness.discord.user_deletes(int(first["id"]))
    assert await reply_texts(harness, asked) == [ANSWER_DELETED]
    assert bot_warnings.errors == []
    # The bot stopped reading the model's stream instead of paying for the rest of the answer.
    request = await harness.model.wait_answered(1)
    assert request.abandoned and request.content_chunks_sent < len(words) // reply.chunk_size
    # What the model generated until then is counted, estimated (its usage never came).
    tally = await ledger(harness)
    assert (tally.requests, tally.estimated_requests, tally.failed_requests) == (1, 1, 0)
    assert tally.total_tokens > 0 and await harness.stored_turns() == 0
    await assert_still_answers(harness)


async def test_an_expired_interaction_is_logged_once_and_nothing_stored(
    harness: Harness, bot_warnings: BotWarnings
) -> None:
    harness.discord.interactions.token_seconds = 0.0  # as if the answer took longer than 15 minutes
    harness.model.enqueue(answer("Too late."))
    await harness.discord.slash(
        "ask", {"question": "slow one"}, channel=harness.channel, author=harness.alice
    )
    [line] = await bot_warnings.wait()
    assert line.startswith("WARNING") and "expired" in line
    await assert_recorded(harness, turns=0, requests=1, failed=0, tokens=USAGE_TOKENS)
    harness.discord.interactions.token_seconds = 15 * 60
    await assert_still_answers(harness)
    assert bot_warnings.lines == [line]
