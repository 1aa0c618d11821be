"""Helpers for the /config tests: run a subcommand as someone, read its one ephemeral line."""

from __future__ import annotations

from typing import Any

from tests.conftest import Harness
from tests.fakes.discord import FakeChannel, FakeInteraction, FakeUser


async def config(
    harness: Harness,
    sub: str,
    *,
    author: FakeUser | None = None,
    where: FakeChannel | None = None,
    **options: Any,
) -> str:
    """Run `/config <sub>` (as the admin, in #general unless told); return its ephemeral reply."""
    interaction = await run_config(harness, sub, author=author, where=where, **options)
    [reply] = interaction.messages()
    assert interaction.ephemeral
    return str(reply["content"])


async def run_config(
    harness: Harness,
    sub: str,
    *,
    author: FakeUser | None = None,
    where: FakeChannel | None = None,
    **options: Any,
) -> FakeInteraction:
    """Run `/config <sub>` and wait for its first message."""
    interaction = await harness.discord.slash(
        "config", options, channel=where or harness.channel, author=author or harness.admin, subcommand=sub
    )
    await harness.discord.wait_for(lambda: len(interaction.messages()) >= 1)
    return interaction


async def slash_reply(
    harness: Harness, name: str, author: FakeUser, channel: FakeChannel, **options: Any
) -> FakeInteraction:
    """Run a top-level command and wait for its first message."""
    interaction = await harness.discord.slash(name, options, channel=channel, author=author)
    await harness.discord.wait_for(lambda: len(interaction.messages()) >= 1)
    return interaction
