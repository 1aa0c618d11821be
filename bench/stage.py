"""The stage a benchmark plays on: the project's fake Discord and fake model, a server, its members.

The fake Discord enforces Discord's rate limits in every scenario. Everything listens on 127.0.0.1
and runs in the benchmark's event loop, so the fake Discord's request times, the fake model's times
and the benchmark's own are one clock. The bot runs either in
the same loop (:func:`running_bot`, the real :class:`~bot.AssistantBot`) or as a `python bot.py`
process (:meth:`Stage.bot_env`, for memory).

Each conversation is one member in one channel. A question carries a tag (``[c3r7]``:
conversation 3, round 7) so the model's request for it can be found again; the bot's answer is
found by its reply reference to the question.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
import re
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

from assistant.launch import point_discord_py_at
from assistant.settings import MAX_DAILY_TOKENS, Secret, Settings
from bot import AssistantBot
from tests.fakes.completions import FakeCompletions, RecordedCompletionRequest, Reply
from tests.fakes.discord import FakeChannel, FakeDiscord, FakeUser

log = logging.getLogger(__name__)

API_KEY = "sk-bench-key"
TAG = re.compile(r"\[(c\d+r\d+)\]")
READY_TIMEOUT_SECONDS = 60.0
# Discord's global limit for the scenarios that measure the bot itself rather than Discord's
# limit: what Discord grants a large bot. Per-channel limits stay Discord's; the load scenarios
# (bench/load.py) run at the 50 per second every bot has.
LARGE_BOT_GLOBAL_LIMIT = 1_000
# Budgets stay on (every answer pays for its reservation) but never refuse a benchmark question;
# a benchmark member asks again as soon as answered.
NEVER_REFUSE: dict[str, Any] = {
    "guild_daily_tokens": MAX_DAILY_TOKENS,
    "user_daily_tokens": MAX_DAILY_TOKENS,
}


@dataclasses.dataclass
class Asked:
    """A question the benchmark asked: where, its tag, and when the fake delivered it to the bot."""

    conversation: int
    tag: str
    message_id: int
    at: float


class ReplyTracker:
    """Notes when each question's answer first reaches the fake Discord (its request time).

    It re-reads only the requests that arrived since its last look, at every change the fake
    signals, so waiting on thousands of answers costs little.
    """

    def __init__(self, discord: FakeDiscord) -> None:
        self._discord = discord
        self._scanned = 0
        self._waiters: dict[int, asyncio.Future[float]] = {}
        self._stopped = False
        self.visible_at: dict[int, float] = {}  # question message id → first answer request time

    async def run(self) -> None:
        """Follow the fake's requests until :meth:`stop`."""
        await self._discord.wait_for(self._scan, timeout=10**9)

    def stop(self) -> None:
        """End :meth:`run` at the fake's next change (made at once)."""
        self._stopped = True
        self._discord.world.notify()

    async def answered(self, question_id: int) -> float:
        """Wait for the answer to a question and return when it became visible."""
        if question_id in self.visible_at:
            return self.visible_at[question_id]
        waiter = self._waiters.setdefault(question_id, asyncio.get_running_loop().create_future())
        return await waiter

    def _scan(self) -> bool:
        requests = self._discord.requests
        while self._scanned < len(requests) and requests[self._scanned].status:
            request = requests[self._scanned]
            self._scanned += 1
            reference = (request.json or {}).get("message_reference") if request.method == "POST" else None
            if reference and request.path.endswith("/messages"):
                self._seen(int(reference["message_id"]), request.time)
        return self._stopped

    def _seen(self, question_id: int, at: float) -> None:
        if question_id in self.visible_at:
            return  # a later part of the same answer
        self.visible_at[question_id] = at
        waiter = self._waiters.pop(question_id, None)
        if waiter is not None and not waiter.done():
            waiter.set_result(at)


