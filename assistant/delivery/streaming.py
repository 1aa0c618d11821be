"""Show a streamed answer as it is written: the first text at once, then paced edits.

The writer keeps the whole text received so far. The message being written shows its part of it
with a marker; once the text has grown well past what one message holds, that message is finished
at the same split point the splitter would choose for the whole answer (:func:`split_point`
decides from the first ``room + a few`` characters only), and the rest continues in a new message.
So the final messages are exactly :func:`split_message` of the final text: what the non-streaming
path posts. Every Discord operation after the first waits for its channel's pace.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Hashable
from typing import Any

from assistant.delivery.pacing import Pacer
from assistant.delivery.replies import ReplyTarget
from assistant.delivery.splitting import DISCORD_MESSAGE_LIMIT, Part, split_point

log = logging.getLogger(__name__)

# Shown at the end of a message while it is still being written; the final edit removes it.
STREAMING_MARKER = " ▌"
# split_point looks at most a fence marker's length past its window; wait for a little more
# text than that before finishing a message, so the cut equals the whole answer's cut.
LOOKAHEAD_CHARS = 16


class StreamWriter:
    """Writes one answer into Discord as its text streams in."""

    def __init__(
        self, target: ReplyTarget, pacer: Pacer, *, pace_key: Hashable, limit: int = DISCORD_MESSAGE_LIMIT
    ) -> None:
        self._target = target
        self._pacer = pacer
        self._pace_key = pace_key
        self._limit = limit
        self._text = ""
        self._pos = 0  # where the current message's body starts in _text
        self._prefix = ""  # the fence reopened at the top of the current message
        self._current: Any = None  # the Discord message being written, once sent
        self._shown = ""  # what the current message shows
        self._finished = False
        self._slot_taken = False  # a paced slot was waited for and not used yet
        self._changed = asyncio.Event()
        self._pump: asyncio.Task[None] | None = None
        self.message_ids: list[int] = []
        self.first_visible = asyncio.Event()

    @property
    def text(self) -> str:
        """Return everything received so far."""
        return self._text

    @property
    def failure(self) -> BaseException | None:
        """Return why posting failed for good, once it has: nothing more can be shown."""
        pump = self._pump
        if pump is None or not pump.done() or pump.cancelled():
            return None
        return pump.exception()

    def feed(self, text: str) -> None:
        """Take more of the answer; it is shown at the channel's next free slot."""
        self._text += text
        self._wake()

    async def finish(self, note: str = "") -> list[int]:
        """Append `note`, bring the messages to their final form and return their ids."""
        self._text += note
        self._finished = True
        self._wake()
        assert self._pump is not None
        await self._pump
        return self.message_ids

    async def abandon(self) -> None:
        """Stop writing without a final edit (the caller gives up on this answer)."""
        if self._pump is not None:
            self._pump.cancel()
            await asyncio.gather(self._pump, return_exceptions=True)

    def _wake(self) -> None:
        self._changed.set()
        if self._pump is None:
            self._pump = asyncio.create_task(self._run())

    async def _run(self) -> None:
        while True:
            await self._changed.wait()
            if self.message_ids:
                # Wait for the slot before reading the state, so the edit shows the latest text.
                await self._pacer.wait(self._pace_key)
                self._slot_taken = True
            self._changed.clear()
            final = self._finished
            await self._finish_full_parts(final)
            if final:
                return
            await self._show_current()

    async def _finish_full_parts(self, final: bool) -> None:
        """Finish every message whose cut is settled (all of them when the answer is complete)."""
        while self._pos < len(self._text):
            rest = self._text[self._pos :]
            room = self._limit - len(self._prefix)
            if not final and len(rest) <= room + LOOKAHEAD_CHARS:
                return
            cut, fence = split_point(rest, limit=self._limit, prefix=self._prefix)
            body = rest[:cut]
            part = Part(body, self._prefix, fence.closing(body) if fence and cut < len(rest) else "")
            await self._put(part.render(), final=True)
            self._pos += cut
            self._prefix = fence.opening if fence and cut < len(rest) else ""

    async def _show_current(self) -> None:
        """Show the current message's text so far, with the marker."""
        room = self._limit - len(self._prefix) - len(STREAMING_MARKER)
        visible = self._prefix + self._text[self._pos : self._pos + room]
        if visible.strip() and visible + STREAMING_MARKER != self._shown:
            await self._put(visible + STREAMING_MARKER, final=False)

    async def _put(self, content: str, *, final: bool) -> None:
        """Send or edit the current message; a finished one makes room for the next."""
        if not content.strip():
            return  # Discord rejects blank messages; the splitter drops such parts too
        if self._current is None:
            await self._before_operation()
            self._current = await self._target.send(content)
            self.message_ids.append(self._current.id)
            self.first_visible.set()
        elif content != self._shown:
            await self._before_operation()
            await self._target.edit(self._current, content)
        self._shown = content
        if final:
            self._current, self._shown = None, ""

    async def _before_operation(self) -> None:
        """Use the slot already waited for, or wait for one; the answer's first message never waits."""
        if self._slot_taken:
            self._slot_taken = False
        elif self.message_ids:
            await self._pacer.wait(self._pace_key)
        else:
            self._pacer.mark(self._pace_key)
