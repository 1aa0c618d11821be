"""Server settings chosen with /config: their records and the store interface.

A server has a persona, an access role and a reasoning effort; each channel (a text channel or a
forum) a persona and an answer mode. Every store method is one unit of work, and every change
returns the server's settings as they now are, read in the same transaction, so a caller's cache is
replaced by what the database holds. A channel back at the defaults has no row, so a server's
channels are exactly those that differ from it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Protocol


@dataclass(frozen=True)
class ChannelSettings:
    """What one channel (a text channel or a forum) sets for itself; None = as its server."""

    persona: str | None = None
    mode: str | None = None  # None = the default, 'mention'


@dataclass(frozen=True)
class ServerSettings:
    """One server's settings, with those of its channels that differ; None = the bot's default."""

    guild_id: int
    persona: str | None = None
    access_role_id: int | None = None
    reasoning_effort: str | None = None
    channels: Mapping[int, ChannelSettings] = field(default_factory=dict)


class SettingsStore(Protocol):
    """Reads and changes the server settings; each method is one unit of work."""

    async def load_all(self) -> dict[int, ServerSettings]:
        """Return the settings of every server that changed any, by server id."""
        ...

    async def server(self, guild_id: int) -> ServerSettings:
        """Return one server's settings (the defaults when it changed none)."""
        ...

    async def set_server_persona(self, guild_id: int, persona: str | None, *, by: int) -> ServerSettings:
        """Set (or with None clear) the server's persona."""
        ...

    async def set_access_role(self, guild_id: int, role_id: int | None, *, by: int) -> ServerSettings:
        """Restrict the bot to members with `role_id`, or with None open it to everyone."""
        ...

    async def set_reasoning_effort(self, guild_id: int, effort: str | None, *, by: int) -> ServerSettings:
        """Set the server's reasoning effort (None: the bot's default)."""
        ...

    async def set_channel_persona(
        self, guild_id: int, channel_id: int, persona: str | None, *, by: int
    ) -> ServerSettings:
        """Set (or with None clear) one channel's persona."""
        ...

    async def set_channel_mode(
        self, guild_id: int, channel_id: int, mode: str | None, *, by: int
    ) -> ServerSettings:
        """Set one channel's answer mode (None: the default, mention)."""
        ...
