"""Images stored with their user turns, so follow-ups can send them again after links expire.

Rows belong to a history turn and go when it goes (/reset, a deleted thread, an answer that never
reached Discord): every backend deletes them with their turn.
"""

from __future__ import annotations

import base64
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

# How a stored turn's text names each of its images. Context building looks for it before asking
# the store, so a window of text-only turns costs no image query.
IMAGE_LINE_PREFIX = "[image: "


def image_line(filename: str) -> str:
    """Return the line that names an attached image in its turn's text."""
    return f"{IMAGE_LINE_PREFIX}{filename}]"


@dataclass(frozen=True)
class AttachedImage:
    """An image ready for the model: re-encoded, scaled, without metadata; priced in tokens."""

    filename: str
    media_type: str  # image/png or image/jpeg
    data: bytes
    width: int
    height: int
    tokens: int

    def data_url(self) -> str:
        """Return the image as a `data:` URL, the form the completions service takes inline."""
        return f"data:{self.media_type};base64,{base64.b64encode(self.data).decode('ascii')}"


@dataclass(frozen=True)
class TurnImage:
    """A stored image and the history turn it belongs to."""

    turn_id: int
    image: AttachedImage


class ImageStore(Protocol):
    """Reads and writes the images of history turns."""

    async def add(self, turn_id: int, channel_id: int, images: Sequence[AttachedImage]) -> None:
        """Store a turn's images, in order."""
        ...

    async def newest(self, channel_id: int, *, since_turn_id: int, limit: int) -> list[TurnImage]:
        """Return up to `limit` images of the channel's turns from `since_turn_id` on, newest turn first."""
        ...

    async def count(self, channel_id: int) -> int:
        """Return how many images the channel has stored."""
        ...
