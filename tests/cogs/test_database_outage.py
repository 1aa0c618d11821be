"""PostgreSQL lost mid-run: a question gets a short "try again", nothing is half-written, the bot recovers."""

from __future__ import annotations

from assistant.reporting import DATABASE_UNAVAILABLE
from tests.conftest import Harness
from tests.fakes.completions import Reply
from tests.postgres import TestPostgres


async def mention(harness: Harness, text: str) -> str:
    """Have alice mention the bot and return the bot's reply."""
    [reply] = await harness.replies_to(await harness.ask(text))
    return str(reply["content"])


async def test_a_question_while_the_database_is_down_gets_try_again_then_the_bot_recovers(
    harness: Harness, postgres: TestPostgres
) -> None:
    await harness.stop_bot()
    bot = await harness.start_bot(postgres_url=await postgres.clean_database())
    harness.model.enqueue(Reply(text="First."))
    assert await mention(harness, "one?") == "First."
    await harness.settled()  # its usage recorded: the outage starts between questions

    postgres.pause()
    try:
        reply = await mention(harness, "two?")
    finally:
        postgres.resume()
    assert reply == DATABASE_UNAVAILABLE
    assert len(harness.model.requests) == 1  # the model was never asked, so nothing was spent

    harness.model.enqueue(Reply(text="Back."))
    assert await mention(harness, "three?") == "Back."
    assert await bot.history.count(harness.channel.id) == 4  # both exchanges whole, nothing of "two?"
    assert "alice: two?" not in harness.model.requests[-1].texts("user")
