"""Where answers go: a member's message, an interaction's followups, or a channel such as a thread.

Each target sends one part at a time with no mentions parsed, and shows that the bot is working
while the model thinks ("typing…" is the least of the bot's requests: dropped when the request budget
is short, never cut off mid-request). The answering service only sees the :class:`ReplyTarget` protocol.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from contextlib import AbstractAsyncContextManager
from typing import Any, Protocol

import discord

from assistant.delivery.requests import Priority, RequestDropped, priority

log = logging.getLogger(__name__)

NO_MENTIONS = discord.AllowedMentions.none()
# Discord shows "typing…" for 10 s after each trigger; refresh a little before it lapses.
TYPING_REFRESH_SECONDS = 8.0
# Loop turns given to the caller before the first "typing…" request, so the model request it is
# about to make goes out first and never waits behind this one.
TYPING_HEAD_START_TURNS = 3
# When the request budget had no room for "typing…", how long until the next try.
TYPING_RETRY_SECONDS = 1.0


class ReplyTarget(Protocol):
    """Somewhere an answer can be posted."""

    @property
    def channel_id(self) -> int:
        """Return the channel the answer goes to (Discord limits writes per channel)."""
        ...

    @property
    def budgeted(self) -> bool:
        """Tell whether writes here count against the bot's global limit (webhooks do not)."""
        ...

    @property
    def max_messages(self) -> int | None:
        """Return how many messages this target may post at most (None: no limit)."""
        ...

    async def send(self, content: str) -> Any:
        """Post one message (at most 2,000 characters) and return it."""
        ...

    async def edit(self, message: Any, content: str) -> None:
        """Replace the content of a message this target sent."""
        ...

    def working(self) -> AbstractAsyncContextManager[None]:
        """Show that an answer is on its way for as long as the context is open."""
        ...


class MessageReply:
    """Answers a member's message: the first part replies to it, the rest follow in the channel."""

    max_messages: int | None = None

    def __init__(self, message: discord.Message) -> None:
        self._message = message
        self._sent = 0

    async def send(self, content: str) -> discord.Message:
        """Post the next part."""
        self._sent += 1
        if self._sent == 1:
            # If the member deleted their message meanwhile, still answer, just not as a reply.
            reference = self._message.to_reference(fail_if_not_exists=False)
            return await self._message.channel.send(
                content, reference=reference, allowed_mentions=NO_MENTIONS
            )
        return await self._message.channel.send(content, allowed_mentions=NO_MENTIONS)

    async def edit(self, message: discord.Message, content: str) -> None:
        """Replace a part's content."""
        await message.edit(content=content, allowed_mentions=NO_MENTIONS)

    @property
    def channel_id(self) -> int:
        """Return the message's channel."""
        return self._message.channel.id

    @property
    def budgeted(self) -> bool:
        """Channel messages count against the global limit."""
        return True

    def working(self) -> AbstractAsyncContextManager[None]:
        """Show the typing indicator."""
        return typing_indicator(self._message.channel)


class ChannelReply:
    """Posts into a channel or thread without replying to anything."""

    max_messages: int | None = None

    def __init__(self, channel: discord.abc.Messageable) -> None:
        self._channel = channel

    async def send(self, content: str) -> discord.Message:
        """Post the next part."""
        return await self._channel.send(content, allowed_mentions=NO_MENTIONS)

    async def edit(self, message: discord.Message, content: str) -> None:
        """Replace a part's content."""
        await message.edit(content=content, allowed_mentions=NO_MENTIONS)

    @property
    def channel_id(self) -> int:
        """Return the channel."""
        return int(getattr(self._channel, "id", 0))

    @property
    def budgeted(self) -> bool:
        """Channel messages count against the global limit."""
        return True

    def working(self) -> AbstractAsyncContextManager[None]:
        """Show the typing indicator."""
        return typing_indicator(self._channel)


class InteractionReply:
    """Answers a deferred slash command with followups (the first replaces "is thinking…")."""

    def __init__(
        self, interaction: discord.Interaction, *, ephemeral: bool, max_messages: int | None = None
    ) -> None:
        self._interaction = interaction
        self._ephemeral = ephemeral
        # Discord's followup limit where only a user install lets the app answer.
        self.max_messages = max_messages

    async def send(self, content: str) -> discord.WebhookMessage:
        """Post the next part."""
        return await self._interaction.followup.send(
            content, ephemeral=self._ephemeral, allowed_mentions=NO_MENTIONS, wait=True
        )

    async def edit(self, message: discord.WebhookMessage, content: str) -> None:
        """Replace a part's content (through the interaction's webhook, which works for ephemeral ones)."""
        await self._interaction.followup.edit_message(
            message.id, content=content, allowed_mentions=NO_MENTIONS
        )

    @property
    def channel_id(self) -> int:
        """Return the interaction's channel."""
        return self._interaction.channel_id or 0

    @property
    def budgeted(self) -> bool:
        """Followups and their edits go through the interaction's webhook: exempt."""
        return False

    def working(self) -> AbstractAsyncContextManager[None]:
        """Nothing to do: the deferred response already shows "is thinking…"."""
        return contextlib.nullcontext()


@contextlib.asynccontextmanager
async def typing_indicator(channel: discord.abc.Messageable) -> AsyncIterator[None]:
    """Keep "typing…" showing in `channel`; a failure to show it never fails the answer."""
    task = asyncio.create_task(_keep_typing(channel))
    try:
        yield
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


async def _keep_typing(channel: discord.abc.Messageable) -> None:
    for _ in range(TYPING_HEAD_START_TURNS):
        await asyncio.sleep(0)
    while True:
        try:
            with priority(Priority.TYPING):
                await channel.typing()
        except RequestDropped:
            await asyncio.sleep(TYPING_RETRY_SECONDS)  # the budget is short: try again later
            continue
        except discord.HTTPException as exc:
            log.debug("Could not show typing in channel: %s", exc)
            return
        await asyncio.sleep(TYPING_REFRESH_SECONDS)