class Stage:
    """The fakes, one server with a channel and a member per conversation, and the reply tracker."""

    def __init__(
        self, conversations: int, *, prompt_cache: bool = False, global_limit: int = LARGE_BOT_GLOBAL_LIMIT
    ) -> None:
        # Discord's rate limits always hold; `global_limit` is the bot's per-second allowance.
        self.discord = FakeDiscord(rate_limits=True)
        self.discord.rate_limits.global_per_second = global_limit
        # The bot's budget keeps a tenth in hand, as the default 45 of 50 does.
        self.requests_per_second = global_limit * 9 // 10
        self.model = FakeCompletions(api_key=API_KEY, prompt_cache=prompt_cache)
        self.conversations = conversations
        self.channels: list[FakeChannel] = []
        self.members: list[FakeUser] = []
        self.tracker = ReplyTracker(self.discord)
        self._tracking: asyncio.Task[None] | None = None

    async def __aenter__(self) -> Stage:
        await self.discord.start()
        await self.model.start()
        guild = self.discord.add_guild("Bench Server")
        self.guild_id = guild.id
        # Added before the bot connects: they arrive in GUILD_CREATE instead of one event each.
        for n in range(self.conversations):
            self.channels.append(self.discord.add_text_channel(guild, f"bench-{n}"))
            self.members.append(self.discord.add_member(guild, f"member{n}"))
        self._tracking = asyncio.create_task(self.tracker.run())
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        self.tracker.stop()
        if self._tracking is not None:
            await self._tracking
        await self.model.close()
        await self.discord.close()

    def answer_with(self, reply: Callable[[RecordedCompletionRequest], Reply]) -> None:
        """Have the model answer every request with `reply(request)`."""
        self.model.default = reply

    def settings(self, database_path: Path, **overrides: Any) -> Settings:
        """Return the bot's settings for this stage (defaults otherwise, budgets that never refuse)."""
        base = Settings(
            discord_token=Secret(self.discord.token),
            evolink_api_key=Secret(API_KEY),
            evolink_base_url=self.model.base_url,
            database_path=database_path,
            dev_guild_id=self.guild_id,
            discord_api_base=self.discord.api_base,
            discord_gateway_url=self.discord.gateway_url,
            discord_requests_per_second=self.requests_per_second,
            **NEVER_REFUSE,
        )
        return dataclasses.replace(base, **overrides)

    def bot_env(self, database_path: Path, **overrides: str) -> dict[str, str]:
        """Return the environment for a `python bot.py` process on this stage."""
        env = {
            "DISCORD_TOKEN": self.discord.token,
            "EVOLINK_API_KEY": API_KEY,
            "EVOLINK_BASE_URL": self.model.base_url,
            "DATABASE_URL": f"sqlite:///{database_path.resolve()}",
            "DEV_GUILD_ID": str(self.guild_id),
            "GUILD_DAILY_TOKENS": str(MAX_DAILY_TOKENS),
            "USER_DAILY_TOKENS": str(MAX_DAILY_TOKENS),
            "LOG_LEVEL": "WARNING",
            "DISCORD_REQUESTS_PER_SECOND": str(self.requests_per_second),
            **self.discord.env(),
        }
        env.update(overrides)
        return env

    async def ask(self, conversation: int, round_number: int, text: str = "what next?") -> Asked:
        """Have the conversation's member mention the bot with a tagged question."""
        tag = f"c{conversation}r{round_number}"
        content = f"<@{self.discord.bot_user.id}> [{tag}] {text}"
        message = await self.discord.user_says(
            self.channels[conversation], self.members[conversation], content
        )
        # The event has just been written to the bot's websocket, and the bot (in this same event
        # loop) cannot have read it yet: this is when Discord delivered the question.
        return Asked(conversation, tag, int(message["id"]), asyncio.get_running_loop().time())

    def model_requests(self) -> dict[str, RecordedCompletionRequest]:
        """Return the model's requests by the tag of the question they answer."""
        found: dict[str, RecordedCompletionRequest] = {}
        for request in self.model.requests:
            users = [m.get("content", "") for m in request.messages if m.get("role") == "user"]
            match = TAG.search(users[-1]) if users else None
            if match:
                found[match.group(1)] = request
        return found


@contextlib.asynccontextmanager
async def running_bot(settings: Settings, **bot_options: Any) -> AsyncIterator[AssistantBot]:
    """Run the real bot in this event loop until the block ends."""
    point_discord_py_at(settings)
    bot = AssistantBot(settings, guild_ready_timeout=0.1, **bot_options)
    task = asyncio.create_task(bot.start(settings.discord_token.reveal()))
    ready = asyncio.create_task(bot.wait_until_ready())
    done, _ = await asyncio.wait(
        {ready, task}, timeout=READY_TIMEOUT_SECONDS, return_when=asyncio.FIRST_COMPLETED
    )
    if ready not in done:
        ready.cancel()
        await bot.close()
        if task in done:
            task.result()  # surfaces the crash
        raise RuntimeError("the bot did not become ready")
    try:
        yield bot
    finally:
        await bot.close()
        await task
