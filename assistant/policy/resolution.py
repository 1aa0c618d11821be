"""Which of a server's settings apply where: pure functions over a server's stored settings.

A channel's own value wins over its server's; a thread has no settings of its own and follows its
parent channel (a forum post its forum); whatever nobody set is the bot's default.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

from storage.settings import ServerSettings

MODES = ("mention", "thread", "always", "off")
DEFAULT_MODE = "mention"
PERSONA_MAX_CHARS = 4_000


@dataclass(frozen=True)
class Place:
    """Where something happens: a server's channel, or a thread and the channel it belongs to."""

    guild_id: int | None
    channel_id: int
    parent_id: int | None = None  # set for threads and forum posts

    @property
    def settings_channel_id(self) -> int:
        """Return the channel whose settings apply here (a thread's parent)."""
        return self.parent_id if self.parent_id is not None else self.channel_id


class Route(Enum):
    """What to do with a member's message."""

    IGNORE = "ignore"
    ANSWER = "answer"  # here, as a reply
    OPEN_THREAD = "open_thread"  # in a new thread started from the message


def persona_at(server: ServerSettings | None, place: Place) -> str | None:
    """Return the persona that applies at `place`: its channel's, else its server's, else none."""
    if server is None:
        return None
    channel = server.channels.get(place.settings_channel_id)
    if channel is not None and channel.persona is not None:
        return channel.persona
    return server.persona


def mode_at(server: ServerSettings | None, place: Place) -> str:
    """Return the answer mode at `place` (threads follow their parent channel)."""
    channel = server.channels.get(place.settings_channel_id) if server is not None else None
    return channel.mode if channel is not None and channel.mode is not None else DEFAULT_MODE


def effort_of(server: ServerSettings | None, default: str | None) -> str | None:
    """Return the reasoning effort a server's questions are asked with."""
    if server is not None and server.reasoning_effort is not None:
        return server.reasoning_effort
    return default


def route(mode: str, *, addressed: bool, in_thread: bool) -> Route:
    """Return what a member's message gets in a channel in `mode` (`addressed`: it mentions the bot)."""
    if mode == "off":
        return Route.IGNORE
    if mode == "always":
        return Route.ANSWER
    if not addressed:
        return Route.IGNORE
    # A thread cannot hold a thread: in one, a thread-mode channel's mention is answered in place.
    if mode == "thread" and not in_thread:
        return Route.OPEN_THREAD
    return Route.ANSWER
