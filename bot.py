"""Entry point: `python bot.py` runs the assistant with the settings from the environment / `.env`.

This file holds the bot itself (:class:`AssistantBot`: its resources, services, cogs and commands);
the command line and the process around it (logging, signals, start-up failures, `--check`,
`--migrate-to`) are in :mod:`assistant.launch`.
"""

from __future__ import annotations

import sys

# Before any import that needs a newer Python, so an old one gets one line instead of a traceback.
if sys.version_info < (3, 11):  # noqa: UP036 - the check is the point
    sys.exit(
        f"This bot needs Python 3.11 or newer; this is Python {sys.version.split()[0]}. "
        "Install a newer Python and run it with that (e.g. python3.11 bot.py)."
    )

import asyncio
import gc
import logging
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime

import aiohttp
import discord
from discord.ext import commands

from assistant import launch
from assistant.answering import Answerer
from assistant.attachments.download import Downloader
from assistant.attachments.reader import AttachmentReader
from assistant.budgets.quotas import Budgets, QuotaService
from assistant.context import ContextBuilder, turn_tokens
from assistant.delivery import gating
from assistant.delivery.requests import RequestBudget
from assistant.delivery.streaming import EDIT_INTERVAL_SECONDS
from assistant.model.completions import DEFAULT_RETRY, CompletionsClient, RetryPolicy, Timeouts
from assistant.model.tokens import load_encoding
from assistant.observability import discord_http
from assistant.observability.server import MetricsServer, serve_metrics
from assistant.policy import Policy
from assistant.reporting import AssistantTree
from assistant.settings import Settings
from assistant.shards import describe_shards
from assistant.startup import EXIT_BAD_SETTINGS, StartupError, open_database
from storage.backend import Storage
from storage.history import HistoryStore
from storage.threads import ThreadStore

log = logging.getLogger("bot")

EXTENSIONS = (
    "cogs.mentions",
    "cogs.ask",
    "cogs.chat",
    "cogs.reset",
    "cogs.quota",
    "cogs.summarize",
    "cogs.config",
    "cogs.ask_about",
)
# Discord's JSON error code when the bot is not in a server it addresses.
MISSING_ACCESS = 50001
# How long the ledger of answered messages remembers one: far past any deploy's overlap.
ANSWERED_KEPT_SECONDS = 7 * 86_400


def utc_now() -> datetime:
    """Return the current time in UTC (the bot's clock, replaceable in tests)."""
    return datetime.now(UTC)


