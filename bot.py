"""Entry point: `python bot.py` runs the assistant with the settings from the environment / `.env`."""

from __future__ import annotations

import sys

# Before any import that needs a newer Python, so an old one gets one line instead of a traceback.
if sys.version_info < (3, 11):  # noqa: UP036 - the check is the point
    sys.exit(
        f"This bot needs Python 3.11 or newer; this is Python {sys.version.split()[0]}. "
        "Install a newer Python and run it with that (e.g. python3.11 bot.py)."
    )

import argparse
import asyncio
import contextlib
import gc
import logging
import os
import signal
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import aiohttp
import discord
import yarl
from discord.ext import commands

from assistant import __version__, migrate, preflight
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
from assistant.settings import Settings, SettingsError
from assistant.shards import describe_shards
from assistant.startup import EXIT_BAD_SETTINGS, StartupError, load_env_file, open_database
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
ENV_FILE = Path(__file__).resolve().with_name(".env")
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
            **sharding_of(settings),
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
        self.session = aiohttp.ClientSession()
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


def sharding_of(settings: Settings) -> dict[str, Any]:
    """Return AutoShardedBot's shard arguments (none: Discord's recommended count, all here)."""
    sharding: dict[str, Any] = {"shard_count": settings.shard_count}
    if settings.shard_ids is not None:
        sharding["shard_ids"] = list(settings.shard_ids)
    return sharding


def point_discord_py_at(settings: Settings) -> None:
    """Use another Discord-compatible endpoint when configured (self-hosted gateways, tests)."""
    # The bot has no voice: discord.py's warnings about voice libraries would only confuse.
    discord.VoiceClient.warn_nacl = False
    discord.VoiceClient.warn_dave = False
    if settings.discord_api_base:
        discord.http.Route.BASE = settings.discord_api_base
    if settings.discord_gateway_url:
        discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY = yarl.URL(settings.discord_gateway_url)


def configure_logging(level: str) -> None:
    """Log to stdout, once, for every module."""
    handler = logging.StreamHandler(sys.stdout)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)-8s %(name)s: %(message)s"))
    logging.basicConfig(level=level, handlers=[handler], force=True)
    logging.getLogger("discord.gateway").setLevel(max(logging.getLevelName(level), logging.INFO))


async def run(settings: Settings) -> None:
    """Run the bot; if the portal has the Message Content intent off, run on without it."""
    log.info(
        "Starting the assistant %s: model %s at %s, database %s",
        __version__, settings.evolink_model, settings.evolink_base_url, settings.database,
    )  # fmt: skip
    try:
        await serve(AssistantBot(settings))
    except discord.PrivilegedIntentsRequired:
        log.warning(
            "The Message Content intent is off in the Developer Portal, so the bot runs without it: "
            "mentions and slash commands work, but /chat thread follow-ups need a mention. To fix it, "
            "turn on 'Message Content Intent' (your application → Bot → Privileged Gateway Intents)."
        )
        await serve(AssistantBot(settings, message_content=False))


async def serve(bot: AssistantBot) -> None:
    """Run `bot` until Discord disconnects for good or SIGTERM/SIGINT asks it to stop."""
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, lambda: asyncio.ensure_future(bot.close()))
    # Opened before logging in, so a wrong DATABASE_URL is found before anything goes online (and
    # before there is a connection to close: a sharded client cannot close before it logged in).
    bot.storage = await open_database(bot.settings)
    try:
        with contextlib.suppress(asyncio.CancelledError):
            await login(bot)
            await bot.connect()
    finally:
        # discord.py's own __aexit__ skips close() once Discord is closed; ours must still run to the end.
        await bot.close()
    log.info("Stopped cleanly")


async def login(bot: AssistantBot) -> None:
    """Log in to Discord's REST API (and run setup_hook), or raise StartupError if it is unreachable."""
    try:
        await bot.login(bot.settings.discord_token.reveal())
    except aiohttp.ClientConnectionError as exc:
        where = bot.settings.discord_api_base or "discord.com"
        raise StartupError(
            f"Cannot reach Discord at {where} ({type(exc).__name__}): check this machine's internet "
            "connection, DNS and firewall"
            + (", and DISCORD_API_BASE." if bot.settings.discord_api_base else ".")
        ) from None


def parse_arguments(argv: Sequence[str] | None) -> argparse.Namespace:
    """Read the command line: nothing runs the bot, `--check` checks the setup instead."""
    parser = argparse.ArgumentParser(description="The GPT-5.2 assistant for your Discord server.")
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    parser.add_argument(
        "--check",
        action="store_true",
        help="check the settings, the database, the API key and the Discord token, then exit",
    )
    parser.add_argument(
        "--migrate-to",
        metavar="DATABASE_URL",
        help="copy every table of the database into another, empty one (stop the bot first), then exit",
    )
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    """Load the settings, then run the bot or the preflight; a bad setting is one line and exit status 2."""
    arguments = parse_arguments(argv)
    try:
        note = load_env_file(ENV_FILE)
        settings = Settings.from_env(os.environ)
    except (SettingsError, StartupError) as exc:
        print(f"Configuration error: {exc}", file=sys.stderr)
        return EXIT_BAD_SETTINGS
    if note:
        print(f"Note: {note}", file=sys.stderr)
    if arguments.check:
        return preflight.run(settings)
    if arguments.migrate_to:
        return migrate.run(settings, arguments.migrate_to)
    configure_logging(settings.log_level)
    point_discord_py_at(settings)
    try:
        asyncio.run(run(settings))
    except discord.LoginFailure:
        log.error("Discord rejected DISCORD_TOKEN: copy the token again from the Developer Portal (Bot tab).")
        return 1
    except StartupError as exc:
        log.error("%s", exc)
        return exc.exit_code
    return 0


if __name__ == "__main__":
    sys.exit(main())
