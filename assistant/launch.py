"""The process around the bot: the command line, logging, start-up failures, signals and shutdown.

`python bot.py` calls :func:`main` with the bot class; nothing here imports :mod:`bot`, so the
entry point stays one file deep. Every start-up mistake ends as one line with its fix and an exit
status (2 for settings), never a traceback.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import os
import signal
import sys
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

import aiohttp
import discord
import yarl

from assistant import __version__, migrate, preflight
from assistant.settings import PROJECT_FOLDER, Settings, SettingsError
from assistant.startup import EXIT_BAD_SETTINGS, StartupError, load_env_file, open_database
from storage.connect import describe

if TYPE_CHECKING:
    from bot import AssistantBot

log = logging.getLogger("bot")

ENV_FILE = PROJECT_FOLDER / ".env"
EXIT_FAILED = 1

BotFactory = Callable[..., "AssistantBot"]


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


async def run(settings: Settings, make_bot: BotFactory) -> None:
    """Run the bot; if the portal has the Message Content intent off, run on without it."""
    log.info(
        "Starting the assistant %s: model %s at %s, database %s",
        __version__, settings.evolink_model, settings.evolink_base_url, describe(settings.database),
    )  # fmt: skip
    try:
        await serve(make_bot(settings))
    except discord.PrivilegedIntentsRequired:
        log.warning(
            "The Message Content intent is off in the Developer Portal, so the bot runs without it: "
            "mentions and slash commands work, but /chat thread follow-ups need a mention. To fix it, "
            "turn on 'Message Content Intent' (your application → Bot → Privileged Gateway Intents)."
        )
        await serve(make_bot(settings, message_content=False))


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


def main(argv: Sequence[str] | None, make_bot: BotFactory) -> int:
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
        asyncio.run(run(settings, make_bot))
    except discord.LoginFailure:
        log.error("Discord rejected DISCORD_TOKEN: copy the token again from the Developer Portal (Bot tab).")
        return EXIT_FAILED
    except StartupError as exc:
        log.error("%s", exc)
        return exc.exit_code
    return 0