class AssistantBot(commands.AutoShardedBot):
    """The assistant, running this process's shards: owns the HTTP session, the database and the services."""

    session: aiohttp.ClientSession
    storage: Storage
    history: HistoryStore
    threads: ThreadStore
    quotas: QuotaService
    policy: Policy
    answerer: Answerer

    def __init__(
        self,
        settings: Settings,
        *,
        guild_ready_timeout: float = 2.0,
        clock: Callable[[], datetime] = utc_now,
        retry: RetryPolicy = DEFAULT_RETRY,
        message_content: bool = True,
        edit_interval_seconds: float = EDIT_INTERVAL_SECONDS,
        discord_route_limits: bool = True,
    ) -> None:
        intents = discord.Intents.default()
        # Without it, thread follow-ups arrive empty; mentions and slash commands still work.
        intents.message_content = message_content
        super().__init__(
            command_prefix=commands.when_mentioned,
            help_command=None,
            intents=intents,
            tree_cls=AssistantTree,
            # Nothing the model writes may ping anyone: every send and edit inherits this.
            allowed_mentions=discord.AllowedMentions.none(),
            guild_ready_timeout=guild_ready_timeout,
            # None, discord.py's default, traces nothing; its annotation leaves None out.
            http_trace=discord_http.trace_config() if settings.metrics_address else None,  # type: ignore[arg-type]
            **launch.sharding_of(settings),
        )
        self.settings = settings
        self.metrics: MetricsServer | None = None
        self.clock = clock
        self._retry = retry
        self._edit_interval_seconds = edit_interval_seconds
        # Every counted Discord request of this process takes a slot of one bot-wide budget.
        self.requests = RequestBudget(settings.discord_requests_per_second, route_limits=discord_route_limits)
        gating.install(self.http, self.requests)
        self._closing: asyncio.Future[None] | None = None
        self._frozen = False

    @property
    def user_id(self) -> int:
        """Return the bot's user id (known once logged in)."""
        assert self.user is not None
        return self.user.id

    async def setup_hook(self) -> None:
        """Open every long-lived resource, load the cogs and sync the slash commands."""
        log.info(
            "Discord requests: at most %d per second from this process (Discord allows 50 per bot; "
            "processes sharing the bot's token must share that)",
            self.settings.discord_requests_per_second,
        )
        # No cap on connections: with aiohttp's default 100, the 101st answer streaming at once would
        # wait for a connection and fail as "could not reach the service".
        self.session = aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0))
        log.info("Running %s", describe_shards(self.settings.shard_ids, self.settings.shard_count))
        if not hasattr(self, "storage"):  # `serve` opens it before logging in
            self.storage = await open_database(self.settings)
        await self.storage.answered.prune(before_seconds=int(time.time()) - ANSWERED_KEPT_SECONDS)
        self.history = self.storage.history
        await asyncio.to_thread(load_encoding)  # the tokenizer, once (~0.4 s), off the event loop
        await self.history.recount(turn_tokens)
        self.threads = self.storage.threads
        log.info("%d conversation threads on record", await self.threads.load())
        self.policy = Policy(
            self.storage.settings, self.threads, default_effort=self.settings.reasoning_effort
        )
        log.info("%d servers with settings of their own", await self.policy.load())
        self.quotas = await self._open_quotas()
        self.answerer = self._build_answerer()
        for extension in EXTENSIONS:
            await self.load_extension(extension)
        await self.sync_commands()
        self.metrics = await serve_metrics(self, self.settings.metrics_address)

    def _build_answerer(self) -> Answerer:
        """Return the answering service, wired to the model, the history and the budgets."""
        settings = self.settings
        completions = CompletionsClient(
            self.session,
            base_url=settings.evolink_base_url,
            api_key=settings.evolink_api_key.reveal(),
            model=settings.evolink_model,
            timeouts=Timeouts(read_seconds=settings.request_timeout_seconds),
            retry=self._retry,
        )
        context = ContextBuilder(
            self.history,
            system_prompt=settings.system_prompt,
            budget_tokens=settings.context_tokens,
            images=self.storage.images,
            max_images=settings.max_images,
        )
        attachments = AttachmentReader(
            Downloader(self.session), max_images=settings.max_images, budget_tokens=settings.context_tokens
        )
        return Answerer(
            completions=completions,
            history=self.history,
            context=context,
            budgets=self.quotas,
            stream=settings.stream,
            requests=self.requests,
            edit_interval_seconds=self._edit_interval_seconds,
            channel_queue_limit=settings.channel_queue_limit,
            ledger=self.storage.answered,
            member_queue_limit=settings.member_queue_limit,
            attachments=attachments,
            images=self.storage.images,
            instructions=self.policy.instructions,
        )

    async def _open_quotas(self) -> QuotaService:
        """Return the daily token budgets, with reservations left by an earlier run released."""
        defaults = Budgets(self.settings.guild_daily_tokens, self.settings.user_daily_tokens)
        quotas = QuotaService(self.storage.usage, defaults=defaults, clock=self.clock)
        await quotas.clear_stale_reservations()
        return quotas

    async def sync_commands(self) -> None:
        """Register the slash commands: with one server at once when DEV_GUILD_ID is set, else globally."""
        if self.settings.dev_guild_id is not None:
            guild = discord.Object(id=self.settings.dev_guild_id)
            self.tree.copy_global_to(guild=guild)
            try:
                synced = await self.tree.sync(guild=guild)
            except discord.Forbidden as exc:
                if exc.code != MISSING_ACCESS:
                    raise
                raise StartupError(
                    f"DEV_GUILD_ID {guild.id} is a server this bot is not in (Discord: Missing Access). "
                    "Add the bot to that server with the invite link (see the README), or fix "
                    "DEV_GUILD_ID (right-click the server icon, Copy Server ID), or leave it empty.",
                    exit_code=EXIT_BAD_SETTINGS,
                ) from None
            log.info("Synced %d slash commands to server %s", len(synced), guild.id)
        else:
            synced = await self.tree.sync()
            log.info("Synced %d slash commands globally (they can take a while to appear)", len(synced))

    async def on_message(self, message: discord.Message) -> None:
        """Do nothing here: the bot has no text commands; the cogs listen for what they answer."""

    async def on_shard_ready(self, shard_id: int) -> None:
        """Log each shard's readiness: its servers have arrived."""
        count = sum(1 for guild in self.guilds if guild.shard_id == shard_id)
        log.info("Shard %d of %s ready with %d servers", shard_id, self.shard_count, count)

    async def on_ready(self) -> None:
        """Log who we are and where."""
        log.info("Ready as %s in %d servers", self.user, len(self.guilds))
        if not self._frozen:
            # Everything loaded by the first ready lives as long as the bot: keep it out of the
            # garbage collector's full passes, which otherwise stall the event loop for tens of
            # milliseconds. Once only: on_ready fires again after some reconnects.
            gc.freeze()
            self._frozen = True

    async def close(self) -> None:
        """Let answers in flight finish, disconnect, then close the session and the database, once."""
        if self._closing is None:
            self._closing = asyncio.ensure_future(self._close_everything())
        # Shielded: a caller cancelled mid-close must not leave the database half-closed.
        await asyncio.shield(self._closing)

    async def _close_everything(self) -> None:
        if hasattr(self, "answerer"):
            # While still connected, so members can be told if their answer cannot finish.
            await self.answerer.close(self.settings.shutdown_grace_seconds)
        await super().close()
        if hasattr(self, "session"):
            await self.session.close()
        if hasattr(self, "storage"):
            await self.storage.close()
        if self.metrics is not None:
            await self.metrics.close()


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line (the bot, `--check` or `--migrate-to`); return the exit status."""
    return launch.main(argv, AssistantBot)


if __name__ == "__main__":
    sys.exit(main())
