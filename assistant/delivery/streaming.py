"""Show a streamed answer as it is written: the first text at once, then edits as the budget allows.

The writer keeps the whole text received so far. The message being written shows its part of it
with a marker; once the text has grown well past what one message holds, that message is finished
at the same split point the splitter would choose for the whole answer (it waits until
:func:`settled` says no text still to come can change that cut), and the rest continues in a new
message. So the final messages are exactly :func:`split_message` of the final text: what the
non-streaming path posts.

Every write takes its request slot first and decides what to send once it has it, so it always
shows the latest text: new messages and final text are urgent, edits of text still being written
are intermediate, at most one per ``interval_seconds``, and give way when the answer finishes (an
overtaken edit is never sent). The first message waits a moment for more text, so a short answer
that arrives whole at once is posted once, not posted and then edited.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any

from assistant.delivery.replies import ReplyTarget
from assistant.delivery.requests import CREATE, EDIT, Claim, Priority, RequestBudget, Slot, prepaid
from assistant.delivery.splitting import DISCORD_MESSAGE_LIMIT, Part, settled, split_point, with_note

log = logging.getLogger(__name__)

# Shown at the end of a message while it is still being written; the final edit removes it.
STREAMING_MARKER = " ▌"
# Edits of text still being written, per answer: the budget lets a channel make 3 of them per
# 5.25 s (Discord allows 5 per 5 s; the rest are kept for final text), so one every 1.75 s.
EDIT_INTERVAL_SECONDS = 1.75
# How long the first message waits for more text: an answer complete by then is posted once.
FIRST_POST_HOLD_SECONDS = 0.2


class StreamWriter:
    """Writes one answer into Discord as its text streams in."""

    def __init__(
        self,
        target: ReplyTarget,
        budget: RequestBudget,
        *,
        interval_seconds: float = EDIT_INTERVAL_SECONDS,
        hold_seconds: float = FIRST_POST_HOLD_SECONDS,
        limit: int = DISCORD_MESSAGE_LIMIT,
    ) -> None:
        self._target = target
        self._budget = budget if target.budgeted else None
        # The first message and the final text are claimed as soon as the answer starts.
        self._claim: Claim | None = self._budget.claim(2) if self._budget else None
        self._interval = interval_seconds
        self._hold = hold_seconds
        self._limit = limit
        self._text = ""
        self._pos = 0  # where the current message's body starts in _text
        self._prefix = ""  # the fence reopened at the top of the current message
        self._current: Any = None  # the Discord message being written, once sent
        self._shown = ""  # what the current message shows
        self._finished = False
        self._slot: Slot | None = None  # a slot taken for the next write and not used yet
        self._slot_route: str | None = None  # the route it was taken for
        self._last_edit = float("-inf")  # loop time of the last intermediate write
        self._changed = asyncio.Event()
        self._ended = asyncio.Event()  # no more text comes (a note may)
        self._final = asyncio.Event()  # the text is complete: finish() was called
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
        """Take more of the answer; it is shown at the next edit the budget allows."""
        self._text += text
        self._wake()

    def end(self) -> None:
        """Note that no more text comes: nothing more is held back or edited before the final text."""
        self._ended.set()

    async def finish(self, note: str = "") -> list[int]:
        """Append `note` (after closing an open code block), finish the messages and return their ids."""
        self._text = with_note(self._text, note)
        self._finished = True
        self._ended.set()
        self._final.set()
        self._wake()
        assert self._pump is not None
        try:
            await self._pump
        finally:
            self.release()
        return self.message_ids

    async def abandon(self) -> None:
        """Stop writing without a final edit (the caller gives up on this answer)."""
        if self._pump is not None:
            self._pump.cancel()
            await asyncio.gather(self._pump, return_exceptions=True)
        self.release()

    def release(self) -> None:
        """Give the request budget back the room this answer held (once done with it)."""
        if self._claim is not None:
            self._claim.close()
        if self._slot is not None:
            self._slot.release()
            self._slot = None

    def _wake(self) -> None:
        self._changed.set()
        if self._pump is None:
            self._pump = asyncio.create_task(self._run())

    async def _run(self) -> None:
        while True:
            await self._changed.wait()
            if not self._ended.is_set():
                await self._pause()
            if self._ended.is_set():
                await self._final.wait()  # the final text is on its way: no intermediate write
            self._changed.clear()
            final = self._finished
            await self._finish_full_parts(final)
            if final:
                return
            await self._show_current()

    async def _pause(self) -> None:
        """Hold the first message a moment, later edits until the interval has passed; not past the end."""
        if self._current is None and not self.message_ids:
            delay = self._hold
        else:
            delay = self._last_edit + self._interval - asyncio.get_running_loop().time()
        if delay > 0:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._ended.wait(), delay)

    async def _finish_full_parts(self, final: bool) -> None:
        """Finish every message whose cut is settled (all of them when the answer is complete)."""
        while self._pos < len(self._text):
            rest = self._text[self._pos :]
            if not final and not settled(rest, limit=self._limit, prefix=self._prefix):
                return
            cut, carry = split_point(rest, limit=self._limit, prefix=self._prefix)
            body = rest[:cut]
            part = Part(body, self._prefix, carry.closing(body) if carry and cut < len(rest) else "")
            await self._put(part.render(), final=True)
            self._pos += cut
            self._prefix = carry.opening(body) if carry and cut < len(rest) else ""

    async def _show_current(self) -> None:
        """Show the current message's text so far, with the marker, once a slot is free."""
        if not self._visible().strip() or self._visible() + STREAMING_MARKER == self._shown:
            return
        # A new message waits its turn even if the answer ends meanwhile; an edit gives way to the end.
        urgent = self._current is None
        if not await self._take_slot(urgent=urgent, yield_to_end=not urgent):
            return  # the answer finished meanwhile: its final text goes instead
        if self._finished:
            return  # the slot stays in hand for the final text
        self._last_edit = asyncio.get_running_loop().time()
        await self._put(self._visible() + STREAMING_MARKER, final=False)

    def _visible(self) -> str:
        room = self._limit - len(self._prefix) - len(STREAMING_MARKER)
        return self._prefix + self._text[self._pos : self._pos + room]

    async def _put(self, content: str, *, final: bool) -> None:
        """Send or edit the current message; a finished one makes room for the next."""
        if not content.strip():
            return  # Discord rejects blank messages; the splitter drops such parts too
        if self._current is not None and content == self._shown:
            if final:
                self._current, self._shown = None, ""
            return
        if self._slot_route != self._route():
            self._drop_slot()  # taken for another route: give it back
            await self._take_slot(urgent=True, yield_to_end=False)
        slot, self._slot, self._slot_route = self._slot, None, None
        with prepaid(slot):
            if self._current is None:
                self._current = await self._target.send(content)
                self.message_ids.append(self._current.id)
                self.first_visible.set()
                if self._claim is not None and len(self.message_ids) == 1:
                    self._claim.use()  # the first message is out; the final text stays claimed
            else:
                await self._target.edit(self._current, content)
        self._shown = content
        if final:
            self._current, self._shown = None, ""

    async def _take_slot(self, *, urgent: bool, yield_to_end: bool) -> bool:
        """Take the request slot of the next write; False if it gave way to the answer's end."""
        if self._budget is None:
            self._slot_route = self._route()
            return True
        route = (self._route(), self._target.channel_id)
        level = Priority.URGENT if urgent else Priority.INTERMEDIATE
        if not yield_to_end:
            self._slot, self._slot_route = await self._budget.take(level, route), self._route()
            return True
        taking = asyncio.ensure_future(self._budget.take(level, route))
        ending = asyncio.ensure_future(self._ended.wait())
        try:
            await asyncio.wait({taking, ending}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            ending.cancel()
            if not taking.done():
                taking.cancel()
            await asyncio.gather(taking, ending, return_exceptions=True)
        if taking.cancelled() or taking.exception() is not None:
            return False
        self._slot, self._slot_route = taking.result(), self._route()
        return True

    def _drop_slot(self) -> None:
        if self._slot is not None:
            self._slot.release()
        self._slot, self._slot_route = None, None

    def _route(self) -> str:
        """Return the route of the next write: a new message or an edit of the current one."""
        return CREATE if self._current is None else EDIT
